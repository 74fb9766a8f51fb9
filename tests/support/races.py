"""Workers for the race and crash tests: real OS processes driving the tools at one file or folder.

``scripted`` runs, in every worker process, one list of tool calls per round; all
workers start each round together at a barrier, so a rename in one process and a
rename, delete or edit in another really overlap. ``follow_and_edit`` keeps
editing one file while worker 0 renames it back and forth. Run as a module, this
file is the process the crash test kills: it renames a folder when told to.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import time
from multiprocessing.synchronize import Barrier
from typing import Any

from memspace import MemoryTools

from .workers import Config, Environ, _tools

Step = tuple[float, str, dict[str, Any]]
"""One call of a round: seconds to wait first, the tool, its arguments."""

Outcome = tuple[bool, str]
"""What a call answered: whether it was an error, and its text."""

# What a rename or delete that lost a race may answer: each says what happened and what to do.
CLEAR_LOSSES = (
    "already exists",
    "does not exist",
    "was renamed to",
    "is being renamed to",
    "is being changed by others",
)


def scripted(
    config: Config, environ: Environ, worker: int, script: list[list[list[Step]]], barrier: Barrier, out: Any
) -> None:
    """Run ``script[worker]``: for each round, wait for every worker, then make that round's calls."""
    tools = _tools(config, environ)
    rounds: list[list[Outcome]] = []
    for steps in script[worker]:
        barrier.wait()
        answers: list[Outcome] = []
        for delay, name, args in steps:
            if delay:
                time.sleep(delay)
            result = tools.call(name, args)
            answers.append((result.is_error, result.text))
        rounds.append(answers)
    out.put((worker, rounds))


def is_clear_loss(text: str) -> bool:
    return any(words in text for words in CLEAR_LOSSES)


# -- editing a file that another process keeps renaming -------------------------------------

EditOp = tuple[str, str, str]
"""``(kind, id, text)``: kind ``append`` (text is the line), ``replace`` (id names the line
``item <id>: todo`` to turn into ``item <id>: done``) or ``insert`` (text is the line, after line 1)."""

NAMES = ("/a.md", "/b.md")


def _edit_call(op: EditOp, path: str) -> tuple[str, dict[str, Any]]:
    kind, ident, text = op
    if kind == "append":
        return "memory_create_update", {"path": path, "file_text": text, "mode": "append"}
    if kind == "replace":
        return "memory_str_replace", {
            "path": path,
            "old_str": f"item {ident}: todo",
            "new_str": f"item {ident}: done",
        }
    return "memory_insert", {"path": path, "insert_line": 1, "insert_text": text}


def follow_and_edit(
    config: Config,
    environ: Environ,
    worker: int,
    plan: dict[str, Any],
    barrier: Barrier,
    out: Any,
) -> None:
    """Worker 0 renames the file between /a.md and /b.md ``plan["renames"]`` times; the others
    make their edits from ``plan["edits"][worker]``, following the file when it moved.

    An edit that finds the file gone tries the other name; an edit whose text is no longer
    there (a replace of a line in a file that an append re-created) is given up. Each
    worker reports ``(op, acknowledged, last answer)`` per edit, or the renamer its answers.
    """
    tools = _tools(config, environ)
    rng = random.Random(worker)
    barrier.wait()
    if worker == 0:
        answers: list[Outcome] = []
        spill = 0
        for _ in range(plan["renames"]):
            time.sleep(rng.uniform(0, plan["pause"]))
            here, there = NAMES if tools.workspace.exists(NAMES[0]) else NAMES[::-1]
            result = tools.call("memory_rename", {"old_path": here, "new_path": there})
            if result.is_error and "already exists" in result.text:
                # An append re-created the old name after a rename: move that copy out of the way.
                spill += 1
                result = tools.call("memory_rename", {"old_path": there, "new_path": f"/spill/{spill}.md"})
            answers.append((result.is_error, result.text))
        out.put((worker, answers))
        return
    path = NAMES[0]
    done: list[tuple[EditOp, bool, str]] = []
    for raw in plan["edits"][worker]:
        op: EditOp = (raw[0], raw[1], raw[2])
        text = ""
        acknowledged = False
        for _ in range(60):
            name, args = _edit_call(op, path)
            result = tools.call(name, args)
            text = result.text
            if not result.is_error:
                acknowledged = True
                break
            if "was renamed to" in text or "does not exist" in text or "was not found" in text:
                path = NAMES[1] if path == NAMES[0] else NAMES[0]
                continue
            if "being changed by others" in text:
                continue
            break  # any other answer: the edit failed, say why
        done.append((op, acknowledged, text))
    out.put((worker, done))


# -- the process the crash test kills --------------------------------------------------------


def rename_when_told(config: Config, environ: Environ, die_deleting: bool = False) -> None:
    """Print ``ready`` once the tools are built, then rename each ``old new`` line read from stdin.

    With ``die_deleting``, the process kills itself (SIGKILL) half way through the delete
    phase of an object-store folder rename: after the sources are fenced, when the first
    batch of their stubs is being deleted, only half of that batch is.
    """
    tools = MemoryTools.from_config(dict(config), environ=dict(environ))
    tools.workspace.exists("/")  # the first request opens the connection
    if die_deleting:
        _die_in_delete_phase(tools.workspace.store)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    for line in sys.stdin:
        old, new = line.split()
        result = tools.call("memory_rename", {"old_path": old, "new_path": new})
        sys.stdout.write(json.dumps([result.is_error, result.text]) + "\n")
        sys.stdout.flush()


def _die_in_delete_phase(store: Any) -> None:
    from memspace.storage.objects import JOURNAL  # object stores only

    delete = store._raw_delete

    def delete_then_die(keys: Any) -> None:
        keys = list(keys)
        if len(keys) > 1 and not any(key.endswith(JOURNAL) for key in keys):
            delete(keys[: len(keys) // 2])
            os.kill(os.getpid(), signal.SIGKILL)
        delete(keys)

    store._raw_delete = delete_then_die


if __name__ == "__main__":  # pragma: no cover - run as a subprocess by the crash test
    rename_when_told(json.loads(sys.argv[1]), json.loads(sys.argv[2]), "die-deleting" in sys.argv[3:])
