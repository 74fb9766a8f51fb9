"""File commands: view, write, str-replace, insert, rm, mv, clear, tools, demo."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from memspace.cli._app import app, console, fail, open_tools, options
from memspace.errors import MemspaceError
from memspace.tools import ToolResult
from memspace.tools.render import human_size
from memspace.workspace import DirListing

if TYPE_CHECKING:
    from rich.tree import Tree

    from memspace.tools import MemoryTools


def _run(ctx: typer.Context, name: str, args: dict[str, Any]) -> None:
    with open_tools(ctx) as tools:
        _emit(tools.call(name, args))


def _emit(result: ToolResult) -> None:
    if result.is_error:
        fail(result.text)
    typer.echo(result.text)  # plain: tabs and all, as the model sees it


def _text_argument(text: str | None) -> str:
    if text is None or text == "-":
        return sys.stdin.read()
    return text


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
    args: dict[str, Any] = {"path": path}
    if column is not None:
        args["column"] = column
    if lines is not None:
        start, _, end = lines.partition(":")
        try:
            args["view_range"] = [int(start), int(end or -1)]
        except ValueError:
            fail(f"--lines must look like 10:20 or 10:-1, not {lines!r}.")
    with open_tools(ctx) as tools:
        try:
            shown = tools.workspace.view(path)
        except MemspaceError as error:
            fail(str(error))
        if isinstance(shown, DirListing) and lines is None and column is None:
            console().print(_tree(shown))
            return
        _emit(tools.call("memory_view", args))


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


# Every file the demo writes; a namespace holding only these (or nothing) is the demo's own.
_DEMO_FILES = frozenset({"/notes/plan.md", "/notes/log.md", "/project/plan.md", "/project/log.md"})


@app.command()
def demo(
    ctx: typer.Context,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Clear the namespace even if it holds files of its own.")
    ] = False,
) -> None:
    """Walk through the seven tools on a scratch namespace, printing each call and result.

    The demo starts by clearing its namespace ("demo" unless --namespace says otherwise); it
    refuses to when the namespace holds anything the demo did not write, unless --yes.
    """
    from rich.markup import escape

    namespace = options(ctx).config.get("memory_tool_namespace", "demo")
    steps: list[tuple[str, dict[str, Any]]] = [
        ("memory_clear_all", {}),
        (
            "memory_create_update",
            {"path": "/notes/plan.md", "file_text": "# Plan\n- read the brief\n- draft\n"},
        ),
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
    with open_tools(ctx, memory_tool_namespace=namespace) as memory_tools:
        if not yes:
            _refuse_to_clear_others(memory_tools, str(namespace))
        for name, args in steps:
            result = memory_tools.call(name, args)
            console().print(
                f"[bold cyan]> {name}[/bold cyan] {escape(json.dumps(args, ensure_ascii=False))}", markup=True
            )
            style = "red" if result.is_error else "green"
            console().print(f"[{style}]{'error' if result.is_error else 'ok'}[/{style}]", markup=True)
            console().print(result.text + "\n", markup=False)


def _refuse_to_clear_others(memory_tools: MemoryTools, namespace: str) -> None:
    try:
        listing = memory_tools.workspace.view("/")
        theirs = [e.path for e in memory_tools.workspace.walk("/") if str(e.path) not in _DEMO_FILES]
    except MemspaceError as error:
        fail(str(error))
    assert isinstance(listing, DirListing)
    count = len(theirs) + listing.foreign
    if count:
        fail(
            f"The namespace {namespace!r} holds {count} file{'s' if count != 1 else ''} the demo did not "
            "write, and the demo starts by clearing its namespace; run it in another namespace, or pass "
            "--yes to clear this one."
        )
