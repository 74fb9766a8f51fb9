"""The memory tools as an MCP server, for Claude Desktop, Claude Code, Cursor and other MCP clients.

    memspace mcp                                   # stdio; the workspace comes from the environment
    memspace mcp --http 127.0.0.1:8000 --tokens tokens.json   # streamable HTTP, many users

    from memspace.integrations.mcp import build_server, serve_http, serve_stdio, TokenTable
    serve_stdio({"memory_tool_backend": "local", "memory_tool_local_dir": "./memories"})

One module per idea:

- :mod:`.server`    the MCP ``Server``: tools listed with titles and annotations, calls, results;
- :mod:`.calls`     calls in worker threads that always run to their end, counted for shutdown;
- :mod:`.progress`  progress from a worker thread to MCP progress notifications;
- :mod:`.shutdown`  SIGTERM / Ctrl-C: stop taking calls, let running ones finish, then stop;
- :mod:`.stdio`     serving over stdin/stdout;
- :mod:`.http`      serving over streamable HTTP, with bearer tokens (:mod:`.tokens`) mapping
  each user to a namespace.
"""

from __future__ import annotations

from memspace.errors import MissingDependencyError

try:
    import mcp.server  # noqa: F401
    import uvicorn  # noqa: F401
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise MissingDependencyError.for_extra("The MCP server", "the mcp package", "mcp") from error

from memspace.integrations.mcp.http import parse_address, serve_http
from memspace.integrations.mcp.server import SERVER_NAME, ToolsFor, build_server
from memspace.integrations.mcp.shutdown import CallsStillRunningError
from memspace.integrations.mcp.stdio import serve_stdio
from memspace.integrations.mcp.tokens import TOKEN_ENV, Grant, TokenTable

__all__ = [
    "SERVER_NAME",
    "TOKEN_ENV",
    "CallsStillRunningError",
    "Grant",
    "TokenTable",
    "ToolsFor",
    "build_server",
    "parse_address",
    "serve_http",
    "serve_stdio",
]
