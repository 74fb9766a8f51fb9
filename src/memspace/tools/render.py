"""What a model reads back: numbered lines, pages, listings, edit snippets.

Output is bounded (``max_view_chars``) and always says how to get the rest.
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections import OrderedDict
from itertools import accumulate

from memspace.edits import line_count, line_start
from memspace.errors import LineRangeError
from memspace.tools.arguments import ArgumentError
from memspace.workspace import DirListing, EditOutcome, TextFile

__all__ = [
    "LineCounts",
    "human_size",
    "line_window",
    "number_lines",
    "render_edit",
    "render_file",
    "render_listing",
]

_SNIPPET_CONTEXT = 4


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "K", "M"):
        if value < 1024 or unit == "M":
            return f"{size}B" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1024
    raise AssertionError("unreachable")


def number_lines(lines: list[str], first: int, max_chars: int, *, column: int = 1) -> tuple[str, int, int]:
    """Numbered lines (``%6d\\t``) starting at ``first`` that fit in ``max_chars``, joined by newlines.

    The first line is shown from its character ``column`` (1-based). Returns the
    rendered text, the number of the last line shown, and, when that line was too
    long to fit and was cut, the column where its unshown rest starts (else 0).
    """
    if not lines:
        return "", first - 1, 0
    line = lines[0]
    rendered = f"{first:6d}\t{line[column - 1 :]}"
    if len(rendered) > max_chars:
        prefix = len(rendered) - (len(line) - column + 1)
        fits = max(1, max_chars - prefix)
        return rendered[: prefix + fits], first, column + fits
    rest = lines[1:]
    if first + len(rest) >= _WIDE_NUMBERS:  # numbers wider than 6 digits: count each line
        return _number_slowly(rendered, rest, first, max_chars)
    # A later line costs its length plus a newline, the number and a tab (8).
    budget = max_chars - len(rendered) - 1
    fit = len(rest)
    if sum(map(len, rest)) + _LINE_COST * fit > budget:
        # The running costs only grow, so the lines that fit are the ones up to a bisection.
        fit = bisect_right(list(accumulate(map(_LINE_COST.__add__, map(len, rest)))), budget)
        rest = rest[:fit]
    if first + fit >= _KEPT_NUMBERS:
        return (
            "\n".join([rendered, *map(_NUMBERED.format, range(first + 1, first + 1 + fit), rest)]),
            first + fit,
            0,
        )
    # Numbers and lines interleaved by slice assignment: no Python-level work per line.
    parts: list[str] = [""] * (2 * fit + 1)
    parts[0] = rendered
    parts[1::2] = _numbers(first + fit)[first + 1 : first + 1 + fit]
    parts[2::2] = rest
    return "".join(parts), first + fit, 0


_WIDE_NUMBERS = 1_000_000
_LINE_COST = 8
_NUMBERED = "{:6d}\t{}"
_KEPT_NUMBERS = 8192  # line numbers up to this are formatted once and kept (about 0.5 MB at most)
_number_prefixes: list[list[str]] = [[""]]  # one list, replaced whole when it grows


def _numbers(last: int) -> list[str]:
    """``"\\n%6d\\t"`` of every number up to ``last`` (index = number): formatted once, kept."""
    prefixes = _number_prefixes[0]
    if len(prefixes) <= last:
        # A new list replaces the old whole, so a thread never sees one half grown.
        top = min(max(last + 1, 2 * len(prefixes)), _KEPT_NUMBERS)
        prefixes = prefixes + [f"\n{n:6d}\t" for n in range(len(prefixes), top)]
        _number_prefixes[0] = prefixes
    return prefixes


def _number_slowly(rendered: str, rest: list[str], first: int, max_chars: int) -> tuple[str, int, int]:
    out = [rendered]
    used = len(rendered) + 1
    last = first
    for offset, line in enumerate(rest, 1):
        rendered = f"{first + offset:6d}\t{line}"
        if used + len(rendered) + 1 > max_chars:
            break
        out.append(rendered)
        used += len(rendered) + 1
        last = first + offset
    return "\n".join(out), last, 0


def line_window(text: str, start: int, count: int, max_chars: int, *, offset: int = -1) -> list[str]:
    """Lines ``start`` to ``start + count - 1`` (1-based, all of them in ``text``) as
    :func:`number_lines` needs them to show at most ``max_chars`` characters: the first
    whole (it may be paged by column), the later ones only as far as ``max_chars`` could
    reach. Only that window is split, never the whole text. ``offset`` is where line
    ``start`` begins, when the caller knows (else it is counted)."""
    if offset < 0:
        if start > 1:
            offset = line_start(text, start)
        elif len(text) <= max_chars:  # a short text from its top: one split, no copy
            return text.split("\n", count)[:count]
        else:
            offset = 0
    newline = text.find("\n", offset)
    if newline == -1:
        return [text[offset:]]
    lines = [text[offset:newline]]
    if count > 1:
        # Each shown line costs at least 8 characters, so a later line reaching past
        # max_chars would not fit anyway: its cut end is never shown.
        more = text[newline + 1 : newline + 1 + max_chars].split("\n", count - 1)
        lines.extend(more[: count - 1])
    return lines


def _lines_above(text: str, offset: int, count: int) -> int:
    """Where the line ``count`` lines above the one starting at ``offset`` starts."""
    for _ in range(count):
        offset = text.rfind("\n", 0, offset - 1) + 1
    return offset


class LineCounts:
    """Line counts of the large texts lately shown, by path and version, so paging
    through a large file does not count its lines again on every view.

    A version names one content of one file (a write always makes a new one), so a
    count kept under it stays right; the text's length is part of the key as well.
    """

    _SMALL = 64 * 1024  # counting fewer characters costs less than the bookkeeping
    _KEEP = 32

    def __init__(self) -> None:
        self._counts: OrderedDict[tuple[str, str, int, bool], int] = OrderedDict()
        self._lock = threading.Lock()  # tool calls may run on several threads

    def of(self, file: TextFile) -> int:
        text = file.text
        if len(text) < self._SMALL or not file.version:
            return line_count(text)
        key = (str(file.path), file.version, len(text), file.whole)
        with self._lock:
            count = self._counts.get(key)
            if count is not None:
                self._counts.move_to_end(key)
                return count
        count = line_count(text)
        with self._lock:
            self._counts[key] = count
            while len(self._counts) > self._KEEP:
                self._counts.popitem(last=False)
        return count


def render_file(
    file: TextFile,
    view_range: list[int] | None,
    max_chars: int,
    *,
    column: int | None = None,
    counts: LineCounts | None = None,
) -> str:
    total = counts.of(file) if counts is not None else line_count(file.text)
    if total == 0:
        return f"{file.path} is empty."
    start, end = 1, total
    if view_range is not None:
        start, end = view_range
        if not 1 <= start <= total:
            raise LineRangeError(
                f"Line {start} is out of range: {file.path} has {total} lines.",
                path=str(file.path),
                start=start,
                end=end,
                line_count=total,
                bound="start",
            )
        if end == -1:
            end = total
        elif not start <= end <= total:
            raise LineRangeError(
                f"Line {end} is out of range: the last line to show must be between {start} and {total}.",
                path=str(file.path),
                start=start,
                end=end,
                line_count=total,
                bound="end",
            )
    column = column or 1
    lines = line_window(file.text, start, end - start + 1, max_chars)
    width = len(lines[0])
    if not 1 <= column <= max(width, 1):
        raise ArgumentError(
            f"column {column} is out of range: line {start} of {file.path} has {width:,} characters, "
            f"so column must be between 1 and {max(width, 1)}."
        )
    body, last, cut = number_lines(lines, start, max_chars, column=column)
    whole = start == 1 and last == total and column == 1 and not cut
    count = f"{total} line{'s' if total != 1 else ''}"
    where = f"from character {column:,} of line {start}, " if column > 1 else ""
    header = f"{file.path} ({count}):" if whole else f"{file.path} ({where}lines {start}-{last} of {count}):"
    if not file.whole:
        header = (
            f"{file.path} is {human_size(file.size)}, over the file size limit: only its first "
            f"{human_size(len(file.text.encode('utf-8')))} can be viewed ({where}lines {start}-{last} "
            f"of the {count} in it):"
        )
    to_end = end if end < total else -1
    if cut:
        body += (  # only the first line shown can be cut: a later one too long ends the page before it
            f"\n[Line {last} is {width:,} characters, too long for one view; this shows "
            f"characters {column:,}-{cut - 1:,}. To read on, call memory_view with path "
            f'"{file.path}", view_range [{last}, {to_end}] and column {cut}.]'
        )
    elif last < end:
        body += (
            f"\n[Output limited to {max_chars:,} characters. To see more, call memory_view with "
            f'path "{file.path}" and view_range [{last + 1}, {to_end}].]'
        )
    elif not file.whole and last == total:
        body += "\n[The rest of the file is beyond the file size limit and cannot be viewed.]"
    return f"{header}\n{body}"


def render_listing(listing: DirListing) -> str:
    files = sum(1 for entry in listing.entries if entry.kind == "file")
    folders = len(listing.entries) - files
    where = "The workspace root /" if listing.path.is_root else f"Directory {listing.path}"
    if not listing.entries:
        if listing.foreign:
            return f"{where} has nothing that can be shown.\n{_foreign_note(listing.foreign)}"
        return f"{where} is empty."
    lines = [
        f"{where}: {files} file{'s' if files != 1 else ''}, {folders} folder"
        f"{'s' if folders != 1 else ''} (up to 2 levels deep, hidden entries excluded):"
    ]
    for entry in listing.entries:
        suffix = "/" if entry.kind == "dir" else ""
        lines.append(f"{human_size(entry.size or 0):>7}  {entry.path}{suffix}")
    if listing.omitted:
        lines.append(f"[{listing.omitted:,} more entries not shown; view a subfolder to see them.]")
    if listing.foreign:
        lines.append(_foreign_note(listing.foreign))
    return "\n".join(lines)


def _foreign_note(count: int) -> str:
    return (
        f"[{count:,} {'entry' if count == 1 else 'entries'} here cannot be shown: symbolic links, pipes "
        "or devices, or names that are not valid paths (not UTF-8, not NFC, or with control "
        "characters). Another program put them there; these tools cannot open them.]"
    )


def render_edit(summary: str, outcome: EditOutcome, max_chars: int) -> str:
    """A one-line summary and the edited region with some context, numbered.

    What the edit learnt (the line count, where its first line starts) is used rather than
    counted again: a snippet of a large file costs no pass over it."""
    total = outcome.total_lines if outcome.total_lines >= 0 else line_count(outcome.text)
    if not total:
        return f"{summary} The file is now empty."
    first = max(1, outcome.first_line - _SNIPPET_CONTEXT)
    last = min(total, outcome.last_line + _SNIPPET_CONTEXT)
    offset = -1
    if outcome.first_offset >= 0:
        offset = _lines_above(outcome.text, outcome.first_offset, outcome.first_line - first)
    lines = line_window(outcome.text, first, last - first + 1, max_chars, offset=offset)
    shown, shown_last, cut = number_lines(lines, first, max_chars)
    if cut:  # only one line is shown when it is cut
        shown += f" [... line {shown_last} is {len(lines[0]):,} characters; the rest is not shown]"
    more = ""
    if shown_last < last:
        more = f"\n[Snippet limited to {max_chars:,} characters; view the file for the rest.]"
    return f"{summary} Lines {first}-{shown_last} of {total} now read:\n" + shown + more
