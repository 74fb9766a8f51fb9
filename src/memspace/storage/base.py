"""The byte-store protocol every backend implements.

A store maps keys (``"default/notes/a.md"``) to bytes. Each object has a
*version* that changes whenever it is written (S3/R2: the ETag; local: a token
of the file's inode; memory: a digest of the content), which is what makes
optimistic concurrency possible:

    blob = store.get(key)
    store.put(key, new_data, mode=IfMatch(blob.version), write_ids=(...))  # or PreconditionFailed

Every operation that changes a user's file is conditional, so a rename, a
delete and an edit of the same file racing each other have exactly one winner
on every backend: the local store decides under a short lock, object stores by
conditional PUTs (see :mod:`memspace.storage.objects`).

Stores know nothing of tools, limits, history or model-facing wording; they raise
the small set of outcomes below and :class:`memspace.errors.StorageError` for
backend failures (with messages that never contain secrets or host paths).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Literal, Protocol

__all__ = [
    "Blob",
    "Busy",
    "DestinationExists",
    "IfMatch",
    "MoveRecords",
    "MovedAway",
    "NotAFile",
    "ObjectInfo",
    "ObjectNotFound",
    "OutcomeUnknown",
    "PathConflict",
    "PreconditionFailed",
    "PutMode",
    "Record",
    "RemoveRecord",
    "Store",
    "SymlinkRefused",
    "TreeProgress",
]


@dataclass(frozen=True)
class IfMatch:
    """Write only if the object's current version is ``version``."""

    version: str


# "create": only if absent; "overwrite": unconditionally; IfMatch: compare-and-swap.
PutMode = Literal["create", "overwrite"] | IfMatch

TreeProgress = Callable[[int, int], None]
"""``progress(done, total)`` for operations on every file below a prefix."""

Record = tuple[str, bytes]
"""A history marker to write along with an operation: its key and its body."""

MoveRecords = Callable[["ObjectInfo"], tuple[Record, Record] | None]
"""Given the object a move is about to move, the markers to write at the destination and the source."""

RemoveRecord = Callable[["ObjectInfo"], Record | None]
"""Given the object a remove is about to delete, the marker to write once it is gone."""


@dataclass(frozen=True)
class ObjectInfo:
    """An object's metadata, as a listing or ``head`` gives it.

    ``version`` is ``None`` where a backend cannot give it cheaply; ``write_ids``
    are empty where the backend keeps none (a local ``head``, listings, local files
    on a file system without extended attributes). ``moving_to`` is set on
    an object store's source object while a rename claims it. ``foreign`` marks an
    entry whose name memspace cannot use (not UTF-8, not NFC, control characters,
    a pipe or device locally): it is listed so callers can count it, never opened.
    """

    key: str
    size: int
    version: str | None = None
    write_ids: tuple[str, ...] = ()
    moving_to: str | None = None
    foreign: bool = False

    @classmethod
    def listed(cls, key: str, size: int, version: str | None) -> ObjectInfo:
        """``ObjectInfo(key, size, version)``, made for a listing's every file: a frozen
        dataclass's ``__init__`` pays an ``object.__setattr__`` call per field, this one
        fills the instance's dictionary at once (about half the cost)."""
        info = object.__new__(cls)
        info.__dict__.update(key=key, size=size, version=version, write_ids=(), moving_to=None, foreign=False)
        return info


@dataclass(frozen=True)
class Blob:
    """An object's content (or its first ``max_bytes``), the version it was read at, its write ids.

    ``pin`` keeps what the version names alive while the blob is (a local file's
    inode stays allocated, so its number cannot be reused by a later write and
    be mistaken for this version).
    """

    data: bytes
    version: str
    write_ids: tuple[str, ...] = ()
    size: int = -1  # the object's whole size; more than len(data) when a read was capped
    pin: object | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.size < 0:
            object.__setattr__(self, "size", len(self.data))

    @property
    def whole(self) -> bool:
        """Whether ``data`` is all of the object (not cut at a read's ``max_bytes``)."""
        return self.size == len(self.data)


class StoreOutcome(Exception):  # noqa: N818 - outcomes, not failures
    """Base of the storage-level outcomes the workspace translates for its callers."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class ObjectNotFound(StoreOutcome):
    """No object at ``key`` (a directory is not an object)."""


class PreconditionFailed(StoreOutcome):
    """A conditional write lost: the object exists (create) or has another version (IfMatch)."""


class OutcomeUnknown(StoreOutcome):
    """A write's response was lost (timeout, dropped connection): it may or may not have landed.

    The workspace settles it by reading the object and looking for the write id.
    """


class PathConflict(StoreOutcome):
    """The key cannot be a file here: a parent is a file, or the key is a directory."""


class SymlinkRefused(StoreOutcome):
    """The key is, or goes through, a symbolic link; stores never follow one."""


class DestinationExists(StoreOutcome):
    """A move's destination exists (a file, or objects below a folder prefix); nothing was moved."""


class Busy(StoreOutcome):
    """Another operation on this key (a delete or a rename) is finishing; try again in a moment."""


class NotAFile(StoreOutcome):
    """The key names something that is neither a file nor a folder (a pipe, a device, a socket)."""


