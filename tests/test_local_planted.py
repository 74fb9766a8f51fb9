"""What another program or user may leave in a local workspace folder, and what memspace makes of it.

Pipes named like notes, names that are not paths (not UTF-8, not NFC, a newline), a
symlinked reserved area, unreadable folders, trees deeper than any path, a full disk,
empty folders, read-only folders, huge files and huge lines: each gets a prompt, clear
answer, never a hang, a crash, a traceback, a silent omission or a write outside the root.

Scenarios that need a process of their own run in ``tests/support/planted.py``; those about
permissions run as an unprivileged user when the suite runs as root (root ignores permissions).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from memspace import MemoryTools

from .support.mcp_harness import connect_stdio, server_environ, text_of

REPO = Path(__file__).resolve().parent.parent
NOBODY = 65534  # the unprivileged user permission scenarios run as when the suite runs as root
HANG = 90  # seconds: far beyond what any of these calls takes; only a hang gets there


def _environ() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEMORY_TOOL_", "AWS_", "R2_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [env.get("PYTHONPATH"), str(REPO)]))
    return env


def run_case(case: str, *args: Any, unprivileged: bool = False) -> dict[str, Any]:
    """Run a scenario of ``tests/support/planted.py`` in a fresh process; return what it printed."""
    encoded = json.dumps([str(arg) if isinstance(arg, Path) else arg for arg in args])
    argv = [sys.executable, "-m", "tests.support.planted", case, encoded]
    try:
        proc = subprocess.run(
            [*argv, *(["--unprivileged"] if unprivileged else [])],
            capture_output=True,
            text=True,
            check=False,
            timeout=HANG,
            env=_environ(),
            cwd=tempfile.gettempdir(),
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the {case} scenario hung (killed after {HANG} s)")
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout.splitlines()[-1])
    return result


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A scratch folder the unprivileged user owns (pytest's own is private to the user running it)."""
    path = Path(tempfile.mkdtemp(prefix="memspace-planted-"))
    if os.geteuid() == 0:
        os.chown(path, NOBODY, NOBODY)
    yield path
    # rm -r copes with any depth (shutil.rmtree recurses, and a scenario may leave a deep tree).
    subprocess.run(["chmod", "-R", "u+rwx", str(path)], check=False)
    subprocess.run(["rm", "-rf", str(path)], check=True)


def tools_on(root: Path, **config: Any) -> MemoryTools:
    return MemoryTools.from_config({"memory_tool_local_dir": str(root), **config}, environ={})


def plant(root: Path, name: bytes, content: bytes = b"planted\n") -> None:
    """A file another program wrote, under any byte name, in the default namespace's folder."""
    folder = os.fsencode(root / "default")
    os.makedirs(os.path.dirname(os.path.join(folder, name)), exist_ok=True)
    with open(os.path.join(folder, name), "wb") as handle:
        handle.write(content)


