"""The workspace: typed file operations over a byte store.

Every edit (append, overwrite, str_replace, insert) is a pure text transform
from :mod:`memspace.edits` run through one optimistic-concurrency loop,
:meth:`Workspace._update`:

    read (text, version) -> transform(text) -> put(new, IfMatch(version))
    on conflict: did our own write land (lost response, retried)? else back off, re-read, re-apply

so concurrent writers on any backend never lose or double an edit. Creates
are ``put(mode="create")``, which only one of many concurrent callers wins.

Every write records a short history of write ids (newest first) with the
object. A put whose response was lost and which the client retried fails with
a precondition error although it landed; the loop then finds its own write id
in the current object's history and reports success instead of applying the
edit twice, even if other writers have built on top of it since.

>>> ws = Workspace(MemoryStore())
>>> ws.create("/notes/a.md", "hello\\n")
>>> ws.append("/notes/a.md", "world").text
'hello\\nworld'
"""

from __future__ import annotations

import builtins
import random
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from memspace import edits
from memspace.errors import (
    AlreadyExistsError,
    BinaryFileError,
    ConflictError,
    InvalidPathError,
    InvalidTextError,
    IsADirectoryError,
    LimitExceededError,
    NotADirectoryError,
    NotFoundError,
    ReadOnlyError,
    RootPathError,
    StorageError,
)
from memspace.limits import Limits
from memspace.paths import VirtualPath, parse
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

if TYPE_CHECKING:
    from memspace.content_cache import ContentCache
    from memspace.search import SearchResult

__all__ = [
    "AsyncWorkspace",
    "DirListing",
    "EditOutcome",
    "Entry",
    "Moved",
    "Progress",
    "RetryPolicy",
    "TextFile",
    "Workspace",
]

# Write ids kept with each object: enough to recognise our own landed write
# even after a few other writers have appended on top of it.
_WRITE_ID_HISTORY = 8
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
    path: VirtualPath
    text: str
    version: str


@dataclass(frozen=True)
class Entry:
    """A file or directory; a directory's ``size`` is the total of the files listed below it."""

    path: VirtualPath
    kind: Literal["file", "dir"]
    size: int | None = None


@dataclass(frozen=True)
class DirListing:
    """Entries below ``path`` (sorted, up to ``depth`` levels), and how many were left out."""

    path: VirtualPath
    entries: list[Entry]
    omitted: int


@dataclass(frozen=True)
class Moved:
    """What a delete or rename did: a file, or a directory holding ``files`` files."""

    path: VirtualPath
    kind: Literal["file", "dir"]
    files: int
    destination: VirtualPath | None = None


@dataclass(frozen=True)
class EditOutcome:
    """The file after an edit and the lines the edit touched."""

    path: VirtualPath
    text: str
    first_line: int
    last_line: int
    created: bool = False


