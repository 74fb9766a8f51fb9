"""The bad-input catalogue: every entry is a clear error and writes or changes nothing."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memspace import MemoryTools
from memspace.errors import ConfigError, InvalidPathError, LimitExceededError
from memspace.limits import Limits
from memspace.paths import VirtualPath, parse
from memspace.storage.local import LocalStore

from .conftest import MakeTools

TRAVERSALS = [
    "../x.md",
    "/../x.md",
    "a/../../x.md",
    "/notes/../../../etc/passwd",
    "..",
    "/./a.md",
    "\\..\\x.md",
    "notes\\a.md",
    "C:\\Windows\\x",
    "c:/x.md",
    "/a/C:/x.md",
    "/a\x00b.md",
    "/a\nb.md",
    "/a\rb.md",
    "/a\x1bb.md",
    "/a\u202eb.md",
    "/a\ud800b.md",
    "/.memspace/locks/000.lock",
    "/notes/.memspace-tmp.abc",
    "",
    "   ",
]


def snapshot(tools: MemoryTools) -> dict[str, str]:
    return {str(e.path): tools.workspace.read(str(e.path)).text for e in tools.workspace.walk("/")}


@pytest.mark.parametrize("path", TRAVERSALS)
@pytest.mark.parametrize(
    "tool",
    ["memory_view", "memory_create_update", "memory_str_replace", "memory_insert", "memory_delete"],
)
def test_bad_paths_are_refused_by_every_tool(tools: MemoryTools, path: str, tool: str) -> None:
    tools.call("memory_create_update", {"path": "/a.md", "file_text": "a\n"})
    before = snapshot(tools)
    all_args: dict[str, dict[str, Any]] = {
        "memory_view": {"path": path},
        "memory_create_update": {"path": path, "file_text": "pwned"},
        "memory_str_replace": {"path": path, "old_str": "a", "new_str": "b"},
        "memory_insert": {"path": path, "insert_line": 0, "insert_text": "pwned"},
        "memory_delete": {"path": path},
    }
    result = tools.call(tool, all_args[tool])
    assert result.is_error
    assert result.text.endswith(".") and "Traceback" not in result.text
    assert snapshot(tools) == before


@pytest.mark.parametrize("path", TRAVERSALS)
def test_bad_paths_are_refused_by_rename_either_side(tools: MemoryTools, path: str) -> None:
    tools.call("memory_create_update", {"path": "/a.md", "file_text": "a\n"})
    before = snapshot(tools)
    assert tools.call("memory_rename", {"old_path": "/a.md", "new_path": path}).is_error
    assert tools.call("memory_rename", {"old_path": path, "new_path": "/b.md"}).is_error
    assert snapshot(tools) == before


def test_percent_encoding_is_never_decoded(tools: MemoryTools) -> None:
    result = tools.call("memory_create_update", {"path": "/%2e%2e/%2e%2e/x.md", "file_text": "x"})
    assert not result.is_error
    assert [str(e.path) for e in tools.workspace.walk("/")] == ["/%2e%2e/%2e%2e/x.md"]


def test_absolute_host_paths_stay_inside_the_workspace(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("host file")
    tools = MemoryTools.from_config({"memory_tool_local_dir": str(tmp_path / "mem")}, environ={})
    assert tools.call("memory_view", {"path": str(outside)}).is_error  # not found inside
    assert not tools.call("memory_create_update", {"path": str(outside), "file_text": "x"}).is_error
    assert outside.read_text() == "host file"
    assert (tmp_path / "mem" / "default" / str(outside).lstrip("/")).read_text() == "x"


def test_names_are_nfc_normalised(tools: MemoryTools) -> None:
    decomposed = "/cafe\u0301.md"
    composed = "/caf\u00e9.md"
    tools.call("memory_create_update", {"path": decomposed, "file_text": "x"})
    assert tools.call("memory_view", {"path": composed}).text.endswith("x")
    assert "already exists" in tools.call("memory_create_update", {"path": composed, "file_text": "y"}).text


def test_over_long_paths_and_names_name_the_limit(make_tools: MakeTools) -> None:
    tools = make_tools()
    long_name = tools.call("memory_create_update", {"path": "/" + "a" * 256, "file_text": "x"})
    assert long_name.is_error and "limit is 255 bytes per name" in long_name.text
    long_path = tools.call("memory_create_update", {"path": "/a" * 600, "file_text": "x"})
    assert long_path.is_error and "limit is 1024 bytes" in long_path.text
    assert tools.workspace.walk("/") == []


def test_a_path_is_checked_against_the_limits_in_force_each_time(make_tools: MakeTools) -> None:
    tools = make_tools()
    ws = tools.workspace
    path = "/notes/" + "a" * 40 + ".md"
    assert ws.path(path) == ws.path(path) == parse(path)
    ws.limits = Limits(max_segment_bytes=32)  # a path accepted before is refused now
    with pytest.raises(LimitExceededError, match="limit is 32 bytes per name"):
        ws.path(path)
    refused = tools.call("memory_create_update", {"path": path, "file_text": "x"})
    assert refused.is_error and "limit is 32 bytes per name" in refused.text
    for _ in range(2):  # a refused path is refused every time (only accepted ones are kept)
        assert "contains a backslash" in tools.call("memory_view", {"path": "/a\\b.md"}).text


def test_invalid_utf8_on_disk_is_reported_as_binary_not_a_crash(tmp_path: Path) -> None:
    root = tmp_path / "mem"
    tools = MemoryTools.from_config({"memory_tool_local_dir": str(root)}, environ={})
    (root / "default").mkdir(parents=True)
    (root / "default" / "bad.md").write_bytes(b"ok\n\xc3\x28 broken\n")
    calls: list[tuple[str, dict[str, Any]]] = [
        ("memory_view", {"path": "/bad.md"}),
        ("memory_str_replace", {"path": "/bad.md", "old_str": "ok", "new_str": "x"}),
        ("memory_insert", {"path": "/bad.md", "insert_line": 0, "insert_text": "x"}),
        ("memory_create_update", {"path": "/bad.md", "file_text": "x", "mode": "append"}),
    ]
    for name, args in calls:
        result = tools.call(name, args)
        assert result.is_error and "binary" in result.text and "13 bytes" in result.text
    assert (root / "default" / "bad.md").read_bytes() == b"ok\n\xc3\x28 broken\n"
    assert "13B  /bad.md" in tools.call("memory_view", {"path": "/"}).text
    assert not tools.call("memory_rename", {"old_path": "/bad.md", "new_path": "/bad.bin"}).is_error
    assert (root / "default" / "bad.bin").read_bytes() == b"ok\n\xc3\x28 broken\n"


def test_lone_surrogates_in_text_are_refused(tools: MemoryTools) -> None:
    result = tools.call("memory_create_update", {"path": "/s.md", "file_text": "bad \ud800 text"})
    assert result.is_error and "U+D800 at position 4" in result.text
    assert not tools.workspace.exists("/s.md")


# -- symlinks on the local backend -------------------------------------------------


@pytest.fixture
def escape(tmp_path: Path) -> tuple[MemoryTools, Path]:
    """A workspace whose folder holds symlinks pointing outside the root."""
    root = tmp_path / "mem"
    secret_dir = tmp_path / "secret"
    secret_dir.mkdir()
    (secret_dir / "key.txt").write_text("TOP SECRET")
    tools = MemoryTools.from_config({"memory_tool_local_dir": str(root)}, environ={})
    workspace = root / "default"
    workspace.mkdir(parents=True)
    os.symlink(secret_dir, workspace / "linkdir")
    os.symlink(secret_dir / "key.txt", workspace / "link.txt")
    os.symlink(tmp_path / "new.txt", workspace / "dangling.txt")
    return tools, secret_dir


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("memory_view", {"path": "/link.txt"}),
        ("memory_view", {"path": "/linkdir/key.txt"}),
        ("memory_view", {"path": "/linkdir"}),
        ("memory_create_update", {"path": "/linkdir/new.txt", "file_text": "x"}),
        ("memory_create_update", {"path": "/link.txt", "file_text": "x", "mode": "overwrite"}),
        ("memory_create_update", {"path": "/link.txt", "file_text": "x", "mode": "append"}),
        ("memory_create_update", {"path": "/dangling.txt", "file_text": "x"}),
        ("memory_str_replace", {"path": "/linkdir/key.txt", "old_str": "TOP", "new_str": "NO"}),
        ("memory_insert", {"path": "/link.txt", "insert_line": 0, "insert_text": "x"}),
        ("memory_delete", {"path": "/linkdir/key.txt"}),
        ("memory_rename", {"old_path": "/linkdir/key.txt", "new_path": "/stolen.txt"}),
    ],
)
def test_symlinks_inside_the_root_are_never_followed(
    escape: tuple[MemoryTools, Path], name: str, args: dict[str, Any]
) -> None:
    tools, secret_dir = escape
    result = tools.call(name, args)
    assert result.is_error or "TOP SECRET" not in result.text
    assert "TOP SECRET" not in result.text
    assert (secret_dir / "key.txt").read_text() == "TOP SECRET"
    assert sorted(p.name for p in secret_dir.iterdir()) == ["key.txt"]
    assert not (secret_dir.parent / "new.txt").exists()
    assert not tools.workspace.exists("/stolen.txt")


def test_symlinks_are_not_listed(escape: tuple[MemoryTools, Path]) -> None:
    tools, _ = escape
    text = tools.call("memory_view", {"path": "/"}).text
    assert text.startswith("The workspace root / has nothing that can be shown.\n")
    assert "[3 entries here cannot be shown: symbolic links" in text
    assert "link.txt" not in text and "linkdir" not in text and "dangling" not in text


def test_a_symlinked_namespace_folder_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "mem"
    root.mkdir()
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", root / "default")
    tools = MemoryTools.from_config({"memory_tool_local_dir": str(root)}, environ={})
    result = tools.call("memory_create_update", {"path": "/a.md", "file_text": "x"})
    assert result.is_error and "symbolic link" in result.text
    assert list((tmp_path / "elsewhere").iterdir()) == []


# -- property: no path resolves outside the root or into another namespace ----------

_alphabet = st.sampled_from([*"ab./\\%:~\x00\n -_", "..", "é", "e\u0301", "\ud800", "C:", "ns2", "default"])


@settings(max_examples=400, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_alphabet, min_size=1, max_size=12).map("".join))
def test_no_path_escapes_root_or_namespace(tmp_path: Path, raw: str) -> None:
    try:
        path = parse(raw, Limits())
    except (InvalidPathError, LimitExceededError):
        return
    assert isinstance(path, VirtualPath)
    assert all(part not in ("", ".", "..") and "/" not in part and "\\" not in part for part in path.parts)
    assert not any(part.startswith(".memspace") for part in path.parts)
    # The key a namespace stores it under stays below that namespace's folder.
    root = tmp_path / "root"
    key = "default/" + path.key
    resolved = os.path.normpath(os.path.join(root, key))
    assert resolved == str(root / "default") or resolved.startswith(str(root / "default") + os.sep)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_alphabet, min_size=1, max_size=8).map("".join))
def test_no_tool_call_writes_outside_its_namespace(
    tmp_path_factory: pytest.TempPathFactory, raw: str
) -> None:
    root = tmp_path_factory.mktemp("prop")
    store = LocalStore(root / "mem")
    tools = MemoryTools.from_config({"memory_tool_namespace": "ns1"}, store=store, environ={})
    tools.call("memory_create_update", {"path": raw, "file_text": "x"})
    tools.call("memory_create_update", {"path": raw + "/f", "file_text": "x"})
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            full = Path(dirpath) / name
            rel = full.relative_to(root / "mem")
            # Files in the namespace's folder, history in the namespace's own reserved folder.
            assert rel.parts[0] == "ns1" or rel.parts[:2] == (".memspace", "ns1"), rel


def test_os_failures_are_clear_errors_without_host_paths(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "mem"
    tools = MemoryTools.from_config({"memory_tool_local_dir": str(root)}, environ={})
    root.mkdir()
    (root / ".memspace").write_text("")  # the reserved folder is now a file: every recorded write fails
    result = tools.call("memory_create_update", {"path": "/a.md", "file_text": "x"})
    assert result.is_error
    assert result.text == (
        "The local memory folder's reserved area (.memspace) has a file or a symbolic link "
        "where a folder should be; move it away, then try again."
    )
    assert str(tmp_path) not in result.text + caplog.text
    assert not list((root / "default").glob("*"))  # the temp file was cleaned up, nothing written


@pytest.mark.parametrize("bad", ["default\n", "default\r", "alice\n\n", "a\nb", " default", "default/"])
def test_a_namespace_must_match_to_its_very_end(tmp_path: Path, bad: str) -> None:
    """``re.match`` with ``$`` would let "default\\n" through (``$`` matches before a final newline)."""
    for config, environ in (
        ({"memory_tool_namespace": bad}, {}),
        ({}, {"MEMORY_TOOL_NAMESPACE": bad}),
    ):
        with pytest.raises(ConfigError, match="memory_tool_namespace"):
            MemoryTools.from_config({"memory_tool_local_dir": str(tmp_path), **config}, environ=environ)
