"""The ``memspace`` command: the seven tools from a shell, on any backend.

    memspace view /                      # a tree of the workspace
    echo "hello" | memspace write /notes/a.md
    memspace --backend s3 view /notes/a.md

The backend and its settings come from the same environment variables as the
library (``MEMORY_TOOL_BACKEND``, ``AWS_S3_BUCKET``, ...) or the options below.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.tree import Tree

from memspace.config import BACKEND_NAMES
from memspace.errors import ConfigError, MemspaceError
from memspace.sync import sync
from memspace.tools import MemoryTools, ToolResult
from memspace.tools.render import human_size
from memspace.workspace import DirListing

__all__ = ["app", "main"]

app = typer.Typer(
    name="memspace",
    help="A persistent file workspace for AI agents: view and edit it from the shell.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


@dataclass
class Options:
    config: dict[str, object]


@app.callback()
def _options(
    ctx: typer.Context,
    backend: Annotated[
        str | None,
        typer.Option(
            help=f"Storage backend: {', '.join(BACKEND_NAMES)} [env: MEMORY_TOOL_BACKEND].",
            show_default=False,
        ),
    ] = None,
    local_dir: Annotated[
        Path | None,
        typer.Option(help="Folder of the local backend [env: MEMORY_TOOL_LOCAL_DIR].", show_default=False),
    ] = None,
    namespace: Annotated[
        str | None, typer.Option(help="Workspace namespace [env: MEMORY_TOOL_NAMESPACE].", show_default=False)
    ] = None,
    prefix: Annotated[
        str | None,
        typer.Option(help="Key prefix in the bucket [env: MEMORY_TOOL_PREFIX].", show_default=False),
    ] = None,
) -> None:
    config: dict[str, object] = {}
    for key, value in (
        ("memory_tool_backend", backend),
        ("memory_tool_local_dir", str(local_dir) if local_dir else None),
        ("memory_tool_namespace", namespace),
        ("memory_tool_prefix", prefix),
    ):
        if value is not None:
            config[key] = value
    ctx.obj = Options(config)


def _tools(ctx: typer.Context) -> MemoryTools:
    options: Options = ctx.obj
    try:
        return MemoryTools.from_config(options.config)
    except MemspaceError as error:
        _fail(str(error))


def _fail(message: str) -> NoReturn:
    err.print(f"[red]error:[/red] {escape(message)}", markup=True, highlight=False)
    raise typer.Exit(1)


def _run(ctx: typer.Context, name: str, args: dict[str, Any]) -> None:
    with _tools(ctx) as tools:
        _emit(tools.call(name, args))


def _emit(result: ToolResult) -> None:
    if result.is_error:
        _fail(result.text)
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
) -> None:
    """Show a folder as a tree, or a file with line numbers."""
    args: dict[str, Any] = {"path": path}
    if lines is not None:
        start, _, end = lines.partition(":")
        try:
            args["view_range"] = [int(start), int(end or -1)]
        except ValueError:
            _fail(f"--lines must look like 10:20 or 10:-1, not {lines!r}.")
    with _tools(ctx) as tools:
        try:
            shown = tools.workspace.view(path)
        except MemspaceError as error:
            _fail(str(error))
        if isinstance(shown, DirListing) and lines is None:
            out.print(_tree(shown))
            return
        _emit(tools.call("memory_view", args))


def _tree(listing: DirListing) -> Tree:
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
    if not listing.entries:
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
        _fail("Choose one of --append and --overwrite.")
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
            _fail("clear deletes every file; pass --yes to confirm when not at a terminal.")
        typer.confirm("Delete every file in this memory workspace?", abort=True)
    _run(ctx, "memory_clear_all", {})


@app.command()
def tools(
    ctx: typer.Context,
    style: Annotated[str, typer.Option(help="openai, anthropic, mcp or json.")] = "json",
) -> None:
    """Print the tool definitions a model is given."""
    with _tools(ctx) as memory_tools:
        try:
            definitions = memory_tools.definitions(style)  # type: ignore[arg-type]
        except ValueError as error:
            _fail(str(error))
    typer.echo(json.dumps(definitions, indent=2))


@app.command("sync")
def sync_command(
    ctx: typer.Context,
    source: Annotated[
        str, typer.Argument(help="BACKEND[:LOCATION], e.g. local:./memories, s3, r2:my-bucket.")
    ],
    target: Annotated[str, typer.Argument(help="BACKEND[:LOCATION] to copy into.")],
    delete: Annotated[
        bool, typer.Option("--delete", help="Also delete target files not in the source.")
    ] = False,
    target_namespace: Annotated[
        str | None, typer.Option(help="Namespace at the target (default: the same as the source).")
    ] = None,
) -> None:
    """Copy a workspace to another backend (e.g. local -> s3); re-running changes nothing."""
    options: Options = ctx.obj
    try:
        src = _open_spec(source, options.config)
        dst = _open_spec(
            target, options.config | ({"memory_tool_namespace": target_namespace} if target_namespace else {})
        )
    except MemspaceError as error:
        _fail(str(error))
    with src, dst:
        total = len(src.workspace.walk("/"))
        with Progress(
            TextColumn("[bold]sync[/bold]"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=err,
            transient=False,
        ) as progress:
            task = progress.add_task("", total=total)

            def advance(path: str, action: str) -> None:
                if action != "deleted":
                    progress.update(task, advance=1, description=f"{action} {path}")

            try:
                report = sync(src.workspace, dst.workspace, delete=delete, on_file=advance)
            except MemspaceError as error:
                _fail(str(error))
    typer.echo(
        f"{report.copied} copied, {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.deleted} deleted, {len(report.skipped)} skipped, {len(report.conflicts)} conflicts."
    )
    for path in report.skipped:
        err.print(f"skipped {path}: its name or size is not allowed at the target", markup=False)
    for path in report.conflicts:
        err.print(f"conflict {path}: changed at the target during the sync; run sync again", markup=False)
    if report.conflicts:
        raise typer.Exit(1)


def _open_spec(spec: str, config: dict[str, object]) -> MemoryTools:
    """MemoryTools for ``BACKEND[:LOCATION]``: a folder for local, a bucket for s3/r2."""
    backend, _, location = spec.partition(":")
    settings = {k: v for k, v in config.items() if k not in ("memory_tool_backend", "memory_tool_local_dir")}
    settings["memory_tool_backend"] = backend
    environ = dict(os.environ)
    if location:
        if backend == "local":
            settings["memory_tool_local_dir"] = location
        elif backend in ("s3", "r2"):
            environ["AWS_S3_BUCKET" if backend == "s3" else "R2_BUCKET_NAME"] = location
        else:
            raise ConfigError(f"{backend!r} takes no location; use local:DIR, s3[:BUCKET] or r2[:BUCKET].")
    return MemoryTools.from_config(settings, environ=environ)


@app.command()
def mcp(ctx: typer.Context) -> None:
    """Serve the memory tools to an MCP client over stdin/stdout (Claude Desktop, Claude Code, ...)."""
    options: Options = ctx.obj
    try:
        from memspace.integrations.mcp import serve_stdio

        serve_stdio(options.config)  # stdout carries the protocol only
    except MemspaceError as error:  # a missing extra or bad settings, before the protocol starts
        _fail(str(error))


@app.command()
def demo(ctx: typer.Context) -> None:
    """Walk through the seven tools on a scratch namespace, printing each call and result."""
    options: Options = ctx.obj
    options.config.setdefault("memory_tool_namespace", "demo")
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
    with _tools(ctx) as memory_tools:
        for name, args in steps:
            result = memory_tools.call(name, args)
            out.print(
                f"[bold cyan]> {name}[/bold cyan] {escape(json.dumps(args, ensure_ascii=False))}", markup=True
            )
            style = "red" if result.is_error else "green"
            out.print(f"[{style}]{'error' if result.is_error else 'ok'}[/{style}]", markup=True)
            out.print(result.text + "\n", markup=False)


def main() -> None:
    app()
