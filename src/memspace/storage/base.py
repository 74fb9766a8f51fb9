"""The byte-store protocol every backend implements.

A store maps keys (``"default/notes/a.md"``) to bytes. Each object has a
*version* that changes whenever its content changes (S3/R2: the ETag; local:
a digest of the content), which is what makes optimistic concurrency possible:

    blob = store.get(key)
    store.put(key, new_data, mode=IfMatch(blob.version), write_ids=(...))  # or PreconditionFailed

Stores know nothing of tools, limits or model-facing wording; they raise the
small set of exceptions below and :class:`memspace.errors.StorageError` for
backend failures (with messages that never contain secrets).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

__all__ = [
    "Blob",
    "IfMatch",
    "ObjectInfo",
    "ObjectNotFound",
    "OutcomeUnknown",
    "PathConflict",
    "PreconditionFailed",
    "PutMode",
    "Store",
    "SymlinkRefused",
]


@dataclass(frozen=True)
class IfMatch:
    """Write only if the object's current version is ``version``."""

    version: str


# "create": only if absent; "overwrite": unconditionally; IfMatch: compare-and-swap.
PutMode = Literal["create", "overwrite"] | IfMatch


@dataclass(frozen=True)
class ObjectInfo:
    """An object's metadata; ``version`` is ``None`` (and ``write_ids`` empty) where not known cheaply."""

    key: str
    size: int
    version: str | None = None
    write_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Blob:
    """An object's content, the version it was read at, and its recent write ids."""

    data: bytes
    version: str
    write_ids: tuple[str, ...] = ()


class StoreOutcome(Exception):  # noqa: N818 - outcomes, not failures
    """Base of the storage-level outcomes the workspace translates for the model."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class ObjectNotFound(StoreOutcome):
    """No object at ``key`` (a directory is not an object)."""


class PreconditionFailed(StoreOutcome):
    """A conditional put lost: the object exists (create) or has another version (IfMatch)."""


class OutcomeUnknown(StoreOutcome):
    """A write's response was lost (timeout, dropped connection): it may or may not have landed.

    The workspace settles it by reading the object and looking for the write id.
    """


class PathConflict(StoreOutcome):
    """The key cannot be a file here: a parent is a file, or the key is a directory."""


class SymlinkRefused(StoreOutcome):
    """The key is, or goes through, a symbolic link; stores never follow one."""


class Store(Protocol):
    """The synchronous byte store. Implementations must be safe to share between threads."""

    def get(self, key: str) -> Blob:
        """Return content, version and write id; raise ObjectNotFound."""
        ...

    def head(self, key: str) -> ObjectInfo:
        """Size, version and write ids without the content; raise ObjectNotFound."""
        ...

    def put(self, key: str, data: bytes, *, mode: PutMode, write_ids: tuple[str, ...]) -> str:
        """Write ``data`` under the condition ``mode``; return the new version.

        ``write_ids`` (newest first) are stored with the object where the backend
        can lose a response (object stores) and returned by get/head; a backend
        whose writes cannot be lost in flight may drop them.

        Raise PreconditionFailed when the condition does not hold (an IfMatch
        on a missing object may raise ObjectNotFound or PreconditionFailed), and
        OutcomeUnknown when the write may or may not have been applied.
        """
        ...

    def delete(self, keys: Sequence[str]) -> None:
        """Delete these objects; keys that do not exist are ignored."""
        ...

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Every object below ``prefix`` ('' or ending in '/'), all pages, in no set order.

        Only objects count: a backend's empty folders or prefix markers are not listed.
        """
        ...

    def close(self) -> None:
        """Release connections and file handles."""
        ...
