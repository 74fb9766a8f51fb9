"""What a model reads back: numbered lines, pages, listings, edit snippets.

Output is bounded (``max_view_chars``) and always says how to get the rest.

Only what is shown is worked on: a file's lines are counted by counting newlines
(never by splitting the whole text), the first line shown is found by counting
newlines a block at a time, and only the slice of text that can fit in the
output is split into lines and numbered. Viewing the first page of a large file
therefore costs about what viewing a small one does.
"""

from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate
from typing import ClassVar

from memspace.edits import line_count as _line_count
from memspace.tools.arguments import ArgumentError
from memspace.workspace import DirListing, EditOutcome, TextFile

__all__ = ["human_size", "number_lines", "render_edit", "render_file", "render_listing"]

_SNIPPET_CONTEXT = 4
_BLOCK = 4096  # characters counted at a time when looking for a line
# Number prefixes ("%6d\t") of the first lines are made once and reused: numbering is
# then a join, with no formatting per line. Later lines are formatted as needed.
_PREFIX_CACHE_LINES = 16_384
# Line counts of large texts are remembered by path and version: paging through a large
# file (or viewing it again) counts its lines once. Counting costs about 0.5 ms a MiB.
_COUNT_CACHE_FROM = 64 * 1024  # characters; below this, counting is cheaper than remembering
_COUNT_CACHE_SIZE = 256


class _Counts:
    # Replaced whole when full (never trimmed while another thread may read it).
    table: ClassVar[dict[tuple[str, str, int, bool], int]] = {}


class _Prefixes:
    # The table is replaced whole, never changed in place: a thread reading it meanwhile
    # keeps a consistent one.
    table: tuple[str, ...] = ()


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "K", "M"):
        if value < 1024 or unit == "M":
            return f"{size}B" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _file_lines(file: TextFile) -> int:
    """Lines in ``file``, remembered by path and version for large texts."""
    if len(file.text) < _COUNT_CACHE_FROM:
        return _line_count(file.text)
    key = (str(file.path), file.version, len(file.text), file.whole)
    table = _Counts.table
    total = table.get(key)
    if total is None:
        total = _line_count(file.text)
        if len(table) >= _COUNT_CACHE_SIZE:
            table = _Counts.table = {}
        table[key] = total
    return total


def _line_start(text: str, line: int) -> int:
    """Index in ``text`` where the 1-based ``line`` begins (``line`` must exist)."""
    pos, wanted, size = 0, line - 1, len(text)
    while wanted:
        end = min(size, pos + _BLOCK)
        found = text.count("\n", pos, end)
        if found >= wanted or end == size:
            break
        wanted -= found
        pos = end
    for _ in range(wanted):
        pos = text.index("\n", pos) + 1
    return pos


def _number_prefixes(first: int, count: int) -> tuple[str, ...] | list[str]:
    last = first + count
    if last > _PREFIX_CACHE_LINES:
        return [f"{n:6d}\t" for n in range(first, last)]
    table = _Prefixes.table
    if len(table) < last:
        size = min(_PREFIX_CACHE_LINES, max(last, 2 * len(table), 1024))
        table = _Prefixes.table = tuple(f"{n:6d}\t" for n in range(size))
    return table[first:last]


def number_lines(text: str, first: int, last: int, max_chars: int) -> tuple[str, int]:
    """Lines ``first``..``last`` of ``text`` (1-based, existing), numbered ``%6d\\t``, within ``max_chars``.

    Returns the rendered lines and the number of the last line shown. Lines are shown
    whole until the next would not fit; a first line longer than the budget is cut, with
    a note saying so. Only the ``max_chars`` characters of text from line ``first`` on
    are looked at: no line beyond them could fit.
    """
    start = _line_start(text, first)
    end = min(len(text), start + max_chars)
    wanted = last - first + 1
    pieces = text[start:end].split("\n", wanted)
    if len(pieces) > wanted:
        lines = pieces[:wanted]
    elif end == len(text):
        lines = (
            pieces if pieces[-1] else pieces[:-1]
        )  # the text's last line, or the "" after its final newline
    else:
        lines = pieces[:-1]  # the last piece is cut short by ``end``: it cannot fit
    if not lines:
        # The first line alone is longer than the budget: show its beginning.
        stop = text.find("\n", start)
        length = (len(text) if stop == -1 else stop) - start
        shown = f"{first:6d}\t{text[start : start + max_chars]}"[:max_chars]
        return shown + f" [... line {first} is {length:,} characters; the rest is not shown]", first
    prefixes = _number_prefixes(first, len(lines))
    # Each line costs its prefix, its text and a newline; keep those that fit (at least one).
    numbered = [prefix + line for prefix, line in zip(prefixes, lines, strict=True)]
    fits = len(numbered)
    if sum(map(len, numbered)) + fits > max_chars:
        totals = [used + n for n, used in enumerate(accumulate(map(len, numbered)), 1)]
        fits = max(1, bisect_right(totals, max_chars))
    body = "\n".join(numbered[:fits])
    if fits == 1 and len(body) > max_chars:
        body = (
            body[:max_chars] + f" [... line {first} is {len(lines[0]):,} characters; the rest is not shown]"
        )
    return body, first + fits - 1


def render_file(file: TextFile, view_range: list[int] | None, max_chars: int) -> str:
    total = _file_lines(file)
    if total == 0:
        return f"{file.path} is empty."
    start, end = 1, total
    if view_range is not None:
        start, end = view_range
        if not 1 <= start <= total:
            raise ArgumentError(
                f"view_range start {start} is out of range: {file.path} has {total} lines, "
                f"so start must be between 1 and {total}."
            )
        if end == -1:
            end = total
        elif not start <= end <= total:
            raise ArgumentError(
                f"view_range end {end} is out of range: it must be between {start} and {total} "
                "(the last line), or -1 for the end of the file."
            )
    body, last = number_lines(file.text, start, end, max_chars)
    whole = start == 1 and last == total
    count = f"{total} line{'s' if total != 1 else ''}"
    header = f"{file.path} ({count}):" if whole else f"{file.path} (lines {start}-{last} of {count}):"
    if last < end:
        body += (
            f"\n[Output limited to {max_chars:,} characters. To see more, call memory_view with "
            f'path "{file.path}" and view_range [{last + 1}, {end if end < total else -1}].]'
        )
    return f"{header}\n{body}"


def render_listing(listing: DirListing) -> str:
    files = sum(1 for entry in listing.entries if entry.kind == "file")
    folders = len(listing.entries) - files
    where = "The workspace root /" if listing.path.is_root else f"Directory {listing.path}"
    if not listing.entries:
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
    return "\n".join(lines)


def render_edit(summary: str, outcome: EditOutcome, max_chars: int) -> str:
    """A one-line summary and the edited region with some context, numbered."""
    total = _line_count(outcome.text)
    if not total:
        return f"{summary} The file is now empty."
    first = max(1, outcome.first_line - _SNIPPET_CONTEXT)
    last = min(total, outcome.last_line + _SNIPPET_CONTEXT)
    body, shown_last = number_lines(outcome.text, first, last, max_chars)
    more = ""
    if shown_last < last:
        more = f"\n[Snippet limited to {max_chars:,} characters; view the file for the rest.]"
    return f"{summary} Lines {first}-{shown_last} of {total} now read:\n" + body + more
