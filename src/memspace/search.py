"""Search a workspace: lines by content (grep) and paths by name (find).

A search matches one line at a time, like grep: a literal pattern (the
default) or a Python regular expression, ignoring case unless asked not to.
Results come in path order, then line order, with every matching line
counted even past ``max_results``, so a caller can say how many more there
are. Which files are covered and how their bytes are read (directly, or
through the ETag-keyed cache on S3 and R2) is :mod:`memspace.corpus`'s job;
glob syntax is :mod:`memspace.globs`'s. Hidden entries (a name starting with
'.') and memspace's own data never match.

>>> from memspace.storage.memory import MemoryStore
>>> from memspace.workspace import Workspace
>>> ws = Workspace(MemoryStore())
>>> ws.create("/notes/a.md", "Deadline: Friday\\nlunch\\n")
>>> [(str(m.path), m.line, m.text) for m in search(ws, "deadline").matches]
[('/notes/a.md', 1, 'Deadline: Friday')]
>>> [str(entry.path) for entry in find(ws, "*.md")]
['/notes/a.md']
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from memspace import corpus
from memspace.edits import split_lines
from memspace.errors import InvalidPatternError
from memspace.globs import Glob
from memspace.paths import VirtualPath
from memspace.workspace import Entry

if TYPE_CHECKING:
    from memspace.workspace import Workspace

__all__ = ["DEFAULT_MAX_RESULTS", "MAX_PATTERN_CHARS", "Match", "Pattern", "SearchResult", "find", "search"]

DEFAULT_MAX_RESULTS = 100
MAX_PATTERN_CHARS = 1000


@dataclass(frozen=True)
class Match:
    """One matching line: ``spans`` are where the pattern matched in ``text`` (start, end).

    ``before`` and ``after`` hold up to ``context`` lines around it.
    """

    path: VirtualPath
    line: int
    text: str
    spans: tuple[tuple[int, int], ...]
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()


@dataclass(frozen=True)
class SearchResult:
    """The first matches (path, then line order) and how many there were in all.

    ``file_counts`` maps every file with a match to its number of matching lines,
    in path order; ``searched`` files were read, ``binary`` were not UTF-8 text.
    """

    matches: list[Match]
    total: int
    file_counts: dict[VirtualPath, int] = field(default_factory=dict)
    searched: int = 0
    binary: int = 0

    @property
    def omitted(self) -> int:
        """Matching lines not in ``matches`` (past ``max_results``)."""
        return self.total - len(self.matches)


class Pattern:
    """What a line must contain: literal text or a regular expression, with or without case.

    >>> Pattern("a.c", regex=False, case_sensitive=True).spans("abc a.c")
    ((4, 7),)
    """

    def __init__(self, pattern: str, *, regex: bool = False, case_sensitive: bool = False) -> None:
        kind = "regex" if regex else "text"
        if not pattern:
            raise _invalid(pattern, kind, "it is empty")
        if len(pattern) > MAX_PATTERN_CHARS:
            raise _invalid(pattern, kind, f"it is longer than {MAX_PATTERN_CHARS:,} characters")
        if "\n" in pattern:
            raise _invalid(pattern, kind, "it spans several lines, and a search matches one line at a time")
        self.text = pattern
        self.regex = regex
        self.case_sensitive = case_sensitive
        flags = 0 if case_sensitive else re.IGNORECASE
        try:
            self._compiled = re.compile(pattern if regex else re.escape(pattern), flags)
        except re.error as error:
            raise _invalid(pattern, kind, str(error)) from None
        # Ignoring case, ASCII text and an ASCII literal match exactly as with re.IGNORECASE after
        # lower(), which keeps every offset and runs at str.find's speed (the regex is ~10x slower).
        self._ascii_needle = (
            pattern.lower() if not regex and not case_sensitive and pattern.isascii() else None
        )
        self._find: Callable[[str, int], int]
        if not regex and case_sensitive:
            self._find = lambda text, start: text.find(pattern, start)
        else:
            search_in = self._compiled.search

            def find(text: str, start: int) -> int:
                found = search_in(text, start)
                return found.start() if found else -1

            self._find = find

    def lines(self, text: str) -> Iterator[tuple[int, int, int]]:
        """``(line number, start, end)`` of every matching line of ``text``."""
        if self.regex:
            yield from self._regex_lines(text)
        else:
            yield from self._literal_lines(text)

    def _literal_lines(self, text: str) -> Iterator[tuple[int, int, int]]:
        # A literal holds no newline, so any occurrence lies within one line: find it
        # in the whole text (a C loop), and count newlines only up to each hit.
        find = self._find
        if self._ascii_needle is not None and text.isascii():
            lowered, needle = text.lower(), self._ascii_needle

            def find(_text: str, start: int) -> int:
                return lowered.find(needle, start)

        number, counted, size = 1, 0, len(text)
        position = find(text, 0)
        while position >= 0:
            number += text.count("\n", counted, position)
            counted = position
            start = text.rfind("\n", 0, position) + 1
            end = text.find("\n", position)
            end = size if end < 0 else end
            yield number, start, end
            if end >= size:
                return
            position = find(text, end + 1)

    def _regex_lines(self, text: str) -> Iterator[tuple[int, int, int]]:
        # A regular expression is tried on each line by itself: anchors and lookarounds
        # then mean what they mean in grep, whatever the neighbouring lines hold.
        search_in = self._compiled.search
        start = 0
        for number, line in enumerate(split_lines(text), 1):
            if search_in(line.removesuffix("\r")):
                yield number, start, start + len(line)
            start += len(line) + 1

    def spans(self, line: str) -> tuple[tuple[int, int], ...]:
        """Where the pattern matches in one ``line`` (empty matches left out)."""
        subject = line.removesuffix("\r") if self.regex else line
        return tuple(m.span() for m in self._compiled.finditer(subject) if m.end() > m.start())


def search(
    ws: Workspace,
    pattern: str,
    *,
    path: str = "/",
    glob: str | None = None,
    regex: bool = False,
    case_sensitive: bool = False,
    max_results: int | None = DEFAULT_MAX_RESULTS,
    context: int = 0,
) -> SearchResult:
    """Lines matching ``pattern`` in the files below ``path`` that ``glob`` matches.

    ``max_results`` bounds ``matches`` (None: no bound); every match is still
    counted. ``context`` lines before and after each match are included.
    Raises InvalidPatternError for a bad pattern or glob (before any request),
    NotFoundError when nothing is at ``path``.
    """
    if context < 0 or (max_results is not None and max_results < 0):
        raise ValueError("context and max_results must not be negative")
    matcher = Pattern(pattern, regex=regex, case_sensitive=case_sensitive)
    compiled = Glob.parse(glob) if glob is not None else None
    scope = ws.path(path)
    kept: dict[VirtualPath, builtins.list[Match]] = {}
    counts: dict[VirtualPath, int] = {}
    searched = binary = 0
    for file, data in corpus.contents(ws, corpus.files(ws, scope, compiled)):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            binary += 1
            continue
        searched += 1
        count, matches = _search_text(matcher, file.path, text, max_results, context)
        if count:
            counts[file.path] = count
            kept[file.path] = matches
            if max_results is not None and sum(map(len, kept.values())) > 2 * max_results:
                kept = _first(kept, max_results)
    ordered = [match for file_path in sorted(kept) for match in kept[file_path]]
    if max_results is not None:
        ordered = ordered[:max_results]
    return SearchResult(
        matches=ordered,
        total=sum(counts.values()),
        file_counts=dict(sorted(counts.items())),
        searched=searched,
        binary=binary,
    )


def find(ws: Workspace, glob: str, *, path: str = "/") -> builtins.list[Entry]:
    """Files and folders below ``path`` whose path matches ``glob``, sorted.

    A folder's size is the total of the files below it. Raises
    InvalidPatternError for a bad glob, NotFoundError when nothing is at ``path``.
    """
    compiled = Glob.parse(glob)
    scope = ws.path(path)
    found = corpus.files(ws, scope)
    entries: builtins.list[Entry] = []
    for folder in corpus.folders(found, scope):
        if compiled.matches(folder.relative_key(scope), full=folder.key, is_dir=True):
            size = sum(file.size for file in found if file.path.is_relative_to(folder))
            entries.append(Entry(folder, "dir", size))
    for file in found:
        relative = file.path.relative_key(scope) or file.path.name  # the scope may be the file itself
        if compiled.matches(relative, full=file.path.key):
            entries.append(Entry(file.path, "file", file.size))
    entries.sort(key=lambda entry: entry.path)
    return entries


def _search_text(
    matcher: Pattern, path: VirtualPath, text: str, limit: int | None, context: int
) -> tuple[int, builtins.list[Match]]:
    """How many lines of ``text`` match, and the first ``limit`` of them as Matches."""
    count = 0
    matches: builtins.list[Match] = []
    lines: builtins.list[str] | None = None
    for number, start, end in matcher.lines(text):
        count += 1
        if limit is not None and len(matches) >= limit:
            continue
        line = text[start:end]
        before: tuple[str, ...] = ()
        after: tuple[str, ...] = ()
        if context:
            lines = lines if lines is not None else split_lines(text)
            before = tuple(lines[max(0, number - 1 - context) : number - 1])
            after = tuple(lines[number : number + context])
        matches.append(Match(path, number, line, matcher.spans(line), before, after))
    return count, matches


def _first(
    kept: dict[VirtualPath, builtins.list[Match]], limit: int
) -> dict[VirtualPath, builtins.list[Match]]:
    """Only the files (in path order) needed for the first ``limit`` matches: memory stays bounded."""
    out: dict[VirtualPath, builtins.list[Match]] = {}
    total = 0
    for file_path in sorted(kept):
        if total >= limit:
            break
        out[file_path] = kept[file_path]
        total += len(kept[file_path])
    return out


def _invalid(pattern: str, kind: str, reason: str) -> InvalidPatternError:
    what = "regular expression" if kind == "regex" else "search text"
    return InvalidPatternError(
        f"The {what} {pattern[:200]!r} cannot be used: {reason}.", pattern=pattern, kind=kind, reason=reason
    )
