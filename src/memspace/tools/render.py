"""What a model reads back: numbered lines, pages, listings, edit snippets.

Output is bounded (``max_view_chars``) and always says how to get the rest.
"""

from __future__ import annotations

from memspace.edits import split_lines
from memspace.errors import LineRangeError
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


def number_lines(lines: list[str], first: int, max_chars: int) -> tuple[list[str], int]:
    """Numbered lines (``%6d\\t``) starting at ``first`` that fit in ``max_chars``.

    Returns the rendered lines and the number of the last line shown. A single
    line longer than the budget is cut, with a note saying so.
    """
    out: list[str] = []
    used = 0
    last = first - 1
    for offset, line in enumerate(lines):
        number = first + offset
        rendered = f"{number:6d}\t{line}"
        if out and used + len(rendered) + 1 > max_chars:
            break
        if len(rendered) > max_chars:
            rendered = (
                rendered[:max_chars]
                + f" [... line {number} is {len(line):,} characters; the rest is not shown]"
            )
        out.append(rendered)
        used += len(rendered) + 1
        last = number
    return out, last


def render_file(file: TextFile, view_range: list[int] | None, max_chars: int) -> str:
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
    shown, last = number_lines(lines[start - 1 : end], start, max_chars)
    whole = start == 1 and last == total
    count = f"{total} line{'s' if total != 1 else ''}"
    header = f"{file.path} ({count}):" if whole else f"{file.path} (lines {start}-{last} of {count}):"
    body = "\n".join(shown)
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
    lines = split_lines(outcome.text)
    if not lines:
        return f"{summary} The file is now empty."
    first = max(1, outcome.first_line - _SNIPPET_CONTEXT)
    last = min(len(lines), outcome.last_line + _SNIPPET_CONTEXT)
    shown, shown_last = number_lines(lines[first - 1 : last], first, max_chars)
    more = ""
    if shown_last < last:
        more = f"\n[Snippet limited to {max_chars:,} characters; view the file for the rest.]"
    return f"{summary} Lines {first}-{shown_last} of {len(lines)} now read:\n" + "\n".join(shown) + more
