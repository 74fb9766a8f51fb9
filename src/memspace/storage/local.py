"""Files under a root directory, safe for many processes on one machine.

Why it is built this way:

* **Nothing is created until something is written.** Opening a store, reading and
  listing never create a folder; a missing root reads as an empty workspace.
  Folders are created 0o700 and files 0o600: another local user cannot read an
  agent's memory.
* **No symlink is ever followed.** Every path is walked from the root one
  directory at a time with ``O_NOFOLLOW`` relative to the parent's descriptor,
  so nothing planted inside the root can lead a read or a write outside it.
  Files are opened ``O_NONBLOCK`` and checked to be regular files, so a pipe or
  device named like a note never blocks a call.
* **Writes are atomic.** Data goes to a temp file in the target's folder (named
  ``.memspace-tmp.<random>``, a name :mod:`memspace.paths` forbids users to
  create), is fsynced, then renamed over the target: a reader, or a writer killed
  mid-write, sees the old or the new content. Temp files a killed writer left
  behind are removed once they are an hour old, when their folder is listed and
  by :meth:`LocalStore.sweep`.
* **Every change is decided under a short lock, without lock files.** The compare
  and the rename happen under an ``flock`` on the file's folder itself, so
  anything that shares the folder (other processes, containers on one host)
  shares the lock, and no lock file ever appears in the workspace. A writer then
  checks its folder is still where its path says, so a folder renamed or deleted
  meanwhile fails the write instead of losing it. Writers of one folder take turns
  around their whole read-modify-write, first come, first served (see
  :meth:`LocalStore._turn`): under contention none retries, and none waits long.
* **The version is the file's inode, not its content.** Every write creates a new
  file, so ``(device, inode, mtime, size)`` changes with every write and is read
  with one ``stat``: checking a version never reads or hashes the file. A
  :class:`~memspace.storage.base.Blob` keeps its file open, so the inode number
  cannot be reused by a later write while anyone still compares against it.
* **Write ids travel with the file.** A write tags its temp file with its write
  ids (an extended attribute, with the inode it was set on) before the rename, so
  ``get`` returns them as object stores do and history never searches a file's
  records for its current version. Where extended attributes are missing or
  unsupported, files simply have none.
* **Renames are one ``rename(2)``.** A file or a whole folder moves atomically
  under the locks of the folders involved (all folders of a renamed subtree, so
  no write straddles the move); a folder is deleted by renaming it into a trash
  folder inside the root, then removing it.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import fcntl
import os
import stat
import struct
import threading
import time
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from memspace.errors import StorageError
from memspace.paths import RESERVED_PREFIX, is_valid_name
from memspace.storage.base import (
    Blob,
    Busy,
    DestinationExists,
    IfMatch,
    MoveRecords,
    NotAFile,
    ObjectInfo,
    ObjectNotFound,
    PathConflict,
    PreconditionFailed,
    PutMode,
    Record,
    RemoveRecord,
    SymlinkRefused,
    TreeProgress,
)

__all__ = ["STALE_TEMP_SECONDS", "TEMP_PREFIX", "LocalStore"]

TEMP_PREFIX = f"{RESERVED_PREFIX}-tmp."
STALE_TEMP_SECONDS = 3600.0  # no write takes an hour: an older temp file was left by a killed writer
_TRASH = (RESERVED_PREFIX, f"{RESERVED_PREFIX}-trash")  # no namespace can be named so
# The writers' queue (see LocalStore._turn): a file in a folder no namespace can be named like.
_QUEUE = (RESERVED_PREFIX, f"{RESERVED_PREFIX}-queue", "tickets")
_QUEUE_KEY = "/".join(_QUEUE[:-1])
_QUEUE_SLOTS = 16384  # files map to slots of the queue file; two files sharing one only share turns
_TICKETS = 1 << 32  # ticket numbers wrap around; ticket t is the byte range lock at _tickets_at(slot) + t
_HAS_OFD_LOCKS = hasattr(fcntl, "F_OFD_SETLKW")  # Linux; elsewhere writers queue on the flock alone
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
# Keys longer than this cannot come from a valid path (DESIGN.md section 5 caps paths at 1024
# bytes): a planted tree deeper than that is listed as one foreign entry, not walked.
_MAX_WALK_KEY_BYTES = 4096
_WALK_OPEN_FOLDERS = 64  # descriptors a walk keeps open on its branch (the rest are reopened as '..')
_IDS_ATTRIBUTE = "user.memspace.write-ids"
_HAS_XATTRS = hasattr(os, "setxattr")  # Linux; elsewhere history finds a file's id among its records
# Write ids kept with a local file, newest first: its own and the one before. Locally they only
# name versions for history (a local write never has an unknown outcome), and two fit in the
# inode beside its other attributes on ext4 (256-byte inodes); a third spills into a block of
# its own, allocated and journaled at every write of a file written more than twice.
_KEPT_WRITE_IDS = 2
_EMPTY_TREE_DEPTH = 32  # how deep a tree of empty folders in the way of a write is cleared away


def version_of(st: os.stat_result) -> str:
    """The version token of a file: it changes with every write, since every write is a new inode."""
    # One %-format, not four format specs: a listing makes one of these per file.
    return "%x:%x:%x:%x" % (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)  # noqa: UP031


class _Pin:
    """Keeps a file descriptor (and so its inode) open until garbage-collected."""

    __slots__ = ("fd",)

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def __del__(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)


@dataclass(slots=True)
class _Place:
    """An open folder on the way to a key: its descriptor, the name in it, and where it is.

    ``parent`` is the folder above ``dir`` (``root`` itself for a folder at the top; -1 when
    ``dir`` is the root), kept open by the walk so an emptied folder is pruned without a second walk."""

    root: int
    dir: int
    name: str
    dir_parts: tuple[str, ...]
    parent: int = -1
    known_identity: tuple[int, int] | None = field(default=None, init=False, repr=False)

    def identity(self) -> tuple[int, int]:
        """The held folder's (device, inode): one ``fstat`` per place, since ``dir`` names one folder for
        as long as it is open (the checks under a lock then cost a ``stat`` each, not two calls)."""
        if self.known_identity is None:
            self.known_identity = _identity(self.dir)
        return self.known_identity

    # A context manager of its own (closing what the walk opened), not a generator one:
    # every call walks to a place, and this is a few microseconds cheaper.
    def __enter__(self) -> _Place:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            _close_walk(self.root, self.parent, self.dir)
        finally:
            os.close(self.root)


class LocalStore:
    """A :class:`~memspace.storage.base.Store` of plain files below ``root``.

    >>> import tempfile
    >>> store = LocalStore(tempfile.mkdtemp() + "/memories")   # nothing is created yet
    >>> list(store.list(""))
    []
    """

    max_key_bytes: int | None = None
    resends_writes: bool = False

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).absolute()
        self._root = os.fspath(self.root)  # opened by every call: converted once
        self._held = threading.local()

    # -- reading ---------------------------------------------------------------

    def get(self, key: str, *, max_bytes: int | None = None) -> Blob:
        with _os_errors("read"), self._place(key, create=False) as place:
            fd, st = self._open_file(place, key)
            try:
                if max_bytes is not None and st.st_size > max_bytes:
                    data = os.pread(fd, max_bytes, 0)
                else:
                    data = _read_all(fd, st.st_size)
            except BaseException:
                os.close(fd)
                raise
        return Blob(data, version_of(st), _read_ids(fd, st), size=max(st.st_size, len(data)), pin=_Pin(fd))

    def head(self, key: str) -> ObjectInfo:
        with _os_errors("read"), self._place(key, create=False) as place:
            st = self._stat_file(place, key)
        return ObjectInfo(key, st.st_size, version_of(st))

    def get_many(
        self, keys: Sequence[str], *, max_bytes: int | None = None
    ) -> Iterator[tuple[str, Blob | None]]:
        """``(key, blob)`` for each key, opening each folder once (a search reads whole trees);
        the blob is None where no regular file is (missing, a folder, a link, a pipe). In no set order."""
        by_folder: dict[tuple[str, ...], builtins.list[tuple[str, str]]] = {}
        for key in keys:
            *dirs, name = _split(key)
            by_folder.setdefault(tuple(dirs), []).append((key, name))
        for folders, names in by_folder.items():
            blobs: builtins.list[tuple[str, Blob | None]] = []
            try:
                with _os_errors("read"), self._folder(folders, create=False) as parent:
                    for key, name in names:
                        try:
                            fd, st = self._open_file_at(parent, name, key)
                        except (ObjectNotFound, SymlinkRefused, NotAFile):
                            blobs.append((key, None))
                            continue
                        try:
                            if max_bytes is not None and st.st_size > max_bytes:
                                data = os.pread(fd, max_bytes, 0)
                            else:
                                data = _read_all(fd, st.st_size)
                        finally:
                            os.close(fd)
                        blobs.append((key, Blob(data, version_of(st), size=max(st.st_size, len(data)))))
            except (ObjectNotFound, PathConflict, SymlinkRefused):
                blobs = [(key, None) for key, _ in names]
            yield from blobs

    def list(self, prefix: str, *, include_reserved: bool = False) -> Iterator[ObjectInfo]:
        listed, version = ObjectInfo.listed, version_of  # once, not per file
        for key, st in self._files(prefix, include_reserved):
            yield ObjectInfo(key, 0, foreign=True) if st is None else listed(key, st.st_size, version(st))

    def list_sizes(self, prefix: str) -> Iterator[tuple[str, int | None]]:
        """``(key, size)`` of what :meth:`list` lists (the size None for a foreign entry), without
        versions: a folder view needs none, and making one per file costs a fifth of its time."""
        for key, st in self._files(prefix, False):
            yield key, None if st is None else st.st_size

    def _files(self, prefix: str, include_reserved: bool) -> Iterator[tuple[str, os.stat_result | None]]:
        parts = _split(prefix)
        with _os_errors("list"):
            try:
                with self._folder(parts, create=False) as fd:
                    yield from self._walk(fd, prefix, include_reserved)
            except (ObjectNotFound, PathConflict, SymlinkRefused):
                return

    # -- writing ---------------------------------------------------------------

    def put(
        self, key: str, data: bytes, *, mode: PutMode, write_ids: tuple[str, ...], record: str | None = None
    ) -> str:
        own = key.startswith(f"{RESERVED_PREFIX}/")  # memspace's own records
        with _os_errors("write"), _reserved_area() if own else contextlib.nullcontext():
            try:
                for _ in range(10):
                    # A concurrent delete may remove the folder between opening it and
                    # creating the temp file; walking again recreates it.
                    with self._place(key, create=True) as place:
                        version = self._put_in(place, key, data, mode, record, write_ids)
                    if version is not None:
                        return version
            except BaseException:
                self._prune(_split(key)[:-1])  # no empty folders are left by a failed write
                raise
            raise StorageError("The memory folder keeps disappearing under a write; try again.")

    def _put_in(
        self,
        place: _Place,
        key: str,
        data: bytes,
        mode: PutMode,
        record: str | None,
        write_ids: tuple[str, ...],
    ) -> str | None:
        # Refuse before paying for a temp file and an fsync when the outcome is already known.
        self._check(place, key, mode)
        prepared = self._take_prepared(place)
        temp = prepared[0] if prepared is not None else f"{TEMP_PREFIX}{os.urandom(16).hex()}"
        linked: str | None = None
        committed = False
        try:
            try:
                if prepared is not None:
                    st = _fill(prepared[1], data, write_ids=write_ids)
                else:
                    st = _write_file(place.dir, temp, data, write_ids=write_ids)
            except FileNotFoundError:
                return None
            if record is not None:
                self._link_record(place, temp, record)
                linked = record
            # Checked once more before the lock: a write that lost to another (or whose folder
            # moved) during its fsync is refused without queueing for the lock, and the checks
            # under the lock run on warm caches (the first calls after a long fsync are the slow
            # ones): the lock is held a third less, and grows less with the size of the file.
            self._still_in_place(place, key)
            self._check(place, key, mode)
            with self._locked([place]):
                self._still_in_place(place, key)
                self._check(place, key, mode)
                self._rename_into(place, temp, key)
                committed = True
            if not self._sync_after_queue(place):
                os.fsync(place.dir)
            return version_of(st)  # a rename changes neither the inode nor its mtime
        finally:
            if not committed:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temp, dir_fd=place.dir)
                if linked is not None:
                    self._unlink_key(linked)

    def remove(self, key: str, *, record: RemoveRecord | None = None) -> ObjectInfo:
        # One walk: the stat that decides, the marker and the unlink all happen under the lock.
        with _os_errors("delete"), self._place(key, create=False) as place:
            with self._locked([place]):
                self._still_in_place(place, key)
                if record is None:
                    st = self._stat_file(place, key)
                    removed, marker = ObjectInfo(key, st.st_size, version_of(st)), None
                else:  # the marker names the version deleted: read its write ids too
                    fd, st, ids = self._open_with_ids(place, key)
                    if fd is not None:
                        os.close(fd)
                    removed = ObjectInfo(key, st.st_size, version_of(st), ids)
                    marker = record(removed)
                # The marker's folder is opened (refused if planted) before the delete, not after it.
                folder = self._open_record_folder(marker[0]) if marker is not None else None
                try:
                    os.unlink(place.name, dir_fd=place.dir)
                except BaseException:
                    if folder is not None:
                        os.close(folder)
                    raise
            self._prune_from(place)
        if marker is not None and folder is not None:
            self._write_record(marker, folder)
        return removed

    def move(
        self,
        source: str,
        destination: str,
        *,
        write_id: str,
        records: MoveRecords | None = None,
    ) -> ObjectInfo:
        with _os_errors("rename"):
            with self._place(source, create=False) as src:
                try:
                    with self._place(destination, create=True) as dst, self._locked([src.dir, dst.dir]):
                        self._still_in_place(src, source)
                        self._still_in_place(dst, destination)
                        ids: tuple[str, ...] = ()
                        fd: int | None = None
                        if records is None:  # no markers to name a version: the ids are not needed
                            st = self._stat_file(src, source)
                        else:
                            fd, st, ids = self._open_with_ids(src, source)
                        folders: builtins.list[int] = []
                        try:
                            moved = ObjectInfo(source, st.st_size, version_of(st), ids)
                            marks = records(moved) if records is not None else None
                            if marks:  # refused before the move, not after it
                                folders = self._open_record_folders(src.root, [mark for mark, _ in marks])
                            self._free(dst, destination)
                            os.rename(src.name, dst.name, src_dir_fd=src.dir, dst_dir_fd=dst.dir)
                            # Tagged after the rename: a crash in between leaves the source untouched.
                            # Without history the file keeps its ids: they stay those of its content.
                            write_ids = moved.write_ids
                            if fd is not None:
                                write_ids = (write_id, *moved.write_ids[: _KEPT_WRITE_IDS - 1])
                                _tag(fd, st, write_ids)
                            os.fsync(dst.dir)
                            if dst.dir_parts != src.dir_parts:  # two descriptors of one folder: one fsync
                                os.fsync(src.dir)
                        except BaseException:
                            for folder in folders:
                                os.close(folder)
                            raise
                        finally:
                            if fd is not None:
                                os.close(fd)
                except BaseException:
                    self._prune(_split(destination)[:-1])
                    raise
            self._prune(_split(source)[:-1])
            for record, folder in zip(marks or (), folders, strict=True):
                self._write_record(record, folder)
            return ObjectInfo(destination, moved.size, moved.version, write_ids)

    def _open_record_folder(self, key: str) -> int:
        """Open (creating it) the reserved folder a marker ``key`` goes in, or refuse clearly if a file
        or a symbolic link planted there stands in the way; the caller closes it."""
        with _reserved_area(), self._folder(_split(key)[:-1], create=True) as fd:
            return os.dup(fd)

    def _open_record_folders(self, root: int, keys: Sequence[str]) -> builtins.list[int]:
        """:meth:`_open_record_folder` for one or several markers (a rename's two ends), from the open
        ``root``: the folders they share (the history of the folder the paths are in) are walked once,
        then each path's own folder, often new, is made."""
        paths = [_split(key)[:-1] for key in keys]
        shared, most = 0, max(min(len(parts) for parts in paths) - 1, 0)
        while shared < most and all(parts[shared] == paths[0][shared] for parts in paths):
            shared += 1
        opened: builtins.list[int] = []
        with _reserved_area():
            parent, top = self._walk_to(root, paths[0][:shared], create=True, key="/".join(paths[0][:shared]))
            try:
                for parts in paths:
                    opened.append(self._make_below(top, parts[shared:], "/".join(parts)))
            except BaseException:
                for fd in opened:
                    os.close(fd)
                raise
            finally:
                _close_walk(root, parent, top)
        return opened

    def _make_below(self, top: int, parts: Sequence[str], key: str) -> int:
        """The folder ``parts`` below the open folder ``top``, created as needed, as a new descriptor.
        Below a folder just made nothing can exist yet: it is made without looking for it first."""
        fd, fresh = os.dup(top), False
        try:
            for part in parts:
                if not fresh:
                    try:
                        child = os.open(part, _DIR_FLAGS, dir_fd=fd)
                    except FileNotFoundError:
                        fresh = True
                    except OSError:
                        child = self._open_child(fd, part, create=True, key=key)  # names the refusal
                if fresh:
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(part, 0o700, dir_fd=fd)
                    child = self._open_child(fd, part, create=True, key=key)
                os.close(fd)
                fd = child
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _write_record(self, record: Record, folder: int) -> None:
        """Write a marker in its folder opened by :meth:`_open_record_folder` (and close that).

        A marker is written after the change it records, as durably as a delete itself is
        (not fsynced): a power loss right after may lose the marker, never a file's content."""
        key, data = record
        try:
            with contextlib.suppress(FileExistsError):
                _write_file(folder, _split(key)[-1], data, sync=False)
            return
        except FileNotFoundError:
            pass  # the folder was removed meanwhile (emptied by a collection): walk to it again
        finally:
            os.close(folder)
        with _reserved_area(), self._place(key, create=True) as place, contextlib.suppress(FileExistsError):
            _write_file(place.dir, place.name, data, sync=False)

    def _check_reserved_area(self) -> None:
        """Refuse a folder operation before it, not after: its history record goes in the reserved area,
        and a link planted at its top (``.memspace``, a namespace's folder in it, the trash) would refuse
        that record once the folder had already moved. One ``scandir`` of ``.memspace``."""
        with (
            _reserved_area(),
            contextlib.suppress(ObjectNotFound),
            self._folder((RESERVED_PREFIX,), create=False) as fd,
        ):
            for entry in _scan(fd):
                if entry.is_symlink():
                    raise SymlinkRefused(f"{RESERVED_PREFIX}/{entry.name}")
                if not entry.is_dir(follow_symlinks=False):
                    raise PathConflict(f"{RESERVED_PREFIX}/{entry.name}")

    def _reserved_folder_of(self, key: str) -> None:
        """Create the folder ``key`` goes in (in the reserved area), or refuse clearly if a file or a
        symbolic link planted there stands in the way."""
        with _reserved_area(), self._folder(_split(key)[:-1], create=True):
            pass

    def move_tree(self, source: str, destination: str, *, progress: TreeProgress | None = None) -> int:
        src_parts, dst_parts = _split(source), _split(destination)
        with _os_errors("rename"):
            self._check_reserved_area()
            for _ in range(10):
                # A folder on either path renamed or deleted while we walked: walk again.
                with contextlib.suppress(PreconditionFailed):
                    count = self._move_tree_once(src_parts, dst_parts, progress)
                    self._prune(src_parts[:-1])
                    return count
            raise Busy(source)

    def _move_tree_once(
        self, src_parts: builtins.list[str], dst_parts: builtins.list[str], progress: TreeProgress | None
    ) -> int:
        with self._place("/".join(src_parts), create=False) as src:
            try:
                with self._place("/".join(dst_parts), create=True) as dst:
                    return self._move_tree_in(src, dst, progress)
            except BaseException:
                self._prune(dst_parts[:-1])
                raise

    def _move_tree_in(self, src: _Place, dst: _Place, progress: TreeProgress | None) -> int:
        with self._subtree(src) as (folders, files):
            if not files:
                raise ObjectNotFound("/".join((*src.dir_parts, src.name)))
            if progress is not None:
                progress(0, len(files))
            with self._locked([src.dir, dst.dir, *folders]):
                self._still_in_place(src, src.name)
                self._still_in_place(dst, dst.name)
                self._still_the_folder(src, folders[0])
                self._free(dst, dst.name)
                os.rename(src.name, dst.name, src_dir_fd=src.dir, dst_dir_fd=dst.dir)
                os.fsync(dst.dir)
                if dst.dir_parts != src.dir_parts:
                    os.fsync(src.dir)
            if progress is not None:
                progress(len(files), len(files))
            return len(files)

    def delete_tree(self, prefix: str, *, progress: TreeProgress | None = None) -> builtins.list[ObjectInfo]:
        parts = _split(prefix)
        if not parts:
            raise ValueError("delete_tree needs a folder prefix")
        with _os_errors("delete"):
            self._check_reserved_area()
            for _ in range(10):
                try:
                    deleted = self._delete_tree(parts, progress)
                    break
                except (ObjectNotFound, PathConflict, SymlinkRefused):
                    return []
                except PreconditionFailed:
                    continue  # a folder on the path was renamed or replaced meanwhile: walk again
            else:
                raise Busy(prefix)
            self._prune(parts[:-1])
            return deleted

    def _delete_tree(
        self, parts: builtins.list[str], progress: TreeProgress | None
    ) -> builtins.list[ObjectInfo]:
        trash = os.urandom(16).hex()
        self._reserved_folder_of("/".join((*_TRASH, trash)))
        with (
            self._place("/".join(parts), create=False) as place,
            self._subtree(place) as (folders, files),
            self._folder(_TRASH, create=False) as bin_fd,
        ):
            if progress is not None:
                progress(0, len(files))
            # Under the locks of every folder below: no write is between its check and
            # its rename while the folder moves into the trash in one rename(2).
            with self._locked([place.dir, *folders]):
                self._still_in_place(place, place.name)
                self._still_the_folder(place, folders[0])
                os.rename(place.name, trash, src_dir_fd=place.dir, dst_dir_fd=bin_fd)
            self._remove_tree(bin_fd, trash)
            if progress is not None:
                progress(len(files), len(files))
            return files

    def delete(self, keys: Sequence[str]) -> None:
        with _os_errors("delete"):
            for key in keys:
                self._unlink_key(key)

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        """Queue the writers of one file, first come first served, for a whole read-modify-write.

        Under contention a loser would otherwise write and fsync a temp file only to
        be refused at the compare; queueing costs nothing when uncontended. The queue is
        per file (see :meth:`_turn`): the folder's ``flock`` is taken only around the
        compare-and-rename, so writers of other files in the folder never wait for this
        one's read, write or fsync. Where no turn can be taken (no open file description
        locks here), the ``flock`` is held for the whole read-modify-write instead.
        Only what depends on the file's current content happens in the queue: the temp
        file a write fills is created before queueing (creating an inode can wait on the
        file system's journal), and the fsync of the folder that makes the rename durable
        runs after leaving it (the write is reported only once it is done; a writer after
        us that reads our content renames and fsyncs the same folder before it reports).
        """
        with contextlib.ExitStack() as stack:
            try:
                place = stack.enter_context(self._place(key, create=False))
            except (ObjectNotFound, PathConflict, SymlinkRefused, OSError):
                place = None  # nothing there yet: the write creates it, under its own lock
            if place is None:
                yield
                return
            state = self._held.__dict__
            outer = state.get("queue")
            queue = _Queue(place.identity(), _prepare_temp(place.dir))
            state["queue"] = queue
            try:
                # A read-modify-write inside another one (none today) never queues again: it could
                # wait for a writer that waits for the outer one.
                with contextlib.ExitStack() as turn:
                    if outer is None and self._turn(turn, queue.folder, place.name):
                        yield
                    else:
                        with self._locked([place]):
                            yield
            finally:
                state["queue"] = outer
                if queue.temp is not None:  # not used by a write: remove it
                    _discard_temp(place.dir, *queue.temp)
                if queue.sync:
                    with _os_errors("write"):
                        os.fsync(place.dir)

    def _turn(self, turn: contextlib.ExitStack, folder: tuple[int, int], name: str) -> bool:
        """Wait for this writer's turn among the writers of ``name`` in ``folder``: first come, first
        served. True once it is our turn (kept until ``turn`` closes); False if no turn can be taken.

        ``flock`` wakes its waiters in no order, and a writer coming back takes the lock before a
        woken one runs, so under contention some writers wait many turns. Here a writer takes the
        next ticket of the file's slot (a counter in the queue file, read and bumped under a byte
        range lock), holds the lock of its ticket's byte until it is done, and waits for the lock of
        the ticket before its own. Only the order comes from here: exclusion is still the folder's
        ``flock``, taken around each compare-and-rename. Two files sharing a slot only share turns.
        These are open file description locks, released by the kernel when their holder dies, so a
        killed writer never blocks the queue; and anything unexpected (no such locks here, a queue
        file that cannot be opened) leaves the writer to the ``flock``.
        """
        held: set[tuple[int, int]] = self._held.__dict__.setdefault("folders", set())
        fd = self._open_queue() if _HAS_OFD_LOCKS and folder not in held else None
        if fd is None:
            return False
        turn.callback(os.close, fd)  # closing it releases our ticket: the next writer's turn
        try:
            slot = zlib.crc32(name.encode(), (folder[1] * 31 + folder[0]) & 0xFFFFFFFF) % _QUEUE_SLOTS
            ticket = _take_ticket(fd, slot)
            if ticket is None:
                return False
            before = _tickets_at(slot) + (ticket - 1) % _TICKETS
            _range_lock(fd, fcntl.F_WRLCK, before, wait=True)  # granted when it is done
            _range_lock(fd, fcntl.F_UNLCK, before)
        except OSError:
            return False
        return True

    def _open_queue(self) -> int | None:
        """The queue file, open for reading and writing (created with its folder); None if it cannot be."""
        try:
            with _reserved_area(), self._folder(_QUEUE[:-1], create=True) as folder:
                fd = os.open(
                    _QUEUE[-1],
                    os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                    0o600,
                    dir_fd=folder,
                )
        except (OSError, StorageError):
            return None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            return None
        return fd

    def _take_prepared(self, place: _Place) -> tuple[str, int] | None:
        """The temp file :meth:`lock` created in the folder of ``place`` before queueing (name, open
        descriptor), now owned by the caller; None if there is none for this folder."""
        queue: _Queue | None = self._held.__dict__.get("queue")
        if queue is None or queue.temp is None or queue.folder != place.identity():
            return None
        temp, queue.temp = queue.temp, None
        return temp

    def _sync_after_queue(self, place: _Place) -> bool:
        """Leave the fsync of the folder of ``place`` to :meth:`lock`, after it leaves the queue, if it
        holds it."""
        queue: _Queue | None = self._held.__dict__.get("queue")
        if queue is None or queue.folder != place.identity():
            return False
        queue.sync = True
        return True

    def sweep(self, prefix: str = "", *, older_than: float = STALE_TEMP_SECONDS) -> dict[str, int]:
        """Remove temp files older than ``older_than`` seconds and leftovers of interrupted deletes.

        The whole root is swept (temp files can be anywhere, the trash is shared), whatever ``prefix``.
        """
        report = {"temp files": 0, "trash folders": 0}
        with _os_errors("clean up"):
            try:
                with self._folder((), create=False) as root:
                    report["temp files"] = self._sweep_temps(root, older_than)
                with (
                    contextlib.suppress(ObjectNotFound, PathConflict, SymlinkRefused),
                    self._folder(_TRASH, create=False) as bin_fd,
                ):
                    for name in os.listdir(bin_fd):
                        self._remove_tree(bin_fd, name)
                        report["trash folders"] += 1
            except (ObjectNotFound, PathConflict, SymlinkRefused):
                pass
        return report

    def close(self) -> None:
        pass

    # -- checks under the lock -------------------------------------------------

    def _check(self, place: _Place, key: str, mode: PutMode) -> None:
        """Whether a conditional write may go ahead: one ``stat``, whatever the file's size."""
        if mode == "overwrite":
            return
        try:
            st = os.stat(place.name, dir_fd=place.dir, follow_symlinks=False)
        except FileNotFoundError:
            if isinstance(mode, IfMatch):
                raise ObjectNotFound(key) from None
            return
        kind = stat.S_IFMT(st.st_mode)
        if kind == stat.S_IFLNK:
            raise SymlinkRefused(key)
        if kind == stat.S_IFDIR:
            if isinstance(mode, IfMatch):
                raise ObjectNotFound(key)
            return  # an empty folder left behind is replaced by _rename_into; a full one conflicts there
        if kind != stat.S_IFREG:
            raise NotAFile(key)
        if mode == "create" or (isinstance(mode, IfMatch) and version_of(st) != mode.version):
            raise PreconditionFailed(key)

    def _free(self, place: _Place, key: str) -> None:
        """Make sure nothing is at ``place`` (an empty folder left behind is removed)."""
        try:
            st = os.stat(place.name, dir_fd=place.dir, follow_symlinks=False)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(st.st_mode) and self._remove_if_empty(place.dir, place.name):
            return
        raise DestinationExists(key)

    def _rename_into(self, place: _Place, temp: str, key: str) -> None:
        try:
            os.rename(temp, place.name, src_dir_fd=place.dir, dst_dir_fd=place.dir)
        except (IsADirectoryError, OSError) as error:
            if not isinstance(error, IsADirectoryError) and error.errno not in (
                errno.ENOTEMPTY,
                errno.EEXIST,
            ):
                raise
            # A folder is there: if it is empty (left behind by a failed write or a
            # delete), it does not make the name unusable.
            if not self._remove_if_empty(place.dir, place.name):
                raise PathConflict(key) from None
            os.rename(temp, place.name, src_dir_fd=place.dir, dst_dir_fd=place.dir)

    def _still_in_place(self, place: _Place, key: str) -> None:
        """The folder we hold is still at its path (not renamed or deleted since we walked to it)."""
        if not place.dir_parts:
            return
        try:
            there = os.stat("/".join(place.dir_parts), dir_fd=place.root, follow_symlinks=False)
        except (FileNotFoundError, NotADirectoryError):
            raise PreconditionFailed(key) from None
        if (there.st_dev, there.st_ino) != place.identity():
            raise PreconditionFailed(key)

    def _still_the_folder(self, place: _Place, held: int) -> None:
        """The folder named by ``place`` is still the one we hold open as ``held`` (whose
        subtree we listed and locked), not renamed or deleted, nor replaced by another."""
        key = "/".join((*place.dir_parts, place.name))
        try:
            there = os.stat(place.name, dir_fd=place.dir, follow_symlinks=False)
        except FileNotFoundError:
            raise ObjectNotFound(key) from None
        st = os.fstat(held)
        if (there.st_dev, there.st_ino) != (st.st_dev, st.st_ino):
            raise PreconditionFailed(key)

    # -- locks -------------------------------------------------------------------

    def _locked(self, folders: Iterable[int | _Place]) -> contextlib.AbstractContextManager[None]:
        """``flock`` every folder, given by descriptor or by the place walked to it (by identity, in one
        global order, each once; re-entrant per thread)."""
        return _FolderLocks(self._held.__dict__.setdefault("folders", set()), folders)

    # -- walking -----------------------------------------------------------------

    def _place(self, key: str, *, create: bool) -> _Place:
        """Walk to the folder ``key`` is in; use the place in a ``with`` (which closes it)."""
        *dirs, name = _split(key)
        root = self._open_root(create=create)
        try:
            parent, fd = self._walk_to(root, dirs, create=create, key=key)
        except BaseException:
            os.close(root)
            raise
        return _Place(root, fd, name, tuple(dirs), parent)

    @contextlib.contextmanager
    def _folder(self, parts: Sequence[str], *, create: bool) -> Iterator[int]:
        root = self._open_root(create=create)
        try:
            parent, fd = self._walk_to(root, parts, create=create, key="/".join(parts))
            try:
                yield fd
            finally:
                _close_walk(root, parent, fd)
        finally:
            os.close(root)

    def _walk_to(self, root: int, parts: Sequence[str], *, create: bool, key: str) -> tuple[int, int]:
        """The folder ``parts`` below the open ``root`` and the folder above it (-1 for the root),
        walked one name at a time (no dup of the root); close them with :func:`_close_walk`."""
        parent, fd = -1, root
        try:
            for part in parts:
                next_fd = self._open_child(fd, part, create=create, key=key)
                if parent not in (-1, root):
                    os.close(parent)
                parent, fd = fd, next_fd
        except BaseException:
            _close_walk(root, parent, fd)
            raise
        return parent, fd

    def _open_root(self, *, create: bool) -> int:
        try:
            return os.open(self._root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:
            if not create:
                raise ObjectNotFound("") from None
            _make_dirs(self.root)
            return os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except NotADirectoryError:
            raise StorageError(
                "The local memory folder is a file, not a folder; check MEMORY_TOOL_LOCAL_DIR."
            ) from None

    def _open_child(self, fd: int, part: str, *, create: bool, key: str) -> int:
        for _ in range(10):
            try:
                return os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise ObjectNotFound(key) from None
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o700, dir_fd=fd)
            except OSError as error:
                # O_NOFOLLOW|O_DIRECTORY on a symlink fails with ELOOP or ENOTDIR.
                if error.errno in (errno.ELOOP, errno.ENOTDIR):
                    mode = os.stat(part, dir_fd=fd, follow_symlinks=False).st_mode
                    raise (SymlinkRefused if stat.S_ISLNK(mode) else PathConflict)(key) from None
                raise
        raise StorageError("A folder keeps disappearing while it is being created; try again.")

    def _open_file(self, place: _Place, key: str) -> tuple[int, os.stat_result]:
        return self._open_file_at(place.dir, place.name, key)

    def _open_file_at(self, folder: int, name: str, key: str) -> tuple[int, os.stat_result]:
        """The regular file ``name`` open for reading, and its stat."""
        try:
            fd = os.open(name, _READ_FLAGS, dir_fd=folder)
        except FileNotFoundError:
            raise ObjectNotFound(key) from None
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise SymlinkRefused(key) from None
            if error.errno in (errno.ENXIO, errno.EOPNOTSUPP, errno.ENODEV):
                raise NotAFile(key) from None
            raise
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            raise (ObjectNotFound if stat.S_ISDIR(st.st_mode) else NotAFile)(key)
        return fd, st

    def _open_with_ids(self, place: _Place, key: str) -> tuple[int | None, os.stat_result, tuple[str, ...]]:
        """The file open (None if it cannot be read: then only its stat), its stat and its write ids."""
        try:
            fd, st = self._open_file(place, key)
        except PermissionError:
            return None, self._stat_file(place, key), ()
        try:
            return fd, st, _read_ids(fd, st)
        except BaseException:
            os.close(fd)
            raise

    def _stat_file(self, place: _Place, key: str) -> os.stat_result:
        try:
            st = os.stat(place.name, dir_fd=place.dir, follow_symlinks=False)
        except FileNotFoundError:
            raise ObjectNotFound(key) from None
        kind = stat.S_IFMT(st.st_mode)
        if kind == stat.S_IFREG:
            return st
        if kind == stat.S_IFLNK:
            raise SymlinkRefused(key)
        raise (ObjectNotFound if kind == stat.S_IFDIR else NotAFile)(key)

    def _walk(
        self, top: int, prefix: str, include_reserved: bool
    ) -> Iterator[tuple[str, os.stat_result | None]]:
        """Every file below the open folder ``top`` and its stat (None for a foreign entry), depth
        first, iteratively (no recursion limit).

        Each folder is entered through its parent's descriptor with ``O_NOFOLLOW``, which
        makes the walk immune to a folder being swapped for a symlink meanwhile. Only the
        deepest ``_WALK_OPEN_FOLDERS`` folders of the branch stay open: going back up past
        them reopens the parent as ``..`` of the child and checks it is the same folder, so
        a planted tree thousands of folders deep needs no more descriptors than a shallow one.
        An unreadable folder is an error: a listing that silently left files out would make
        a clear or a sync delete what it never saw.
        """
        now = time.time()
        usable_name, reserved, long_key = is_valid_name, RESERVED_PREFIX, _MAX_WALK_KEY_BYTES // 4  # once
        # (descriptor or -1 once closed, its identity, its key prefix, what is left to visit)
        stack: _Branch = []
        try:
            stack.append((os.dup(top), _identity(top), prefix, iter(_scan(top))))
            while stack:
                fd, _, here, entries = stack[-1]
                for entry in entries:  # this folder's entries, until one is a folder to enter
                    name = entry.name
                    if name.startswith(reserved):  # one check for the common name
                        if name.startswith(TEMP_PREFIX):
                            _sweep_if_stale(fd, entry, now)
                            continue
                        if not include_reserved or here + name == _QUEUE_KEY:
                            continue  # (the writers' queue holds no object)
                        usable = True
                    else:
                        usable = usable_name(name)
                    key = here + name
                    if not usable or (  # at most 4 bytes a character: only a long key needs encoding
                        len(key) > long_key
                        and len(key.encode("utf-8", "surrogateescape")) > _MAX_WALK_KEY_BYTES
                    ):
                        yield key, None
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        child = self._open_listed_dir(fd, name, key)
                        if child is None:
                            yield key, None
                            continue
                        try:
                            children = iter(_scan(child))
                        except BaseException:
                            os.close(child)
                            raise
                        _descend(stack, (child, _identity(child), key + "/", children))
                        break
                    if entry.is_file(follow_symlinks=False):
                        try:
                            st = entry.stat(follow_symlinks=False)
                        except FileNotFoundError:
                            continue  # deleted while we listed
                        yield key, st
                    else:
                        yield key, None  # a symlink, pipe, device or socket
                else:  # the folder is done
                    _climb(stack)
        finally:
            for fd, _, _, _ in stack:
                if fd >= 0:
                    os.close(fd)

    def _open_listed_dir(self, parent: int, name: str, key: str) -> int | None:
        try:
            return os.open(name, _DIR_FLAGS, dir_fd=parent)
        except FileNotFoundError:
            return None
        except PermissionError:
            raise _unreadable() from None
        except OSError as error:
            if error.errno in (errno.ELOOP, errno.ENOTDIR):
                return None  # swapped for a symlink or a file since it was listed
            raise

    @contextlib.contextmanager
    def _subtree(self, place: _Place) -> Iterator[tuple[builtins.list[int], builtins.list[ObjectInfo]]]:
        """Open every folder of the subtree at ``place`` (to lock them) and list its files."""
        folders: builtins.list[int] = []
        files: builtins.list[ObjectInfo] = []
        try:
            top = self._open_child(place.dir, place.name, create=False, key=place.name)
        except PermissionError:
            raise _unreadable() from None
        folders.append(top)
        try:
            pending = [(top, "/".join((*place.dir_parts, place.name)) + "/")]
            while pending:
                fd, here = pending.pop()
                try:
                    found = _scan(fd)
                except PermissionError:
                    raise _unreadable() from None
                for entry in found:
                    if entry.name.startswith(TEMP_PREFIX):
                        continue
                    key = here + entry.name
                    if entry.is_dir(follow_symlinks=False):
                        child = self._open_listed_dir(fd, entry.name, key)
                        if child is not None:
                            folders.append(child)
                            pending.append((child, key + "/"))
                    elif entry.is_file(follow_symlinks=False):
                        with contextlib.suppress(FileNotFoundError):
                            st = entry.stat(follow_symlinks=False)
                            files.append(
                                ObjectInfo(
                                    key, st.st_size, version_of(st), foreign=not is_valid_name(entry.name)
                                )
                            )
                    else:
                        files.append(ObjectInfo(key, 0, foreign=True))
            yield folders, files
        finally:
            for fd in folders:
                os.close(fd)

    # -- helpers -----------------------------------------------------------------

    def _link_record(self, place: _Place, temp: str, record: str) -> None:
        """Give the new file a second name at ``record`` (same inode: stored once)."""
        (target,) = self._open_record_folders(place.root, [record])
        try:
            _link_or_copy(place.dir, temp, target, _split(record)[-1])
        finally:
            os.close(target)

    def _unlink_key(self, key: str) -> None:
        try:
            with self._place(key, create=False) as place, contextlib.suppress(FileNotFoundError):
                if stat.S_ISDIR(os.stat(place.name, dir_fd=place.dir, follow_symlinks=False).st_mode):
                    return
                os.unlink(place.name, dir_fd=place.dir)
        except (ObjectNotFound, PathConflict, SymlinkRefused):
            return
        self._prune(_split(key)[:-1])

    def _prune_from(self, place: _Place) -> None:
        """:meth:`_prune` the folder ``place`` is in, through the descriptors the walk holds: one
        ``rmdir`` when the folder is not empty (the usual case), no second walk."""
        if len(place.dir_parts) < 2:  # a top folder is kept (see _prune)
            return
        try:
            os.rmdir(place.dir_parts[-1], dir_fd=place.parent)
        except OSError:
            return
        self._prune(place.dir_parts[:-1])

    def _prune(self, dirs: Sequence[str]) -> None:
        """Remove folders left empty (object stores have no empty folders; neither do we), up to
        but not including the top one: a namespace's folder, the root of its workspace, stays
        when its last file goes (the next write would only make it again, and a delete in the
        workspace's root need not try an ``rmdir`` that fails while anything is left)."""
        parts = list(dirs)
        while len(parts) > 1:
            *parents, name = parts
            try:
                with self._folder(parents, create=False) as fd:
                    os.rmdir(name, dir_fd=fd)
            except (OSError, ObjectNotFound, PathConflict, SymlinkRefused):
                return
            parts = parents

    def _remove_if_empty(self, parent: int, name: str, depth: int = 0) -> bool:
        """Remove the folder ``parent/name`` if it holds nothing but empty folders (left by failed
        writes, or by someone's ``mkdir -p``): they never make a name unusable."""
        try:
            os.rmdir(name, dir_fd=parent)
            return True
        except OSError as error:
            if error.errno not in (errno.ENOTEMPTY, errno.EEXIST) or depth >= _EMPTY_TREE_DEPTH:
                return False
        try:
            fd = os.open(name, _DIR_FLAGS, dir_fd=parent)
        except OSError:
            return False
        try:
            for entry in _scan(fd):
                if not entry.is_dir(follow_symlinks=False) or not self._remove_if_empty(
                    fd, entry.name, depth + 1
                ):
                    return False
        finally:
            os.close(fd)
        return self._remove_if_empty(parent, name, _EMPTY_TREE_DEPTH)

    def _remove_tree(self, parent: int, name: str) -> None:
        """``rm -r`` of ``parent/name`` through descriptors, iteratively, never following a symlink."""
        try:
            top = os.open(name, _DIR_FLAGS, dir_fd=parent)
        except (FileNotFoundError, NotADirectoryError, OSError):
            with contextlib.suppress(OSError):
                os.unlink(name, dir_fd=parent)
            return
        stack: builtins.list[tuple[int, int, str]] = [(top, parent, name)]  # (folder, its parent, its name)
        try:
            while stack:
                fd, owner, own_name = stack[-1]
                descended = False
                for entry in _scan(fd):
                    if entry.is_dir(follow_symlinks=False):
                        try:
                            child = os.open(entry.name, _DIR_FLAGS, dir_fd=fd)
                        except OSError:
                            continue
                        stack.append((child, fd, entry.name))
                        descended = True
                        break
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(entry.name, dir_fd=fd)
                if descended:
                    continue
                stack.pop()
                os.close(fd)
                with contextlib.suppress(OSError):
                    os.rmdir(own_name, dir_fd=owner)
        finally:
            for fd, _, _ in stack:
                os.close(fd)

    def _sweep_temps(self, root: int, older_than: float) -> int:
        removed = 0
        now = time.time()
        pending = [os.dup(root)]
        while pending:
            fd = pending.pop()
            try:
                for entry in _scan(fd):
                    if entry.name.startswith(TEMP_PREFIX):
                        removed += _sweep_if_stale(fd, entry, now, older_than)
                    elif entry.is_dir(follow_symlinks=False):
                        with contextlib.suppress(OSError):
                            pending.append(os.open(entry.name, _DIR_FLAGS, dir_fd=fd))
            finally:
                os.close(fd)
        return removed


class _FolderLocks:
    """What :meth:`LocalStore._locked` holds: the ``flock`` of each folder this thread does not hold
    yet (``held``: the identities it holds), taken in one global order, released in reverse.

    A class rather than a generator context manager: every write takes it twice, every delete once."""

    __slots__ = ("folders", "held", "taken")

    def __init__(self, held: set[tuple[int, int]], folders: Iterable[int | _Place]) -> None:
        self.held = held
        self.folders = folders
        self.taken: list[tuple[tuple[int, int], int]] = []

    def __enter__(self) -> None:
        if isinstance(self.folders, list) and len(self.folders) == 1:  # the usual case: no order to keep
            fd, ident = _fd_and_identity(self.folders[0])
            if ident not in self.held:
                fcntl.flock(fd, fcntl.LOCK_EX)
                self.held.add(ident)
                self.taken.append((ident, fd))
            return
        wanted: dict[tuple[int, int], int] = {}
        for folder in self.folders:
            fd, ident = _fd_and_identity(folder)
            if ident not in self.held:
                wanted.setdefault(ident, fd)
        try:
            for ident, fd in sorted(wanted.items()):
                fcntl.flock(fd, fcntl.LOCK_EX)
                self.held.add(ident)
                self.taken.append((ident, fd))
        except BaseException:
            self._release()
            raise

    def __exit__(self, *exc: object) -> None:
        self._release()

    def _release(self) -> None:
        taken, self.taken = self.taken, []
        for ident, fd in reversed(taken):
            self.held.discard(ident)
            fcntl.flock(fd, fcntl.LOCK_UN)


def _fd_and_identity(folder: int | _Place) -> tuple[int, tuple[int, int]]:
    if isinstance(folder, _Place):
        return folder.dir, folder.identity()
    return folder, _identity(folder)


def _link_or_copy(folder: int, temp: str, target: int, name: str) -> None:
    try:
        os.link(temp, name, src_dir_fd=folder, dst_dir_fd=target, follow_symlinks=False)
    except FileExistsError:
        pass  # a retried write with the same record
    except OSError as error:
        if error.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
            raise
        # No hard links here (another file system mounted inside the root): copy.
        fd = os.open(temp, _READ_FLAGS, dir_fd=folder)
        try:
            data = _read_all(fd, os.fstat(fd).st_size)
        finally:
            os.close(fd)
        with contextlib.suppress(FileExistsError):
            _write_file(target, name, data)


def _close_walk(root: int, parent: int, fd: int) -> None:
    """Close what :meth:`LocalStore._walk_to` opened (never the root)."""
    if fd != root:
        os.close(fd)
    if parent not in (-1, root):
        os.close(parent)


_Branch = list[tuple[int, tuple[int, int], str, Iterator[os.DirEntry[str]]]]


def _descend(stack: _Branch, child: tuple[int, tuple[int, int], str, Iterator[os.DirEntry[str]]]) -> None:
    """Enter a folder; the folder ``_WALK_OPEN_FOLDERS`` levels up is closed (reopened on the way back)."""
    stack.append(child)
    if len(stack) > _WALK_OPEN_FOLDERS:
        fd, *rest = stack[-_WALK_OPEN_FOLDERS - 1]
        if fd >= 0:
            os.close(fd)
            stack[-_WALK_OPEN_FOLDERS - 1] = (-1, *rest)  # type: ignore[assignment]


def _climb(stack: _Branch) -> None:
    """Leave the deepest folder, reopening its parent as ``..`` if the parent was closed."""
    fd = stack.pop()[0]
    try:
        if stack and stack[-1][0] < 0:
            _, ident, here, entries = stack[-1]
            stack[-1] = (_reopen_parent(fd, ident), ident, here, entries)
    finally:
        os.close(fd)


def _identity(fd: int) -> tuple[int, int]:
    st = os.fstat(fd)
    return st.st_dev, st.st_ino


def _reopen_parent(child: int, expected: tuple[int, int]) -> int:
    """The folder above ``child``, which must still be the folder the walk came down from."""
    fd = os.open("..", _DIR_FLAGS, dir_fd=child)
    if _identity(fd) != expected:
        os.close(fd)
        raise StorageError("A folder was moved while the workspace was being listed; try again.")
    return fd


def _scan(fd: int) -> list[os.DirEntry[str]]:
    with os.scandir(fd) as entries:
        return list(entries)


def _sweep_if_stale(
    folder: int, entry: os.DirEntry[str], now: float, older_than: float = STALE_TEMP_SECONDS
) -> int:
    try:
        if now - entry.stat(follow_symlinks=False).st_mtime < older_than:
            return 0
        os.unlink(entry.name, dir_fd=folder)
    except OSError:
        return 0
    return 1


def _write_file(
    folder: int, name: str, data: bytes, *, sync: bool = True, write_ids: tuple[str, ...] = ()
) -> os.stat_result:
    """Create the file ``name`` in ``folder`` with ``data`` (see :func:`_fill`); its ``stat``."""
    fd = os.open(name, _WRITE_FLAGS, 0o600, dir_fd=folder)
    try:
        return _fill(fd, data, sync=sync, write_ids=write_ids)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name, dir_fd=folder)  # no partial file is left behind (disk full, ...)
        raise


