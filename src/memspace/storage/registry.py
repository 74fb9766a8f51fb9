"""Backends by short name; optional dependencies are imported only when asked for."""

from __future__ import annotations

import os
from collections.abc import Mapping

from memspace.config import Settings
from memspace.errors import ConfigError
from memspace.storage.base import Store

__all__ = ["open_store"]


def open_store(settings: Settings, environ: Mapping[str, str] | None = None) -> Store:
    """Build the store that ``settings.backend`` names, from settings and environment."""
    env = os.environ if environ is None else environ
    if settings.backend == "memory":
        from memspace.storage.memory import MemoryStore

        return MemoryStore()
    if settings.backend == "local":
        from memspace.storage.local import LocalStore

        return LocalStore(settings.local_dir)
    if settings.backend in ("s3", "r2"):
        from memspace.storage.s3 import S3Store

        return S3Store.from_env(settings.backend, env)
    raise ConfigError(f"Unknown backend {settings.backend!r}.")
