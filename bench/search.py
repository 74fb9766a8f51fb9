"""Section 5: search over 1,000 and 5,000 Markdown files (2 KiB each), local and on S3.

Variants, interleaved round by round (one sample of each per round):

* local: ``floor`` -- a plain Python loop (``os.walk`` + ``open().read()`` + the
  same case-insensitive match) -- against ``Workspace.search`` and the
  ``memory_search`` tool;
* S3: ``floor`` -- raw obstore listing every page, then GETting every object with
  the same parallelism memspace uses (16) and matching -- against a *cold*
  search (its cache folder wiped before every sample) and a *warm* one
  (repeated over the unchanged workspace), and the local search of the same
  files, sampled in the same rounds so the warm/local ratio is like for like.

Every variant must find the same matching lines, or the run fails. Requests are
counted in an untimed pass by a pass-through store wrapper (a GET per ``get``,
a HEAD per ``head``, a LIST per page of 1,000 listed keys, as S3Store pages).
"""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.common import BenchError, Stats, fmt_ms, fmt_ratio, interleaved, markdown_table, progress
from bench.counting import CountingStore
from bench.s3_ops import raw_store, s3_environ
from memspace import MemoryTools
from memspace.corpus import FETCH_PARALLELISM

if TYPE_CHECKING:
    from tests.support.seaweed import SeaweedServer

__all__ = ["run"]

NEEDLE = "Deadline"  # searched for ignoring case, as the tool does by default
_WORDS = [
    "agent",
    "memory",
    "workspace",
    "note",
    "plan",
    "result",
    "source",
    "summary",
    "draft",
    "review",
    "model",
    "tool",
    "file",
    "folder",
    "search",
    "cache",
    "request",
    "latency",
    "budget",
    "meeting",
    "follow-up",
    "decision",
    "risk",
    "owner",
    "status",
    "next",
    "step",
]


def markdown(i: int) -> str:
    """A 2 KiB Markdown note; every 50th mentions the deadline on one line."""
    rnd = random.Random(i)
    lines = [f"# Note {i}", ""]
    if i % 50 == 0:
        lines.append(f"- the deadline for note {i} is friday")
    while sum(len(line) + 1 for line in lines) < 2048:
        kind = rnd.random()
        words = " ".join(rnd.choice(_WORDS) for _ in range(rnd.randint(6, 12)))
        lines.append(f"- {words}" if kind < 0.6 else (f"## {words[:30]}" if kind < 0.7 else words))
    text = "\n".join(lines)[:2047] + "\n"
    assert len(text.encode()) == 2048
    return text


def relative(i: int) -> str:
    return f"project-{i % 20:02d}/notes/{i:05d}.md"


def _lines(text: str, needle: str) -> int:
    """Matching lines of one file, the plain way: a quick test of the file, then its lines.

    ``lower()`` is what plain Python does to ignore case; for ASCII (as here) it matches
    exactly what memspace's case-insensitive search matches.
    """
    lowered = text.lower()
    if needle not in lowered:
        return 0
    return sum(1 for line in lowered.split("\n") if needle in line)


def local_floor(root: Path) -> int:
    needle = NEEDLE.lower()
    found = 0
    for directory, _, names in os.walk(root):
        for name in names:
            with open(os.path.join(directory, name), encoding="utf-8") as handle:
                found += _lines(handle.read(), needle)
    return found


def s3_floor(store: Any, prefix: str) -> int:
    import obstore

    needle = NEEDLE.lower()
    keys = [meta["path"] for chunk in obstore.list(store, prefix=prefix, chunk_size=1000) for meta in chunk]

    def one(key: str) -> int:
        return _lines(bytes(obstore.get(store, key).bytes()).decode("utf-8"), needle)

    with ThreadPoolExecutor(FETCH_PARALLELISM) as pool:
        return sum(pool.map(one, keys))


