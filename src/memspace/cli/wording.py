"""How the command line words an error: its commands and flags, never a model tool's arguments.

The workspace's errors are neutral sentences; where the advice depends on the
surface they carry their facts, and this is the one table that words them for
a person at a shell (``--overwrite``, ``--lines 10:-1``, ``memspace clear``).
Every command reports its failures through :func:`cli_message`.
"""

from __future__ import annotations

from memspace.edits import enumerate_lines
from memspace.errors import (
    AlreadyExistsError,
    EmptySourceError,
    InvalidPatternError,
    LineRangeError,
    MemspaceError,
    MultipleMatchesError,
    ReadOnlyError,
    RootPathError,
)

__all__ = ["cli_message"]


def cli_message(error: MemspaceError, command: str = "") -> str:
    """The one-line message for ``error``, raised by ``memspace <command>``."""
    path = str(getattr(error, "path", ""))
    if isinstance(error, AlreadyExistsError) and command == "write":
        return f"{path} already exists; pass --overwrite to replace it or --append to add to it."
    if isinstance(error, RootPathError) and error.operation == "delete":
        return "Deleting '/' would remove the whole workspace; use 'memspace clear' for that."
    if isinstance(error, MultipleMatchesError):
        return (
            f"The text to replace occurs {len(error.lines)} times in {path}, at "
            f"{enumerate_lines(error.lines)}; give more surrounding text to make it unique, or pass "
            "--all to replace every occurrence."
        )
    if isinstance(error, LineRangeError):
        asked = f"--lines {error.start}:{error.end}"
        if error.bound == "start":
            return (
                f"{asked} is out of range: {path} has {error.line_count} lines, so the first line "
                f"must be between 1 and {error.line_count}."
            )
        return (
            f"{asked} is out of range: the last line must be between {error.start} and "
            f"{error.line_count}, or -1 for the end of the file."
        )
    if isinstance(error, ReadOnlyError):
        return (
            "This memory workspace is read-only (MEMORY_TOOL_READ_ONLY); files can be viewed but not changed."
        )
    if isinstance(error, EmptySourceError):
        return (
            f"The source has no files, so --delete would delete all {error.target_files} files at the "
            "target; check the source, or pass --allow-empty-source to do it anyway."
        )
    if isinstance(error, InvalidPatternError):
        return _pattern_message(error)
    return str(error)


def _pattern_message(error: InvalidPatternError) -> str:
    shown = repr(error.pattern[:100])
    if error.kind == "glob":
        return f"the glob {shown} is not valid: {error.reason} (use *, ** and ?, e.g. '*.md' or 'notes/**/2024-*')"
    if error.kind == "regex":
        return (
            f"{shown} is not a valid regular expression: {error.reason}; drop -E to search for it as written"
        )
    if error.kind == "words":
        return f"{shown} cannot be used with --ranked: {error.reason}"
    return f"cannot search for {shown}: {error.reason}"
