"""The exceptions memspace raises.

Every error is a ``MemspaceError`` whose ``str()`` is one actionable sentence,
safe to show to a model or a user: it never contains a host path, bucket name,
endpoint or credential, and never names a tool argument or a command-line flag.
Errors whose advice depends on where the call came from carry their facts as
attributes (``path``, ``lines``, ...), so each surface words its own advice:
the model tools (:mod:`memspace.tools.messages`), the command line and the
Anthropic memory tool adapter.

    MemspaceError
    ├── InvalidPathError         a path is not allowed
    │   ├── RootPathError        the operation cannot apply to the workspace root
    │   └── SymlinkError         the path is, or goes through, a symbolic link (never followed)
    ├── NotFoundError            no file or directory at that path
    ├── AlreadyExistsError       the target of a create or rename already exists
    ├── IsADirectoryError        a file operation named a directory
    ├── NotADirectoryError       a path goes *through* a file, or a folder operation named a file
    ├── LimitExceededError       a configured limit (file size, path length, ...) was hit
    ├── BinaryFileError          the file is not UTF-8 text
    ├── InvalidTextError         text sent to be written cannot be stored as UTF-8
    ├── InvalidPatternError      a search pattern or glob cannot be used (empty, not valid syntax)
    ├── EditError                the edit does not apply to the current text
    │   ├── EmptySearchError     the text to replace is empty
    │   ├── NoMatchError         the text to replace does not occur
    │   ├── MultipleMatchesError the text to replace occurs more than once
    │   └── LineOutOfRangeError  an insert line outside [0, line count]
    ├── LineRangeError           lines asked to be shown are outside the file
    ├── ConflictError            the file kept changing under us; try again
    ├── RenameInProgressError    the file or folder is being renamed (or an interrupted rename waits)
    ├── ReadOnlyError            the workspace is read-only
    ├── ConfigError              settings are missing or invalid
    │   └── EmptySourceError     a mirroring sync from a source with no files (it would empty the target)
    ├── MissingDependencyError   an optional extra is not installed
    └── StorageError             the backend failed (unreachable, auth, missing bucket, ...)

The names shadow builtins on purpose inside this namespace; import them as
``memspace.errors.IsADirectoryError`` or via ``memspace.errors``. The agent's
run errors (``AgentError`` and its subclasses) live in :mod:`memspace.agent`.
"""

from __future__ import annotations

__all__ = [
    "AlreadyExistsError",
    "BinaryFileError",
    "ConfigError",
    "ConflictError",
    "EditError",
    "EmptySearchError",
    "EmptySourceError",
    "InvalidPathError",
    "InvalidPatternError",
    "InvalidTextError",
    "IsADirectoryError",
    "LimitExceededError",
    "LineOutOfRangeError",
    "LineRangeError",
    "MemspaceError",
    "MissingDependencyError",
    "MultipleMatchesError",
    "NoMatchError",
    "NotADirectoryError",
    "NotFoundError",
    "ReadOnlyError",
    "RenameInProgressError",
    "RootPathError",
    "StorageError",
    "SymlinkError",
]


class MemspaceError(Exception):
    """Base class; ``str(error)`` is a safe, actionable sentence."""


class InvalidPathError(MemspaceError):
    pass


class RootPathError(InvalidPathError):
    """The operation (delete, rename, ...) cannot apply to the workspace root '/'."""

    def __init__(self, message: str, *, operation: str) -> None:
        super().__init__(message)
        self.operation = operation


class SymlinkError(InvalidPathError):
    """``path`` is, or goes through, a symbolic link; memspace never follows one."""

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(message)
        self.path = path


class _PathError(MemspaceError):
    """An error about one workspace path (``path``, e.g. ``'/notes/a.md'``)."""

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(message)
        self.path = path


class NotFoundError(_PathError):
    pass


class AlreadyExistsError(_PathError):
    pass


class IsADirectoryError(_PathError):
    pass


class NotADirectoryError(_PathError):
    pass


class LimitExceededError(MemspaceError):
    pass


class BinaryFileError(_PathError):
    def __init__(self, message: str, *, path: str, size: int) -> None:
        super().__init__(message, path=path)
        self.size = size


class InvalidTextError(MemspaceError):
    pass


class InvalidPatternError(MemspaceError):
    """A search pattern, query or glob that cannot be used.

    ``kind`` is ``"text"`` (a literal pattern), ``"regex"``, ``"words"`` (a ranked query) or
    ``"glob"``; ``reason`` says what is wrong without naming an argument or a flag, e.g.
    ``"missing ), unterminated subpattern at position 0"``.
    """

    def __init__(self, message: str, *, pattern: str, kind: str, reason: str) -> None:
        super().__init__(message)
        self.pattern = pattern
        self.kind = kind
        self.reason = reason


class EditError(MemspaceError):
    """The edit does not apply to the file's current text; nothing was written."""

    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(message)
        self.path = path


class EmptySearchError(EditError):
    pass


class NoMatchError(EditError):
    def __init__(self, message: str, *, path: str, old: str) -> None:
        super().__init__(message, path=path)
        self.old = old


class MultipleMatchesError(EditError):
    def __init__(self, message: str, *, path: str, old: str, lines: list[int]) -> None:
        super().__init__(message, path=path)
        self.old = old
        self.lines = lines


class LineOutOfRangeError(EditError):
    def __init__(self, message: str, *, path: str, line: int, line_count: int) -> None:
        super().__init__(message, path=path)
        self.line = line
        self.line_count = line_count


class LineRangeError(MemspaceError):
    """Lines ``start`` to ``end`` (``-1``: the last) of ``path`` were asked for; it has ``line_count``.

    ``bound`` says which end is wrong: ``"start"`` or ``"end"``.
    """

    def __init__(self, message: str, *, path: str, start: int, end: int, line_count: int, bound: str) -> None:
        super().__init__(message)
        self.path = path
        self.start = start
        self.end = end
        self.line_count = line_count
        self.bound = bound


class ConflictError(MemspaceError):
    pass


class RenameInProgressError(_PathError):
    """``path`` is claimed by a rename to ``destination`` that is running or was interrupted."""

    def __init__(self, message: str, *, path: str, destination: str) -> None:
        super().__init__(message, path=path)
        self.destination = destination


class ReadOnlyError(MemspaceError):
    pass


class ConfigError(MemspaceError):
    pass


class EmptySourceError(ConfigError):
    """Mirroring a source with no files would delete all ``target_files`` files at the target."""

    def __init__(self, message: str, *, target_files: int) -> None:
        super().__init__(message)
        self.target_files = target_files


class MissingDependencyError(MemspaceError):
    """An optional extra is not installed; the message gives the install command."""

    @classmethod
    def for_extra(cls, what: str, package: str, extra: str) -> MissingDependencyError:
        """``MissingDependencyError.for_extra("The MCP server", "mcp", "mcp")``."""
        return cls(f'{what} needs {package}; install it with: pip install "memspace[{extra}]"')


class StorageError(MemspaceError):
    pass