def _recorded(
    variants: dict[str, Callable[[], int]],
) -> tuple[dict[str, Callable[[], object]], dict[str, int]]:
    """The variants as timed callables, and where each records how many lines it found."""
    results: dict[str, int] = {}

    def recorder(name: str, run: Callable[[], int]) -> Callable[[], object]:
        return lambda: results.__setitem__(name, run())

    return {name: recorder(name, run) for name, run in variants.items()}, results


def _check(results: dict[str, int], expected: int, files: int) -> None:
    wrong = {name: got for name, got in results.items() if got != expected}
    if wrong:
        raise BenchError(f"search of {files} files: {wrong} matching lines instead of {expected}")


def _local_tools(root: Path) -> MemoryTools:
    return MemoryTools.from_config(
        {"memory_tool_backend": "local", "memory_tool_local_dir": str(root)}, environ={}
    )


def _write_local(root: Path, count: int) -> None:
    for i in range(count):
        path = root / "default" / relative(i)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(markdown(i), encoding="utf-8")


def _write_s3(server: SeaweedServer, prefix: str, count: int) -> None:
    import obstore

    store = raw_store(server)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: obstore.put(store, prefix + relative(i), markdown(i).encode()), range(count)))


def _s3_tools(server: SeaweedServer, prefix: str, cache: Path) -> tuple[MemoryTools, CountingStore]:
    from memspace.storage.s3 import S3Store

    store = CountingStore(S3Store.from_env("s3", s3_environ(server)))
    config = {"memory_tool_backend": "s3", "memory_tool_prefix": prefix, "memory_tool_cache_dir": str(cache)}
    return MemoryTools.from_config(config, environ={}, store=store), store


def measure(
    scratch: Path, server: SeaweedServer | None, sizes: Sequence[int], rounds: Callable[[int], int]
) -> tuple[list[list[str]], list[list[str]]]:
    local_rows: list[list[str]] = []
    s3_rows: list[list[str]] = []
    for count in sizes:
        expected = sum(1 for i in range(count) if i % 50 == 0)
        root = scratch / f"search-local-{count}"
        _write_local(root, count)
        local = _local_tools(root)

        def search_local(tools: MemoryTools = local) -> int:
            return tools.workspace.search(NEEDLE, max_results=None).total

        def call_local(tools: MemoryTools = local) -> int:
            result = tools.call("memory_search", {"pattern": NEEDLE})
            return int(result.text.split()[1].replace(",", "")) if not result.is_error else -1

        samples = rounds(count)
        progress(f"search: local, {count} files, {samples} rounds")
        variants, results = _recorded(
            {
                "floor": lambda root=root: local_floor(root / "default"),  # type: ignore[misc]
                "search": search_local,
                "tool": call_local,
            }
        )
        stats = interleaved(variants, rounds=samples, warmup=1)
        _check(results, expected, count)
        local_rows.append(_local_row(count, stats))
        if server is None:
            continue
        s3_rows.append(_s3_row(scratch, server, count, expected, search_local, samples))
    return local_rows, s3_rows


def _local_row(count: int, stats: dict[str, Stats]) -> list[str]:
    floor, search, tool = stats["floor"], stats["search"], stats["tool"]
    return [
        f"{count:,}",
        fmt_ms(floor.median),
        fmt_ms(search.median),
        fmt_ms(search.p90),
        fmt_ms(tool.median),
        fmt_ratio(search.median / floor.median),
        fmt_ratio(tool.median / floor.median),
    ]


