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
    "occurrence_lines",
    "split_lines",
    "str_replace",
]


@dataclass(frozen=True)
class Edited:
    """New text, the 1-based lines of it that the edit touched (for a snippet), and how many
    occurrences a replacement replaced (0 for other edits)."""

    text: str
    first_line: int
    last_line: int
    replaced: int = 0


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


def append(text: str, addition: str) -> Edited:
    """Add ``addition`` at the end, on a new line if ``text`` does not end with one."""
    separator = "\n" if text and not text.endswith("\n") else ""
    new = "".join((text, separator, addition))  # one copy of a large text, not two
    before = line_count(text)  # ``text`` ends at a line's end once ``separator`` is added
    return Edited(new, before + 1, max(before + 1, before + line_count(addition)))


def occurrence_lines(text: str, old: str) -> list[int]:
    """Line numbers where non-overlapping occurrences of ``old`` start."""
    lines: list[int] = []
    start = text.find(old)
    while start != -1:
        lines.append(line_of(text, start))
        start = text.find(old, start + len(old))
    return lines


def str_replace(text: str, old: str, new: str, *, replace_all: bool = False, path: str = "") -> Edited:
    """Replace ``old`` by ``new``; ``old`` must occur exactly once unless ``replace_all``."""
    where = f" in {path}" if path else ""
    if old == "":
        raise EmptySearchError(
            "The text to replace is empty; give the exact text to replace, copied from the file.", path=path
        )
    found = occurrence_lines(text, old)
    if not found:
        raise NoMatchError(
            f"The text to replace was not found{where}; view the file and copy the exact text, "
            "including whitespace and line breaks.",
            path=path,
            old=old,
        )
    if len(found) > 1 and not replace_all:
        raise MultipleMatchesError(
            f"The text to replace occurs {len(found)} times{where}, at lines {enumerate_lines(found)}; "
            "include more surrounding text to make it unique, or replace every occurrence.",
            path=path,
            old=old,
            lines=found,
        )
    replaced = text.replace(old, new) if replace_all else text.replace(old, new, 1)
    first = found[0]
    # The last touched line: where the final replacement ends in the new text.
    shift = (new.count("\n") - old.count("\n")) * (len(found) - 1)
    last = found[-1] + shift + new.count("\n")
    return Edited(replaced, first, max(first, last), len(found) if replace_all else 1)


def insert(text: str, after_line: int, addition: str, *, path: str = "") -> Edited:
    """Insert ``addition`` as whole lines after line ``after_line`` (0 = top of the file)."""
    lines = split_lines(text)
    if not 0 <= after_line <= len(lines):
        where = f" {path}" if path else " the file"
        raise LineOutOfRangeError(
            f"Line {after_line} is out of range:{where} has {len(lines)} lines, so the line to insert "
            f"after must be between 0 (top of the file) and {len(lines)} (end of the file).",
            path=path,
            line=after_line,
            line_count=len(lines),
        )
    added = addition.split("\n")
    if len(added) > 1 and added[-1] == "":
        added.pop()
    new_lines = lines[:after_line] + added + lines[after_line:]
    ends_with_newline = text.endswith("\n") or text == ""
    new = "\n".join(new_lines) + ("\n" if ends_with_newline else "")
    return Edited(new, after_line + 1, after_line + len(added))


def enumerate_lines(numbers: list[int], limit: int = 10) -> str:
    """``1, 5, 9`` (the first ``limit`` numbers, then how many more)."""
    shown = ", ".join(str(n) for n in numbers[:limit])
    return shown + (f" and {len(numbers) - limit} more" if len(numbers) > limit else "")
