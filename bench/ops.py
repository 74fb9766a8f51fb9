"""Per-operation latency: memspace against its floor, the same way for every backend.

Each operation is timed three ways, interleaved round by round:

* ``floor``     -- the minimal durable work in plain Python / raw obstore (see ``Floor``),
* ``workspace`` -- memspace's typed API (``Workspace.read`` / ``create`` / ``append`` / ...),
* ``tools``     -- ``MemoryTools.call``, what an agent runs (argument checks + model-facing text).

Every variant works on its own 4 KiB file, reset to the same content (untimed)
before each edit, so every sample edits a 4 KiB file; afterwards the three
files are compared, so a variant that did different work would be caught.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from bench.common import BASE_TEXT, BenchError, Stats, fmt_ratio, interleaved, markdown_table
from bench.floor import text_edit
from memspace import MemoryTools

__all__ = ["OPS", "Floor", "measure_ops", "ops_table"]

OPS = ("view", "create", "append", "str_replace", "insert")
VARIANTS = ("floor", "workspace", "tools")


class Floor(Protocol):
    """The floor implementation of one backend, and a way to reset memspace's files behind its back."""

    def reset(self, name: str) -> None:
        """Set the floor's file ``name`` to BASE_TEXT."""
        ...

    def view(self, name: str) -> str: ...

    def create(self, name: str) -> None:
        """Write BASE_TEXT to a new file ``name``."""
        ...

    def edit(self, op: str, name: str) -> None: ...

    def content(self, name: str) -> str: ...

    def reset_memspace(self, path: str) -> None:
        """Set memspace's file at virtual ``path`` to BASE_TEXT, bypassing memspace (untimed setup)."""
        ...


def _tool_args(op: str, path: str) -> tuple[str, dict[str, Any]]:
    if op == "view":
        return "memory_view", {"path": path}
    if op == "create":
        return "memory_create_update", {"path": path, "file_text": BASE_TEXT}
    if op == "append":
        return "memory_create_update", {"path": path, "file_text": "appended line", "mode": "append"}
    if op == "str_replace":
        return "memory_str_replace", {"path": path, "old_str": "state: draft", "new_str": "state: final"}
    if op == "insert":
        return "memory_insert", {"path": path, "insert_line": 64, "insert_text": "inserted line"}
    raise ValueError(op)


def measure_ops(tools: MemoryTools, floor: Floor, *, rounds: int, warmup: int) -> dict[str, dict[str, Stats]]:
    """Stats per operation and variant."""
    return {op: _measure_op(op, tools, floor, rounds=rounds, warmup=warmup) for op in OPS}


def _measure_op(op: str, tools: MemoryTools, floor: Floor, *, rounds: int, warmup: int) -> dict[str, Stats]:
    ws = tools.workspace
    counter = dict.fromkeys(VARIANTS, 0)  # creates write a new file each sample

    def path(variant: str) -> str:
        if op == "create":
            return f"/{variant}/create/{counter[variant]}.md"
        return f"/{variant}/{op}.md"

    def floor_name() -> str:
        return f"create-{counter['floor']}.md" if op == "create" else f"{op}.md"

    def setup(variant: str) -> None:
        if op == "create":
            counter[variant] += 1
        elif op != "view":
            if variant == "floor":
                floor.reset(floor_name())
            else:
                floor.reset_memspace(path(variant))

    def floor_op() -> None:
        if op == "view":
            floor.view(floor_name())
        elif op == "create":
            floor.create(floor_name())
        else:
            floor.edit(op, floor_name())

    def workspace_op() -> None:
        target = path("workspace")
        if op == "view":
            ws.read(target)
        elif op == "create":
            ws.create(target, BASE_TEXT)
        elif op == "append":
            ws.append(target, "appended line")
        elif op == "str_replace":
            ws.str_replace(target, "state: draft", "state: final")
        else:
            ws.insert(target, 64, "inserted line")

    def tools_op() -> None:
        name, args = _tool_args(op, path("tools"))
        result = tools.call(name, args)
        if result.is_error:
            raise BenchError(f"{name} failed: {result.text}")

    if op == "view":
        floor.reset(floor_name())
        for variant in ("workspace", "tools"):
            ws.create(path(variant), BASE_TEXT)
    stats = interleaved(
        {"floor": floor_op, "workspace": workspace_op, "tools": tools_op},
        rounds=rounds,
        warmup=warmup,
        setup=setup,
    )
    expected = BASE_TEXT if op in ("view", "create") else text_edit(op, BASE_TEXT)
    got = {
        "floor": floor.content(floor_name()),
        **{variant: ws.read(path(variant)).text for variant in ("workspace", "tools")},
    }
    wrong = [variant for variant, text in got.items() if text != expected]
    if wrong:
        raise BenchError(f"{op}: {', '.join(wrong)} left other content than the edit should")
    return stats


def ops_table(results: dict[str, dict[str, Stats]], fmt: Callable[[float], str]) -> str:
    rows = []
    for op, stats in results.items():
        floor, ws, tools = stats["floor"], stats["workspace"], stats["tools"]
        rows.append(
            [
                op,
                fmt(floor.median),
                fmt(floor.p90),
                fmt(ws.median),
                fmt(tools.median),
                fmt(tools.p90),
                fmt_ratio(tools.median / floor.median),
                fmt_ratio(tools.p90 / floor.p90),
            ]
        )
    headers = [
        "operation",
        "floor median",
        "floor p90",
        "Workspace median",
        "tools.call median",
        "tools.call p90",
        "ratio median",
        "ratio p90",
    ]
    return markdown_table(headers, rows)