def _s3_row(
    scratch: Path,
    server: SeaweedServer,
    count: int,
    expected: int,
    search_local: Callable[[], int],
    samples: int,
) -> list[str]:
    prefix = f"search-{count}/"
    progress(f"search: writing {count} objects to S3")
    _write_s3(server, prefix + "default/", count)
    cold_dir, warm_dir = scratch / f"cache-cold-{count}", scratch / f"cache-warm-{count}"
    cold, cold_store = _s3_tools(server, prefix, cold_dir)
    warm, warm_store = _s3_tools(server, prefix, warm_dir)
    raw = raw_store(server)

    def wipe_cold(name: str) -> None:
        if name == "cold":
            assert cold.workspace.cache is not None
            cold.workspace.cache.close()
            shutil.rmtree(cold_dir, ignore_errors=True)

    warm.workspace.search(NEEDLE)  # fill the warm cache
    progress(f"search: S3, {count} files, {samples} rounds")
    variants, results = _recorded(
        {
            "floor": lambda: s3_floor(raw, prefix + "default"),
            "cold": lambda: cold.workspace.search(NEEDLE, max_results=None).total,
            "warm": lambda: warm.workspace.search(NEEDLE, max_results=None).total,
            "local": search_local,
        }
    )
    stats = interleaved(variants, rounds=samples, warmup=1, setup=wipe_cold)
    _check(results, expected, count)
    wipe_cold("cold")
    cold_store.counts.clear()
    cold.workspace.search(NEEDLE)
    warm_store.counts.clear()
    warm.workspace.search(NEEDLE)
    floor, first, again, local = stats["floor"], stats["cold"], stats["warm"], stats["local"]
    return [
        f"{count:,}",
        fmt_ms(floor.median),
        fmt_ms(first.median),
        _requests(cold_store.counts),
        fmt_ms(again.median),
        fmt_ms(again.p90),
        _requests(warm_store.counts),
        fmt_ratio(first.median / floor.median),
        fmt_ratio(again.median / floor.median),
        fmt_ms(local.median),
        fmt_ratio(again.median / local.median),
    ]


def _requests(counts: dict[str, int]) -> str:
    return " + ".join(f"{counts[kind]:,} {kind}" for kind in ("LIST", "HEAD", "GET") if counts.get(kind))


def run(scratch: Path, server: SeaweedServer | None, *, quick: bool = False) -> str:
    sizes = (1000, 5000)

    def rounds(count: int) -> int:
        if quick:
            return 2
        return 15 if count <= 1000 else 7

    local_rows, s3_rows = measure(scratch, server, sizes, rounds)
    parts = [
        "## 5. Search (grep) over Markdown files of 2 KiB",
        "",
        f"Case-insensitive literal search for {NEEDLE!r} (in every 50th file), all matches counted. "
        "Interleaved rounds after one warm-up round: "
        + ", ".join(f"{rounds(n)} for {n:,} files" for n in sizes)
        + ". Medians unless marked p90.",
        "",
        "### Local backend",
        "",
        "Floor: a plain Python loop, `os.walk` + `open().read()` + the same match. "
        "`Workspace.search` walks with `O_NOFOLLOW` and reads through the store; "
        "`memory_search` adds the model-facing text (first 100 matches).",
        "",
        markdown_table(
            [
                "files",
                "plain loop",
                "Workspace.search",
                "search p90",
                "memory_search",
                "search / loop",
                "tool / loop",
            ],
            local_rows,
        ),
    ]
    if server is None:
        parts += ["", "S3: skipped, the SeaweedFS `weed` binary is not installed."]
    else:
        parts += [
            "",
            "### S3 backend (SeaweedFS on loopback)",
            "",
            "Floor: raw obstore listing every page, then GETting every object, "
            f"{FETCH_PARALLELISM} at a time, and matching. *Cold*: `Workspace.search` with its cache "
            "folder wiped before every sample. *Warm*: the same search repeated over the unchanged "
            "workspace. *Local*: `Workspace.search` of the same files on the local backend, sampled in "
            "the same rounds. Requests: one untimed search of each kind.",
            "",
            markdown_table(
                [
                    "files",
                    "raw obstore",
                    "cold",
                    "cold requests",
                    "warm",
                    "warm p90",
                    "warm requests",
                    "cold / raw",
                    "warm / raw",
                    "local",
                    "warm / local",
                ],
                s3_rows,
            ),
        ]
    return "\n".join(parts)
