"""Version history: every content a file had, when, by whom and how, and the way back.

Where versions live
    In the workspace's own store, under its reserved area (never listed, never
    synced or searched, one per namespace): ``<reserved>history/<folder>/.memspace-v/<name>/``
    holds the entries about the path ``<folder>/<name>`` (the root's own: ``.memspace-root``).
    The folders of a path's history mirror its folders, and a new file in a folder
    that already has history adds one folder, not two (each new folder is journal work
    the write's fsync waits for). An entry's *name* carries everything a listing needs
    (so a history costs one LIST, no GET)::

        <time in µs, hex>.<kind>.<id>.<parent id>.<operation>.<actor>.<session>

    kinds: ``v`` a content version (its body is the content), ``r`` a rename into
    this path (its body is ``from <old path>``), ``t`` a deletion of this file
    (its body is empty, or ``to <new path>`` for a rename away), ``f`` an event on
    a whole folder (delete, rename, clear; its body is JSON listing the files and
    their versions). Actor and session are base32 of their UTF-8.

How a version is recorded exactly when it became current
    The one write loop (:meth:`memspace.workspace.Workspace._update`) gives every
    conditional put a ``record`` key: the store writes the content there too,
    *before* the put locally (a hard link of the new file: stored once) and
    *concurrently* with it on object stores, and removes it again when the
    condition fails. A record whose write lost its race, or whose process died
    before its put, is an *orphan*: no later version names it as its parent and it
    is not the current file, so it is never shown, and collection removes it.
    Each version is stored once: content entries are keyed by write id, renames
    and deletions add only small markers.

Deletions, renames and folders
    A delete, a rename or a clear writes its marker after it succeeded. A rename's
    marker at the new path points back to the old one, so a file's history runs
    across its renames. Markers tell who and when; whether a file is deleted is
    decided by the file itself being absent.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

from memspace.paths import ROOT, VirtualPath
from memspace.storage.base import IfMatch, ObjectInfo, ObjectNotFound, PreconditionFailed, PutMode, Store

__all__ = [
    "DeletedFile",
    "Entry",
    "History",
    "Retention",
    "Version",
    "new_write_id",
]

Kind = Literal["v", "r", "t", "f"]
VERSION_DIR = ".memspace-v"
ROOT_NAME = ".memspace-root"  # the name the root's own entries go under (no path can have it)
MAX_ACTOR_BYTES = 64
MAX_SESSION_BYTES = 32
# Longest entry name: 14 + 1 + 16 + 16 + 11 + base32 of the actor and session + 6 dots.
MAX_ENTRY_BYTES = 14 + 1 + 16 + 16 + 11 + 103 + 52 + 6
ORPHAN_GRACE = timedelta(hours=1)  # a record younger than this may still become current


def new_write_id() -> str:
    """A fresh 64-bit write id, as 16 hex characters."""
    return os.urandom(8).hex()


@dataclass(frozen=True)
class Retention:
    """How long history is kept: ``days``, and at most ``versions`` a file (the current one always)."""

    days: int = 30
    versions: int = 100


@dataclass(frozen=True)
class Entry:
    """One entry in a path's history, as its name and a listing describe it."""

    key: str
    path: VirtualPath
    time: datetime
    kind: Kind
    id: str
    parent: str | None
    operation: str
    actor: str
    session: str | None
    size: int
    version: str | None  # the store's version of the entry object (local: the file's inode token)


@dataclass(frozen=True)
class Version:
    """A version of a file: content it had (``deleted`` False) or its deletion (``deleted`` True)."""

    id: str
    time: datetime
    size: int
    operation: str
    actor: str
    deleted: bool
    path: VirtualPath
    session: str | None = None
    current: bool = False
    renamed_to: VirtualPath | None = None


@dataclass(frozen=True)
class DeletedFile:
    """A file that is gone and can be restored from its last version."""

    path: VirtualPath
    deleted_at: datetime | None
    deleted_by: str | None
    operation: str | None
    last_version: Version


