"""Anthropic's memory tool over memspace, on every backend, against the SDK and its tool runner.

``CASES`` is one table of commands with the exact text the model must read and the files that
must result. It runs through the sync and the async tool on the memory, local, S3 and R2
backends (S3/R2 on the real SeaweedFS peer), and -- for every case the SDK's local tool can
answer -- through the SDK's own ``BetaLocalFilesystemMemoryTool``, which shows the expected
texts are the SDK's, word for word.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anthropic
import anyio
import pytest
from anthropic.lib.tools import ToolError
from anthropic.lib.tools._beta_builtin_memory_tool import BetaLocalFilesystemMemoryTool

from memspace import MemoryTools, Workspace
from memspace.integrations.anthropic import TEXTS, AsyncMemspaceMemoryTool, MemspaceMemoryTool

from .conftest import ACCESS_KEY, SECRET_KEY, MakeTools, s3_environ, unique_prefix
from .support.model_server import ModelServer, text, tool_call
from .support.seaweed import SeaweedServer
from .support.snippets import snippet

Files = Mapping[str, str]

HEADER_FILE = "Here's the content of {path} with line numbers:\n"
HEADER_DIR = "Here're the files and directories up to 2 levels deep in {path}, excluding hidden items:\n"
EDITED = "The memory file has been edited. Here is the snippet showing the change (with line numbers):\n"


@dataclass(frozen=True)
class Case:
    """One command: the files before, what the model reads, the files after (None: unchanged).

    ``sdk``: the SDK's local tool answers exactly this too ("folder sizes": the same but for the
    size column of folders, which the SDK takes from the file system); False where memspace
    differs on purpose (docs/integrations.md) or the SDK has no answer (it raises a Python error).
    ``backends``: where the case holds, if not on every backend.
    """

    id: str
    before: Files
    command: dict[str, Any]
    says: str
    after: Files | None = None
    error: bool = False
    sdk: bool | str = True
    backends: tuple[str, ...] = ("memory", "local", "s3", "r2")


NOTES = {"/memories/notes.md": "alpha\nbeta\ngamma\n"}
TWO_LINES = {"/memories/i.md": "Line 1\nLine 2"}
FIVE = {"/memories/r.md": "l1\nl2\nl3\nl4\nl5"}
TREE = {
    "/memories/a.md": "hello",
    "/memories/d/b.md": "1234567890",
    "/memories/d/e/f.md": "x" * 1536,
    "/memories/d/.h.md": "hidden",
    "/memories/.hidden/s.md": "secret",
}
AB = {"/memories/a.md": "A", "/memories/b.md": "B"}
DIR = {"/memories/d/b.md": "1", "/memories/d/e/f.md": "2", "/memories/keep.md": "3"}


def view(path: str, view_range: list[int] | None = None) -> dict[str, Any]:
    return {"command": "view", "path": path} | ({"view_range": view_range} if view_range else {})


def create(path: str, file_text: str) -> dict[str, Any]:
    return {"command": "create", "path": path, "file_text": file_text}


def replace(path: str, old: str, new: str) -> dict[str, Any]:
    return {"command": "str_replace", "path": path, "old_str": old, "new_str": new}


def insert(path: str, line: object, insert_text: str) -> dict[str, Any]:
    return {"command": "insert", "path": path, "insert_line": line, "insert_text": insert_text}


def delete(path: str) -> dict[str, Any]:
    return {"command": "delete", "path": path}


def rename(old: str, new: str) -> dict[str, Any]:
    return {"command": "rename", "old_path": old, "new_path": new}


CASES = [
    # -- view: files ---------------------------------------------------------------------
    Case(
        "view a file: every line numbered, and the empty one after the final newline",
        NOTES,
        view("/memories/notes.md"),
        HEADER_FILE.format(path="/memories/notes.md")
        + "     1\talpha\n     2\tbeta\n     3\tgamma\n     4\t",
    ),
    Case(
        "view a file without a final newline",
        {"/memories/n.md": "a\nb"},
        view("/memories/n.md"),
        HEADER_FILE.format(path="/memories/n.md") + "     1\ta\n     2\tb",
    ),
    Case(
        "view an empty file",
        {"/memories/e.md": ""},
        view("/memories/e.md"),
        HEADER_FILE.format(path="/memories/e.md") + "     1\t",
    ),
    Case(
        "view_range shows lines start to end",
        FIVE,
        view("/memories/r.md", [2, 4]),
        HEADER_FILE.format(path="/memories/r.md") + "     2\tl2\n     3\tl3\n     4\tl4",
    ),
    Case(
        "view_range end -1 is the last line",
        FIVE,
        view("/memories/r.md", [4, -1]),
        HEADER_FILE.format(path="/memories/r.md") + "     4\tl4\n     5\tl5",
    ),
    Case(
        "view_range start below 1 starts at line 1",
        FIVE,
        view("/memories/r.md", [0, 2]),
        HEADER_FILE.format(path="/memories/r.md") + "     1\tl1\n     2\tl2",
    ),
    Case(
        "view_range past the end shows no lines",
        FIVE,
        view("/memories/r.md", [9, 12]),
        HEADER_FILE.format(path="/memories/r.md"),
    ),
    Case(
        "a view_range that is not two numbers is ignored",
        FIVE,
        view("/memories/r.md", [3]),
        HEADER_FILE.format(path="/memories/r.md")
        + "     1\tl1\n     2\tl2\n     3\tl3\n     4\tl4\n     5\tl5",
    ),
    Case(
        "view a path with '..' that stays inside /memories, named as given",
        NOTES,
        view("/memories/d/../notes.md"),
        HEADER_FILE.format(path="/memories/d/../notes.md")
        + "     1\talpha\n     2\tbeta\n     3\tgamma\n     4\t",
    ),
    # -- view: directories ---------------------------------------------------------------
    Case(
        "view the root of an empty workspace",
        {},
        view("/memories"),
        HEADER_DIR.format(path="/memories") + "0B\t/memories",
        sdk="folder sizes",
    ),
    Case(
        "view a directory: two levels, sorted, sizes, hidden entries left out",
        TREE,
        view("/memories"),
        HEADER_DIR.format(path="/memories")
        + "1.5K\t/memories\n5B\t/memories/a.md\n1.5K\t/memories/d/\n10B\t/memories/d/b.md\n1.5K\t/memories/d/e/",
        sdk="folder sizes",
    ),
    Case(
        "view a subdirectory",
        TREE,
        view("/memories/d"),
        HEADER_DIR.format(path="/memories/d")
        + "1.5K\t/memories/d\n10B\t/memories/d/b.md\n1.5K\t/memories/d/e/\n1.5K\t/memories/d/e/f.md",
        sdk="folder sizes",
    ),
    Case(
        "view '/memories/' repeats the path as given, slash and all",
        {"/memories/a.md": "hi"},
        view("/memories/"),
        HEADER_DIR.format(path="/memories/") + "2B\t/memories/\n2B\t/memories//a.md",
        sdk="folder sizes",
    ),
    # -- view: errors --------------------------------------------------------------------
    Case(
        "view a missing path",
        NOTES,
        view("/memories/nope.md"),
        "The path /memories/nope.md does not exist. Please provide a valid path.",
        error=True,
    ),
    Case(
        "a path outside /memories is refused",
        {},
        view("/etc/passwd"),
        "Path must start with /memories, got: /etc/passwd",
        error=True,
    ),
    Case(
        "a relative path is refused",
        {},
        view("memories/a.md"),
        "Path must start with /memories, got: memories/a.md",
        error=True,
    ),
    Case(
        "'..' above /memories escapes it",
        {},
        view("/memories/../../etc/passwd"),
        "Path /memories/../../etc/passwd would escape /memories directory",
        error=True,
    ),
    Case(
        "a name that only starts like /memories is outside it",
        {},
        view("/memories_old/a.md"),
        "Path must start with /memories, got: /memories_old/a.md",
        error=True,
        sdk=False,  # the SDK reads it as /memories/_old/a.md
    ),
    Case(
        "a path memspace does not allow is refused in memspace's words, quoting the model's path",
        {},
        create("/memories/a\\b.md", "x"),
        "Path '/memories/a\\\\b.md' contains a backslash; use '/' to separate folders.",
        error=True,
        sdk=False,  # the SDK creates a file with a backslash in its name
    ),
    Case(
        "memspace's reserved names are refused",
        {},
        create("/memories/.memspace-tmp.x", "x"),
        "Names starting with '.memspace' are reserved; choose another name than '.memspace-tmp.x'.",
        error=True,
        sdk=False,
    ),
    # -- create --------------------------------------------------------------------------
    Case(
        "create a file, folders included, text as given",
        {},
        create("/memories/deep/nested/n.md", "Nested"),
        "File created successfully at: /memories/deep/nested/n.md",
        after={"/memories/deep/nested/n.md": "Nested"},
    ),
    Case(
        "create resolves '..' inside /memories",
        {},
        create("/memories/x/../y.md", "why\n"),
        "File created successfully at: /memories/x/../y.md",
        after={"/memories/y.md": "why\n"},
    ),
    Case(
        "create refuses an existing file and leaves it alone",
        NOTES,
        create("/memories/notes.md", "new"),
        "File /memories/notes.md already exists",
        error=True,
    ),
    Case(
        "create refuses the root", {}, create("/memories", "x"), "File /memories already exists", error=True
    ),
    Case(
        "create refuses a directory's path (local disk)",
        {"/memories/d/b.md": "x"},
        create("/memories/d", "x"),
        "File /memories/d already exists",
        error=True,
        # Local disk and SeaweedFS (the S3 peer, a file system underneath) refuse a file where a
        # folder is; AWS S3 and R2 let both exist, as the in-memory store does (next case).
        backends=("local", "s3", "r2"),
    ),
    Case(
        "create where a directory is: a pure object store lets a file and a folder share a name",
        {"/memories/d/b.md": "x"},
        create("/memories/d", "x"),
        "File created successfully at: /memories/d",
        after={"/memories/d/b.md": "x", "/memories/d": "x"},
        sdk=False,  # memspace does not pay a LIST per create to look for a folder (docs/design.md)
        backends=("memory",),
    ),
    # -- str_replace ---------------------------------------------------------------------
    Case(
        "str_replace shows two lines around the change",
        {"/memories/s.md": "1\n2\n3\n4\n5\n6\n7\n"},
        replace("/memories/s.md", "4", "four"),
        EDITED + "     2\t2\n     3\t3\n     4\tfour\n     5\t5\n     6\t6",
        after={"/memories/s.md": "1\n2\n3\nfour\n5\n6\n7\n"},
    ),
    Case(
        "str_replace on the first line, new text of two lines",
        {"/memories/s.md": "a\nb\nc"},
        replace("/memories/s.md", "a", "x\ny"),
        EDITED + "     1\tx\n     2\ty\n     3\tb",
        after={"/memories/s.md": "x\ny\nb\nc"},
    ),
    Case(
        "str_replace keeps CRLF line ends",
        {"/memories/c.md": "l1\r\nl2\r\nl3\r\n"},
        replace("/memories/c.md", "l2", "L2"),
        EDITED + "     1\tl1\r\n     2\tL2\r\n     3\tl3\r\n     4\t",
        after={"/memories/c.md": "l1\r\nL2\r\nl3\r\n"},
    ),
    Case(
        "str_replace with no match",
        NOTES,
        replace("/memories/notes.md", "delta", "x"),
        "No replacement was performed, old_str `delta` did not appear verbatim in /memories/notes.md.",
        error=True,
    ),
    Case(
        "str_replace with several matches names their lines",
        {"/memories/h.md": "Hello\nMiddle\nHello Hello"},
        replace("/memories/h.md", "Hello", "Hi"),
        "No replacement was performed. Multiple occurrences of old_str `Hello` in lines: 1, 3, 3. "
        "Please ensure it is unique",
        error=True,
    ),
    Case(
        "str_replace on a missing file",
        {},
        replace("/memories/nope.md", "a", "b"),
        "The path /memories/nope.md does not exist. Please provide a valid path.",
        error=True,
    ),
    Case(
        "str_replace on a directory",
        {"/memories/d/b.md": "x"},
        replace("/memories/d", "a", "b"),
        "The path /memories/d is not a file.",
        error=True,
    ),
    Case(
        "str_replace with an empty old_str",
        NOTES,
        replace("/memories/notes.md", "", "x"),
        "No replacement was performed, old_str is empty. Copy the exact text to replace from /memories/notes.md.",
        error=True,
        sdk=False,  # the SDK lists every character position as a match
    ),
    # -- insert --------------------------------------------------------------------------
    Case(
        "insert after a line; the file then ends with a newline",
        TWO_LINES,
        insert("/memories/i.md", 1, "Inserted"),
        "The file /memories/i.md has been edited.",
        after={"/memories/i.md": "Line 1\nInserted\nLine 2\n"},
    ),
    Case(
        "insert at the top drops the text's trailing newlines",
        {"/memories/i.md": "a\nb\n"},
        insert("/memories/i.md", 0, "x\n\n"),
        "The file /memories/i.md has been edited.",
        after={"/memories/i.md": "x\na\nb\n"},
    ),
    Case(
        "insert at the end",
        {"/memories/i.md": "a\nb\n"},
        insert("/memories/i.md", 2, "c"),
        "The file /memories/i.md has been edited.",
        after={"/memories/i.md": "a\nb\nc\n"},
    ),
    Case(
        "insert several lines",
        {"/memories/i.md": "a\n"},
        insert("/memories/i.md", 1, "b\nc"),
        "The file /memories/i.md has been edited.",
        after={"/memories/i.md": "a\nb\nc\n"},
    ),
    Case(
        "insert into an empty file",
        {"/memories/i.md": ""},
        insert("/memories/i.md", 0, "x"),
        "The file /memories/i.md has been edited.",
        after={"/memories/i.md": "x\n"},
    ),
    Case(
        "insert keeps the file's CRLF lines",
        {"/memories/c.md": "l1\r\nl2\r\n"},
        insert("/memories/c.md", 1, "x"),
        "The file /memories/c.md has been edited.",
        after={"/memories/c.md": "l1\r\nx\nl2\r\n"},
    ),
    Case(
        "insert_line past the end",
        TWO_LINES,
        insert("/memories/i.md", 5, "x"),
        "Invalid `insert_line` parameter: 5. It should be within the range [0, 2].",
        error=True,
    ),
    Case(
        "insert_line below zero",
        TWO_LINES,
        insert("/memories/i.md", -1, "x"),
        "Invalid `insert_line` parameter: -1. It should be within the range [0, 2].",
        error=True,
    ),
    Case(
        "insert into a missing file",
        {},
        insert("/memories/nope.md", 0, "x"),
        "The path /memories/nope.md does not exist. Please provide a valid path.",
        error=True,
    ),
    Case(
        "insert_line that is not a number",
        TWO_LINES,
        insert("/memories/i.md", "two", "x"),
        "Invalid `insert_line` parameter: 'two'. It should be an integer.",
        error=True,
        sdk=False,  # the SDK fails with a TypeError
    ),
    # -- delete --------------------------------------------------------------------------
    Case(
        "delete a file",
        NOTES,
        delete("/memories/notes.md"),
        "Successfully deleted /memories/notes.md",
        after={},
    ),
    Case(
        "delete a directory and everything in it",
        DIR,
        delete("/memories/d"),
        "Successfully deleted /memories/d",
        after={"/memories/keep.md": "3"},
    ),
    Case(
        "delete refuses /memories",
        NOTES,
        delete("/memories"),
        "Cannot delete the /memories directory itself",
        error=True,
    ),
    Case(
        "delete refuses /memories reached through '..'",
        NOTES,
        delete("/memories/d/.."),
        "Cannot delete the /memories directory itself",
        error=True,
    ),
    Case(
        "delete a missing path",
        NOTES,
        delete("/memories/nope.md"),
        "The path /memories/nope.md does not exist",
        error=True,
    ),
    # -- rename --------------------------------------------------------------------------
    Case(
        "rename a file",
        {"/memories/a.md": "A"},
        rename("/memories/a.md", "/memories/b.md"),
        "Successfully renamed /memories/a.md to /memories/b.md",
        after={"/memories/b.md": "A"},
    ),
    Case(
        "rename into new folders",
        {"/memories/a.md": "A"},
        rename("/memories/a.md", "/memories/x/y/a.md"),
        "Successfully renamed /memories/a.md to /memories/x/y/a.md",
        after={"/memories/x/y/a.md": "A"},
    ),
    Case(
        "rename a directory",
        DIR,
        rename("/memories/d", "/memories/z"),
        "Successfully renamed /memories/d to /memories/z",
        after={"/memories/z/b.md": "1", "/memories/z/e/f.md": "2", "/memories/keep.md": "3"},
    ),
    Case(
        "rename never overwrites",
        AB,
        rename("/memories/a.md", "/memories/b.md"),
        "The destination /memories/b.md already exists",
        error=True,
    ),
    Case(
        "rename onto itself: the destination exists",
        AB,
        rename("/memories/a.md", "/memories/a.md"),
        "The destination /memories/a.md already exists",
        error=True,
    ),
    Case(
        "rename a missing path",
        {},
        rename("/memories/nope.md", "/memories/b.md"),
        "The path /memories/nope.md does not exist",
        error=True,
    ),
    Case(
        "rename a missing path onto an existing one: the destination is named first",
        AB,
        rename("/memories/nope.md", "/memories/b.md"),
        "The destination /memories/b.md already exists",
        error=True,
    ),
    Case(
        "rename refuses /memories",
        NOTES,
        rename("/memories", "/memories/moved"),
        "Cannot rename the /memories directory itself",
        error=True,
    ),
    Case(
        "rename onto /memories: it exists",
        NOTES,
        rename("/memories/notes.md", "/memories"),
        "The destination /memories already exists",
        error=True,
    ),
    Case(
        "rename a directory into itself",
        DIR,
        rename("/memories/d", "/memories/d/sub"),
        "Cannot rename /memories/d to /memories/d/sub: the new path is inside the old one.",
        error=True,
        sdk=False,  # the SDK fails with an OSError
    ),
    Case(
        "rename a file to a path below it",
        {"/memories/a.md": "A"},
        rename("/memories/a.md", "/memories/a.md/x"),
        "Cannot rename /memories/a.md to /memories/a.md/x: the new path is inside the old one.",
        error=True,
        sdk=False,  # the SDK fails with a NotADirectoryError
    ),
    Case(
        "rename onto a folder holding only identical copies finishes an interrupted rename",
        {"/memories/d/b.md": "1", "/memories/d/c.md": "2", "/memories/z/b.md": "1"},
        rename("/memories/d", "/memories/z"),
        "Successfully renamed /memories/d to /memories/z",
        after={"/memories/z/b.md": "1", "/memories/z/c.md": "2"},
        sdk=False,  # the SDK: "The destination /memories/z already exists"
        # Object stores move a folder file by file and can be interrupted half way; a local
        # folder moves in one rename(2), so there it is a plain existing destination.
        backends=("memory", "s3", "r2"),
    ),
    Case(
        "rename onto an existing folder is refused on local disk",
        {"/memories/d/b.md": "1", "/memories/d/c.md": "2", "/memories/z/b.md": "1"},
        rename("/memories/d", "/memories/z"),
        "The destination /memories/z already exists",
        error=True,
        backends=("local",),
    ),
]


# -- running a case ----------------------------------------------------------------------


def _workspace_path(path: str) -> str:
    return path.removeprefix("/memories") or "/"


def put_files(workspace: Workspace, files: Files) -> None:
    for path, content in files.items():
        workspace.create(_workspace_path(path), content)


def files_of(workspace: Workspace) -> dict[str, str]:
    """Every file of the workspace (hidden ones too), by the path the model sees."""
    return {f"/memories{entry.path}": workspace.read(str(entry.path)).text for entry in workspace.walk("/")}


def answer(tool: MemspaceMemoryTool | AsyncMemspaceMemoryTool, command: dict[str, Any]) -> tuple[str, bool]:
    """What the model reads, and whether it is an error: as the tool runner calls the tool."""
    try:
        if isinstance(tool, AsyncMemspaceMemoryTool):
            result = anyio.run(tool.call, command)
        else:
            result = tool.call(command)
    except ToolError as error:
        assert isinstance(error.content, str)
        return error.content, True
    assert isinstance(result, str)
    return result, False


@pytest.fixture(params=["sync", "async"])
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def adapter(source: MemoryTools | Workspace, flavour: str) -> MemspaceMemoryTool | AsyncMemspaceMemoryTool:
    return AsyncMemspaceMemoryTool(source) if flavour == "async" else MemspaceMemoryTool(source)


@pytest.mark.parametrize(
    ("case", "backend"),
    [(case, backend) for case in CASES for backend in case.backends],
    ids=[f"{case.id}-{backend}" for case in CASES for backend in case.backends],
)
def test_command(case: Case, backend: str, flavour: str, make_tools: MakeTools) -> None:
    tools = make_tools()
    put_files(tools.workspace, case.before)

    says, is_error = answer(adapter(tools, flavour), case.command)

    assert (says, is_error) == (case.says, case.error)
    assert files_of(tools.workspace) == (case.before if case.after is None else case.after)


def _sdk_files(root: Path) -> dict[str, str]:
    return {
        f"/memories/{path.relative_to(root).as_posix()}": path.read_bytes().decode("utf-8")
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _folder_sizes_masked(listing: str) -> str:
    rows = listing.split("\n")
    return "\n".join(
        [rows[0]]
        + [
            f"*\t{row.split(chr(9), 1)[1]}" if index == 1 or row.endswith("/") else row
            for index, row in enumerate(rows[1:], 1)
        ]
    )


@pytest.mark.parametrize(
    "case", [case for case in CASES if case.sdk], ids=[case.id for case in CASES if case.sdk]
)
def test_the_sdk_local_tool_answers_the_same(case: Case, tmp_path: Path) -> None:
    """The expected texts above are the SDK's own: its local tool gives them too."""
    sdk = BetaLocalFilesystemMemoryTool(base_path=str(tmp_path))
    for path, content in case.before.items():
        target = sdk.memory_root / path.removeprefix("/memories/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8", newline="")
    try:
        says, is_error = str(sdk.call(case.command)), False
    except ToolError as error:
        says, is_error = str(error.content), True

    if case.sdk == "folder sizes":
        assert _folder_sizes_masked(says) == _folder_sizes_masked(case.says)
    else:
        assert (says, is_error) == (case.says, case.error)
    assert _sdk_files(sdk.memory_root) == (case.before if case.after is None else case.after)


