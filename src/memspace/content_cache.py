"""A local, size-bounded cache of object contents, keyed by (store, key, ETag).

Search on S3 or R2 has to read every file it covers; this cache makes the
second search over an unchanged workspace cost the LIST requests only. How it
stays correct:

* **Entries never go stale.** An entry's id is a hash of the store's identity
  (kind, endpoint, bucket: never a credential), the object key and the ETag the
  object had. A changed object has a new ETag, which the (strongly consistent)
  listing reports, so the old entry is simply never asked for again and ages
  out. Nothing needs invalidating, across processes or machines.
* **Every entry is checked.** Each carries a digest of its bytes, verified on
  every read; a mismatch is a miss (and the entry is dropped), never content.
* **It degrades, never lies.** A cache that cannot be created, opened, read or
  written (missing or read-only folder, full disk, locked, corrupt database)
  answers "miss" and stores nothing; the caller fetches. A corrupt database
  file is replaced once, then the cache is off for this process.
* **Processes share it safely.** One SQLite database (WAL mode) per user,
  by default ``$XDG_CACHE_HOME/memspace`` (``~/.cache/memspace``); SQLite's
  locking serialises writers. Entries are immutable, so concurrent writers of
  the same entry write the same bytes.
* **It is bounded.** After each write the total size of the entries is checked
  against ``max_bytes`` (default 256 MiB) and the least recently used entries
  are evicted down to 90% of it; freed pages go back to the file system.

The folder is created ``0700`` and the database ``0600``: it holds plain copies
of workspace files.

>>> cache = ContentCache.disabled()
>>> cache.get_many([entry_id("s3|http://host|bucket", "a.md", '"etag"')])
{}
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import sqlite3

__all__ = ["DEFAULT_MAX_BYTES", "ContentCache", "default_directory", "entry_id"]

log = logging.getLogger("memspace.content_cache")

DEFAULT_MAX_BYTES = 256 * 1024 * 1024
# The schema version is in the file name, so two memspace versions never fight over one file.
DATABASE_NAME = "contents-v1.sqlite3"
# Waiting longer than this for another process's write is slower than fetching.
BUSY_TIMEOUT_SECONDS = 2.0
# After a write found the cache locked for the whole busy timeout, skip writes this long:
# one search must not wait out the timeout once per batch.
BUSY_BACKOFF_SECONDS = 10.0
# Recording "used" on every hit would turn each search into a write; an hour is fine for LRU.
TOUCH_AFTER_SECONDS = 3600
# SQLite allows 32,766 parameters a statement; smaller chunks keep each query short.
_IDS_PER_QUERY = 500
_T = TypeVar("_T")


def default_directory() -> Path:
    """``$XDG_CACHE_HOME/memspace``, or ``~/.cache/memspace`` (read from the process environment)."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "memspace"


def entry_id(identity: str, key: str, version: str) -> bytes:
    """The id of one object version: a hash, so the database holds no key or bucket in the clear.

    >>> entry_id("s3|aws:us-east-1|a", "k", "e") != entry_id("s3|aws:us-east-1|b", "k", "e")
    True
    """
    import hashlib  # on first use: it loads OpenSSL, which plain imports of memspace do not need

    return hashlib.sha256(f"{identity}\0{key}\0{version}".encode()).digest()


def _digest(data: bytes) -> bytes:
    import hashlib

    return hashlib.blake2b(data, digest_size=16).digest()


