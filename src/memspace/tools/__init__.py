"""The seven memory tools: schemas, argument checking and model-facing text."""

from memspace.tools.arguments import ArgumentError
from memspace.tools.memory_tools import INSTRUCTIONS, MemoryTools, ToolResult
from memspace.tools.schema import TOOLS, DefinitionStyle, ToolSpec

__all__ = [
    "INSTRUCTIONS",
    "TOOLS",
    "ArgumentError",
    "DefinitionStyle",
    "MemoryTools",
    "ToolResult",
    "ToolSpec",
]
