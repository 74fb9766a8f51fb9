"""Byte stores: the protocol and the backends (memory, local, s3/r2)."""

from memspace.storage.base import (
    Blob,
    IfMatch,
    ObjectInfo,
    ObjectNotFound,
    OutcomeUnknown,
    PathConflict,
    PreconditionFailed,
    PutMode,
    Store,
    SymlinkRefused,
)

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
