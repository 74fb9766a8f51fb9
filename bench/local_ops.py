"""Section 1: the local backend, per operation, against plain-Python file I/O."""

from __future__ import annotations

from pathlib import Path

from bench.common import BASE_TEXT, Stats, fmt_us
from bench.floor import durable_write, read_text, text_edit
from bench.ops import measure_ops, ops_table
from memspace import MemoryTools

__all__ = ["LocalFloor", "run"]


class LocalFloor:
    """Plain files: ``open().read()``; writes are temp file + fsync + rename + directory fsync."""

    def __init__(self, directory: Path, memspace_dir: Path) -> None:
        self.directory = directory
        self.memspace_dir = memspace_dir
        directory.mkdir(parents=True, exist_ok=True)

    def reset(self, name: str) -> None:
        durable_write(self.directory / name, BASE_TEXT.encode())

    def view(self, name: str) -> str:
        return read_text(self.directory / name)

    def create(self, name: str) -> None:
        durable_write(self.directory / name, BASE_TEXT.encode())

    def edit(self, op: str, name: str) -> None:
        path = self.directory / name
        durable_write(path, text_edit(op, read_text(path)).encode())

    def content(self, name: str) -> str:
        return read_text(self.directory / name)

    def reset_memspace(self, path: str) -> None:
        durable_write(self.memspace_dir / path.lstrip("/"), BASE_TEXT.encode())


def measure(scratch: Path, *, rounds: int, warmup: int) -> dict[str, dict[str, Stats]]:
    local_dir = scratch / "local-ops"
    tools = MemoryTools.from_config(
        {
            "memory_tool_backend": "local",
            "memory_tool_local_dir": str(local_dir),
            "memory_tool_versioning": False,
        },
        environ={},
    )
    floor = LocalFloor(scratch / "local-floor", local_dir / "default")
    return measure_ops(tools, floor, rounds=rounds, warmup=warmup)


def run(scratch: Path, *, rounds: int, warmup: int) -> str:
    results = measure(scratch, rounds=rounds, warmup=warmup)
    return "\n".join(
        [
            "## 1. Local backend, per operation",
            "",
            f"{rounds} samples per variant after {warmup} warm-up rounds, interleaved. 4 KiB file. "
            "Floor: `open().read()` for view; for writes, temp file + fsync + rename + directory "
            "fsync (the durability LocalStore gives); edits read the file first. "
            "Ratio = `MemoryTools.call` / floor. Versioning off, as in the previous report (section 6 "
            "measures what history adds).",
            "",
            ops_table(results, fmt_us),
        ]
    )
