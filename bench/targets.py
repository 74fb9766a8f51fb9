"""The targets every row is held to, and the figures of the previous report ("before").

Sections call :func:`record` as they measure; the suite prints every recorded row in
one table (row, before, now, target, met?) at the top of the report.

``BEFORE`` holds the figures of the report this one replaces (commit fe4c200,
2026-11-23, same machine): a new run compares against them without keeping the old
``results.md``. Rows that report did not have are "-".
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.common import markdown_table

__all__ = ["BEFORE", "Row", "clear", "record", "rows", "table"]

BEFORE: dict[str, str] = {
    # section 1, MemoryTools.call / floor, 4 KiB
    "local view 4 KiB": "72 µs, 6.13x",
    "local append 4 KiB": "816 µs, 1.23x",
    "local str_replace 4 KiB": "812 µs, 1.25x",
    "local insert 4 KiB": "815 µs, 1.24x",
    # section 3, local contention
    "local contention 8 writers": "0.81x, max 614 ms",
    # section 4
    "import memspace": "+37.35 ms",
    # section 2 (requests counted in tests/test_s3.py, quoted in docs/design.md)
    "S3 requests: delete file": "HEAD + DELETE (2)",
    "S3 requests: rename file": "GET + LIST + PUT + DELETE (4)",
    "S3 requests: view folder": "GET + LIST (2)",
    "S3 requests: create": "PUT (1)",
    "S3 requests: append": "GET + PUT (2)",
    # search (docs/design.md)
    "search local 1,000 files": "39 ms, 1.8x",
    "search local 5,000 files": "213 ms, 1.8x",
}


@dataclass(frozen=True)
class Row:
    name: str
    now: str
    target: str
    met: bool | None  # None: reported, no target to meet
    before: str


_ROWS: list[Row] = []


def record(name: str, now: str, target: str, met: bool | None, *, before: str | None = None) -> None:
    _ROWS.append(Row(name, now, target, met, before if before is not None else BEFORE.get(name, "-")))


def rows() -> list[Row]:
    return list(_ROWS)


def clear() -> None:
    _ROWS.clear()


def table() -> str:
    verdict = {True: "yes", False: "**no**", None: "-"}
    return "\n".join(
        [
            "## Targets",
            "",
            "Every row of this run against its target, beside the previous report's figure "
            "(before: commit fe4c200, 2026-11-23). Ratios are against a floor measured in the same "
            "run; the sections below give the samples and the floors.",
            "",
            markdown_table(
                ["row", "before", "now", "target", "met"],
                [[r.name, r.before, r.now, r.target, verdict[r.met]] for r in _ROWS],
                right_from=5,
            ),
        ]
    )