def _fill(fd: int, data: bytes, *, sync: bool = True, write_ids: tuple[str, ...] = ()) -> os.stat_result:
    """Write ``data`` to the new, empty file ``fd``, tag it, fsync it and close ``fd``; the file's
    ``stat`` once written (what :func:`version_of` reads of it does not change after)."""
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        st = os.fstat(fd)
        if write_ids:
            _tag(fd, st, write_ids)
        if sync:
            os.fsync(fd)
        return st
    finally:
        os.close(fd)


@dataclass
class _Queue:
    """What :meth:`LocalStore.lock` holds for the thread in its queue: the folder's identity, the
    temp file created in it beforehand (name, descriptor) until a write takes it, and whether a
    write left the folder's fsync to be done after the queue."""

    folder: tuple[int, int]
    temp: tuple[str, int] | None
    sync: bool = False


def _take_ticket(fd: int, slot: int) -> int | None:
    """Take the next ticket of ``slot`` in the queue file ``fd`` and lock its byte; None if that byte
    is taken (a counter damaged or wrapped around: no turn is waited for)."""
    counter = slot * 8
    _range_lock(fd, fcntl.F_WRLCK, counter, length=8, wait=True)
    try:
        raw = os.pread(fd, 8, counter)
        ticket = int.from_bytes(raw, "little") % _TICKETS if len(raw) == 8 else 0
        os.pwrite(fd, ((ticket + 1) % _TICKETS).to_bytes(8, "little"), counter)
        mine = _range_lock(fd, fcntl.F_WRLCK, _tickets_at(slot) + ticket)
    finally:
        _range_lock(fd, fcntl.F_UNLCK, counter, length=8)
    return ticket if mine else None


