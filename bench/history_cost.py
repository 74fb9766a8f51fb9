"""Section 6: S3 requests per tool call, and what version history costs (requests, latency, bytes).

Requests are counted at the HTTP level by the fault proxy of the test suite (mitmdump)
in front of SeaweedFS, one tool call at a time, uncontended: a LIST is a GET with
``list-type`` in its query, a batch delete a POST with ``?delete``. Latency on S3 is
measured through the same proxy told to hold every request 20 ms before forwarding it
(an RTT of about 20 ms, as to a remote region), versioning on and off interleaved.
On local disk the same calls are timed on and off, interleaved. The storage a version
adds is the bytes memspace keeps beside the file after appends, per append.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from tests.support.faultproxy import FaultProxy, find_mitmdump
from tests.support.seaweed import SeaweedServer

from bench import targets
from bench.common import (
    BASE_TEXT,
    BenchError,
    Stats,
    fmt_ms,
    fmt_ratio,
    fmt_us,
    interleaved,
    markdown_table,
    progress,
)
from bench.floor import durable_write
from bench.s3_ops import s3_environ
from memspace import MemoryTools

__all__ = ["run"]

RTT = 0.020
FOLDER_FILES = 100
CALLS = ("create", "append", "str_replace", "view file", "view folder", "rename file", "delete file")


def _check(result: Any, what: str) -> None:
    if result.is_error:
        raise BenchError(f"{what} failed: {result.text}")


def _kind(request: dict[str, str]) -> str:
    method, path = request["method"], request["path"]
    if method == "GET" and "list-type" in path:
        return "LIST"
    if method == "POST" and "delete" in path:
        return "DELETE (batch)"
    return method


def _counted(requests: list[dict[str, str]]) -> str:
    counts: dict[str, int] = {}
    for request in requests:
        kind = _kind(request)
        counts[kind] = counts.get(kind, 0) + 1
    order = ["HEAD", "GET", "LIST", "PUT", "DELETE", "DELETE (batch)", "POST"]
    parts = [f"{counts[k]} {k}" for k in order if k in counts]
    parts += [f"{v} {k}" for k, v in counts.items() if k not in order]
    return " + ".join(parts) + f" = {sum(counts.values())}" if parts else "0"


def _s3_tools(environ: dict[str, str], prefix: str, versioning: bool) -> MemoryTools:
    config = {"memory_tool_backend": "s3", "memory_tool_prefix": prefix, "memory_tool_versioning": versioning}
    return MemoryTools.from_config(config, environ=environ)


def _calls(tools: MemoryTools) -> dict[str, Callable[[], None]]:
    """Each tool call of the table, on a state prepared by :func:`_prepare` (each run once)."""

    def call(name: str, args: dict[str, Any]) -> Callable[[], None]:
        return lambda: _check(tools.call(name, args), name)

    return {
        "create": call("memory_create_update", {"path": "/new.md", "file_text": BASE_TEXT}),
        "append": call("memory_create_update", {"path": "/a.md", "file_text": "one more", "mode": "append"}),
        "str_replace": call(
            "memory_str_replace", {"path": "/a.md", "old_str": "state: draft", "new_str": "state: final"}
        ),
        "view file": call("memory_view", {"path": "/a.md"}),
        "view folder": call("memory_view", {"path": "/notes/"}),
        "rename file": call("memory_rename", {"old_path": "/a.md", "new_path": "/b.md"}),
        "delete file": call("memory_delete", {"path": "/b.md"}),
        f"rename folder of {FOLDER_FILES} files": call(
            "memory_rename", {"old_path": "/many", "new_path": "/moved"}
        ),
    }


def _prepare(tools: MemoryTools) -> None:
    ws = tools.workspace
    ws.create("/a.md", BASE_TEXT)
    for i in range(3):
        ws.create(f"/notes/n{i}.md", "a note")
    for i in range(FOLDER_FILES):
        ws.create(f"/many/f{i:03d}.md", "a short file")


def count_requests(server: SeaweedServer, proxy: FaultProxy) -> dict[bool, dict[str, str]]:
    """Requests per tool call, versioning off and on."""
    through = {**s3_environ(server), "AWS_ENDPOINT_URL": proxy.endpoint}
    result: dict[bool, dict[str, str]] = {}
    for versioning in (False, True):
        prefix = f"requests-{'on' if versioning else 'off'}/"
        direct = _s3_tools(s3_environ(server), prefix, versioning)
        _prepare(direct)
        tools = _s3_tools(through, prefix, versioning)
        counts: dict[str, str] = {}
        for label, call in _calls(tools).items():
            proxy.reset()
            call()
            counts[label] = _counted(proxy.requests())
        result[versioning] = counts
        tools.close()
        direct.close()
    return result


# -- latency, on and off ------------------------------------------------------------


_LATENCY_CALLS = (
    "create",
    "append",
    "append, one file",
    "str_replace",
    "view file",
    "rename file",
    "delete file",
)


def _numbered(operation: Callable[[int], None], counter: dict[str, int]) -> None:
    operation(counter["floor"])


_WRITES = frozenset(_LATENCY_CALLS) - {"view file"}


def _latency(
    make: Callable[[bool], tuple[MemoryTools, MemoryTools]],
    *,
    rounds: int,
    warmup: int,
    floor: Callable[[int], None] | None = None,
) -> dict[str, dict[str, Stats]]:
    """Per call: Stats of versioning off and on. ``make(versioning)`` gives (timed tools, setup tools).

    With ``floor(n)`` (a hand-written operation on its own n-th file), its Stats join every call's
    rounds as ``"floor"``, interleaved with the two variants.
    """
    off, off_setup = make(False)
    on, on_setup = make(True)
    pairs = {"off": (off, off_setup), "on": (on, on_setup)}
    out: dict[str, dict[str, Stats]] = {}
    for label in _LATENCY_CALLS:
        counter = {"off": 0, "on": 0, "floor": 0}
        calls: dict[str, Callable[[], None]] = {}
        for variant, (tools, _) in pairs.items():
            calls[variant] = _timed_call(label, tools, variant, counter)
        if floor is not None:
            calls["floor"] = partial(_numbered, floor, counter)

        def setup(variant: str, label: str = label, counter: dict[str, int] = counter) -> None:
            counter[variant] += 1
            if variant in pairs:
                _setup_call(label, pairs[variant][1], counter[variant])

        out[label] = interleaved(calls, rounds=rounds, warmup=warmup, setup=setup)
    for tools in (off, off_setup, on, on_setup):
        tools.close()
    return out


def _setup_call(label: str, tools: MemoryTools, n: int) -> None:
    ws = tools.workspace
    if label in ("create", "append, one file"):
        return
    if label in ("append", "str_replace", "view file", "delete file"):
        ws.write_bytes(f"/lat/{label}-{n}.md", BASE_TEXT.encode())
    elif label == "rename file":
        ws.write_bytes(f"/lat/rename-{n}.md", BASE_TEXT.encode())


def _timed_call(label: str, tools: MemoryTools, variant: str, counter: dict[str, int]) -> Callable[[], None]:
    def run() -> None:
        n = counter[variant]
        if label == "create":
            args: tuple[str, dict[str, Any]] = (
                "memory_create_update",
                {"path": f"/lat/new-{n}.md", "file_text": BASE_TEXT},
            )
        elif label == "append, one file":  # the same file every time: its history grows
            args = (
                "memory_create_update",
                {"path": "/lat/one.md", "file_text": f"line {n}", "mode": "append"},
            )
        elif label == "append":
            args = (
                "memory_create_update",
                {"path": f"/lat/append-{n}.md", "file_text": "x", "mode": "append"},
            )
        elif label == "str_replace":
            args = (
                "memory_str_replace",
                {"path": f"/lat/str_replace-{n}.md", "old_str": "state: draft", "new_str": "state: final"},
            )
        elif label == "view file":
            args = ("memory_view", {"path": f"/lat/view file-{n}.md"})
        elif label == "rename file":
            args = ("memory_rename", {"old_path": f"/lat/rename-{n}.md", "new_path": f"/lat/renamed-{n}.md"})
        else:
            args = ("memory_delete", {"path": f"/lat/delete file-{n}.md"})
        _check(tools.call(*args), label)

    return run


@contextmanager
def _delayed(proxy: FaultProxy) -> Iterator[None]:
    proxy.reset()
    proxy.delay("*", seconds=RTT, count=10**9)
    try:
        yield
    finally:
        proxy.reset()


def s3_latency(
    server: SeaweedServer, proxy: FaultProxy, *, rounds: int, warmup: int
) -> dict[str, dict[str, Stats]]:
    through = {**s3_environ(server), "AWS_ENDPOINT_URL": proxy.endpoint}

    def make(versioning: bool) -> tuple[MemoryTools, MemoryTools]:
        prefix = f"latency-{'on' if versioning else 'off'}/"
        return _s3_tools(through, prefix, versioning), _s3_tools(s3_environ(server), prefix, versioning)

    with _delayed(proxy):
        return _latency(make, rounds=rounds, warmup=warmup)


def local_latency(scratch: Path, *, rounds: int, warmup: int) -> dict[str, dict[str, Stats]]:
    def make(versioning: bool) -> tuple[MemoryTools, MemoryTools]:
        config = {
            "memory_tool_backend": "local",
            "memory_tool_local_dir": str(scratch / f"history-{'on' if versioning else 'off'}"),
            "memory_tool_versioning": versioning,
        }
        return MemoryTools.from_config(config, environ={}), MemoryTools.from_config(config, environ={})

    floor_dir = scratch / "history-floor"
    floor_dir.mkdir(parents=True, exist_ok=True)
    data = BASE_TEXT.encode()

    def floor(n: int) -> None:  # the hand-written durable write of a 4 KiB file
        durable_write(floor_dir / f"floor-{n}.md", data)

    return _latency(make, rounds=rounds, warmup=warmup, floor=floor)


def rename_floor(scratch: Path, *, rounds: int, warmup: int) -> dict[str, Stats]:
    """A careful hand-written file rename, without and with what history adds to it locally.

    Without: open the folder, ``rename``, fsync the folder. With, as memspace must for the same
    promise (the markers' layout, the moved file's write ids): read the file's ids, open the
    history folders of both paths (making the new path's), ``rename``, tag the file, fsync the
    folder, then write the two markers. The ratio is the least history can cost a rename here.
    """
    folder_flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
    create_flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    attribute = "user.memspace.write-ids"
    base = scratch / "rename-floor"
    for variant in ("off", "on"):
        (base / variant / "lat").mkdir(parents=True)
        (base / variant / ".memspace" / "default" / "history" / "lat" / ".memspace-v").mkdir(parents=True)
    counter = {"off": 0, "on": 0}

    def setup(variant: str) -> None:
        counter[variant] += 1
        n, root = counter[variant], base / variant
        (root / "lat" / f"a-{n}.md").write_bytes(BASE_TEXT.encode())
        if variant == "on":
            history = root / ".memspace" / "default" / "history" / "lat" / ".memspace-v" / f"a-{n}.md"
            history.mkdir()
            os.link(root / "lat" / f"a-{n}.md", history / "v")
            os.setxattr(root / "lat" / f"a-{n}.md", attribute, b"1 0123456789abcdef")

    def rename(variant: str) -> Callable[[], None]:
        def run() -> None:
            n, root = counter[variant], base / variant
            top = os.open(root, folder_flags)
            lat = os.open("lat", folder_flags, dir_fd=top)
            if variant == "off":
                os.rename(f"a-{n}.md", f"b-{n}.md", src_dir_fd=lat, dst_dir_fd=lat)
                os.fsync(lat)
            else:
                fd = os.open(f"a-{n}.md", os.O_RDONLY | os.O_NOFOLLOW, dir_fd=lat)
                os.getxattr(fd, attribute)
                history = os.open(".memspace/default/history/lat/.memspace-v", folder_flags, dir_fd=top)
                old = os.open(f"a-{n}.md", folder_flags, dir_fd=history)
                os.mkdir(f"b-{n}.md", 0o700, dir_fd=history)
                new = os.open(f"b-{n}.md", folder_flags, dir_fd=history)
                os.close(history)
                os.rename(f"a-{n}.md", f"b-{n}.md", src_dir_fd=lat, dst_dir_fd=lat)
                os.setxattr(fd, attribute, b"1 fedcba9876543210 0123456789abcdef")
                os.close(fd)
                os.fsync(lat)
                for marker_folder, name, body in (
                    (new, "r", f"from /lat/a-{n}.md"),
                    (old, "t", f"to /lat/b-{n}.md"),
                ):
                    marker = os.open(name, create_flags, 0o600, dir_fd=marker_folder)
                    os.write(marker, body.encode())
                    os.close(marker)
                    os.close(marker_folder)
            os.close(lat)
            os.close(top)

        return run

    return interleaved({v: rename(v) for v in ("off", "on")}, rounds=rounds, warmup=warmup, setup=setup)


# -- storage per version ------------------------------------------------------------


def _local_bytes(root: Path) -> int:
    """Bytes of the workspace's files and of its reserved area (each inode once: versions are
    hard links); the store's own files (the writers' queue) are not the workspace's."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for folder, _, files in (*os.walk(root / "default"), *os.walk(root / ".memspace" / "default")):
        for name in files:
            st = os.lstat(os.path.join(folder, name))
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_size
    return total