@dataclass
class _PathHistory:
    path: VirtualPath
    entries: list[Entry] = field(default_factory=list)


class History:
    """The history of one workspace: writing entries for the write loop, reading them back.

    ``reserved`` is the workspace's reserved key prefix (e.g. ``"memories/.memspace/alice/"``).
    """

    #: Every this many writes in a process, a background collection runs if none ran for a day.
    auto_collect_every = 500
    COLLECT_PERIOD = timedelta(days=1)

    def __init__(
        self,
        store: Store,
        reserved: str,
        *,
        actor: str = "",
        session: str | None = None,
        retention: Retention | None = None,
    ) -> None:
        self.store = store
        self.root = f"{reserved}history/"
        self.stamp = f"{reserved}collected"
        self.actor = actor
        self.session = session
        self._who = (_b32(actor), _b32(session or ""))  # in every entry's name
        self.retention = retention or Retention()

    def claim_collection(self, now: datetime | None = None) -> bool:
        """Whether this process should collect now: none did in the last period, and of several
        processes asking at once exactly one wins (a conditional write of the stamp)."""
        now = now or datetime.now(UTC)
        mode: PutMode
        try:
            current = self.store.get(self.stamp)
        except ObjectNotFound:
            mode = "create"
        else:
            try:
                last = datetime.fromisoformat(current.data.decode())
            except ValueError:
                last = datetime.fromtimestamp(0, UTC)
            if now - last < self.COLLECT_PERIOD:
                return False
            mode = IfMatch(current.version)
        try:
            self.store.put(self.stamp, now.isoformat().encode(), mode=mode, write_ids=())
        except (PreconditionFailed, ObjectNotFound):
            return False
        return True

    # -- names -----------------------------------------------------------------

    def folder_of(self, path: VirtualPath) -> str:
        """The key prefix of the entries about ``path``."""
        return f"{self.root}{path.parent.dir_key}{VERSION_DIR}/{path.name or ROOT_NAME}/"

    def _path_of(self, key: str) -> VirtualPath | None:
        """The path whose entries ``key`` is among; None if it is not an entry's key."""
        rel = key[len(self.root) :]
        folder, marker, rest = rel.rpartition(f"/{VERSION_DIR}/")
        if not marker:
            if not rel.startswith(f"{VERSION_DIR}/"):
                return None
            rest = rel[len(VERSION_DIR) + 1 :]
        name, _, entry = rest.partition("/")
        if not name or not entry or "/" in entry:
            return None
        if name == ROOT_NAME:
            return None if folder else ROOT
        return VirtualPath.from_key(f"{folder}/{name}" if folder else name)

    def entry_key(
        self,
        path: VirtualPath,
        *,
        kind: Kind,
        id: str,
        parent: str | None,
        operation: str,
        at: datetime | None = None,
    ) -> str:
        moment = at or datetime.now(UTC)
        stamp = int(moment.timestamp() * 1_000_000)
        name = ".".join(
            [
                f"{stamp:014x}",
                kind,
                id,
                parent or "0",
                operation,
                *self._who,
            ]
        )
        return self.folder_of(path) + name

    def overhead_bytes(self) -> int:
        """Bytes an entry key adds to a path's key: what path limits must leave room for."""
        # <folder>/.memspace-v/<name>/<entry>: a path's key, two slashes more and the entry.
        return len(self.root.encode()) + len(VERSION_DIR) + 2 + MAX_ENTRY_BYTES

    # -- writing markers ---------------------------------------------------------

    def mark(
        self,
        path: VirtualPath,
        *,
        kind: Kind,
        operation: str,
        parent: str | None = None,
        body: bytes = b"",
    ) -> None:
        """Write a marker entry (a deletion, a rename, a folder event) after the operation succeeded."""
        key = self.entry_key(path, kind=kind, id=new_write_id(), parent=parent, operation=operation)
        self.store.put(key, body, mode="overwrite", write_ids=())

    def mark_folder(
        self, path: VirtualPath, operation: str, files: dict[str, str | None], **extra: str
    ) -> None:
        """A folder event: ``files`` maps each file's path below ``path`` to the version it had."""
        body = json.dumps({"files": files, **extra}, ensure_ascii=False, sort_keys=True).encode()
        self.mark(path, kind="f", operation=operation, body=body)

    # -- reading -----------------------------------------------------------------

    def entries(self, path: VirtualPath) -> list[Entry]:
        """The entries recorded at ``path``, oldest first."""
        found = [
            entry
            for info in self.store.list(self.folder_of(path), include_reserved=True)
            if (entry := self._parse(info, path)) is not None
        ]
        return sorted(found, key=lambda e: (e.time, e.key))

    def current_id(
        self, path: VirtualPath, info: ObjectInfo, entries: Sequence[Entry] | None = None
    ) -> str | None:
        """The id of the version ``info`` (the file as it is now), if it was recorded."""
        if info.write_ids:
            return info.write_ids[0]
        listed = entries if entries is not None else self.entries(path)
        for entry in reversed(listed):
            if entry.kind == "v" and entry.version is not None and entry.version == info.version:
                return entry.id
        # A store without write ids (local files): a rename keeps the file itself, so a file
        # renamed here and not written since is the version its newest rename marker names.
        contents = [entry for entry in listed if entry.kind in ("v", "r")]
        if contents and contents[-1].kind == "r":
            return contents[-1].id
        return None

    def versions(self, path: VirtualPath, current: ObjectInfo | None) -> list[Version]:
        """Every version of the file at ``path``, newest first, across its renames."""
        result: list[Version] = []
        here: VirtualPath | None = path
        before: datetime | None = None
        head: ObjectInfo | None = current
        seen: set[VirtualPath] = set()
        while here is not None and here not in seen:
            seen.add(here)
            entries = [e for e in self.entries(here) if before is None or e.time <= before]
            events = self._folder_events(here, before)
            part, origin, origin_time = self._timeline(here, entries, events, head)
            result.extend(part)
            here, before, head = origin, origin_time, None
        return result

    def content(self, path: VirtualPath, version_id: str, current: ObjectInfo | None = None) -> bytes:
        """The bytes of version ``version_id`` of ``path`` (following renames back)."""
        entry = self._find(path, version_id)
        if entry is not None:
            return self.store.get(entry.key).data
        versions = self.versions(path, current)
        for index, version in enumerate(versions):
            if version.id != version_id or version.deleted:
                continue
            if version.path != path and (entry := self._find(version.path, version_id)) is not None:
                return self.store.get(entry.key).data
            if version.operation == "rename":
                # A folder rename moved the file as it was: its content is the version before.
                older = next((v for v in versions[index + 1 :] if not v.deleted), None)
                if older is not None:
                    return self.content(older.path, older.id)
            break
        raise ObjectNotFound(version_id)

    def entry_content(self, entry: Entry) -> bytes:
        return self.store.get(entry.key).data

    def paths(self, under: VirtualPath = ROOT) -> dict[VirtualPath, list[Entry]]:
        """Every path below ``under`` (itself included) that has history, with its entries."""
        listed = self.store.list(f"{self.root}{under.dir_key}", include_reserved=True)
        if not under.is_root:  # its own entries are in its folder's history, beside its siblings'
            listed = itertools.chain(self.store.list(self.folder_of(under), include_reserved=True), listed)
        return self._by_path(listed)

    def _by_path(self, listed: Iterable[ObjectInfo]) -> dict[VirtualPath, list[Entry]]:
        found: dict[VirtualPath, list[Entry]] = {}
        for info in listed:
            path = self._path_of(info.key)
            entry = self._parse(info, path) if path is not None else None
            if path is not None and entry is not None:
                found.setdefault(path, []).append(entry)
        for entries in found.values():
            entries.sort(key=lambda e: (e.time, e.key))
        return found

    def deleted(self, under: VirtualPath, live: set[VirtualPath]) -> list[DeletedFile]:
        """Files below ``under`` with recorded content that are not in ``live`` (the files that exist)."""
        all_paths = self.paths(under)
        events = self._events_from(all_paths, ancestors_of=under)
        result: list[DeletedFile] = []
        for path, entries in sorted(all_paths.items()):
            if path in live or not any(e.kind in ("v", "r") for e in entries):
                continue
            timeline, _, _ = self._timeline(path, entries, _covering(events, path), None)
            last = next((v for v in timeline if not v.deleted), None)
            if last is None:
                continue
            marker = timeline[0] if timeline[0].deleted else None
            if marker is not None and marker.renamed_to is not None:
                continue  # renamed, not deleted: it lives on elsewhere
            result.append(
                DeletedFile(
                    path,
                    marker.time if marker else None,
                    marker.actor if marker else None,
                    marker.operation if marker else None,
                    last,
                )
            )
        return result

    def state_at(
        self, under: VirtualPath, at: datetime, live: dict[VirtualPath, ObjectInfo]
    ) -> dict[VirtualPath, Version]:
        """The version each file below ``under`` had at ``at`` (files absent then are left out).

        ``live`` maps the files that exist now to their info. Which versions became current is
        decided from everything known since (a version is current until a later one names it as
        its parent, a deletion names it, or the file as it is now is it); only then is the
        timeline cut at ``at``.
        """
        all_paths = self.paths(under)
        events = self._events_from(all_paths, ancestors_of=under)
        state: dict[VirtualPath, Version] = {}
        for path, entries in all_paths.items():
            timeline, _, _ = self._timeline(path, entries, _covering(events, path), live.get(path), until=at)
            if timeline and not timeline[0].deleted and timeline[0].renamed_to is None:
                state[path] = timeline[0]
        return state

    # -- retention ---------------------------------------------------------------

    def collect(self, live: dict[VirtualPath, ObjectInfo], now: datetime | None = None) -> tuple[int, int]:
        """Apply retention; return (entries removed, bytes freed). ``live`` maps existing files to their info."""
        now = now or datetime.now(UTC)
        horizon = now - timedelta(days=self.retention.days)
        listed = list(self.store.list(self.root, include_reserved=True))
        if self._upgrade_layout(listed):
            listed = list(self.store.list(self.root, include_reserved=True))
        doomed: list[Entry] = []
        for path, entries in self._by_path(listed).items():
            doomed.extend(self._expired(path, entries, live.get(path), now, horizon))
        self.store.delete([entry.key for entry in doomed])
        return len(doomed), sum(entry.size for entry in doomed)

    def _upgrade_layout(self, listed: Iterable[ObjectInfo]) -> bool:
        """Move the entries among ``listed`` that development builds before 0.1.0 kept at
        ``history/<path>/.memspace-v/<entry>`` to where they are read now; return whether there
        were any. Each is copied, then its old key removed: an interrupted upgrade leaves a copy
        or both, and the next collection finishes it."""
        old: list[tuple[str, str]] = []
        for info in listed:
            folder, marker, name = info.key[len(self.root) :].rpartition(f"{VERSION_DIR}/")
            if marker and "/" not in name and (not folder or folder.endswith("/")):
                path = VirtualPath.from_key(folder.removesuffix("/"))
                if self._parse(info, path) is not None:
                    old.append((info.key, self.folder_of(path) + name))
        for key, new_key in old:
            try:
                data = self.store.get(key).data
            except ObjectNotFound:
                continue  # another collection moved it meanwhile
            with contextlib.suppress(PreconditionFailed):
                self.store.put(new_key, data, mode="create", write_ids=())
            self.store.delete([key])
        return bool(old)

    def _expired(
        self,
        path: VirtualPath,
        entries: list[Entry],
        current: ObjectInfo | None,
        now: datetime,
        horizon: datetime,
    ) -> Iterator[Entry]:
        keep_id = self.current_id(path, current, entries) if current else None
        chained = self._chains(entries, keep_id, absent=current is None)
        contents = [e for e in entries if e.kind in ("v", "r") and e.id in chained]
        recent = {
            e.id for e in sorted(contents, key=lambda e: e.time, reverse=True)[: self.retention.versions]
        }
        last_content = contents[-1].id if contents else None
        deleted_at = None if current is not None else max((e.time for e in entries), default=None)
        for entry in entries:
            if entry.kind in ("v", "r"):
                if entry.id not in chained:
                    if now - entry.time > ORPHAN_GRACE:
                        yield entry  # an orphan: a write that never became current
                    continue
                if entry.id == keep_id:
                    continue
                if current is None and entry.id == last_content and deleted_at and deleted_at > horizon:
                    continue  # a deleted file's last version, kept for the retention period
                if entry.id not in recent or entry.time < horizon:
                    yield entry
            elif entry.time < horizon:
                yield entry

    # -- internals ---------------------------------------------------------------

    def _parse(self, info: ObjectInfo, path: VirtualPath) -> Entry | None:
        name = info.key.rpartition("/")[2]
        parts = name.split(".")
        if len(parts) != 7 or parts[1] not in ("v", "r", "t", "f"):
            return None
        stamp, kind, id_, parent, operation, actor, session = parts
        try:
            moment = datetime.fromtimestamp(int(stamp, 16) / 1_000_000, UTC)
            actor_text = _unb32(actor)
            session_text = _unb32(session) or None
        except ValueError:
            return None
        return Entry(
            key=info.key,
            path=path,
            time=moment,
            kind=kind,  # type: ignore[arg-type]
            id=id_,
            parent=None if parent == "0" else parent,
            operation=operation,
            actor=actor_text,
            session=session_text,
            size=info.size,
            version=info.version,
        )

    def _find(self, path: VirtualPath, version_id: str) -> Entry | None:
        for entry in self.entries(path):
            if entry.id == version_id and entry.kind == "v":
                return entry
            if entry.id == version_id and entry.kind == "r":
                origin = _origin(self.store.get(entry.key).data)
                if origin is not None and entry.parent is not None:
                    return self._find(origin, entry.parent)
        return None

    def _chains(
        self,
        entries: Sequence[Entry],
        head: str | None,
        event_versions: Iterable[str | None] = (),
        *,
        absent: bool = False,
        gone: Iterable[datetime] = (),
    ) -> dict[str, int]:
        """The content entries that became current, each with its depth in its chain.

        A chain is walked back through parent ids from a version known to have been
        current: the file as it is now (``head``), the version a deletion or rename
        marker names, the version a folder event lists for this file (``event_versions``:
        store versions), or, with none of those, the newest content entry. Entries no
        chain reaches are orphans: writes that lost their race or whose process died
        before its put.
        """
        contents = [e for e in entries if e.kind in ("v", "r")]
        by_id = {entry.id: entry for entry in contents}
        starts: list[str] = []
        if head is not None and head in by_id:
            starts.append(head)
        starts += [e.parent for e in entries if e.kind == "t" and e.parent in by_id]
        wanted = {version for version in event_versions if version}
        starts += [e.id for e in reversed(contents) if e.kind == "v" and e.version in wanted]
        if not starts and contents and (head is None or head not in by_id):
            # Nothing known to have been current at this path (a file renamed or copied in keeps
            # its source's ids): its newest content is.
            starts.append(contents[-1].id)
        elif absent and contents:
            # The file is gone, but its newest content is newer than every record of it going
            # (deletion and rename markers, folder events): it was removed by a process that died
            # before recording that, so that content was current until then.
            last_gone = max([e.time for e in entries if e.kind == "t"] + list(gone), default=None)
            if last_gone is None or contents[-1].time > last_gone:
                starts.append(contents[-1].id)
        depths: dict[str, int] = {}
        for start in starts:
            chain: list[str] = []
            here: Entry | None = by_id.get(start)
            while here is not None and here.id not in depths and here.id not in chain:
                chain.append(here.id)
                here = by_id.get(here.parent) if here.parent else None
            base = depths[here.id] if here is not None and here.id in depths else 0
            for offset, entry_id in enumerate(reversed(chain), 1):
                depths[entry_id] = base + offset
        return depths

    def _folder_events(
        self, path: VirtualPath, before: datetime | None
    ) -> list[tuple[Entry, dict[str, object]]]:
        events: list[tuple[Entry, dict[str, object]]] = []
        ancestor = path.parent if not path.is_root else None
        while ancestor is not None:
            for entry in self.entries(ancestor):
                if entry.kind == "f" and (before is None or entry.time <= before):
                    body = _json(self.store.get(entry.key).data)
                    if path.relative_key(ancestor) in body.get("files", {}):  # type: ignore[operator]
                        events.append((entry, body))
            ancestor = None if ancestor.is_root else ancestor.parent
        return events

    def _events_from(
        self, all_paths: dict[VirtualPath, list[Entry]], *, ancestors_of: VirtualPath
    ) -> list[tuple[Entry, dict[str, object]]]:
        events: list[tuple[Entry, dict[str, object]]] = []
        folders: dict[VirtualPath, list[Entry]] = dict(all_paths)
        ancestor = ancestors_of.parent if not ancestors_of.is_root else None
        while ancestor is not None:
            folders.setdefault(ancestor, self.entries(ancestor))
            ancestor = None if ancestor.is_root else ancestor.parent
        for entries in folders.values():
            for entry in entries:
                if entry.kind == "f":
                    events.append((entry, _json(self.store.get(entry.key).data)))
        return events

    def _timeline(
        self,
        path: VirtualPath,
        entries: Sequence[Entry],
        events: Iterable[tuple[Entry, dict[str, object]]],
        current: ObjectInfo | None,
        until: datetime | None = None,
    ) -> tuple[list[Version], VirtualPath | None, datetime | None]:
        """Versions of ``path`` (newest first) from its entries and the folder events covering it, and
        where its history continues (the path it was renamed from, and when).

        With ``until``, only what happened up to then is listed, the chains still being decided
        from everything (so a version that was current then is known as such)."""
        events = list(events)
        head = self.current_id(path, current, entries) if current is not None else None
        rel_versions = [
            str(body.get("files", {}).get(path.relative_key(event.path)))  # type: ignore[attr-defined]
            for event, body in events
        ]
        depths = self._chains(
            entries, head, rel_versions, absent=current is None, gone=[event.time for event, _ in events]
        )
        ordered: list[tuple[tuple[datetime, float], Version]] = []
        origin: VirtualPath | None = None
        origin_time: datetime | None = None
        for entry in entries:
            if entry.kind in ("v", "r") and entry.id in depths:
                version = _version(entry, path, current=entry.id == head)
                ordered.append(((entry.time, depths[entry.id]), version))
                if entry.kind == "r" and entry.id == min(
                    (e.id for e in entries if e.kind == "r" and e.id in depths),
                    key=lambda i: depths[i],
                ):
                    origin = _origin(self.store.get(entry.key).data)
                    origin_time = entry.time
            elif entry.kind == "t":
                text = self.store.get(entry.key).data.decode(errors="replace")
                renamed = VirtualPath.from_key(text[3:].strip("/")) if text.startswith("to ") else None
                after = depths.get(entry.parent or "", 0) + 0.5
                ordered.append(((entry.time, after), _marker(entry, path, renamed)))
        for event, body in events:
            rel = path.relative_key(event.path)
            if event.operation == "rename" and "from" in body:
                # Renamed into here as part of a folder: the older history is at the old path.
                ordered.append(((event.time, -1.0), _version(event, path, operation="rename")))
                source_folder = VirtualPath.from_key(str(body["from"]).strip("/"))
                origin, origin_time = VirtualPath((*source_folder.parts, *rel.split("/"))), event.time
            elif event.operation == "rename" and "to" in body:
                target = VirtualPath.from_key(str(body["to"]).strip("/"))
                moved = VirtualPath((*target.parts, *rel.split("/")))
                ordered.append(((event.time, float("inf")), _marker(event, path, moved)))
            else:
                ordered.append(((event.time, float("inf")), _marker(event, path, None)))
        if until is not None:
            ordered = [item for item in ordered if item[0][0] <= until]
            origin = origin if origin_time is not None and origin_time <= until else None
        ordered.sort(key=lambda item: item[0], reverse=True)
        versions = [version for _, version in ordered]
        if until is not None:
            return versions, origin, origin_time if origin is not None else None
        # A file renamed in and not written since is the version the rename brought; not when it
        # went away after that rename (deleted, or renamed on): then it came back unrecorded.
        renamed_in = bool(versions) and not versions[0].deleted and versions[0].operation == "rename"
        if current is not None and (head is None or head not in depths) and renamed_in:
            versions[0] = replace(versions[0], current=True)
            return versions, origin, origin_time
        came_back = current is not None and bool(versions) and versions[0].deleted
        if came_back:
            # The file exists, yet its newest record says it went away: it came back by a rename
            # or a write whose process died before recording it. The file as it is now is its
            # newest version (the version it repeats, if any, is no longer "current" in the past).
            versions = [replace(v, current=False) if v.current else v for v in versions]
        if current is not None and (came_back or head is None or head not in depths):
            # The file exists but its version was not recorded (written before versioning was on,
            # or its writer died between its two requests): it is still its newest version.
            versions.insert(
                0,
                Version(
                    id="current",
                    time=datetime.now(UTC),
                    size=current.size,
                    operation="unrecorded",
                    actor="",
                    deleted=False,
                    path=path,
                    current=True,
                ),
            )
        return versions, origin, origin_time