def _tickets_at(slot: int) -> int:
    """Where the ticket bytes of ``slot`` start in the queue file (locks only: nothing is written there)."""
    return (1 << 40) + slot * _TICKETS


def _range_lock(fd: int, kind: int, start: int, *, length: int = 1, wait: bool = False) -> bool:
    """Set (or with ``F_UNLCK`` clear) an open file description lock on bytes ``start`` to
    ``start + length``; False if another holds them and ``wait`` is not set."""
    command = fcntl.F_OFD_SETLKW if wait else fcntl.F_OFD_SETLK
    try:
        fcntl.fcntl(fd, command, struct.pack("hhqqi4x", kind, os.SEEK_SET, start, length, 0))
    except OSError as error:
        if error.errno in (errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


def _prepare_temp(folder: int) -> tuple[str, int] | None:
    """A new empty temp file in ``folder`` (name, descriptor); None if it cannot be created
    (the write then creates its own, and reports why that fails)."""
    name = f"{TEMP_PREFIX}{os.urandom(16).hex()}"
    try:
        return name, os.open(name, _WRITE_FLAGS, 0o600, dir_fd=folder)
    except OSError:
        return None


def _discard_temp(folder: int, name: str, fd: int) -> None:
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(name, dir_fd=folder)


def _tag(fd: int, st: os.stat_result, write_ids: tuple[str, ...]) -> None:
    """Keep ``write_ids`` with the file (an extended attribute, with the inode it was set on)."""
    if not _HAS_XATTRS:
        return
    value = " ".join((f"{st.st_ino:x}", *write_ids[:_KEPT_WRITE_IDS])).encode()
    with contextlib.suppress(OSError):  # no extended attributes here: history reads the records instead
        os.setxattr(fd, _IDS_ATTRIBUTE, value)


def _read_ids(fd: int, st: os.stat_result) -> tuple[str, ...]:
    """The write ids :func:`_tag` kept with this very file; none if they were copied from another inode
    (``cp -a``, an editor preserving attributes), were never set, or cannot be read here."""
    if not _HAS_XATTRS:
        return ()
    try:
        ino, *ids = os.getxattr(fd, _IDS_ATTRIBUTE).decode("ascii").split()
    except (OSError, ValueError):
        return ()
    return tuple(ids) if ino == f"{st.st_ino:x}" else ()


def _read_all(fd: int, size_hint: int) -> bytes:
    # One byte more than the stat announced: a file that grew since shows it, and one that
    # did not is read whole in one call, without a second read to meet its end.
    data = os.read(fd, max(size_hint, 0) + 1)
    if len(data) == size_hint or not data:
        return data
    chunks = [data]
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _make_dirs(path: Path) -> None:
    """``mkdir -p`` where every folder created is 0o700 (not only the last one)."""
    missing: list[Path] = []
    here = path
    while not here.exists():
        missing.append(here)
        if here.parent == here:
            break
        here = here.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=0o700)


