"""Worker processes that edit one file through deepagents' backend protocol (MemspaceBackend).

Run with :func:`tests.support.workers.run_workers`: each worker is its own OS process that
builds the backend from an agent_config and the environment, as a server process would.
"""

from __future__ import annotations

import os
from multiprocessing.synchronize import Barrier
from typing import Any

from memspace.integrations.deepagents import MemspaceBackend


def edit_own_lines(
    config: dict[str, Any], environ: dict[str, str], worker: int, count: int, barrier: Barrier, out: Any
) -> None:
    """Mark this worker's ``count`` lines of /shared.md done, one ``edit`` each; report the errors."""
    os.environ.update(environ)
    backend = MemspaceBackend.from_config(config)
    barrier.wait()
    errors = [
        result.error
        for j in range(count)
        if (
            result := backend.edit("/shared.md", f"item {worker}-{j}: todo", f"item {worker}-{j}: done")
        ).error
    ]
    out.put((worker, errors))
