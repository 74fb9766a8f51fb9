"""The workspace: typed file operations over a byte store.

Every write goes through one optimistic-concurrency loop, :meth:`Workspace._update`:

    read (text, version) -> transform(text) -> put(new, IfMatch(version), record=history entry)
    on conflict: did our own write land (lost response, retried)? else back off, re-read, re-apply

so concurrent writers on any backend never lose or double an edit, and the
history records a version exactly when a conditional put made it current (the
store writes the record with the put and drops it when the put is refused; see
:mod:`memspace.history`). Creates are ``put(mode="create")``, which only one of
many concurrent callers wins. Deletes and renames are conditional too (on the
version read), so a rename, a delete and an edit racing for one file have
exactly one winner, and an edit never lands on a file that was renamed away:
it fails, saying where the file went.

Every write records a short history of write ids (newest first) with the
object. A put whose response was lost and which the client retried fails with
a precondition error although it landed; the loop then finds its own write id
in the current object's history and reports success instead of applying the
edit twice, even if other writers have built on top of it since.

>>> from memspace.storage.memory import MemoryStore
>>> ws = Workspace(MemoryStore())
>>> ws.create("/notes/a.md", "hello\\n")
>>> ws.append("/notes/a.md", "world").text
'hello\\nworld'
"""

from __future__ import annotations

import builtins
import contextlib
import heapq
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from memspace import edits
from memspace.config import Settings
from memspace.errors import (
    AlreadyExistsError,
    BinaryFileError,
    ConfigError,
    ConflictError,
    InvalidPathError,
    InvalidTextError,
    IsADirectoryError,
    LimitExceededError,
    MemspaceError,
    NotADirectoryError,
    NotFoundError,
    ReadOnlyError,
    RenameInProgressError,
    RootPathError,
    StorageError,
    SymlinkError,
)
from memspace.history import DeletedFile, History, Retention, Version, new_write_id, utc
from memspace.limits import Limits
from memspace.paths import RESERVED_PREFIX, ROOT, VirtualPath, parse
from memspace.storage.base import (
    Blob,
    Busy,
    DestinationExists,
    IfMatch,
    MovedAway,
    NotAFile,
    ObjectInfo,
    ObjectNotFound,
    OutcomeUnknown,
    PathConflict,
    PreconditionFailed,
    PutMode,
    Record,
    Store,
    SymlinkRefused,
)

if TYPE_CHECKING:
    from memspace.content_cache import ContentCache
    from memspace.search import SearchResult

__all__ = [
    "AsyncWorkspace",
    "DeletedFile",
    "DirListing",
    "EditOutcome",
    "Entry",
    "Moved",
    "Progress",
    "RestoreReport",
    "RetryPolicy",
    "TextFile",
    "Version",
    "Workspace",
    "open_workspace",
]

log = logging.getLogger("memspace")