def _unreadable() -> StorageError:
    # A folder left out of a listing would make a clear or a sync delete what it never saw.
    return StorageError(
        "A folder in the workspace cannot be read (permission denied); fix its permissions, then try again."
    )


@contextlib.contextmanager
def _reserved_area() -> Iterator[None]:
    """A file or a symbolic link planted in the reserved area is refused by name, never followed."""
    try:
        yield
    except (PathConflict, SymlinkRefused):
        raise StorageError(
            "The local memory folder's reserved area (.memspace) has a file or a symbolic link "
            "where a folder should be; move it away, then try again."
        ) from None


def _split(key: str) -> list[str]:
    return [part for part in key.split("/") if part]


class _os_errors:  # noqa: N801 - used as a function: ``with _os_errors("read"):``
    """Report an OS failure (permissions, disk full, ...) by its cause, never by its path.

    A class rather than a generator context manager: it wraps every call, and costs less so."""

    __slots__ = ("action",)

    def __init__(self, action: str) -> None:
        self.action = action

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, error: BaseException | None, traceback: object) -> None:
        if isinstance(error, OSError):
            reason = os.strerror(error.errno) if error.errno else type(error).__name__
            raise StorageError(
                f"The local memory folder could not {self.action}: {reason.lower()}. "
                "Check the folder's permissions and free space."
            ) from None
