"""Globs over workspace paths: which files and folders a search or a find covers.

The rules, chosen to be what people (and models) already type:

* a glob without ``/`` matches a *name* at any depth: ``*.md`` finds every
  Markdown file, like ``find -name`` or ripgrep's ``--glob``;
* a glob with ``/`` matches the path below the search folder: ``2024/*.md``,
  ``notes/2024-*``; one starting with ``/`` matches the whole path from the
  workspace root: ``/notes/**/*.md``;
* ``*`` is any run of characters within a name, ``?`` one character, ``[a-z]``
  and ``[!a-z]`` a character class, ``{md,txt}`` alternatives, and ``**`` as a
  whole segment any number of folders (including none); ``\\`` escapes the next
  character;
* a trailing ``/`` matches folders only.

Matching is case-sensitive, like the paths themselves.

>>> Glob.parse("*.md").matches("notes/2024/a.md")
True
>>> Glob.parse("notes/**/*.md").matches("notes/a.md")
True
>>> Glob.parse("/notes/*.md").matches("x.md", full="archive/x.md")
False
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from memspace.errors import InvalidPatternError

__all__ = ["MAX_GLOB_CHARS", "Glob"]

MAX_GLOB_CHARS = 1024


@dataclass(frozen=True)
class Glob:
    """A compiled glob. ``text`` is what the caller gave."""

    text: str
    regex: re.Pattern[str]
    names_only: bool
    from_root: bool
    dirs_only: bool

    @classmethod
    def parse(cls, text: str) -> Glob:
        """Compile ``text``; raises InvalidPatternError naming what is wrong."""
        if not text.strip():
            raise _invalid(text, "it is empty")
        if len(text) > MAX_GLOB_CHARS:
            raise _invalid(text, f"it is longer than {MAX_GLOB_CHARS:,} characters")
        from_root = text.startswith("/")
        body = text.lstrip("/")
        dirs_only = body.endswith("/")
        body = body.rstrip("/")
        if not body:
            raise _invalid(text, "it names no file or folder")
        for segment in body.split("/"):
            if segment in (".", ".."):
                raise _invalid(text, f"'{segment}' is not allowed; globs are relative to the search folder")
        return cls(
            text=text,
            regex=_compile(text, body),
            names_only="/" not in body and not from_root,
            from_root=from_root,
            dirs_only=dirs_only,
        )

    def matches(self, relative: str, *, full: str | None = None, is_dir: bool = False) -> bool:
        """Whether the path ``relative`` (below the search folder) matches.

        ``full`` is the same path from the workspace root (defaults to ``relative``),
        used by globs that start with ``/``.
        """
        if self.dirs_only and not is_dir:
            return False
        if self.names_only:
            subject = relative.rpartition("/")[2]
        elif self.from_root:
            subject = relative if full is None else full
        else:
            subject = relative
        return self.regex.fullmatch(subject) is not None


def _invalid(text: str, reason: str) -> InvalidPatternError:
    return InvalidPatternError(
        f"The glob {text[:200]!r} is not valid: {reason}.", pattern=text, kind="glob", reason=reason
    )


def _compile(text: str, body: str) -> re.Pattern[str]:
    out: list[str] = []
    braces = 0
    i, n = 0, len(body)
    while i < n:
        char = body[i]
        if char == "\\":
            if i + 1 == n:
                raise _invalid(text, "it ends with a lone '\\'")
            out.append(re.escape(body[i + 1]))
            i += 2
            continue
        if char == "*":
            i, piece = _stars(body, i, braces)
            out.append(piece)
            continue
        if char == "?":
            out.append("[^/]")
        elif char == "[":
            end, cls = _char_class(text, body, i)
            out.append(cls)
            i = end
            continue
        elif char == "{":
            braces += 1
            out.append("(?:")
        elif char == "}" and braces:
            braces -= 1
            out.append(")")
        elif char == "," and braces:
            out.append("|")
        elif char == "}":
            raise _invalid(text, "it has a '}' without a '{'")
        else:
            out.append(re.escape(char))
        i += 1
    if braces:
        raise _invalid(text, "a '{' is not closed")
    try:
        return re.compile("".join(out), re.DOTALL)
    except re.error as error:  # e.g. a reversed range such as [z-a]
        raise _invalid(text, str(error)) from None


def _stars(body: str, start: int, braces: int) -> tuple[int, str]:
    """Translate the run of '*' at ``body[start]``; returns (index after it, regex)."""
    end = start
    while end < len(body) and body[end] == "*":
        end += 1
    whole_segment = (start == 0 or body[start - 1] == "/") and (end == len(body) or body[end] == "/")
    if end - start >= 2 and whole_segment and braces == 0:
        if end == len(body):
            return end, ".*"
        return end + 1, "(?:[^/]+/)*"  # the '/' after ** is part of it: **/a.md matches a.md
    return end, "[^/]*"


def _char_class(text: str, body: str, start: int) -> tuple[int, str]:
    """Translate the class starting at ``body[start] == '['``; returns (index after it, regex)."""
    i = start + 1
    negate = i < len(body) and body[i] in "!^"
    if negate:
        i += 1
    first = i
    while i < len(body) and (body[i] != "]" or i == first):
        i += 1
    if i >= len(body):
        raise _invalid(text, "a '[' is not closed")
    members = "".join(c if c == "-" else re.escape(c) for c in body[first:i] if c != "/")
    if not members:
        if negate:
            return i + 1, "[^/]"
        raise _invalid(text, "a '[...]' class is empty")
    # A class never matches '/': that would let one name reach into a subfolder.
    return i + 1, f"[^/{members}]" if negate else f"(?!/)[{members}]"
