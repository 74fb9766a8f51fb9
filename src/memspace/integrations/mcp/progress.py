"""Progress of a long tool call, carried from its worker thread to MCP progress notifications.

``MemoryTools.call(..., progress=relay)`` calls ``relay(done, total)`` from the worker
thread, possibly thousands of times (once per file of a folder rename). The thread must
never wait for the network, nor fail because a client went away, so a call only records
the latest value and wakes the event loop; :meth:`ProgressRelay.forward`, a task on the
loop, sends whatever is newest each time it wakes. Values that arrive while a notification
is being sent are merged into the next one, so a slow client gets fewer notifications,
never a growing queue, and always the final count.

    relay = ProgressRelay(ctx.session.report_progress)
    async with anyio.create_task_group() as tg:
        tg.start_soon(relay.forward)
        try:
            result = await calls.run(lambda: tools.call(name, args, progress=relay))
        finally:
            relay.close()          # forward() sends the last value, then returns
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable

import anyio

__all__ = ["ProgressRelay"]

log = logging.getLogger("memspace")

Send = Callable[[float, float | None], Awaitable[None]]


class ProgressRelay:
    """A thread-safe ``progress(done, total)`` callback feeding an async sender.

    Create it on the event loop thread; call it from any thread.
    """

    def __init__(self, send: Send) -> None:
        self._send = send
        self._loop = asyncio.get_running_loop()
        self._lock = threading.Lock()
        self._latest: tuple[int, int] | None = None
        self._sent: tuple[int, int] | None = None
        self._wake_pending = False
        self._wake = anyio.Event()
        self._closed = False
        self._broken = False

    def __call__(self, done: int, total: int) -> None:
        """Record progress; called from the worker thread. Never blocks, never raises."""
        with self._lock:
            self._latest = (done, total)
            if self._wake_pending:
                return  # the loop has not read the last value yet; it will read this one
            self._wake_pending = True
        # RuntimeError: the event loop has closed, so nobody is left to tell.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._wake_up)

    def close(self) -> None:
        """The call has ended: send the last value and stop (on the event loop thread)."""
        self._closed = True
        self._wake.set()

    async def forward(self) -> None:
        """Send the newest progress each time there is some, until :meth:`close`."""
        while True:
            await self._wake.wait()
            # A fresh event before reading: a value recorded after the read wakes it.
            self._wake = anyio.Event()
            await self._flush()
            if self._closed:
                await self._flush()
                return

    def _wake_up(self) -> None:
        self._wake.set()

    async def _flush(self) -> None:
        with self._lock:
            latest, self._wake_pending = self._latest, False
        if latest is None or latest == self._sent or self._broken:
            return
        try:
            await self._send(latest[0], latest[1])
        except Exception as error:
            # The client went away or its stream closed; the call itself carries on.
            log.debug(
                "memspace: progress not delivered (%s); no more progress for this call", type(error).__name__
            )
            self._broken = True
        self._sent = latest
