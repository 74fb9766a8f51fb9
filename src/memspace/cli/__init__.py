"""The ``memspace`` command: the workspace from a shell, on any backend.

    memspace view /                      # a tree of the workspace
    echo "hello" | memspace write /notes/a.md
    memspace --backend s3 view /notes/a.md

The backend and its settings come from the same environment variables as the
library (``MEMORY_TOOL_BACKEND``, ``AWS_S3_BUCKET``, ...) or the global options.
Each command group lives in a module of its own and registers itself on ``app``.
"""

from memspace.cli import files, history, search, serve, sync
from memspace.cli._app import app, main

__all__ = ["app", "files", "history", "main", "search", "serve", "sync"]
