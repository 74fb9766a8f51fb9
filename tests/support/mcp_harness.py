"""memspace's MCP server as clients meet it: a real ``python -m memspace mcp`` process, over
stdio or streamable HTTP, driven by the ``mcp`` package's own ``Client``.

- :func:`connect_stdio` lets the SDK's stdio transport start the server, as Claude Desktop does.
- :class:`StdioServer` starts it itself and bridges its pipes to the client, for the tests
  that must signal the process or watch it exit (the SDK's transport hides the process).
- :class:`HttpServer` starts ``memspace mcp --http 127.0.0.1:0`` and reads the URL it prints;
  :func:`connect_http` connects with a bearer token.

``mode`` is how the client negotiates: ``"legacy"`` (the initialize handshake) or ``"auto"``
(``server/discover``, protocol 2026-07-28, falling back to the handshake).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Self

import anyio
import httpx2
import mcp_types
from anyio.abc import Process
from anyio.streams.text import TextReceiveStream
from mcp.client import Client
from mcp.client._transport import TransportStreams
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.message import SessionMessage

from .background import BackgroundProcess

__all__ = [
    "EXIT_TIMEOUT",
    "SERVER",
    "HttpServer",
    "StdioServer",
    "connect_http",
    "connect_stdio",
    "server_environ",
    "text_of",
]

# How an MCP client starts the server.
SERVER = [sys.executable, "-m", "memspace", "mcp"]
# A safety net only: nothing here should take more than a few seconds.
EXIT_TIMEOUT = 120.0
_URL = re.compile(rb"serving MCP at (http://\S+)")


def server_environ(**env: str) -> dict[str, str]:
    """This process's environment without any memspace or cloud setting, plus ``env``."""
    clean = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MEMORY_TOOL_", "AWS_", "R2_", "MEMSPACE_MCP_"))
    }
    return clean | env


def text_of(result: mcp_types.CallToolResult) -> tuple[str, bool]:
    """The one text block of a tool result, and whether it is an error."""
    assert len(result.content) == 1, result
    block = result.content[0]
    assert isinstance(block, mcp_types.TextContent), block
    return block.text, bool(result.is_error)


@asynccontextmanager
async def connect_stdio(
    env: Mapping[str, str], errlog: Path, *, mode: str = "legacy", command: Sequence[str] = SERVER
) -> AsyncIterator[Client]:
    """The SDK's stdio transport starting ``command`` (``python -m memspace mcp``) with ``env``."""
    params = StdioServerParameters(command=command[0], args=list(command[1:]), env=dict(env))
    with errlog.open("a") as log:
        async with Client(stdio_client(params, errlog=log), mode=mode) as client:
            yield client


@asynccontextmanager
async def connect_http(url: str, token: str | None, *, mode: str = "legacy") -> AsyncIterator[Client]:
    """A client of the HTTP server at ``url`` sending ``Authorization: Bearer <token>``."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    timeout = httpx2.Timeout(30.0, read=300.0)
    async with (
        httpx2.AsyncClient(headers=headers, timeout=timeout) as http,
        Client(streamable_http_client(url, http_client=http), mode=mode) as client,
    ):
        yield client


class HttpServer(BackgroundProcess):
    """``memspace [args] mcp --http 127.0.0.1:0 [extra]`` with ``env``; ``url`` is what it printed."""

    label = "memspace mcp --http"

    def __init__(
        self,
        env: Mapping[str, str],
        log_dir: Path,
        *,
        args: Sequence[str] = (),
        extra: Sequence[str] = (),
        startup_timeout: float = 60.0,
    ) -> None:
        super().__init__(startup_timeout)
        self.env = dict(env)
        self.args = list(args)
        self.extra = list(extra)
        self.log_dir = log_dir
        self.url = ""

    def start(self) -> Self:
        self._launch(
            [*SERVER[:3], *self.args, "mcp", "--http", "127.0.0.1:0", *self.extra],
            self.log_dir / "http-server.log",
            env=self.env,
        )
        self._wait_until(self._printed_url, "its log", time.monotonic() + self.startup_timeout)
        return self

    def _printed_url(self) -> str | None:
        assert self.log_path is not None
        found = _URL.search(self.log_path.read_bytes())
        if found is None:
            return "no URL printed yet"
        self.url = found.group(1).decode()
        return None

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    def signal_and_wait(self, sig: int = signal.SIGTERM) -> int:
        """Send ``sig`` and return the exit code (a safety-net timeout only)."""
        assert self._proc is not None
        self._proc.send_signal(sig)
        return self._proc.wait(EXIT_TIMEOUT)

    def wait(self) -> int:
        assert self._proc is not None
        return self._proc.wait(EXIT_TIMEOUT)

    def log(self) -> str:
        assert self.log_path is not None
        return self.log_path.read_text(errors="replace")


class StdioServer:
    """``python -m memspace mcp [args]`` as a child process whose pipes carry an MCP client's messages."""

    def __init__(self, env: Mapping[str, str], errlog: Path, *, args: Sequence[str] = ()) -> None:
        self.env = dict(env)
        self.errlog = errlog
        self.args = list(args)
        self.process: Process | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @asynccontextmanager
    async def client(self, *, mode: str = "legacy") -> AsyncIterator[Client]:
        """Start the server and connect; leaving closes the client's side only (see :meth:`wait`)."""
        with self.errlog.open("ab") as log:
            self.process = await anyio.open_process(
                [*SERVER, *self.args], env=self.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log
            )
            async with Client(_pipes(self.process), mode=mode) as client:
                yield client

    async def wait(self) -> int:
        """Close the server's stdin (end of input) and return its exit code."""
        assert self.process is not None
        process = self.process
        if process.stdin is not None:
            await process.stdin.aclose()

        async def drain_stdout() -> None:
            # Whatever the server still writes, so that a full pipe never holds up its exit.
            if process.stdout is not None:
                with contextlib.suppress(
                    anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError
                ):
                    while True:
                        await process.stdout.receive()

        with anyio.fail_after(EXIT_TIMEOUT):
            async with anyio.create_task_group() as tg:
                tg.start_soon(drain_stdout)
                code = await process.wait()
        await process.aclose()  # its pipes, before the event loop that owns them ends
        return code


@asynccontextmanager
async def _pipes(process: Process) -> AsyncIterator[TransportStreams]:
    """A client transport over a started server's stdin and stdout (newline-delimited JSON-RPC)."""
    to_client, from_server = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    to_server, from_client = anyio.create_memory_object_stream[SessionMessage](0)
    assert process.stdout is not None and process.stdin is not None
    stdout, stdin = process.stdout, process.stdin

    async def pump_out() -> None:
        async with to_client:
            buffer = ""
            async for chunk in TextReceiveStream(stdout):
                *lines, buffer = (buffer + chunk).split("\n")
                for line in lines:
                    message = mcp_types.jsonrpc_message_adapter.validate_json(line, by_name=False)
                    try:
                        await to_client.send(SessionMessage(message))
                    except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                        return  # the client has left; StdioServer.wait() drains the rest

    async def pump_in() -> None:
        async with from_client:
            async for item in from_client:
                data = item.message.model_dump_json(by_alias=True, exclude_unset=True) + "\n"
                try:
                    await stdin.send(data.encode())
                except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                    return  # the server has gone (a test stopped it)

    async with anyio.create_task_group() as tg:
        tg.start_soon(pump_out)
        tg.start_soon(pump_in)
        try:
            yield from_server, to_server
        finally:
            tg.cancel_scope.cancel()
