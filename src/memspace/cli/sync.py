"""``memspace sync SRC DST``: copy a workspace to another backend."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from memspace.cli._app import app, console, fail, options
from memspace.errors import ConfigError, MemspaceError
from memspace.sync import sync
from memspace.tools import MemoryTools


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
    config = options(ctx).config
    try:
        src = _open_spec(source, config)
        dst = _open_spec(
            target, config | ({"memory_tool_namespace": target_namespace} if target_namespace else {})
        )
    except MemspaceError as error:
        fail(str(error))
    with src, dst:
        total = len(src.workspace.walk("/"))
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(
            TextColumn("[bold]sync[/bold]"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=console(stderr=True),
            transient=False,
        ) as progress:
            task = progress.add_task("", total=total)

            def advance(path: str, action: str) -> None:
                if action != "deleted":
                    progress.update(task, advance=1, description=f"{action} {path}")

            try:
                report = sync(src.workspace, dst.workspace, delete=delete, on_file=advance)
            except MemspaceError as error:
                fail(str(error))
    typer.echo(
        f"{report.copied} copied, {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.deleted} deleted, {len(report.skipped)} skipped, {len(report.conflicts)} conflicts."
    )
    for path in report.skipped:
        console(stderr=True).print(
            f"skipped {path}: its name or size is not allowed at the target", markup=False
        )
    for path in report.conflicts:
        console(stderr=True).print(
            f"conflict {path}: changed at the target during the sync; run sync again", markup=False
        )
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
