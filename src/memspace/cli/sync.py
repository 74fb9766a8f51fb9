"""``memspace sync SRC DST``: copy a workspace to another backend."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from memspace.cli._app import app, console, fail, options, with_actor
from memspace.cli.wording import cli_message
from memspace.errors import ConfigError, MemspaceError
from memspace.sync import Action, SyncReport, sync
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
    allow_empty_source: Annotated[
        bool,
        typer.Option(
            "--allow-empty-source",
            help="With --delete, go ahead even if the source has no files (empties the target).",
        ),
    ] = False,
    target_namespace: Annotated[
        str | None, typer.Option(help="Namespace at the target (default: the same as the source).")
    ] = None,
) -> None:
    """Copy a workspace to another backend (e.g. local -> s3); re-running changes nothing."""
    config = options(ctx).config
    try:
        src = _open_spec(source, config, must_exist=True)
        dst = _open_spec(
            target, config | ({"memory_tool_namespace": target_namespace} if target_namespace else {})
        )
    except MemspaceError as error:
        fail(error)
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskID,
        TextColumn,
        TimeElapsedColumn,
    )

    with src, dst:
        try:
            total = len(src.workspace.walk("/"))
        except MemspaceError as error:
            fail(f"cannot read the source: {cli_message(error)}")
        progress = Progress(
            TextColumn("[bold]sync[/bold]"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=console(stderr=True),
            transient=False,
        )
        tasks: list[TaskID] = []  # the bar starts with the first file: a refusal draws none

        def advance(path: str, action: Action) -> None:
            if not tasks:
                progress.start()
                tasks.append(progress.add_task("", total=total))
            if action != "deleted":
                progress.update(tasks[0], advance=1, description=f"{action} {path}")

        failure: MemspaceError | None = None
        try:
            report = sync(
                src.workspace,
                dst.workspace,
                delete=delete,
                allow_empty_source=allow_empty_source,
                on_file=advance,
            )
        except MemspaceError as error:
            failure = error
        finally:
            if tasks:
                progress.stop()
        if failure is not None:
            fail(failure)  # after the bar has stopped, so the error is the last line
    _summary(report)


def _summary(report: SyncReport) -> None:
    typer.echo(
        f"{report.copied} copied, {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.deleted} deleted, {len(report.skipped)} skipped, {len(report.failed)} failed."
    )
    for path in report.skipped:
        console(stderr=True).print(
            f"skipped {path}: its name or size is not allowed at the target", markup=False
        )
    for path, why in report.failed.items():
        console(stderr=True).print(f"failed {path}: {why}", markup=False)
    if report.failed:
        raise typer.Exit(1)


def _open_spec(spec: str, config: dict[str, object], *, must_exist: bool = False) -> MemoryTools:
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
    if must_exist and backend == "local":
        folder = Path(
            location
            or environ.get("MEMORY_TOOL_LOCAL_DIR")
            or str(config.get("memory_tool_local_dir", "memories"))
        )
        if not folder.is_dir():
            raise ConfigError(f"The source folder {str(folder)!r} does not exist; check the path.")
    if backend == "memory":
        raise ConfigError("The memory backend forgets everything when the command ends; sync it nowhere.")
    return MemoryTools.from_config(with_actor(settings, environ), environ=environ)
