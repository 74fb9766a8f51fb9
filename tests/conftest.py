"""Fixtures shared by the suite.

``make_tools`` builds :class:`MemoryTools` on the backend under test; every
call within one test shares one store, so namespace tests see a real shared
root. The tool suite is parametrised over the backends in ``BACKENDS``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from memspace import MemoryTools
from memspace.storage.base import Store
from memspace.storage.local import LocalStore
from memspace.storage.memory import MemoryStore

BACKENDS = ["memory", "local"]

MakeTools = Callable[..., MemoryTools]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never pick up a developer's memspace or cloud settings by accident."""
    for name in list(os.environ):
        if name.startswith(("MEMORY_TOOL_", "AWS_", "R2_")):
            monkeypatch.delenv(name)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store(backend: str, tmp_path: Path) -> Iterator[Store]:
    if backend == "memory":
        yield MemoryStore()
    elif backend == "local":
        yield LocalStore(tmp_path / "memories")
    else:  # pragma: no cover - other backends are added by their own fixtures
        pytest.skip(f"backend {backend} is not available")


@pytest.fixture
def make_tools(backend: str, store: Store) -> MakeTools:
    def make(**config: Any) -> MemoryTools:
        settings = {"memory_tool_backend": backend, **config}
        return MemoryTools.from_config(settings, store=store, environ={})

    return make


@pytest.fixture
def tools(make_tools: MakeTools) -> MemoryTools:
    return make_tools()
