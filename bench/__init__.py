"""memspace's benchmarks: per-operation latency against a floor, contention and import time.

Run ``.venv/bin/python bench/run.py`` (or ``python -m bench``); see bench/README.md.
"""
