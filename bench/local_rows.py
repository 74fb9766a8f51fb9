"""Section 1b: the local backend's target rows, each against its own floor in the same run.

* delete of a file            -- floor ``os.unlink``;
* rename of a file (4 KiB, 512 KiB) -- floor ``os.rename`` + ``fsync`` of the folder;
* append / str_replace / insert at 1 KiB, 64 KiB, 1 MiB -- floor: read, edit, then the
  hand-written durable write (temp file, fsync, rename, folder fsync); the time the
  folder lock is held (the compare-and-rename) is reported per size (it must not grow with the file);
* view of a 4 KiB and a 512 KiB file -- floor ``open().read()``; the peak memory of a
  view of a 75 MiB file (a fresh process);
* view of a folder of 10,000 files  -- floor ``os.scandir`` + a ``stat`` per entry, sorted;
* clear_all of 10,000 files         -- floor ``shutil.rmtree``.

Versioning is off here (section 6 measures what it adds). Every sample goes through
``MemoryTools.call``, what an agent runs; files are reset (untimed) before each sample.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import targets
from bench.common import BenchError, Stats, fmt_ms, fmt_ratio, fmt_us, interleaved, markdown_table, progress
from bench.floor import durable_edit, durable_write, read_text
from memspace import MemoryTools
from memspace.storage.local import LocalStore

__all__ = ["LockTimingStore", "run", "sized_text"]

KIB = 1024
EDITS = ("append", "str_replace", "insert")
EDIT_SIZES = (KIB, 64 * KIB, 1024 * KIB)
MARKER = "state: draft"


def sized_text(size: int) -> str:
    """``size`` bytes (a multiple of 32) of 32-byte lines, with one ``state: draft`` line in the middle."""
    count = size // 32
    lines = [f"{i:05d} the quick brown fox jumps" for i in range(count)]
    lines[count // 2] = f"{count // 2:05d} {MARKER}, to be check"
    text = "".join(line + "\n" for line in lines)
    if len(text.encode()) != size:
        raise BenchError(f"sized_text({size}) made {len(text.encode())} bytes")
    return text


def edited(op: str, text: str) -> str:
    """The same edit the tool call makes, in plain Python (the floor's edit)."""
    if op == "append":
        return text + "appended line"
    if op == "str_replace":
        return text.replace(MARKER, "state: final", 1)
    lines = text.splitlines(keepends=True)
    lines.insert(len(lines) // 2, "inserted line\n")
    return "".join(lines)


def _tool_args(op: str, path: str, text: str) -> tuple[str, dict[str, Any]]:
    if op == "append":
        return "memory_create_update", {"path": path, "file_text": "appended line", "mode": "append"}
    if op == "str_replace":
        return "memory_str_replace", {"path": path, "old_str": MARKER, "new_str": "state: final"}
    line = text.count("\n") // 2
    return "memory_insert", {"path": path, "insert_line": line, "insert_text": "inserted line"}


class _Span:
    """Times the span of a context manager into ``samples``: a class, so the timer adds little to a span
    of a few microseconds."""

    __slots__ = ("inner", "samples", "start")

    def __init__(self, inner: contextlib.AbstractContextManager[None], samples: list[float]) -> None:
        self.inner = inner
        self.samples = samples
        self.start = 0.0

    def __enter__(self) -> None:
        self.start = time.perf_counter()
        self.inner.__enter__()

    def __exit__(self, *exc: Any) -> None:
        try:
            self.inner.__exit__(*exc)
        finally:
            self.samples.append(time.perf_counter() - self.start)


class LockTimingStore(LocalStore):
    """LocalStore that records how long a write holds its folder's lock and its turn.

    ``commit``: each span the folder's ``flock`` is held (a write's compare-and-rename, under which a
    conditional write is decided; writers of every file in the folder wait for it). ``turn``: the
    span of ``lock``, the writer's turn among the writers of one file for the whole read-modify-write
    (it only orders them on one machine; correctness never depends on it).
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        super().__init__(root)
        self.turn: list[float] = []
        self.commit: list[float] = []

    def _locked(self, folders: Iterable[Any]) -> contextlib.AbstractContextManager[None]:
        return _Span(super()._locked(folders), self.commit)

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        start = time.perf_counter()  # a span of milliseconds: a generator is precise enough here
        try:
            with super().lock(key):
                yield
        finally:
            self.turn.append(time.perf_counter() - start)

    def reset(self) -> None:
        self.turn.clear()
        self.commit.clear()


def _tools(root: Path, store: LocalStore | None = None, **extra: Any) -> MemoryTools:
    config = {
        "memory_tool_backend": "local",
        "memory_tool_local_dir": str(root),
        "memory_tool_versioning": False,
        "memory_tool_max_file_bytes": 4 * 1024 * KIB,
        **extra,
    }
    return MemoryTools.from_config(config, environ={}, store=store)


def _call(tools: MemoryTools, name: str, args: dict[str, Any]) -> None:
    result = tools.call(name, args)
    if result.is_error:
        raise BenchError(f"{name} failed: {result.text}")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _pair(stats: dict[str, Stats], fmt: Callable[[float], str]) -> list[str]:
    floor, tools = stats["floor"], stats["tools"]
    return [
        fmt(floor.median),
        fmt(tools.median),
        fmt(tools.p90),
        fmt_ratio(tools.median / floor.median),
    ]


def _ratio(stats: dict[str, Stats]) -> float:
    return stats["tools"].median / stats["floor"].median


# -- delete and rename ------------------------------------------------------------


def measure_delete(scratch: Path, *, rounds: int, warmup: int) -> dict[str, Stats]:
    root = scratch / "rows-delete"
    tools = _tools(root)
    mine, floor_dir = root / "default", scratch / "rows-delete-floor"
    for folder in (mine, floor_dir):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "keep.md").write_text("kept\n")  # so the folder stays (nothing to prune)
    data = sized_text(4 * KIB).encode()

    def setup(name: str) -> None:
        target = (floor_dir if name == "floor" else mine) / "gone.md"
        target.write_bytes(data)

    stats = interleaved(
        {
            "floor": lambda: os.unlink(floor_dir / "gone.md"),
            "tools": lambda: _call(tools, "memory_delete", {"path": "/gone.md"}),
        },
        rounds=rounds,
        warmup=warmup,
        setup=setup,
    )
    if (mine / "gone.md").exists() or not (mine / "keep.md").exists():
        raise BenchError("delete: memspace left other files than it should")
    tools.close()
    return stats


def measure_rename(scratch: Path, size: int, *, rounds: int, warmup: int) -> dict[str, Stats]:
    root = scratch / f"rows-rename-{size}"
    tools = _tools(root)
    mine, floor_dir = root / "default", scratch / f"rows-rename-{size}-floor"
    data = sized_text(size).encode()
    for folder in (mine, floor_dir):
        folder.mkdir(parents=True, exist_ok=True)
        durable_write(folder / "a.md", data)
    names = {"floor": ["a.md", "b.md"], "tools": ["a.md", "b.md"]}

    def floor_op() -> None:
        old, new = names["floor"]
        os.rename(floor_dir / old, floor_dir / new)
        _fsync_dir(floor_dir)
        names["floor"].reverse()

    def tools_op() -> None:
        old, new = names["tools"]
        _call(tools, "memory_rename", {"old_path": f"/{old}", "new_path": f"/{new}"})
        names["tools"].reverse()

    stats = interleaved({"floor": floor_op, "tools": tools_op}, rounds=rounds, warmup=warmup)
    if (mine / names["tools"][0]).read_bytes() != data:
        raise BenchError("rename: the renamed file does not hold what it held")
    tools.close()
    return stats


# -- edits by size -------------------------------------------------------------------


@dataclass(frozen=True)
class EditSpans:
    """Of one edit row: the writer's turn and the folder lock held by the tool call, and the rename
    of the floor's own write (what the folder lock is compared with)."""

    turn: Stats
    commit: Stats
    floor_rename: Stats


def measure_edit(
    scratch: Path, op: str, size: int, *, rounds: int, warmup: int
) -> tuple[dict[str, Stats], EditSpans]:
    """Stats of floor and tool call, and the spans the row reports besides."""
    root = scratch / f"rows-{op}-{size}"
    store = LockTimingStore(root)
    tools = _tools(root, store)
    mine, floor_dir = root / "default", scratch / f"rows-{op}-{size}-floor"
    floor_dir.mkdir(parents=True, exist_ok=True)
    text = sized_text(size)
    data = text.encode()
    name, args = _tool_args(op, "/f.md", text)

    def setup(variant: str) -> None:
        durable_write((floor_dir if variant == "floor" else mine) / "f.md", data)

    renames: list[float] = []

    def floor_op() -> None:
        renames.append(durable_edit(floor_dir / "f.md", lambda old: edited(op, old)))

    mine.mkdir(parents=True, exist_ok=True)
    durable_write(mine / "f.md", data)
    turn: list[float] = []
    commit: list[float] = []

    def tools_op() -> None:
        store.reset()
        _call(tools, name, args)
        turn.extend(store.turn)
        commit.extend(store.commit)

    stats = interleaved({"floor": floor_op, "tools": tools_op}, rounds=rounds, warmup=warmup, setup=setup)
    expected = edited(op, text)
    if (mine / "f.md").read_text() != expected or (floor_dir / "f.md").read_text() != expected:
        raise BenchError(f"{op} at {size} bytes: a variant left other content than the edit should")
    tools.close()
    keep = rounds  # the samples after the warm-up
    spans = EditSpans(*(Stats(tuple(samples[-keep:])) for samples in (turn, commit, renames)))
    return stats, spans


# -- views -------------------------------------------------------------------------


def measure_view(scratch: Path, size: int, *, rounds: int, warmup: int) -> dict[str, Stats]:
    root = scratch / f"rows-view-{size}"
    tools = _tools(root)
    mine, floor_dir = root / "default", scratch / f"rows-view-{size}-floor"
    data = sized_text(size).encode()
    for folder in (mine, floor_dir):
        folder.mkdir(parents=True, exist_ok=True)
        durable_write(folder / "v.md", data)
    stats = interleaved(
        {
            "floor": lambda: read_text(floor_dir / "v.md"),
            "tools": lambda: _call(tools, "memory_view", {"path": "/v.md"}),
        },
        rounds=rounds,
        warmup=warmup,
    )
    tools.close()
    return stats


_PEAK_CODE = """
import sys, tracemalloc
import memspace
tools = memspace.MemoryTools.from_config(
    {"memory_tool_local_dir": sys.argv[1], "memory_tool_versioning": False}, environ={}
)
tracemalloc.start()
result = tools.call("memory_view", {"path": "/huge.md"})
print(tracemalloc.get_traced_memory()[1], len(result.text))
"""


def measure_huge_view(scratch: Path, size: int) -> tuple[int, int]:
    """(peak bytes Python allocated during one view, characters returned), in a fresh process."""
    root = scratch / "rows-huge"
    (root / "default").mkdir(parents=True, exist_ok=True)
    line = b"0123456789 the quick brown fox jumps over the lazy dog, and again and again.\n"
    with open(root / "default" / "huge.md", "wb") as handle:
        chunk = line * (1024 * KIB // len(line))
        written = 0
        while written < size:
            handle.write(chunk)
            written += len(chunk)
    done = subprocess.run(
        [sys.executable, "-c", _PEAK_CODE, str(root)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BenchError(f"the huge view failed: {done.stderr[-500:]}")
    peak, chars = (int(x) for x in done.stdout.split())
    shutil.rmtree(root)
    return peak, chars


# -- folders of many files -----------------------------------------------------------


def _fill(folder: Path, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        with open(folder / f"note-{i:05d}.md", "wb") as handle:
            handle.write(b"a short note\n")


def _scandir_listing(folder: Path) -> list[tuple[str, int]]:
    with os.scandir(folder) as entries:
        return sorted((e.name, e.stat(follow_symlinks=False).st_size) for e in entries)


def measure_folder_view(scratch: Path, count: int, *, rounds: int, warmup: int) -> dict[str, Stats]:
    root = scratch / "rows-folder"
    tools = _tools(root)
    floor_dir = scratch / "rows-folder-floor" / "notes"
    _fill(root / "default" / "notes", count)
    _fill(floor_dir, count)
    stats = interleaved(
        {
            "floor": lambda: _scandir_listing(floor_dir),
            "tools": lambda: _call(tools, "memory_view", {"path": "/notes/"}),
        },
        rounds=rounds,
        warmup=warmup,
    )
    tools.close()
    shutil.rmtree(root)
    shutil.rmtree(floor_dir.parent)
    return stats


def measure_clear(scratch: Path, count: int, *, rounds: int, warmup: int) -> dict[str, Stats]:
    root = scratch / "rows-clear"
    tools = _tools(root)
    floor_dir = scratch / "rows-clear-floor"

    def setup(variant: str) -> None:
        if variant == "floor":
            _fill(floor_dir / "notes", count)
        else:
            _fill(root / "default" / "notes", count)

    def tools_op() -> None:
        result = tools.call("memory_clear_all", {})
        if result.is_error or str(count) not in result.text.replace(",", ""):
            raise BenchError(f"memory_clear_all: {result.text}")

    stats = interleaved(
        {"floor": lambda: shutil.rmtree(floor_dir), "tools": tools_op},
        rounds=rounds,
        warmup=warmup,
        setup=setup,
    )
    if any((root / "default").glob("notes/*")):
        raise BenchError("clear_all left files behind")
    tools.close()
    return stats


# -- the section ---------------------------------------------------------------------


def _row(
    label: str, stats: dict[str, Stats], fmt: Callable[[float], str], limit: float, floor_name: str
) -> list[str]:
    ratio = _ratio(stats)
    targets.record(
        f"local {label}",
        f"{fmt(stats['tools'].median)}, {fmt_ratio(ratio)}",
        f"<= {limit:g}x {floor_name}",
        ratio <= limit,
    )
    return [label, *_pair(stats, fmt), f"<= {limit:g}x", "yes" if ratio <= limit else "**no**"]


def _record_lock_growth(spans: Mapping[tuple[str, int], EditSpans]) -> None:
    """The target row of the folder lock: how much more it is held at the largest size than at the
    smallest, against how much more the floor's bare rename takes there (in the same rounds). A
    rename after 1 MiB went through the caches is itself slower than after 1 KiB; work that grew
    with the file (reading or hashing it under the lock) would grow a thousandfold."""
    small, large = EDIT_SIZES[0], EDIT_SIZES[-1]

    def growth(op: str) -> tuple[float, float]:
        commit = spans[op, large].commit.median / spans[op, small].commit.median
        floor = spans[op, large].floor_rename.median / spans[op, small].floor_rename.median
        return commit, floor

    worst = max(EDITS, key=lambda op: growth(op)[0] / growth(op)[1])
    commit, floor = growth(worst)
    low, high = spans[worst, small], spans[worst, large]
    targets.record(
        "local edit: folder lock held, 1 MiB vs 1 KiB, against the floor's rename",
        f"{fmt_ratio(commit / floor)} ({worst}: held {fmt_us(low.commit.median)} -> "
        f"{fmt_us(high.commit.median)}, {fmt_ratio(commit)}; bare rename {fmt_us(low.floor_rename.median)} "
        f"-> {fmt_us(high.floor_rename.median)}, {fmt_ratio(floor)})",
        "independent of size (<= 1.5x the floor's growth)",
        commit / floor <= 1.5,
        before="held 26 µs -> 39 µs, 1.53x, against no floor (2026-11-25 00:29)",
    )


def run(scratch: Path, *, rounds: int, warmup: int, files: int = 10_000, huge: int = 75 * 1024 * KIB) -> str:
    rows: list[list[str]] = []
    progress("  delete")
    rows.append(
        _row("delete 4 KiB", measure_delete(scratch, rounds=rounds, warmup=warmup), fmt_us, 3, "unlink")
    )
    for size in (4 * KIB, 512 * KIB):
        progress(f"  rename {size // KIB} KiB")
        stats = measure_rename(scratch, size, rounds=rounds, warmup=warmup)
        rows.append(_row(f"rename {size // KIB} KiB", stats, fmt_us, 2, "rename + fsync"))
    lock_rows: list[list[str]] = []
    spans: dict[tuple[str, int], EditSpans] = {}
    for op in EDITS:
        for size in EDIT_SIZES:
            progress(f"  {op} {size // KIB} KiB")
            stats, spans[op, size] = measure_edit(scratch, op, size, rounds=rounds, warmup=warmup)
            label = f"{op} {size // KIB} KiB" if size < 1024 * KIB else f"{op} 1 MiB"
            rows.append(_row(label, stats, fmt_us, 1.5, "durable write"))
            row = spans[op, size]
            lock_rows.append(
                [
                    label,
                    fmt_us(row.commit.median),
                    fmt_us(row.commit.p90),
                    fmt_us(row.floor_rename.median),
                    fmt_us(row.turn.median),
                ]
            )
    for size in (4 * KIB, 512 * KIB):
        progress(f"  view {size // KIB} KiB")
        stats = measure_view(scratch, size, rounds=rounds, warmup=warmup)
        rows.append(_row(f"view {size // KIB} KiB", stats, fmt_us, 3, "open().read()"))
    progress(f"  folder view of {files:,} files")
    few = max(3, rounds // 20)
    stats = measure_folder_view(scratch, files, rounds=few * 2, warmup=2)
    rows.append(_row(f"folder view {files:,} files", stats, fmt_ms, 1.5, "os.scandir listing"))
    progress(f"  clear_all of {files:,} files")
    stats = measure_clear(scratch, files, rounds=few, warmup=1)
    rows.append(_row(f"clear_all {files:,} files", stats, fmt_ms, 2, "shutil.rmtree"))

    _record_lock_growth(spans)
    progress(f"  view of a {huge // (1024 * KIB)} MiB file (memory)")
    grown, chars = measure_huge_view(scratch, huge)
    bounded = grown < 16 * 1024 * KIB
    targets.record(
        f"local view of a {huge // (1024 * KIB)} MiB file: peak memory added",
        f"{grown / (1024 * KIB):.1f} MiB",
        "bounded (< 16 MiB, not the file's size)",
        bounded,
    )
    return "\n".join(
        [
            "## 1b. Local backend: target rows",
            "",
            f"{rounds} samples per variant after {warmup} warm-up rounds, interleaved (folder rows: "
            f"{few * 2} and {few}); `MemoryTools.call`, versioning off. Floors: delete = `os.unlink`; "
            "rename = `os.rename` + folder fsync; edits = read + edit + temp file, fsync, rename, "
            "folder fsync; view = `open().read()`; folder view = `os.scandir` + a stat per entry, "
            "sorted; clear_all = `shutil.rmtree`. Files are reset untimed before each edit sample.",
            "",
            markdown_table(
                [
                    "operation",
                    "floor median",
                    "tools.call median",
                    "tools.call p90",
                    "ratio",
                    "target",
                    "met",
                ],
                rows,
            ),
            "",
            "Time the folder lock is held per edit, around the compare-and-rename (what decides a "
            "conditional write; writers of every file in the folder wait for it), the bare "
            "`os.replace` of the floor's own write in the same rounds, and the writer's turn among "
            "the writers of the file for the whole read-modify-write (it only orders them on one "
            "machine; correctness never depends on it).",
            "",
            markdown_table(
                ["edit", "folder lock median", "folder lock p90", "floor's rename median", "turn median"],
                lock_rows,
            ),
            "",
            f"A view of a {huge // (1024 * KIB)} MiB file (fresh process, `tracemalloc`): at most "
            f"{grown / (1024 * KIB):.1f} MiB allocated at once during the call; the answer is {chars:,} "
            "characters.",
        ]
    )
