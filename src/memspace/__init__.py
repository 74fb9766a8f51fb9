"""memspace: a persistent, concurrency-safe file workspace for AI agents.

>>> import memspace
>>> tools = memspace.MemoryTools.from_config({"memory_tool_backend": "memory"})
>>> tools.call("memory_view", {"path": "/"}).text
'The workspace root / is empty.'
"""

from __future__ import annotations

# Not ``typing.TYPE_CHECKING``: importing typing alone would cost more than the
# rest of this module. Type checkers treat any name TYPE_CHECKING as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from memspace.agent import Agent
    from memspace.config import Settings
    from memspace.errors import MemspaceError
    from memspace.limits import Limits
    from memspace.tools import MemoryTools, ToolResult
    from memspace.workspace import AsyncWorkspace, Workspace

__all__ = [
    "Agent",
    "AsyncWorkspace",
    "Limits",
    "MemoryTools",
    "MemspaceError",
    "Settings",
    "ToolResult",
    "Workspace",
]
__version__ = "0.1.0"

# Each public name loads its module on first use, so ``import memspace`` (and
# ``memspace --version``) stays cheap; the agent in particular pulls in pydantic-ai.
_HOMES = {
    "Agent": "memspace.agent",
    "AsyncWorkspace": "memspace.workspace",
    "Limits": "memspace.limits",
    "MemoryTools": "memspace.tools",
    "MemspaceError": "memspace.errors",
    "Settings": "memspace.config",
    "ToolResult": "memspace.tools",
    "Workspace": "memspace.workspace",
}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'memspace' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
