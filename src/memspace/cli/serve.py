"""``memspace mcp``: serve the memory tools to MCP clients, over stdio or streamable HTTP."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from memspace.cli._app import _print_error, app, configure_logger, fail, options
from memspace.errors import MemspaceError

if TYPE_CHECKING:
    from memspace.integrations.mcp import TokenTable

# Log records of the libraries under the HTTP server; like memspace's own, shown only with --verbose.
_SERVER_LOGGERS = ("mcp", "uvicorn")
_WAITING = (
    "waiting for an MCP client on stdin (an MCP client such as Claude Desktop starts this "
    "command itself; --http serves over HTTP); press Ctrl-C to stop"
)


@app.command()
def mcp(
    ctx: typer.Context,
    http: Annotated[
        str | None,
        typer.Option(
            metavar="HOST:PORT",
            help="Serve over streamable HTTP at http://HOST:PORT/mcp instead of stdin/stdout "
            "(HOST defaults to 127.0.0.1; port 0 picks a free one). Every request needs a "
            "bearer token: set MEMSPACE_MCP_TOKEN, or give --tokens.",
            show_default=False,
        ),
    ] = None,
    tokens: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help='With --http: a JSON file {"tokens": {"<token>": {"namespace": "alice", '
            '"read_only": false}, ...}} giving each user a token and a namespace.',
            show_default=False,
        ),
    ] = None,
    grace: Annotated[
        float,
        typer.Option(
            metavar="SECONDS",
            min=0,
            help="On SIGTERM or Ctrl-C, how long to wait for the tool calls in flight.",
        ),
    ] = 30.0,
) -> None:
    """Serve the memory tools to an MCP client (Claude Desktop, Claude Code, Cursor, ...).

    By default over stdin/stdout: the client starts this command itself. With --http, one
    server for many users, each token in its own namespace.
    """
    verbose = options(ctx).verbose
    config = options(ctx).config
    _configure_server_logs(verbose)
    try:
        from memspace.integrations import mcp as server
    except MemspaceError as error:  # the mcp extra is missing
        fail(str(error))
    try:
        if http is None:
            if tokens is not None:
                fail("--tokens applies to the HTTP server only; add --http HOST:PORT")
            # At a terminal, say what this is waiting for; a client reads stdout only.
            notice = (lambda: _say(_WAITING)) if sys.stdin.isatty() else None
            server.serve_stdio(config, grace=grace, on_ready=notice)
        else:
            host, port = server.parse_address(http)
            table = _token_table(config, tokens)
            count = f"{len(table)} token{'' if len(table) == 1 else 's'}"
            server.serve_http(
                config,
                tokens=table,
                host=host,
                port=port,
                grace=grace,
                on_listening=lambda url: _say(f"serving MCP at {url} ({count}); press Ctrl-C to stop"),
            )
    except server.CallsStillRunningError as error:
        # A normal exit would wait for the worker threads a folder rename copies with (Python
        # joins them at exit): exit now, as the grace period promised.
        _print_error(str(error))
        sys.stdout.flush()
        os._exit(1)
    except MemspaceError as error:  # bad settings or tokens, a taken port: before serving
        fail(str(error))


def _token_table(config: dict[str, object], tokens_file: Path | None) -> TokenTable:
    from memspace.config import Settings
    from memspace.integrations.mcp import TOKEN_ENV, TokenTable

    token = os.environ.get(TOKEN_ENV)
    if tokens_file is not None:
        if token:
            fail(f"use either {TOKEN_ENV} or --tokens, not both")
        if "memory_tool_namespace" in config:
            fail("--namespace does not apply with --tokens: each token's namespace is in the tokens file")
        return TokenTable.from_file(tokens_file)
    if not token:
        fail(
            f"the HTTP server needs a bearer token: set {TOKEN_ENV}, or give --tokens FILE "
            "(one token per user and namespace)"
        )
    return TokenTable.single(token, namespace=Settings.from_config(config).namespace)


def _say(message: str) -> None:
    sys.stderr.write(f"memspace mcp: {message}\n")
    sys.stderr.flush()


def _configure_server_logs(verbose: bool) -> None:
    for name in _SERVER_LOGGERS:
        configure_logger(name, verbose, level=logging.INFO)
