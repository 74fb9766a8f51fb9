"""What a model reads back from memory_search and memory_find.

Matches are ``path:line: text``, grouped by file (a blank line between files),
in path then line order. Output is bounded by a number of results and by
``max_chars``; when something is left out, a closing note says how much, where,
and how to narrow the search.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from memspace.ranking import RankedResult
    from memspace.search import Match, SearchResult
    from memspace.workspace import Entry

__all__ = ["MAX_LINE_CHARS", "render_find", "render_ranked", "render_search"]

MAX_LINE_CHARS = 240
_LEAD_CHARS = 60  # shown before the match when a long line is cut
_NOTE_FILES = 5
_REGEX_HINTS = (".*", ".+", "\\", "|", "^", "$", "[", "(")


def render_search(
    result: SearchResult,
    *,
    pattern: str,
    scope: str,
    glob: str | None,
    regex: bool,
    case_sensitive: bool,
    max_chars: int,
) -> str:
    where = _where(scope, glob)
    searched = f"{_count(result.searched, 'file')}{where}"
    if not result.total:
        if not result.searched:
            text = f"There are no files to search{where}."
        else:
            text = f"No lines match {_quote(pattern)} in {searched}."
            if case_sensitive:
                text += " The search was case-sensitive; set case_sensitive to false to ignore case."
            if not regex and any(hint in pattern for hint in _REGEX_HINTS):
                text += (
                    " The pattern was matched as plain text; set regex to true to use it as a "
                    "regular expression."
                )
        return text + _binary_note(result.binary)
    header = (
        f"Found {_count(result.total, 'matching line')} in {_count(len(result.file_counts), 'file')} "
        f"for {_quote(pattern)} (searched {searched}):"
    )
    lines, shown = _grouped(result.matches, max_chars - len(header))
    out = "\n".join([header, *lines])
    if shown < result.total:
        out += "\n" + _more_note(result, shown)
    return out + _binary_note(result.binary)


def render_ranked(result: RankedResult, *, scope: str, glob: str | None, max_chars: int) -> str:
    where = _where(scope, glob)
    words = ", ".join(result.words)
    if not result.files:
        if not result.searched:
            return f"There are no files to search{where}."
        return (
            f"No files contain any of the words {words} (searched {_count(result.searched, 'file')}{where})."
        )
    header = (
        f"Files with some of the words {words}: {result.total:,} of "
        f"{_count(result.searched, 'file')} searched{where}. The best {len(result.files)}, best first, "
        "with their best lines:"
    )
    out = [header]
    used = len(header)
    shown = 0
    for ranked in result.files:
        block = [f"{shown + 1}. {ranked.path}", *(_line(match) for match in ranked.lines)]
        size = sum(len(line) + 1 for line in block) + 1
        if shown and used + size > max_chars:
            break
        out.extend(["", *block])
        used += size
        shown += 1
    if shown < result.total:
        out.append(
            f"\n[{_count(result.total - shown, 'more file')} match. Add words, or narrow the search "
            "with path or glob; view a file to read it.]"
        )
    return "\n".join(out)


def render_find(entries: list[Entry], *, glob: str, scope: str, max_entries: int, max_chars: int) -> str:
    where = "" if scope == "/" else f" in {scope}"
    if not entries:
        return f"No files or folders match the glob {_quote(glob)}{where}."
    files = sum(1 for entry in entries if entry.kind == "file")
    found = " and ".join(
        _count(n, noun) for n, noun in ((files, "file"), (len(entries) - files, "folder")) if n
    )
    header = f"Found {found} matching the glob {_quote(glob)}{where}:"
    out = [header]
    used = len(header)
    for entry in entries[:max_entries]:
        line = f"{entry.path}/" if entry.kind == "dir" else str(entry.path)
        if len(out) > 1 and used + len(line) + 1 > max_chars:
            break
        out.append(line)
        used += len(line) + 1
    left = len(entries) - (len(out) - 1)
    if left:
        out.append(f"[{_count(left, 'more path')} not shown; use a narrower glob, or a path to look in.]")
    return "\n".join(out)


# -- helpers -------------------------------------------------------------------------


def _grouped(matches: list[Match], budget: int) -> tuple[list[str], int]:
    """``path:line: text`` lines within ``budget`` characters, a blank line between files."""
    lines: list[str] = []
    used = 0
    previous = None
    for shown, match in enumerate(matches):
        line = _line(match)
        extra = len(line) + 1 + (1 if previous not in (None, match.path) else 0)
        if shown and used + extra > budget:
            return lines, shown
        if previous not in (None, match.path):
            lines.append("")
        lines.append(line)
        used += extra
        previous = match.path
    return lines, len(matches)


def _line(match: Match) -> str:
    text = match.text.removesuffix("\r")
    if len(text) > MAX_LINE_CHARS:
        first = match.spans[0][0] if match.spans else 0
        start = max(0, min(first - _LEAD_CHARS, len(text) - MAX_LINE_CHARS))
        end = start + MAX_LINE_CHARS
        text = ("..." if start else "") + text[start:end] + ("..." if end < len(text) else "")
    return f"{match.path}:{match.line}: {text}"


def _more_note(result: SearchResult, shown: int) -> str:
    shown_per_file: dict[object, int] = {}
    for match in result.matches[:shown]:
        shown_per_file[match.path] = shown_per_file.get(match.path, 0) + 1
    rest = [
        (path, count - shown_per_file.get(path, 0))
        for path, count in result.file_counts.items()
        if count > shown_per_file.get(path, 0)
    ]
    named = ", ".join(f"{path} ({count:,})" for path, count in rest[:_NOTE_FILES])
    if len(rest) > _NOTE_FILES:
        named += f" and {_count(len(rest) - _NOTE_FILES, 'more file')}"
    folder = rest[0][0].parent if rest else None
    example = f'a path such as "{folder}"' if folder is not None and not folder.is_root else "a path"
    return (
        f"[{_count(result.total - shown, 'more matching line')} not shown, in {named}. Narrow the "
        f'search with a more specific pattern, {example} or a glob such as "*.md".]'
    )


def _where(scope: str, glob: str | None) -> str:
    matching = f" matching {_quote(glob)}" if glob is not None else ""
    return matching + ("" if scope == "/" else f" in {scope}")


def _binary_note(binary: int) -> str:
    if not binary:
        return ""
    return f"\n[{_count(binary, 'binary file')} (not UTF-8 text) not searched.]"


def _quote(text: str) -> str:
    return json.dumps(text if len(text) <= 80 else text[:80] + "...", ensure_ascii=False)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"
