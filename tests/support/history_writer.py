"""Run as ``python -m tests.support.history_writer CONFIG_JSON``: edit /victim.md forever,
restoring an earlier version every few writes, until killed (for the SIGKILL tests).

The settings come as JSON (an agent_config, plus "environ" for the backend's variables).
"""

from __future__ import annotations

import itertools
import json
import os
import sys

from memspace import MemoryTools


def main(raw: str) -> None:
    config = json.loads(raw)
    os.environ.update(config.pop("environ", {}))
    workspace = MemoryTools.from_config(config).workspace
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    for i in itertools.count():
        if i % 4 == 3:
            workspace.restore("/victim.md")
        else:
            workspace.append("/victim.md", f"line {i} " + "x" * 2000)


if __name__ == "__main__":  # pragma: no cover - a subprocess of the kill tests
    main(sys.argv[1])
