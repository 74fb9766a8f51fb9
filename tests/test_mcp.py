"""The MCP server over both transports, driven by the mcp package's own client.

The table of tool calls every integration runs (:mod:`tests.support.tool_cases`, shared with
the adapters' tests) runs over stdio and over streamable HTTP, each with the classic
initialize handshake and with the 2026 per-request protocol (the client's ``mode="auto"``),
and once more over HTTP against the SeaweedFS S3 peer; then the calls only a protocol client
can make (an argument left out, an unknown tool).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client import Client

from memspace import MemoryTools

from .conftest import DEFAULT_TOOLS, READ_ONLY_TOOLS, s3_environ, unique_prefix
from .support.mcp_harness import HttpServer, connect_http, connect_stdio, server_environ, text_of
from .support.seaweed import SeaweedServer
from .support.tool_cases import (
    ERROR_CASE,
    FINAL_FILES,
    HISTORY_CASES,
    HISTORY_FINAL_FILES,
    TOOL_CASES,
    ToolCase,
    check_result,
)

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


# Calls only a protocol surface can make, each answered as a tool error the model reads: an
# argument left out, a tool that does not exist (the shared table's calls come first).
PROTOCOL_CASES = (
    ERROR_CASE,
    ToolCase(
        "memory_insert",
        {"path": "/notes/done.md"},
        ("memory_insert needs the argument 'insert_line'",),
        is_error=True,
        label="argument missing",
    ),
    ToolCase("memory_teleport", {}, ("There is no tool named 'memory_teleport'",), is_error=True),
    ToolCase(
        "memory_delete",
        {"path": "/"},
        ("Deleting '/' would remove the whole workspace",),
        is_error=True,
        label="delete root",
    ),
)

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
    "memory_history": ("Memory file history", False, True, False),
}
DEFINITIONS = {
    d["name"]: d
    for d in MemoryTools.from_config(
        {"memory_tool_backend": "memory", "memory_tool_history": True}
    ).definitions("mcp")
}


async def run_cases(client: Client, cases: Iterable[ToolCase]) -> None:
    for case in cases:
        text, is_error = text_of(await client.call_tool(case.name, dict(case.arguments)))
        check_result(case, text, is_error)


def assert_announced(tool: Any) -> None:
    """A listed tool carries the title and hints ANNOUNCED gives it, and the description and
    schema of the library's own definitions."""
    title, read_only, destructive, idempotent = ANNOUNCED[tool.name]
    assert tool.title == title
    assert tool.annotations is not None
    assert tool.annotations.title == title
    assert tool.annotations.read_only_hint is read_only
    assert tool.annotations.destructive_hint is destructive
    assert tool.annotations.idempotent_hint is idempotent
    assert tool.annotations.open_world_hint is False
    definition = DEFINITIONS[tool.name]
    assert tool.description == definition["description"]
    assert tool.input_schema == definition["inputSchema"]


def files_in(root: Path) -> dict[str, str]:
    """The workspace's files as the shared table names them (``/notes/done.md``)."""
    return {f"/{p.relative_to(root)}": p.read_text() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_every_tool_answers_as_the_shared_table_says_and_lands_on_disk(
    transport: str, tmp_path: Path
) -> None:
    files = tmp_path / "mem" / "default"

    async def main() -> dict[str, str]:
        with anyio.fail_after(TIMEOUT):
            async with serve(transport, tmp_path, **local(tmp_path)) as client:
                await run_cases(client, TOOL_CASES)
                after = files_in(files)
                await run_cases(client, PROTOCOL_CASES)
                return after

    after = anyio.run(main)

    assert after == FINAL_FILES
    assert files_in(files) == FINAL_FILES  # the failing calls changed nothing


@pytest.mark.parametrize("transport", ["stdio", "http-2026"])
def test_memory_history_when_offered_is_announced_and_answers_the_shared_table(
    transport: str, tmp_path: Path
) -> None:
    async def main() -> list[Any]:
        with anyio.fail_after(TIMEOUT):
            async with serve(transport, tmp_path, **local(tmp_path, MEMORY_TOOL_HISTORY="true")) as client:
                await run_cases(client, TOOL_CASES)
                await run_cases(client, HISTORY_CASES)
                return (await client.list_tools()).tools

    listed = anyio.run(main)

    assert [tool.name for tool in listed] == [*DEFAULT_TOOLS, "memory_history"]
    for tool in listed:
        assert_announced(tool)
    assert files_in(tmp_path / "mem" / "default") == HISTORY_FINAL_FILES


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
    assert sorted(ANNOUNCED) == sorted(DEFINITIONS)  # a new tool needs its line in ANNOUNCED
    for tool in listed:
        assert_announced(tool)
    assert instructions is not None and "persistent memory workspace" in instructions


@pytest.mark.parametrize("transport", ["stdio", "http-2026"])
def test_read_only_server_offers_only_the_read_tools_and_refuses_writes(
    transport: str, tmp_path: Path
) -> None:
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
                await run_cases(client, TOOL_CASES)

    anyio.run(main)

    # Read the bucket back with the library, as another process sharing the workspace would.
    config = {"memory_tool_backend": "s3", "memory_tool_prefix": env["MEMORY_TOOL_PREFIX"]}
    with MemoryTools.from_config(config, environ=env) as tools:
        for path, text in FINAL_FILES.items():
            assert tools.workspace.read(path).text == text
        listing = tools.call("memory_view", {"path": "/"}).text.splitlines()[1:]
        assert [line.split()[-1] for line in listing] == ["/notes/", *FINAL_FILES]
