"""An in-process store: a dict behind a lock. For tests and throwaway agents.

It behaves exactly like an object store (keys are flat, "directories" are
prefixes, the version is the MD5 of the content as S3's ETag is, metadata
travels with the object, a copy keeps it) and runs the same delete and rename
protocols as S3 (:mod:`memspace.storage.objects`), so the tool suite that passes
on it exercises the semantics S3 has, in microseconds.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from memspace.storage.base import IfMatch, ObjectNotFound, PreconditionFailed, PutMode
from memspace.storage.objects import ObjectStore, RawInfo, RawObject

__all__ = ["MemoryStore"]


@dataclass(frozen=True)
class _Object:
    data: bytes
    etag: str
    meta: Mapping[str, str]
    written: float


class MemoryStore(ObjectStore):
    """A thread-safe, in-process :class:`~memspace.storage.base.Store`.

    >>> store = MemoryStore()
    >>> version = store.put("a", b"hi", mode="create", write_ids=("w1",))
    >>> store.get("a").data, store.get("a").write_ids
    (b'hi', ('w1',))
    """

    def __init__(self) -> None:
        self._objects: dict[str, _Object] = {}
        self._lock = threading.Lock()

    def _raw_get(self, key: str, max_bytes: int | None = None) -> RawObject:
        found = self._find(key)
        data = found.data if max_bytes is None else found.data[:max_bytes]
        return RawObject(data, found.etag, len(found.data), found.meta, _age(found))

    def _raw_head(self, key: str) -> RawObject:
        found = self._find(key)
        return RawObject(b"", found.etag, len(found.data), found.meta, _age(found))

    def _find(self, key: str) -> _Object:
        with self._lock:
            found = self._objects.get(key)
        if found is None:
            raise ObjectNotFound(key)
        return found

    def _raw_put(self, key: str, data: bytes, *, mode: PutMode, meta: Mapping[str, str]) -> str:
        etag = hashlib.md5(data, usedforsecurity=False).hexdigest()
        with self._lock:
            current = self._objects.get(key)
            if mode == "create" and current is not None:
                raise PreconditionFailed(key)
            if isinstance(mode, IfMatch):
                if current is None:
                    raise ObjectNotFound(key)
                if current.etag != mode.version:
                    raise PreconditionFailed(key)
            self._objects[key] = _Object(bytes(data), etag, dict(meta), time.monotonic())
        return etag

    def _raw_delete(self, keys: Sequence[str]) -> None:
        with self._lock:
            for key in keys:
                self._objects.pop(key, None)

    def _raw_copy(self, source: str, destination: str) -> None:
        with self._lock:
            found = self._objects.get(source)
            if found is None:
                raise ObjectNotFound(source)
            if destination in self._objects:
                raise PreconditionFailed(destination)
            self._objects[destination] = _Object(found.data, found.etag, found.meta, time.monotonic())

    def _raw_list(self, prefix: str) -> Iterator[RawInfo]:
        with self._lock:
            snapshot = sorted((key, found) for key, found in self._objects.items() if key.startswith(prefix))
        for key, found in snapshot:
            yield RawInfo(key, len(found.data), found.etag, _age(found))


def _age(found: _Object) -> float:
    return time.monotonic() - found.written