def storage_per_version(scratch: Path, server: SeaweedServer | None, appends: int = 20) -> dict[str, float]:
    """Bytes kept per version after ``appends`` appends of one line to a 4 KiB file, beyond the file."""
    out: dict[str, float] = {}
    root = scratch / "history-bytes"
    config = {
        "memory_tool_backend": "local",
        "memory_tool_local_dir": str(root),
        "memory_tool_versioning": True,
    }
    tools = MemoryTools.from_config(config, environ={})
    tools.workspace.create("/a.md", BASE_TEXT)
    for i in range(appends):
        tools.workspace.append("/a.md", f"line {i}")
    live = len(tools.workspace.read("/a.md").text.encode())
    out["local"] = (_local_bytes(root) - live) / (appends + 1)
    tools.close()
    if server is not None:
        tools = _s3_tools(s3_environ(server), "history-bytes/", True)
        tools.workspace.create("/a.md", BASE_TEXT)
        for i in range(appends):
            tools.workspace.append("/a.md", f"line {i}")
        live = len(tools.workspace.read("/a.md").text.encode())
        stored = sum(
            info.size for info in tools.workspace.store.list("history-bytes/", include_reserved=True)
        )
        out["s3"] = (stored - live) / (appends + 1)
        tools.close()
    return out


