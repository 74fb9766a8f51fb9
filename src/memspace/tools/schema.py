"""The tools as a model sees them (the seven, and search): names, descriptions, JSON schemas.

:func:`definitions` renders them in the shape each API expects; the
descriptions are written once, here.

One schema serves every style and every strict converter. An optional argument is
declared nullable (``anyOf: [<value>, {"type": "null"}]``, the shape Pydantic gives an
``Optional`` field) and ``null`` means "not given", so when a strict client (OpenAI strict
mode, the OpenAI Agents SDK, LangChain's ``strict=True``) lists every property as required,
the model can still leave an optional argument out by sending ``null``. The schemas use only
the subset of JSON Schema that OpenAI strict mode, Anthropic and MCP clients all accept:
no length or numeric bounds, no formats; the argument checker enforces those rules with an
error the model can act on.

>>> spec = TOOLS[0]
>>> spec.input_schema()["required"], spec.input_schema(strict=True)["required"]
(['path'], ['path', 'view_range', 'column'])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

__all__ = ["STYLES", "TOOLS", "DefinitionStyle", "Param", "ToolSpec", "definitions"]

DefinitionStyle = Literal["openai", "responses", "anthropic", "mcp", "json"]
STYLES: tuple[str, ...] = get_args(DefinitionStyle)
ParamType = Literal["string", "integer", "boolean", "line_range"]

# The JSON Schema of a value of each type. "integer" is JSON Schema's: any number with a
# zero fractional part, so 3.0 is an integer and the argument checker accepts it as 3.
_VALUE_SCHEMAS: dict[ParamType, dict[str, Any]] = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "boolean": {"type": "boolean"},
    # Two integers [start, end]. The length is stated in the description and checked by the
    # argument checker rather than declared with minItems/maxItems, which not every strict
    # schema dialect accepts.
    "line_range": {"type": "array", "items": {"type": "integer"}},
}


@dataclass(frozen=True)
class Param:
    """One argument of a tool: the schema and the argument checker both derive from it.

    An optional argument (``required=False``) is nullable: ``null`` means "not given".
    """

    name: str
    type: ParamType
    description: str
    required: bool = True
    enum: tuple[str, ...] = ()

    @property
    def nullable(self) -> bool:
        """Whether ``null`` is accepted, meaning "not given" (every optional argument)."""
        return not self.required

    def value_schema(self) -> dict[str, Any]:
        """The schema of a non-null value."""
        schema = dict(_VALUE_SCHEMAS[self.type])
        if self.enum:
            schema["enum"] = list(self.enum)
        return schema

    def schema(self) -> dict[str, Any]:
        """The property's schema: the value's, or that or null for an optional argument."""
        if self.nullable:
            return {"anyOf": [self.value_schema(), {"type": "null"}], "description": self.description}
        return {**self.value_schema(), "description": self.description}


@dataclass(frozen=True)
class ToolSpec:
    """A tool as a model sees it, and the hints a client may show or act on.

    ``writes``: the tool can change the workspace (it is left out in read-only mode).
    ``destructive``: it can remove or replace content that existed before (not only add).
    ``idempotent``: calling it again with the same arguments changes nothing more.
    Every tool works on the workspace only, never on the outside world.
    """

    name: str
    title: str
    description: str
    params: tuple[Param, ...]
    writes: bool
    destructive: bool = False
    idempotent: bool = False

    def mcp_annotations(self) -> dict[str, Any]:
        """The MCP tool annotations: hints true to what the tool does."""
        return {
            "title": self.title,
            "readOnlyHint": not self.writes,
            "destructiveHint": self.destructive,
            "idempotentHint": self.idempotent,
            "openWorldHint": False,
        }

    def input_schema(self, *, strict: bool = False) -> dict[str, Any]:
        """The arguments' JSON schema. ``strict``: every property listed as required, as
        OpenAI strict mode demands (optional ones are nullable, so the model sends null)."""
        return {
            "type": "object",
            "properties": {param.name: param.schema() for param in self.params},
            "required": [param.name for param in self.params if strict or param.required],
            "additionalProperties": False,
        }


_PATH = "Absolute path inside the memory workspace, e.g. /notes/topic.md; '/' is the root."

TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        "memory_view",
        "View memory",
        "Show a directory of the memory workspace (files and folders up to 2 levels deep, "
        "with sizes) or a file's content with line numbers. Long files are shown in pages; "
        "use view_range to read a given range of lines. Start here before multi-step work.",
        (
            Param("path", "string", _PATH),
            Param(
                "view_range",
                "line_range",
                "Optional [start, end] line numbers to show for a file (1-based, inclusive; "
                "end -1 means the last line).",
                required=False,
            ),
            Param(
                "column",
                "integer",
                "Optional: show the first line of view_range from this character (1-based), to read on "
                "in a line too long for one view; the view says which column to ask for.",
                required=False,
            ),
        ),
        writes=False,
        idempotent=True,
    ),
    ToolSpec(
        "memory_create_update",
        "Write a memory file",
        "Write a text file in the memory workspace. mode 'create' (default) makes a new file "
        "and fails if it exists; 'append' adds file_text at the end on a new line (creating "
        "the file if needed); 'overwrite' replaces the whole content of an existing file.",
        (
            Param("path", "string", _PATH),
            Param("file_text", "string", "The text to write."),
            Param(
                "mode",
                "string",
                "create (default), append or overwrite.",
                required=False,
                enum=("create", "append", "overwrite"),
            ),
        ),
        writes=True,
        destructive=True,
    ),
    ToolSpec(
        "memory_str_replace",
        "Replace text in a memory file",
        "Replace text in a file. old_str must match the file exactly (including whitespace) "
        "and occur exactly once, unless replace_all is true. Shows the edited lines.",
        (
            Param("path", "string", _PATH),
            Param("old_str", "string", "The exact text to replace."),
            Param("new_str", "string", "The replacement text (may be empty to delete old_str)."),
            Param(
                "replace_all",
                "boolean",
                "Replace every occurrence instead of requiring exactly one (default false).",
                required=False,
            ),
        ),
        writes=True,
        destructive=True,
    ),
    ToolSpec(
        "memory_insert",
        "Insert lines into a memory file",
        "Insert text as new lines after line insert_line of a file (0 inserts at the top). "
        "Shows the edited lines.",
        (
            Param("path", "string", _PATH),
            Param("insert_line", "integer", "Insert after this line number; 0 = top of the file."),
            Param("insert_text", "string", "The text to insert."),
        ),
        writes=True,
    ),
    ToolSpec(
        "memory_delete",
        "Delete from memory",
        "Delete a file, or a directory and everything in it.",
        (Param("path", "string", _PATH),),
        writes=True,
        destructive=True,
        idempotent=True,
    ),
    ToolSpec(
        "memory_rename",
        "Rename in memory",
        "Rename or move a file or a directory. Fails if the destination already exists.",
        (
            Param("old_path", "string", "Current path of the file or directory."),
            Param("new_path", "string", "New path; must not exist yet."),
        ),
        writes=True,
        destructive=True,
        idempotent=True,
    ),
    ToolSpec(
        "memory_clear_all",
        "Clear all memory",
        "Delete every file in the memory workspace. Cannot be undone.",
        (),
        writes=True,
        destructive=True,
        idempotent=True,
    ),
    ToolSpec(
        "memory_search",
        "Search memory",
        "Find the lines that contain a text in the memory workspace's files (like grep), shown as "
        "path:line: text in path order. The text is matched as written, ignoring case, unless regex "
        "or case_sensitive is true. Narrow it with path (a folder or a file) and glob. mode 'ranked' "
        "lists instead the files that best match a few words, best first.",
        (
            Param(
                "pattern",
                "string",
                "The text to find; a Python regular expression if regex is true; a few words in mode 'ranked'.",
            ),
            Param("path", "string", "Folder or file to search (default '/', everything).", required=False),
            Param(
                "glob",
                "string",
                "Only files matching this glob: '*.md' (names, at any depth), 'notes/2024-*' or "
                "'**/draft-*.md' (paths below path).",
                required=False,
            ),
            Param(
                "regex", "boolean", "Treat pattern as a regular expression (default false).", required=False
            ),
            Param(
                "case_sensitive",
                "boolean",
                "Match upper and lower case exactly (default false).",
                required=False,
            ),
            Param(
                "mode",
                "string",
                "lines (default): every matching line; ranked: the files that best match the words of pattern.",
                required=False,
                enum=("lines", "ranked"),
            ),
        ),
        writes=False,
        idempotent=True,
    ),
    ToolSpec(
        "memory_find",
        "Find memory files by name",
        "Find files and folders whose name or path matches a glob, e.g. '*.md' (names at any depth), "
        "'notes/2024-*' or '**/draft-*' (paths below path). Folders are shown with a trailing '/'.",
        (
            Param("glob", "string", "The glob: * any characters in a name, ** any folders, ? one character."),
            Param("path", "string", "Folder to look in (default '/', everything).", required=False),
        ),
        writes=False,
        idempotent=True,
    ),
    ToolSpec(
        "memory_history",
        "Memory file history",
        "See the earlier versions of a file (a deleted one too) and bring one back. action 'list' "
        "(default) lists them, newest first: when, how and by whom each was made; 'view' shows one "
        "version's text; 'restore' makes a version the file's content again, as a new version, so "
        "nothing is lost.",
        (
            Param("path", "string", _PATH),
            Param(
                "action",
                "string",
                "list (default), view or restore.",
                required=False,
                enum=("list", "view", "restore"),
            ),
            Param(
                "version",
                "string",
                "The version id (from list) to view or restore. Without it, view shows the version "
                "before the current one and restore brings it back (or a deleted file's last content).",
                required=False,
            ),
        ),
        # restore replaces a file's content (the replaced version stays in the history, as it
        # does after any write); restore without a version, run again, goes back the other way.
        writes=True,
        destructive=True,
    ),
)


def definitions(
    specs: tuple[ToolSpec, ...], style: DefinitionStyle, *, strict: bool | None = None
) -> list[dict[str, Any]]:
    """Tool definitions in the shape a given API expects.

    - ``openai``: Chat Completions tools, ``{"type": "function", "function": {...}}``;
    - ``responses``: OpenAI Responses API tools, ``{"type": "function", "name": ..., ...}``;
    - ``anthropic``: ``{"name", "description", "input_schema"}``;
    - ``mcp``: MCP ``Tool`` objects, with ``title`` and ``annotations``;
    - ``json``: ``{"name", "description", "parameters"}`` for any other loop.

    ``strict`` applies to the two OpenAI styles and is on by default there: the function
    carries ``"strict": true`` and every property is required (optional ones nullable).
    ``strict=False`` gives the plain schema without the flag, for OpenAI-compatible
    servers that refuse it.

    >>> openai = definitions(TOOLS, "openai")[0]["function"]
    >>> openai["strict"], openai["parameters"]["required"]
    (True, ['path', 'view_range', 'column'])
    >>> definitions(TOOLS, "responses")[0]["name"]
    'memory_view'
    """
    if style not in STYLES:
        raise ValueError(f"Unknown definition style {style!r}; use {', '.join(STYLES[:-1])} or {STYLES[-1]}.")
    if strict is not None and style not in ("openai", "responses"):
        raise ValueError(f"strict applies to the openai and responses styles, not {style!r}.")
    strict = strict is not False
    rendered: list[dict[str, Any]] = []
    for spec in specs:
        if style == "openai":
            function: dict[str, Any] = {
                "name": spec.name,
                "description": spec.description,
                "parameters": spec.input_schema(strict=strict),
            }
            if strict:
                function["strict"] = True
            rendered.append({"type": "function", "function": function})
        elif style == "responses":
            # The Responses API treats a function without "strict" as strict, so the flag is
            # always written out.
            rendered.append(
                {
                    "type": "function",
                    "name": spec.name,
                    "description": spec.description,
                    "parameters": spec.input_schema(strict=strict),
                    "strict": strict,
                }
            )
        elif style == "anthropic":
            rendered.append(
                {"name": spec.name, "description": spec.description, "input_schema": spec.input_schema()}
            )
        elif style == "mcp":
            rendered.append(
                {
                    "name": spec.name,
                    "title": spec.title,
                    "description": spec.description,
                    "inputSchema": spec.input_schema(),
                    "annotations": spec.mcp_annotations(),
                }
            )
        else:
            rendered.append(
                {"name": spec.name, "description": spec.description, "parameters": spec.input_schema()}
            )
    return rendered
