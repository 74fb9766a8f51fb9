"""Settings: an ``agent_config`` dict merged over environment variables.

An explicit ``agent_config`` key beats the environment. Keys starting with
``memory_tool_`` belong to memspace and are checked (a misspelt one is an
error, not silently ignored); other keys (``max_steps``, ...) belong to
whoever else reads the same dict and are ignored here.

| agent_config key          | environment variable      | default        |
|---------------------------|---------------------------|----------------|
| memory_tool_backend       | MEMORY_TOOL_BACKEND       | local          |
| memory_tool_local_dir     | MEMORY_TOOL_LOCAL_DIR     | ./memories     |
| memory_tool_prefix        | MEMORY_TOOL_PREFIX        | memories/      |
| memory_tool_namespace     | MEMORY_TOOL_NAMESPACE     | default        |
| memory_tool_read_only     | MEMORY_TOOL_READ_ONLY     | false          |
| memory_tool_versioning    | MEMORY_TOOL_VERSIONING    | true           |
| memory_tool_history_days  | MEMORY_TOOL_HISTORY_DAYS  | 30             |
| memory_tool_history_versions | MEMORY_TOOL_HISTORY_VERSIONS | 100      |
| memory_tool_actor         | MEMORY_TOOL_ACTOR         | (none)         |
| memory_tool_session       | MEMORY_TOOL_SESSION       | (none)         |
| memory_tool_history       | MEMORY_TOOL_HISTORY       | false          |
| memory_tool_search        | MEMORY_TOOL_SEARCH        | true           |
| memory_tool_cache_dir     | MEMORY_TOOL_CACHE_DIR     | ~/.cache/memspace (XDG_CACHE_HOME) |
| memory_tool_cache_max_bytes | MEMORY_TOOL_CACHE_MAX_BYTES | 268435456 (0: no cache) |
| memory_tool_max_<limit>   | MEMORY_TOOL_MAX_<LIMIT>   | see Limits     |

``versioning`` keeps every version of every file (see :mod:`memspace.history`);
``history`` offers the model the ``memory_history`` tool on top of it.

Backend credentials (``AWS_*``, ``R2_*``) are read by the backend that needs them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from memspace.content_cache import DEFAULT_MAX_BYTES
from memspace.errors import ConfigError
from memspace.history import MAX_ACTOR_BYTES, MAX_SESSION_BYTES
from memspace.limits import Limits
from memspace.paths import parse_namespace, parse_prefix

__all__ = ["BACKEND_NAMES", "Settings"]

BACKEND_NAMES = ("local", "s3", "r2", "memory")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_LIMIT_KEYS = {f"memory_tool_{f.name}": f.name for f in fields(Limits)}
_KNOWN_KEYS = {
    "memory_tool_backend",
    "memory_tool_local_dir",
    "memory_tool_prefix",
    "memory_tool_namespace",
    "memory_tool_read_only",
    "memory_tool_versioning",
    "memory_tool_history_days",
    "memory_tool_history_versions",
    "memory_tool_actor",
    "memory_tool_session",
    "memory_tool_history",
    "memory_tool_search",
    "memory_tool_cache_dir",
    "memory_tool_cache_max_bytes",
    *_LIMIT_KEYS,
}


@dataclass(frozen=True)
class Settings:
    """Resolved settings of one workspace.

    >>> Settings.from_config({"memory_tool_backend": "memory", "max_steps": 5}, environ={}).backend
    'memory'
    """

    backend: str = "local"
    local_dir: Path = Path("memories")
    prefix: str = "memories/"
    namespace: str = "default"
    read_only: bool = False
    versioning: bool = True
    history_days: int = 30
    history_versions: int = 100
    actor: str = ""
    session: str | None = None
    history_tool: bool = False
    limits: Limits = field(default_factory=Limits)
    search: bool = True
    cache_dir: Path | None = None  # None: memspace.content_cache.default_directory()
    cache_max_bytes: int = DEFAULT_MAX_BYTES

    @classmethod
    def from_config(
        cls, agent_config: Mapping[str, object] | None = None, *, environ: Mapping[str, str] | None = None
    ) -> Settings:
        config = dict(agent_config or {})
        env = os.environ if environ is None else environ
        unknown = sorted(k for k in config if k.startswith("memory_tool_") and k not in _KNOWN_KEYS)
        if unknown:
            raise ConfigError(
                f"Unknown setting {unknown[0]!r}; known memory_tool_ settings are: "
                + ", ".join(sorted(_KNOWN_KEYS))
                + "."
            )

        def value(key: str) -> object | None:
            if config.get(key) is not None:
                return config[key]
            return env.get(key.upper())

        versioning = _bool("memory_tool_versioning", value("memory_tool_versioning"), default=True)
        history_tool = _bool("memory_tool_history", value("memory_tool_history"))
        if history_tool and not versioning:
            raise ConfigError(
                "memory_tool_history offers the model the versions memspace keeps; it needs "
                "memory_tool_versioning on."
            )
        backend = str(value("memory_tool_backend") or "local").strip().lower()
        if backend not in BACKEND_NAMES:
            raise ConfigError(f"memory_tool_backend {backend!r} is not one of: {', '.join(BACKEND_NAMES)}.")
        limits = Limits(
            **{name: _int(key, raw) for key, name in _LIMIT_KEYS.items() if (raw := value(key)) is not None}
        )
        return cls(
            backend=backend,
            local_dir=Path(str(value("memory_tool_local_dir") or "memories")),
            prefix=parse_prefix(_str("memory_tool_prefix", value("memory_tool_prefix"), "memories/")),
            namespace=parse_namespace(
                _str("memory_tool_namespace", value("memory_tool_namespace"), "default")
            ),
            read_only=_bool("memory_tool_read_only", value("memory_tool_read_only")),
            versioning=versioning,
            history_days=_int("memory_tool_history_days", value("memory_tool_history_days") or 30),
            history_versions=_int(
                "memory_tool_history_versions", value("memory_tool_history_versions") or 100
            ),
            actor=_label("memory_tool_actor", value("memory_tool_actor"), MAX_ACTOR_BYTES) or "",
            session=_label("memory_tool_session", value("memory_tool_session"), MAX_SESSION_BYTES),
            history_tool=history_tool,
            limits=limits,
            search=_bool("memory_tool_search", value("memory_tool_search"), default=True),
            cache_dir=Path(str(cache_dir)) if (cache_dir := value("memory_tool_cache_dir")) else None,
            cache_max_bytes=_size("memory_tool_cache_max_bytes", value("memory_tool_cache_max_bytes")),
        )

    @property
    def base(self) -> str:
        """Where this workspace lives in its store: one folder per namespace.

        On object stores it sits under ``prefix`` inside the bucket; the local
        backend's directory is already dedicated to memspace, so no prefix there.
        """
        prefix = "" if self.backend == "local" else self.prefix
        return f"{prefix}{self.namespace}/"

    @property
    def reserved(self) -> str:
        """Where this workspace keeps its own data (history): beside its files, never among them.

        ``.memspace`` cannot be a namespace (a namespace starts with a letter or digit), so the
        reserved areas of two namespaces never overlap, and no listing of a namespace includes one.
        """
        prefix = "" if self.backend == "local" else self.prefix
        return f"{prefix}.memspace/{self.namespace}/"


def _str(key: str, raw: object | None, default: str) -> str:
    if raw is None:
        return default
    if not isinstance(raw, str):
        raise ConfigError(f"{key} must be a string, got {type(raw).__name__}.")
    return raw


def _bool(key: str, raw: object | None, *, default: bool = False) -> bool:
    if raw is None:
        return default
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if not text:  # set but empty, as in MEMORY_TOOL_SEARCH=
        return default
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{key} must be true or false, got {raw!r}.")


def _label(key: str, raw: object | None, max_bytes: int) -> str | None:
    """An actor or session name: printable text of at most ``max_bytes`` UTF-8 bytes."""
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or not raw.isprintable() or not raw.strip():
        raise ConfigError(f"{key} must be printable text, got {raw!r}.")
    if len(raw.encode("utf-8", "surrogatepass")) > max_bytes or any("\ud800" <= c <= "\udfff" for c in raw):
        raise ConfigError(f"{key} must be at most {max_bytes} bytes of UTF-8 text.")
    return raw


def _int(key: str, raw: object) -> int:
    try:
        number = int(str(raw))
    except ValueError:
        raise ConfigError(f"{key} must be a positive integer, got {raw!r}.") from None
    if number <= 0 or isinstance(raw, bool):
        raise ConfigError(f"{key} must be a positive integer, got {raw!r}.")
    return number


def _size(key: str, raw: object | None) -> int:
    """A byte count that may be 0 (off); defaults to the content cache's bound."""
    if raw is None:
        return DEFAULT_MAX_BYTES
    if not isinstance(raw, bool) and str(raw).strip() == "0":
        return 0
    return _int(key, raw)


def default_actor(
    config: Mapping[str, object], fallback: str, environ: Mapping[str, str] | None = None
) -> str:
    """Who the history records for writes through ``config``: its ``memory_tool_actor`` (or
    ``MEMORY_TOOL_ACTOR``) if set, else ``fallback`` (the Agent's name, the OS user for the
    CLI, ``mcp`` for the MCP server), cut to the actor's length limit on a character boundary."""
    environ = os.environ if environ is None else environ
    given = config.get("memory_tool_actor")
    if isinstance(given, str) and given:
        return given
    if environ.get("MEMORY_TOOL_ACTOR"):
        return environ["MEMORY_TOOL_ACTOR"]
    return fallback.encode()[:MAX_ACTOR_BYTES].decode(errors="ignore")
