"""Run every memspace benchmark: ``.venv/bin/python bench/run.py [--quick] [--only local,s3,...]``.

Also runnable as ``.venv/bin/python -m bench``. See bench/README.md.
"""

from __future__ import annotations

import sys
from pathlib import Path


def _main() -> int:
    # Run as a script, Python puts bench/ (not the project root) on sys.path;
    # the benchmarks import ``bench.*`` and the test suite's SeaweedFS helper.
    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    from bench.suite import main

    return main(prog="bench/run.py")


if __name__ == "__main__":
    sys.exit(_main())
