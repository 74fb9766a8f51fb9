"""Copy one workspace into another (for example local -> s3, to promote a
development workspace to production).

Idempotent: a file already identical at the destination is left alone, so a
second run changes nothing and an interrupted run can simply be run again.
A destination file that differs is replaced with compare-and-swap against the
version just read, so a concurrent edit at the destination is reported as a
conflict rather than silently overwritten. With ``delete=True`` destination
files that are not in the source are removed, making the destination a mirror.

>>> from memspace.storage.memory import MemoryStore
>>> source, target = Workspace(MemoryStore()), Workspace(MemoryStore())
>>> source.create("/a.md", "x")
>>> sync(source, target).copied, sync(source, target).unchanged
(1, 1)
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

from memspace.errors import MemspaceError
from memspace.paths import parse
from memspace.storage.base import IfMatch, ObjectNotFound, PreconditionFailed
from memspace.workspace import Workspace

__all__ = ["SyncReport", "sync"]

Action = Literal["copied", "updated", "unchanged", "deleted", "skipped", "conflict"]


@dataclass
class SyncReport:
    """What a sync did, file by file (paths are workspace paths)."""

    copied: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    skipped: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return self.copied + self.updated + self.deleted


def sync(
    source: Workspace,
    target: Workspace,
    *,
    delete: bool = False,
    on_file: Callable[[str, Action], None] | None = None,
    parallelism: int = 8,
) -> SyncReport:
    """Make ``target`` hold every file of ``source`` (and only those, with ``delete``)."""
    if target.read_only:
        target.clear()  # raises the read-only error with its one wording
    src = {info.key[len(source.base) :]: info for info in source.store.list(source.base)}
    dst = {info.key[len(target.base) :]: info for info in target.store.list(target.base)}
    report = SyncReport()

    def copy_one(rel: str) -> tuple[str, Action]:
        try:
            parse(rel, target.limits)
        except MemspaceError:
            return rel, "skipped"  # a name the destination would refuse
        blob = source.store.get(source.base + rel)
        if len(blob.data) > target.limits.max_file_bytes:
            return rel, "skipped"
        key = target.base + rel
        write_ids = (uuid.uuid4().hex,)
        try:
            if rel not in dst:
                target.store.put(key, blob.data, mode="create", write_ids=write_ids)
                return rel, "copied"
            current = target.store.get(key)
            if current.data == blob.data:
                return rel, "unchanged"
            target.store.put(key, blob.data, mode=IfMatch(current.version), write_ids=write_ids)
        except (PreconditionFailed, ObjectNotFound):
            return rel, "conflict"
        return rel, "updated"

    with ThreadPoolExecutor(max_workers=parallelism) as pool:
        for rel, action in pool.map(copy_one, sorted(src)):
            _record(report, "/" + rel, action, on_file)
    if delete:
        extra = sorted(set(dst) - set(src))
        target.store.delete([target.base + rel for rel in extra])
        for rel in extra:
            _record(report, "/" + rel, "deleted", on_file)
    return report


def _record(
    report: SyncReport, path: str, action: Action, on_file: Callable[[str, Action], None] | None
) -> None:
    if action == "skipped":
        report.skipped.append(path)
    elif action == "conflict":
        report.conflicts.append(path)
    else:
        setattr(report, action, getattr(report, action) + 1)
    if on_file is not None:
        on_file(path, action)
