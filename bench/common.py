"""Timing and table helpers shared by the benchmark sections.

Every comparison is *interleaved*: one sample of each variant per round, in an
order that rotates every round, so the floor and memspace see the same noise
from a shared machine (a burst of someone else's I/O hits both, not just one).
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "BASE_TEXT",
    "BenchError",
    "Stats",
    "fmt_delta_ms",
    "fmt_ms",
    "fmt_ratio",
    "fmt_us",
    "interleaved",
    "markdown_table",
    "progress",
]


class BenchError(RuntimeError):
    """A benchmarked call did not do what it should (so its timing would be meaningless)."""


def _base_text() -> str:
    """Exactly 4 KiB of text: 128 lines of 32 bytes, with one ``state: draft`` line in the middle."""
    lines = [f"{i:03d} the quick brown fox jumps o" for i in range(128)]
    lines[64] = "064 state: draft, to be checked"
    text = "".join(line + "\n" for line in lines)
    assert len(text.encode()) == 4096, len(text.encode())
    return text


BASE_TEXT = _base_text()


@dataclass(frozen=True)
class Stats:
    """Wall-clock samples of one variant, in seconds."""

    samples: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p90(self) -> float:
        return self.quantile(0.9)

    @property
    def p99(self) -> float:
        return self.quantile(0.99)

    def quantile(self, q: float) -> float:
        ordered = sorted(self.samples)
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]  # nearest rank


def interleaved(
    variants: Mapping[str, Callable[[], object]],
    *,
    rounds: int,
    warmup: int,
    setup: Callable[[str], None] | None = None,
) -> dict[str, Stats]:
    """Time each variant ``rounds`` times, one sample per variant per round, after ``warmup`` rounds.

    ``setup(name)`` runs untimed before every sample of ``name`` (to reset a file, say).
    """
    names = list(variants)
    samples: dict[str, list[float]] = {name: [] for name in names}
    clock = time.perf_counter
    for index in range(warmup + rounds):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            if setup is not None:
                setup(name)
            fn = variants[name]
            start = clock()
            fn()
            elapsed = clock() - start
            if index >= warmup:
                samples[name].append(elapsed)
    return {name: Stats(tuple(values)) for name, values in samples.items()}


def fmt_us(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f} µs"


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.2f} ms"


def fmt_delta_ms(seconds: float) -> str:
    """A difference of times, signed: ``+59.44 ms``, ``-1.98 ms``."""
    return f"{seconds * 1e3:+,.2f} ms"


def fmt_ratio(value: float) -> str:
    return f"{value:.2f}x"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, right_from: int = 1) -> str:
    """A Markdown table; columns from ``right_from`` on are right-aligned (numbers)."""
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        padded = [
            cell.rjust(widths[i]) if i >= right_from else cell.ljust(widths[i])
            for i, cell in enumerate(cells)
        ]
        return "| " + " | ".join(padded) + " |"

    rule = [
        ("-" * (widths[i] - 1) + ":") if i >= right_from else "-" * widths[i] for i in range(len(headers))
    ]
    return "\n".join([line(headers), line(rule), *(line(row) for row in rows)])


def progress(message: str) -> None:
    """Progress goes to stderr, so stdout carries only the Markdown report."""
    print(message, file=sys.stderr, flush=True)
