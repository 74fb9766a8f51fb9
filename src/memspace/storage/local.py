"""Files under a root directory, safe for many processes on one machine.

Why it is built this way:

* **No symlink is ever followed.** Every path is walked from the root one
  directory at a time with ``O_NOFOLLOW`` relative to the parent's file
  descriptor, so a symlink planted inside the root cannot lead a read or a
  write outside it (and no check-then-open race exists).
* **Writes are atomic.** Data goes to a temp file in the target's directory
  (named ``.memspace-tmp.<random>``, a name :mod:`memspace.paths` forbids users
  to create), is fsynced, then renamed over the target: a reader, or a writer
  killed mid-write, leaves either the old or the new content.
* **Conditional writes are serialised by a short lock.** The compare (does
  the file exist / still have the version read?) and the rename happen under
  an ``flock`` on one of 256 lock files kept in ``<root>/.memspace/locks``,
  outside every workspace, chosen by a hash of the key. The lock is held for
  the compare-and-rename only, never while data is written.
* **The version is a digest of the content.** Edits are pure functions of the
  text, so a file that went A -> B -> A can safely be treated as unchanged.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import stat
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

from memspace.errors import StorageError
from memspace.paths import RESERVED_PREFIX
from memspace.storage.base import (
    Blob,
    IfMatch,
    ObjectInfo,
    ObjectNotFound,
    PathConflict,
    PreconditionFailed,
    PutMode,
    SymlinkRefused,
)

__all__ = ["LocalStore"]

_TEMP_PREFIX = f"{RESERVED_PREFIX}-tmp."
_LOCK_STRIPES = 256
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def content_version(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


class LocalStore:
    """A :class:`~memspace.storage.base.Store` of plain files below ``root``."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).absolute()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self._locks = self.root / RESERVED_PREFIX / "locks"
            self._locks.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StorageError(
                f"The local memory directory cannot be created ({error.strerror}); "
                "check MEMORY_TOOL_LOCAL_DIR and its permissions."
            ) from None

    # -- reading ---------------------------------------------------------------

    def get(self, key: str) -> Blob:
        with _os_errors("read"), self._open_parent(key, create=False) as (parent, name):
            fd = self._open_file(parent, name, key)
            try:
                with os.fdopen(fd, "rb", closefd=False) as handle:
                    data = handle.read()
            finally:
                os.close(fd)
        return Blob(data, content_version(data))

    def head(self, key: str) -> ObjectInfo:
        blob = self.get(key)
        return ObjectInfo(key, len(blob.data), blob.version)

    def get_many(self, keys: Sequence[str]) -> Iterator[tuple[str, Blob | None]]:
        """``(key, blob)`` for each key, opening each folder once (a search reads whole trees);
        the blob is None where no file is (missing, a folder, a symlink). In no set order."""
        by_folder: dict[tuple[str, ...], list[tuple[str, str]]] = {}
        for key in keys:
            folder, _, name = key.rpartition("/")
            by_folder.setdefault(tuple(folder.split("/")) if folder else (), []).append((key, name))
        for folders, names in by_folder.items():
            blobs: list[tuple[str, Blob | None]] = []
            try:
                with _os_errors("read"), self._open_dir(folders, create=False) as parent:
                    for key, name in names:
                        try:
                            fd = self._open_file(parent, name, key)
                        except (ObjectNotFound, SymlinkRefused):
                            blobs.append((key, None))
                            continue
                        try:
                            with os.fdopen(fd, "rb", closefd=False) as handle:
                                data = handle.read()
                        finally:
                            os.close(fd)
                        blobs.append((key, Blob(data, content_version(data))))
            except (ObjectNotFound, PathConflict, SymlinkRefused):
                blobs = [(key, None) for key, _ in names]
            yield from blobs

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        try:
            with _os_errors("list"), self._open_dir(_split_dir(prefix), create=False) as fd:
                yield from self._walk(fd, prefix)
        except (ObjectNotFound, PathConflict, SymlinkRefused):
            return

    # -- writing ---------------------------------------------------------------

    def put(self, key: str, data: bytes, *, mode: PutMode, write_ids: tuple[str, ...]) -> str:
        with _os_errors("write"):
            return self._put(key, data, mode)

    def _put(self, key: str, data: bytes, mode: PutMode) -> str:
        # A concurrent delete may prune the directory between opening it and
        # creating the temp file; walking again recreates it.
        for _ in range(10):
            with self._open_parent(key, create=True) as (parent, name):
                temp = f"{_TEMP_PREFIX}{uuid.uuid4().hex}"
                try:
                    self._write_temp(parent, temp, data)
                except FileNotFoundError:
                    continue
                try:
                    with self._lock(key):
                        self._check(parent, name, key, mode)
                        try:
                            os.rename(temp, name, src_dir_fd=parent, dst_dir_fd=parent)
                        except IsADirectoryError:
                            raise PathConflict(key) from None
                    os.fsync(parent)
                finally:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(temp, dir_fd=parent)
            return content_version(data)
        raise StorageError("The memory directory keeps disappearing under a write; try again.")

    def delete(self, keys: Sequence[str]) -> None:
        with _os_errors("delete"):
            self._delete(keys)

    def _delete(self, keys: Sequence[str]) -> None:
        for key in keys:
            try:
                with (
                    self._open_parent(key, create=False) as (parent, name),
                    self._lock(key),
                    contextlib.suppress(FileNotFoundError),
                ):
                    if stat.S_ISDIR(os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode):
                        continue
                    os.unlink(name, dir_fd=parent)
            except (ObjectNotFound, PathConflict, SymlinkRefused):
                continue
            self._prune(key)

    def close(self) -> None:
        pass

    # -- helpers ---------------------------------------------------------------

    def _check(self, parent: int, name: str, key: str, mode: PutMode) -> None:
        """Decide, under the key's lock, whether a conditional put may proceed."""
        if mode == "overwrite":
            return
        try:
            fd = self._open_file(parent, name, key)
        except ObjectNotFound:
            if isinstance(mode, IfMatch):
                raise
            return
        try:
            if mode == "create":
                raise PreconditionFailed(key)
            with os.fdopen(fd, "rb", closefd=False) as handle:
                if content_version(handle.read()) != mode.version:
                    raise PreconditionFailed(key)
        finally:
            os.close(fd)

    def _write_temp(self, parent: int, temp: str, data: bytes) -> None:
        fd = os.open(
            temp,
            os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
            0o644,
            dir_fd=parent,
        )
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)

    def _open_file(self, parent: int, name: str, key: str) -> int:
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
        except FileNotFoundError:
            raise ObjectNotFound(key) from None
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise SymlinkRefused(key) from None
            raise
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise ObjectNotFound(key)
        return fd

    @contextlib.contextmanager
    def _open_parent(self, key: str, *, create: bool) -> Iterator[tuple[int, str]]:
        *dirs, name = key.split("/")
        with self._open_dir(dirs, create=create, key=key) as fd:
            yield fd, name

    @contextlib.contextmanager
    def _open_dir(self, parts: Sequence[str], *, create: bool, key: str = "") -> Iterator[int]:
        """Open root/parts... as a directory fd, refusing symlinks at every step."""
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            for part in parts:
                next_fd = self._open_child_dir(fd, part, create=create, key=key)
                os.close(fd)
                fd = next_fd
            yield fd
        finally:
            os.close(fd)

    def _open_child_dir(self, fd: int, part: str, *, create: bool, key: str) -> int:
        for _ in range(10):
            try:
                return os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise ObjectNotFound(key) from None
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o755, dir_fd=fd)
            except OSError as error:
                # O_NOFOLLOW|O_DIRECTORY on a symlink fails with ELOOP or ENOTDIR.
                if error.errno in (errno.ELOOP, errno.ENOTDIR):
                    mode = os.stat(part, dir_fd=fd, follow_symlinks=False).st_mode
                    raise (SymlinkRefused if stat.S_ISLNK(mode) else PathConflict)(key) from None
                raise
        raise StorageError("A folder keeps disappearing while it is being created; try again.")

    def _walk(self, fd: int, prefix: str) -> Iterator[ObjectInfo]:
        for entry in sorted(_entries(fd), key=lambda e: e.name):
            if entry.is_dir(follow_symlinks=False):
                try:
                    child = os.open(entry.name, _DIR_FLAGS, dir_fd=fd)
                except OSError:
                    continue
                try:
                    yield from self._walk(child, f"{prefix}{entry.name}/")
                finally:
                    os.close(child)
            elif entry.is_file(follow_symlinks=False):
                size = entry.stat(follow_symlinks=False).st_size
                yield ObjectInfo(prefix + entry.name, size)

    def _prune(self, key: str) -> None:
        """Remove directories left empty by a delete, as object stores have no empty folders."""
        dirs = key.split("/")[:-1]
        while dirs:
            *parents, name = dirs
            try:
                with self._open_dir(parents, create=False) as fd:
                    os.rmdir(name, dir_fd=fd)
            except (OSError, ObjectNotFound, PathConflict, SymlinkRefused):
                return
            dirs = parents

    @contextlib.contextmanager
    def _lock(self, key: str) -> Iterator[None]:
        stripe = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=2).digest()) % _LOCK_STRIPES
        fd = os.open(self._locks / f"{stripe:03d}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


@contextlib.contextmanager
def _os_errors(action: str) -> Iterator[None]:
    """Report an OS failure (permissions, disk full, ...) by its cause, never by its path."""
    try:
        yield
    except OSError as error:
        reason = os.strerror(error.errno) if error.errno else type(error).__name__
        raise StorageError(
            f"The local memory folder could not {action}: {reason.lower()}. "
            "Check the folder's permissions and free space."
        ) from None


def _entries(fd: int) -> list[os.DirEntry[str]]:
    """Directory entries that belong to users: no temp files, no internal folder."""
    with os.scandir(fd) as it:
        return [entry for entry in it if not entry.name.startswith(RESERVED_PREFIX)]


def _split_dir(prefix: str) -> list[str]:
    return [part for part in prefix.split("/") if part]
