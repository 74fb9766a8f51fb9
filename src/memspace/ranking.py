"""Ranked full-text search: the files that best match a few words, best first (BM25).

Built on SQLite's FTS5 from the standard library. The index is made for each
query from exactly the files the search covers, read the way every search
reads them (:mod:`memspace.corpus`: directly, or through the ETag-keyed cache
on S3 and R2), so it can never be out of date; it lives in a private
temporary database that SQLite spills to disk, so memory stays bounded.
Indexing costs about 25 ms per 1,000 files of 2 KiB on one core.

Words are matched by their English stem and without case or accents
("running" finds "runs"); a file matching more of the words, more often, in
fewer words overall ranks higher. Each file comes with its lines holding the
most distinct query words.

>>> from memspace.storage.memory import MemoryStore
>>> from memspace.workspace import Workspace
>>> ws = Workspace(MemoryStore())
>>> ws.create("/a.md", "cats and dogs\\n")
>>> ws.create("/b.md", "dogs\\n")
>>> [str(f.path) for f in rank(ws, "dog").files]
['/b.md', '/a.md']
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from memspace import corpus
from memspace.edits import split_lines
from memspace.errors import InvalidPatternError, MemspaceError
from memspace.globs import Glob
from memspace.paths import VirtualPath
from memspace.search import MAX_PATTERN_CHARS, Match

if TYPE_CHECKING:
    from memspace.workspace import Workspace

__all__ = ["DEFAULT_MAX_FILES", "RankedFile", "RankedResult", "rank"]

DEFAULT_MAX_FILES = 10
LINES_PER_FILE = 3
_WORD = re.compile(r"\w+")
_MAX_WORDS = 32
# Marks FTS5 puts around each matched word; control characters never met in a query word.
_OPEN, _CLOSE = "\x01", "\x02"


@dataclass(frozen=True)
class RankedFile:
    """A file in the ranking: its BM25 score (lower is better, as SQLite has it) and best lines."""

    path: VirtualPath
    score: float
    lines: list[Match]


@dataclass(frozen=True)
class RankedResult:
    """The best ``files``, how many files matched at least one word, and how many were searched."""

    words: tuple[str, ...]
    files: list[RankedFile]
    total: int
    searched: int


def words_of(query: str) -> tuple[str, ...]:
    """The words of a query, in order, without repeats; raises InvalidPatternError if none."""
    if len(query) > MAX_PATTERN_CHARS:
        raise _invalid(query, f"it is longer than {MAX_PATTERN_CHARS:,} characters")
    words = tuple(dict.fromkeys(word.lower() for word in _WORD.findall(query)))
    if not words:
        raise _invalid(query, "it has no words to look for")
    return words[:_MAX_WORDS]


def rank(
    ws: Workspace, query: str, *, path: str = "/", glob: str | None = None, max_files: int = DEFAULT_MAX_FILES
) -> RankedResult:
    """The ``max_files`` files below ``path`` (matching ``glob``) that best match the words of ``query``."""
    words = words_of(query)
    compiled = Glob.parse(glob) if glob is not None else None
    scope = ws.path(path)
    import sqlite3

    db = sqlite3.connect("")  # a private temporary database: SQLite spills it to disk when large
    try:
        try:
            db.execute(
                "CREATE VIRTUAL TABLE docs USING fts5(body, tokenize='porter unicode61 remove_diacritics 2')"
            )
        except sqlite3.OperationalError:
            raise MemspaceError(
                "Ranked search needs SQLite's FTS5 module, which this Python's sqlite3 lacks; "
                "search for lines instead."
            ) from None
        paths: builtins.list[VirtualPath] = []

        def rows() -> Iterator[tuple[int, str]]:
            for file, data in corpus.contents(ws, corpus.files(ws, scope, compiled)):
                try:
                    text = data.decode("utf-8")
                except UnicodeDecodeError:
                    continue
                paths.append(file.path)
                yield len(paths) - 1, text.replace(_OPEN, " ").replace(_CLOSE, " ")

        db.executemany("INSERT INTO docs (rowid, body) VALUES (?, ?)", rows())
        expression = " OR ".join(f'"{word}"' for word in words)
        (total,) = db.execute("SELECT count(*) FROM docs WHERE docs MATCH ?", (expression,)).fetchone()
        ranked = db.execute(
            "SELECT rowid, bm25(docs), highlight(docs, 0, ?, ?) FROM docs WHERE docs MATCH ? "
            "ORDER BY bm25(docs), rowid LIMIT ?",
            (_OPEN, _CLOSE, expression, max_files),
        ).fetchall()
    finally:
        db.close()
    files = [RankedFile(paths[row], score, _best_lines(paths[row], marked)) for row, score, marked in ranked]
    return RankedResult(words, files, total, len(paths))


def _best_lines(path: VirtualPath, marked: str) -> builtins.list[Match]:
    """The lines with the most distinct matched words (then the earliest), in line order."""
    scored: builtins.list[tuple[int, int, Match]] = []
    for number, line in enumerate(split_lines(marked), 1):
        if _OPEN not in line:
            continue
        text, spans = _unmark(line)
        distinct = len({text[start:end].lower() for start, end in spans})
        scored.append((-distinct, number, Match(path, number, text, spans)))
    best = sorted(scored)[:LINES_PER_FILE]
    return [match for _, _, match in sorted(best, key=lambda item: item[1])]


def _unmark(line: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    text: builtins.list[str] = []
    spans: builtins.list[tuple[int, int]] = []
    length = 0
    start = 0
    for piece in re.split(f"([{_OPEN}{_CLOSE}])", line):
        if piece == _OPEN:
            start = length
        elif piece == _CLOSE:
            spans.append((start, length))
        else:
            text.append(piece)
            length += len(piece)
    return "".join(text), tuple(spans)


def _invalid(query: str, reason: str) -> InvalidPatternError:
    return InvalidPatternError(
        f"The query {query[:200]!r} cannot be used: {reason}.", pattern=query, kind="words", reason=reason
    )
