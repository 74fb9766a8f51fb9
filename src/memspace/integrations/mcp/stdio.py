"""Serving MCP over stdin/stdout, the way Claude Desktop, Claude Code and Cursor start servers.

The server runs until the client closes stdin, or until SIGTERM or Ctrl-C (see
:mod:`.shutdown`): then it takes no new calls, lets the calls in flight finish and answer,
and returns. A call the client cancelled still runs to its end first.

stdin is read by a daemon thread rather than the usual worker thread: a read from a terminal
may never return (nobody types), and a stop must not wait for it. The stop ends the input only
once every request read has been answered (or cancelled by the client), since the end of the
input cancels whatever the server is still doing.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, cast

import anyio
import anyio.from_thread
import anyio.lowlevel
from mcp.server import Server
from mcp.server.stdio import stdio_server
from mcp.shared._stream_protocols import WriteStream
from mcp.shared.jsonrpc_dispatcher import cancelled_request_id_from_params
from mcp.shared.message import SessionMessage
from mcp_types import (
    JSONRPCError,
    JSONRPCNotification,
    JSONRPCRequest,
    JSONRPCResponse,
    RequestId,
    jsonrpc_message_adapter,
)

from memspace.config import default_actor
from memspace.integrations.mcp.calls import InFlight
from memspace.integrations.mcp.server import build_server
from memspace.integrations.mcp.shutdown import DEFAULT_GRACE, Shutdown

__all__ = ["serve_stdio"]

_CHUNK = 65536


def serve_stdio(
    agent_config: Mapping[str, object] | None = None,
    *,
    grace: float = DEFAULT_GRACE,
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Serve ``MemoryTools.from_config(agent_config)`` over stdin/stdout until the client hangs up.

    Blocking. Settings not in ``agent_config`` come from the environment
    (``MEMORY_TOOL_BACKEND``, ``MEMORY_TOOL_LOCAL_DIR``, ``AWS_S3_BUCKET``, ...). Returns after
    the client closed stdin or a SIGTERM/SIGINT, once the calls in flight have ended; raises
    :class:`~memspace.integrations.mcp.shutdown.CallsStillRunningError` if some were still
    running when the stop was forced (a second signal, or ``grace`` seconds after the first).
    ``on_ready()`` is called once the server reads stdin and handles signals.

        serve_stdio({"memory_tool_backend": "local", "memory_tool_local_dir": "./memories"})
    """
    from memspace.tools import MemoryTools

    config = dict(agent_config or {})
    tools = MemoryTools.from_config(config | {"memory_tool_actor": default_actor(config, "mcp")})
    calls = InFlight()
    shutdown = Shutdown(calls, grace)
    try:
        anyio.run(_serve, build_server(tools, calls=calls), shutdown, on_ready)
    finally:
        if not calls.running:  # after a forced stop, calls still use the store: leave it open
            tools.close()
    shutdown.check()


async def _serve(server: Server[Any], shutdown: Shutdown, on_ready: Callable[[], None] | None) -> None:
    exchange = _Exchange()
    lines = _StdinLines(0, exchange)
    async with anyio.create_task_group() as watchers:
        await watchers.start(shutdown.watch_signals)
        if on_ready is not None:
            on_ready()
        # The SDK reads stdin through whatever iterates like its text file.
        stdin = cast("anyio.AsyncFile[str]", lines)

        async def close_input_once_drained() -> None:
            await shutdown.requested.wait()
            await shutdown.drain(exchange.wait_answered)
            # End of input: the server returns. Anything still running at this point (a
            # forced stop) is cancelled; its worker thread runs on.
            lines.close()

        async with stdio_server(stdin=stdin) as (read_stream, write_stream), anyio.create_task_group() as tg:
            tg.start_soon(close_input_once_drained)
            answers = _Answers(write_stream, exchange)
            await server.run(read_stream, answers, server.create_initialization_options())
            tg.cancel_scope.cancel()
        # The client left (or the stop was forced): calls it cancelled may still be running.
        await shutdown.drain()
        watchers.cancel_scope.cancel()


class _StdinLines:
    """The lines of a file descriptor, as an async iterator fed by a daemon thread."""

    def __init__(self, fd: int, exchange: _Exchange) -> None:
        self._fd = fd
        self._exchange = exchange
        self._send, self._receive = anyio.create_memory_object_stream[str](16)
        self._thread: threading.Thread | None = None

    def __aiter__(self) -> _StdinLines:
        if self._thread is None:
            token = anyio.lowlevel.current_token()
            self._thread = threading.Thread(
                target=self._read, args=(token,), name="memspace-mcp-stdin", daemon=True
            )
            self._thread.start()
        return self

    async def __anext__(self) -> str:
        try:
            line = await self._receive.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            raise StopAsyncIteration from None
        self._exchange.received(line)
        return line

    def close(self) -> None:
        """End the iteration now (on the event loop thread); the reader thread is abandoned."""
        self._send.close()

    def _read(self, token: anyio.lowlevel.EventLoopToken) -> None:
        pending = b""
        try:
            while True:
                chunk = os.read(self._fd, _CHUNK)
                if not chunk:
                    break
                *complete, pending = (pending + chunk).split(b"\n")
                for line in complete:
                    anyio.from_thread.run(self._send.send, _decode(line), token=token)
            if pending:
                anyio.from_thread.run(self._send.send, _decode(pending), token=token)
            anyio.from_thread.run_sync(self._send.close, token=token)
        except (OSError, RuntimeError, anyio.BrokenResourceError, anyio.ClosedResourceError):
            # stdin failed, the iteration was closed, or the event loop is gone: nothing to feed.
            pass


def _decode(line: bytes) -> str:
    return line.decode("utf-8", errors="replace") + "\n"


class _Exchange:
    """The requests read from the client and not answered yet."""

    def __init__(self) -> None:
        self._open: set[RequestId] = set()
        self._changed = anyio.Event()

    def received(self, line: str) -> None:
        try:
            # Read as the SDK reads it: a line it cannot read gets no answer, so is not owed one.
            message = jsonrpc_message_adapter.validate_json(line, by_name=False)
        except ValueError:
            return
        if isinstance(message, JSONRPCRequest):
            self._open.add(message.id)
        elif isinstance(message, JSONRPCNotification) and message.method == "notifications/cancelled":
            self._settle(cancelled_request_id_from_params(message.params))  # never answered

    def answered(self, item: SessionMessage) -> None:
        if isinstance(item.message, JSONRPCResponse | JSONRPCError):
            self._settle(item.message.id)

    async def wait_answered(self) -> None:
        while self._open:
            await self._changed.wait()

    def _settle(self, request_id: RequestId | None) -> None:
        if request_id in self._open:
            self._open.discard(request_id)
            self._changed.set()
            self._changed = anyio.Event()


class _Answers:
    """The server's write stream, telling the exchange of each answer handed to stdout."""

    def __init__(self, inner: WriteStream[SessionMessage], exchange: _Exchange) -> None:
        self._inner = inner
        self._exchange = exchange

    async def send(self, item: SessionMessage, /) -> None:
        await self._inner.send(item)
        self._exchange.answered(item)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> _Answers:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        await self.aclose()
        return None
