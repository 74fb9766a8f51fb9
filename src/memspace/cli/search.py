"""Search commands: ``memspace grep`` (file contents) and ``memspace find`` (names).

They follow grep and find rather than the model's tool: ``grep`` is
case-sensitive unless ``-i``, takes the pattern literally unless ``-E``, prints
every match (no cap) and exits 1 when nothing matched. On a terminal, matches
are grouped under their path with the match highlighted; piped, each line is
``path:line:text`` (context lines ``path-line-text``), ready for other tools.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from memspace.cli._app import app, console, fail, open_tools
from memspace.errors import MemspaceError
from memspace.paths import VirtualPath
from memspace.search import Match

if TYPE_CHECKING:
    from rich.text import Text

    from memspace.ranking import RankedResult
    from memspace.search import SearchResult
    from memspace.workspace import Entry


@app.command()
def grep(
    ctx: typer.Context,
    pattern: Annotated[str, typer.Argument(help="Text to find (a regular expression with -E).")],
    path: Annotated[str, typer.Argument(help="Folder or file to search.")] = "/",
    glob: Annotated[
        str | None,
        typer.Option(
            "--glob", "-g", help="Only files matching this glob: '*.md', 'notes/2024-*', '**/x.md'."
        ),
    ] = None,
    regex: Annotated[
        bool, typer.Option("--regex", "-E", help="PATTERN is a (Python) regular expression.")
    ] = False,
    ignore_case: Annotated[bool, typer.Option("--ignore-case", "-i", help="Ignore case.")] = False,
    context: Annotated[
        int, typer.Option("--context", "-C", min=0, help="Show NUM lines around each match.", metavar="NUM")
    ] = 0,
    max_count: Annotated[
        int | None, typer.Option("--max", "-m", min=1, help="Show at most NUM matches.", metavar="NUM")
    ] = None,
    ranked: Annotated[
        bool,
        typer.Option("--ranked", help="List the files that best match the words of PATTERN, best first."),
    ] = False,
) -> None:
    """Search file contents, like grep; exits 1 when nothing matches."""
    with open_tools(ctx) as tools:
        ws = tools.workspace
        try:
            if ranked:
                if regex:
                    fail("--ranked looks for words; it cannot be combined with -E.")
                from memspace.ranking import rank

                found = rank(ws, pattern, path=path, glob=glob, max_files=max_count or 10)
                _print_ranked(found)
                raise typer.Exit(0 if found.files else 1)
            result = ws.search(
                pattern,
                path=path,
                glob=glob,
                regex=regex,
                case_sensitive=not ignore_case,
                max_results=max_count,
                context=context,
            )
        except MemspaceError as error:
            fail(error)
    if sys.stdout.isatty():
        _print_terminal(result, context)
    else:
        _print_plain(result, context)
    raise typer.Exit(0 if result.total else 1)


@app.command()
def find(
    ctx: typer.Context,
    glob: Annotated[str, typer.Argument(help="Glob: '*.md' (names at any depth), 'notes/2024-*', '**/x'.")],
    path: Annotated[str, typer.Argument(help="Folder to look in.")] = "/",
) -> None:
    """List files and folders whose name or path matches a glob; exits 1 when none does."""
    with open_tools(ctx) as tools:
        try:
            entries = tools.workspace.find(glob, path=path)
        except MemspaceError as error:
            fail(error)
    _print_entries(entries)
    raise typer.Exit(0 if entries else 1)


# -- output --------------------------------------------------------------------------


def _print_plain(result: SearchResult, context: int) -> None:
    out: list[str] = []
    for path, runs in _files(result.matches):
        for run in runs:
            if out and context:
                out.append("--")  # grep's mark between groups of context
            for number, line, spans in run:
                mark = "-" if spans is None else ":"
                out.append(f"{path}{mark}{number}{mark}{line}")
    if out:
        typer.echo("\n".join(out))


def _print_terminal(result: SearchResult, context: int) -> None:
    from rich.text import Text

    shown = console()
    for index, (path, runs) in enumerate(_files(result.matches)):
        if index:
            shown.print()
        shown.print(Text(str(path), style="bold magenta"))
        for run_index, run in enumerate(runs):
            if run_index and context:
                shown.print(Text("--", style="dim"))
            for number, line, spans in run:
                if spans is None:
                    shown.print(Text.assemble(Text(f"{number}-", style="dim"), Text(line)))
                else:
                    shown.print(Text.assemble(Text(f"{number}:", style="green"), _highlighted(line, spans)))


Line = tuple[int, str, "tuple[tuple[int, int], ...] | None"]  # number, text, spans (None: context)


def _files(matches: list[Match]) -> list[tuple[VirtualPath, list[list[Line]]]]:
    """Matches grouped by file, each file's lines (matches and context) merged into runs of
    consecutive lines, as grep prints them: a line shown as context and as a match is shown once."""
    grouped: dict[VirtualPath, dict[int, Line]] = {}
    for match in matches:
        lines = grouped.setdefault(match.path, {})
        first = match.line - len(match.before)
        for offset, text in enumerate((*match.before, "", *match.after)):
            number = first + offset
            if number != match.line:
                lines.setdefault(number, (number, text.removesuffix("\r"), None))
        lines[match.line] = (match.line, match.text.removesuffix("\r"), match.spans)
    out: list[tuple[VirtualPath, list[list[Line]]]] = []
    for path, lines in grouped.items():
        runs: list[list[Line]] = []
        for number in sorted(lines):
            if runs and runs[-1][-1][0] == number - 1:
                runs[-1].append(lines[number])
            else:
                runs.append([lines[number]])
        out.append((path, runs))
    return out


def _print_ranked(result: RankedResult) -> None:
    if sys.stdout.isatty():
        from rich.text import Text

        for place, ranked in enumerate(result.files, 1):
            if place > 1:
                console().print()
            console().print(Text(f"{place}. {ranked.path}", style="bold magenta"))
            for match in ranked.lines:
                console().print(
                    Text.assemble(
                        Text(f"{match.line}:", style="green"), _highlighted(match.text, match.spans)
                    )
                )
        return
    typer.echo(
        "\n".join(
            f"{match.path}:{match.line}:{match.text}" for ranked in result.files for match in ranked.lines
        )
    )


def _print_entries(entries: list[Entry]) -> None:
    if not entries:
        return
    if not sys.stdout.isatty():
        typer.echo(
            "\n".join(f"{entry.path}/" if entry.kind == "dir" else str(entry.path) for entry in entries)
        )
        return
    from rich.text import Text

    for entry in entries:
        if entry.kind == "dir":
            console().print(Text(f"{entry.path}/", style="bold blue"))
        else:
            console().print(Text(str(entry.path)))


def _highlighted(line: str, spans: tuple[tuple[int, int], ...]) -> Text:
    from rich.text import Text

    text = Text(line)
    for start, end in spans:
        text.stylize("bold red", start, end)
    return text
