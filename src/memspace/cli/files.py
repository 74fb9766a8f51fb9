"""File commands: view, write, str-replace, insert, rm, mv, clear, tools, demo."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from memspace.cli._app import app, console, fail, open_tools, options
from memspace.errors import MemspaceError
from memspace.tools import MemoryTools, ToolResult
from memspace.tools.render import human_size, render_file
from memspace.workspace import DirListing

if TYPE_CHECKING:
    from rich.tree import Tree

    from memspace.tools import MemoryTools


def _run(ctx: typer.Context, name: str, args: dict[str, Any]) -> None:
    with open_tools(ctx) as tools:
        _emit(tools.call(name, args), ctx.command.name or "")


def _emit(result: ToolResult, command: str) -> None:
    if result.is_error:
        fail(result.error if result.error is not None else result.text, command=command)
    typer.echo(result.text)  # plain: tabs and all


def _text_argument(text: str | None) -> str:
    """TEXT as given, or stdin when it is left out or '-'; either must be UTF-8 text."""
    if text is not None and text != "-":
        if not _is_text(text):  # argv bytes that are not UTF-8 arrive as lone surrogates
            fail("TEXT is not UTF-8 text; memspace files hold text only.")
        return text
    if sys.stdin.isatty():
        # Otherwise a forgotten argument looks like a hang.
        sys.stderr.write("Reading the text from stdin; end it with Ctrl-D (or pass TEXT).\n")
        sys.stderr.flush()
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        fail("This is not UTF-8 text (read from stdin); memspace files hold text only.")


def _is_text(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@app.command()
def view(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(help="Workspace path; a folder is shown as a tree.")] = "/",
    lines: Annotated[
        str | None, typer.Option("--lines", "-n", help="Line range START:END of a file (END may be -1).")
    ] = None,
    column: Annotated[
        int | None,
        typer.Option(help="Show the first line from this character (1-based): read on in a very long line."),
    ] = None,
) -> None:
    """Show a folder as a tree, or a file with line numbers."""
    view_range: list[int] | None = None
    if lines is not None:
        start, _, end = lines.partition(":")
        try:
            view_range = [int(start), int(end or -1)]
        except ValueError:
            fail(f"--lines must look like 10:20 or 10:-1, not {lines!r}.")
    with open_tools(ctx) as tools:
        try:
            shown = tools.workspace.view(path)
            if isinstance(shown, DirListing):
                if view_range is not None or column is not None:
                    fail(f"--lines and --column apply to files only; {shown.path} is a folder.")
                console().print(_tree(shown))
                return
            # The whole file (or range): a terminal pages with less, unlike a model's context.
            typer.echo(render_file(shown, view_range, max_chars=sys.maxsize, column=column))
        except MemspaceError as error:
            fail(error, command="view")


def _tree(listing: DirListing) -> Tree:
    from rich.markup import escape
    from rich.tree import Tree

    tree = Tree(f"[bold]{escape(str(listing.path))}[/bold]")
    nodes: dict[tuple[str, ...], Tree] = {listing.path.parts: tree}
    for entry in listing.entries:
        parent = nodes.get(entry.path.parts[:-1], tree)
        if entry.kind == "dir":
            nodes[entry.path.parts] = parent.add(f"[bold blue]{escape(entry.path.name)}/[/bold blue]")
        else:
            parent.add(f"{escape(entry.path.name)} [dim]{human_size(entry.size or 0)}[/dim]")
    if listing.omitted:
        tree.add(f"[dim]... {listing.omitted:,} more entries not shown[/dim]")
    if listing.foreign:
        count = f"{listing.foreign:,} {'entry' if listing.foreign == 1 else 'entries'}"
        tree.add(f"[dim]... {count} not shown: links, pipes, devices or names that are not valid paths[/dim]")
    if not listing.entries and not listing.foreign:
        tree.add("[dim](empty)[/dim]")
    return tree


@app.command()
def write(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(help="Workspace path of the file.")],
    text: Annotated[
        str | None, typer.Argument(help="Text to write; read from stdin if omitted or '-'.")
    ] = None,
    append: Annotated[bool, typer.Option("--append", "-a", help="Add to the end of the file.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", "-f", help="Replace an existing file.")] = False,
) -> None:
    """Create a file (fails if it exists), or --append / --overwrite."""
    if append and overwrite:
        fail("Choose one of --append and --overwrite.")
    mode = "append" if append else "overwrite" if overwrite else "create"
    _run(ctx, "memory_create_update", {"path": path, "file_text": _text_argument(text), "mode": mode})


@app.command("str-replace")
def str_replace(
    ctx: typer.Context,
    path: str,
    old: Annotated[str, typer.Argument(help="Exact text to replace.")],
    new: Annotated[str, typer.Argument(help="Replacement text.")],
    replace_all: Annotated[bool, typer.Option("--all", help="Replace every occurrence.")] = False,
) -> None:
    """Replace text that occurs exactly once (or every occurrence with --all)."""
    _run(
        ctx,
        "memory_str_replace",
        {"path": path, "old_str": old, "new_str": new, "replace_all": replace_all},
    )


@app.command()
def insert(
    ctx: typer.Context,
    path: str,
    line: Annotated[int, typer.Argument(help="Insert after this line; 0 = top of the file.")],
    text: Annotated[str | None, typer.Argument(help="Text to insert; stdin if omitted or '-'.")] = None,
) -> None:
    """Insert text after a line."""
    _run(ctx, "memory_insert", {"path": path, "insert_line": line, "insert_text": _text_argument(text)})


@app.command()
def rm(ctx: typer.Context, path: str) -> None:
    """Delete a file, or a folder with everything in it."""
    _run(ctx, "memory_delete", {"path": path})


@app.command()
def mv(ctx: typer.Context, old: str, new: str) -> None:
    """Rename a file or a folder (never overwrites)."""
    _run(ctx, "memory_rename", {"old_path": old, "new_path": new})


@app.command()
def clear(
    ctx: typer.Context,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete every file in the workspace."""
    if not yes:
        if not sys.stdin.isatty():
            fail("clear deletes every file; pass --yes to confirm when not at a terminal.")
        typer.confirm("Delete every file in this memory workspace?", abort=True)
    _run(ctx, "memory_clear_all", {})


