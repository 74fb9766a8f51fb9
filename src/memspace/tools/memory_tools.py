"""``MemoryTools``: the seven tools (and search) bound to one workspace, callable by any agent loop."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from memspace.config import Settings
from memspace.edits import line_count
from memspace.errors import MemspaceError, ReadOnlyError
from memspace.storage.base import Store
from memspace.storage.registry import open_store
from memspace.tools.arguments import ArgumentError, validate
from memspace.tools.messages import model_message
from memspace.tools.render import LineCounts, render_edit, render_file, render_listing
from memspace.tools.render_history import render_restored, render_versions
from memspace.tools.render_search import render_find, render_ranked, render_search
from memspace.tools.schema import TOOLS, DefinitionStyle, ToolSpec, definitions
from memspace.workspace import Progress, TextFile, Version, Workspace, open_workspace

__all__ = ["HISTORY_TOOL", "INSTRUCTIONS", "SEARCH_TOOLS", "MemoryTools", "ToolResult"]

log = logging.getLogger("memspace")

INSTRUCTIONS = (
    "You have a persistent memory workspace: a folder of text files that outlives this "
    "conversation, used through the memory_* tools with absolute paths such as /notes/topic.md. "
    "Before multi-step work, view '/' to see what earlier sessions left. Keep notes, plans and "
    "results there as you work, and record your progress so the work can resume if interrupted. "
    "Prefer small edits (memory_str_replace, memory_insert, append) to rewriting whole files."
)
_READ_ONLY_INSTRUCTIONS = (
    "You have a read-only memory workspace: a folder of text files from earlier work, shown by "
    "memory_view with absolute paths such as /notes/topic.md. View '/' before multi-step work "
    "to see what is there. You cannot change it."
)
_SEARCH_INSTRUCTIONS = (
    " To look something up, search (memory_search for text in files, memory_find for file "
    "names) rather than viewing files one by one."
)
# On by default; memory_tool_search=false leaves them out (the seven tools are the contract).
SEARCH_TOOLS = ("memory_search", "memory_find")
# Off by default; memory_tool_history=true offers it (versions are kept either way).
HISTORY_TOOL = "memory_history"


@dataclass(frozen=True)
class ToolResult:
    """What a tool call returns: text for the model, and whether it is an error.

    ``error`` is the typed error behind an error result (not shown to the model), for a
    caller that words its own messages, as the command line does.
    """

    text: str
    is_error: bool = False
    error: MemspaceError | None = field(default=None, compare=False, repr=False)


class MemoryTools:
    """The memory tools over one workspace.

    >>> tools = MemoryTools.from_config({"memory_tool_backend": "memory"})
    >>> tools.call("memory_create_update", {"path": "/a.md", "file_text": "hi"}).text
    'Created /a.md (1 line, 2 bytes).'
    >>> tools.call("memory_view", {"path": "/nope.md"}).is_error
    True
    """

    def __init__(self, workspace: Workspace, *, search: bool = True, history: bool = False) -> None:
        self.workspace = workspace
        self.search = search
        self.history = history
        self._line_counts = LineCounts()
        self._specs = tuple(
            spec
            for spec in TOOLS
            if not (spec.writes and workspace.read_only)
            and (search or spec.name not in SEARCH_TOOLS)
            and (history or spec.name != HISTORY_TOOL)
        )
        self._handlers: dict[str, Callable[[dict[str, Any], Progress | None], str]] = {
            "memory_view": self._view,
            "memory_create_update": self._create_update,
            "memory_str_replace": self._str_replace,
            "memory_insert": self._insert,
            "memory_delete": self._delete,
            "memory_rename": self._rename,
            "memory_clear_all": self._clear_all,
            "memory_search": self._search,
            "memory_find": self._find,
            HISTORY_TOOL: self._history,
        }

    @classmethod
    def from_config(
        cls,
        agent_config: Mapping[str, object] | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        store: Store | None = None,
    ) -> MemoryTools:
        """Build the tools from an ``agent_config`` dict and the environment (see memspace.config).

        ``store`` replaces the backend the settings name (to share one store
        between several workspaces, or to bring your own implementation).
        """
        settings = Settings.from_config(agent_config, environ=environ)
        return cls(
            open_workspace(settings, store if store is not None else open_store(settings, environ)),
            search=settings.search,
            history=settings.history_tool,
        )

    @property
    def names(self) -> list[str]:
        """Names of the tools offered (write tools are left out in read-only mode)."""
        return [spec.name for spec in self._specs]

    @property
    def instructions(self) -> str:
        """A short system instruction on how to use the workspace."""
        text = _READ_ONLY_INSTRUCTIONS if self.workspace.read_only else INSTRUCTIONS
        return text + _SEARCH_INSTRUCTIONS if self.search else text

    def definitions(
        self, style: DefinitionStyle = "json", *, strict: bool | None = None
    ) -> list[dict[str, Any]]:
        """Tool schemas for ``openai``, ``responses``, ``anthropic``, ``mcp`` or plain ``json``.

        The OpenAI styles are strict by default (``strict=False`` to leave strict mode off);
        see :func:`memspace.tools.schema.definitions`.
        """
        return definitions(self._specs, style, strict=strict)

    def call(
        self, name: str, args: Mapping[str, Any] | str | None = None, *, progress: Progress | None = None
    ) -> ToolResult:
        """Run one tool. Never raises for the model's mistakes: they come back as errors.

        ``progress(done, total)`` is called while a long call (a folder delete or
        rename, a clear) works through its files.
        """
        spec = self._spec(name)
        if isinstance(spec, ToolResult):
            return spec
        try:
            text = self._handlers[name](validate(spec, args), progress)
        except MemspaceError as error:
            return ToolResult(model_message(error, name), is_error=True, error=error)
        except Exception as error:
            # A bug or an unexpected backend failure. Exception texts can carry host
            # paths, so the log names the type; the traceback is at DEBUG level.
            log.error("memspace: %s failed with an unexpected %s", name, type(error).__name__)
            log.debug("memspace: traceback of the %s failure", name, exc_info=True)
            return ToolResult(
                f"{name} failed with an internal error; it may not have completed. View the "
                "affected path to check, then try again.",
                is_error=True,
            )
        return ToolResult(text)

    async def acall(
        self, name: str, args: Mapping[str, Any] | str | None = None, *, progress: Progress | None = None
    ) -> ToolResult:
        """Async twin of :meth:`call`; the work runs in a thread, off the event loop.

        ``progress`` is called from that thread.
        """
        import asyncio  # on first use: it is a fifth of memspace's import time

        return await asyncio.to_thread(self.call, name, args, progress=progress)

    def close(self) -> None:
        self.workspace.store.close()

    def __enter__(self) -> MemoryTools:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the tools -------------------------------------------------------------

    def _spec(self, name: str) -> ToolSpec | ToolResult:
        for spec in self._specs:
            if spec.name == name:
                return spec
        if name == HISTORY_TOOL and not self.history:
            return ToolResult(
                f"{name} is not available: it is turned off for this memory workspace.", is_error=True
            )
        if name in SEARCH_TOOLS and not self.search:
            return ToolResult(
                f"{name} is not available: search is turned off for this memory workspace; "
                "use memory_view instead.",
                is_error=True,
            )
        if name in self._handlers:
            refused = ReadOnlyError(f"{name} is not available: this memory workspace is read-only.")
            return ToolResult(str(refused), is_error=True, error=refused)
        return ToolResult(
            f"There is no tool named {name!r}; the memory tools are: {', '.join(self.names)}.",
            is_error=True,
        )

    def _history(self, args: dict[str, Any], progress: Progress | None) -> str:
        ws = self.workspace
        path, action, version_id = args["path"], args.get("action", "list"), args.get("version")
        if action == "list":
            return render_versions(ws.path(path), ws.history(path))
        if version_id is None:
            previous = _previous(ws.history(path))
            if previous is None:
                raise ArgumentError(f"{ws.path(path)} has no earlier version; list its versions first.")
            version_id = previous.id
        if action == "view":
            text = ws.read_version(path, version_id)
            shown = TextFile(ws.path(path), text, version_id)
            return f"Version {version_id} of " + render_file(shown, None, ws.limits.max_view_chars)
        outcome = ws.restore(path, version_id)
        return render_restored(outcome.path, version_id, outcome.text, outcome.created)

    def _view(self, args: dict[str, Any], progress: Progress | None) -> str:
        ws = self.workspace
        shown = ws.view(args["path"])
        view_range, column = args.get("view_range"), args.get("column")
        if isinstance(shown, TextFile):
            return render_file(
                shown, view_range, ws.limits.max_view_chars, column=column, counts=self._line_counts
            )
        for name, value in (("view_range", view_range), ("column", column)):
            if value is not None:
                raise ArgumentError(f"{name} applies to files only; {shown.path} is a directory.")
        return render_listing(shown)

    def _create_update(self, args: dict[str, Any], progress: Progress | None) -> str:
        ws = self.workspace
        path, text, mode = args["path"], args["file_text"], args.get("mode", "create")
        if mode == "append":
            outcome = ws.append(path, text)
            if outcome.created:
                return f"Created {outcome.path} ({_count(line_count(text), 'line')}) to append to."
            lines = outcome.total_lines if outcome.total_lines >= 0 else line_count(outcome.text)
            return f"Appended to {outcome.path}; it now has {_count(lines, 'line')}."
        if mode == "overwrite":
            outcome = ws.overwrite(path, text)
            return f"Overwrote {outcome.path} ({_count(line_count(text), 'line')}, {_size(text)})."
        ws.create(path, text)
        return f"Created {ws.path(path)} ({_count(line_count(text), 'line')}, {_size(text)})."

    def _str_replace(self, args: dict[str, Any], progress: Progress | None) -> str:
        ws = self.workspace
        outcome = ws.str_replace(
            args["path"], args["old_str"], args["new_str"], replace_all=args.get("replace_all", False)
        )
        return render_edit(f"Edited {outcome.path}.", outcome, ws.limits.max_view_chars)

    def _insert(self, args: dict[str, Any], progress: Progress | None) -> str:
        ws = self.workspace
        line = args["insert_line"]
        outcome = ws.insert(args["path"], line, args["insert_text"])
        added = outcome.last_line - outcome.first_line + 1
        where = "at the top of" if line == 0 else f"after line {line} of"
        summary = f"Inserted {_count(added, 'line')} {where} {outcome.path}."
        return render_edit(summary, outcome, ws.limits.max_view_chars)

    def _delete(self, args: dict[str, Any], progress: Progress | None) -> str:
        moved = self.workspace.delete(args["path"], progress=progress)
        if moved.kind == "file":
            return f"Deleted {moved.path}."
        return f"Deleted directory {moved.path} and the {_count(moved.files, 'file')} in it."

    def _rename(self, args: dict[str, Any], progress: Progress | None) -> str:
        moved = self.workspace.rename(args["old_path"], args["new_path"], progress=progress)
        if moved.kind == "file":
            return f"Renamed {moved.path} to {moved.destination}."
        return f"Renamed directory {moved.path} to {moved.destination} ({_count(moved.files, 'file')})."

    def _clear_all(self, args: dict[str, Any], progress: Progress | None) -> str:
        count = self.workspace.clear(progress=progress)
        return f"Cleared the memory workspace: deleted {_count(count, 'file')}."

    def _search(self, args: dict[str, Any], progress: Progress | None) -> str:
        ws = self.workspace
        pattern, path, glob = args["pattern"], args.get("path", "/"), args.get("glob")
        regex, case_sensitive = args.get("regex", False), args.get("case_sensitive", False)
        scope = str(ws.path(path))
        if args.get("mode", "lines") == "ranked":
            from memspace.ranking import rank  # with the search modules, on first use

            if regex:
                raise ArgumentError(
                    "regex does not apply to mode 'ranked', which looks for words; "
                    "leave regex out, or search for lines."
                )
            ranked = rank(ws, pattern, path=path, glob=glob)
            return render_ranked(ranked, scope=scope, glob=glob, max_chars=ws.limits.max_view_chars)
        result = ws.search(pattern, path=path, glob=glob, regex=regex, case_sensitive=case_sensitive)
        return render_search(
            result,
            pattern=pattern,
            scope=scope,
            glob=glob,
            regex=regex,
            case_sensitive=case_sensitive,
            max_chars=ws.limits.max_view_chars,
        )

    def _find(self, args: dict[str, Any], progress: Progress | None) -> str:
        ws = self.workspace
        path = args.get("path", "/")
        entries = ws.find(args["glob"], path=path)
        return render_find(
            entries,
            glob=args["glob"],
            scope=str(ws.path(path)),
            max_entries=ws.limits.max_dir_entries,
            max_chars=ws.limits.max_view_chars,
        )


def _previous(versions: list[Version]) -> Version | None:
    """The newest content that is not the current one (a deleted file's last content)."""
    return next((v for v in versions if not v.deleted and not v.current), None)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _size(text: str) -> str:
    return _count(len(text.encode("utf-8")), "byte")