# Write ids kept with each object: enough to recognise our own landed write
# even after a few other writers have appended on top of it.
_WRITE_ID_HISTORY = 8
# Writes whose outcome stayed unknown (no answer) before the storage is called failing.
_UNKNOWN_OUTCOMES = 3
_KEPT_PATHS = 256  # parsed paths a workspace keeps (forgotten all at once when full)
_T = TypeVar("_T")

Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` while a long operation (a folder delete, rename or
clear) works through its files; ``total`` is known before the first call."""


@dataclass(frozen=True)
class RetryPolicy:
    """How the concurrency loop backs off when other writers win a race."""

    max_attempts: int = 64
    base_delay: float = 0.005
    max_delay: float = 0.25

    def delay(self, attempt: int) -> float:
        # Full jitter: spreads contending writers so one of them wins each round.
        return random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


@dataclass(frozen=True)
class TextFile:
    """A file's text. ``size`` is its size in bytes; ``whole`` is False when only its beginning
    was read (a file larger than the file size limit, planted by something else)."""

    path: VirtualPath
    text: str
    version: str
    size: int = -1
    whole: bool = True


@dataclass(frozen=True)
class Entry:
    """A file or directory; a directory's ``size`` is the total of the files below it."""

    path: VirtualPath
    kind: Literal["file", "dir"]
    size: int | None = None


@dataclass(frozen=True)
class DirListing:
    """Entries below ``path`` (sorted, up to 2 levels), how many were left out by the cap,
    and how many entries have names memspace cannot use (``foreign``: never shown)."""

    path: VirtualPath
    entries: list[Entry]
    omitted: int
    foreign: int = 0


@dataclass(frozen=True)
class Moved:
    """What a delete or rename did: a file, or a directory holding ``files`` files."""

    path: VirtualPath
    kind: Literal["file", "dir"]
    files: int
    destination: VirtualPath | None = None


@dataclass(frozen=True)
class EditOutcome:
    """The file after an edit, the lines the edit touched, and how many occurrences a
    ``str_replace`` replaced (0 for other edits).

    ``total_lines`` (the file's line count) and ``first_offset`` (the index in ``text`` where
    line ``first_line`` starts) are -1 where the edit did not learn them on its way."""

    path: VirtualPath
    text: str
    first_line: int
    last_line: int
    created: bool = False
    replaced: int = 0
    total_lines: int = -1
    first_offset: int = -1


@dataclass(frozen=True)
class RestoreReport:
    """What :meth:`Workspace.restore_tree` did, by path."""

    restored: list[VirtualPath]
    unchanged: list[VirtualPath]


class Workspace:
    """A folder of text files inside ``store`` under the key prefix ``base``.

    ``base`` is where this workspace lives in the store (e.g. ``"memories/alice/"``);
    no operation reads or writes outside it, except its own ``history`` (kept under
    a reserved prefix beside it). Without ``history`` nothing is versioned.
    """

    @property
    def versioning(self) -> bool:
        """Whether every version of every file is kept (see :meth:`history`)."""
        return self._versions is not None

    def __init__(
        self,
        store: Store,
        *,
        base: str = "",
        limits: Limits | None = None,
        read_only: bool = False,
        retry: RetryPolicy | None = None,
        parallelism: int = 8,
        history: History | None = None,
        cache: ContentCache | None = None,
    ) -> None:
        self.store = store
        self.base = base
        self.limits = limits or Limits()
        self.read_only = read_only
        self.retry = retry or RetryPolicy()
        self.parallelism = parallelism
        self._versions = history
        self._writes = 0
        budget = store.max_key_bytes
        if budget is not None:
            budget -= len(base.encode())
            if history is not None:
                budget = min(budget, store.max_key_bytes - history.overhead_bytes())  # type: ignore[operator]
        self._key_budget = budget
        # Paths lately parsed, with the limits they were checked against: an agent names the
        # same few paths again and again, and parsing is pure (no storage is consulted).
        self._parsed: tuple[Limits, dict[str, VirtualPath]] = (self.limits, {})
        # Where searches on an object store keep file contents (None: the user's default cache).
        self.cache = cache

    # -- paths -----------------------------------------------------------------

    def path(self, path: str) -> VirtualPath:
        limits, parsed = self._parsed
        if limits is not self.limits:  # the limits were replaced: what was checked is forgotten
            limits, parsed = self._parsed = (self.limits, {})
        if type(path) is str:
            known = parsed.get(path)
            if known is not None:
                return known
        vpath = parse(path, limits, key_budget=self._key_budget)
        if len(parsed) >= _KEPT_PATHS:
            parsed.clear()
        parsed[path] = vpath
        return vpath

    def _key(self, path: VirtualPath) -> str:
        return self.base + path.key

    def _dir_key(self, path: VirtualPath) -> str:
        return self.base + path.dir_key

    def _path_of(self, key: str) -> VirtualPath:
        return VirtualPath.from_key(key[len(self.base) :])

    # -- reading ---------------------------------------------------------------

    def read(self, path: str) -> TextFile:
        """The text of a file. Raises NotFoundError, IsADirectoryError, BinaryFileError."""
        vpath = self.path(path)
        return self._text(vpath, self._get(vpath))

    def read_bytes(self, path: str) -> bytes:
        """A file's bytes, whatever they are (binary included). Raises NotFoundError, IsADirectoryError."""
        vpath = self.path(path)
        blob = self._get(vpath)
        if not blob.whole:
            raise self._too_large(vpath, blob.size)
        return blob.data

    def stat(self, path: str) -> Entry:
        vpath = self.path(path)
        if vpath.is_root:
            return Entry(vpath, "dir")
        try:
            info = self._call(vpath, self.store.head, self._key(vpath))
            return Entry(vpath, "file", info.size)
        except ObjectNotFound:
            if self._is_dir(vpath):
                return Entry(vpath, "dir")
            raise self._not_found(vpath) from None

    def exists(self, path: str) -> bool:
        try:
            self.stat(path)
        except NotFoundError:
            return False
        return True

    def list(self, path: str = "/", *, depth: int = 2, include_hidden: bool = False) -> DirListing:
        """Entries below a directory up to ``depth`` levels, sorted, capped at max_dir_entries.

        Built from the objects themselves (one paginated listing), so a folder
        shows only if it holds a file, as on S3, and a folder's size is the total
        of the files below it. Hidden entries (a name starting with '.') and
        everything below them are left out unless ``include_hidden``.
        """
        vpath = self.path(path)
        listing = self._listing(vpath, depth, include_hidden)
        if listing is None:
            self._get(vpath)  # NotFoundError if nothing is there
            raise NotADirectoryError(
                f"{vpath} is a file, not a directory; view it to read it.", path=str(vpath)
            )
        return listing

    def view(self, path: str) -> TextFile | DirListing:
        """A file's text, or a directory's listing: one GET for a file, GET + LIST for a folder
        (LIST only for '/' or a path ending in '/')."""
        vpath = self.path(path)
        if not vpath.is_root and not path.rstrip().endswith("/"):
            try:
                blob = self._call(vpath, self.store.get, self._key(vpath), max_bytes=self._read_cap)
                return self._text(vpath, blob)
            except ObjectNotFound:
                pass
        listing = self._listing(vpath, 2, False)
        if listing is None:
            raise self._not_found(vpath)
        return listing

    @property
    def _read_cap(self) -> int:
        # One byte more than a file may hold: enough to tell an oversized (planted) file, never more.
        return self.limits.max_file_bytes + 1

    def _listing(self, vpath: VirtualPath, depth: int, include_hidden: bool) -> DirListing | None:
        """The listing below ``vpath``, or None when no object is below it (and it is not the root).

        The objects are tallied as they come, not gathered first, and a file right in the
        folder (the common case) is kept by its name alone: a folder of thousands of files
        then leaves the garbage collector little to traverse.
        """
        prefix = self._dir_key(vpath)
        top: dict[str, int] = {}  # files right in the folder, by name
        files: dict[tuple[str, ...], int] = {}  # files further down (up to ``depth``)
        folders: dict[tuple[str, ...], int] = {}
        found = False
        foreign = 0
        start = len(prefix)
        # A store that can list sizes alone (no versions: the local one) is asked for them.
        list_sizes: Callable[[str], Iterator[tuple[str, int | None]]] | None = getattr(
            self.store, "list_sizes", None
        )
        try:
            if list_sizes is not None:
                listed = list_sizes(prefix)
            else:
                listed = ((info.key, None if info.foreign else info.size) for info in self.store.list(prefix))
            for key, size in listed:
                found = True
                rel_key = key[start:]
                if not include_hidden and (rel_key.startswith(".") or "/." in rel_key):
                    continue  # what a hidden folder holds is not counted either
                if size is None:
                    foreign += 1
                    continue
                if "/" not in rel_key:
                    if depth >= 1:
                        top[rel_key] = size
                    continue
                rel = tuple(rel_key.split("/"))
                if len(rel) <= depth:
                    files[rel] = size
                for level in range(1, min(len(rel), depth + 1)):
                    folder = rel[:level]
                    folders[folder] = folders.get(folder, 0) + size
        except (PathConflict, SymlinkRefused, NotAFile) as outcome:
            raise self._refused(vpath, outcome) from None
        if not found and not vpath.is_root:
            return None
        cap = self.limits.max_dir_entries
        # Sorted as tuples of names; only the first ``cap`` are shown, and picking them among
        # the names (strings, cheaper to compare) before sorting costs less than sorting all.
        first = heapq.nsmallest(cap, top) if len(top) > cap else top
        every = (*((name,) for name in first), *files, *folders)
        names = heapq.nsmallest(cap, every) if len(every) > cap else sorted(every)
        entries = [
            Entry(VirtualPath((*vpath.parts, *rel)), "file", top[rel[0]])
            if len(rel) == 1 and rel[0] in top
            else Entry(VirtualPath((*vpath.parts, *rel)), "file", files[rel])
            if rel in files
            else Entry(VirtualPath((*vpath.parts, *rel)), "dir", folders[rel])
            for rel in names
        ]
        return DirListing(vpath, entries, max(0, len(top) + len(files) + len(folders) - cap), foreign)

    def walk(self, path: str = "/") -> builtins.list[Entry]:
        """Every file below ``path`` (all levels, hidden ones included), sorted."""
        vpath = self.path(path)
        return sorted(
            (
                Entry(self._path_of(info.key), "file", info.size)
                for info in self._listed(vpath, self._dir_key(vpath))
                if not info.foreign
            ),
            key=lambda entry: entry.path,
        )

    # -- searching (memspace.search) ---------------------------------------------

    def search(
        self,
        pattern: str,
        *,
        path: str = "/",
        glob: str | None = None,
        regex: bool = False,
        case_sensitive: bool = False,
        max_results: int | None = 100,  # memspace.search.DEFAULT_MAX_RESULTS
        context: int = 0,
    ) -> SearchResult:
        """Lines matching ``pattern`` below ``path``, in path then line order; see :func:`memspace.search.search`.

        >>> ws = Workspace(MemoryStore())
        >>> ws.create("/a.md", "one\\nTwo\\n")
        >>> [(m.line, m.text) for m in ws.search("two").matches]
        [(2, 'Two')]
        """
        from memspace import search

        return search.search(
            self,
            pattern,
            path=path,
            glob=glob,
            regex=regex,
            case_sensitive=case_sensitive,
            max_results=max_results,
            context=context,
        )

    def find(self, glob: str, *, path: str = "/") -> builtins.list[Entry]:
        """Files and folders below ``path`` matching ``glob`` (``**/*.md``), sorted; see :mod:`memspace.globs`.

        >>> ws = Workspace(MemoryStore())
        >>> ws.create("/notes/2024-05.md", "x")
        >>> [str(e.path) for e in ws.find("notes/2024-*")]
        ['/notes/2024-05.md']
        """
        from memspace import search

        return search.find(self, glob, path=path)

    # -- writing ---------------------------------------------------------------

    def create(self, path: str, text: str) -> None:
        """Create a new file; raises AlreadyExistsError if one is there (atomically)."""
        vpath = self._writable(path)
        self._create(vpath, self._encode(vpath, text), "create")

    def append(self, path: str, text: str) -> EditOutcome:
        """Add text at the end of a file (creating it if missing), on a new line."""
        vpath = self._writable(path)
        return self._update(vpath, lambda old: edits.append(old, text), "append", create_missing=text)

    def overwrite(self, path: str, text: str) -> EditOutcome:
        """Replace the whole content of an existing file."""
        vpath = self._writable(path)
        self._encode(vpath, text)
        lines = edits.line_count(text)
        return self._update(
            vpath,
            lambda _old: edits.Edited(text, 1, lines, total_lines=lines, first_offset=0),
            "overwrite",
            decode=False,
        )

    def str_replace(self, path: str, old: str, new: str, *, replace_all: bool = False) -> EditOutcome:
        vpath = self._writable(path)
        if old == "":
            edits.str_replace("", old, new, path=str(vpath))  # raises the one wording for this mistake
        return self._update(
            vpath,
            lambda text: edits.str_replace(text, old, new, replace_all=replace_all, path=str(vpath)),
            "str_replace",
        )

    def insert(self, path: str, after_line: int, text: str) -> EditOutcome:
        vpath = self._writable(path)
        return self._update(vpath, lambda old: edits.insert(old, after_line, text, path=str(vpath)), "insert")

    def write_bytes(
        self, path: str, data: bytes, *, operation: str = "sync"
    ) -> Literal["created", "updated", "unchanged"]:
        """Make the file at ``path`` hold exactly ``data`` (any bytes), through the one write loop.

        What sync uses: the write is a version in the history like any other.
        """
        vpath = self._writable(path)
        if len(data) > self.limits.max_file_bytes:
            raise self._too_large(vpath, len(data))
        done: builtins.list[Literal["created", "updated", "unchanged"]] = []

        def replace(current: bytes | None) -> bytes | None:
            done[:] = ["created" if current is None else "updated" if current != data else "unchanged"]
            return None if current == data else data

        self._update_bytes(vpath, replace, operation)
        return done[0]

    def delete(self, path: str, *, progress: Progress | None = None) -> Moved:
        """Delete a file, or a directory with everything below it."""
        vpath = self._writable(path)
        if vpath.is_root:
            raise RootPathError(
                "Deleting '/' would remove the whole workspace; clear the workspace instead.",
                operation="delete",
            )

        def marker(removed: ObjectInfo) -> Record | None:
            parent = self._current_id(vpath, removed)
            return self._marker(vpath, kind="t", operation="delete", parent=parent)

        record = marker if self._versions is not None else None  # no history: nothing to look up

        for attempt in range(self.retry.max_attempts):
            if attempt:
                time.sleep(self.retry.delay(attempt))
            try:
                # The store reads the file and deletes exactly that version (one walk locally);
                # the marker names the version it deleted.
                self._call(vpath, self.store.remove, self._key(vpath), record=record)
            except (PreconditionFailed, Busy):
                continue  # changed since the store looked: look again
            except ObjectNotFound:
                return self._delete_dir(vpath, progress)  # no file there: a folder, or nothing
            except MovedAway as moved:
                raise self._moved(vpath, moved) from None
            return Moved(vpath, "file", 1)
        raise self._conflict(vpath)

    def _delete_dir(self, vpath: VirtualPath, progress: Progress | None) -> Moved:
        try:
            deleted = self._call(vpath, self.store.delete_tree, self._dir_key(vpath), progress=progress)
        except MovedAway as moved:
            raise self._moved(vpath, moved) from None
        except Busy:
            raise self._conflict(vpath) from None
        if not deleted:
            raise self._not_found(vpath)
        self._mark_folder(vpath, "delete", deleted)
        return Moved(vpath, "dir", sum(1 for info in deleted if not info.foreign))

    def rename(self, old_path: str, new_path: str, *, progress: Progress | None = None) -> Moved:
        """Move a file or a directory; never overwrites.

        A file moves atomically (one winner among racing renames, deletes and edits).
        A folder moves file by file on object stores: if that is interrupted (a crash,
        a signal), running the same rename again finishes it.
        """
        src, dst = self._writable(old_path), self._writable(new_path)
        if src.is_root or dst.is_root:
            raise RootPathError("The workspace root '/' cannot be renamed or replaced.", operation="rename")
        if src == dst:
            raise InvalidPathError(f"{src} and {dst} are the same path; nothing to rename.")
        if dst.is_relative_to(src):
            raise InvalidPathError(f"{src} cannot be moved into itself ({dst}).")
        write_id = new_write_id()

        def markers(moved: ObjectInfo) -> tuple[Record, Record] | None:
            parent = self._current_id(src, moved)
            there = self._marker(
                dst, kind="r", operation="rename", parent=parent, body=f"from {src}", id=write_id
            )
            here = self._marker(src, kind="t", operation="rename", parent=parent, body=f"to {dst}")
            return (there, here) if there is not None and here is not None else None

        for attempt in range(self.retry.max_attempts):
            if attempt:
                time.sleep(self.retry.delay(attempt))
            try:
                self._call(
                    src,
                    self.store.move,
                    self._key(src),
                    self._key(dst),
                    write_id=write_id,
                    records=markers if self._versions is not None else None,  # no history: nothing to read
                )
            except ObjectNotFound:
                return self._rename_dir(src, dst, progress)
            except (PreconditionFailed, Busy):
                write_id = new_write_id()
                continue  # the source changed while we moved it: look again
            except DestinationExists:
                raise self._exists(dst) from None
            except MovedAway as moved:
                raise self._moved(src, moved) from None
            return Moved(src, "file", 1, dst)
        raise self._conflict(src)

    def _rename_dir(self, src: VirtualPath, dst: VirtualPath, progress: Progress | None) -> Moved:
        try:
            self._call(dst, self.store.head, self._key(dst))
            raise self._exists(dst)
        except (ObjectNotFound, MovedAway):
            pass  # no file there (a file renamed away leaves only a pointer to where it went)
        # What the history's folder markers name (one listing; not needed without history).
        before = (
            {info.key[len(self._dir_key(src)) :]: info for info in self.store.list(self._dir_key(src))}
            if self._versions is not None
            else {}
        )
        try:
            count = self._call(
                src, self.store.move_tree, self._dir_key(src), self._dir_key(dst), progress=progress
            )
        except ObjectNotFound:
            raise self._not_found(src) from None
        except DestinationExists:
            raise self._exists(dst) from None
        except Busy:
            raise self._conflict(src) from None
        except MovedAway as moved:
            raise RenameInProgressError(
                f"{src} is being renamed to {self._path_of(moved.destination)} (or that rename was "
                "interrupted); run that same rename again to finish it.",
                path=str(src),
                destination=str(self._path_of(moved.destination)),
            ) from None
        files = {rel: info.version for rel, info in before.items() if not info.foreign}
        if self._versions is not None:
            self._versions.mark_folder(src, "rename", files, to=str(dst))
            self._versions.mark_folder(dst, "rename", files, **{"from": str(src)})
        return Moved(src, "dir", count, dst)

    def clear(self, *, progress: Progress | None = None) -> int:
        """Delete every file of this workspace; returns how many."""
        if self.read_only:
            raise self._read_only()
        self._refuse_nested_workspaces()
        deleted = self._call(ROOT, self.store.delete_tree, self.base, progress=progress)
        self._mark_folder(ROOT, "clear", deleted)
        return sum(1 for info in deleted if not info.foreign)

    def _refuse_nested_workspaces(self) -> None:
        """Refuse to clear when another workspace keeps its data inside this one (overlapping layouts)."""
        # Only what is below this workspace's reserved folder is looked at (not every file).
        for _info in self.store.list(f"{self.base}{RESERVED_PREFIX}/", include_reserved=True):
            raise ConfigError(
                "Another workspace lives inside this one (its prefix is this workspace's prefix and "
                "namespace), so clearing would delete its files too; use prefixes that do not nest."
            )

    # -- history -----------------------------------------------------------------

    def history(self, path: str) -> builtins.list[Version]:
        """Every version of a file, newest first: content it had and when it was deleted or renamed."""
        vpath = self._versioned(path)
        history = self._history()
        try:
            current: ObjectInfo | None = self._call(vpath, self.store.head, self._key(vpath))
        except (ObjectNotFound, MovedAway):
            current = None
        versions = history.versions(vpath, current)
        if not versions:
            if self._is_dir(vpath):
                raise IsADirectoryError(f"{vpath} is a directory; history is kept per file.", path=str(vpath))
            raise NotFoundError(f"{vpath} has no history: it never existed here.", path=str(vpath))
        return versions

    def read_version(self, path: str, version_id: str) -> str:
        """The text a file had in version ``version_id`` (ids from :meth:`history_of`)."""
        vpath = self._versioned(path)
        if version_id == "current":
            return self.read(path).text
        try:
            current = self._call(vpath, self.store.head, self._key(vpath))
        except (ObjectNotFound, MovedAway):
            current = None
        try:
            data = self._history().content(vpath, version_id, current)
        except ObjectNotFound:
            raise NotFoundError(
                f"{vpath} has no version {version_id!r}; list its versions to see which exist.",
                path=str(vpath),
            ) from None
        return self._decode(vpath, data)

    def diff(self, path: str, old: str | None = None, new: str | None = None) -> str:
        """A unified diff between two versions (default: the one before the current one, and the current one).

        ``new`` may be ``"current"`` (the file as it is now); both default sensibly for a
        deleted file too (its last two versions).
        """
        vpath = self._versioned(path)
        contents = [v for v in self.history(path) if not v.deleted]
        if new is None:
            if not contents:
                raise NotFoundError(f"{vpath} has no recorded content.", path=str(vpath))
            new = contents[0].id
        if old is None:
            later = [i for i, v in enumerate(contents) if v.id == new]
            older = contents[later[0] + 1 :] if later else []
            if not older:
                raise NotFoundError(
                    f"{vpath} has no version before {new}; nothing to compare.", path=str(vpath)
                )
            old = older[0].id
        before, after = self.read_version(path, old), self.read_version(path, new)
        import difflib  # only diffs need it: not loaded by `import memspace`

        lines = difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=f"{vpath}@{old}",
            tofile=f"{vpath}@{new}",
        )
        # As GNU diff shows a last line without its newline, so lines never run together.
        return "".join(
            line if line.endswith("\n") else f"{line}\n\\ No newline at end of file\n" for line in lines
        )

    def restore(self, path: str, version_id: str | None = None) -> EditOutcome:
        """Bring back a version as a new write (history is never rewritten).

        Default: the newest version before the current one, or, for a deleted file, its last content.
        """
        vpath = self._writable(path)
        versions = [v for v in self.history(path) if not v.deleted]
        exists = self.exists(path)
        if version_id is None:
            candidates = [v for v in versions if not (exists and v.current)]
            if not candidates:
                raise NotFoundError(f"{vpath} has no earlier version to restore.", path=str(vpath))
            version_id = candidates[0].id
        text = self.read_version(path, version_id)
        data = self._encode(vpath, text)

        def replace(current: bytes | None) -> bytes | None:
            return data if current != data else None

        self._update_bytes(vpath, replace, "restore")
        return EditOutcome(vpath, text, 1, edits.line_count(text), created=not exists)

    def deleted(self, path: str = "/") -> builtins.list[DeletedFile]:
        """Files below ``path`` that were deleted (or cleared) and can be restored."""
        vpath = self._versioned(path)
        live = {self._path_of(info.key) for info in self.store.list(self._dir_key(vpath)) if not info.foreign}
        if not vpath.is_root:
            with _suppress_missing():
                self.store.head(self._key(vpath))
                live.add(vpath)
        return self._history().deleted(vpath, live)

    def restore_tree(self, path: str = "/", *, at: datetime | float) -> RestoreReport:
        """Bring every file below ``path`` back to the content it had at ``at`` (a datetime or a
        POSIX timestamp): deleted files come back, changed ones are restored. Files that did not
        exist at ``at`` are left alone (a restore never deletes)."""
        vpath = self._writable(path)
        moment = utc(at)
        live = {
            self._path_of(info.key): info
            for info in self.store.list(self._dir_key(vpath))
            if not info.foreign
        }
        if not vpath.is_root:
            with contextlib.suppress(ObjectNotFound, NotAFile):
                live[vpath] = self.store.head(self._key(vpath))
        state = self._history().state_at(vpath, moment, live)
        restored: builtins.list[VirtualPath] = []
        unchanged: builtins.list[VirtualPath] = []
        for file_path, version in sorted(state.items()):
            data = self._encode(file_path, self.read_version(str(file_path), version.id))

            def replace(current: bytes | None, data: bytes = data) -> bytes | None:
                return data if current != data else None

            if self._update_bytes(file_path, replace, "restore"):
                restored.append(file_path)
            else:
                unchanged.append(file_path)
        return RestoreReport(restored, unchanged)

    def collect_garbage(self, *, now: datetime | None = None) -> dict[str, int]:
        """Apply history retention and sweep what interrupted operations left; return counts.

        ``now`` is the time retention counts from (default: now).
        """
        if self.read_only:
            raise self._read_only()
        report = dict(self.store.sweep(self.base, older_than=3600.0))
        if self._versions is not None:
            live = {self._path_of(info.key): info for info in self.store.list(self.base) if not info.foreign}
            removed, freed = self._versions.collect(live, now)
            report["history entries"] = removed
            report["history bytes"] = freed
        return report

    def _wrote(self) -> None:
        """Count a write; now and then, collect history in the background (never on a call's path)."""
        if self._versions is None or self.read_only:
            return
        self._writes += 1
        if self._writes % self._versions.auto_collect_every == 0:
            threading.Thread(target=self._collect_in_background, name="memspace-collect", daemon=True).start()

    def _collect_in_background(self) -> None:
        try:
            if self._versions is not None and self._versions.claim_collection():
                self.collect_garbage()
        except Exception as error:  # never let housekeeping surface anywhere
            log.warning("memspace: background history collection failed (%s)", type(error).__name__)

    def _versioned(self, path: str) -> VirtualPath:
        vpath = self.path(path)
        self._history()
        return vpath

    def _history(self) -> History:
        if self._versions is None:
            raise ConfigError("Versioning is off for this workspace (memory_tool_versioning is false).")
        return self._versions

    # -- the concurrency loop --------------------------------------------------

    def _update(
        self,
        vpath: VirtualPath,
        transform: Callable[[str], edits.Edited],
        operation: str,
        *,
        decode: bool = True,
        create_missing: str | None = None,
    ) -> EditOutcome:
        """Apply ``transform`` to the current text with compare-and-swap, retrying on conflict."""
        outcomes: dict[str, EditOutcome] = {}

        def step(blob: Blob | None, write_id: str) -> bytes | None:
            if blob is None:
                if create_missing is None:
                    raise self._not_found(vpath)
                lines = edits.line_count(create_missing)
                outcomes[write_id] = EditOutcome(
                    vpath, create_missing, 1, lines, created=True, total_lines=lines, first_offset=0
                )
                return self._encode(vpath, create_missing)
            edited = transform(self._text(vpath, blob).text if decode else "")
            outcomes[write_id] = EditOutcome(
                vpath,
                edited.text,
                edited.first_line,
                edited.last_line,
                replaced=edited.replaced,
                total_lines=edited.total_lines,
                first_offset=edited.first_offset,
            )
            return self._encode(vpath, edited.text)

        write_id = self._loop(vpath, step, operation)
        assert write_id is not None
        return outcomes[write_id]

    def _update_bytes(
        self, vpath: VirtualPath, replace: Callable[[bytes | None], bytes | None], operation: str
    ) -> bool:
        """Replace the file's bytes with ``replace(current)`` (None: leave it); return whether it wrote."""

        def step(blob: Blob | None, write_id: str) -> bytes | None:
            if blob is not None and not blob.whole:
                raise self._too_large(vpath, blob.size)
            return replace(None if blob is None else blob.data)

        return self._loop(vpath, step, operation) is not None

    def _loop(
        self, vpath: VirtualPath, step: Callable[[Blob | None, str], bytes | None], operation: str
    ) -> str | None:
        """The one optimistic-concurrency loop: read, compute, conditional put (with its history
        record), until a put wins. Returns the write id that landed, or None if ``step`` wrote nothing.

        ``sent`` holds every write id this call has sent: a write reported as failed or unknown may
        have landed after all (a lost response), so every re-read first looks for our ids in the
        object's recent write ids and, if one is there, reports that write instead of applying the
        edit a second time.
        """
        key = self._key(vpath)
        sent: builtins.list[str] = []
        records: dict[str, str] = {}  # write id -> its history record, while it may be an orphan
        landed: str | None = None
        try:
            landed = self._write_loop(vpath, key, step, operation, sent, records)
            return landed
        finally:
            self._drop_orphans(records, keep={landed})

    def _write_loop(
        self,
        vpath: VirtualPath,
        key: str,
        step: Callable[[Blob | None, str], bytes | None],
        operation: str,
        sent: builtins.list[str],
        records: dict[str, str],
    ) -> str | None:
        unknown = 0
        # Our writes whose outcome is not known, each with the newest write id of the version it
        # was written on: while that id is among the object's recent ids, so would ours be.
        unsure: dict[str, str] = {}
        for attempt in range(self.retry.max_attempts):
            if attempt:
                time.sleep(self.retry.delay(attempt))
            # Queue behind other writers of this file on this machine (local disk), once per
            # attempt: the folder a first write creates can be locked from the next attempt on.
            with self.store.lock(key):
                blob = self._read_for_write(vpath)
                if blob is not None:
                    landed = next((w for w in blob.write_ids if w in sent), None)
                    if landed is None and unsure:
                        landed = self._landed_out_of_sight(vpath, blob, unsure)
                    if landed is not None:
                        return landed
                    if not blob.whole:
                        raise self._too_large(vpath, blob.size)
                write_id = new_write_id()
                data = step(blob, write_id)
                if data is None:
                    return None
                if blob is None:
                    mode: PutMode = "create"
                    ids: tuple[str, ...] = (write_id,)
                    parent = None
                else:
                    mode = IfMatch(blob.version)
                    ids = (write_id, *blob.write_ids[: _WRITE_ID_HISTORY - 1])
                    parent = self._current_id(vpath, blob)
                sent.append(write_id)
                record = self._record(vpath, write_id, parent, operation)
                if record is not None:
                    records[write_id] = record
                try:
                    self._put(vpath, data, mode, ids, record)
                except (PreconditionFailed, ObjectNotFound, Busy) as lost:
                    resent = isinstance(lost, PreconditionFailed) and self.store.resends_writes
                    if resent and blob is not None and blob.write_ids:
                        unsure[write_id] = blob.write_ids[0]
                    continue  # lost a race (or met its own resend): the next read decides
                except OutcomeUnknown:
                    if blob is not None and blob.write_ids:
                        unsure[write_id] = blob.write_ids[0]
                    unknown += 1
                    if unknown >= _UNKNOWN_OUTCOMES:
                        records.pop(write_id, None)  # it may yet have landed: keep its record
                        raise self._failing(vpath) from None
                    continue  # unsure: the next read decides
                except MovedAway as moved:
                    raise self._moved(vpath, moved) from None
                self._wrote()
                return write_id
        raise self._conflict(vpath)

    def _landed_out_of_sight(self, vpath: VirtualPath, blob: Blob, unsure: dict[str, str]) -> str | None:
        """Which of our unsure writes landed, once more writes came on top of it than an object
        keeps ids of: the history knows (the next version names it as its parent). Without
        history the outcome cannot be told, and applying the edit again could apply it twice."""
        for write_id, base in list(unsure.items()):
            if base in blob.write_ids:
                del unsure[write_id]  # it would show among the ids had it landed: it did not
        hidden = list(unsure)
        if not hidden:
            return None
        if self._versions is None:
            raise self._failing(vpath)
        parents = {entry.parent for entry in self._versions.entries(vpath)}
        return next((write_id for write_id in hidden if write_id in parents), None)

    def _read_for_write(self, vpath: VirtualPath) -> Blob | None:
        try:
            return self._get(vpath, cap=self._read_cap)
        except NotFoundError:
            return None

    def _create(self, vpath: VirtualPath, data: bytes, operation: str) -> None:
        """Put ``data`` only if nothing is at ``vpath``, settling lost responses by write id."""
        sent: builtins.list[str] = []
        records: dict[str, str] = {}
        landed: str | None = None
        try:
            for _ in range(_UNKNOWN_OUTCOMES):
                write_id = new_write_id()
                sent.append(write_id)
                record = self._record(vpath, write_id, None, operation)
                if record is not None:
                    records[write_id] = record
                try:
                    self._put(vpath, data, "create", (write_id,), record)
                    landed = write_id
                    self._wrote()
                    return
                except PreconditionFailed:
                    landed = self._landed(vpath, sent)
                    if landed is not None:
                        return
                    raise self._exists(vpath) from None
                except Busy:
                    raise self._conflict(vpath) from None
                except OutcomeUnknown:
                    landed = self._landed(vpath, sent)
                    if landed is not None:
                        return
            raise self._failing(vpath)
        finally:
            self._drop_orphans(records, keep={landed})

    def _landed(self, vpath: VirtualPath, write_ids: builtins.list[str]) -> str | None:
        """Which of our writes is in the object's recent history, if one is."""
        try:
            info = self.store.head(self._key(vpath))
        except (ObjectNotFound, MovedAway):
            return None
        return next((write_id for write_id in write_ids if write_id in info.write_ids), None)

    def _drop_orphans(self, records: dict[str, str], *, keep: set[str | None]) -> None:
        """Remove the history records of this call's writes that did not land (best effort:
        a record left behind is never shown, and collection removes it)."""
        orphans = [record for write_id, record in records.items() if write_id not in keep]
        if orphans:
            try:
                self.store.delete(orphans)
            except Exception as error:
                log.debug("memspace: could not remove %d unused history records (%s)", len(orphans), error)

    # -- history hooks -------------------------------------------------------------

    def _record(self, vpath: VirtualPath, write_id: str, parent: str | None, operation: str) -> str | None:
        if self._versions is None:
            return None
        return self._versions.entry_key(vpath, kind="v", id=write_id, parent=parent, operation=operation)

    def _current_id(self, vpath: VirtualPath, current: Blob | ObjectInfo) -> str | None:
        """The history id of the version ``current`` (None without history or when unrecorded)."""
        if self._versions is None:
            return None
        if current.write_ids:
            return current.write_ids[0]
        info = ObjectInfo(self._key(vpath), current.size, current.version)
        return self._versions.current_id(vpath, info)

    def _marker(
        self,
        vpath: VirtualPath,
        *,
        kind: Literal["r", "t"],
        operation: str,
        parent: str | None,
        body: str = "",
        id: str | None = None,
    ) -> Record | None:
        """A history marker (a deletion, or one end of a rename) for the store to write with the operation."""
        if self._versions is None:
            return None
        key = self._versions.entry_key(
            vpath, kind=kind, id=id or new_write_id(), parent=parent, operation=operation
        )
        return key, body.encode()

    def _mark_folder(self, vpath: VirtualPath, operation: str, deleted: Iterable[ObjectInfo]) -> None:
        if self._versions is None:
            return
        prefix = self._dir_key(vpath)
        files = {info.key[len(prefix) :]: info.version for info in deleted if not info.foreign}
        if files:
            self._versions.mark_folder(vpath, operation, files)

    # -- helpers ---------------------------------------------------------------

    def _get(self, vpath: VirtualPath, *, cap: int | None = None) -> Blob:
        if vpath.is_root:
            raise IsADirectoryError(
                "'/' is the workspace root, a directory; view it to list files.", path="/"
            )
        try:
            return self._call(vpath, self.store.get, self._key(vpath), max_bytes=cap or self._read_cap)
        except ObjectNotFound:
            if self._is_dir(vpath):
                raise IsADirectoryError(f"{vpath} is a directory, not a file.", path=str(vpath)) from None
            raise self._not_found(vpath) from None
        except MovedAway as moved:
            raise self._moved(vpath, moved) from None

    def _text(self, vpath: VirtualPath, blob: Blob) -> TextFile:
        data = blob.data
        if not blob.whole:
            data = data[: self.limits.max_file_bytes]
        return TextFile(
            vpath, self._decode(vpath, data, whole=blob.whole), blob.version, blob.size, blob.whole
        )

    def _put(
        self, vpath: VirtualPath, data: bytes, mode: PutMode, history: Iterable[str], record: str | None
    ) -> None:
        write_ids = tuple(history)
        self._call(
            vpath,
            lambda: self.store.put(self._key(vpath), data, mode=mode, write_ids=write_ids, record=record),
        )

    def _is_dir(self, vpath: VirtualPath) -> bool:
        """A directory exists while at least one object is below it."""
        if vpath.is_root:
            return True
        listing = self._call(vpath, self.store.list, self._dir_key(vpath))
        return self._call(vpath, next, iter(listing), None) is not None

    def _listed(self, vpath: VirtualPath, prefix: str) -> builtins.list[ObjectInfo]:
        """Every object below ``prefix``, read here so listing failures become errors about ``vpath``."""
        return self._call(vpath, lambda: builtins.list(self.store.list(prefix)))

    def _call(self, vpath: VirtualPath, action: Callable[..., _T], /, *args: Any, **kwargs: Any) -> _T:
        """Run ``action(*args, **kwargs)`` (a store call), turning path-shape problems into errors."""
        try:
            return action(*args, **kwargs)
        except (PathConflict, SymlinkRefused, NotAFile) as outcome:
            raise self._refused(vpath, outcome) from None

    def _refused(
        self, vpath: VirtualPath, outcome: PathConflict | SymlinkRefused | NotAFile
    ) -> MemspaceError:
        """The error for a path the store refused by its shape."""
        if isinstance(outcome, PathConflict):
            return NotADirectoryError(
                f"{vpath} cannot be used: a folder in it is a file, or it is a folder itself.",
                path=str(vpath),
            )
        if isinstance(outcome, SymlinkRefused):
            return SymlinkError(
                f"{vpath} is, or goes through, a symbolic link, which memspace never follows.",
                path=str(vpath),
            )
        return InvalidPathError(
            f"{vpath} is not a regular file (a pipe, a device or a socket put there by another "
            "program); memspace only reads and writes regular files."
        )

    def _writable(self, path: str) -> VirtualPath:
        if self.read_only:
            raise self._read_only()
        return self.path(path)

    def _encode(self, vpath: VirtualPath, text: str) -> bytes:
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError as error:
            raise InvalidTextError(
                f"The text for {vpath} contains a character that is not valid Unicode "
                f"(U+{ord(text[error.start]):04X} at position {error.start}); remove it and try again."
            ) from None
        if len(data) > self.limits.max_file_bytes:
            raise self._too_large(vpath, len(data))
        return data

    def _decode(self, vpath: VirtualPath, data: bytes, *, whole: bool = True) -> str:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as error:
            # A capped read may end inside a character: that is not a binary file.
            if not whole and error.start >= len(data) - 3:
                return data[: error.start].decode("utf-8", errors="replace")
            raise BinaryFileError(
                f"{vpath} is a binary file ({len(data):,} bytes), not UTF-8 text; it cannot be "
                "shown or edited, only renamed or deleted.",
                path=str(vpath),
                size=len(data),
            ) from None

    def _too_large(self, vpath: VirtualPath, size: int) -> LimitExceededError:
        return LimitExceededError(
            f"{vpath} is {size:,} bytes; the file size limit is {self.limits.max_file_bytes:,} bytes. "
            "Split the content across several files."
        )

    def _not_found(self, vpath: VirtualPath) -> NotFoundError:
        return NotFoundError(
            f"{vpath} does not exist; view its folder ({vpath.parent}) to see what is there.", path=str(vpath)
        )

    def _exists(self, vpath: VirtualPath) -> AlreadyExistsError:
        return AlreadyExistsError(f"{vpath} already exists; choose another name.", path=str(vpath))

    def _moved(self, vpath: VirtualPath, moved: MovedAway) -> RenameInProgressError:
        destination = self._path_of(moved.destination)
        return RenameInProgressError(
            f"{vpath} was renamed to {destination}; use {destination} instead.",
            path=str(vpath),
            destination=str(destination),
        )

    def _conflict(self, vpath: VirtualPath) -> ConflictError:
        return ConflictError(f"{vpath} is being changed by others right now; try again.")

    def _failing(self, vpath: VirtualPath) -> StorageError:
        return StorageError(
            f"The storage did not answer the write of {vpath}, several times; it may be failing. "
            "View the file to see whether the change landed, then try again later."
        )

    def _read_only(self) -> ReadOnlyError:
        return ReadOnlyError("This memory workspace is read-only; files can be viewed but not changed.")


def open_workspace(settings: Settings, store: Store) -> Workspace:
    """The workspace ``settings`` describe, on ``store`` (with its history unless versioning is off)."""
    history = (
        History(
            store,
            settings.reserved,
            actor=settings.actor,
            session=settings.session,
            retention=Retention(settings.history_days, settings.history_versions),
        )
        if settings.versioning
        else None
    )
    from memspace.content_cache import ContentCache  # only what searches on object stores need

    return Workspace(
        store,
        base=settings.base,
        limits=settings.limits,
        read_only=settings.read_only,
        history=history,
        cache=ContentCache.shared(settings.cache_dir, max_bytes=settings.cache_max_bytes),
    )


class _suppress_missing:  # noqa: N801 - used like contextlib.suppress
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, error: object, traceback: object) -> bool:
        return isinstance(error, ObjectNotFound | MovedAway)


async def _in_thread(function: Callable[..., _T], /, *args: Any, **kwargs: Any) -> _T:
    # asyncio is imported on first use: it is a fifth of memspace's import time.
    import asyncio

    return await asyncio.to_thread(function, *args, **kwargs)


class AsyncWorkspace:
    """The async twin of :class:`Workspace`: each call runs the sync one in a worker thread.

    Storage calls block (files, or network I/O in a native client that releases
    the GIL), so they run off the event loop; the logic exists once.
    """

    def __init__(self, workspace: Workspace) -> None:
        self.sync = workspace

    async def read(self, path: str) -> TextFile:
        return await _in_thread(self.sync.read, path)

    async def view(self, path: str) -> TextFile | DirListing:
        return await _in_thread(self.sync.view, path)

    async def stat(self, path: str) -> Entry:
        return await _in_thread(self.sync.stat, path)

    async def list(self, path: str = "/", *, depth: int = 2, include_hidden: bool = False) -> DirListing:
        return await _in_thread(self.sync.list, path, depth=depth, include_hidden=include_hidden)

    async def search(
        self,
        pattern: str,
        *,
        path: str = "/",
        glob: str | None = None,
        regex: bool = False,
        case_sensitive: bool = False,
        max_results: int | None = 100,
        context: int = 0,
    ) -> SearchResult:
        return await _in_thread(
            self.sync.search,
            pattern,
            path=path,
            glob=glob,
            regex=regex,
            case_sensitive=case_sensitive,
            max_results=max_results,
            context=context,
        )

    async def find(self, glob: str, *, path: str = "/") -> builtins.list[Entry]:
        return await _in_thread(self.sync.find, glob, path=path)

    async def create(self, path: str, text: str) -> None:
        await _in_thread(self.sync.create, path, text)

    async def append(self, path: str, text: str) -> EditOutcome:
        return await _in_thread(self.sync.append, path, text)

    async def overwrite(self, path: str, text: str) -> EditOutcome:
        return await _in_thread(self.sync.overwrite, path, text)

    async def str_replace(self, path: str, old: str, new: str, *, replace_all: bool = False) -> EditOutcome:
        return await _in_thread(self.sync.str_replace, path, old, new, replace_all=replace_all)

    async def insert(self, path: str, after_line: int, text: str) -> EditOutcome:
        return await _in_thread(self.sync.insert, path, after_line, text)

    async def delete(self, path: str, *, progress: Progress | None = None) -> Moved:
        return await _in_thread(self.sync.delete, path, progress=progress)

    async def rename(self, old_path: str, new_path: str, *, progress: Progress | None = None) -> Moved:
        return await _in_thread(self.sync.rename, old_path, new_path, progress=progress)

    async def clear(self, *, progress: Progress | None = None) -> int:
        return await _in_thread(self.sync.clear, progress=progress)

    async def history(self, path: str) -> builtins.list[Version]:
        return await _in_thread(self.sync.history, path)

    async def read_version(self, path: str, version_id: str) -> str:
        return await _in_thread(self.sync.read_version, path, version_id)

    async def diff(self, path: str, old: str | None = None, new: str | None = None) -> str:
        return await _in_thread(self.sync.diff, path, old, new)

    async def restore(self, path: str, version_id: str | None = None) -> EditOutcome:
        return await _in_thread(self.sync.restore, path, version_id)

    async def deleted(self, path: str = "/") -> builtins.list[DeletedFile]:
        return await _in_thread(self.sync.deleted, path)

    async def restore_tree(self, path: str = "/", *, at: datetime | float) -> RestoreReport:
        return await _in_thread(self.sync.restore_tree, path, at=at)
