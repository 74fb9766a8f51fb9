"""Virtual paths: the one place that decides which paths a model may use.

A model addresses files with absolute, slash-separated paths such as
``/notes/a.md``; ``/`` is the root of its workspace. :func:`parse` turns such a
string into a :class:`VirtualPath` whose ``key`` is the storage key relative to
the workspace (``notes/a.md``; ``""`` for the root), or raises
:class:`~memspace.errors.InvalidPathError` / :class:`~memspace.errors.LimitExceededError`.

Rules (DESIGN.md section 5): names are NFC-normalised; ``.``/``..`` segments,
NUL and other control characters, backslashes and drive letters are rejected;
``%`` is an ordinary character (paths are never URL-decoded); a path is at most
``max_path_bytes`` and a segment at most ``max_segment_bytes`` of UTF-8.
A leading ``/`` is optional and repeated slashes collapse, so every accepted
path names something *inside* the workspace: there is no way up.

>>> parse("/notes//a.md").key
'notes/a.md'
>>> str(parse("notes/"))
'/notes'
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from memspace.errors import ConfigError, InvalidPathError, LimitExceededError
from memspace.limits import Limits

__all__ = [
    "RESERVED_PREFIX",
    "ROOT",
    "VirtualPath",
    "is_valid_name",
    "parse",
    "parse_namespace",
    "parse_prefix",
]

# Names memspace keeps for itself (temp files, locks); users cannot create them,
# so an internal file can never collide with, or clobber, a user's file.
RESERVED_PREFIX = ".memspace"

_DRIVE = re.compile(r"^[A-Za-z]:")
_NAMESPACE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
# Bidirectional overrides can make a name display as a different name.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_DEFAULT_LIMITS = Limits()


@dataclass(frozen=True, order=True)
class VirtualPath:
    """A validated path inside a workspace; ``parts`` are its segments."""

    parts: tuple[str, ...]

    @property
    def key(self) -> str:
        """Storage key relative to the workspace root (``""`` for the root)."""
        return "/".join(self.parts)

    @property
    def dir_key(self) -> str:
        """Key prefix of everything below this path (``""`` for the root)."""
        return self.key + "/" if self.parts else ""

    @property
    def is_root(self) -> bool:
        return not self.parts

    @property
    def name(self) -> str:
        return self.parts[-1] if self.parts else ""

    @property
    def parent(self) -> VirtualPath:
        return VirtualPath(self.parts[:-1])

    def child(self, name: str) -> VirtualPath:
        return VirtualPath((*self.parts, name))

    def is_relative_to(self, other: VirtualPath) -> bool:
        return self.parts[: len(other.parts)] == other.parts

    def relative_key(self, ancestor: VirtualPath) -> str:
        """Key of this path below ``ancestor`` (which must contain it)."""
        return "/".join(self.parts[len(ancestor.parts) :])

    def __str__(self) -> str:
        return "/" + self.key

    @classmethod
    def from_key(cls, key: str) -> VirtualPath:
        """Rebuild a path from a key that came out of storage (already validated)."""
        return cls(tuple(key.split("/"))) if key else ROOT


ROOT = VirtualPath(())


def parse(path: str, limits: Limits = _DEFAULT_LIMITS, *, key_budget: int | None = None) -> VirtualPath:
    """Validate a model-supplied path and return it normalised.

    ``key_budget`` is how many bytes the storage leaves for the path once the
    workspace's own prefix (bucket prefix, namespace, history area) is counted;
    the path limit is the smaller of it and ``limits.max_path_bytes``.
    """
    if not isinstance(path, str):
        raise InvalidPathError(f"A path must be a string, not {type(path).__name__}.")
    if not path.strip():
        raise InvalidPathError("The path is empty; use '/' for the workspace root.")
    if "\\" in path:
        raise InvalidPathError(f"Path {_show(path)} contains a backslash; use '/' to separate folders.")
    if _DRIVE.match(path):
        raise InvalidPathError(
            f"Path {_show(path)} looks like a drive letter; use a workspace path such as '/notes/a.md'."
        )
    one_byte = path.isascii()  # then a character is a byte: sizes need no encoding
    if one_byte and path.isprintable():
        normalised = path  # printable ASCII: no control or bidirectional characters, and NFC already
    else:
        for char in path:
            if _is_control(char):
                raise InvalidPathError(
                    f"Path {_show(path)} contains a control character (U+{ord(char):04X}); "
                    "use printable characters only."
                )
        normalised = unicodedata.normalize("NFC", path)
    parts = tuple(segment for segment in normalised.split("/") if segment)
    for segment in parts:
        if segment in (".", ".."):
            raise InvalidPathError(
                f"Path {_show(path)} contains '{segment}'; '.' and '..' are not allowed, "
                "use an absolute path from '/'."
            )
        if segment.startswith(RESERVED_PREFIX):
            raise InvalidPathError(
                f"Names starting with '{RESERVED_PREFIX}' are reserved; choose another name "
                f"than {_show(segment)}."
            )
        if _DRIVE.match(segment) and len(segment) == 2:
            raise InvalidPathError(f"Path {_show(path)} contains a drive letter '{segment}'.")
        size = len(segment) if one_byte else len(segment.encode("utf-8"))
        if size > limits.max_segment_bytes:
            raise LimitExceededError(
                f"A name in the path is {size} bytes; the limit is {limits.max_segment_bytes} "
                "bytes per name. Use a shorter name."
            )
    result = VirtualPath(parts)
    key = result.key
    total = (len(key) if one_byte else len(key.encode("utf-8"))) + 1
    if total > limits.max_path_bytes:
        raise LimitExceededError(
            f"The path is {total} bytes; the limit is {limits.max_path_bytes} bytes. Use a shorter path."
        )
    if key_budget is not None and total > key_budget:
        raise LimitExceededError(
            f"The path is {total} bytes; this workspace's storage takes paths of at most "
            f"{max(key_budget, 0)} bytes (its prefix and namespace use the rest). Use a shorter path."
        )
    return result


def is_valid_name(name: str) -> bool:
    """Whether ``name``, found in storage, is one a user could have created through :func:`parse`.

    Names that are not valid UTF-8 (they arrive with surrogate escapes), not NFC,
    or hold control, separator or bidirectional-override characters, backslashes,
    ``.``/``..``, drive letters or memspace's reserved prefix are *foreign*: listed
    as such, never shown as a path a model could send back.
    """
    if (
        2 < len(name) <= _DEFAULT_LIMITS.max_segment_bytes
        and name.isascii()
        and name.isprintable()
        and "/" not in name
        and "\\" not in name
        and not name.startswith(RESERVED_PREFIX)
    ):
        # The common case, answered first: printable ASCII (one byte a character, NFC, no
        # controls), longer than '..' or a drive letter, no separator, not reserved.
        return True
    if name in ("", ".", "..") or "/" in name or "\\" in name or name.startswith(RESERVED_PREFIX):
        return False
    if name.isascii():
        # Printable ASCII has no control, separator or bidirectional characters and is NFC.
        if not name.isprintable():
            return False
    elif any(_is_control(char) for char in name) or unicodedata.normalize("NFC", name) != name:
        return False
    if _DRIVE.match(name) and len(name) == 2:
        return False
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        return False
    return size <= _DEFAULT_LIMITS.max_segment_bytes


def _is_control(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp") or char in _BIDI


def parse_namespace(namespace: str) -> str:
    """Validate a namespace: one name of letters, digits, '.', '_' or '-'."""
    if not isinstance(namespace, str) or not _NAMESPACE.match(namespace):
        raise ConfigError(
            f"memory_tool_namespace {namespace!r} is invalid: use 1-64 letters, digits, "
            "'.', '_' or '-', starting with a letter or digit."
        )
    return namespace


def parse_prefix(prefix: str) -> str:
    """Validate a bucket key prefix; returns it with exactly one trailing '/' (or '')."""
    segments = [segment for segment in prefix.split("/") if segment]
    for segment in segments:
        if segment in (".", "..") or any(unicodedata.category(c) == "Cc" for c in segment):
            raise ConfigError(
                f"memory_tool_prefix {prefix!r} is invalid: no '.', '..' or control characters."
            )
    return "".join(f"{segment}/" for segment in segments)


def _show(text: str) -> str:
    """Quote user text for an error message, bounded and with controls escaped."""
    return repr(text[:80] + ("..." if len(text) > 80 else ""))