class Workspace:
    """A folder of text files inside ``store`` under the key prefix ``base``.

    ``base`` is where this workspace lives in the store (e.g. ``"memories/alice/"``);
    no operation reads or writes outside it.
    """

    def __init__(
        self,
        store: Store,
        *,
        base: str = "",
        limits: Limits | None = None,
        read_only: bool = False,
        retry: RetryPolicy | None = None,
        parallelism: int = 8,
        cache: ContentCache | None = None,
    ) -> None:
        self.store = store
        self.base = base
        self.limits = limits or Limits()
        self.read_only = read_only
        self.retry = retry or RetryPolicy()
        self.parallelism = parallelism
        # Where searches on an object store keep file contents (None: the user's default cache).
        self.cache = cache

    # -- paths -----------------------------------------------------------------

    def path(self, path: str) -> VirtualPath:
        return parse(path, self.limits)

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
        blob = self._get(vpath)
        return TextFile(vpath, self._decode(vpath, blob.data), blob.version)

    def stat(self, path: str) -> Entry:
        vpath = self.path(path)
        if vpath.is_root:
            return Entry(vpath, "dir")
        try:
            info = self._call(vpath, lambda: self.store.head(self._key(vpath)))
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
        """A file's text, or a directory's listing: one GET for a file, GET + LIST for a folder."""
        vpath = self.path(path)
        if not vpath.is_root:
            try:
                blob = self._call(vpath, lambda: self.store.get(self._key(vpath)))
                return TextFile(vpath, self._decode(vpath, blob.data), blob.version)
            except ObjectNotFound:
                pass
        listing = self._listing(vpath, 2, False)
        if listing is None:
            raise self._not_found(vpath)
        return listing

    def _listing(self, vpath: VirtualPath, depth: int, include_hidden: bool) -> DirListing | None:
        """The listing below ``vpath``, or None when no object is below it (and it is not the root)."""
        prefix = self._dir_key(vpath)
        entries: dict[tuple[str, ...], Entry] = {}
        found = False
        for info in self._call(vpath, lambda: builtins.list(self.store.list(prefix))):
            found = True
            rel = info.key[len(prefix) :].split("/")
            if not include_hidden and any(part.startswith(".") for part in rel):
                continue
            for level in range(1, min(len(rel), depth) + 1):
                parts = (*vpath.parts, *rel[:level])
                if level == len(rel):
                    entries[parts] = Entry(VirtualPath(parts), "file", info.size)
                else:
                    folder = entries.get(parts)
                    size = (folder.size or 0 if folder else 0) + info.size
                    entries[parts] = Entry(VirtualPath(parts), "dir", size)
        if not found and not vpath.is_root:
            return None
        ordered = [entries[parts] for parts in sorted(entries)]
        cap = self.limits.max_dir_entries
        return DirListing(vpath, ordered[:cap], max(0, len(ordered) - cap))

    def walk(self, path: str = "/") -> builtins.list[Entry]:
        """Every file below ``path`` (all levels, hidden ones included), sorted."""
        vpath = self.path(path)
        return [
            Entry(self._path_of(info.key), "file", info.size)
            for info in self._call(vpath, lambda: list(self.store.list(self._dir_key(vpath))))
        ]

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
        self._create(vpath, self._encode(vpath, text))

    def append(self, path: str, text: str) -> EditOutcome:
        """Add text at the end of a file (creating it if missing), on a new line."""
        vpath = self._writable(path)
        return self._update(vpath, lambda old: edits.append(old, text), create_missing=text)

    def overwrite(self, path: str, text: str) -> EditOutcome:
        """Replace the whole content of an existing file."""
        vpath = self._writable(path)
        self._encode(vpath, text)
        return self._update(vpath, lambda _old: edits.Edited(text, 1, edits.line_count(text)), decode=False)

    def str_replace(self, path: str, old: str, new: str, *, replace_all: bool = False) -> EditOutcome:
        vpath = self._writable(path)
        if old == "":
            edits.str_replace("", old, new)  # raises the one wording for this mistake
        return self._update(
            vpath, lambda text: edits.str_replace(text, old, new, replace_all=replace_all, path=str(vpath))
        )

    def insert(self, path: str, after_line: int, text: str) -> EditOutcome:
        vpath = self._writable(path)
        return self._update(vpath, lambda old: edits.insert(old, after_line, text, path=str(vpath)))

    def delete(self, path: str, *, progress: Progress | None = None) -> Moved:
        """Delete a file, or a directory with everything below it."""
        vpath = self._writable(path)
        if vpath.is_root:
            raise RootPathError(
                "Deleting '/' would remove the whole workspace; clear the workspace instead.",
                operation="delete",
            )
        try:
            self._call(vpath, lambda: self.store.head(self._key(vpath)))
        except ObjectNotFound:
            keys = [info.key for info in self.store.list(self._dir_key(vpath))]
            if not keys:
                raise self._not_found(vpath) from None
            _report(progress, 0, len(keys))
            self.store.delete(keys)
            _report(progress, len(keys), len(keys))
            return Moved(vpath, "dir", len(keys))
        self.store.delete([self._key(vpath)])
        return Moved(vpath, "file", 1)

    def rename(self, old_path: str, new_path: str, *, progress: Progress | None = None) -> Moved:
        """Move a file or a directory; never overwrites.

        A directory is copied file by file, then the originals are deleted, so a
        rename interrupted by a crash can be run again to finish: files already
        at the destination with the same content as their source count as moved.
        """
        src, dst = self._writable(old_path), self._writable(new_path)
        if src.is_root or dst.is_root:
            raise RootPathError("The workspace root '/' cannot be renamed or replaced.", operation="rename")
        if src == dst:
            raise InvalidPathError(f"{src} and {dst} are the same path; nothing to rename.")
        if dst.is_relative_to(src):
            raise InvalidPathError(f"{src} cannot be moved into itself ({dst}).")
        try:
            blob = self._call(src, lambda: self.store.get(self._key(src)))
        except ObjectNotFound:
            return Moved(src, "dir", self._rename_dir(src, dst, progress), dst)
        if self._is_dir(dst):
            raise self._exists(dst)
        self._create(dst, blob.data)
        self.store.delete([self._key(src)])
        return Moved(src, "file", 1, dst)

    def clear(self, *, progress: Progress | None = None) -> int:
        """Delete every file of this workspace; returns how many."""
        if self.read_only:
            raise self._read_only()
        keys = [info.key for info in self.store.list(self.base)]
        _report(progress, 0, len(keys))
        self.store.delete(keys)
        _report(progress, len(keys), len(keys))
        return len(keys)

    # -- the concurrency loop --------------------------------------------------

    def _update(
        self,
        vpath: VirtualPath,
        transform: Callable[[str], edits.Edited],
        *,
        decode: bool = True,
        create_missing: str | None = None,
    ) -> EditOutcome:
        """Apply ``transform`` to the current text with compare-and-swap, retrying on conflict.

        ``attempts`` maps each write id this call has sent to the outcome it
        carried: a write reported as failed or unknown may have landed after all
        (a lost response), so every re-read first looks for our ids in the
        object's history and, if one is there, reports that write instead of
        applying the edit a second time.
        """
        attempts: dict[str, EditOutcome] = {}
        for attempt in range(self.retry.max_attempts):
            if attempt:
                time.sleep(self.retry.delay(attempt))
            try:
                blob: Blob | None = self._get(vpath)
            except NotFoundError:
                if create_missing is None:
                    raise
                blob = None
            if blob is not None and (landed := _first_landed(attempts, blob.write_ids)):
                return landed
            write_id = _new_write_id()
            if blob is None:
                assert create_missing is not None
                data = self._encode(vpath, create_missing)
                lines = edits.line_count(create_missing)
                attempts[write_id] = EditOutcome(vpath, create_missing, 1, lines, created=True)
                mode: PutMode = "create"
                history: tuple[str, ...] = (write_id,)
            else:
                edited = transform(self._decode(vpath, blob.data) if decode else "")
                data = self._encode(vpath, edited.text)
                attempts[write_id] = EditOutcome(vpath, edited.text, edited.first_line, edited.last_line)
                mode = IfMatch(blob.version)
                history = (write_id, *blob.write_ids[: _WRITE_ID_HISTORY - 1])
            try:
                self._put(vpath, data, mode, history)
            except (PreconditionFailed, ObjectNotFound, OutcomeUnknown):
                continue  # lost a race, or unsure: the next read decides
            return attempts[write_id]
        raise ConflictError(f"{vpath} is being changed by others right now; try again.")

    def _create(self, vpath: VirtualPath, data: bytes) -> None:
        """Put ``data`` only if nothing is at ``vpath``, settling lost responses by write id."""
        sent: list[str] = []
        for _ in range(3):
            sent.append(_new_write_id())
            try:
                self._put(vpath, data, "create", (sent[-1],))
                return
            except PreconditionFailed:
                if self._landed(vpath, sent):
                    return
                raise self._exists(vpath) from None
            except OutcomeUnknown:
                if self._landed(vpath, sent):
                    return
        raise StorageError(f"Could not confirm that {vpath} was written; view it, then try again.")

    def _landed(self, vpath: VirtualPath, write_ids: builtins.list[str]) -> bool:
        """Whether one of our writes is in the object's recent history."""
        try:
            info = self.store.head(self._key(vpath))
        except ObjectNotFound:
            return False
        return any(write_id in info.write_ids for write_id in write_ids)

    # -- helpers ---------------------------------------------------------------

    def _get(self, vpath: VirtualPath) -> Blob:
        if vpath.is_root:
            raise IsADirectoryError(
                "'/' is the workspace root, a directory; view it to list files.", path="/"
            )
        try:
            return self._call(vpath, lambda: self.store.get(self._key(vpath)))
        except ObjectNotFound:
            if self._is_dir(vpath):
                raise IsADirectoryError(f"{vpath} is a directory, not a file.", path=str(vpath)) from None
            raise self._not_found(vpath) from None

    def _put(self, vpath: VirtualPath, data: bytes, mode: PutMode, history: Iterable[str]) -> None:
        write_ids = tuple(history)
        self._call(vpath, lambda: self.store.put(self._key(vpath), data, mode=mode, write_ids=write_ids))

    def _rename_dir(self, src: VirtualPath, dst: VirtualPath, progress: Progress | None) -> int:
        sources = {self._path_of(i.key).relative_key(src): i for i in self.store.list(self._dir_key(src))}
        if not sources:
            raise self._not_found(src)
        try:
            self._call(dst, lambda: self.store.head(self._key(dst)))
            raise self._exists(dst)
        except ObjectNotFound:
            pass
        existing = {self._path_of(i.key).relative_key(dst): i for i in self.store.list(self._dir_key(dst))}
        for rel, info in existing.items():
            if rel not in sources or not self._same_content(sources[rel], info):
                raise self._exists(dst)

        def move_one(rel: str) -> None:
            blob = self.store.get(sources[rel].key)
            self._create(VirtualPath((*dst.parts, *rel.split("/"))), blob.data)

        from concurrent.futures import ThreadPoolExecutor  # only directory renames need threads

        todo = [rel for rel in sources if rel not in existing]
        _report(progress, len(sources) - len(todo), len(sources))
        with ThreadPoolExecutor(max_workers=self.parallelism) as pool:
            for done, _ in enumerate(pool.map(move_one, todo), len(sources) - len(todo) + 1):
                _report(progress, done, len(sources))
        self.store.delete([info.key for info in sources.values()])
        return len(sources)

    def _same_content(self, a: ObjectInfo, b: ObjectInfo) -> bool:
        if a.size != b.size:
            return False
        if a.version is not None and a.version == b.version:
            return True
        return self.store.get(a.key).data == self.store.get(b.key).data

    def _is_dir(self, vpath: VirtualPath) -> bool:
        """A directory exists while at least one object is below it."""
        if vpath.is_root:
            return True
        return self._call(vpath, lambda: next(iter(self.store.list(self._dir_key(vpath))), None) is not None)

    def _call(self, vpath: VirtualPath, action: Callable[[], _T]) -> _T:
        """Run a store call, turning path-shape problems into model-facing errors."""
        try:
            return action()
        except PathConflict:
            raise NotADirectoryError(
                f"{vpath} cannot be used: a folder in it is a file, or it is a folder itself.",
                path=str(vpath),
            ) from None
        except SymlinkRefused:
            raise InvalidPathError(
                f"{vpath} is, or goes through, a symbolic link, which memspace never follows."
            ) from None

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
            raise LimitExceededError(
                f"{vpath} would be {len(data):,} bytes; the file size limit is "
                f"{self.limits.max_file_bytes:,} bytes. Split the content across several files."
            )
        return data

    def _decode(self, vpath: VirtualPath, data: bytes) -> str:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise BinaryFileError(
                f"{vpath} is a binary file ({len(data):,} bytes), not UTF-8 text; it cannot be "
                "shown or edited, only renamed or deleted.",
                path=str(vpath),
                size=len(data),
            ) from None

    def _not_found(self, vpath: VirtualPath) -> NotFoundError:
        return NotFoundError(
            f"{vpath} does not exist; view its folder ({vpath.parent}) to see what is there.", path=str(vpath)
        )

    def _exists(self, vpath: VirtualPath) -> AlreadyExistsError:
        return AlreadyExistsError(f"{vpath} already exists; choose another name.", path=str(vpath))

    def _read_only(self) -> ReadOnlyError:
        return ReadOnlyError("This memory workspace is read-only; files can be viewed but not changed.")


def _report(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


def _first_landed(attempts: dict[str, EditOutcome], history: tuple[str, ...]) -> EditOutcome | None:
    for write_id in history:
        if write_id in attempts:
            return attempts[write_id]
    return None


def _new_write_id() -> str:
    return uuid.uuid4().hex


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
