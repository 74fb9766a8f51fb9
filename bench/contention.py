"""Section 3: N processes appending to one file; throughput of the optimistic loop under contention.
Locally also 16 processes each appending to a file of its own, the files all in one folder,
against the same processes each in a folder of its own.

Each worker is a separate OS process (multiprocessing "spawn") that builds its
own MemoryTools from an agent_config, as a server process would, waits at a
barrier, then runs ``memory_create_update(mode="append")`` in a loop. Its store
is wrapped in ``CountingStore`` (a pass-through that counts PUT attempts and the
ones refused because another writer got there first), so the retries the loop
makes are visible without touching memspace itself.

Throughput = all appends / (last worker done - first worker released). Afterwards
the file is checked: every line present exactly once, each writer's lines in order.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any, Literal

from tests.support.seaweed import SeaweedServer

from bench import targets
from bench.common import BenchError, Stats, fmt_ms, fmt_ratio, markdown_table, progress
from bench.counting import CountingStore
from bench.s3_ops import raw_store, s3_environ
from memspace import MemoryTools
from memspace.config import Settings
from memspace.storage.registry import open_store

__all__ = ["CountingStore", "Outcome", "contention_table", "measure_contention", "measure_series", "run"]

PATH = "/log.md"
HEADER = "# appended by the contention benchmark"


@dataclass(frozen=True)
class WorkerReport:
    worker: int
    started: float
    finished: float
    puts: int
    conflicts: int
    slowest_conflict: float
    latencies: tuple[float, ...]
    errors: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    processes: int
    appends: int
    seconds: float
    puts: int
    conflicts: int
    slowest_conflict: float
    latency: Stats
    errors: int
    lines_found: int
    lines_correct: bool

    @property
    def throughput(self) -> float:
        return self.appends / self.seconds


def _tools(config: Mapping[str, Any], environ: Mapping[str, str]) -> tuple[MemoryTools, CountingStore]:
    store = CountingStore(open_store(Settings.from_config(config, environ=environ), environ))
    return MemoryTools.from_config(config, environ=environ, store=store), store


Layout = Literal["one file", "a file each", "a folder each"]


def path_of(layout: Layout, worker: int) -> str:
    """The file ``worker`` appends to: PATH for all, a file of its own beside the others in one folder,
    or a file in a folder of its own."""
    if layout == "one file":
        return PATH
    return f"/w{worker}.md" if layout == "a file each" else f"/w{worker}{PATH}"


def worker(
    config: Mapping[str, Any],
    environ: Mapping[str, str],
    worker: int,
    count: int,
    barrier: Barrier,
    out: Any,
    path: str = PATH,
) -> None:
    """Append ``count`` lines ``w<worker>-<i>`` to ``path`` and report timings and counts."""
    tools, store = _tools(config, environ)
    latencies: list[float] = []
    errors: list[str] = []
    # Warm up outside the timed part: imports, the first connection, the first write.
    tools.call("memory_create_update", {"path": f"/warmup/{worker}.md", "file_text": "x", "mode": "append"})
    tools.call("memory_view", {"path": path})
    store.reset()
    barrier.wait()
    started = time.monotonic()  # CLOCK_MONOTONIC: comparable across processes on one machine
    for i in range(count):
        begin = time.perf_counter()
        result = tools.call(
            "memory_create_update", {"path": path, "file_text": f"w{worker}-{i}", "mode": "append"}
        )
        latencies.append(time.perf_counter() - begin)
        if result.is_error:
            errors.append(result.text)
    finished = time.monotonic()
    out.put(
        WorkerReport(
            worker,
            started,
            finished,
            store.puts,
            store.conflicts,
            store.slowest_conflict,
            tuple(latencies),
            tuple(errors),
        )
    )


def measure_contention(
    config: Mapping[str, Any],
    environ: Mapping[str, str],
    processes: int,
    count: int,
    *,
    layout: Layout = "one file",
    timeout: float = 120,
) -> Outcome:
    """Run ``processes`` workers appending ``count`` lines each in a fresh workspace (to one file, or
    each to its own: see :func:`path_of`)."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(processes)
    out = ctx.Queue()
    paths = sorted({path_of(layout, w) for w in range(processes)})
    procs = [
        ctx.Process(
            target=worker, args=(dict(config), dict(environ), w, count, barrier, out, path_of(layout, w))
        )
        for w in range(processes)
    ]
    tools = MemoryTools.from_config(config, environ=environ)
    for path in paths:
        tools.workspace.create(path, HEADER)  # so the timed part measures appends, not the first create
    for proc in procs:
        proc.start()
    try:
        reports = _collect(out, procs, timeout)
    finally:
        for proc in procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
    if any(proc.exitcode != 0 for proc in procs):
        raise BenchError(f"a contention worker failed: exit codes {[proc.exitcode for proc in procs]}")

    lines = []
    for path in paths:
        header, *appended = tools.workspace.read(path).text.split("\n")
        if header != HEADER:
            raise BenchError(f"the contention file {path} lost its first line")
        lines += appended
    expected = sorted(f"w{w}-{i}" for w in range(processes) for i in range(count))
    in_order = all(
        [line for line in lines if line.startswith(f"w{w}-")] == [f"w{w}-{i}" for i in range(count)]
        for w in range(processes)
    )
    tools.close()
    return Outcome(
        processes=processes,
        appends=processes * count,
        seconds=max(r.finished for r in reports) - min(r.started for r in reports),
        puts=sum(r.puts for r in reports),
        conflicts=sum(r.conflicts for r in reports),
        slowest_conflict=max(r.slowest_conflict for r in reports),
        latency=Stats(tuple(t for r in reports for t in r.latencies)),
        errors=sum(len(r.errors) for r in reports),
        lines_found=len(lines),
        lines_correct=sorted(lines) == expected and in_order,
    )


