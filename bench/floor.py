"""The floor: the least plain Python (or raw obstore) needs to do the same durable work.

Local writes get the durability LocalStore gives: data written to a temp file
in the same directory, fsynced, renamed over the target, then the directory
fsynced so the rename itself survives a crash. Reads are ``open().read()``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["durable_edit", "durable_write", "read_text", "text_edit"]


def read_text(path: Path) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def durable_write(path: Path, data: bytes) -> None:
    temp = path.with_name(path.name + ".tmp")
    with open(temp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
    directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def durable_edit(path: Path, edit: Callable[[str], str]) -> float:
    """Read ``path``, edit its text and write it back as :func:`durable_write` does; the seconds the
    rename over the old file took (the floor of a commit: all a compare-and-rename cannot avoid).

    The old file stays open across the rename, as the reader of an edit keeps it: freeing its blocks
    then happens at the close, after the rename, not in it."""
    with open(path, encoding="utf-8") as old:
        data = edit(old.read()).encode()
        temp = path.with_name(path.name + ".tmp")
        with open(temp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        start = time.perf_counter()
        os.replace(temp, path)
        renamed = time.perf_counter() - start
    directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return renamed


def text_edit(op: str, text: str) -> str:
    """The same edit memspace makes for ``op`` (append / str_replace / insert), in plain Python."""
    if op == "append":
        return text + ("" if text.endswith("\n") else "\n") + "appended line"
    if op == "str_replace":
        if text.count("state: draft") != 1:
            raise ValueError("str_replace floor: marker not found exactly once")
        return text.replace("state: draft", "state: final")
    if op == "insert":
        lines = text.splitlines(keepends=True)
        lines.insert(64, "inserted line\n")
        return "".join(lines)
    raise ValueError(op)