def _covering(
    events: Iterable[tuple[Entry, dict[str, object]]], path: VirtualPath, at: datetime | None = None
) -> list[tuple[Entry, dict[str, object]]]:
    return [
        (entry, body)
        for entry, body in events
        if path != entry.path
        and path.is_relative_to(entry.path)
        and (at is None or entry.time <= at)
        and path.relative_key(entry.path) in body.get("files", {})  # type: ignore[operator]
    ]


def _version(
    entry: Entry, path: VirtualPath, *, current: bool = False, operation: str | None = None
) -> Version:
    return Version(
        id=entry.id,
        time=entry.time,
        size=entry.size if entry.kind == "v" else 0,
        operation=operation or entry.operation,
        actor=entry.actor,
        deleted=False,
        path=path,
        session=entry.session,
        current=current,
    )


def _marker(entry: Entry, path: VirtualPath, renamed_to: VirtualPath | None) -> Version:
    return Version(
        id=entry.id,
        time=entry.time,
        size=0,
        operation=entry.operation,
        actor=entry.actor,
        deleted=True,
        path=path,
        session=entry.session,
        renamed_to=renamed_to,
    )


def _origin(body: bytes) -> VirtualPath | None:
    text = body.decode(errors="replace")
    if not text.startswith("from "):
        return None
    return VirtualPath.from_key(text[5:].strip().strip("/"))


def _json(data: bytes) -> dict[str, object]:
    try:
        value = json.loads(data)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _b32(text: str) -> str:
    return base64.b32encode(text.encode()).decode().rstrip("=").lower()


def _unb32(text: str) -> str:
    if not text:
        return ""
    padded = text.upper() + "=" * (-len(text) % 8)
    try:
        return base64.b32decode(padded).decode()
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(str(error)) from None


def utc(moment: datetime | float | None = None) -> datetime:
    """``moment`` as an aware UTC datetime (naive datetimes are taken as local time)."""
    if moment is None:
        return datetime.now(UTC)
    if isinstance(moment, int | float):
        return datetime.fromtimestamp(moment, UTC)
    if moment.tzinfo is None:
        return moment.astimezone(UTC)
    return moment.astimezone(UTC)