def test_texts_name_each_situation_once() -> None:
    assert len(set(TEXTS.values())) == len(TEXTS)


# -- beyond single commands ----------------------------------------------------------------


def test_clear_all_memory_empties_this_workspace_only(make_tools: MakeTools, flavour: str) -> None:
    tools, neighbour = make_tools(memory_tool_namespace="alice"), make_tools(memory_tool_namespace="bob")
    put_files(tools.workspace, TREE)
    put_files(neighbour.workspace, NOTES)
    tool = adapter(tools, flavour)

    cleared = (
        anyio.run(tool.clear_all_memory)
        if isinstance(tool, AsyncMemspaceMemoryTool)
        else tool.clear_all_memory()
    )

    assert cleared == "All memory cleared"
    assert files_of(tools.workspace) == {}
    assert files_of(neighbour.workspace) == NOTES
    assert answer(tool, view("/memories")) == (HEADER_DIR.format(path="/memories") + "0B\t/memories", False)


def test_a_symlink_is_refused_and_its_target_untouched(tmp_path: Path, flavour: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret", encoding="utf-8")
    tools = MemoryTools.from_config(
        {"memory_tool_backend": "local", "memory_tool_local_dir": str(tmp_path / "m")}
    )
    root = tmp_path / "m" / "default"
    root.mkdir(parents=True)
    (root / "link").symlink_to(outside, target_is_directory=True)
    (root / "file.md").symlink_to(outside / "secret.txt")
    tool = adapter(tools, flavour)

    for command in (
        view("/memories/link/secret.txt"),
        create("/memories/link/new.md", "x"),
        replace("/memories/file.md", "secret", "gone"),
        insert("/memories/file.md", 0, "x"),
    ):
        says, is_error = answer(tool, command)
        assert is_error
        assert says == TEXTS["symlink"].format(path=command["path"])
        assert str(tmp_path) not in says
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert (outside / "secret.txt").read_text(encoding="utf-8") == "secret"


def test_a_read_only_workspace_can_be_viewed_not_changed(make_tools: MakeTools) -> None:
    put_files(make_tools().workspace, NOTES)
    tool = MemspaceMemoryTool(make_tools(memory_tool_read_only=True))

    assert answer(tool, view("/memories/notes.md"))[0].startswith(
        HEADER_FILE.format(path="/memories/notes.md")
    )
    for command in (
        create("/memories/n.md", "x"),
        delete("/memories/notes.md"),
        insert("/memories/notes.md", 0, "x"),
    ):
        assert answer(tool, command) == (
            f"The memory directory is read-only; {command['path']} cannot be changed.",
            True,
        )


def test_a_binary_file_is_reported_not_decoded(make_tools: MakeTools) -> None:
    tools = make_tools()
    tools.workspace.store.put(tools.workspace.base + "blob.bin", b"\xff\xfe\x00", mode="create", write_ids=())
    tool = MemspaceMemoryTool(tools)

    assert answer(tool, view("/memories/blob.bin")) == (
        "The file /memories/blob.bin is not UTF-8 text (3 bytes); it can only be renamed or deleted.",
        True,
    )
    assert answer(tool, rename("/memories/blob.bin", "/memories/b.bin"))[1] is False


def test_concurrent_inserts_through_the_tool_all_land(make_tools: MakeTools) -> None:
    tools = make_tools()
    put_files(tools.workspace, {"/memories/log.md": "end\n"})
    tool = MemspaceMemoryTool(tools)
    failures: list[tuple[str, bool]] = []

    def writer(number: int) -> None:
        for step in range(6):
            result = answer(tool, insert("/memories/log.md", 0, f"w{number}-{step}"))
            if result != ("The file /memories/log.md has been edited.", False):
                failures.append(result)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    lines = tools.workspace.read("/log.md").text.split("\n")
    assert sorted(lines[:-2]) == sorted(f"w{n}-{s}" for n in range(6) for s in range(6))
    assert lines[-2:] == ["end", ""]


def test_concurrent_creates_one_wins(make_tools: MakeTools) -> None:
    tool = MemspaceMemoryTool(make_tools())
    results: list[tuple[str, bool]] = []
    barrier = threading.Barrier(6)

    def creator(number: int) -> None:
        barrier.wait()
        results.append(answer(tool, create("/memories/once.md", f"writer {number}")))

    threads = [threading.Thread(target=creator, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == [("File /memories/once.md already exists", True)] * 5 + [
        ("File created successfully at: /memories/once.md", False)
    ]


def test_the_model_never_sees_the_bucket_endpoint_or_keys(seaweed: SeaweedServer) -> None:
    environ = s3_environ(seaweed) | {"AWS_S3_BUCKET": "no-such-bucket-anthropic"}
    tool = MemspaceMemoryTool.from_config({"memory_tool_backend": "s3"}, environ=environ)

    says, is_error = answer(tool, view("/memories/notes.md"))

    assert is_error and "bucket" in says
    for secret in ("no-such-bucket-anthropic", seaweed.endpoint, ACCESS_KEY, SECRET_KEY):
        assert secret not in says


def test_definition_is_the_native_memory_tool() -> None:
    tools = MemoryTools.from_config({"memory_tool_backend": "memory"})
    assert MemspaceMemoryTool(tools).to_dict() == {"type": "memory_20250818", "name": "memory"}
    cached = AsyncMemspaceMemoryTool(tools.workspace, cache_control={"type": "ephemeral"})
    assert cached.to_dict() == {
        "type": "memory_20250818",
        "name": "memory",
        "cache_control": {"type": "ephemeral"},
    }
    assert cached.name == "memory"


# -- the SDK's tool runner, end to end against a scripted model ----------------------------


@dataclass
class RunnerBackend:
    name: str
    config: dict[str, object]
    environ: dict[str, str] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)  # never to reach the model


@pytest.fixture(params=["local", "s3"])
def runner_backend(request: pytest.FixtureRequest, tmp_path: Path) -> RunnerBackend:
    if request.param == "local":
        return RunnerBackend(
            "local",
            {"memory_tool_backend": "local", "memory_tool_local_dir": str(tmp_path)},
            secrets=[str(tmp_path)],
        )
    server: SeaweedServer = request.getfixturevalue("seaweed")
    environ = s3_environ(server)
    return RunnerBackend(
        "s3",
        {"memory_tool_backend": "s3", "memory_tool_prefix": unique_prefix()},
        environ,
        secrets=[environ["AWS_S3_BUCKET"], server.endpoint, ACCESS_KEY, SECRET_KEY],
    )


@pytest.fixture
def model() -> Iterator[ModelServer]:
    with ModelServer() as running:
        yield running
        assert running.unexpected == 0, "the runner made more model requests than scripted"


def _script(server: ModelServer) -> None:
    server.script(
        tool_call("memory", view("/memories")),
        tool_call("memory", create("/memories/preferences.md", "- short answers\n")),
        tool_call("memory", replace("/memories/preferences.md", "short", "very short")),
        tool_call("memory", view("/memories/nope.md")),
        text("Noted: very short answers."),
    )


def _check_run(server: ModelServer, final: Any, workspace: Workspace, secrets: list[str]) -> None:
    assert [block.text for block in final.content if block.type == "text"] == ["Noted: very short answers."]
    first = server.requests[0]
    assert first.body["tools"] == [{"type": "memory_20250818", "name": "memory"}]
    # The runner threads its requests (each one carries the new tool results only).
    seen = [
        (result.content, result.is_error) for request in server.requests for result in request.tool_results()
    ]
    assert seen == [
        (HEADER_DIR.format(path="/memories") + "0B\t/memories", False),
        ("File created successfully at: /memories/preferences.md", False),
        (EDITED + "     1\t- very short answers\n     2\t", False),
        ("The path /memories/nope.md does not exist. Please provide a valid path.", True),
    ]
    assert files_of(workspace) == {"/memories/preferences.md": "- very short answers\n"}
    everything_sent = "".join(str(request.body) for request in server.requests)
    for secret in secrets:
        assert secret not in everything_sent


def test_tool_runner_drives_the_tool_end_to_end(model: ModelServer, runner_backend: RunnerBackend) -> None:
    _script(model)
    tool = MemspaceMemoryTool.from_config(runner_backend.config, environ=runner_backend.environ)
    client = anthropic.Anthropic(api_key="sk-test", base_url=model.anthropic_base_url, max_retries=0)

    final = client.beta.messages.tool_runner(
        model="claude-sonnet-4-6",
        max_tokens=1024,
        tools=[tool],
        messages=[{"role": "user", "content": "Remember that I prefer very short answers."}],
    ).until_done()

    _check_run(model, final, tool.workspace, runner_backend.secrets)


def test_async_tool_runner_drives_the_async_tool_end_to_end(
    model: ModelServer, runner_backend: RunnerBackend
) -> None:
    _script(model)
    tool = AsyncMemspaceMemoryTool.from_config(runner_backend.config, environ=runner_backend.environ)

    async def run() -> Any:
        async with anthropic.AsyncAnthropic(
            api_key="sk-test", base_url=model.anthropic_base_url, max_retries=0
        ) as client:
            return await client.beta.messages.tool_runner(
                model="claude-sonnet-4-6",
                max_tokens=1024,
                tools=[tool],
                messages=[{"role": "user", "content": "Remember that I prefer very short answers."}],
            ).until_done()

    final = anyio.run(run)

    _check_run(model, final, tool.workspace, runner_backend.secrets)


def test_readme_snippet_runs_as_a_script(model: ModelServer, tmp_path: Path) -> None:
    model.script(
        tool_call("memory", view("/memories")),
        tool_call("memory", create("/memories/preferences.md", "- short answers\n")),
        text("I'll keep my answers short."),
    )
    code = snippet("anthropic-memory-tool")
    environ = {
        "PATH": "/usr/bin:/bin",
        "ANTHROPIC_API_KEY": "sk-test",
        "ANTHROPIC_BASE_URL": model.anthropic_base_url,
    }

    done = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    assert "I'll keep my answers short." in done.stdout
    assert (tmp_path / "memories" / "default" / "preferences.md").read_text(
        encoding="utf-8"
    ) == "- short answers\n"
    results = [result for request in model.requests for result in request.tool_results()]
    assert [result.is_error for result in results] == [False, False]


def test_without_the_sdk_the_import_says_what_to_install() -> None:
    code = (
        "import sys; sys.modules['anthropic'] = None\n"
        "try:\n"
        "    import memspace.integrations.anthropic\n"
        "except Exception as error:\n"
        "    print(type(error).__name__, error)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == (
        "MissingDependencyError The Anthropic memory tool needs the anthropic package; "
        'install it with: pip install "memspace[anthropic]"'
    )