class ContentCache:
    """The on-disk map from :func:`entry_id` to bytes; safe to share between threads and processes.

    ``directory=None`` is a cache that is off: every lookup misses.
    """

    _shared: dict[tuple[str, int], ContentCache] = {}  # noqa: RUF012 - one per folder and size, per process
    _shared_lock = threading.Lock()

    def __init__(
        self, directory: str | os.PathLike[str] | None, *, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        self.directory = Path(directory) if directory is not None and max_bytes > 0 else None
        self.max_bytes = max_bytes
        # One entry may not push out more than an eighth of the cache.
        self.max_entry_bytes = max_bytes // 8
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._off = self.directory is None
        self._rebuilt = False
        self._writes_paused_until = 0.0
        self._warned: set[tuple[str, str]] = set()

    @classmethod
    def shared(
        cls, directory: str | os.PathLike[str] | None = None, *, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> ContentCache:
        """The process's one cache for ``directory`` (default: :func:`default_directory`)."""
        try:
            folder = Path(directory) if directory is not None else default_directory()
        except RuntimeError:  # no home directory to put it in
            return cls.disabled()
        key = (str(folder.absolute()), max_bytes)
        with cls._shared_lock:
            if key not in cls._shared:
                cls._shared[key] = cls(folder, max_bytes=max_bytes)
            return cls._shared[key]

    @classmethod
    def disabled(cls) -> ContentCache:
        """A cache that stores nothing (every search fetches)."""
        return cls(None)

    @property
    def enabled(self) -> bool:
        """False once the cache is off (configured so, or it could not be used in this process)."""
        return not self._off

    # -- the map ---------------------------------------------------------------------

    def get_many(self, ids: Sequence[bytes]) -> dict[bytes, bytes]:
        """The verified contents of those ``ids`` that are cached; anything else is left out."""
        if not ids or self._off:
            return {}
        found: dict[bytes, bytes] = {}
        bad: list[bytes] = []
        stale: list[bytes] = []
        now = int(time.time())

        def read(conn: sqlite3.Connection) -> bool:
            for start in range(0, len(ids), _IDS_PER_QUERY):
                chunk = list(ids[start : start + _IDS_PER_QUERY])
                marks = ",".join("?" * len(chunk))
                query = f"SELECT id, used, digest, data FROM entries WHERE id IN ({marks})"
                for entry, used, digest, data in conn.execute(query, chunk):
                    if _digest(data) != digest:
                        bad.append(entry)
                        continue
                    found[entry] = data
                    if used < now - TOUCH_AFTER_SECONDS:
                        stale.append(entry)
            return True

        if not self._run("read", read):
            return {}  # the cache failed part way: fetch everything rather than trust half a read
        if bad:
            log.warning("memspace: %d cache entries failed their digest check; fetching them again", len(bad))
        if bad or stale:

            def repair(conn: sqlite3.Connection) -> None:
                with _transaction(conn):
                    conn.executemany("DELETE FROM entries WHERE id = ?", [(entry,) for entry in bad])
                    conn.executemany("UPDATE entries SET used = ? WHERE id = ?", [(now, e) for e in stale])

            self._run("update", repair)  # best effort: a busy cache just keeps older timestamps
        return found

    def put_many(self, entries: Sequence[tuple[bytes, bytes]]) -> None:
        """Store ``(id, data)`` pairs in one transaction, then evict down to the size bound."""
        keep = [(entry, data) for entry, data in entries if len(data) <= self.max_entry_bytes]
        if not keep or self._off or time.monotonic() < self._writes_paused_until:
            return
        now = int(time.time())

        def write(conn: sqlite3.Connection) -> bool:
            with _transaction(conn):
                conn.executemany(
                    "INSERT OR IGNORE INTO entries (id, size, used, digest, data) VALUES (?, ?, ?, ?, ?)",
                    [(entry, len(data), now, _digest(data), data) for entry, data in keep],
                )
                return self._evict(conn)

        if self._run("write", write):
            self._run("vacuum", lambda conn: conn.execute("PRAGMA incremental_vacuum").fetchall())

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(Exception):
                    self._conn.close()
            self._conn = None

    # -- internals ---------------------------------------------------------------------

    def _evict(self, conn: sqlite3.Connection) -> bool:
        """Delete least recently used entries until the total is at most 90% of ``max_bytes``."""
        (total,) = conn.execute("SELECT COALESCE(SUM(size), 0) FROM entries").fetchone()
        if total <= self.max_bytes:
            return False
        excess = total - int(self.max_bytes * 0.9)
        victims: list[tuple[bytes]] = []
        for entry, size in conn.execute("SELECT id, size FROM entries ORDER BY used, rowid"):
            victims.append((entry,))
            excess -= size
            if excess <= 0:
                break
        conn.executemany("DELETE FROM entries WHERE id = ?", victims)
        log.debug("memspace: evicted %d cache entries", len(victims))
        return True

    def _run(self, action: str, work: Callable[[sqlite3.Connection], _T]) -> _T | None:
        """Run ``work`` on the database; on any failure note it and return None (a miss)."""
        import sqlite3

        with self._lock:
            for attempt in range(2):
                conn = self._connection()
                if conn is None:
                    return None
                try:
                    return work(conn)
                except sqlite3.Error as error:
                    if attempt == 0 and _is_corrupt(error) and self._rebuild():
                        continue
                    if _is_busy(error):
                        self._writes_paused_until = time.monotonic() + BUSY_BACKOFF_SECONDS
                    self._note(action, error)
                    return None
        return None

    def _connection(self) -> sqlite3.Connection | None:
        if self._off:
            return None
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        self._conn = None  # a connection must not cross a fork
        try:
            self._conn = self._open()
        except Exception as error:
            if _is_corrupt(error) and self._rebuild():
                return self._conn
            self._note("open", error)
            if not _is_busy(error):  # busy is passing; anything else will not get better
                self._off = True
            return None
        self._pid = os.getpid()
        return self._conn

    def _open(self) -> sqlite3.Connection:
        import sqlite3

        assert self.directory is not None
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.directory / DATABASE_NAME
        # Created 0600 before SQLite opens it: the entries are copies of private files.
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600))
        conn = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute("PRAGMA auto_vacuum = INCREMENTAL")  # takes effect on a new file only
            conn.execute("PRAGMA journal_mode = WAL").fetchone()  # readers never wait for a writer
            conn.execute("PRAGMA synchronous = NORMAL")  # a cache may lose its last writes, not its shape
            with _transaction(conn):
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS entries ("
                    " id BLOB PRIMARY KEY, size INTEGER NOT NULL, used INTEGER NOT NULL,"
                    " digest BLOB NOT NULL, data BLOB NOT NULL)"
                )
                # Covers the size total and the eviction order without touching the data pages.
                conn.execute("CREATE INDEX IF NOT EXISTS entries_by_use ON entries (used, size)")
        except BaseException:
            conn.close()
            raise
        return conn

    def _rebuild(self) -> bool:
        """Replace a corrupt database with an empty one, once per process."""
        if self._rebuilt or self.directory is None:
            self._off = True
            return False
        self._rebuilt = True
        log.warning("memspace: the search cache database is corrupt; starting a new one")
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
        self._conn = None
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                (self.directory / (DATABASE_NAME + suffix)).unlink()
        try:
            self._conn = self._open()
        except Exception as error:
            self._note("open", error)
            self._off = True
            return False
        self._pid = os.getpid()
        return True

    def _note(self, action: str, error: BaseException) -> None:
        # Once per kind of failure: a broken cache must not flood the log. No path: it is a host path.
        reason = (
            getattr(error, "sqlite_errorname", None)
            or getattr(error, "strerror", None)
            or type(error).__name__
        )
        if (action, str(reason)) not in self._warned:
            self._warned.add((action, str(reason)))
            log.warning(
                "memspace: the search cache could not %s (%s); searches fetch what they need", action, reason
            )


def _is_busy(error: BaseException) -> bool:
    return str(getattr(error, "sqlite_errorname", "")).startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))


def _is_corrupt(error: BaseException) -> bool:
    return getattr(error, "sqlite_errorname", "") in ("SQLITE_CORRUPT", "SQLITE_NOTADB")


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    # IMMEDIATE takes the write lock up front, so two writers wait (busy timeout) instead of
    # deadlocking on an upgrade from a read lock.
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
