"""Anthropic's native memory tool (``memory_20250818``) over a memspace workspace.

Claude models are trained on the memory tool: six commands (``view``, ``create``,
``str_replace``, ``insert``, ``delete``, ``rename``) on paths under ``/memories``. The
anthropic SDK runs it client-side through ``BetaAbstractMemoryTool``; these are concrete
subclasses that keep the files in a memspace workspace, so the same tool works on local disk,
S3 and Cloudflare R2, shared safely by many processes::

    import anthropic
    from memspace.integrations.anthropic import MemspaceMemoryTool

    memory = MemspaceMemoryTool.from_config({"memory_tool_backend": "s3"})
    runner = anthropic.Anthropic().beta.messages.tool_runner(
        model="claude-sonnet-4-6", max_tokens=2048, tools=[memory],
        messages=[{"role": "user", "content": "Remember that I prefer short answers."}],
    )
    for message in runner:
        print(message.content)

``/memories`` is the workspace root: ``/memories/notes.md`` is the workspace's ``/notes.md``.
The commands answer exactly as the SDK's own ``BetaLocalFilesystemMemoryTool`` does, word for
word (``TEXTS``): same parameters, same ``..`` handling, same ``view_range`` slicing, same
listing format, same trailing-newline rule for ``insert``. Errors are raised as the SDK's
``ToolError``, which the tool runner returns to the model with ``is_error: true``. Every change
goes through :class:`~memspace.workspace.Workspace`, so creates are atomic and edits are
compare-and-swap on every backend. Where memspace cannot behave as the SDK's local tool does
(symbolic links, sizes of folders, ...), docs/integrations.md lists what differs and why.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, Final, Self, TypeVar

from memspace.errors import (
    AlreadyExistsError,
    BinaryFileError,
    ConflictError,
    EmptySearchError,
    InvalidPathError,
    InvalidTextError,
    IsADirectoryError,
    LimitExceededError,
    LineOutOfRangeError,
    MemspaceError,
    MissingDependencyError,
    MultipleMatchesError,
    NoMatchError,
    NotADirectoryError,
    NotFoundError,
    ReadOnlyError,
    RenameInProgressError,
    RootPathError,
    SymlinkError,
)
from memspace.paths import VirtualPath, parse
from memspace.tools import MemoryTools
from memspace.workspace import AsyncWorkspace, DirListing, TextFile, Workspace

try:
    from anthropic.lib.tools import BetaAbstractMemoryTool, BetaAsyncAbstractMemoryTool, ToolError
    from anthropic.types.beta import (
        BetaCacheControlEphemeralParam,
        BetaMemoryTool20250818CreateCommand,
        BetaMemoryTool20250818DeleteCommand,
        BetaMemoryTool20250818InsertCommand,
        BetaMemoryTool20250818RenameCommand,
        BetaMemoryTool20250818StrReplaceCommand,
        BetaMemoryTool20250818ViewCommand,
    )
    from anyio.to_thread import run_sync
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise MissingDependencyError.for_extra(
        "The Anthropic memory tool", "the anthropic package", "anthropic"
    ) from error

__all__ = ["MEMORY_ROOT", "TEXTS", "AsyncMemspaceMemoryTool", "MemspaceMemoryTool"]

log = logging.getLogger("memspace")

MEMORY_ROOT: Final = "/memories"
"""Where the model sees the workspace root."""

# The SDK refuses to show a file of more lines than this.
_MAX_LINES: Final = 999_999

TEXTS: Final[Mapping[str, str]] = {
    # -- the SDK's own texts (anthropic 2.13, BetaLocalFilesystemMemoryTool), word for word --
    "outside": "Path must start with /memories, got: {path}",
    "escapes": "Path {path} would escape /memories directory",
    "view_file": "Here's the content of {path} with line numbers:\n",
    "view_dir": "Here're the files and directories up to 2 levels deep in {path}, excluding hidden items:\n",
    "too_many_lines": "File {path} exceeds maximum line limit of 999,999 lines.",
    "missing_please": "The path {path} does not exist. Please provide a valid path.",
    "missing": "The path {path} does not exist",
    "not_a_file": "The path {path} is not a file.",
    "created": "File created successfully at: {path}",
    "file_exists": "File {path} already exists",
    "no_match": "No replacement was performed, old_str `{old}` did not appear verbatim in {path}.",
    "several_matches": (
        "No replacement was performed. Multiple occurrences of old_str `{old}` in lines: {lines}. "
        "Please ensure it is unique"
    ),
    "replaced": "The memory file has been edited. Here is the snippet showing the change (with line numbers):\n",
    "insert_line_range": (
        "Invalid `insert_line` parameter: {line}. It should be within the range [0, {line_count}]."
    ),
    "inserted": "The file {path} has been edited.",
    "delete_root": "Cannot delete the /memories directory itself",
    "deleted": "Successfully deleted {path}",
    "rename_root": "Cannot rename the /memories directory itself",
    "destination_exists": "The destination {path} already exists",
    "renamed": "Successfully renamed {old_path} to {new_path}",
    "cleared": "All memory cleared",
    # The SDK's words for a symlink that leads out of /memories (its two checks say "Path X
    # would escape /memories directory" and "... via symlink"). memspace never follows a
    # link, wherever it points, so every link gets this answer (docs/integrations.md).
    "symlink": "Path {path} would escape /memories directory via symlink",
    # -- the adapter's own texts, for what the SDK's local tool has no sentence for ---------
    "bad_parameter": "Invalid `{name}` parameter: {value}. It should be {expected}.",
    "empty_old_str": "No replacement was performed, old_str is empty. Copy the exact text to replace from {path}.",
    "into_itself": "Cannot rename {old_path} to {new_path}: the new path is inside the old one.",
    "through_a_file": "The path {path} cannot be used: a directory in it is a file.",
    "binary": "The file {path} is not UTF-8 text ({size:,} bytes); it can only be renamed or deleted.",
    "too_large": (
        "The file {path} would be larger than the size limit of {limit:,} bytes. "
        "Split the content across several files."
    ),
    "not_unicode": "The text for {path} contains a character that is not valid Unicode; remove it.",
    "busy": "The file {path} is being changed by others right now; try again.",
    "renaming": "The path {path} is being renamed right now; try again.",
    "read_only": "The memory directory is read-only; {path} cannot be changed.",
    "more_entries": "... and {count:,} more entries not shown; view a subdirectory to see them.",
    "internal": "The memory command failed with an internal error; it may not have completed. View {path}.",
}
"""What the model reads, by situation: one table, formatted with the facts of each case."""

_T = TypeVar("_T")


def _refusal(key: str, **facts: object) -> ToolError:
    return ToolError(TEXTS[key].format(**facts))


class _Commands:
    """The six commands and ``clear_all_memory`` over one workspace, worded as the SDK words them.

    Sync code, run as is by :class:`MemspaceMemoryTool` and in a worker thread by
    :class:`AsyncMemspaceMemoryTool`, so the logic exists once.
    """

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        # The model's paths carry "/memories" in front of the workspace path: allow for it, so
        # the path-length limit means the same here as for memspace's own tools.
        self._limits = replace(
            workspace.limits, max_path_bytes=workspace.limits.max_path_bytes + len(MEMORY_ROOT)
        )

    # -- paths -----------------------------------------------------------------

    def resolve(self, path: str) -> VirtualPath:
        """The workspace path for a model's ``/memories/...`` path, or a ToolError.

        ``.`` and ``..`` are resolved as the SDK resolves them (``/memories/a/../b.md`` is
        ``/memories/b.md``; climbing above ``/memories`` escapes it); the rest of the path
        rules are memspace's own (:mod:`memspace.paths`), applied to the path the model sees.
        """
        rest = path[len(MEMORY_ROOT) :] if path.startswith(MEMORY_ROOT) else None
        # The SDK only compares the first nine characters, so it reads "/memoriesX/a" as
        # "/memories/X/a"; that path is not under /memories and is refused here.
        if rest is None or rest[:1] not in ("", "/"):
            raise _refusal("outside", path=path)
        normal = posixpath.normpath(MEMORY_ROOT + "/" + rest.lstrip("/"))
        if normal != MEMORY_ROOT and not normal.startswith(MEMORY_ROOT + "/"):
            raise _refusal("escapes", path=path)
        try:
            parsed = parse(normal, self._limits)
        except (InvalidPathError, LimitExceededError) as error:
            # memspace's own sentence, quoting the path the model sees (/memories included).
            raise ToolError(str(error)) from None
        return VirtualPath(parsed.parts[1:])

    # -- the commands ----------------------------------------------------------

    def view(self, command: BetaMemoryTool20250818ViewCommand) -> str:
        path = _field(command, "path", str, "a string")
        view_range = getattr(command, "view_range", None)
        if view_range is not None and not (
            isinstance(view_range, list) and all(_is_int(n) for n in view_range)
        ):
            raise _refusal(
                "bad_parameter", name="view_range", value=_show(view_range), expected="a list of integers"
            )
        target = self.resolve(path)
        try:
            shown = self.workspace.view(str(target))
        except (NotFoundError, NotADirectoryError):
            raise _refusal("missing_please", path=path) from None
        if isinstance(shown, DirListing):
            return _listing(path, shown)
        return _numbered(path, shown, view_range)

    def create(self, command: BetaMemoryTool20250818CreateCommand) -> str:
        path = _field(command, "path", str, "a string")
        text = _field(command, "file_text", str, "a string")
        target = self.resolve(path)
        if target.is_root:
            raise _refusal("file_exists", path=path)
        try:
            self.workspace.create(str(target), text)
        except AlreadyExistsError:
            raise _refusal("file_exists", path=path) from None
        except NotADirectoryError:
            # The local backend cannot put a file where a folder is (the SDK: "already
            # exists"), nor below a file. Only this error path pays for the extra look.
            if self._exists(target):
                raise _refusal("file_exists", path=path) from None
            raise _refusal("through_a_file", path=path) from None
        return TEXTS["created"].format(path=path)

    def str_replace(self, command: BetaMemoryTool20250818StrReplaceCommand) -> str:
        path = _field(command, "path", str, "a string")
        old = _field(command, "old_str", str, "a string")
        new = _field(command, "new_str", str, "a string")
        target = self.resolve(path)
        try:
            outcome = self.workspace.str_replace(str(target), old, new)
        except (NotFoundError, NotADirectoryError):
            raise _refusal("missing_please", path=path) from None
        except IsADirectoryError:
            raise _refusal("not_a_file", path=path) from None
        except NoMatchError as error:
            raise _refusal("no_match", old=error.old, path=path) from None
        except MultipleMatchesError as error:
            listed = ", ".join(str(line) for line in error.lines)
            raise _refusal("several_matches", old=error.old, lines=listed) from None
        except EmptySearchError:
            # memspace refuses an empty old_str before reading the file; the SDK first says
            # whether the path is a file at all.
            self._read_or_refuse(target, path)
            raise _refusal("empty_old_str", path=path) from None
        lines = outcome.text.split("\n")
        changed = outcome.first_line - 1
        snippet = range(max(0, changed - 2), min(len(lines), changed + 3))
        return TEXTS["replaced"] + "\n".join(f"{n + 1:>6}\t{lines[n]}" for n in snippet)

    def insert(self, command: BetaMemoryTool20250818InsertCommand) -> str:
        path = _field(command, "path", str, "a string")
        line = _field(command, "insert_line", int, "an integer")
        text = _field(command, "insert_text", str, "a string")
        target = self.resolve(path)
        try:
            # The SDK inserts the text without its trailing newlines as one line (or several).
            outcome = self.workspace.insert(str(target), line, text.rstrip("\n"))
        except (NotFoundError, NotADirectoryError):
            raise _refusal("missing_please", path=path) from None
        except IsADirectoryError:
            raise _refusal("not_a_file", path=path) from None
        except LineOutOfRangeError as error:
            raise _refusal("insert_line_range", line=error.line, line_count=error.line_count) from None
        if not outcome.text.endswith("\n"):
            # The SDK's insert always leaves the file ending with a newline; memspace's keeps
            # the file's own ending. A second compare-and-swap adds the newline (an append of
            # nothing adds exactly the missing line end).
            self.workspace.append(str(target), "")
        return TEXTS["inserted"].format(path=path)

    def delete(self, command: BetaMemoryTool20250818DeleteCommand) -> str:
        path = _field(command, "path", str, "a string")
        target = self.resolve(path)
        try:
            self.workspace.delete(str(target))
        except RootPathError:
            raise _refusal("delete_root") from None
        except (NotFoundError, NotADirectoryError):
            raise _refusal("missing", path=path) from None
        return TEXTS["deleted"].format(path=path)

    def rename(self, command: BetaMemoryTool20250818RenameCommand) -> str:
        old_path = _field(command, "old_path", str, "a string")
        new_path = _field(command, "new_path", str, "a string")
        source, destination = self.resolve(old_path), self.resolve(new_path)
        # The SDK's order: the root first, then an existing destination, then a missing source.
        if source.is_root:
            raise _refusal("rename_root")
        if destination.is_root or (source == destination and self._exists(source)):
            raise _refusal("destination_exists", path=new_path)
        if source == destination:
            raise _refusal("missing", path=old_path)
        if destination.is_relative_to(source):
            raise _refusal("into_itself", old_path=old_path, new_path=new_path)
        try:
            self.workspace.rename(str(source), str(destination))
        except AlreadyExistsError:
            raise _refusal("destination_exists", path=new_path) from None
        except (NotFoundError, NotADirectoryError) as error:
            if error.path == str(destination):
                raise _refusal("through_a_file", path=new_path) from None
            # memspace looks for the source first; the SDK reports an existing destination first.
            if self._exists(destination):
                raise _refusal("destination_exists", path=new_path) from None
            raise _refusal("missing", path=old_path) from None
        except MemspaceError as error:
            on_destination = str(getattr(error, "path", "")) == str(destination)
            raise self.worded(error, new_path if on_destination else old_path) from None
        return TEXTS["renamed"].format(old_path=old_path, new_path=new_path)

    def clear_all_memory(self) -> str:
        self.workspace.clear()
        return TEXTS["cleared"]

    def worded(self, error: MemspaceError, path: str) -> ToolError:
        """A ToolError for a memspace error no command words itself; ``path`` as the model wrote it."""
        if isinstance(error, SymlinkError):
            return _refusal("symlink", path=path)
        if isinstance(error, BinaryFileError):
            return _refusal("binary", path=path, size=error.size)
        if isinstance(error, NotFoundError):
            return _refusal("missing", path=path)
        if isinstance(error, IsADirectoryError):
            return _refusal("not_a_file", path=path)
        if isinstance(error, NotADirectoryError):
            return _refusal("through_a_file", path=path)
        if isinstance(error, LimitExceededError):
            # Paths were checked against the limits before the workspace was called, so the
            # limit a write can still hit is the file size.
            return _refusal("too_large", path=path, limit=self.workspace.limits.max_file_bytes)
        if isinstance(error, InvalidTextError):
            return _refusal("not_unicode", path=path)
        if isinstance(error, ConflictError):
            return _refusal("busy", path=path)
        if isinstance(error, RenameInProgressError):
            return _refusal("renaming", path=path)
        if isinstance(error, ReadOnlyError):
            return _refusal("read_only", path=path)
        # StorageError and the rest: safe sentences that name no host path (memspace.errors).
        return ToolError(str(error))

    # -- helpers ---------------------------------------------------------------

    def _exists(self, target: VirtualPath) -> bool:
        try:
            return self.workspace.exists(str(target))
        except NotADirectoryError:  # a folder on the way is a file
            return False

    def _read_or_refuse(self, target: VirtualPath, path: str) -> None:
        try:
            self.workspace.read(str(target))
        except (NotFoundError, NotADirectoryError):
            raise _refusal("missing_please", path=path) from None
        except IsADirectoryError:
            raise _refusal("not_a_file", path=path) from None

    def run(self, path: object, action: Callable[[], _T]) -> _T:
        """Run a command; memspace errors not worded by the command itself become ToolErrors.

        Anything else is a bug or an unexpected backend failure: it is logged by type only
        (its text may hold host paths) and the model reads a generic sentence.
        """
        shown = path if isinstance(path, str) else MEMORY_ROOT
        try:
            return action()
        except ToolError:
            raise
        except MemspaceError as error:
            raise self.worded(error, shown) from None
        except Exception as error:
            log.error("memspace: the memory command failed with an unexpected %s", type(error).__name__)
            log.debug("memspace: traceback of the memory command failure", exc_info=True)
            raise _refusal("internal", path=shown) from None


def _field(command: object, name: str, kind: type[_T], expected: str) -> _T:
    """A command parameter of the right type; the SDK builds commands without validating them."""
    value = getattr(command, name, None)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _refusal("bad_parameter", name=name, value=_show(value), expected=expected)
    return value


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _numbered(path: str, file: TextFile, view_range: list[int] | None) -> str:
    """A file as the SDK shows it: every line numbered, the last (empty) one after a final newline too."""
    lines = file.text.split("\n")
    if len(lines) > _MAX_LINES:
        raise _refusal("too_many_lines", path=path)
    first = 1
    if view_range and len(view_range) == 2:
        # Python slicing, as the SDK does it: out-of-range ends clamp, -1 means the last line.
        start = max(1, view_range[0]) - 1
        end = len(lines) if view_range[1] == -1 else view_range[1]
        lines, first = lines[start:end], start + 1
    return TEXTS["view_file"].format(path=path) + "\n".join(
        f"{number:>6}\t{line}" for number, line in enumerate(lines, first)
    )


def _listing(path: str, listing: DirListing) -> str:
    """A directory as the SDK lists it: sizes, the path as given, a ``/`` after folders."""
    depth = len(listing.path.parts) + 1
    total = sum(entry.size or 0 for entry in listing.entries if len(entry.path.parts) == depth)
    rows = [f"{_human_size(total)}\t{path}"]
    for entry in listing.entries:
        slash = "/" if entry.kind == "dir" else ""
        rows.append(f"{_human_size(entry.size or 0)}\t{path}/{entry.path.relative_key(listing.path)}{slash}")
    if listing.omitted:
        rows.append(TEXTS["more_entries"].format(count=listing.omitted))
    return TEXTS["view_dir"].format(path=path) + "\n".join(rows)


def _human_size(size: int) -> str:
    """A size the way the SDK's listing writes it: ``0B``, ``512B``, ``1.5K``, ``4.0K``, ``2M``.

    >>> _human_size(1536), _human_size(2048), _human_size(4096 + 1)
    ('1.5K', '2K', '4.0K')
    """
    units = ("B", "K", "M", "G")
    unit = min(max(size.bit_length() - 1, 0) // 10, len(units) - 1)
    scaled = size / 1024**unit
    return f"{int(scaled)}{units[unit]}" if scaled == int(scaled) else f"{scaled:.1f}{units[unit]}"


def _workspace_of(source: MemoryTools | Workspace | AsyncWorkspace) -> Workspace:
    if isinstance(source, MemoryTools):
        return source.workspace
    if isinstance(source, AsyncWorkspace):
        return source.sync
    return source


def _from_config(
    agent_config: Mapping[str, object] | None, environ: Mapping[str, str] | None, store: Any
) -> MemoryTools:
    return MemoryTools.from_config(agent_config, environ=environ, store=store)


class MemspaceMemoryTool(BetaAbstractMemoryTool):
    """Anthropic's memory tool, keeping its files in a memspace workspace.

    >>> tool = MemspaceMemoryTool.from_config({"memory_tool_backend": "memory"})
    >>> tool.call({"command": "create", "path": "/memories/a.md", "file_text": "hi\\n"})
    'File created successfully at: /memories/a.md'
    >>> tool.to_dict()
    {'type': 'memory_20250818', 'name': 'memory'}

    Args:
        source: the workspace, or the ``MemoryTools`` (or ``AsyncWorkspace``) holding it.
        cache_control: passed to the tool definition, as the SDK's own tool does.
    """

    def __init__(
        self,
        source: MemoryTools | Workspace | AsyncWorkspace,
        *,
        cache_control: BetaCacheControlEphemeralParam | None = None,
    ) -> None:
        super().__init__(cache_control=cache_control)
        self._commands = _Commands(_workspace_of(source))

    @classmethod
    def from_config(
        cls,
        agent_config: Mapping[str, object] | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        store: Any = None,
        cache_control: BetaCacheControlEphemeralParam | None = None,
    ) -> Self:
        """The tool over ``MemoryTools.from_config(agent_config)``: same settings, same backends."""
        return cls(_from_config(agent_config, environ, store), cache_control=cache_control)

    @property
    def workspace(self) -> Workspace:
        return self._commands.workspace

    def view(self, command: BetaMemoryTool20250818ViewCommand) -> str:
        return self._commands.run(getattr(command, "path", None), lambda: self._commands.view(command))

    def create(self, command: BetaMemoryTool20250818CreateCommand) -> str:
        return self._commands.run(getattr(command, "path", None), lambda: self._commands.create(command))

    def str_replace(self, command: BetaMemoryTool20250818StrReplaceCommand) -> str:
        return self._commands.run(getattr(command, "path", None), lambda: self._commands.str_replace(command))

    def insert(self, command: BetaMemoryTool20250818InsertCommand) -> str:
        return self._commands.run(getattr(command, "path", None), lambda: self._commands.insert(command))

    def delete(self, command: BetaMemoryTool20250818DeleteCommand) -> str:
        return self._commands.run(getattr(command, "path", None), lambda: self._commands.delete(command))

    def rename(self, command: BetaMemoryTool20250818RenameCommand) -> str:
        return self._commands.run(getattr(command, "old_path", None), lambda: self._commands.rename(command))

    def clear_all_memory(self) -> str:
        """Delete every file of the workspace (this namespace only)."""
        return self._commands.run(MEMORY_ROOT, self._commands.clear_all_memory)

    def close(self) -> None:
        """Release the store's connections and file handles."""
        self.workspace.store.close()