@app.command()
def tools(
    ctx: typer.Context,
    style: Annotated[str, typer.Option(help="openai, anthropic, mcp or json.")] = "json",
) -> None:
    """Print the tool definitions a model is given."""
    with open_tools(ctx) as memory_tools:
        try:
            definitions = memory_tools.definitions(style)  # type: ignore[arg-type]
        except ValueError as error:
            fail(str(error))
    typer.echo(json.dumps(definitions, indent=2))


# The walk-through: every tool, one mistake of each kind a model makes, and a path escape.
_DEMO_STEPS: list[tuple[str, dict[str, Any]]] = [
    ("memory_clear_all", {}),
    ("memory_create_update", {"path": "/notes/plan.md", "file_text": "# Plan\n- read the brief\n- draft\n"}),
    ("memory_create_update", {"path": "/notes/plan.md", "file_text": "again"}),
    ("memory_create_update", {"path": "/notes/plan.md", "file_text": "- review", "mode": "append"}),
    ("memory_str_replace", {"path": "/notes/plan.md", "old_str": "- draft", "new_str": "- draft (done)"}),
    ("memory_insert", {"path": "/notes/plan.md", "insert_line": 1, "insert_text": "Owner: agent-7"}),
    ("memory_view", {"path": "/notes/plan.md"}),
    ("memory_create_update", {"path": "/notes/log.md", "file_text": "started\n"}),
    ("memory_rename", {"old_path": "/notes", "new_path": "/project"}),
    ("memory_view", {"path": "/"}),
    ("memory_view", {"path": "/../etc/passwd"}),
    ("memory_delete", {"path": "/project/log.md"}),
    ("memory_view", {"path": "/"}),
]


@app.command()
def demo(
    ctx: typer.Context,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Clear the namespace even if it holds files of yours.")
    ] = False,
) -> None:
    """Walk through the seven tools on a scratch namespace ('demo'), printing each call and result.

    The demo starts by clearing its namespace; a namespace holding anything but what an
    earlier demo left is refused unless --yes is given.
    """
    from rich.markup import escape

    namespace = str(options(ctx).config.get("memory_tool_namespace", "demo"))
    with open_tools(ctx, memory_tool_namespace=namespace) as memory_tools:
        if not yes:
            try:
                held = _files(memory_tools)
                listing = memory_tools.workspace.view("/")
            except MemspaceError as error:
                fail(error)
            written = _demo_writes()
            count = sum((path, data) not in written for path, data in held.items())
            count += listing.foreign if isinstance(listing, DirListing) else 0  # links, pipes, ...
            if count:
                fail(
                    f"The namespace {namespace!r} holds {count} file{'s' if count != 1 else ''} "
                    "the demo did not write, and the demo clears it first; pass --yes to clear it anyway, "
                    "or choose another --namespace."
                )
        for name, args in _DEMO_STEPS:
            result = memory_tools.call(name, args)
            console().print(
                f"[bold cyan]> {name}[/bold cyan] {escape(json.dumps(args, ensure_ascii=False))}", markup=True
            )
            style = "red" if result.is_error else "green"
            console().print(f"[{style}]{'error' if result.is_error else 'ok'}[/{style}]", markup=True)
            console().print(result.text + "\n", markup=False)


def _files(tools: MemoryTools) -> dict[str, bytes]:
    workspace = tools.workspace
    return {str(entry.path): workspace.read_bytes(str(entry.path)) for entry in workspace.walk("/")}


def _demo_writes() -> set[tuple[str, bytes]]:
    """Every (path, content) the demo ever leaves, from a run in memory: a namespace holding only
    those is the demo's own, even if an earlier demo was interrupted half way."""
    scratch = MemoryTools.from_config({"memory_tool_backend": "memory"}, environ={})
    written: set[tuple[str, bytes]] = set()
    for name, args in _DEMO_STEPS:
        scratch.call(name, args)
        written.update(_files(scratch).items())
    return written