# -- the section ---------------------------------------------------------------------


def _latency_rows(stats: dict[str, dict[str, Stats]], fmt: Callable[[float], str]) -> list[list[str]]:
    return [
        [
            label,
            fmt(s["off"].median),
            fmt(s["on"].median),
            fmt_ratio(s["on"].median / s["off"].median),
        ]
        for label, s in stats.items()
    ]


def _over_floor(stats: dict[str, dict[str, Stats]], label: str) -> str:
    """A writing call with history on over the durable-write floor ("-" for a view)."""
    return fmt_ratio(stats[label]["on"].median / stats[label]["floor"].median) if label in _WRITES else "-"


def run(scratch: Path, server: SeaweedServer | None, *, rounds: int, warmup: int) -> str:
    parts = ["## 6. Requests per tool call, and the cost of version history", ""]
    progress("  local latency, versioning on and off")
    local = local_latency(scratch, rounds=rounds, warmup=warmup)
    worst_write, worst_label = max(
        (s["on"].median / s["floor"].median, label) for label, s in local.items() if label in _WRITES
    )
    targets.record(
        "history on, local writes vs durable-write floor (worst call)",
        f"{fmt_ratio(worst_write)} ({worst_label})",
        "<= 1.5x",
        worst_write <= 1.5,
    )
    worst_local, worst_label = max((s["on"].median / s["off"].median, label) for label, s in local.items())
    targets.record(
        "history on/off, local (worst call)", f"{fmt_ratio(worst_local)} ({worst_label})", "reported", None
    )
    floor = rename_floor(scratch, rounds=rounds, warmup=warmup) if hasattr(os, "setxattr") else None
    if floor is not None:
        ratio = floor["on"].median / floor["off"].median
        targets.record("history on/off, local rename by hand (the floor)", fmt_ratio(ratio), "reported", None)
    progress("  storage per version")
    per_version = storage_per_version(scratch, server)
    for where, size in per_version.items():
        targets.record(
            f"history: bytes kept per version of a 4 KiB file, {where}", f"{size:,.0f} B", "reported", None
        )
    s3_counts: dict[bool, dict[str, str]] | None = None
    s3_lat: dict[str, dict[str, Stats]] | None = None
    if server is None:
        parts.append("S3 rows skipped: the SeaweedFS `weed` binary is not installed.")
    elif find_mitmdump() is None:
        parts.append("S3 rows skipped: mitmdump (the request-counting proxy) is not installed.")
    else:
        with FaultProxy(server.endpoint) as proxy:
            progress("  S3 requests per tool call")
            s3_counts = count_requests(server, proxy)
            progress(f"  S3 latency through a {RTT * 1000:.0f} ms proxy, versioning on and off")
            s3_lat = s3_latency(server, proxy, rounds=max(3, rounds // 4), warmup=1)
    if s3_counts is not None:
        for label in s3_counts[False]:
            targets.record(f"S3 requests: {label}", s3_counts[False][label], "the design's minimum", None)
        parts += [
            "### S3 requests per tool call (HTTP, counted by the proxy)",
            "",
            "Uncontended, one call at a time. Delete of a file is HEAD + a stub PUT `If-Match` + DELETE: "
            "the stub fences the file against a rename running at the same moment (obstore and R2 have "
            "no conditional DELETE). A folder rename copies server-side (COPY is a PUT with "
            "`x-amz-copy-source`).",
            "",
            markdown_table(
                ["tool call", "versioning off", "versioning on"],
                [[label, s3_counts[False][label], s3_counts[True][label]] for label in s3_counts[False]],
            ),
            "",
        ]
    if s3_lat is not None:
        worst = max(s["on"].median / s["off"].median for s in s3_lat.values())
        targets.record(
            "history on/off, S3 at 20 ms RTT (worst call)", fmt_ratio(worst), "<= 1.15x", worst <= 1.15
        )
        n = max(3, rounds // 4)
        parts += [
            f"### S3 latency at {RTT * 1000:.0f} ms RTT, versioning off and on",
            "",
            f"{n} samples per call after 1 warm-up round, interleaved; every request held {RTT * 1000:.0f} ms "
            "by the proxy. On/off is the cost of keeping every version.",
            "",
            markdown_table(["tool call", "off median", "on median", "on/off"], _latency_rows(s3_lat, fmt_ms)),
            "",
        ]
    parts += [
        "### Local latency, versioning off and on",
        "",
        f"{rounds} samples per call after {warmup} warm-up rounds, interleaved; each sample on its own file, "
        "except *append, one file*: every sample appends to the same file, whose history grows by one "
        "version a sample. The durable-write floor (a hand-written temp file, fsync, rename and folder "
        "fsync of 4 KiB to a new file) is sampled in the same rounds; the target holds every writing "
        "call with history on within 1.5x of it.",
        "",
        markdown_table(
            ["tool call", "off median", "on median", "on/off", "durable write", "on / durable write"],
            [
                [*row, fmt_us(local[row[0]]["floor"].median), _over_floor(local, row[0])]
                for row in _latency_rows(local, fmt_us)
            ],
        ),
        "",
    ]
    if floor is not None:
        parts += [
            "The floor of *rename file*: a hand-written rename (open the folder, `rename`, fsync it) "
            f"takes {fmt_us(floor['off'].median)}; with what history adds for the same promise (read "
            "the file's write ids, make the new path's history folder, tag the file, write the two "
            f"markers) {fmt_us(floor['on'].median)}: {fmt_ratio(floor['on'].median / floor['off'].median)}, "
            "interleaved in this run. Most of it is the three new inodes (a folder, two markers).",
            "",
        ]
    parts += [
        "Bytes kept per version (after 20 appends of a line to a 4 KiB file, beyond the live file): "
        + ", ".join(f"{where} {size:,.0f} B" for where, size in per_version.items())
        + ". A version keeps the whole content it had (about the file's size); locally it is the "
        "replaced file itself, kept by a hard link, so recording it copies nothing.",
    ]
    return "\n".join(parts)
