"""A pass-through store that counts what memspace asks of the store it wraps.

Passed as ``MemoryTools.from_config(store=CountingStore(...))``, so memspace itself
is measured unmodified. It counts calls by kind (a listing counts one LIST per
1,000 objects, as S3 pages them), PUT attempts refused because another writer
won, and the longest such refusal took.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager

from memspace.storage.base import (
    Blob,
    MoveRecords,
    ObjectInfo,
    ObjectNotFound,
    PreconditionFailed,
    PutMode,
    RemoveRecord,
    Store,
    TreeProgress,
)

__all__ = ["CountingStore"]


class CountingStore:
    """Counts calls to ``inner`` by kind; keeps its key limit and search-cache identity."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.max_key_bytes = inner.max_key_bytes
        self.resends_writes = inner.resends_writes
        self.cache_identity: str | None = getattr(inner, "cache_identity", None)
        self.counts: dict[str, int] = {}
        self.conflicts = 0
        self.slowest_conflict = 0.0  # seconds until the store said "someone else won"

    @property
    def puts(self) -> int:
        return self.counts.get("PUT", 0)

    def reset(self) -> None:
        """Forget everything counted so far (after a warm-up)."""
        self.counts.clear()
        self.conflicts = 0
        self.slowest_conflict = 0.0

    def _count(self, kind: str, n: int = 1) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + n

    def get(self, key: str, *, max_bytes: int | None = None) -> Blob:
        self._count("GET")
        return self.inner.get(key, max_bytes=max_bytes)

    def head(self, key: str) -> ObjectInfo:
        self._count("HEAD")
        return self.inner.head(key)

    def put(
        self,
        key: str,
        data: bytes,
        *,
        mode: PutMode,
        write_ids: tuple[str, ...],
        record: str | None = None,
    ) -> str:
        self._count("PUT")
        start = time.perf_counter()
        try:
            return self.inner.put(key, data, mode=mode, write_ids=write_ids, record=record)
        except (PreconditionFailed, ObjectNotFound):
            self.conflicts += 1
            self.slowest_conflict = max(self.slowest_conflict, time.perf_counter() - start)
            raise

    def remove(self, key: str, *, record: RemoveRecord | None = None) -> ObjectInfo:
        self._count("REMOVE")
        return self.inner.remove(key, record=record)

    def move(
        self, source: str, destination: str, *, write_id: str, records: MoveRecords | None = None
    ) -> ObjectInfo:
        self._count("MOVE")
        return self.inner.move(source, destination, write_id=write_id, records=records)

    def move_tree(self, source: str, destination: str, *, progress: TreeProgress | None = None) -> int:
        self._count("MOVE_TREE")
        return self.inner.move_tree(source, destination, progress=progress)

    def delete_tree(self, prefix: str, *, progress: TreeProgress | None = None) -> list[ObjectInfo]:
        self._count("DELETE_TREE")
        return self.inner.delete_tree(prefix, progress=progress)

    def delete(self, keys: Sequence[str]) -> None:
        self._count("DELETE")
        self.inner.delete(keys)

    def list(self, prefix: str, *, include_reserved: bool = False) -> Iterator[ObjectInfo]:
        listed = 0
        for info in self.inner.list(prefix, include_reserved=include_reserved):
            listed += 1
            yield info
        self._count("LIST", max(1, math.ceil(listed / 1000)))

    def lock(self, key: str) -> AbstractContextManager[None]:
        return self.inner.lock(key)

    def sweep(self, prefix: str, *, older_than: float) -> dict[str, int]:
        return self.inner.sweep(prefix, older_than=older_than)

    def close(self) -> None:
        self.inner.close()