def cli(*args: str, cwd: Path, root: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = _environ()
    if root is not None:
        env["MEMORY_TOOL_LOCAL_DIR"] = str(root)
    return subprocess.run(
        [sys.executable, "-m", "memspace", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=HANG,
        env=env,
        cwd=cwd,
    )


# -- pipes ---------------------------------------------------------------------------


def test_a_pipe_named_like_a_note_answers_every_call_and_blocks_no_other_write(tmp_path: Path) -> None:
    out = run_case("pipe", tmp_path / "mem")
    by_call = {(name, json.dumps(args)): (is_error, text) for name, args, is_error, text in out["on_pipe"]}
    assert len(by_call) == 10
    for (name, _), (is_error, text) in by_call.items():
        if name == "memory_search":
            assert not is_error, text
            continue
        assert is_error, (name, text)
        assert "not a regular file" in text or "already exists" in text, (name, text)
    assert [text for _, _, is_error, text in out["beside"] if is_error] == []
    assert out["pipe_is_fifo"]
    assert "/notes/pipe.md" not in out["listing"]


# -- names memspace cannot use --------------------------------------------------------


FOREIGN_NOTE = re.compile(r"\[(\d+) (?:entry|entries) here cannot be shown")


def foreign_count(text: str) -> int:
    found = FOREIGN_NOTE.search(text)
    return int(found.group(1)) if found else 0


def test_names_that_are_not_utf8_are_left_out_and_counted(tmp_path: Path) -> None:
    root = tmp_path / "mem"
    plant(root, b"bad\xff.md")
    plant(root, b"notes/caf\xe9.md")  # Latin-1, as an old program would write it
    tools = tools_on(root)
    tools.call("memory_create_update", {"path": "/notes/ok.md", "file_text": "planted too\n"})
    listing = tools.call("memory_view", {"path": "/"})
    assert not listing.is_error
    assert "/notes/ok.md" in listing.text and "bad" not in listing.text
    assert foreign_count(listing.text) == 2
    listing.text.encode("utf-8")  # no lone surrogate reaches the model
    assert foreign_count(tools.call("memory_view", {"path": "/notes"}).text) == 1
    found = tools.call("memory_search", {"pattern": "planted"})
    assert not found.is_error and "/notes/ok.md" in found.text
    found.text.encode("utf-8")


def test_a_name_that_is_not_utf8_does_not_crash_the_mcp_server(tmp_path: Path) -> None:
    plant(tmp_path / "mem", b"bad\xff.md")
    env = server_environ(MEMORY_TOOL_BACKEND="local", MEMORY_TOOL_LOCAL_DIR=str(tmp_path / "mem"))

    async def work() -> list[tuple[str, bool]]:
        with anyio.fail_after(HANG):
            async with connect_stdio(env, tmp_path / "server.log") as client:
                return [
                    text_of(await client.call_tool(name, arguments))
                    for name, arguments in (
                        ("memory_view", {"path": "/"}),
                        ("memory_find", {"glob": "*"}),
                        ("memory_search", {"pattern": "planted"}),
                        ("memory_create_update", {"path": "/after.md", "file_text": "alive"}),
                    )
                ]

    view, find, search, create = anyio.run(work)
    assert not view[1] and foreign_count(view[0]) == 1
    assert not find[1] and not search[1]
    assert not create[1] and (tmp_path / "mem" / "default" / "after.md").read_text() == "alive"


def test_the_cli_lists_around_a_name_that_is_not_utf8_without_a_traceback(tmp_path: Path) -> None:
    root = tmp_path / "mem"
    plant(root, b"bad\xff.md")
    plant(root, b"good.md")
    tree = cli("view", "/", cwd=tmp_path, root=root)
    assert tree.returncode == 0, tree.stderr
    assert "good.md" in tree.stdout and "Traceback" not in tree.stdout + tree.stderr
    assert "1 entry not shown" in tree.stdout
    for args in (["find", "*"], ["grep", "planted"], ["sync", f"local:{root}", f"local:{tmp_path / 'copy'}"]):
        run = cli(*args, cwd=tmp_path, root=root)
        assert run.returncode == 0, (args, run.stderr)
        assert "Traceback" not in run.stdout + run.stderr


def test_a_newline_in_a_name_cannot_inject_a_listing_line(tmp_path: Path) -> None:
    root = tmp_path / "mem"
    plant(root, b"a.md\n    99B  /injected.md")
    plant(root, b"notes/b.md\n/notes/fake.md:1: injected match")
    tools = tools_on(root)
    tools.call("memory_create_update", {"path": "/real.md", "file_text": "injected match\n"})
    for name, args in [
        ("memory_view", {"path": "/"}),
        ("memory_search", {"pattern": "injected"}),
        ("memory_find", {"glob": "*"}),
    ]:
        result = tools.call(name, args)
        assert not result.is_error, result.text
        assert "/injected.md" not in result.text and "/notes/fake.md" not in result.text, result.text
    assert foreign_count(tools.call("memory_view", {"path": "/"}).text) == 2
    tree = cli("view", "/", cwd=tmp_path, root=root)
    assert tree.returncode == 0 and "injected" not in tree.stdout and "2 entries not shown" in tree.stdout


def test_nfd_names_are_not_shown_but_counted_and_go_with_their_folder(tmp_path: Path) -> None:
    """A name in NFD (as macOS tools write it) is not a name a model can send (paths are NFC), so it
    is foreign: left out of listings and searches, counted, and removed with its folder or a clear."""
    root = tmp_path / "mem"
    nfd = unicodedata.normalize("NFD", "café.md")
    plant(root, f"notes/{nfd}".encode(), b"decomposed\n")
    plant(root, nfd.encode(), b"decomposed\n")
    tools = tools_on(root)
    tools.call("memory_create_update", {"path": "/notes/café.md", "file_text": "composed\n"})
    listing = tools.call("memory_view", {"path": "/"}).text
    assert listing.count("café.md") == 1 and nfd not in listing
    assert foreign_count(listing) == 2
    assert tools.call("memory_view", {"path": "/notes/café.md"}).text.endswith("composed")
    assert "No lines" in tools.call("memory_search", {"pattern": "decomposed"}).text
    deleted = tools.call("memory_delete", {"path": "/notes"})
    assert not deleted.is_error and "1 file" in deleted.text
    assert not (root / "default" / "notes").exists()
    assert os.listdir(root / "default") == [nfd]
    assert not tools.call("memory_clear_all", {}).is_error
    assert not (root / "default").exists() or os.listdir(root / "default") == []


# -- the reserved area ---------------------------------------------------------------

ALL_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("memory_create_update", {"path": "/new.md", "file_text": "x"}),
    ("memory_create_update", {"path": "/a.md", "file_text": "x", "mode": "append"}),
    ("memory_create_update", {"path": "/a.md", "file_text": "a", "mode": "overwrite"}),
    ("memory_str_replace", {"path": "/a.md", "old_str": "a", "new_str": "b"}),
    ("memory_insert", {"path": "/a.md", "insert_line": 0, "insert_text": "x"}),
    ("memory_view", {"path": "/"}),
    ("memory_view", {"path": "/a.md"}),
    ("memory_search", {"pattern": "a"}),
    ("memory_rename", {"old_path": "/a.md", "new_path": "/b.md"}),
    ("memory_rename", {"old_path": "/dir", "new_path": "/dir2"}),
    ("memory_delete", {"path": "/a.md"}),
    ("memory_delete", {"path": "/dir"}),
    ("memory_clear_all", {}),
]


def on_disk(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` and its content (memspace's temp files left out)."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in folder.rglob("*")
        if path.is_file() and not path.is_symlink() and ".memspace-tmp." not in path.name
    }


@pytest.mark.parametrize(
    "link",
    [".memspace", ".memspace/.memspace-trash", ".memspace/default", "default/.memspace-tmp.0123abcd"],
)
def test_a_symlink_in_the_reserved_area_is_never_followed(tmp_path: Path, link: str) -> None:
    root, outside = tmp_path / "mem", tmp_path / "outside"
    outside.mkdir()
    (outside / "theirs.txt").write_text("not memspace's\n")
    plant(root, b"a.md", b"a\n")
    plant(root, b"dir/c.md", b"c\n")
    (root / link).parent.mkdir(parents=True, exist_ok=True)
    os.symlink(outside if not link.startswith("default/") else outside / "theirs.txt", root / link)
    os.utime(root / link, (0, 0), follow_symlinks=False)  # old enough to be swept as a stale temp
    tools = tools_on(root)
    for name, args in ALL_CALLS:
        before = on_disk(root / "default")
        result = tools.call(name, args)
        assert "internal error" not in result.text, (name, result.text)
        if result.is_error:
            assert "reserved area" in result.text or "does not exist" in result.text, (name, result.text)
            # refused before anything changed, not after the change it reports as failed
            assert on_disk(root / "default") == before, (name, result.text)
    assert sorted(p.name for p in outside.iterdir()) == ["theirs.txt"]
    assert (outside / "theirs.txt").read_text() == "not memspace's\n"


@pytest.mark.parametrize("where", [".memspace-v/b.md", ".memspace-v", ".memspace-v/a.md"])
def test_a_symlink_at_a_rename_markers_history_folder_refuses_the_rename_before_it(
    tmp_path: Path, where: str
) -> None:
    """A versioned rename writes a marker in the history folder of both paths: a link planted at
    either (the new path's, which the rename would create, or the old path's) or at the history
    of the folder they are in refuses the rename before the file moves, and nothing outside is
    touched."""
    root, outside = tmp_path / "mem", tmp_path / "outside"
    outside.mkdir()
    tools = tools_on(root, memory_tool_versioning=True)
    assert not tools.call("memory_create_update", {"path": "/a.md", "file_text": "a"}).is_error
    history = root / ".memspace" / "default" / "history"
    planted = history / where
    if planted.exists():
        shutil.rmtree(planted)
    planted.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(outside, planted)
    result = tools.call("memory_rename", {"old_path": "/a.md", "new_path": "/b.md"})
    assert result.is_error and "reserved area" in result.text, result.text
    assert on_disk(root / "default") == {"a.md": b"a"}
    assert list(outside.iterdir()) == []


# -- unreadable folders (permissions: as an unprivileged user) -----------------------


def test_clear_and_delete_refuse_a_folder_they_cannot_read_instead_of_under_reporting(
    shared_tmp: Path,
) -> None:
    out = run_case("unreadable_clear", shared_tmp / "mem", unprivileged=True)
    for name, _, is_error, text in out["calls"]:
        assert is_error and "cannot be read" in text, (name, text)
    assert out["left"] == ["/a.md", "/locked/b.md", "/locked/c.md"]


def test_sync_delete_keeps_the_targets_copies_of_an_unreadable_source_folder(shared_tmp: Path) -> None:
    out = run_case("unreadable_sync", shared_tmp / "src", shared_tmp / "dst", unprivileged=True)
    assert out["code"] == 1 and "cannot be read" in out["stderr"], out["stderr"]
    assert "Traceback" not in out["stderr"]
    assert out["target"] == ["/a.md", "/locked/b.md"]


def test_read_only_mode_opens_and_views_a_read_only_folder(shared_tmp: Path) -> None:
    out = run_case("read_only_folder", shared_tmp / "mem", unprivileged=True)
    for name, _, is_error, text in out["calls"]:
        assert not is_error, (name, text)
    view_root, view_file, search, find, plain_view = (text for *_, text in out["calls"])
    assert "/notes/a.md" in view_root and "beta" in view_file and "beta" in plain_view
    assert "/notes/a.md:2: beta" in search and "/notes/a.md" in find
    assert out["on_disk"] == [
        "default/",
        "default/.memspace-tmp.left-by-a-crash",
        "default/notes/",
        "default/notes/a.md",
    ]


# -- deep trees, full disks, empty folders ------------------------------------------


@pytest.mark.parametrize("open_files", [1024, 8192])
def test_a_tree_deeper_than_any_path_is_listed_searched_deleted_and_cleared(
    shared_tmp: Path, open_files: int
) -> None:
    """1,500 folders deep: no RecursionError anywhere. Listing and searching keep a bounded number
    of folders open, so they work under the usual 1,024 open-files limit; deleting locks every
    folder of the tree (a descriptor each), so under that limit it is refused whole and clearly,
    and with a higher limit it goes through."""
    out = run_case("deep", shared_tmp / "mem", 1500, open_files)
    for name, _, is_error, text in out["reads"]:
        assert not is_error, (name, text)
    view_root, view_sub, search, find = (text for *_, text in out["reads"])
    assert "/a.md" in view_root and "/d/d/" in view_root
    assert "/d/d/d/" in view_sub
    assert "deep down" in search and "/deep.md" in find
    assert out["walked"] == 2
    (_, _, delete_failed, delete), (_, _, clear_failed, clear) = out["delete"], out["clear"]
    if open_files > 1500 + 100:
        assert not delete_failed and "1 file" in delete and out["after_delete"] == ["a.md"]
        assert not clear_failed and "2 files" in clear and out["after_clear"] == []
    else:
        for text in (delete, clear):
            assert text.endswith(
                "could not delete: too many open files. Check the folder's permissions and free space."
            )
        assert out["after_delete"] == out["after_clear"] == ["a.md", "d"]
    for text in (delete, clear):
        assert "Recursion" not in text and "internal error" not in text


def test_a_full_disk_leaves_no_temp_file_and_every_name_usable(tmp_path: Path) -> None:
    out = run_case("full_disk", tmp_path / "mem", 64 * 1024)
    for name, _, is_error, text in out["failed"]:
        assert is_error and "file too large" in text, (name, text)
    for name, _, is_error, text in out["after"]:
        assert not is_error, (name, text)
    assert not [rel for rel in out["on_disk"] if ".memspace-tmp" in rel]
    assert [rel for rel in out["on_disk"] if rel.startswith("default/")] == [
        "default/",
        "default/a.md",
        "default/big.md",
        "default/new",
    ]


def test_empty_folders_never_make_a_name_unusable(tmp_path: Path) -> None:
    out = run_case("empty_folders", tmp_path / "mem")
    for name, _, is_error, text in out["calls"]:
        assert not is_error, (name, text)
    listing = out["calls"][-1][3]
    for path in ("/notes", "/moved", "/renamed/f.md"):
        assert f"  {path}\n" in listing + "\n", listing


# -- big files and long lines -------------------------------------------------------


def test_viewing_a_huge_planted_file_costs_memory_bounded_by_the_read_cap(tmp_path: Path) -> None:
    out = run_case("huge_file", tmp_path / "mem", 75 * 1024 * 1024)
    assert not out["is_error"]
    assert "75.0M" in out["text_start"] and "1.0M" in out["text_start"]
    assert "0000000 planted log line" in out["text_start"]
    assert "view_range" in out["text_end"]
    # The view reads at most the file size limit (1 MiB) plus one byte; text, lines and the
    # rendering are a few times that. Reading the whole file would cost over 75 MiB here.
    assert out["peak_bytes"] < 12 * 1024 * 1024, out
    # The same bound seen by the kernel: the process's peak resident size grew by far less than
    # the file (measured: about 7 MiB; reading the file whole would add over 75 MiB).
    assert out["rss_growth_kib"] < 60 * 1024, out


NEXT_VIEW = re.compile(
    r'call memory_view with path "(?P<path>[^"]+)",? (?:and )?view_range \[(?P<start>\d+), (?P<end>-?\d+)\]'
    r"(?: and column (?P<column>\d+))?"
)


def follow_the_notes(tools: MemoryTools, path: str) -> list[str]:
    """Call memory_view the way a model would: as each answer's closing note says, until no note
    says more. Returns every answer."""
    answers: list[str] = []
    args: dict[str, Any] | None = {"path": path}
    while args is not None and len(answers) < 50:
        result = tools.call("memory_view", args)
        assert not result.is_error, result.text
        answers.append(result.text)
        ask = NEXT_VIEW.search(result.text)
        args = None
        if ask:
            args = {"path": ask["path"], "view_range": [int(ask["start"]), int(ask["end"])]}
            if ask["column"]:
                args["column"] = int(ask["column"])
    return answers


def test_a_line_longer_than_a_view_can_be_read_to_its_end(tmp_path: Path) -> None:
    tools = tools_on(tmp_path / "mem")
    long_line = "".join(f"<{n:06d}>" + "y" * 92 for n in range(500))  # 50,000 characters
    tools.call("memory_create_update", {"path": "/long.md", "file_text": f"first\n{long_line}\nlast\n"})
    answers = follow_the_notes(tools, "/long.md")
    assert 4 <= len(answers) <= 6
    seen = ""
    for answer in answers:
        for row in answer.splitlines()[1:]:
            number, tab, text = row.partition("\t")
            if tab and number.strip() == "2":
                seen += text
    assert seen == long_line
    assert answers[0].splitlines()[1] == "     1\tfirst"
    assert answers[-1].splitlines()[-1] == "     3\tlast"


def test_the_cli_reads_a_long_line_from_a_given_character(tmp_path: Path) -> None:
    root = tmp_path / "mem"
    tools = tools_on(root)
    tools.call("memory_create_update", {"path": "/long.md", "file_text": "a" * 20_000 + "THE END\n"})
    run = cli("view", "/long.md", "--lines", "1:1", "--column", "20001", cwd=tmp_path, root=root)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[1] == "     1\tTHE END"


# -- permissions and laziness ---------------------------------------------------------


def test_folders_are_private_files_too_and_reading_creates_nothing_even_under_umask_0(
    tmp_path: Path,
) -> None:
    out = run_case("private_and_lazy", tmp_path)
    assert out["created_by_reads"] == []
    for name, _, is_error, text in out["reads"]:
        assert not is_error or "does not exist" in text, (name, text)
    modes: dict[str, str] = out["modes"]
    assert modes, "nothing was written"
    for rel, mode in modes.items():
        assert mode == ("0o700" if rel.endswith("/") else "0o600"), (rel, mode)
    assert not [rel for rel in modes if "lock" in rel.lower()]


def test_a_mistyped_local_dir_is_not_created_by_reading(tmp_path: Path) -> None:
    for args in (["view", "/"], ["view", "/notes/a.md"], ["grep", "x"], ["find", "*"]):
        cli("--local-dir", "./typo", *args, cwd=tmp_path)
    assert list(tmp_path.iterdir()) == []
