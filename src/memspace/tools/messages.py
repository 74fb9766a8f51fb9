"""How the model tools word an error: advice in the tools' own terms (argument names, tool names).

The workspace's errors are neutral sentences that name no tool argument. Where
the advice depends on the surface, the error carries its facts as attributes and
this module words it for a model using the seven tools; the command line and
the Anthropic adapter have tables of their own.
"""

from __future__ import annotations

import json

from memspace.edits import enumerate_lines
from memspace.errors import (
    AlreadyExistsError,
    EmptySearchError,
    InvalidPatternError,
    LineOutOfRangeError,
    LineRangeError,
    MemspaceError,
    MultipleMatchesError,
    NoMatchError,
    RootPathError,
)

__all__ = ["model_message"]


def model_message(error: MemspaceError, tool: str) -> str:
    """The text a model reads for ``error`` raised by ``tool``."""
    path = str(getattr(error, "path", ""))
    where = f" in {path}" if path else ""
    if isinstance(error, AlreadyExistsError) and tool == "memory_create_update":
        return f"{path} already exists; use mode 'overwrite' to replace it or 'append' to add to it."
    if isinstance(error, RootPathError) and error.operation == "delete":
        return "Deleting '/' would remove the whole workspace; use memory_clear_all for that."
    if isinstance(error, InvalidPatternError):
        return _pattern_message(error)
    if isinstance(error, EmptySearchError):
        return "old_str is empty; give the exact text to replace, copied from the file."
    if isinstance(error, NoMatchError):
        return (
            f"old_str was not found{where}; view the file and copy the exact text to replace, "
            "including whitespace and line breaks."
        )
    if isinstance(error, MultipleMatchesError):
        return (
            f"old_str occurs {len(error.lines)} times{where}, at {enumerate_lines(error.lines)}; "
            "include more surrounding text to make it unique, or set replace_all to true."
        )
    if isinstance(error, LineOutOfRangeError):
        return (
            f"insert_line {error.line} is out of range: {path or 'the file'} has {error.line_count} "
            f"lines, so insert_line must be between 0 (top of the file) and {error.line_count} "
            "(end of the file)."
        )
    if isinstance(error, LineRangeError):
        if error.bound == "start":
            return (
                f"view_range start {error.start} is out of range: {error.path} has {error.line_count} "
                f"lines, so start must be between 1 and {error.line_count}."
            )
        return (
            f"view_range end {error.end} is out of range: it must be between {error.start} and "
            f"{error.line_count} (the last line), or -1 for the end of the file."
        )
    return str(error)


def _pattern_message(error: InvalidPatternError) -> str:
    shown = json.dumps(error.pattern[:100], ensure_ascii=False)
    if error.kind == "glob":
        return (
            f"glob {shown} is not valid: {error.reason}. Use * for any characters in a name, ** for "
            'any folders and ? for one character, e.g. "*.md" or "notes/**/2024-*".'
        )
    if error.kind == "regex":
        return (
            f"pattern {shown} is not a valid regular expression: {error.reason}. Fix it, or set "
            "regex to false to search for the text as written."
        )
    if error.kind == "words":
        return f"pattern {shown} cannot be used for a ranked search: {error.reason}; give a few words."
    return f"pattern {shown} cannot be searched for: {error.reason}."
