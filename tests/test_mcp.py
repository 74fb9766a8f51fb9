"""The MCP server over both transports, driven by the mcp package's own client.

One table of tool calls and the answers they must get runs over stdio and over streamable
HTTP, each with the classic initialize handshake and with the 2026 per-request protocol
(the client's ``mode="auto"``), and once more over HTTP against the SeaweedFS S3 peer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client import Client

from memspace import MemoryTools

from .conftest import DEFAULT_TOOLS, READ_ONLY_TOOLS, s3_environ, unique_prefix
from .support.mcp_harness import HttpServer, connect_http, connect_stdio, server_environ, text_of
from .support.seaweed import SeaweedServer

TOKEN = "test-token-0123456789abcdef"
TIMEOUT = 120  # a safety net: each test takes seconds

# transport, then how the client negotiates ("legacy": initialize handshake; "auto": 2026 protocol)
TRANSPORTS = {
    "stdio": ("stdio", "legacy"),
    "stdio-2026": ("stdio", "auto"),
    "http": ("http", "legacy"),
    "http-2026": ("http", "auto"),
}


@asynccontextmanager
async def serve(transport: str, log_dir: Path, **env: str) -> AsyncIterator[Client]:
    """A client connected to ``python -m memspace mcp`` over ``transport``, configured by ``env``."""
    kind, mode = TRANSPORTS[transport]
    if kind == "stdio":
        async with connect_stdio(server_environ(**env), log_dir / "server.log", mode=mode) as client:
            yield client
    else:
        with HttpServer(server_environ(**env, MEMSPACE_MCP_TOKEN=TOKEN), log_dir) as server:
            async with connect_http(server.url, TOKEN, mode=mode) as client:
                yield client


def local(tmp_path: Path, **env: str) -> dict[str, str]:
    return {"MEMORY_TOOL_BACKEND": "local", "MEMORY_TOOL_LOCAL_DIR": str(tmp_path / "mem"), **env}


@dataclass(frozen=True)
class Case:
    """One call and its answer: the whole text, or (``whole=False``) how it starts."""

    tool: str
    arguments: dict[str, Any]
    text: str
    is_error: bool = False
    whole: bool = True


# Run in order on an empty workspace; ends with one file, /archive/b.md (FINAL_FILES).
CASES = [
    Case(
        "memory_create_update",
        {"path": "/notes/a.md", "file_text": "hello\nworld\n"},
        "Created /notes/a.md (2 lines, 12 bytes).",
    ),
    Case(
        "memory_create_update",
        {"path": "/notes/a.md", "file_text": "again"},
        "/notes/a.md already exists",
        True,
        whole=False,
    ),
    Case(
        "memory_create_update",
        {"path": "/notes/a.md", "file_text": "tail", "mode": "append"},
        "Appended to /notes/a.md; it now has 3 lines.",
    ),
    Case(
        "memory_create_update",
        {"path": "/notes/b.md", "file_text": "b", "mode": "overwrite"},
        "/notes/b.md does not exist",
        True,
        whole=False,
    ),
    Case(
        "memory_str_replace",
        {"path": "/notes/a.md", "old_str": "world", "new_str": "there"},
        "Edited /notes/a.md. Lines 1-3 of 3 now read:\n     1\thello\n     2\tthere\n     3\ttail",
    ),
    Case(
        "memory_str_replace",
        {"path": "/notes/a.md", "old_str": "nowhere", "new_str": "x"},
        "old_str was not found in /notes/a.md",
        True,
        whole=False,
    ),
    Case(
        "memory_insert",
        {"path": "/notes/a.md", "insert_line": 0, "insert_text": "# A"},
        "Inserted 1 line at the top of /notes/a.md.",
        whole=False,
    ),
    Case(
        "memory_insert",
        {"path": "/notes/a.md", "insert_line": 99, "insert_text": "x"},
        "insert_line 99 is out of range",
        True,
        whole=False,
    ),
    Case(
        "memory_insert",
        {"path": "/notes/a.md"},
        "memory_insert needs the argument 'insert_line'",
        True,
        whole=False,
    ),
    Case(
        "memory_view",
        {"path": "/notes/a.md"},
        "/notes/a.md (4 lines):\n     1\t# A\n     2\thello\n     3\tthere\n     4\ttail",
    ),
    Case(
        "memory_view",
        {"path": "/notes/a.md", "view_range": [2, 3]},
        "/notes/a.md (lines 2-3 of 4 lines):\n     2\thello\n     3\tthere",
    ),
    Case("memory_view", {"path": "/nope.md"}, "/nope.md does not exist", True, whole=False),
    Case(
        "memory_rename",
        {"old_path": "/notes/a.md", "new_path": "/notes/b.md"},
        "Renamed /notes/a.md to /notes/b.md.",
    ),
    Case(
        "memory_create_update",
        {"path": "/notes/c.md", "file_text": "sea"},
        "Created /notes/c.md (1 line, 3 bytes).",
    ),
    Case(
        "memory_rename",
        {"old_path": "/notes", "new_path": "/archive"},
        "Renamed directory /notes to /archive (2 files).",
    ),
    Case(
        "memory_view",
        {"path": "/"},
        "The workspace root /: 2 files, 1 folder (up to 2 levels deep, hidden entries excluded):\n"
        "    23B  /archive/\n    20B  /archive/b.md\n     3B  /archive/c.md",
    ),
    Case("memory_delete", {"path": "/archive/c.md"}, "Deleted /archive/c.md."),
    Case("memory_delete", {"path": "/"}, "Deleting '/' would remove the whole workspace", True, whole=False),
    Case("memory_teleport", {}, "There is no tool named 'memory_teleport'", True, whole=False),
]
FINAL_FILES = {"archive/b.md": "# A\nhello\nthere\ntail"}
CLEAR = Case("memory_clear_all", {}, "Cleared the memory workspace: deleted 1 file.")

# What each tool must be announced as: written out here, not read from the code under test.
# name: (title, readOnlyHint, destructiveHint, idempotentHint); openWorldHint is always False.
ANNOUNCED = {
    "memory_view": ("View memory", True, False, True),
    "memory_create_update": ("Write a memory file", False, True, False),
    "memory_str_replace": ("Replace text in a memory file", False, True, False),
    "memory_insert": ("Insert lines into a memory file", False, False, False),
    "memory_delete": ("Delete from memory", False, True, True),
    "memory_rename": ("Rename in memory", False, True, True),
    "memory_clear_all": ("Clear all memory", False, True, True),
    "memory_search": ("Search memory", True, False, True),
    "memory_find": ("Find memory files by name", True, False, True),
}


async def run_cases(client: Client, cases: list[Case]) -> None:
    for case in cases:
        text, is_error = text_of(await client.call_tool(case.tool, case.arguments))
        where = f"{case.tool} {case.arguments}"
        assert is_error == case.is_error, f"{where}: {text}"
        if case.whole:
            assert text == case.text, where
        else:
            assert text.startswith(case.text), f"{where}: {text}"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_every_tool_answers_as_the_table_says_and_lands_on_disk(transport: str, tmp_path: Path) -> None:
    files = tmp_path / "mem" / "default"

    async def main() -> tuple[dict[str, str], dict[str, str]]:
        with anyio.fail_after(TIMEOUT):
            async with serve(transport, tmp_path, **local(tmp_path)) as client:
                await run_cases(client, CASES)
                before_clear = {
                    str(p.relative_to(files)): p.read_text() for p in files.rglob("*") if p.is_file()
                }
                await run_cases(client, [CLEAR])
                after_clear = {
                    str(p.relative_to(files)): p.read_text() for p in files.rglob("*") if p.is_file()
                }
                return before_clear, after_clear

    before_clear, after_clear = anyio.run(main)

    assert before_clear == FINAL_FILES
    assert after_clear == {}


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_tools_arrive_with_titles_annotations_schemas_and_instructions(
    transport: str, tmp_path: Path
) -> None:
    async def main() -> tuple[list[Any], str | None]:
        with anyio.fail_after(TIMEOUT):
            async with serve(transport, tmp_path, **local(tmp_path)) as client:
                return (await client.list_tools()).tools, client.instructions

    listed, instructions = anyio.run(main)

    assert [tool.name for tool in listed] == DEFAULT_TOOLS
    definitions = {
        d["name"]: d for d in MemoryTools.from_config({"memory_tool_backend": "memory"}).definitions("mcp")
    }
    for tool in listed:
        title, read_only, destructive, idempotent = ANNOUNCED[tool.name]
        assert tool.title == title
        assert tool.annotations is not None
        assert tool.annotations.title == title
        assert tool.annotations.read_only_hint is read_only
        assert tool.annotations.destructive_hint is destructive
        assert tool.annotations.idempotent_hint is idempotent
        assert tool.annotations.open_world_hint is False
        assert tool.description == definitions[tool.name]["description"]
        assert tool.input_schema == definitions[tool.name]["inputSchema"]
    assert instructions is not None and "persistent memory workspace" in instructions


@pytest.mark.parametrize("transport", ["stdio", "http-2026"])
def test_read_only_server_offers_only_the_read_tools_and_refuses_writes(transport: str, tmp_path: Path) -> None:
    notes = tmp_path / "mem" / "default"
    notes.mkdir(parents=True)
    (notes / "a.md").write_text("kept\n")

    async def main() -> tuple[list[str], tuple[str, bool], tuple[str, bool], str | None]:
        with anyio.fail_after(TIMEOUT):
            async with serve(transport, tmp_path, **local(tmp_path, MEMORY_TOOL_READ_ONLY="true")) as client:
                names = [tool.name for tool in (await client.list_tools()).tools]
                view = text_of(await client.call_tool("memory_view", {"path": "/a.md"}))
                write = text_of(await client.call_tool("memory_delete", {"path": "/a.md"}))
                return names, view, write, client.instructions

    names, view, (text, is_error), instructions = anyio.run(main)

    assert names == READ_ONLY_TOOLS
    assert view == ("/a.md (1 line):\n     1\tkept", False)
    assert is_error and "read-only" in text
    assert (notes / "a.md").read_text() == "kept\n"
    assert instructions is not None and "read-only" in instructions


@pytest.mark.s3
def test_http_server_on_s3_answers_the_table_and_writes_the_bucket(
    seaweed: SeaweedServer, tmp_path: Path
) -> None:
    env = s3_environ(seaweed) | {"MEMORY_TOOL_BACKEND": "s3", "MEMORY_TOOL_PREFIX": unique_prefix()}

    async def main() -> None:
        with anyio.fail_after(TIMEOUT):
            async with serve("http-2026", tmp_path, **env) as client:
                await run_cases(client, CASES)

    anyio.run(main)

    # Read the bucket back with the library, as another process sharing the workspace would.
    config = {"memory_tool_backend": "s3", "memory_tool_prefix": env["MEMORY_TOOL_PREFIX"]}
    with MemoryTools.from_config(config, environ=env) as tools:
        for path, text in FINAL_FILES.items():
            assert tools.workspace.read(f"/{path}").text == text
        listing = tools.call("memory_view", {"path": "/"}).text.splitlines()[1:]
        assert [line.split()[-1] for line in listing] == ["/archive/", "/archive/b.md"]
