"""``memspace mcp``: serve the memory tools to an MCP client."""

from __future__ import annotations

import typer

from memspace.cli._app import app, fail, options
from memspace.errors import MemspaceError


@app.command()
def mcp(ctx: typer.Context) -> None:
    """Serve the memory tools to an MCP client over stdin/stdout (Claude Desktop, Claude Code, ...)."""
    try:
        from memspace.integrations.mcp import serve_stdio

        serve_stdio(options(ctx).config)  # stdout carries the protocol only
    except MemspaceError as error:  # a missing extra or bad settings, before the protocol starts
        fail(error)
