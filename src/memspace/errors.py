"""The exceptions memspace raises.

Every error a tool can report is a ``MemspaceError`` whose message is one
actionable sentence, safe to show to a model: it never contains a host path,
bucket name, endpoint or credential.

    MemspaceError
    ├── InvalidPathError        a path the model sent is not allowed
    ├── NotFoundError           no file or directory at that path
    ├── AlreadyExistsError      create / rename target already exists
    ├── IsADirectoryError       a file operation named a directory
    ├── NotADirectoryError      a path goes *through* a file
    ├── LimitExceededError      a configured limit (file size, path length, ...) was hit
    ├── BinaryFileError         the file is not UTF-8 text
    ├── InvalidTextError        text sent to be written cannot be stored as UTF-8
    ├── EditError               the edit does not apply to the current text
    ├── ConflictError           the file kept changing under us; try again
    ├── ReadOnlyError           the workspace is read-only
    ├── ConfigError             settings are missing or invalid
    ├── MissingDependencyError  an optional extra is not installed
    └── StorageError            the backend failed (unreachable, auth, missing bucket, ...)

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
    "InvalidPathError",
    "InvalidTextError",
    "IsADirectoryError",
    "LimitExceededError",
    "MemspaceError",
    "MissingDependencyError",
    "NotADirectoryError",
    "NotFoundError",
    "ReadOnlyError",
    "StorageError",
]


class MemspaceError(Exception):
    """Base class; ``str(error)`` is a model-safe, actionable sentence."""


class InvalidPathError(MemspaceError):
    pass


class NotFoundError(MemspaceError):
    pass


class AlreadyExistsError(MemspaceError):
    pass


class IsADirectoryError(MemspaceError):
    pass


class NotADirectoryError(MemspaceError):
    pass


class LimitExceededError(MemspaceError):
    pass


class BinaryFileError(MemspaceError):
    pass


class InvalidTextError(MemspaceError):
    pass


class EditError(MemspaceError):
    pass


class ConflictError(MemspaceError):
    pass


class ReadOnlyError(MemspaceError):
    pass


class ConfigError(MemspaceError):
    pass


class MissingDependencyError(MemspaceError):
    """An optional extra is not installed; the message gives the install command."""

    @classmethod
    def for_extra(cls, what: str, package: str, extra: str) -> MissingDependencyError:
        """``MissingDependencyError.for_extra("The MCP server", "mcp", "mcp")``."""
        return cls(f'{what} needs {package}; install it with: pip install "memspace[{extra}]"')


class StorageError(MemspaceError):
    pass
