"""The ``memspace`` application object, its global options, and how every command fails.

Every command reports an expected failure as one line on stderr, ``error: ...``,
and exits 1; a usage mistake exits 2; nothing ever prints a traceback unless
``--verbose`` is given (then the traceback of an unexpected failure is logged).
Log records (which may carry bucket names and server messages) reach the
terminal only with ``--verbose``.

rich is imported only by the commands that draw with it (trees, progress bars,
colour), so ``memspace --help`` and simple commands start fast.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from typer.exceptions import TyperException

from memspace.cli.wording import cli_message
from memspace.config import BACKEND_NAMES
from memspace.errors import MemspaceError

if TYPE_CHECKING:
    from rich.console import Console

    from memspace.tools import MemoryTools

__all__ = ["Options", "app", "console", "fail", "main", "open_tools", "os_user", "with_actor"]

log = logging.getLogger("memspace")

app = typer.Typer(
    name="memspace",
    help="A persistent file workspace for AI agents: view and edit it from the shell.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def env_hint(variable: str) -> str:
    """``[env: NAME]`` for an option's help, joined by a no-break space: wrapping never splits it."""
    return f"[env:\u00a0{variable}]"


@dataclass
class Options:
    """The global options, as ``agent_config`` keys."""

    config: dict[str, object] = field(default_factory=dict)
    verbose: bool = False


def _version(value: bool) -> None:
    if value:
        from memspace import __version__

        typer.echo(f"memspace {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    ctx: typer.Context,
    backend: Annotated[
        str | None,
        typer.Option(
            help=f"Storage backend: {', '.join(BACKEND_NAMES)}. 'memory' keeps files in this "
            "process only and forgets everything when the command ends. " + env_hint("MEMORY_TOOL_BACKEND"),
            show_default=False,
        ),
    ] = None,
    local_dir: Annotated[
        Path | None,
        typer.Option(
            help="Folder of the local backend. " + env_hint("MEMORY_TOOL_LOCAL_DIR"), show_default=False
        ),
    ] = None,
    namespace: Annotated[
        str | None,
        typer.Option(help="Workspace namespace. " + env_hint("MEMORY_TOOL_NAMESPACE"), show_default=False),
    ] = None,
    prefix: Annotated[
        str | None,
        typer.Option(help="Key prefix in the bucket. " + env_hint("MEMORY_TOOL_PREFIX"), show_default=False),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show log messages and details of failures.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", help="Show the version and exit.", callback=_version, is_eager=True),
    ] = False,
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
    _configure_logging(verbose)
    ctx.obj = Options(config, verbose)


def _configure_logging(verbose: bool) -> None:
    configure_logger("memspace", verbose, level=logging.DEBUG)


def configure_logger(name: str, verbose: bool, *, level: int) -> None:
    """Send ``name``'s records to stderr at ``level`` with ``--verbose``, else nowhere."""
    logger = logging.getLogger(name)
    logger.handlers.clear()
    if verbose:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(level)
    else:
        # Without a handler, Python's last-resort handler would print WARNING records.
        logger.addHandler(logging.NullHandler())
    logger.propagate = False


def options(ctx: typer.Context) -> Options:
    obj = ctx.find_root().obj
    return obj if isinstance(obj, Options) else Options()


def open_tools(ctx: typer.Context, **extra: object) -> MemoryTools:
    """The memory tools the global options (and ``extra`` settings) describe."""
    from memspace.tools import MemoryTools

    try:
        return MemoryTools.from_config(with_actor({**options(ctx).config, **extra}, os.environ))
    except MemspaceError as error:
        fail(error)


def with_actor(config: dict[str, object], environ: Mapping[str, str]) -> dict[str, object]:
    """``config`` with the history's actor defaulting to the OS user (unless set in either)."""
    from memspace.config import default_actor

    return {**config, "memory_tool_actor": default_actor(config, os_user(), environ)}


def os_user() -> str:
    """The name of the user running the command, for the history's "who"."""
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return f"uid {os.getuid()}"


def fail(message: str | MemspaceError, *, command: str = "", code: int = 1) -> NoReturn:
    """Print ``error: message`` as one line on stderr and exit.

    An error is worded for the command line (:mod:`memspace.cli.wording`); ``command`` is the
    command that failed, where the advice depends on it.
    """
    _print_error(cli_message(message, command) if isinstance(message, MemspaceError) else message)
    raise typer.Exit(code)


def _print_error(message: str) -> None:
    prefix = "\x1b[31merror:\x1b[0m" if _colour(sys.stderr) else "error:"
    sys.stderr.write(f"{prefix} {' '.join(message.split())}\n")
    sys.stderr.flush()


def _colour(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and "NO_COLOR" not in os.environ


_consoles: dict[bool, Console] = {}


def console(*, stderr: bool = False) -> Console:
    """A rich console for stdout or stderr (rich is imported on first use)."""
    if stderr not in _consoles:
        from rich.console import Console

        _consoles[stderr] = Console(stderr=stderr, highlight=False, soft_wrap=True)
    return _consoles[stderr]


def main(argv: Sequence[str] | None = None) -> None:
    """Run the command line; exit 0, 1 (the command failed), 2 (usage) or 130 (interrupted)."""
    try:
        code = app(args=list(argv) if argv is not None else None, prog_name="memspace", standalone_mode=False)
    except typer.Exit as done:
        code = done.exit_code
    except TyperException as error:
        context = getattr(error, "ctx", None)
        if type(error).__name__ == "NoArgsIsHelpError" and context is not None:
            typer.echo(context.get_help())
        else:
            where = f"; see '{context.command_path} --help'" if context is not None else ""
            _print_error(f"{error.format_message().rstrip('.')}{where}")
        code = error.exit_code
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("\n")
        _print_error("interrupted")
        code = 130
    except MemspaceError as error:
        _print_error(cli_message(error))
        code = 1
    except Exception as error:
        log.debug("memspace: traceback of the unexpected failure", exc_info=True)
        _print_error(
            f"memspace failed unexpectedly ({type(error).__name__}); run it again with --verbose "
            "for details, and report the problem"
        )
        code = 2
    sys.exit(code if isinstance(code, int) else 0)
