"""Tool calls in worker threads that always run to their end, counted so a shutdown can wait.

A memory tool call is blocking work (disk or S3 requests; a folder rename is thousands of
copies, then the deletes). Each call runs in a thread of its own and the server awaits it.
When the awaiting side goes away -- the client cancelled the request or disconnected -- the
thread is *not* stopped: a folder rename stopped half-way would leave files at both places.
The call runs on, its result is dropped, and :class:`InFlight` counts it until it ends, so a
shutdown (:mod:`.shutdown`) waits for it.

    calls = InFlight()
    result = await calls.run(lambda: tools.call("memory_rename", args))
    calls.close()              # refuse new calls (ShuttingDownError)
    await calls.wait_idle()    # every call that started has ended

The threads are daemon threads, so a process whose shutdown gave up waiting (after its grace
period) can still exit. Everything but the work itself happens on the event loop thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import Generic, TypeVar, cast

import anyio

__all__ = ["InFlight", "ShuttingDownError"]

_T = TypeVar("_T")

DEFAULT_LIMIT = 32
"""Calls running at once; more wait for a slot (each call may itself use a few threads)."""


class ShuttingDownError(Exception):
    """The server is stopping and takes no new calls."""


class _Outcome(Generic[_T]):
    """What a worker thread hands back to the event loop."""

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.value: _T | None = None
        self.error: BaseException | None = None


class InFlight:
    """Runs calls in worker threads and knows how many are still running.

    A call counts from the moment it is accepted until both its thread has ended and the
    coroutine awaiting it has returned (so its answer has been handed to the transport).

    >>> import anyio
    >>> async def demo() -> int:
    ...     calls = InFlight()
    ...     return await calls.run(lambda: 6 * 7)
    >>> anyio.run(demo)
    42
    """

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self._slots = anyio.Semaphore(limit)
        self._threads = 0  # calls whose worker thread has not ended
        self._awaited = 0  # calls whose coroutine has not returned
        self._closed = False
        self._changed = anyio.Event()

    @property
    def busy(self) -> bool:
        """Whether a call is running or its answer has not been handed over yet."""
        return bool(self._threads or self._awaited)

    @property
    def running(self) -> int:
        """Calls whose worker thread is still running."""
        return self._threads

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Refuse new calls from now on; calls already accepted run to their end."""
        self._closed = True
        self._notify()

    async def wait_idle(self) -> None:
        """Return once no call is running."""
        while self.busy:
            await self._changed.wait()

    async def run(self, work: Callable[[], _T]) -> _T:
        """Run ``work()`` in a worker thread and return its result.

        Raises :class:`ShuttingDownError` after :meth:`close`. If the awaiting task is
        cancelled, the thread keeps running to its end and its result is dropped.
        """
        if self._closed:
            raise ShuttingDownError
        await self._slots.acquire()  # cancellable: nothing has started yet
        if self._closed:
            self._slots.release()
            raise ShuttingDownError
        loop = asyncio.get_running_loop()
        outcome: _Outcome[_T] = _Outcome()

        def finished() -> None:  # on the event loop thread
            self._slots.release()
            self._threads -= 1
            outcome.done.set()
            self._notify()

        def thread_main() -> None:
            try:
                outcome.value = work()
            except BaseException as error:  # handed to the awaiting coroutine, if any
                outcome.error = error
            finally:
                # RuntimeError: the event loop is gone, so nobody is waiting any more.
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(finished)

        self._awaited += 1
        try:
            try:
                self._threads += 1  # until finished() has run
                threading.Thread(target=thread_main, name="memspace-mcp-call", daemon=True).start()
            except BaseException:
                self._threads -= 1
                self._slots.release()
                raise
            await outcome.done.wait()
        finally:
            self._awaited -= 1
            self._notify()
        if outcome.error is not None:
            raise outcome.error
        return cast(_T, outcome.value)

    def _notify(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()
