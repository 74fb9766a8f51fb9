"""Worker processes for the concurrency tests.

Each worker is a separate OS process (multiprocessing "spawn"): it builds its
own MemoryTools from an agent_config plus environment, exactly as a server
process would, waits at a barrier so all workers start together, and reports
its outcomes through a queue.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Mapping
from multiprocessing.synchronize import Barrier
from typing import Any

from memspace import MemoryTools

Config = Mapping[str, Any]
Environ = Mapping[str, str]


def _tools(config: Config, environ: Environ) -> MemoryTools:
    os.environ.update(environ)
    return MemoryTools.from_config(dict(config))


def _call_all(
    config: Config,
    environ: Environ,
    worker: int,
    calls: list[tuple[str, dict[str, Any]]],
    barrier: Barrier,
    out: Any,
) -> None:
    """Run ``calls`` in order once every worker is ready; report the error texts."""
    tools = _tools(config, environ)
    barrier.wait()
    errors = [result.text for name, args in calls if (result := tools.call(name, args)).is_error]
    out.put((worker, errors))


def append_lines(
    config: Config, environ: Environ, worker: int, count: int, barrier: Barrier, out: Any
) -> None:
    calls = [
        ("memory_create_update", {"path": "/log.md", "file_text": f"w{worker}-{i}", "mode": "append"})
        for i in range(count)
    ]
    _call_all(config, environ, worker, calls, barrier, out)


def replace_own_lines(
    config: Config, environ: Environ, worker: int, count: int, barrier: Barrier, out: Any
) -> None:
    calls = [
        (
            "memory_str_replace",
            {
                "path": "/shared.md",
                "old_str": f"item {worker}-{j}: todo",
                "new_str": f"item {worker}-{j}: done",
            },
        )
        for j in range(count)
    ]
    _call_all(config, environ, worker, calls, barrier, out)


def insert_lines(
    config: Config, environ: Environ, worker: int, count: int, barrier: Barrier, out: Any
) -> None:
    calls = [
        ("memory_insert", {"path": "/shared.md", "insert_line": 1, "insert_text": f"inserted {worker}-{j}"})
        for j in range(count)
    ]
    _call_all(config, environ, worker, calls, barrier, out)


def create_races(
    config: Config, environ: Environ, worker: int, rounds: int, barrier: Barrier, out: Any
) -> None:
    tools = _tools(config, environ)
    wins = []
    for r in range(rounds):
        barrier.wait()
        result = tools.call(
            "memory_create_update", {"path": f"/race/{r}.md", "file_text": f"winner {worker}"}
        )
        if not result.is_error:
            wins.append(r)
        elif "already exists" not in result.text:
            wins.append(-1)  # an unexpected error
    out.put((worker, wins))


def search_lines(
    config: Config, environ: Environ, worker: int, rounds: int, barrier: Barrier, out: Any
) -> None:
    """Search the whole workspace ``rounds`` times, all workers at once; report each result's text."""
    tools = _tools(config, environ)
    barrier.wait()
    out.put((worker, [tools.call("memory_search", {"pattern": "needle"}).text for _ in range(rounds)]))


def run_workers(
    target: Callable[..., None],
    processes: int,
    config: Config,
    environ: Environ,
    *args: Any,
    timeout: float = 240,
) -> dict[int, Any]:
    """Start ``processes`` workers running ``target`` and collect what each reports."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(processes)
    out = ctx.Queue()
    procs = [
        ctx.Process(target=target, args=(dict(config), dict(environ), worker, *args, barrier, out))
        for worker in range(processes)
    ]
    for proc in procs:
        proc.start()
    results = dict(out.get(timeout=timeout) for _ in procs)
    for proc in procs:
        proc.join(timeout=30)
        assert proc.exitcode == 0, f"worker exited with {proc.exitcode}"
    return results


def overwrite_forever(root: str, payloads: list[str]) -> None:
    """Overwrite /victim.md alternately with each payload until killed (for the SIGKILL test)."""
    tools = MemoryTools.from_config({"memory_tool_local_dir": root}, environ={})
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    i = 0
    while True:
        tools.workspace.overwrite("/victim.md", payloads[i % len(payloads)])
        i += 1


if __name__ == "__main__":  # pragma: no cover - run as a subprocess by the kill test
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    overwrite_forever(sys.argv[1], [sys.argv[2] * int(sys.argv[4]), sys.argv[3] * int(sys.argv[4])])
