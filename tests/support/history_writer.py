"""Run as ``python -m tests.support.history_writer CONFIG_JSON [MODE]``: change /victim.md
forever until killed (for the SIGKILL tests).

``edits`` (the default) appends, restoring an earlier version every fourth write. ``moves``
also renames the file away and back and deletes and restores it, so a kill can land in any
step of a write, a rename, a delete or a restore.

The settings come as JSON (an agent_config, plus "environ" for the backend's variables).
"""

from __future__ import annotations

import itertools
import json
import os
import sys

from memspace import MemoryTools
from memspace.workspace import Workspace

VICTIM = "/victim.md"


def edits(workspace: Workspace, i: int) -> None:
    if i % 4 == 3:
        workspace.restore(VICTIM)
    else:
        workspace.append(VICTIM, f"line {i} " + "x" * 2000)


def moves(workspace: Workspace, i: int) -> None:
    step = i % 5
    if step == 3:
        away = f"/moved-{os.getpid()}-{i}.md"  # a fresh name: a kill may have left a copy elsewhere
        workspace.rename(VICTIM, away)
        workspace.rename(away, VICTIM)
    elif step == 4:
        workspace.delete(VICTIM)
        workspace.restore(VICTIM)
    else:
        edits(workspace, i)


def main(raw: str, mode: str = "edits") -> None:
    config = json.loads(raw)
    os.environ.update(config.pop("environ", {}))
    workspace = MemoryTools.from_config(config).workspace
    step = moves if mode == "moves" else edits
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    for i in itertools.count():
        step(workspace, i)


if __name__ == "__main__":  # pragma: no cover - a subprocess of the kill tests
    main(*sys.argv[1:])
