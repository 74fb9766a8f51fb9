"""How a server stops: on SIGTERM or Ctrl-C, finish what is running, then exit.

The first SIGINT or SIGTERM *requests* a stop: the server takes no new tool calls
(:meth:`InFlight.close`), waits for the calls in flight to end -- a folder rename is never
cut half-way by a stop -- and then closes its transport. If calls are still running after
the grace period, or a second signal arrives, the stop is *forced*: the transport closes at
once and the caller learns how many calls were left running (:class:`CallsStillRunningError`).

    shutdown = Shutdown(calls, grace=30)
    async with anyio.create_task_group() as tg:
        await tg.start(shutdown.watch_signals)
        ...                                # serve until shutdown.requested is set
        await shutdown.drain()             # True: every call ended; False: forced
"""

from __future__ import annotations

import signal
from collections.abc import Awaitable, Callable

import anyio
from anyio.abc import TaskStatus

from memspace.errors import MemspaceError
from memspace.integrations.mcp.calls import InFlight

__all__ = ["DEFAULT_GRACE", "CallsStillRunningError", "Shutdown"]

DEFAULT_GRACE = 30.0
"""Seconds a stop waits for the tool calls in flight."""


class CallsStillRunningError(MemspaceError):
    """The server stopped while tool calls were still running (forced, or out of grace).

    ``waited`` is the grace period that ran out, or None if a second signal forced the stop.
    """

    def __init__(self, running: int, waited: float | None) -> None:
        calls = "1 tool call" if running == 1 else f"{running} tool calls"
        why = f"after waiting {waited:g} s for" if waited is not None else "at a second signal, with"
        super().__init__(
            f"stopped {why} {calls} still running; a folder rename cut short finishes when it is run again"
        )
        self.running = running
        self.waited = waited


class Shutdown:
    """The stop of one server: requested by the first signal, forced by a second or by time."""

    def __init__(self, calls: InFlight, grace: float = DEFAULT_GRACE) -> None:
        self.calls = calls
        self.grace = grace
        self.requested = anyio.Event()
        self.forced = anyio.Event()
        self.by_signal = False  # forced by a second signal rather than by the grace period

    def request(self) -> None:
        """Stop taking new calls; the transport closes once the running ones end."""
        self.calls.close()
        self.requested.set()

    async def watch_signals(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Turn SIGINT/SIGTERM into :meth:`request`, then (second signal or grace over) ``forced``.

        Runs until cancelled; from ``task_status.started()`` on (``await tg.start(...)``),
        neither signal raises KeyboardInterrupt or kills the process.
        """
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            task_status.started()
            async for _ in signals:
                break
            self.request()
            with anyio.move_on_after(self.grace):
                async for _ in signals:
                    self.by_signal = True
                    break
            self.forced.set()
            async for _ in signals:
                pass  # the stop is forced already; more signals change nothing

    async def drain(self, *also: Callable[[], Awaitable[None]]) -> bool:
        """Wait until no call runs (and each of ``also`` returned), or the stop is forced.

        Returns True if every call ended.
        """
        async with anyio.create_task_group() as tg:

            async def idle() -> None:
                await self.calls.wait_idle()
                for wait in also:
                    await wait()
                tg.cancel_scope.cancel()

            async def forced() -> None:
                await self.forced.wait()
                tg.cancel_scope.cancel()

            tg.start_soon(idle)
            tg.start_soon(forced)
        return not self.calls.busy

    def check(self) -> None:
        """Raise :class:`CallsStillRunningError` if calls are still running."""
        if self.calls.running:
            raise CallsStillRunningError(self.calls.running, None if self.by_signal else self.grace)
