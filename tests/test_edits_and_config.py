"""Pure text transforms, settings resolution, and the workspace API directly."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from memspace import AsyncWorkspace, MemoryTools, Settings, Workspace, edits
from memspace.errors import ConfigError, EditError, IsADirectoryError, NotADirectoryError, NotFoundError
from memspace.storage.memory import MemoryStore

from .conftest import DEFAULT_TOOLS


@pytest.mark.parametrize(
    ("text", "count"), [("", 0), ("a", 1), ("a\n", 1), ("a\nb", 2), ("a\n\n", 2), ("\n", 1)]
)
def test_line_count_treats_final_newline_as_a_terminator(text: str, count: int) -> None:
    assert edits.line_count(text) == count


def test_insert_keeps_a_missing_final_newline_missing() -> None:
    assert edits.insert("a\nb", 1, "x").text == "a\nx\nb"
    assert edits.insert("a\nb", 2, "x").text == "a\nb\nx"
    assert edits.insert("a\nb\n", 2, "x").text == "a\nb\nx\n"


def test_insert_empty_text_inserts_one_blank_line() -> None:
    assert edits.insert("a\nb\n", 1, "").text == "a\n\nb\n"


@pytest.mark.parametrize(
    "edited",
    [
        edits.append("a\nb", "c"),
        edits.append("a\n", ""),
        edits.append("", "x\ny\n"),
        edits.insert("a\nb", 2, ""),
        edits.insert("a\nb", 2, "x\n\n"),
        edits.insert("a\nb\n", 1, "x\ny"),
        edits.insert("", 0, "x"),
        edits.str_replace("a\nb\nc\n", "b", "B\nB"),
        edits.str_replace("x\n-\nx", "x", "y\ny", replace_all=True),
        edits.str_replace("a\nb\nc", "b\nc", ""),
    ],
)
def test_edits_report_the_line_count_and_where_the_first_touched_line_starts(edited: edits.Edited) -> None:
    assert edited.total_lines == edits.line_count(edited.text)
    if edited.first_line <= edited.text.count("\n") + 1:
        assert edited.first_offset == edits.line_start(edited.text, edited.first_line)
    else:  # an empty append to a file ending with a newline: "its" line would start at the end
        assert edited.first_offset == len(edited.text)


def test_line_start_finds_lines_across_blocks_of_counting() -> None:
    text = "".join(f"{'x' * (n % 97)}\n" for n in range(5000))  # about 240 KB: several 64 KiB blocks
    starts = [0]
    for line in text.split("\n")[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    for number in (1, 2, 700, 1338, 2677, 4999, 5000, 5001):
        assert edits.line_start(text, number) == starts[number - 1]
    with pytest.raises(ValueError):
        edits.line_start(text, 5002)


def test_insert_in_a_large_text_matches_splitting_into_lines() -> None:
    lines = [f"{n:05d} {'y' * (n % 41)}" for n in range(4000)]
    text = "\n".join(lines) + "\n"
    for after in (0, 1, 1999, 3999, 4000):
        edited = edits.insert(text, after, "new\nlines")
        assert edited.text == "\n".join([*lines[:after], "new", "lines", *lines[after:]]) + "\n"
        assert (edited.first_line, edited.last_line, edited.total_lines) == (after + 1, after + 2, 4002)


def test_str_replace_reports_touched_lines() -> None:
    edited = edits.str_replace("a\nb\nc\nd\n", "b\nc", "B\nX\nC")
    assert edited.text == "a\nB\nX\nC\nd\n"
    assert (edited.first_line, edited.last_line) == (2, 4)


def test_str_replace_all_reports_span_of_all_replacements() -> None:
    edited = edits.str_replace("x\n-\nx\n-\nx\n", "x", "y\ny", replace_all=True)
    assert edited.text == "y\ny\n-\ny\ny\n-\ny\ny\n"
    assert (edited.first_line, edited.last_line) == (1, 8)


def test_occurrences_are_non_overlapping() -> None:
    assert edits.occurrence_lines("aaaa", "aa") == [1, 1]
    with pytest.raises(EditError, match="2 times"):
        edits.str_replace("aaaa", "aa", "b")


def test_a_line_holding_several_matches_is_named_once(tmp_path: Path) -> None:
    with pytest.raises(EditError, match=r"occurs 3 times, at lines 1, 3;"):
        edits.str_replace("aa\nb\na\n", "a", "c")
    with pytest.raises(EditError, match=r"occurs 2 times, at line 2;"):
        edits.str_replace("b\naa\n", "a", "c")
    tools = MemoryTools.from_config({"memory_tool_local_dir": str(tmp_path)}, environ={})
    tools.workspace.create("/a.md", "todo todo\ndone\n")
    result = tools.call("memory_str_replace", {"path": "/a.md", "old_str": "todo", "new_str": "x"})
    assert result.is_error
    assert "occurs 2 times in /a.md, at line 1;" in result.text, result.text
    tools.close()


def test_str_replace_lists_at_most_ten_lines() -> None:
    with pytest.raises(EditError, match=r"at lines 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 5 more"):
        edits.str_replace("x\n" * 15, "x", "y")


# -- settings --------------------------------------------------------------------


def test_explicit_config_beats_environment() -> None:
    env = {"MEMORY_TOOL_NAMESPACE": "from-env", "MEMORY_TOOL_BACKEND": "memory", "MEMORY_TOOL_PREFIX": "p"}
    settings = Settings.from_config({"memory_tool_namespace": "explicit"}, environ=env)
    assert settings.namespace == "explicit"
    assert settings.backend == "memory"
    assert settings.prefix == "p/"
    assert settings.base == "p/explicit/"


def test_defaults() -> None:
    settings = Settings.from_config({}, environ={})
    assert (settings.backend, settings.local_dir, settings.namespace, settings.read_only) == (
        "local",
        Path("memories"),
        "default",
        False,
    )
    assert settings.base == "default/"  # the local folder is memspace's own: no prefix
    assert Settings.from_config({"memory_tool_backend": "s3"}, environ={}).base == "memories/default/"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"memory_tool_backend": "ftp"}, "not one of: local, s3, r2, memory"),
        ({"memory_tool_namesapce": "x"}, "Unknown setting 'memory_tool_namesapce'"),
        ({"memory_tool_namespace": "../etc"}, "memory_tool_namespace '../etc' is invalid"),
        ({"memory_tool_namespace": ".memspace"}, "is invalid"),
        ({"memory_tool_read_only": "maybe"}, "must be true or false"),
        ({"memory_tool_max_file_bytes": "lots"}, "must be a positive integer"),
        ({"memory_tool_max_file_bytes": -1}, "must be a positive integer"),
        ({"memory_tool_prefix": "a/../b"}, "memory_tool_prefix"),
    ],
)
def test_invalid_settings_are_clear_errors(config: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        Settings.from_config(config, environ={})


def test_settings_from_environment_only() -> None:
    env = {
        "MEMORY_TOOL_READ_ONLY": "true",
        "MEMORY_TOOL_MAX_VIEW_CHARS": "500",
        "MEMORY_TOOL_BACKEND": "memory",
    }
    tools = MemoryTools.from_config(environ=env)
    assert tools.workspace.read_only
    assert tools.workspace.limits.max_view_chars == 500


def test_other_agent_config_keys_are_ignored() -> None:
    tools = MemoryTools.from_config(
        {"memory_tool_backend": "memory", "max_steps": 50, "model": "x"}, environ={}
    )
    assert tools.names == DEFAULT_TOOLS


# -- workspace API ---------------------------------------------------------------


def test_workspace_typed_errors() -> None:
    ws = Workspace(MemoryStore(), base="ns/")
    ws.create("/d/f.md", "x")
    with pytest.raises(NotFoundError):
        ws.read("/missing.md")
    with pytest.raises(IsADirectoryError):
        ws.read("/d")
    with pytest.raises(NotADirectoryError):
        ws.list("/d/f.md")
    assert ws.stat("/d").kind == "dir"
    assert ws.stat("/d/f.md").size == 1
    assert [str(e.path) for e in ws.list("/").entries] == ["/d", "/d/f.md"]


def test_async_workspace_mirrors_sync() -> None:
    ws = AsyncWorkspace(Workspace(MemoryStore()))

    async def main() -> str:
        await ws.create("/a.md", "one")
        await ws.append("/a.md", "two")
        await ws.insert("/a.md", 0, "zero")
        await ws.str_replace("/a.md", "two", "2")
        await ws.rename("/a.md", "/b.md")
        listing = await ws.list("/")
        assert [str(e.path) for e in listing.entries] == ["/b.md"]
        text = (await ws.read("/b.md")).text
        await ws.delete("/b.md")
        assert await ws.clear() == 0
        return text

    assert asyncio.run(main()) == "zero\none\n2"
