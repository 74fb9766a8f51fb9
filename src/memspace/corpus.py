"""The files a search covers, and their contents, read as cheaply as the backend allows.

* **Which files:** one listing of the search folder (every page), leaving out
  hidden entries (a name starting with '.', anywhere in the path: memspace's
  own data is among them) and files the glob does not match. A search of one
  file costs a LIST and a HEAD instead.
* **Their contents:** local and in-process stores are read directly. Object
  stores (a store with a ``cache_identity``: S3, R2) go through the
  :class:`~memspace.content_cache.ContentCache`: a file whose (key, ETag) from
  the listing is cached costs no request; the others are fetched with bounded
  parallelism and cached under the ETag their GET returned. The listing is
  strongly consistent on S3 and R2, so a write that finished before the search
  began always shows up with its new ETag and is read fresh.

The local backend's versions are never used: only object-store ETags key the cache.
"""

from __future__ import annotations

import builtins
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from memspace.content_cache import ContentCache, entry_id
from memspace.paths import VirtualPath
from memspace.storage.base import Blob, Store, StoreOutcome

if TYPE_CHECKING:
    from memspace.globs import Glob
    from memspace.workspace import Workspace

__all__ = ["FETCH_PARALLELISM", "File", "contents", "files", "folders"]

FETCH_PARALLELISM = 16
# Cached entries are read, and fetched ones written, in batches this big: few
# transactions, and memory bounded whatever the size of the workspace.
_BATCH_FILES = 256
_BATCH_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class File:
    """A file a search covers: its path, storage key, size and version from the listing."""

    path: VirtualPath
    key: str
    size: int
    version: str | None


def is_hidden(path: VirtualPath) -> bool:
    return any(part.startswith(".") for part in path.parts)


def files(ws: Workspace, scope: VirtualPath, glob: Glob | None = None) -> builtins.list[File]:
    """The visible files below ``scope`` (or ``scope`` itself, if a file) that ``glob`` matches, sorted.

    Raises NotFoundError when nothing is at ``scope``.
    """
    prefix = ws.base + scope.dir_key
    found: builtins.list[File] = []
    listed = False
    for info in ws.store.list(prefix):
        listed = True
        if info.key.endswith("/") or getattr(info, "foreign", False):
            continue  # a folder marker some stores keep, or a name memspace cannot open
        key = info.key[len(ws.base) :]
        if key.startswith(".") or "/." in key:
            continue  # hidden, or memspace's own
        path = VirtualPath.from_key(key)
        if glob is not None and not glob.matches(path.relative_key(scope), full=key):
            continue
        found.append(File(path, info.key, info.size, info.version))
    if listed or scope.is_root:
        found.sort(key=lambda file: file.path.parts)
        return found
    return _single_file(ws, scope, glob)


def _single_file(ws: Workspace, scope: VirtualPath, glob: Glob | None) -> builtins.list[File]:
    """Nothing is listed below ``scope``: it is a file, or nothing (NotFoundError)."""
    key = ws.base + scope.key
    try:
        info = ws.store.head(key)
    except StoreOutcome:
        ws.stat(str(scope))  # raises NotFoundError in the workspace's words, unless it is a folder
        return []
    if is_hidden(scope) or (glob is not None and not glob.matches(scope.name, full=scope.key)):
        return []
    return [File(scope, key, info.size, info.version)]


def folders(found: builtins.list[File], scope: VirtualPath) -> builtins.list[VirtualPath]:
    """The folders strictly below ``scope`` that hold the ``found`` files, sorted."""
    below: set[VirtualPath] = set()
    for file in found:
        for depth in range(len(scope.parts) + 1, len(file.path.parts)):
            below.add(VirtualPath(file.path.parts[:depth]))
    return sorted(below)


def contents(ws: Workspace, found: builtins.list[File]) -> Iterator[tuple[File, bytes]]:
    """``(file, bytes)`` for each file still there when read, in no set order."""
    identity = getattr(ws.store, "cache_identity", None)
    if not isinstance(identity, str):
        yield from _direct(ws.store, found)
        return
    cache = ws.cache if ws.cache is not None else ContentCache.shared()
    yield from _read_through(ws.store, identity, cache, found)


def _direct(store: Store, found: builtins.list[File]) -> Iterator[tuple[File, bytes]]:
    # Local files and in-process objects: one read each, no cache to keep. A store that can
    # read many keys at once (the local one opens each folder once) is asked to.
    get_many = getattr(store, "get_many", None)
    if get_many is not None:
        by_key = {file.key: file for file in found}
        for key, blob in get_many(list(by_key)):
            if blob is not None:
                yield by_key[key], blob.data
        return
    for file in found:
        try:
            yield file, store.get(file.key).data
        except StoreOutcome:
            continue  # deleted (or replaced by a folder) since the listing


def _read_through(
    store: Store, identity: str, cache: ContentCache, found: builtins.list[File]
) -> Iterator[tuple[File, bytes]]:
    missing: builtins.list[File] = [file for file in found if file.version is None]
    versioned = [file for file in found if file.version is not None]
    for batch in _batches(versioned):
        ids = [entry_id(identity, file.key, file.version or "") for file in batch]
        hits = cache.get_many(ids)
        for file, key in zip(batch, ids, strict=True):
            data = hits.get(key)
            if data is None:
                missing.append(file)
            else:
                yield file, data
    if missing:
        yield from _fetch(store, identity, cache, missing)


def _fetch(
    store: Store, identity: str, cache: ContentCache, missing: builtins.list[File]
) -> Iterator[tuple[File, bytes]]:
    """GET ``missing`` files, a bounded number in flight, caching each under the ETag its GET returned."""
    from concurrent.futures import Future, ThreadPoolExecutor

    def get(file: File) -> Blob | None:
        try:
            return store.get(file.key)
        except StoreOutcome:
            return None  # deleted (or moved, or replaced by a folder) since the listing

    pending: builtins.list[tuple[bytes, bytes]] = []
    pending_bytes = 0
    todo = iter(missing)
    workers = min(FETCH_PARALLELISM, len(missing))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="memspace-fetch") as pool:
        # A window of 2 x workers requests ahead: the network stays busy, memory stays bounded.
        window: deque[tuple[File, Future[Blob | None]]] = deque()
        try:
            for file in todo:
                window.append((file, pool.submit(get, file)))
                if len(window) >= 2 * workers:
                    break
            while window:
                file, future = window.popleft()
                blob = future.result()
                following = next(todo, None)
                if following is not None:
                    window.append((following, pool.submit(get, following)))
                if blob is None:
                    continue
                yield file, blob.data
                pending.append((entry_id(identity, file.key, blob.version), blob.data))
                pending_bytes += len(blob.data)
                if len(pending) >= _BATCH_FILES or pending_bytes >= _BATCH_BYTES:
                    cache.put_many(pending)
                    pending, pending_bytes = [], 0
        finally:
            for _, future in window:
                future.cancel()
    cache.put_many(pending)


def _batches(found: builtins.list[File]) -> Iterator[builtins.list[File]]:
    batch: builtins.list[File] = []
    size = 0
    for file in found:
        batch.append(file)
        size += file.size
        if len(batch) >= _BATCH_FILES or size >= _BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch
