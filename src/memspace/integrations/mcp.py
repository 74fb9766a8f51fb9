"""The memory tools as an MCP server, for Claude Desktop, Claude Code, Cursor and other MCP clients.

    memspace mcp                                   # stdio; the workspace comes from the environment

    from memspace.integrations.mcp import build_server, serve_stdio
    serve_stdio({"memory_tool_backend": "local", "memory_tool_local_dir": "./memories"})

The server offers the workspace's tools (all seven, or only ``memory_view`` when read-only)
with the same names, descriptions and JSON schemas every other integration uses, and sends
``tools.instructions`` as the server's instructions. How results reach the client:

- success: a ``CallToolResult`` with one text block, ``isError: false``;
- any memory-tool error (a bad path, an edit that does not apply, a missing or wrongly typed
  argument, an unknown tool name): a ``CallToolResult`` with the one-sentence error as its text
  and ``isError: true`` -- a tool result the model reads and acts on, never a JSON-RPC error.

Calls run in a worker thread (``MemoryTools.acall``), so a slow S3 request never blocks the
server's event loop. Logs go to stderr; stdout carries only the protocol.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from memspace.errors import MissingDependencyError

try:
    import anyio
    import mcp_types
    from mcp.server import Server, ServerRequestContext
    from mcp.server.stdio import stdio_server
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise MissingDependencyError.for_extra("The MCP server", "the mcp package", "mcp") from error

if TYPE_CHECKING:
    from memspace.tools import MemoryTools

__all__ = ["SERVER_NAME", "build_server", "serve_stdio"]

SERVER_NAME = "memspace"

log = logging.getLogger("memspace")


def build_server(tools: MemoryTools) -> Server[Any]:
    """A low-level MCP ``Server`` serving ``tools``; run it over any MCP transport.

    >>> from memspace.tools import MemoryTools
    >>> server = build_server(MemoryTools.from_config({"memory_tool_backend": "memory"}))
    >>> server.name
    'memspace'
    """
    listing = mcp_types.ListToolsResult(
        tools=[
            mcp_types.Tool(
                name=str(definition["name"]),
                description=str(definition["description"]),
                input_schema=dict(definition["inputSchema"]),
            )
            for definition in tools.definitions("mcp")
        ]
    )

    async def list_tools(
        ctx: ServerRequestContext[Any, Any], params: mcp_types.PaginatedRequestParams | None
    ) -> mcp_types.ListToolsResult:
        # The list is small and fixed for the server's life: one page, no cursor.
        return listing

    async def call_tool(
        ctx: ServerRequestContext[Any, Any], params: mcp_types.CallToolRequestParams
    ) -> mcp_types.CallToolResult:
        result = await tools.acall(params.name, params.arguments)
        return mcp_types.CallToolResult(
            content=[mcp_types.TextContent(type="text", text=result.text)],
            is_error=result.is_error,
        )

    return Server(
        SERVER_NAME,
        version=_version(),
        instructions=tools.instructions,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


def serve_stdio(agent_config: Mapping[str, object] | None = None) -> None:
    """Serve ``MemoryTools.from_config(agent_config)`` over stdin/stdout until the client hangs up.

    Blocking. Settings not in ``agent_config`` come from the environment
    (``MEMORY_TOOL_BACKEND``, ``MEMORY_TOOL_LOCAL_DIR``, ``AWS_S3_BUCKET``, ...).
    """
    from memspace.tools import MemoryTools

    with MemoryTools.from_config(dict(agent_config or {})) as tools:
        server = build_server(tools)

        async def run() -> None:
            async with stdio_server() as (read_stream, write_stream):
                await server.run(read_stream, write_stream, server.create_initialization_options())

        anyio.run(run)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("memspace")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0"
