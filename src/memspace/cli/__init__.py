"""The ``memspace`` command: the workspace from a shell, on any backend.

    memspace view /                      # a tree of the workspace
    echo "hello" | memspace write /notes/a.md
    memspace --backend s3 view /notes/a.md

The backend and its settings come from the same environment variables as the
library (``MEMORY_TOOL_BACKEND``, ``AWS_S3_BUCKET``, ...) or the global options.
Each command group lives in a module of its own and registers itself on ``app``.
Nothing is imported until it is needed: ``memspace --version`` loads neither
typer nor the tools.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing; type checkers treat it as true
if TYPE_CHECKING:
    from collections.abc import Sequence

    import typer

    from memspace.cli import files, history, search, serve, sync

__all__ = ["app", "files", "history", "main", "search", "serve", "sync"]

_COMMAND_MODULES = ("files", "history", "search", "serve", "sync")


def main(argv: Sequence[str] | None = None) -> None:
    """Run the command line; exit 0, 1 (the command failed), 2 (usage) or 130 (interrupted)."""
    args = sys.argv[1:] if argv is None else list(argv)
    if args == ["--version"]:
        from memspace import __version__

        sys.stdout.write(f"memspace {__version__}\n")
        sys.exit(0)
    _load_commands()
    from memspace.cli._app import main as run

    run(argv)


def _load_commands() -> None:
    from importlib import import_module

    for name in _COMMAND_MODULES:
        import_module(f"memspace.cli.{name}")


def __getattr__(name: str) -> object:
    from importlib import import_module

    if name == "app":
        _load_commands()
        app: typer.Typer = import_module("memspace.cli._app").app
        return app
    if name in _COMMAND_MODULES:
        return import_module(f"memspace.cli.{name}")
    raise AttributeError(f"module 'memspace.cli' has no attribute {name!r}")
