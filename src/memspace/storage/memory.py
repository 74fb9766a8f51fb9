"""An in-process store: a dict behind a lock. For tests and throwaway agents.

It behaves like an object store (keys are flat; "directories" are prefixes),
so the tool suite that passes on it exercises the same semantics as S3.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator, Sequence

from memspace.storage.base import (
    Blob,
    IfMatch,
    ObjectInfo,
    ObjectNotFound,
    PreconditionFailed,
    PutMode,
)

__all__ = ["MemoryStore"]


class MemoryStore:
    """A thread-safe, in-process :class:`~memspace.storage.base.Store`."""

    def __init__(self) -> None:
        self._objects: dict[str, Blob] = {}
        self._lock = threading.Lock()
        self._versions = itertools.count(1)

    def get(self, key: str) -> Blob:
        with self._lock:
            blob = self._objects.get(key)
        if blob is None:
            raise ObjectNotFound(key)
        return blob

    def head(self, key: str) -> ObjectInfo:
        blob = self.get(key)
        return ObjectInfo(key, len(blob.data), blob.version, blob.write_ids)

    def put(self, key: str, data: bytes, *, mode: PutMode, write_ids: tuple[str, ...]) -> str:
        with self._lock:
            current = self._objects.get(key)
            if mode == "create" and current is not None:
                raise PreconditionFailed(key)
            if isinstance(mode, IfMatch):
                if current is None:
                    raise ObjectNotFound(key)
                if current.version != mode.version:
                    raise PreconditionFailed(key)
            version = str(next(self._versions))
            self._objects[key] = Blob(bytes(data), version, write_ids)
            return version

    def delete(self, keys: Sequence[str]) -> None:
        with self._lock:
            for key in keys:
                self._objects.pop(key, None)

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        with self._lock:
            snapshot = sorted((key, blob) for key, blob in self._objects.items() if key.startswith(prefix))
        for key, blob in snapshot:
            yield ObjectInfo(key, len(blob.data), blob.version, blob.write_ids)

    def close(self) -> None:
        pass
