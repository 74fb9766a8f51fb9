"""The MCP server, driven by the mcp package's own stdio client over a real subprocess."""

from __future__ import annotations

import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio
import mcp_types
from mcp.client import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from .conftest import DEFAULT_TOOLS, READ_ONLY_TOOLS

_T = TypeVar("_T")

# How an MCP client launches the server.
SERVER_ARGS = ["-m", "memspace", "mcp"]


def with_session(
    tmp_path: Path, work: Callable[[ClientSession], Awaitable[_T]], **env: str
) -> tuple[_T, str | None]:
    """Start the server on a local workspace in ``tmp_path/mem``, run ``work``, return its
    result and the server's instructions."""
    server_env = {
        key: value for key, value in os.environ.items() if not key.startswith(("MEMORY_TOOL_", "AWS_", "R2_"))
    }
    server_env |= {"MEMORY_TOOL_BACKEND": "local", "MEMORY_TOOL_LOCAL_DIR": str(tmp_path / "mem"), **env}
    params = StdioServerParameters(command=sys.executable, args=SERVER_ARGS, env=server_env)

    async def main() -> tuple[_T, str | None]:
        with (tmp_path / "server.log").open("w") as errlog, anyio.fail_after(30):
            async with (
                stdio_client(params, errlog=errlog) as (read, write),
                ClientSession(read, write) as session,
            ):
                init = await session.initialize()
                return await work(session), init.instructions

    return anyio.run(main)


async def call(session: ClientSession, name: str, arguments: dict[str, Any]) -> tuple[str, bool]:
    result = await session.call_tool(name, arguments)
    assert isinstance(result, mcp_types.CallToolResult)
    assert len(result.content) == 1
    block = result.content[0]
    assert isinstance(block, mcp_types.TextContent)
    return block.text, bool(result.is_error)


def test_tools_are_listed_called_and_land_on_disk(tmp_path: Path) -> None:
    async def work(session: ClientSession) -> dict[str, Any]:
        listed = await session.list_tools()
        out: dict[str, Any] = {"tools": {tool.name: tool for tool in listed.tools}}
        out["create"] = await call(
            session, "memory_create_update", {"path": "/notes/a.md", "file_text": "hello\nworld\n"}
        )
        out["replace"] = await call(
            session, "memory_str_replace", {"path": "/notes/a.md", "old_str": "world", "new_str": "there"}
        )
        out["view"] = await call(session, "memory_view", {"path": "/notes/a.md"})
        out["listing"] = await call(session, "memory_view", {"path": "/"})
        out["missing"] = await call(session, "memory_view", {"path": "/nope.md"})
        out["exists"] = await call(
            session, "memory_create_update", {"path": "/notes/a.md", "file_text": "again"}
        )
        out["no_args"] = await call(session, "memory_insert", {"path": "/notes/a.md"})
        out["unknown"] = await call(session, "memory_teleport", {})
        return out

    out, instructions = with_session(tmp_path, work)

    tools = out["tools"]
    assert sorted(tools) == sorted(DEFAULT_TOOLS)
    view_schema = tools["memory_view"].input_schema
    assert view_schema["type"] == "object"
    assert view_schema["required"] == ["path"]
    assert "view_range" in view_schema["properties"]
    assert tools["memory_create_update"].input_schema["properties"]["mode"]["anyOf"][0]["enum"] == [
        "create",
        "append",
        "overwrite",
    ]
    assert all(tool.description for tool in tools.values())
    assert instructions is not None and "persistent memory workspace" in instructions

    assert out["create"] == ("Created /notes/a.md (2 lines, 12 bytes).", False)
    text, is_error = out["replace"]
    assert not is_error and text.startswith("Edited /notes/a.md.")
    assert "there" in text
    text, is_error = out["view"]
    assert not is_error
    assert text.splitlines()[1:] == ["     1\thello", "     2\tthere"]
    text, is_error = out["listing"]
    assert not is_error and "/notes/a.md" in text
    assert (tmp_path / "mem" / "default" / "notes" / "a.md").read_text() == "hello\nthere\n"

    # Errors are tool results the model can read, flagged isError, one sentence each.
    text, is_error = out["missing"]
    assert is_error and text.startswith("/nope.md does not exist")
    text, is_error = out["exists"]
    assert is_error and text.startswith("/notes/a.md already exists")
    assert (tmp_path / "mem" / "default" / "notes" / "a.md").read_text() == "hello\nthere\n"
    text, is_error = out["no_args"]
    assert is_error and "insert_line" in text
    text, is_error = out["unknown"]
    assert is_error and "no tool named 'memory_teleport'" in text


def test_read_only_server_offers_only_the_read_tools(tmp_path: Path) -> None:
    notes = tmp_path / "mem" / "default"
    notes.mkdir(parents=True)
    (notes / "a.md").write_text("kept\n")

    async def work(session: ClientSession) -> tuple[list[str], tuple[str, bool], tuple[str, bool]]:
        listed = await session.list_tools()
        view = await call(session, "memory_view", {"path": "/a.md"})
        write = await call(session, "memory_delete", {"path": "/a.md"})
        return [tool.name for tool in listed.tools], view, write

    (names, view, write), instructions = with_session(tmp_path, work, MEMORY_TOOL_READ_ONLY="true")

    assert names == READ_ONLY_TOOLS
    assert view == ("/a.md (1 line):\n     1\tkept", False)
    text, is_error = write
    assert is_error and "read-only" in text
    assert (notes / "a.md").read_text() == "kept\n"
    assert instructions is not None and "read-only" in instructions