class MovedAway(StoreOutcome):
    """The object was renamed to ``destination`` (or a rename to there is in progress).

    For a folder prefix: a rename of that folder to ``destination`` is running or was
    interrupted (running it again finishes it).
    """

    def __init__(self, key: str, destination: str) -> None:
        super().__init__(key)
        self.destination = destination


class Store(Protocol):
    """The synchronous byte store. Implementations must be safe to share between threads."""

    #: The longest key the backend accepts, in UTF-8 bytes (None: no limit but the name length).
    max_key_bytes: int | None
    #: Whether a conditional put's PreconditionFailed may hide this writer's own landed write
    #: (the client resent a put whose answer was lost, and the resend met the first one).
    resends_writes: bool

    def get(self, key: str, *, max_bytes: int | None = None) -> Blob:
        """Content, version and write ids; raise ObjectNotFound (or NotAFile, PathConflict, MovedAway).

        With ``max_bytes``, at most that many bytes are read (``Blob.size`` tells the whole size).
        """
        ...

    def head(self, key: str) -> ObjectInfo:
        """Size, version and write ids without reading the content; raise ObjectNotFound."""
        ...

    def put(
        self,
        key: str,
        data: bytes,
        *,
        mode: PutMode,
        write_ids: tuple[str, ...],
        record: str | None = None,
    ) -> str:
        """Write ``data`` under the condition ``mode``; return the new version.

        ``write_ids`` (newest first) are stored with the object where the backend
        keeps metadata (object stores) and returned by get/head.

        ``record``, if given, is a second key that also receives ``data``: the
        write-ahead history record. It is written before the object (local: a hard
        link of the new file) or concurrently with it (object stores). When the
        write is refused, a store that can be sure it did not land removes the
        record; an object store keeps it (a retried request may have landed) and
        leaves that to the caller, who can tell by the write ids.

        Raise PreconditionFailed when the condition does not hold (an IfMatch
        on a missing object may raise ObjectNotFound or PreconditionFailed),
        MovedAway when the object was renamed away, and OutcomeUnknown when the
        write may or may not have been applied.
        """
        ...

    def remove(self, key: str, *, record: RemoveRecord | None = None) -> ObjectInfo:
        """Delete one object, as it is when the remove reads it; return what was deleted.

        Reading the object and deleting it is one decision: the local store stats the
        file, calls ``record`` and unlinks it under its folder's lock; object stores HEAD
        it, fence exactly that version with a stub PUT ``If-Match`` its ETag, then DELETE.
        ``record`` is given the object about to be deleted (its version and write ids) and
        returns the history marker to write after the delete, so the marker names the
        version that was deleted.

        Raise ObjectNotFound (nothing there, or a folder), NotAFile, PreconditionFailed
        (it changed between the read and the fence: try again) or MovedAway (it was
        renamed away).
        """
        ...

    def move(
        self,
        source: str,
        destination: str,
        *,
        write_id: str,
        records: MoveRecords | None = None,
    ) -> ObjectInfo:
        """Rename one object; never overwrites; return what was moved (its version and write ids).

        The destination keeps the source's write ids behind ``write_id`` (the local
        store, whose ids only serve history, does so only when ``records`` is given). ``records``
        is called with the source's info once it is read, and returns the history
        markers to write with the move (one at the destination, one at the source).
        Of several moves (or a move and a remove or an edit) of one object at once,
        exactly one wins. Raise ObjectNotFound, MovedAway, Busy or DestinationExists.
        """
        ...

    def move_tree(self, source: str, destination: str, *, progress: TreeProgress | None = None) -> int:
        """Rename every object below the prefix ``source`` to below ``destination``; return how many.

        The destination prefix must be empty (else DestinationExists). A move
        interrupted by a crash leaves a state that running the same move again
        finishes; a move of the same source to another destination meanwhile is
        refused with MovedAway.
        """
        ...

    def delete_tree(self, prefix: str, *, progress: TreeProgress | None = None) -> list[ObjectInfo]:
        """Delete every object below ``prefix``; return what was deleted (foreign entries stay)."""
        ...

    def delete(self, keys: Sequence[str]) -> None:
        """Delete these objects unconditionally (memspace's own records); missing keys are ignored."""
        ...

    def list(self, prefix: str, *, include_reserved: bool = False) -> Iterator[ObjectInfo]:
        """Every object below ``prefix`` ('' or ending in '/'), all pages, in no set order.

        Only objects count: a backend's empty folders or prefix markers are not listed.
        Names below ``prefix`` that start with memspace's reserved prefix (its journals,
        records, temp files) are left out unless ``include_reserved`` (temp files always are).
        """
        ...

    def lock(self, key: str) -> AbstractContextManager[None]:
        """Hold off other writers of ``key`` on this machine while a read-modify-write runs.

        Only a queue to avoid wasted work under contention: correctness never
        depends on it (every write is conditional anyway). A no-op on object stores.
        """
        ...

    def sweep(self, prefix: str, *, older_than: float) -> dict[str, int]:
        """Remove what interrupted operations left below ``prefix`` that is older than ``older_than``
        seconds (temp files, trash, stubs); return counts by kind."""
        ...

    def close(self) -> None:
        """Release connections and file handles."""
        ...
