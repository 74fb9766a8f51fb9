"""Section 4: import time, each in a fresh interpreter, against ``python -c pass``.

Each row is the wall time of a whole ``python -I -c <code>`` subprocess
(interpreter start-up included), sampled interleaved with the others; the
``added`` column subtracts the floor's median, which is what the import costs.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from bench import targets
from bench.common import BenchError, fmt_delta_ms, fmt_ms, fmt_ratio, interleaved, markdown_table

__all__ = ["CASES", "run"]

# (label, code); the first one is the floor. LOCAL_DIR is filled in with a scratch directory.
CASES = (
    ("`python -c pass` (floor)", "pass"),
    ("`import memspace`", "import memspace"),
    (
        "`import memspace` + `MemoryTools.from_config` (local)",
        "import memspace; memspace.MemoryTools.from_config({'memory_tool_local_dir': LOCAL_DIR}, environ={})",
    ),
    (
        "`import memspace.storage.s3` + obstore (what the S3 backend loads)",
        "import memspace, memspace.storage.s3, obstore, obstore.store",
    ),
    ("`import obstore, obstore.store` alone", "import obstore, obstore.store"),
    (
        "`import memspace.cli` + its commands (what `memspace view` loads, typer)",
        "import memspace.cli; memspace.cli.app",
    ),
    ("`import typer` alone", "import typer"),
)


def _runner(code: str) -> Callable[[], None]:
    def run() -> None:
        done = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, check=False)
        if done.returncode != 0:
            raise BenchError(f"python -c {code!r} failed: {done.stderr.decode(errors='replace')[-500:]}")

    return run


def run(scratch: Path, *, rounds: int, warmup: int) -> str:
    local_dir = repr(str(scratch / "imports-local"))
    stats = interleaved(
        {label: _runner(code.replace("LOCAL_DIR", local_dir)) for label, code in CASES},
        rounds=rounds,
        warmup=warmup,
    )
    floor = stats[CASES[0][0]]
    rows = [
        [
            label,
            fmt_ms(s.median),
            fmt_ms(s.p90),
            "" if label == CASES[0][0] else fmt_delta_ms(s.median - floor.median),
            fmt_ratio(s.median / floor.median),
        ]
        for label, s in stats.items()
    ]
    added = {label: s.median - floor.median for label, s in stats.items()}
    core = added[CASES[1][0]]
    targets.record(
        "import memspace",
        fmt_delta_ms(core),
        "<= +50 ms (stretch +30 ms)",
        core <= 0.050,
    )
    targets.record(
        "import memspace + MemoryTools.from_config (first use)",
        fmt_delta_ms(added[CASES[2][0]]),
        "reported",
        None,
    )
    targets.record("import memspace.cli + its commands", fmt_delta_ms(added[CASES[5][0]]), "reported", None)
    return "\n".join(
        [
            "## 4. Import time (fresh interpreter)",
            "",
            f"{rounds} runs of each after {warmup} warm-up runs, interleaved; wall time of "
            "`python -I -c CODE`, interpreter start-up included. Added = median - floor median.",
            "",
            markdown_table(["what", "median", "p90", "added", "ratio"], rows),
        ]
    )