class AsyncMemspaceMemoryTool(BetaAsyncAbstractMemoryTool):
    """The async twin of :class:`MemspaceMemoryTool`, for ``AsyncAnthropic``'s tool runner.

    Each command runs the sync one in a worker thread, so a slow S3 request never blocks
    the event loop and the logic exists once.

    >>> import asyncio
    >>> tool = AsyncMemspaceMemoryTool.from_config({"memory_tool_backend": "memory"})
    >>> asyncio.run(tool.call({"command": "view", "path": "/memories"})).splitlines()[1]
    '0B\\t/memories'
    """

    def __init__(
        self,
        source: MemoryTools | Workspace | AsyncWorkspace,
        *,
        cache_control: BetaCacheControlEphemeralParam | None = None,
    ) -> None:
        super().__init__(cache_control=cache_control)
        self._commands = _Commands(_workspace_of(source))

    @classmethod
    def from_config(
        cls,
        agent_config: Mapping[str, object] | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        store: Any = None,
        cache_control: BetaCacheControlEphemeralParam | None = None,
    ) -> Self:
        """The tool over ``MemoryTools.from_config(agent_config)``: same settings, same backends."""
        return cls(_from_config(agent_config, environ, store), cache_control=cache_control)

    @property
    def workspace(self) -> Workspace:
        return self._commands.workspace

    async def _run(self, path: object, action: Callable[[], str]) -> str:
        return await run_sync(self._commands.run, path, action)

    async def view(self, command: BetaMemoryTool20250818ViewCommand) -> str:
        return await self._run(getattr(command, "path", None), lambda: self._commands.view(command))

    async def create(self, command: BetaMemoryTool20250818CreateCommand) -> str:
        return await self._run(getattr(command, "path", None), lambda: self._commands.create(command))

    async def str_replace(self, command: BetaMemoryTool20250818StrReplaceCommand) -> str:
        return await self._run(getattr(command, "path", None), lambda: self._commands.str_replace(command))

    async def insert(self, command: BetaMemoryTool20250818InsertCommand) -> str:
        return await self._run(getattr(command, "path", None), lambda: self._commands.insert(command))

    async def delete(self, command: BetaMemoryTool20250818DeleteCommand) -> str:
        return await self._run(getattr(command, "path", None), lambda: self._commands.delete(command))

    async def rename(self, command: BetaMemoryTool20250818RenameCommand) -> str:
        return await self._run(getattr(command, "old_path", None), lambda: self._commands.rename(command))

    async def clear_all_memory(self) -> str:
        """Delete every file of the workspace (this namespace only)."""
        return await self._run(MEMORY_ROOT, self._commands.clear_all_memory)

    def close(self) -> None:
        """Release the store's connections and file handles."""
        self.workspace.store.close()
