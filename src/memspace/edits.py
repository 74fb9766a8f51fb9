"""The edits, as pure functions from old text to new text.

Each function here raises an :class:`~memspace.errors.EditError` (with the facts
as attributes, so each surface can word its own advice) when the edit does not
apply, and is otherwise free of I/O, so the workspace can run it again on a
fresher copy of the file whenever a concurrent writer got there first.

Lines are separated by ``"\\n"``; a final newline ends the last line rather than
starting an empty one, so ``"a\\nb\\n"`` has two lines.

>>> insert("a\\nb\\n", 1, "x").text
'a\\nx\\nb\\n'
"""

from __future__ import annotations

from dataclasses import dataclass

from memspace.errors import EmptySearchError, LineOutOfRangeError, MultipleMatchesError, NoMatchError

__all__ = [
    "Edited",
    "append",
    "enumerate_lines",
    "insert",
    "line_count",
    "line_start",
    "occurrence_lines",
    "split_lines",
    "str_replace",
]


@dataclass(frozen=True)
class Edited:
    """New text, the 1-based lines of it that the edit touched (for a snippet), and how many
    occurrences a replacement replaced (0 for other edits).

    ``total_lines`` (the new text's line count) and ``first_offset`` (the index in it where line
    ``first_line`` starts) are what the edit learnt on its way, -1 where it did not: a snippet
    of a large file then needs no second pass over it to count lines."""

    text: str
    first_line: int
    last_line: int
    replaced: int = 0
    total_lines: int = -1
    first_offset: int = -1


def split_lines(text: str) -> list[str]:
    """Lines of ``text`` without their terminators; ``""`` has no lines."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def line_count(text: str) -> int:
    """How many lines :func:`split_lines` finds, counted without splitting."""
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)


def line_of(text: str, index: int) -> int:
    """1-based line number of the character at ``index``."""
    return text.count("\n", 0, index) + 1


def line_start(text: str, number: int) -> int:
    """Index where line ``number`` (1-based) starts in ``text``, which must have ``number - 1``
    newlines at least (line ``number`` may be the empty one after a final newline).

    Newlines are counted a block at a time (``str.count`` runs in C), then found one by one
    in the last small block only."""
    skip = number - 1  # newlines to pass
    offset = 0
    for block in (1 << 16, 1 << 10):
        while skip and offset < len(text):
            seen = text.count("\n", offset, offset + block)
            if seen >= skip:
                break
            skip -= seen
            offset += block
    while skip:
        offset = text.index("\n", offset) + 1
        skip -= 1
    return offset


def append(text: str, addition: str) -> Edited:
    """Add ``addition`` at the end, on a new line if ``text`` does not end with one."""
    separator = "\n" if text and not text.endswith("\n") else ""
    new = "".join((text, separator, addition))  # one copy of a large text, not two
    before = line_count(text)  # ``text`` ends at a line's end once ``separator`` is added
    added = line_count(addition)
    return Edited(
        new,
        before + 1,
        max(before + 1, before + added),
        total_lines=before + added,
        first_offset=len(text) + len(separator),
    )


def occurrence_lines(text: str, old: str) -> list[int]:
    """Line numbers where non-overlapping occurrences of ``old`` start."""
    return _occurrences(text, old)[0]


def _occurrences(text: str, old: str) -> tuple[list[int], int]:
    """:func:`occurrence_lines` and the index of the first occurrence (-1 if none), counting
    the newlines before each occurrence from the one before (never from the start again)."""
    lines: list[int] = []
    first = start = text.find(old)
    line, counted = 1, 0
    while start != -1:
        line += text.count("\n", counted, start)
        counted = start
        lines.append(line)
        start = text.find(old, start + len(old))
    return lines, first


def str_replace(text: str, old: str, new: str, *, replace_all: bool = False, path: str = "") -> Edited:
    """Replace ``old`` by ``new``; ``old`` must occur exactly once unless ``replace_all``."""
    where = f" in {path}" if path else ""
    if old == "":
        raise EmptySearchError(
            "The text to replace is empty; give the exact text to replace, copied from the file.", path=path
        )
    found, start = _occurrences(text, old)
    if not found:
        raise NoMatchError(
            f"The text to replace was not found{where}; view the file and copy the exact text, "
            "including whitespace and line breaks.",
            path=path,
            old=old,
        )
    if len(found) > 1 and not replace_all:
        raise MultipleMatchesError(
            f"The text to replace occurs {len(found)} times{where}, at {enumerate_lines(found)}; "
            "include more surrounding text to make it unique, or replace every occurrence.",
            path=path,
            old=old,
            lines=found,
        )
    count = len(found) if replace_all else 1
    # Not spliced at ``start`` by slices: two large slices and their join cost page faults that
    # one ``replace`` (a search up to ``start``, one copy) does not.
    replaced = text.replace(old, new) if replace_all else text.replace(old, new, 1)
    first = found[0]
    # The last touched line: where the final replacement ends in the new text.
    delta = new.count("\n") - old.count("\n")
    last = found[-1] + delta * (len(found) - 1) + new.count("\n")
    # Newlines of the new text: those of the old (the ones before the first occurrence are
    # counted already), shifted by each replacement.
    newlines = first - 1 + text.count("\n", start) + delta * count
    total = newlines + (1 if replaced and not replaced.endswith("\n") else 0)
    offset = text.rfind("\n", 0, start) + 1  # the text before the first occurrence is unchanged
    return Edited(replaced, first, max(first, last), count, total_lines=total, first_offset=offset)


def insert(text: str, after_line: int, addition: str, *, path: str = "") -> Edited:
    """Insert ``addition`` as whole lines after line ``after_line`` (0 = top of the file)."""
    total = line_count(text)
    if not 0 <= after_line <= total:
        where = f" {path}" if path else " the file"
        raise LineOutOfRangeError(
            f"Line {after_line} is out of range:{where} has {total} lines, so the line to insert "
            f"after must be between 0 (top of the file) and {total} (end of the file).",
            path=path,
            line=after_line,
            line_count=total,
        )
    added = addition.split("\n")
    if len(added) > 1 and added[-1] == "":
        added.pop()
    block = "\n".join(added)
    # Spliced in where line ``after_line + 1`` starts: the text is never split into lines.
    lines = total + len(added)
    if after_line == total and text and not text.endswith("\n"):  # after a last line without newline
        new, offset = "".join((text, "\n", block)), len(text) + 1
        lines -= added[-1] == ""  # the file still ends without a newline: an empty last line is none
    else:
        offset = line_start(text, after_line + 1)
        new = "".join((text[:offset], block, "\n", text[offset:]))
    return Edited(new, after_line + 1, after_line + len(added), total_lines=lines, first_offset=offset)


def enumerate_lines(numbers: list[int], limit: int = 10) -> str:
    """``lines 1, 5, 9`` or ``line 4``: each line once, however often it holds a match (the
    first ``limit`` lines, then how many more)."""
    lines = list(dict.fromkeys(numbers))
    shown = ", ".join(str(n) for n in lines[:limit])
    more = f" and {len(lines) - limit} more" if len(lines) > limit else ""
    return f"{'line' if len(lines) == 1 else 'lines'} {shown}{more}"
