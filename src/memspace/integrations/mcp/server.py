"""The MCP server object: the memory tools as MCP tools, whatever the transport.

Each tool is listed with the name, title, description, JSON schema and annotations
(``readOnlyHint``, ``destructiveHint``, ``idempotentHint``, ``openWorldHint``) of the one tool
table (:mod:`memspace.tools.schema`), and the server's instructions are the workspace's
usage instruction. How results reach the client:

- success: a ``CallToolResult`` with one text block, ``isError: false``;
- any memory-tool error (a bad path, an edit that does not apply, a missing or wrongly typed
  argument, an unknown tool name): a ``CallToolResult`` with the one-sentence error as its text
  and ``isError: true`` -- a tool result the model reads and acts on, never a JSON-RPC error.

Calls run in worker threads (:mod:`.calls`) and always run to their end, even when the
client cancels or disconnects. A client that sends a progress token gets progress
notifications from folder deletes, renames and clears (:mod:`.progress`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import mcp_types
from mcp.server import Server, ServerRequestContext
from mcp.server.context import CallNext, HandlerResult

from memspace.integrations.mcp.calls import InFlight, ShuttingDownError
from memspace.integrations.mcp.progress import ProgressRelay
from memspace.tools import MemoryTools, ToolResult

__all__ = ["SERVER_NAME", "ToolsFor", "build_server"]

SERVER_NAME = "memspace"

ToolsFor = Callable[[ServerRequestContext[Any, Any]], MemoryTools]
"""Which tools serve a request: one workspace for everyone, or one per caller (HTTP tokens)."""

_SHUTTING_DOWN = ToolResult(
    "The memory server is shutting down and takes no new calls; try again once it is back.",
    is_error=True,
)


def build_server(tools: MemoryTools | ToolsFor, *, calls: InFlight | None = None) -> Server[Any]:
    """A low-level MCP ``Server`` serving ``tools``; run it over any MCP transport.

    ``tools`` is one :class:`MemoryTools` for every client, or a function choosing the
    tools for each request (the HTTP server picks them by bearer token). ``calls`` counts
    the calls in flight, for a shutdown to wait on.

    >>> from memspace.tools import MemoryTools
    >>> server = build_server(MemoryTools.from_config({"memory_tool_backend": "memory"}))
    >>> server.name
    'memspace'
    """
    tools_for: ToolsFor = (lambda ctx: tools) if isinstance(tools, MemoryTools) else tools
    in_flight = calls if calls is not None else InFlight()

    async def list_tools(
        ctx: ServerRequestContext[Any, Any], params: mcp_types.PaginatedRequestParams | None
    ) -> mcp_types.ListToolsResult:
        # Seven small entries: one page, no cursor.
        definitions = tools_for(ctx).definitions("mcp")
        return mcp_types.ListToolsResult(
            tools=[mcp_types.Tool.model_validate(definition, by_name=False) for definition in definitions]
        )

    async def call_tool(
        ctx: ServerRequestContext[Any, Any], params: mcp_types.CallToolRequestParams
    ) -> mcp_types.CallToolResult:
        serving = tools_for(ctx)
        name, arguments = params.name, params.arguments
        try:
            if not _wants_progress(ctx):
                result = await in_flight.run(lambda: serving.call(name, arguments))
            else:
                relay = ProgressRelay(ctx.session.report_progress)
                async with anyio.create_task_group() as tg:
                    tg.start_soon(relay.forward)
                    try:
                        result = await in_flight.run(lambda: serving.call(name, arguments, progress=relay))
                    finally:
                        relay.close()
        except ShuttingDownError:
            result = _SHUTTING_DOWN
        return mcp_types.CallToolResult(
            content=[mcp_types.TextContent(type="text", text=result.text)],
            is_error=result.is_error,
        )

    async def instructions(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        # Each caller's instructions match its tools (a read-only token is told it cannot
        # write), so they are set per request rather than once for the server.
        result = await call_next(ctx)
        if ctx.method in ("initialize", "server/discover") and isinstance(result, dict):
            result["instructions"] = tools_for(ctx).instructions
        return result

    server: Server[Any] = Server(
        SERVER_NAME,
        version=_version(),
        instructions=tools.instructions if isinstance(tools, MemoryTools) else None,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )
    server.middleware.append(instructions)
    return server


def _wants_progress(ctx: ServerRequestContext[Any, Any]) -> bool:
    return ctx.meta is not None and ctx.meta.get("progress_token") is not None


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("memspace")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0"
