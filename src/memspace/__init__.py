"""memspace: a persistent, concurrency-safe file workspace for AI agents.

>>> import memspace
>>> tools = memspace.MemoryTools.from_config({"memory_tool_backend": "memory"})
>>> tools.call("memory_view", {"path": "/"}).text
'The workspace root / is empty.'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from memspace.config import Settings
from memspace.errors import MemspaceError
from memspace.limits import Limits
from memspace.tools import MemoryTools, ToolResult
from memspace.workspace import AsyncWorkspace, Workspace

if TYPE_CHECKING:
    from memspace.agent import Agent

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


def __getattr__(name: str) -> Any:
    # The agent pulls in pydantic-ai; import it only when asked for.
    if name == "Agent":
        from memspace.agent import Agent

        return Agent
    raise AttributeError(f"module 'memspace' has no attribute {name!r}")
