"""The deepagents backend: deepagents' own agent loop (``create_deep_agent``) with the real
``ChatOpenAI`` client talking to the scripted model server on loopback, on local disk and on the
SeaweedFS S3 peer; every protocol method side by side with deepagents' ``FilesystemBackend`` on
real folders (same files, same arguments, same answer); and edits from several processes on S3.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import importlib
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from deepagents import create_deep_agent
from deepagents.backends import FilesystemBackend
from deepagents.backends.protocol import BackendProtocol, GrepResult
from deepagents.backends.utils import EMPTY_CONTENT_WARNING
from langchain_core.messages import BaseMessage, ToolMessage
from langchain_openai import ChatOpenAI

from memspace import MemoryTools
from memspace.errors import MissingDependencyError
from memspace.integrations.deepagents import MemspaceBackend
from memspace.workspace import AsyncWorkspace

from .conftest import s3_environ, unique_prefix
from .support.deepagents_workers import edit_own_lines
from .support.model_server import ModelServer, text, tool_call
from .support.seaweed import SeaweedServer
from .support.tool_cases import ToolCase, check_result
from .support.workers import run_workers

API_KEY = "sk-test-deepagents-key"

pytestmark = pytest.mark.usefixtures("no_langsmith")


def files(backend: MemspaceBackend) -> dict[str, bytes]:
    ws = backend.workspace
    return {str(entry.path): ws.read_bytes(str(entry.path)) for entry in ws.walk("/")}


# -- deepagents' agent loop ------------------------------------------------------------

TODO = "/notes/todo.md"

# One scenario through the deep agent's file tools, in the shared case form: each case is one
# tool call (one model turn) and what the ToolMessage the model reads must say.
AGENT_CASES: tuple[ToolCase, ...] = (
    ToolCase("ls", {"path": "/"}, ("No files found",), label="ls empty root"),
    ToolCase(
        "write_file",
        {"file_path": TODO, "content": "alpha\nbeta\n"},
        (f"Updated file {TODO}",),
        label="write",
    ),
    ToolCase("read_file", {"file_path": TODO}, ("lines 1-2 of 2", "alpha\nbeta"), label="read"),
    ToolCase(
        "edit_file",
        {"file_path": TODO, "old_string": "beta", "new_string": "BETA"},
        (f"Successfully replaced 1 instance(s) of the string in '{TODO}'",),
        label="edit",
    ),
    ToolCase(
        "edit_file",
        {"file_path": TODO, "old_string": "gamma", "new_string": "x"},
        ("Error: String not found in file: 'gamma'",),
        is_error=True,
        label="edit without a match",
    ),
    ToolCase(
        "write_file",
        {"file_path": "/scratch.md", "content": "draft"},
        ("Updated file /scratch.md",),
        label="write scratch",
    ),
    ToolCase(
        "write_file",
        {"file_path": "/scratch.md", "content": "draft 2"},
        ("Updated file /scratch.md",),
        label="write over an existing file",
    ),
    ToolCase("ls", {"path": "/"}, ("/notes/", "/scratch.md"), label="ls root"),
    ToolCase("glob", {"pattern": "*.md"}, (TODO, "/scratch.md"), label="glob"),
    ToolCase("grep", {"pattern": "BETA"}, (TODO,), absent=("/scratch.md",), label="grep files"),
    ToolCase(
        "grep", {"pattern": "BETA", "output_mode": "content"}, (f"{TODO}:", "2: BETA"), label="grep content"
    ),
    ToolCase("delete", {"file_path": "/scratch.md"}, ("Deleted /scratch.md",), label="delete"),
    ToolCase(
        "read_file",
        {"file_path": "/scratch.md"},
        ("Error: File '/scratch.md' not found",),
        is_error=True,
        label="read deleted file",
    ),
    ToolCase("read_file", {"file_path": TODO}, ("alpha\nBETA",), absent=("beta",), label="read edited file"),
)
AGENT_FINAL_FILES = {TODO: b"alpha\nBETA\n"}


def chat_model(server: ModelServer) -> ChatOpenAI:
    return ChatOpenAI(model="gpt-4o", base_url=server.base_url, api_key=API_KEY, max_retries=0)  # type: ignore[arg-type]


def tool_messages(messages: list[BaseMessage]) -> list[ToolMessage]:
    return [message for message in messages if isinstance(message, ToolMessage)]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_every_file_tool_works_in_a_deep_agent_loop(
    server: ModelServer, agent_config: dict[str, object], mode: str
) -> None:
    server.script(*[tool_call(case.name, dict(case.arguments)) for case in AGENT_CASES], text("done"))
    backend = MemspaceBackend.from_config(agent_config)
    agent: Any = create_deep_agent(model=chat_model(server), backend=backend, system_prompt="Keep notes.")
    state = {"messages": [{"role": "user", "content": "go"}]}
    config = {"recursion_limit": 3 * len(AGENT_CASES) + 5}

    done = (
        asyncio.run(agent.ainvoke(state, config=config)) if mode == "async" else agent.invoke(state, config)
    )

    assert done["messages"][-1].content == "done"
    results = tool_messages(done["messages"])
    assert len(results) == len(AGENT_CASES)
    for case, message in zip(AGENT_CASES, results, strict=True):
        check_result(case, str(message.content), message.status == "error")
    seen = server.requests[-1].tool_results()
    assert [result.content for result in seen] == [message.content for message in results]
    assert {"ls", "read_file", "write_file", "edit_file", "delete", "glob", "grep"} <= set(
        server.requests[0].tool_names
    )
    assert files(backend) == AGENT_FINAL_FILES
    # A fresh backend (another process, another server) sees the same files.
    assert files(MemspaceBackend.from_config(agent_config)) == AGENT_FINAL_FILES


# -- side by side with deepagents' FilesystemBackend ----------------------------------------

PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
SEED: dict[str, bytes] = {
    "/notes/a.md": b"one\ntwo\ntwo\nthree",
    "/notes/b.txt": b"alpha\nTODO beta\n",
    "/notes/empty.md": b"",
    "/notes/blank.md": b"  \n\n",
    "/notes/bin.txt": b"\xff\xfe not text",
    "/top.py": b"print('x')\n",
    "/src/app/main.py": b"import os\n# TODO fix\n",
    "/data/crlf.txt": b"a\r\nb\r\n",
    "/long.md": "".join(f"line {i}\n" for i in range(1, 31)).encode(),
    "/img/pixel.png": PIXEL,
}

Call = tuple[str, tuple[Any, ...], dict[str, Any]]


def call(method: str, *args: Any, **kwargs: Any) -> Any:
    return pytest.param((method, args, kwargs), id=f"{method}{args!r}{kwargs or ''}"[:90])


READING_CALLS = [
    call("ls", "/"),
    call("ls", "/notes"),
    call("ls", "/notes/"),
    call("ls", "/src"),
    call("ls", "/missing"),
    call("ls", "/notes/a.md"),
    call("read", "/notes/a.md"),
    call("read", "/notes/a.md", 1, 2),
    call("read", "/notes/a.md", 10, 2),
    call("read", "/notes/a.md", 0, 0),
    call("read", "/notes/a.md", -3, 2),
    call("read", "/long.md", 25, 10),
    call("read", "/long.md", 0, 5),
    call("read", "/notes/empty.md"),
    call("read", "/notes/blank.md"),
    call("read", "/notes/bin.txt"),
    call("read", "/data/crlf.txt"),
    call("read", "/img/pixel.png"),
    call("read", "/missing.md"),
    call("read", "/notes"),
    call("glob", "*.py"),
    call("glob", "**/*.py"),
    call("glob", "/*.py"),
    call("glob", "src/**/*.py"),
    call("glob", "*.md", "/notes"),
    call("glob", "/*.md", "/notes"),
    call("glob", "*.{md,txt}"),
    call("glob", "[ab].md", "/notes"),
    call("glob", "?.md", "/"),
    call("glob", "notes/*"),
    call("glob", "*"),
    call("glob", "**"),
    call("glob", "../*.py"),
    call("glob", "*.py", "/missing"),
    call("glob", "*", "/notes/a.md"),
    call("grep", "two"),
    call("grep", "TODO", "/src"),
    call("grep", "TODO", None, "*.py"),
    call("grep", "o", "/notes", "*.md"),
    call("grep", "o", "/", "/top.py"),
    call("grep", "todo"),
    call("grep", "zzz"),
    call("grep", "o", "/missing"),
    call("grep", "o", None, "../x"),
    call("grep", "", "/notes"),
    call("grep", "two", None, None, max_count=1),
    call("grep", "two", None, None, max_count=2),
    call("grep", "line", None, "*.md", max_count=3),
    call("download_files", ["/notes/a.md", "/img/pixel.png", "/missing.md", "/notes", "/"]),
]

WRITING_CALLS = [
    call("write", "/new/deep/file.md", "hello\n"),
    call("write", "/notes/a.md", "replaced"),
    call("write", "/notes/empty.md", ""),
    call("edit", "/notes/a.md", "one", "1"),
    call("edit", "/notes/a.md", "two", "2"),
    call("edit", "/notes/a.md", "two", "2", True),
    call("edit", "/notes/a.md", "one", "1", True),
    call("edit", "/notes/a.md", "one\ntwo", "x"),
    call("edit", "/notes/a.md", "zzz", "y"),
    call("edit", "/notes/a.md", "three\n", "3"),
    call("edit", "/notes/a.md", "two\n", "2"),
    call("edit", "/notes/a.md", "", "y"),
    call("edit", "/notes/bin.txt", "not", "y"),
    call("edit", "/missing.md", "a", "b"),
    call("edit", "/missing.md", "", "b"),
    call("edit", "/notes", "a", "b"),
    call("delete", "/notes/a.md"),
    call("delete", "/notes"),
    call("delete", "/src/app"),
    call("delete", "/missing.md"),
    call(
        "upload_files", [("/up/x.bin", b"\x00\xff"), ("/notes/a.md", b"new"), ("/", b"x"), ("/notes", b"x")]
    ),
]


def comparable(value: Any) -> Any:
    """A result as plain data, without modification times (memspace keeps none)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return comparable(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {key: comparable(item) for key, item in value.items() if key != "modified_at"}
    if isinstance(value, list):
        return [comparable(item) for item in value]
    return value


def grep_order(result: Any) -> Any:
    # FilesystemBackend's files come in directory-walk order; memspace's in path order.
    if isinstance(result, GrepResult) and result.matches and not result.truncated:
        result.matches.sort(key=lambda match: (match["path"], match["line"]))
    return result


def disk_files(root: Path) -> dict[str, bytes]:
    return {
        f"/{path.relative_to(root).as_posix()}": path.read_bytes()
        for path in root.rglob("*")
        if path.is_file()
    }


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def pair(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[FilesystemBackend, MemspaceBackend, Path]:
    """deepagents' FilesystemBackend on a real folder and a MemspaceBackend, both holding SEED."""
    root = tmp_path / "fs"
    for path, data in SEED.items():
        (root / path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        (root / path.lstrip("/")).write_bytes(data)
    if request.param == "local":
        config: dict[str, object] = {"memory_tool_local_dir": str(tmp_path / "memspace")}
        environ: dict[str, str] = {}
    else:
        environ = s3_environ(request.getfixturevalue("seaweed"))
        config = {"memory_tool_backend": "s3", "memory_tool_prefix": unique_prefix()}
    config["memory_tool_cache_dir"] = str(tmp_path / "cache")
    ours = MemspaceBackend.from_config(config, environ=environ)
    ours.upload_files(list(SEED.items()))
    return FilesystemBackend(root_dir=root, virtual_mode=True), ours, root


def run(backend: BackendProtocol, step: Call) -> Any:
    method, args, kwargs = step
    return grep_order(getattr(backend, method)(*args, **kwargs))


@pytest.mark.parametrize("step", READING_CALLS)
def test_a_reading_call_answers_as_filesystem_backend_does(
    pair: tuple[FilesystemBackend, MemspaceBackend, Path], step: Call
) -> None:
    theirs, ours, _ = pair

    assert comparable(run(ours, step)) == comparable(run(theirs, step))


@pytest.mark.parametrize("step", WRITING_CALLS)
def test_a_writing_call_answers_and_changes_the_files_as_filesystem_backend_does(
    pair: tuple[FilesystemBackend, MemspaceBackend, Path], step: Call
) -> None:
    theirs, ours, root = pair

    assert comparable(run(ours, step)) == comparable(run(theirs, step))
    assert files(ours) == disk_files(root)


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("ls", ("/notes",)),
        ("read", ("/long.md", 3, 4)),
        ("grep", ("TODO",)),
        ("glob", ("*.md",)),
        ("download_files", (["/notes/b.txt"],)),
        ("write", ("/async.md", "written\n")),
        ("edit", ("/notes/b.txt", "alpha", "ALPHA")),
        ("upload_files", ([("/up.md", b"up\n")],)),
        ("delete", ("/top.py",)),
    ],
)
def test_the_async_methods_answer_as_the_sync_ones(
    pair: tuple[FilesystemBackend, MemspaceBackend, Path], method: str, args: tuple[Any, ...]
) -> None:
    theirs, ours, root = pair
    expected = comparable(grep_order(getattr(theirs, method)(*args)))

    done = asyncio.run(getattr(ours, f"a{method}")(*args))

    assert comparable(grep_order(done)) == expected
    assert files(ours) == disk_files(root)


def test_grep_stops_at_max_count_and_says_it_was_truncated(
    pair: tuple[FilesystemBackend, MemspaceBackend, Path],
) -> None:
    _, ours, _ = pair

    result = ours.grep("line", max_count=4)

    assert result.truncated and result.error is None
    assert [(m["path"], m["line"], m["text"]) for m in result.matches or []] == [
        ("/long.md", n, f"line {n}") for n in range(1, 5)
    ]


# -- where memspace answers differently (docs/integrations.md) ---------------------------------


@pytest.fixture
def backend(tmp_path: Path) -> MemspaceBackend:
    return MemspaceBackend.from_config({"memory_tool_local_dir": str(tmp_path / "memspace")})


def test_deleting_the_root_is_refused_and_deletes_nothing(backend: MemspaceBackend, tmp_path: Path) -> None:
    backend.write("/keep.md", "x")

    result = backend.delete("/")

    assert result.path is None
    assert result.error == (
        "Error deleting '/': Deleting '/' would remove the whole workspace; clear the workspace instead."
    )
    assert files(backend) == {"/keep.md": b"x"}


def test_errors_name_no_host_path(backend: MemspaceBackend, tmp_path: Path) -> None:
    backend.write("/notes/a.md", "x")
    results: list[Any] = [
        backend.write("/notes", "over a folder"),
        backend.write("/notes/a.md/below", "below a file"),
        backend.edit("/notes", "a", "b"),
        backend.read("/notes/a.md/below"),
        backend.write("/" + "x" * 300, "name too long"),
        backend.write("/big.md", "x" * (1024 * 1024 + 1)),
    ]

    errors = [result.error for result in results]
    assert all(errors), errors
    assert not any(str(tmp_path) in error for error in errors if error)
    assert errors[0] == "Error writing file '/notes': /notes is a directory, not a file."
    assert errors[-1] == (
        "Error writing file '/big.md': /big.md is 1,048,577 bytes; the file size limit is 1,048,576 bytes. "
        "Split the content across several files."
    )
    assert files(backend) == {"/notes/a.md": b"x"}  # nothing was written


def test_a_read_only_workspace_refuses_every_change(tmp_path: Path) -> None:
    root = str(tmp_path / "memspace")
    MemspaceBackend.from_config({"memory_tool_local_dir": root}).write("/a.md", "kept\n")
    backend = MemspaceBackend.from_config({"memory_tool_local_dir": root, "memory_tool_read_only": True})
    refusal = "This memory workspace is read-only; files can be viewed but not changed."

    assert backend.write("/a.md", "x").error == f"Error writing file '/a.md': {refusal}"
    assert backend.edit("/a.md", "kept", "x").error == f"Error editing file '/a.md': {refusal}"
    assert backend.delete("/a.md").error == f"Error deleting '/a.md': {refusal}"
    assert backend.upload_files([("/b.md", b"x")])[0].error == "permission_denied"
    assert files(backend) == {"/a.md": b"kept\n"}
    assert backend.read("/a.md").file_data == {"content": "kept\n", "encoding": "utf-8"}


def test_an_empty_file_reads_as_the_empty_file_reminder(backend: MemspaceBackend) -> None:
    backend.write("/empty.md", "")

    assert backend.read("/empty.md").file_data == {"content": EMPTY_CONTENT_WARNING, "encoding": "utf-8"}


def test_hidden_files_are_listed_and_read_but_never_searched(backend: MemspaceBackend) -> None:
    backend.write("/.env", "TOKEN=1\n")
    backend.write("/notes.md", "TOKEN\n")

    assert [entry["path"] for entry in backend.ls("/").entries or []] == ["/.env", "/notes.md"]
    assert backend.read("/.env").error is None
    assert [match["path"] for match in backend.grep("TOKEN").matches or []] == ["/notes.md"]
    assert backend.glob(".env").matches == []


# -- construction, backends, many processes ---------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [lambda tools: tools, lambda tools: tools.workspace, lambda tools: AsyncWorkspace(tools.workspace)],
    ids=["tools", "workspace", "async workspace"],
)
def test_the_backend_wraps_tools_a_workspace_or_an_async_workspace(
    source: Callable[[MemoryTools], Any],
) -> None:
    tools = MemoryTools.from_config({"memory_tool_backend": "memory"})

    backend = MemspaceBackend(source(tools))
    backend.write("/a.md", "x")

    assert backend.workspace is tools.workspace
    assert tools.workspace.read("/a.md").text == "x"


