"""``python -m bench``: the same as ``python bench/run.py``."""

from __future__ import annotations

import sys

from bench.suite import main

if __name__ == "__main__":
    sys.exit(main(prog="-m bench"))
