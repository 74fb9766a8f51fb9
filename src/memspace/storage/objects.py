"""Object stores (S3, R2, the in-process memory store): every change decided by a conditional PUT.

An object store gives us get/head, PUT with a condition (``If-None-Match: *`` or
``If-Match: <etag>``), unconditional delete, server-side copy and paginated
listing, and nothing else: no conditional delete (R2 has none, obstore sends
none), no atomic rename. :class:`ObjectStore` builds the operations that must
have exactly one winner on those parts alone:

* **A delete is fenced.** ``remove`` replaces the object with a *stub* under
  ``If-Match`` (so a concurrent edit or rename makes exactly one of them win),
  then deletes the stub.
* **A rename writes the destination first, then fences the source.** The
  destination is created with ``If-None-Match``, then the source is replaced by a
  stub naming the destination, under ``If-Match`` of the version that was copied.
  An ETag is the digest of the content, so that condition holds exactly when the
  source still holds the bytes the destination got: an edit that lands on the
  source first makes the fence fail (the move copies again), an edit that comes
  after finds the stub and is told where the file went. A losing rename removes
  the copy it made. The stub is then deleted.
* **A folder rename** claims the source and the destination with a small journal
  object in each (``.memspace-move``, created ``If-None-Match``), copies every
  file server-side, reads the copies' ETags with one listing, fences every
  source file with a zero-content stub under ``If-Match`` of its copy, then
  deletes the stubs in batches. Run again after a crash, it finds its journals
  and finishes; another rename of the same folder is refused meanwhile, and so is
  a rename onto a destination another rename holds or that has other files in it
  (a rename never merges two folders).
* **Stubs never show.** Their body is fixed and is not UTF-8 (no text file can
  hold it), so listings recognise them by size and ETag and leave them out;
  reading one answers "not found" or "moved to ...".
* **A write-ahead history record** (``put(record=...)``) is written concurrently
  with the conditional PUT and removed again if the condition fails.

Backends implement the ``_raw_*`` primitives; the rest is here, once.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import hashlib
import logging
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from memspace.paths import RESERVED_PREFIX, is_valid_name
from memspace.storage.base import (
    Blob,
    Busy,
    DestinationExists,
    IfMatch,
    MovedAway,
    MoveRecords,
    ObjectInfo,
    ObjectNotFound,
    OutcomeUnknown,
    PreconditionFailed,
    PutMode,
    Record,
    RemoveRecord,
    TreeProgress,
)

__all__ = ["STUB_BODY", "STUB_TTL_SECONDS", "ObjectStore", "RawInfo", "RawObject"]

log = logging.getLogger("memspace.storage")

# Metadata names (S3 user metadata, ``x-amz-meta-<name>``).
WRITE_IDS = "memspace-write-ids"
STUB = "memspace-stub"  # "deleting" or "moved"
MOVED_TO = "memspace-moved-to"

STUB_BODY = b"\xffmemspace stub\xff"
STUB_ETAG = hashlib.md5(STUB_BODY, usedforsecurity=False).hexdigest()
# A stub younger than this may still be deleted by the operation that wrote it; an
# older one was left by a crash and may be cleared by whoever needs the name.
STUB_TTL_SECONDS = 120.0
JOURNAL = f"{RESERVED_PREFIX}-move"
PARALLELISM = 8


@dataclass(frozen=True)
class RawObject:
    """What a GET (``data``) or a HEAD (``data`` empty) returned."""

    data: bytes
    etag: str
    size: int
    meta: Mapping[str, str] = field(default_factory=dict)
    age: float = 0.0  # seconds since it was last written


@dataclass(frozen=True)
class RawInfo:
    key: str
    size: int
    etag: str
    age: float = 0.0


def _plain(etag: str) -> str:
    return etag.strip('"').lower()


def is_stub_listing(info: RawInfo) -> bool:
    return info.size == len(STUB_BODY) and _plain(info.etag) == STUB_ETAG


class ObjectStore(ABC):
    """The :class:`~memspace.storage.base.Store` protocol over a raw object store."""

    max_key_bytes: int | None = 1024
    resends_writes: bool = False  # the in-process store answers every call

    # -- what a backend provides -------------------------------------------------

    @abstractmethod
    def _raw_get(self, key: str, max_bytes: int | None = None) -> RawObject:
        """Content (at most ``max_bytes`` of it), ETag, whole size and metadata; raise ObjectNotFound."""

    @abstractmethod
    def _raw_head(self, key: str) -> RawObject:
        """Like ``_raw_get`` without the content (``data`` is empty)."""

    @abstractmethod
    def _raw_put(self, key: str, data: bytes, *, mode: PutMode, meta: Mapping[str, str]) -> str:
        """Write with a condition; return the new ETag. Raise PreconditionFailed, ObjectNotFound
        (IfMatch on a missing object) or OutcomeUnknown."""

    @abstractmethod
    def _raw_delete(self, keys: Sequence[str]) -> None:
        """Delete unconditionally (batched by the backend); missing keys are fine."""

    @abstractmethod
    def _raw_copy(self, source: str, destination: str) -> None:
        """Server-side copy if ``destination`` is absent; raise PreconditionFailed if it exists."""

    @abstractmethod
    def _raw_list(self, prefix: str) -> Iterator[RawInfo]:
        """Every object below ``prefix`` (``''`` or ending in ``/``), all pages."""

    # -- reading ---------------------------------------------------------------

    def get(self, key: str, *, max_bytes: int | None = None) -> Blob:
        raw = self._raw_get(key, max_bytes)
        self._refuse_stub(key, raw)
        return Blob(raw.data, raw.etag, _write_ids(raw.meta), size=raw.size)

    def head(self, key: str) -> ObjectInfo:
        raw = self._raw_head(key)
        self._refuse_stub(key, raw)
        return ObjectInfo(key, raw.size, raw.etag, _write_ids(raw.meta))

    def list(self, prefix: str, *, include_reserved: bool = False) -> Iterator[ObjectInfo]:
        for info in self._raw_list(prefix):
            if is_stub_listing(info) or (not include_reserved and _reserved_below(prefix, info.key)):
                continue
            yield ObjectInfo(info.key, info.size, info.etag, foreign=_foreign(prefix, info.key))

    # -- writing ---------------------------------------------------------------

    def put(
        self, key: str, data: bytes, *, mode: PutMode, write_ids: tuple[str, ...], record: str | None = None
    ) -> str:
        meta = {WRITE_IDS: " ".join(write_ids)}
        entry: Record | None = (record, data) if record is not None else None
        pending = self._start_record(entry)
        try:
            etag = self._put_over_stub(key, data, mode, meta)
        except (OutcomeUnknown, PreconditionFailed, ObjectNotFound):
            # It may have landed after all: a lost response that the client retried fails its
            # condition on our own write. Keep the record; the caller, who can tell by the write
            # ids, removes it if the write did not land.
            self._finish_record(entry, pending)
            raise
        except BaseException:
            self._drop_record(entry, pending)
            raise
        self._finish_record(entry, pending)
        return etag

    def _put_over_stub(self, key: str, data: bytes, mode: PutMode, meta: Mapping[str, str]) -> str:
        """A conditional put; a create meets a stub only when a delete or a move of the name ran."""
        try:
            return self._raw_put(key, data, mode=mode, meta=meta)
        except PreconditionFailed:
            if mode != "create":
                raise
            return self._create_over_stub(key, data, meta)

    def _create_over_stub(self, key: str, data: bytes, meta: Mapping[str, str]) -> str:
        for _ in range(20):
            try:
                raw = self._raw_head(key)
            except ObjectNotFound:
                return self._raw_put(key, data, mode="create", meta=meta)
            if STUB not in raw.meta:
                raise PreconditionFailed(key)
            if raw.age >= STUB_TTL_SECONDS:
                # Left by an interrupted delete or move: nobody else will remove it.
                self._raw_delete([key])
            else:
                time.sleep(0.05)  # the delete or move that wrote it removes it in a moment
                continue
            try:
                return self._raw_put(key, data, mode="create", meta=meta)
            except PreconditionFailed:
                continue
        raise Busy(key)

    def remove(self, key: str, *, record: RemoveRecord | None = None) -> ObjectInfo:
        raw = self._raw_head(key)
        self._refuse_stub(key, raw)
        removed = ObjectInfo(key, raw.size, raw.etag, _write_ids(raw.meta))
        marker = record(removed) if record is not None else None
        try:
            # The fence: an edit or a rename since the HEAD changed the ETag, and this fails.
            self._raw_put(key, STUB_BODY, mode=IfMatch(raw.etag), meta={STUB: "deleting"})
        except PreconditionFailed:
            self._refuse_stub(key, self._raw_head(key))
            raise
        pending = self._start_record(marker)
        self._raw_delete([key])
        self._finish_record(marker, pending)
        return removed

    def move(
        self,
        source: str,
        destination: str,
        *,
        write_id: str,
        records: MoveRecords | None = None,
    ) -> ObjectInfo:
        raw = self._raw_get(source)
        self._refuse_stub(source, raw)
        moved = ObjectInfo(source, raw.size, raw.etag, _write_ids(raw.meta))
        marks = records(moved) if records is not None else None
        at_destination, at_source = marks if marks is not None else (None, None)
        write_ids = (write_id, *moved.write_ids[:7])
        pending = self._start_record(at_destination)
        try:
            etag = self._put_over_stub(destination, raw.data, "create", {WRITE_IDS: " ".join(write_ids)})
        except PreconditionFailed:
            self._drop_record(at_destination, pending)
            raise DestinationExists(destination) from None
        except BaseException:
            self._drop_record(at_destination, pending)
            raise
        self._finish_record(at_destination, pending)
        try:
            self._raw_put(
                source, STUB_BODY, mode=IfMatch(raw.etag), meta={STUB: "moved", MOVED_TO: destination}
            )
        except (PreconditionFailed, ObjectNotFound):
            # The source changed (edited, deleted, moved elsewhere) after we copied it:
            # that writer won; take our copy back.
            self._take_back(destination, etag)
            self._drop_record(at_destination, None)
            with contextlib.suppress(ObjectNotFound):
                self._refuse_stub(source, self._raw_head(source))
            raise PreconditionFailed(source) from None
        pending = self._start_record(at_source)
        self._raw_delete([source])
        self._finish_record(at_source, pending)
        return ObjectInfo(destination, raw.size, etag, write_ids)

    def _take_back(self, key: str, etag: str) -> None:
        """Remove a copy we made, unless someone changed it since (then it is theirs)."""
        with contextlib.suppress(PreconditionFailed, ObjectNotFound):
            self._raw_put(key, STUB_BODY, mode=IfMatch(etag), meta={STUB: "deleting"})
            self._raw_delete([key])

    def move_tree(self, source: str, destination: str, *, progress: TreeProgress | None = None) -> int:
        resumed = self._claim_tree(source, destination)
        files = [info for info in self._raw_list(source) if not _reserved_below(source, info.key)]
        done = [info for info in files if is_stub_listing(info)]  # fenced by an interrupted run
        todo = [info for info in files if not is_stub_listing(info)]
        if not todo and not done:
            if resumed:
                # An earlier run moved everything and was stopped before it released its journals.
                count = sum(1 for info in self._visible(destination))
                self._release_tree(source, destination)
                return count
            self._release_tree(source, destination)
            raise ObjectNotFound(source)
        total = len(todo) + len(done)
        _report(progress, len(done), total)
        moved = len(done)
        pending = [info.key[len(source) :] for info in todo]
        for _ in range(10):
            if not pending:
                break
            self._copy_all(source, destination, pending)
            copies = {info.key[len(destination) :]: info.etag for info in self._visible(destination)}
            retry: builtins.list[str] = []

            def fence(rel: str, copies: dict[str, str] = copies) -> tuple[str, str]:
                return rel, self._fence(source + rel, copies.get(rel), destination + rel)

            with ThreadPoolExecutor(max_workers=PARALLELISM) as pool:
                for rel, outcome in pool.map(fence, pending):
                    if outcome == "retry":
                        retry.append(rel)
                    elif outcome == "moved":
                        moved += 1
                        _report(progress, moved, total)
                    else:  # gone at the source (deleted meanwhile): drop our copy
                        self._take_back(destination + rel, copies.get(rel, ""))
            pending = retry
            for rel in retry:  # changed after we copied it: copy it again, over our copy
                self._recopy(source + rel, destination + rel, copies.get(rel))
        if pending:
            # Still changing after every attempt: leave the journals, so running it again finishes.
            raise Busy(source)
        stubs = [info.key for info in self._raw_list(source) if is_stub_listing(info)]
        self._raw_delete(stubs)
        self._release_tree(source, destination)
        return moved

    def _visible(self, prefix: str) -> Iterator[RawInfo]:
        """The objects below ``prefix`` that are files (no stubs, journals or records)."""
        for info in self._raw_list(prefix):
            if not is_stub_listing(info) and not _reserved_below(prefix, info.key):
                yield info

    def _copy_all(self, source: str, destination: str, rels: builtins.list[str]) -> None:
        def copy(rel: str) -> None:
            with contextlib.suppress(PreconditionFailed, ObjectNotFound):
                self._raw_copy(source + rel, destination + rel)  # exists: copied by an earlier run

        with ThreadPoolExecutor(max_workers=PARALLELISM) as pool:
            builtins.list(pool.map(copy, rels))

    def _fence(self, key: str, copied: str | None, destination: str) -> str:
        """Replace a copied source by a stub if it still holds what was copied ("moved"),
        else say whether to copy again ("retry") or forget it ("gone": deleted or moved away)."""
        if copied is None:
            # No copy at the destination (a delete there removed it): copy again unless the
            # source is gone too.
            try:
                return "gone" if STUB in self._raw_head(key).meta else "retry"
            except ObjectNotFound:
                return "gone"
        try:
            self._raw_put(key, STUB_BODY, mode=IfMatch(copied), meta={STUB: "moved", MOVED_TO: destination})
        except ObjectNotFound:
            return "gone"
        except PreconditionFailed:
            try:
                raw = self._raw_head(key)
            except ObjectNotFound:
                return "gone"
            return "gone" if STUB in raw.meta else "retry"
        return "moved"

    def _recopy(self, source: str, destination: str, copied: str | None) -> None:
        with contextlib.suppress(ObjectNotFound):
            raw = self._raw_get(source)
            if STUB in raw.meta:
                return
            mode: PutMode = IfMatch(copied) if copied else "create"
            with contextlib.suppress(PreconditionFailed):
                self._raw_put(destination, raw.data, mode=mode, meta=dict(raw.meta))

    def _claim_tree(self, source: str, destination: str) -> bool:
        """Exactly one rename of a folder at a time, and never two folders onto one destination.

        Each end gets a journal (``to <destination>`` in the source, ``from <source>`` in the
        destination), created ``If-None-Match``. Return whether the destination's journal was
        already ours: an earlier run of this same rename was interrupted after it could have
        copied files, so what is at the destination is its work, and this run finishes it.
        A fresh claim refuses a destination holding any file that is not an identical copy
        (same name, same ETag) of a source file: that is another folder, and a rename never
        overwrites it. (Identical copies are what a rename interrupted before journals
        existed left behind; moving onto them changes nothing.)
        """
        try:
            self._raw_put(source + JOURNAL, f"to {destination}".encode(), mode="create", meta={})
        except PreconditionFailed:
            direction, other = self._journal(source)
            if (direction, other) != ("to", destination):
                if direction == "to":
                    raise MovedAway(source, other) from None
                raise Busy(source) from None  # a rename into this folder is running
        try:
            self._raw_put(destination + JOURNAL, f"from {source}".encode(), mode="create", meta={})
        except PreconditionFailed:
            if self._journal(destination) == ("from", source):
                return True
            # Another rename writes into, or out of, the destination: nothing of ours is there.
            self._raw_delete([source + JOURNAL])
            raise DestinationExists(destination) from None
        sources = {info.key[len(source) :]: _plain(info.etag) for info in self._visible(source)}
        if not sources:
            self._release_tree(source, destination)
            raise ObjectNotFound(source)
        for info in self._visible(destination):
            if sources.get(info.key[len(destination) :]) != _plain(info.etag):
                self._release_tree(source, destination)
                raise DestinationExists(destination)
        return False

    def _journal(self, prefix: str) -> tuple[str, str]:
        """``(direction, other end)`` of the folder rename journal in ``prefix`` (``("", "")``: none)."""
        try:
            body = self._raw_get(prefix + JOURNAL).data.decode(errors="replace")
        except ObjectNotFound:
            return "", ""
        direction, _, other = body.partition(" ")
        return direction, other

    def _release_tree(self, source: str, destination: str) -> None:
        self._raw_delete([source + JOURNAL, destination + JOURNAL])

    def delete_tree(self, prefix: str, *, progress: TreeProgress | None = None) -> builtins.list[ObjectInfo]:
        with contextlib.suppress(ObjectNotFound):
            journal = self._raw_get(prefix + JOURNAL).data.decode(errors="replace")
            direction, _, other = journal.partition(" ")
            if direction == "to":
                raise MovedAway(prefix, other)
        infos = [
            ObjectInfo(info.key, info.size, info.etag, foreign=_foreign(prefix, info.key))
            for info in self._raw_list(prefix)
            if not is_stub_listing(info) and not _reserved_below(prefix, info.key)
        ]
        _report(progress, 0, len(infos))
        self._raw_delete([info.key for info in infos])
        _report(progress, len(infos), len(infos))
        return infos

    def delete(self, keys: Sequence[str]) -> None:
        self._raw_delete(keys)

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        yield  # no machine-wide lock across servers: conditional PUTs decide

    def sweep(self, prefix: str, *, older_than: float = STUB_TTL_SECONDS) -> dict[str, int]:
        """Delete stubs older than ``older_than`` seconds below ``prefix`` (left by interrupted deletes
        and moves; a younger one may still be removed by the operation that wrote it)."""
        old = [
            info.key for info in self._raw_list(prefix) if is_stub_listing(info) and info.age >= older_than
        ]
        self._raw_delete(old)
        return {"stubs": len(old)}

    def close(self) -> None:  # noqa: B027 - backends with connections override it
        """Nothing to release by default (obstore's connections close with its store)."""

    # -- history records ---------------------------------------------------------

    _records: ThreadPoolExecutor | None = None

    def _start_record(self, record: Record | None) -> Future[str] | None:
        """Start writing a history record, concurrently with the request it accompanies."""
        if record is None:
            return None
        if self._records is None:
            self._records = ThreadPoolExecutor(max_workers=4, thread_name_prefix="memspace-record")
        key, data = record
        return self._records.submit(self._raw_put, key, data, mode="overwrite", meta={})

    def _finish_record(self, record: Record | None, pending: Future[str] | None) -> None:
        """Wait for a record; write it again if it failed (the operation it records succeeded)."""
        if record is None or pending is None:
            return
        try:
            pending.result()
        except Exception:
            try:
                self._raw_put(record[0], record[1], mode="overwrite", meta={})
            except Exception as error:
                log.warning("memspace: a history record could not be written (%s)", type(error).__name__)

    def _drop_record(self, record: Record | None, pending: Future[str] | None) -> None:
        """Remove a record whose operation did not happen."""
        if record is None:
            return
        if pending is not None:
            with contextlib.suppress(Exception):
                pending.result()
        with contextlib.suppress(Exception):
            self._raw_delete([record[0]])

    # -- stubs -------------------------------------------------------------------

    def _refuse_stub(self, key: str, raw: RawObject) -> None:
        kind = raw.meta.get(STUB)
        if kind is None:
            return
        destination = raw.meta.get(MOVED_TO)
        if kind == "moved" and destination:
            raise MovedAway(key, destination)
        raise ObjectNotFound(key)


def new_request_id() -> str:
    return uuid.uuid4().hex


def _write_ids(meta: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(meta.get(WRITE_IDS, "").split())


def _foreign(prefix: str, key: str) -> bool:
    """Whether a key below ``prefix`` has a name no path can have (another program wrote it: a control
    character, not NFC, ...); memspace's own reserved names are not foreign."""
    return not all(
        _usable_name(part) or part.startswith(RESERVED_PREFIX) for part in key[len(prefix) :].split("/")
    )


@functools.lru_cache(maxsize=4096)
def _usable_name(name: str) -> bool:
    return is_valid_name(name)  # keys share their folders' names: each is checked once


def _reserved_below(prefix: str, key: str) -> bool:
    return any(part.startswith(RESERVED_PREFIX) for part in key[len(prefix) :].split("/"))


def _report(progress: TreeProgress | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)
