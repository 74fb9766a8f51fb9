"""Copy one workspace into another (for example local -> s3, to promote a
development workspace to production).

Idempotent: a file already identical at the destination is left alone, so a
second run changes nothing and an interrupted run can simply be run again.
Every change at the destination goes through its workspace's one write loop,
so it is a version in the destination's history (operation ``sync``), a lost
response is settled by write id rather than reported as a conflict, and a
concurrent edit at the destination is never silently lost. With
``delete=True`` destination files that are not in the source are removed,
making the destination a mirror; a source with no files at all then refuses
(a mistyped source would otherwise empty the destination) unless
``allow_empty_source=True``.

>>> from memspace.storage.memory import MemoryStore
>>> source, target = Workspace(MemoryStore()), Workspace(MemoryStore())
>>> source.create("/a.md", "x")
>>> sync(source, target).copied, sync(source, target).unchanged
(1, 1)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from memspace.errors import EmptySourceError, MemspaceError
from memspace.paths import parse
from memspace.workspace import Workspace

__all__ = ["SyncReport", "sync"]

Action = Literal["copied", "updated", "unchanged", "deleted", "skipped", "failed"]


@dataclass
class SyncReport:
    """What a sync did, file by file (paths are workspace paths)."""

    copied: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def changed(self) -> int:
        return self.copied + self.updated + self.deleted


def sync(
    source: Workspace,
    target: Workspace,
    *,
    delete: bool = False,
    allow_empty_source: bool = False,
    on_file: Callable[[str, Action], None] | None = None,
    parallelism: int = 8,
) -> SyncReport:
    """Make ``target`` hold every file of ``source`` (and only those, with ``delete``)."""
    if target.read_only:
        target.clear()  # raises the read-only error with its one wording
    src = {str(entry.path): entry for entry in source.walk("/")}
    dst = {str(entry.path): entry for entry in target.walk("/")}
    extra = sorted(set(dst) - set(src))
    if delete and extra and not src and not allow_empty_source:
        raise EmptySourceError(
            f"The source has no files, so mirroring it would delete all {len(extra)} files at the "
            "destination; check the source, or allow an empty source explicitly.",
            target_files=len(extra),
        )
    report = SyncReport()

    def copy_one(path: str) -> tuple[str, Action, str]:
        try:
            parse(path, target.limits)
        except MemspaceError:
            return path, "skipped", ""  # a name the destination would refuse
        if (src[path].size or 0) > target.limits.max_file_bytes:
            return path, "skipped", ""
        try:
            outcome = target.write_bytes(path, source.read_bytes(path), operation="sync")
        except MemspaceError as error:
            return path, "failed", str(error)
        action: Action = "copied" if outcome == "created" else outcome
        return path, action, ""

    def delete_one(path: str) -> tuple[str, Action, str]:
        try:
            target.delete(path)
        except MemspaceError as error:
            return path, "failed", str(error)
        return path, "deleted", ""

    from concurrent.futures import ThreadPoolExecutor  # on first use: not needed to import memspace

    with ThreadPoolExecutor(max_workers=parallelism) as pool:
        for path, action, why in pool.map(copy_one, sorted(src)):
            _record(report, path, action, why, on_file)
        if delete:
            for path, action, why in pool.map(delete_one, extra):
                _record(report, path, action, why, on_file)
    return report


def _record(
    report: SyncReport, path: str, action: Action, why: str, on_file: Callable[[str, Action], None] | None
) -> None:
    if action == "skipped":
        report.skipped.append(path)
    elif action == "failed":
        report.failed[path] = why
    else:
        setattr(report, action, getattr(report, action) + 1)
    if on_file is not None:
        on_file(path, action)