@pytest.mark.s3
@pytest.mark.parametrize("kind", ["s3", "r2"])
def test_from_config_reaches_s3_and_r2(seaweed: SeaweedServer, kind: str, tmp_path: Path) -> None:
    config: Mapping[str, object] = {"memory_tool_backend": kind, "memory_tool_prefix": unique_prefix()}
    environ = s3_environ(seaweed, kind)
    backend = MemspaceBackend.from_config(config, environ=environ)

    assert backend.write("/a.md", "on the peer\n").error is None
    again = MemspaceBackend.from_config(config, environ=environ)
    assert again.read("/a.md").file_data == {"content": "on the peer\n", "encoding": "utf-8"}
    assert again.glob("*.md").matches == [{"path": "/a.md", "is_dir": False, "size": 12}]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["local", pytest.param("s3", marks=pytest.mark.s3)])
def test_edits_from_several_processes_lose_no_write(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str
) -> None:
    # deepagents' FilesystemBackend, run the same way on one folder, keeps 6 to 12 of the 24
    # edits (a read-modify-write races; a read of a half-written file fails the edit).
    processes, count = 4, 6
    config: dict[str, object] = {"memory_tool_local_dir": str(tmp_path / "memspace")}
    environ: dict[str, str] = {}
    if kind == "s3":
        config = {"memory_tool_backend": "s3", "memory_tool_prefix": unique_prefix()}
        environ = s3_environ(request.getfixturevalue("seaweed"))
    lines = [f"item {w}-{j}: todo" for j in range(count) for w in range(processes)]
    backend = MemspaceBackend.from_config(config, environ=environ)
    backend.write("/shared.md", "\n".join(lines) + "\n")

    errors = run_workers(edit_own_lines, processes, config, environ, count)

    assert all(found == [] for found in errors.values()), errors
    final = backend.read("/shared.md", limit=100)
    assert final.file_data is not None
    assert final.file_data["content"].splitlines() == [line.replace("todo", "done") for line in lines]


def test_without_deepagents_the_import_says_which_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    # What an absent package looks like:
    monkeypatch.setitem(sys.modules, "deepagents.backends.protocol", None)
    monkeypatch.delitem(sys.modules, "memspace.integrations.deepagents")

    with pytest.raises(MissingDependencyError) as raised:
        importlib.import_module("memspace.integrations.deepagents")

    assert str(raised.value) == (
        'The deepagents backend needs deepagents; install it with: pip install "memspace[deepagents]"'
    )