def _collect(out: Any, procs: Sequence[Any], timeout: float) -> list[WorkerReport]:
    """Every worker's report; fails fast when a worker dies instead of waiting out the timeout."""
    reports: list[WorkerReport] = []
    deadline = time.monotonic() + timeout
    while len(reports) < len(procs):
        try:
            reports.append(out.get(timeout=0.5))
        except queue.Empty:
            if any(proc.exitcode not in (None, 0) for proc in procs):
                raise BenchError("a contention worker died; see its traceback above") from None
            if time.monotonic() > deadline:
                raise BenchError(f"contention workers did not finish within {timeout:g} s") from None
    return reports


def contention_table(trials: Sequence[Sequence[Outcome]]) -> str:
    """One row per process count: the trial with the median throughput, and the range over trials."""
    rows = []
    base = 0.0
    for runs in trials:
        ordered = sorted(runs, key=lambda o: o.throughput)
        o = ordered[len(ordered) // 2]
        base = base or o.throughput
        correct = "yes" if o.lines_correct and not o.errors else f"NO ({o.errors} errors)"
        rows.append(
            [
                str(o.processes),
                str(o.appends),
                f"{o.throughput:,.0f}",
                f"{ordered[0].throughput:,.0f}-{ordered[-1].throughput:,.0f}",
                fmt_ratio(o.throughput / base),
                f"{o.puts / o.appends:.2f}",
                str(o.conflicts),
                fmt_ms(o.slowest_conflict) if o.conflicts else "",
                fmt_ms(o.latency.median),
                fmt_ms(o.latency.p90),
                fmt_ms(o.latency.p99),
                fmt_ms(max(o.latency.samples)),
                f"{o.lines_found}/{o.appends} {correct}",
            ]
        )
    headers = [
        "processes",
        "appends",
        "appends/s",
        f"range ({len(trials[0])} trial{'s' if len(trials[0]) != 1 else ''})",
        "vs 1 process",
        "PUTs per append",
        "conflicts",
        "slowest conflict",
        "append median",
        "append p90",
        "append p99",
        "append max",
        "lines correct",
    ]
    return markdown_table(headers, rows)


LOCAL_PROCESSES = (1, 2, 4, 8, 16)
S3_PROCESSES = (1, 2, 4, 8)


def measure_series(
    config_for: Callable[[str], dict[str, Any]],
    environ: Mapping[str, str],
    *,
    total: int,
    trials: int,
    processes_list: Sequence[int] = LOCAL_PROCESSES,
) -> list[list[Outcome]]:
    """``trials`` runs for each process count, ``total`` appends split evenly between the processes.

    The trial loop is outside the process-count loop, so a burst of outside noise
    spreads over all counts instead of hitting one. ``config_for(tag)`` gives the
    agent_config of a fresh workspace.
    """
    results: list[list[Outcome]] = [[] for _ in processes_list]
    for trial in range(trials):
        for index, processes in enumerate(processes_list):
            config = config_for(f"p{processes}-t{trial}")
            results[index].append(measure_contention(config, environ, processes, total // processes))
            progress(f"  contention: {processes} process(es), trial {trial + 1}/{trials} done")
    return results


def raw_conflicts(server: SeaweedServer, *, writers: int, rounds: int) -> tuple[Stats, Stats]:
    """The S3 server alone: ``writers`` threads send one raw If-Match PUT each with the same ETag.

    One wins, the rest must get 412. Returns (winner latencies, loser latencies):
    how long the server takes to refuse a racing conditional write, with no memspace
    involved (each thread has its own client, so its own connection).
    """
    import obstore

    stores = [raw_store(server) for _ in range(writers)]
    won: list[float] = []
    lost: list[float] = []
    lock = threading.Lock()
    for index in range(rounds):
        key = f"raw-conflicts/{index}"
        obstore.put(stores[0], key, b"start")
        etag = obstore.get(stores[0], key).meta["e_tag"]
        if etag is None:
            raise BenchError("the S3 server returned no ETag")
        barrier = threading.Barrier(writers)

        def race(i: int, key: str = key, etag: str = etag, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            start = time.perf_counter()
            try:
                obstore.put(stores[i], key, f"writer {i}".encode(), mode={"e_tag": etag})
                outcome = won
            except obstore.exceptions.PreconditionError:
                outcome = lost
            with lock:
                outcome.append(time.perf_counter() - start)

        threads = [threading.Thread(target=race, args=(i,)) for i in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    if len(won) != rounds:
        raise BenchError(f"racing conditional PUTs: {len(won)} winners in {rounds} rounds")
    return Stats(tuple(won)), Stats(tuple(lost))


def _median_trial(runs: Sequence[Outcome]) -> Outcome:
    ordered = sorted(runs, key=lambda o: o.throughput)
    return ordered[len(ordered) // 2]


def _record_targets(series: Sequence[Sequence[Outcome]]) -> None:
    """The local targets: at the most writers, throughput >= 0.9x one writer's, p99 append < 50 ms."""
    one, most = _median_trial(series[0]), _median_trial(series[-1])
    ratio = most.throughput / one.throughput
    correct = all(o.lines_correct and not o.errors for runs in series for o in runs)
    targets.record(
        f"local contention {most.processes} writers: throughput vs 1",
        fmt_ratio(ratio),
        ">= 0.9x",
        ratio >= 0.9,
        before=targets.BEFORE["local contention 8 writers"] + " (8 writers)",
    )
    targets.record(
        f"local contention {most.processes} writers: append p99",
        fmt_ms(most.latency.p99),
        "< 50 ms",
        most.latency.p99 < 0.050,
    )
    targets.record(
        "local contention: every line exactly once, in order", "yes" if correct else "NO", "yes", correct
    )


def _files_of_one_folder(
    config_for: Callable[[str], dict[str, Any]], *, total: int, trials: int
) -> list[str]:
    """The most local writers, each appending to a file of its own: all the files in one folder, against
    the same writers each in a folder of its own (nothing shared: the floor). Writers of different
    files in one folder share only the folder's lock around each compare-and-rename."""
    processes = LOCAL_PROCESSES[-1]
    layouts: tuple[Layout, ...] = ("a file each", "a folder each")
    runs: dict[Layout, list[Outcome]] = {layout: [] for layout in layouts}
    for trial in range(trials):
        for layout in layouts:
            config = config_for(f"{layout.replace(' ', '-')}-t{trial}")
            runs[layout].append(measure_contention(config, {}, processes, total // processes, layout=layout))
            progress(f"  contention: {processes} files, {layout}, trial {trial + 1}/{trials} done")
    rows = []
    for layout in layouts:
        median = _median_trial(runs[layout])
        ordered = sorted(run.throughput for run in runs[layout])
        correct = all(run.lines_correct and not run.errors for run in runs[layout])
        rows.append(
            [
                "one folder" if layout == "a file each" else "a folder each",
                f"{median.throughput:,.0f}",
                f"{ordered[0]:,.0f}-{ordered[-1]:,.0f}",
                fmt_ms(median.latency.p99),
                "yes" if correct else "NO",
            ]
        )
    shared, alone = (_median_trial(runs[layout]) for layout in layouts)
    ratio = shared.throughput / alone.throughput
    correct = all(o.lines_correct and not o.errors for outcomes in runs.values() for o in outcomes)
    targets.record(
        f"local {processes} writers of {processes} files in one folder: throughput vs a folder each",
        fmt_ratio(ratio),
        ">= 0.8x",
        ratio >= 0.8 and correct,
        before="0.41x (8 writers, measured by hand)",
    )
    return [
        f"{processes} processes, each appending to a file of its own ({total} appends in all): the files "
        "side by side in one folder, then each in a folder of its own (nothing shared). Median of "
        f"{trials} trial(s), with the range.",
        "",
        markdown_table(["files in", "appends/s", "range", "append p99", "lines correct"], rows),
    ]


def run(
    scratch: Path,
    server: SeaweedServer | None,
    *,
    local_total: int,
    s3_total: int,
    trials: int,
    raw_rounds: int,
) -> str:
    parts = [
        "## 3. Contention: N processes appending to one file",
        "",
        "Each process appends its own numbered lines with `memory_create_update(mode='append')`; "
        "the total number of appends is the same for every N. appends/s = all appends / "
        f"(last process done - first released); each row is the median of {trials} trial(s), with the "
        "range. PUTs per append and conflicts are counted by a pass-through store "
        "wrapper (1.00 = no retry). Lines correct: every line exactly once, each writer's lines in order.",
        "",
        "### Local backend",
        "",
    ]

    def local_config(tag: str) -> dict[str, Any]:
        return {"memory_tool_backend": "local", "memory_tool_local_dir": str(scratch / "contention" / tag)}

    local = measure_series(local_config, {}, total=local_total, trials=trials)
    parts.append(contention_table(local))
    _record_targets(local)
    parts += ["", *_files_of_one_folder(local_config, total=local_total, trials=trials)]
    if server is None:
        return "\n".join(parts)

    def s3_config(tag: str) -> dict[str, Any]:
        return {"memory_tool_backend": "s3", "memory_tool_prefix": f"contention/{tag}/"}

    series = measure_series(
        s3_config, s3_environ(server), total=s3_total, trials=trials, processes_list=S3_PROCESSES
    )
    writers = 8
    won, lost = raw_conflicts(server, writers=writers, rounds=raw_rounds)
    raw_table = markdown_table(
        ["racing PUTs", "rounds", "winner median", "412 median", "412 p90", "412 max"],
        [
            [
                str(writers),
                str(raw_rounds),
                fmt_ms(won.median),
                fmt_ms(lost.median),
                fmt_ms(lost.p90),
                fmt_ms(max(lost.samples)),
            ]
        ],
    )
    parts += [
        "",
        "### S3 backend (SeaweedFS on loopback)",
        "",
        contention_table(series),
        "",
        "The S3 server alone, no memspace: "
        f"{writers} threads each send one raw obstore PUT `If-Match` with the same ETag at once "
        "(one must win, the others get 412): how long the server itself takes to refuse a racing "
        "conditional write. Compare the *slowest conflict* column above (timed around the one "
        "obstore PUT inside memspace's store).",
        "",
        raw_table,
    ]
    return "\n".join(parts)
