"""LangChain deepagents' file backend over a memspace workspace.

A deep agent (``deepagents.create_deep_agent``) does its file work (``ls``, ``read_file``,
``write_file``, ``edit_file``, ``delete``, ``glob``, ``grep``) through a *backend*, an object
implementing deepagents' ``BackendProtocol``. :class:`MemspaceBackend` is one that keeps the
files in a memspace workspace, so a deep agent's files live on local disk, S3 or Cloudflare
R2 and are shared safely by many agent processes::

    from deepagents import create_deep_agent
    from memspace.integrations.deepagents import MemspaceBackend

    agent = create_deep_agent(
        model="openai:gpt-4o", backend=MemspaceBackend.from_config({"memory_tool_backend": "s3"})
    )

The methods answer as deepagents' own ``FilesystemBackend`` does for the same files and the
same arguments (its result types, its error texts in ``TEXTS``, its read paging and
empty-file reminder, its edit refusals), and a test runs both side by side to show it. Every
change goes through :class:`~memspace.workspace.Workspace`: a write is one compare-and-swap,
an edit is re-applied to the fresh text when another writer got there first, so no write is
ever lost; ``grep`` and ``glob`` are :meth:`Workspace.search` and :meth:`Workspace.find`.
Where memspace cannot behave as ``FilesystemBackend`` does (hidden files in searches, empty
folders, modification times, ...), docs/integrations.md lists what differs and why.

The async methods (``aread``, ``awrite``, ...) are the protocol's own: each runs the sync
method in a worker thread, off the event loop.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any, Final, Self

from memspace.errors import (
    EditError,
    InvalidPathError,
    InvalidPatternError,
    IsADirectoryError,
    MemspaceError,
    MissingDependencyError,
    NotADirectoryError,
    NotFoundError,
    ReadOnlyError,
)
from memspace.paths import VirtualPath
from memspace.tools import MemoryTools
from memspace.workspace import AsyncWorkspace, Workspace

try:
    from deepagents.backends.protocol import (
        BackendProtocol,
        DeleteResult,
        EditResult,
        FileData,
        FileDownloadResponse,
        FileInfo,
        FileUploadResponse,
        GlobResult,
        GrepMatch,
        GrepResult,
        LsResult,
        ReadResult,
        WriteResult,
    )
    from deepagents.backends.utils import (
        InvalidGlobPatternError,
        _get_backend_read_file_type,
        check_empty_content,
        compile_grep_include_glob,
        perform_string_replacement,
        slice_read_response,
    )
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise MissingDependencyError.for_extra("The deepagents backend", "deepagents", "deepagents") from error

__all__ = ["TEXTS", "MemspaceBackend"]

TEXTS: Final[Mapping[str, str]] = {
    # FilesystemBackend's own texts (deepagents 0.7), word for word; {reason} is memspace's
    # sentence where FilesystemBackend shows an OS error.
    "ls_missing": "Path '{path}': path_not_found",
    "ls_not_a_directory": "Path '{path}': not_a_directory",
    "ls_failed": "Cannot list '{path}': {reason}",
    "read_missing": "File '{path}' not found",
    "read_failed": "Error reading file '{path}': {reason}",
    "write_failed": "Error writing file '{path}': {reason}",
    "edit_missing": "Error: File '{path}' not found",
    "edit_failed": "Error editing file '{path}': {reason}",
    "no_match": "Error: String not found in file: '{old}'",
    "delete_missing": "Error: '{path}' not found",
    "delete_failed": "Error deleting '{path}': {reason}",
    "grep_failed": "Error searching path '{path}': {reason}",
    "glob_failed": "Error globbing path '{path}': {reason}",
}
"""What the agent reads, by situation; ``perform_string_replacement`` words the edit refusals."""

# Characters a memspace glob gives a meaning to, escaped when a folder name is put into one.
_GLOB_SPECIAL: Final = frozenset("*?[]{},\\")


class MemspaceBackend(BackendProtocol):
    """deepagents' ``BackendProtocol`` over a memspace workspace.

    >>> backend = MemspaceBackend.from_config({"memory_tool_backend": "memory"})
    >>> backend.write("/notes/a.md", "one\\ntwo\\n")
    WriteResult(error=None, path='/notes/a.md')
    >>> backend.edit("/notes/a.md", "two", "2").occurrences
    1
    >>> backend.read("/notes/a.md").file_data["content"]
    'one\\n2\\n'
    >>> [entry["path"] for entry in backend.ls("/").entries]
    ['/notes/']

    Args:
        source: the workspace, or the ``MemoryTools`` (or ``AsyncWorkspace``) holding it.
    """

    def __init__(self, source: MemoryTools | Workspace | AsyncWorkspace) -> None:
        if isinstance(source, MemoryTools):
            source = source.workspace
        self.workspace: Workspace = source.sync if isinstance(source, AsyncWorkspace) else source

    @classmethod
    def from_config(
        cls,
        agent_config: Mapping[str, object] | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        store: Any = None,
    ) -> Self:
        """The backend over ``MemoryTools.from_config(agent_config)``: same settings, same backends
        (``local``, ``s3``, ``r2``; ``memory`` for tests)."""
        return cls(MemoryTools.from_config(agent_config, environ=environ, store=store))

    def close(self) -> None:
        """Release the store's connections and file handles."""
        self.workspace.store.close()

    # -- reading -----------------------------------------------------------------

    def ls(self, path: str) -> LsResult:
        """The files and folders directly in ``path``; a folder's path ends with ``/``."""
        ws = self.workspace
        try:
            scope = ws.path(path)
            below = ws.walk(str(scope))
            if not below and not scope.is_root and ws.stat(str(scope)).kind == "file":
                return LsResult(error=TEXTS["ls_not_a_directory"].format(path=path))
        except (NotFoundError, NotADirectoryError):
            return LsResult(error=TEXTS["ls_missing"].format(path=path))
        except MemspaceError as error:
            return LsResult(error=TEXTS["ls_failed"].format(path=path, reason=error))
        entries: dict[str, FileInfo] = {}
        for entry in below:
            first = entry.path.parts[len(scope.parts)]
            if len(entry.path.parts) == len(scope.parts) + 1:
                entries[str(entry.path)] = {"path": str(entry.path), "is_dir": False, "size": entry.size or 0}
            else:
                folder = f"{VirtualPath((*scope.parts, first))}/"
                entries[folder] = {"path": folder, "is_dir": True, "size": 0}
        return LsResult(entries=[entries[key] for key in sorted(entries)])

    def read(self, file_path: str, offset: int = 0, limit: int = 2000) -> ReadResult:
        """Lines ``offset`` (0-based) to ``offset + limit`` of a text file, unformatted (the
        middleware numbers them); a media or document file (by its extension) whole, base64."""
        try:
            data = self.workspace.read_bytes(file_path)
        except (NotFoundError, IsADirectoryError, NotADirectoryError):
            return ReadResult(error=TEXTS["read_missing"].format(path=file_path))
        except MemspaceError as error:
            return ReadResult(error=TEXTS["read_failed"].format(path=file_path, reason=error))
        if _get_backend_read_file_type(file_path) != "text":
            return ReadResult(file_data=FileData(content=base64.b64encode(data).decode(), encoding="base64"))
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            return ReadResult(error=TEXTS["read_failed"].format(path=file_path, reason=error))
        reminder = check_empty_content(text)
        if reminder is not None:
            return ReadResult(file_data=FileData(content=reminder, encoding="utf-8"))
        return slice_read_response(FileData(content=text, encoding="utf-8"), offset, limit)

    def grep(
        self, pattern: str, path: str | None = None, glob: str | None = None, *, max_count: int | None = None
    ) -> GrepResult:
        """Lines containing ``pattern`` (literal, case-sensitive) in the files below ``path`` that
        ``glob`` matches, in path then line order; at most ``max_count`` (then ``truncated``)."""
        refused = _refused_glob(glob)
        if refused is not None:
            return GrepResult(error=refused, matches=[])
        if "\n" in pattern:
            return GrepResult(matches=[])  # a search matches one line at a time
        scope = path or "/"
        try:
            root = self.workspace.path(scope)
            found = self.workspace.search(
                # An empty pattern is in every line: "^" is the regular expression for that.
                pattern or "^",
                regex=not pattern,
                path=scope,
                glob=_in_memspace_terms(glob, root),
                case_sensitive=True,
                max_results=max_count,
            )
        except (NotFoundError, NotADirectoryError, InvalidPathError):
            return GrepResult(matches=[])
        except InvalidPatternError as error:
            # A glob deepagents accepts but memspace's syntax cannot parse matches nothing,
            # as deepagents' matcher makes of malformed globs.
            return (
                GrepResult(matches=[]) if error.kind == "glob" else GrepResult(error=str(error), matches=[])
            )
        except MemspaceError as error:
            return GrepResult(error=TEXTS["grep_failed"].format(path=scope, reason=error), matches=[])
        matches: list[GrepMatch] = [
            {"path": str(match.path), "line": match.line, "text": match.text} for match in found.matches
        ]
        return GrepResult(matches=matches, truncated=found.omitted > 0)

    def glob(self, pattern: str, path: str | None = None) -> GlobResult:
        """Files below ``path`` (default ``/``) matching ``pattern``, sorted by path."""
        refused = _refused_glob(pattern)
        if refused is not None:
            return GlobResult(error=refused, matches=None)
        scope = path or "/"
        try:
            root = self.workspace.path(scope)
            entries = self.workspace.find(_in_memspace_terms(pattern, root) or "", path=scope)
        except (NotFoundError, NotADirectoryError, InvalidPathError, InvalidPatternError):
            return GlobResult(matches=[])
        except MemspaceError as error:
            return GlobResult(error=TEXTS["glob_failed"].format(path=scope, reason=error), matches=[])
        matches: list[FileInfo] = [
            {"path": str(entry.path), "is_dir": False, "size": entry.size or 0}
            for entry in entries
            if entry.kind == "file" and entry.path != root  # a file is no folder to search in
        ]
        return GlobResult(matches=matches)

    # -- writing -----------------------------------------------------------------

    def write(self, file_path: str, content: str) -> WriteResult:
        """Create the file, or replace what it holds (one compare-and-swap)."""
        try:
            self.workspace.write_bytes(file_path, content.encode("utf-8"), operation="write")
        except UnicodeEncodeError as error:
            return WriteResult(error=TEXTS["write_failed"].format(path=file_path, reason=error))
        except MemspaceError as error:
            return WriteResult(error=TEXTS["write_failed"].format(path=file_path, reason=error))
        return WriteResult(path=file_path)

    def edit(
        self,
        file_path: str,
        old_string: str,
        new_string: str,
        replace_all: bool = False,
    ) -> EditResult:
        """Replace ``old_string`` (which must occur once, unless ``replace_all``) by ``new_string``;
        re-applied to the fresh text if another writer changed the file meanwhile."""
        try:
            outcome = self.workspace.str_replace(file_path, old_string, new_string, replace_all=replace_all)
        except (NotFoundError, IsADirectoryError, NotADirectoryError):
            return EditResult(error=TEXTS["edit_missing"].format(path=file_path))
        except EditError:
            return EditResult(error=self._edit_refusal(file_path, old_string, new_string, replace_all))
        except MemspaceError as error:
            return EditResult(error=self._edit_failure(file_path, error))
        return EditResult(path=file_path, occurrences=outcome.replaced)

    def delete(self, file_path: str) -> DeleteResult:
        """Delete a file, or a folder with everything below it."""
        try:
            self.workspace.delete(file_path)
        except (NotFoundError, NotADirectoryError):
            return DeleteResult(error=TEXTS["delete_missing"].format(path=file_path))
        except MemspaceError as error:
            return DeleteResult(error=TEXTS["delete_failed"].format(path=file_path, reason=error))
        return DeleteResult(path=file_path)

    def upload_files(self, files: list[tuple[str, bytes]]) -> list[FileUploadResponse]:
        """Write each ``(path, bytes)``, creating or replacing the file; one response per file."""
        responses: list[FileUploadResponse] = []
        for path, content in files:
            try:
                self.workspace.write_bytes(path, content, operation="upload")
                responses.append(FileUploadResponse(path=path))
            except MemspaceError as error:
                responses.append(FileUploadResponse(path=path, error=_operation_error(error)))
        return responses

    def download_files(self, paths: list[str]) -> list[FileDownloadResponse]:
        """Each file's bytes; one response per path."""
        responses: list[FileDownloadResponse] = []
        for path in paths:
            try:
                responses.append(FileDownloadResponse(path=path, content=self.workspace.read_bytes(path)))
            except MemspaceError as error:
                responses.append(FileDownloadResponse(path=path, error=_operation_error(error)))
        return responses

    # -- helpers -------------------------------------------------------------------

    def _edit_refusal(self, file_path: str, old: str, new: str, replace_all: bool) -> str:
        """deepagents' sentence for an edit that does not apply, worded on the file's text
        (which also tells a file that does not end with a newline from one that lacks the text)."""
        try:
            text = self.workspace.read(file_path).text
        except (NotFoundError, IsADirectoryError, NotADirectoryError):
            return TEXTS["edit_missing"].format(path=file_path)
        except MemspaceError as error:
            return self._edit_failure(file_path, error)
        refusal = perform_string_replacement(text, old, new, replace_all)
        # The text changed after the edit was refused (another writer): say what was refused.
        return refusal if isinstance(refusal, str) else TEXTS["no_match"].format(old=old)

    def _edit_failure(self, file_path: str, error: MemspaceError) -> str:
        reason: object = error
        try:
            self.workspace.read_bytes(file_path).decode("utf-8")
        except UnicodeDecodeError as undecodable:
            reason = undecodable  # a binary file: the decoder's words, as FilesystemBackend shows them
        except MemspaceError:
            pass
        return TEXTS["edit_failed"].format(path=file_path, reason=reason)


def _refused_glob(glob: str | None) -> str | None:
    """deepagents' refusal of a glob (a ``..`` segment, brace expansion past its limit), or None."""
    if glob is None:
        return None
    try:
        compile_grep_include_glob(glob)
    except InvalidGlobPatternError as error:
        return str(error)
    return None


def _in_memspace_terms(glob: str | None, scope: VirtualPath) -> str | None:
    """The glob for memspace's search: a leading ``/`` anchors a deepagents glob to the searched
    folder, a memspace glob to the workspace root, so the folder goes in front of it."""
    if glob is None or not glob.startswith("/"):
        return glob
    folder = "".join(f"\\{char}" if char in _GLOB_SPECIAL else char for char in scope.key)
    return f"/{folder}{glob}" if folder else glob


def _operation_error(error: MemspaceError) -> str:
    """deepagents' standard error code for an upload or download that failed, where one fits."""
    if isinstance(error, NotFoundError):
        return "file_not_found"
    if isinstance(error, IsADirectoryError):
        return "is_directory"
    if isinstance(error, ReadOnlyError):
        return "permission_denied"
    if isinstance(error, InvalidPathError | NotADirectoryError):
        return "invalid_path"
    return str(error)  # a sentence that names no host path (memspace.errors)
