"""History commands: history, diff, restore, deleted, gc.

memspace history /notes/a.md            # every version, newest first
memspace diff /notes/a.md               # the last change, as a unified diff
memspace restore /notes/a.md            # bring back the version before the current one
memspace restore /notes --at 2h         # the folder as it was two hours ago
memspace deleted                        # what was deleted and can come back
memspace gc                             # apply retention, sweep leftovers of interrupted work
"""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from memspace.cli._app import app, fail, open_tools
from memspace.errors import MemspaceError
from memspace.history import Version
from memspace.tools.render import human_size

_AGO = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])(?:\s*ago)?\Z", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@app.command()
def history(
    ctx: typer.Context, path: Annotated[str, typer.Argument(help="A file's workspace path.")]
) -> None:
    """Every version of a file, newest first: when, what and who (deleted files too)."""
    with open_tools(ctx) as tools:
        try:
            versions = tools.workspace.history(path)
        except MemspaceError as error:
            fail(error)
    for version in versions:
        typer.echo(_row(version, path))


def _row(version: Version, path: str) -> str:
    when = version.time.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    who = version.actor or "-"
    if version.deleted:
        what = f"renamed to {version.renamed_to}" if version.renamed_to else f"deleted ({version.operation})"
        return f"{version.id}  {when}  {what:<24}  {'':>7}  {who}"
    where = f"  (at {version.path})" if str(version.path) != path.rstrip("/") else ""
    mark = "  current" if version.current else ""
    return f"{version.id}  {when}  {version.operation:<24}  {human_size(version.size):>7}  {who}{where}{mark}"


@app.command()
def diff(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(help="A file's workspace path.")],
    old: Annotated[str | None, typer.Argument(help="Older version id (default: the one before NEW).")] = None,
    new: Annotated[
        str | None, typer.Argument(help="Newer version id, or 'current' (default: the newest).")
    ] = None,
) -> None:
    """Show what changed between two versions of a file, as a unified diff."""
    with open_tools(ctx) as tools:
        try:
            text = tools.workspace.diff(path, old, new)
        except MemspaceError as error:
            fail(error)
    if not text:
        typer.echo("The two versions are the same.")
        return
    if sys.stdout.isatty():
        from memspace.cli._app import console

        colours = {"+": "green", "-": "red", "@": "cyan"}
        for line in text.splitlines():
            style = "bold" if line.startswith(("+++", "---")) else colours.get(line[:1])
            console().print(line, style=style, markup=False, highlight=False)
    else:
        typer.echo(text, nl=not text.endswith("\n"))


@app.command()
def restore(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(help="A file's, or with --at a folder's, workspace path.")],
    version: Annotated[
        str | None, typer.Option("--version", help="The version id to bring back (see 'memspace history').")
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            help="Bring every file below PATH back to how it was then: a time (2026-11-24T09:30, "
            "local time unless it has a zone) or an age (30m, 2h, 1d).",
        ),
    ] = None,
) -> None:
    """Bring back an earlier version of a file, a deleted file, or a whole folder as it was at a time."""
    if version is not None and at is not None:
        fail("Choose one of --version and --at.")
    with open_tools(ctx) as tools:
        ws = tools.workspace
        try:
            if at is not None:
                report = ws.restore_tree(path, at=_moment(at))
                typer.echo(
                    f"Restored {len(report.restored)} file{'s' if len(report.restored) != 1 else ''}; "
                    f"{len(report.unchanged)} already as they were."
                )
                for restored in report.restored:
                    typer.echo(f"  {restored}")
                return
            outcome = ws.restore(path, version)
        except MemspaceError as error:
            fail(error)
    verb = "Recreated" if outcome.created else "Restored"
    typer.echo(
        f"{verb} {outcome.path} ({len(outcome.text.encode()):,} bytes); what it replaced stays in its history."
    )


@app.command()
def deleted(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(help="Folder to look in (default: the whole workspace).")] = "/",
) -> None:
    """List deleted files that can be brought back with 'memspace restore PATH'."""
    with open_tools(ctx) as tools:
        try:
            found = tools.workspace.deleted(path)
        except MemspaceError as error:
            fail(error)
    if not found:
        typer.echo("Nothing deleted here can be restored.")
        return
    for item in found:
        when = (
            item.deleted_at.astimezone().strftime("%Y-%m-%d %H:%M:%S") if item.deleted_at else "unknown time"
        )
        by = f" by {item.deleted_by}" if item.deleted_by else ""
        how = f" ({item.operation})" if item.operation else ""
        typer.echo(f"{item.path}  deleted {when}{by}{how}  last version {item.last_version.id}")


@app.command()
def gc(ctx: typer.Context) -> None:
    """Apply history retention and remove what interrupted operations left behind."""
    with open_tools(ctx) as tools:
        try:
            report = tools.workspace.collect_garbage()
        except MemspaceError as error:
            fail(error)
    parts = [f"{count:,} {kind}" for kind, count in report.items() if kind != "history bytes" and count]
    freed = report.get("history bytes", 0)
    typer.echo(
        "Removed "
        + (", ".join(parts) if parts else "nothing")
        + (f"; freed {human_size(freed)}." if freed else ".")
    )


def _moment(text: str) -> datetime:
    """An ISO 8601 time (naive: local time) or an age such as 30m, 2h, 1d."""
    ago = _AGO.match(text.strip())
    if ago:
        return datetime.now(UTC) - timedelta(**{_UNITS[ago.group(2).lower()]: float(ago.group(1))})
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        fail(f"--at must be a time such as 2026-11-24T09:30 or an age such as 2h, not {text!r}.")
    return moment if moment.tzinfo else moment.astimezone()
