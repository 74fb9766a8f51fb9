"""What a model reads back: numbered lines, pages, listings, edit snippets.

Output is bounded (``max_view_chars``) and always says how to get the rest.
"""

from __future__ import annotations

from memspace.edits import split_lines
from memspace.errors import LineRangeError
from memspace.tools.arguments import ArgumentError
from memspace.workspace import DirListing, EditOutcome, TextFile

__all__ = ["human_size", "render_edit", "render_file", "render_listing"]

_SNIPPET_CONTEXT = 4


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "K", "M"):
        if value < 1024 or unit == "M":
            return f"{size}B" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1024
    raise AssertionError("unreachable")


def number_lines(
    lines: list[str], first: int, max_chars: int, *, column: int = 1
) -> tuple[list[str], int, int]:
    """Numbered lines (``%6d\\t``) starting at ``first`` that fit in ``max_chars``.

    The first line is shown from its character ``column`` (1-based). Returns the
    rendered lines, the number of the last line shown, and, when that line was too
    long to fit and was cut, the column where its unshown rest starts (else 0).
    """
    out: list[str] = []
    used = 0
    last = first - 1
    cut = 0
    for offset, line in enumerate(lines):
        number = first + offset
        start = column if offset == 0 else 1
        rendered = f"{number:6d}\t{line[start - 1 :]}"
        if out and used + len(rendered) + 1 > max_chars:
            break
        if len(rendered) > max_chars:
            prefix = len(rendered) - (len(line) - start + 1)
            fits = max(1, max_chars - prefix)
            rendered = rendered[: prefix + fits]
            cut = start + fits
        out.append(rendered)
        used += len(rendered) + 1
        last = number
        if cut:
            break
    return out, last, cut


def render_file(
    file: TextFile, view_range: list[int] | None, max_chars: int, *, column: int | None = None
) -> str:
    lines = split_lines(file.text)
    total = len(lines)
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
    width = len(lines[start - 1])
    if not 1 <= column <= max(width, 1):
        raise ArgumentError(
            f"column {column} is out of range: line {start} of {file.path} has {width:,} characters, "
            f"so column must be between 1 and {max(width, 1)}."
        )
    shown, last, cut = number_lines(lines[start - 1 : end], start, max_chars, column=column)
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
    body = "\n".join(shown)
    to_end = end if end < total else -1
    if cut:
        body += (  # only the first line shown can be cut: a later one too long ends the page before it
            f"\n[Line {last} is {len(lines[last - 1]):,} characters, too long for one view; this shows "
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
    """A one-line summary and the edited region with some context, numbered."""
    lines = split_lines(outcome.text)
    if not lines:
        return f"{summary} The file is now empty."
    first = max(1, outcome.first_line - _SNIPPET_CONTEXT)
    last = min(len(lines), outcome.last_line + _SNIPPET_CONTEXT)
    shown, shown_last, cut = number_lines(lines[first - 1 : last], first, max_chars)
    if cut:
        shown[-1] += (
            f" [... line {shown_last} is {len(lines[shown_last - 1]):,} characters; the rest is not shown]"
        )
    more = ""
    if shown_last < last:
        more = f"\n[Snippet limited to {max_chars:,} characters; view the file for the rest.]"
    return f"{summary} Lines {first}-{shown_last} of {len(lines)} now read:\n" + "\n".join(shown) + more
