"""The memory tools as a pydantic-ai toolset, for agents you already have.

    from pydantic_ai import Agent
    from memspace.integrations.pydantic_ai import memory_toolset

    agent = Agent("openai:gpt-4o", toolsets=[memory_toolset({"memory_tool_backend": "local"})])

The toolset offers the workspace's tools (all seven, or the read-only subset), adds the
workspace's short usage instruction to the agent's instructions, and runs every call through
``MemoryTools.acall``. How results reach the model:

- success: the tool's text, as the tool result;
- a memory-tool error (``ToolResult.is_error``): raised as pydantic-ai's ``ToolFailed``, so the
  model gets a failed tool result carrying the one-sentence error and adapts. ``ToolFailed``
  does not spend the tool's retry budget, so a model that keeps making mistakes can never
  crash the run through this path; the run's step bound (``UsageLimits`` / ``max_steps``) is
  what bounds it;
- arguments that are not a JSON object (malformed JSON): pydantic-ai's own validation retry,
  which asks the model to resend the call and does count against the tool's retry budget
  (``max_retries``: 3 retries in a row for one tool; the next failure ends the run).

Memory tools are marked ``sequential``: when a model sends several calls in one response, a
memory call runs alone, after the calls before it, so ``create`` then ``append`` on one file
happen in the order the model wrote them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from memspace.errors import MissingDependencyError

try:
    from pydantic_ai import ToolFailed
    from pydantic_ai.tools import AgentDepsT, RunContext, ToolDefinition
    from pydantic_ai.toolsets import AbstractToolset, ToolsetTool
    from pydantic_core import SchemaValidator, core_schema
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise MissingDependencyError.for_extra("The pydantic-ai integration", "pydantic-ai", "agent") from error

if TYPE_CHECKING:
    from memspace.tools import MemoryTools

__all__ = ["DEFAULT_TOOL_RETRIES", "MemoryToolset", "memory_toolset"]

DEFAULT_TOOL_RETRIES = 3
"""Retries in a row a tool gets for unusable calls (malformed JSON) before the run gives up."""

# Only "is it a JSON object" is checked here; the memory tools validate their own arguments
# and answer mistakes with an actionable ToolResult error, which is worded in one place.
_JSON_OBJECT = SchemaValidator(
    core_schema.dict_schema(keys_schema=core_schema.str_schema(), values_schema=core_schema.any_schema())
)


class MemoryToolset(AbstractToolset[AgentDepsT]):
    """A pydantic-ai toolset serving a ``MemoryTools`` workspace.

    >>> from memspace.tools import MemoryTools
    >>> tools = MemoryTools.from_config({"memory_tool_backend": "memory"})
    >>> toolset = MemoryToolset(tools)
    >>> "memory_view" in toolset.tool_names
    True

    Args:
        tools: the workspace's tools.
        id: the toolset's id, unique among the agent's toolsets (give two workspaces two ids,
            and a ``.prefixed(...)`` wrapper so their tool names differ).
        instructions: add ``tools.instructions`` to the agent's instructions.
        max_retries: consecutive malformed calls of one tool before the run fails.
    """

    def __init__(
        self,
        tools: MemoryTools,
        *,
        id: str | None = "memspace",
        instructions: bool = True,
        max_retries: int = DEFAULT_TOOL_RETRIES,
    ) -> None:
        self._tools = tools
        self._id = id
        self._instructions = instructions
        self._max_retries = max_retries
        self._definitions = [
            ToolDefinition(
                name=str(definition["name"]),
                description=str(definition["description"]),
                parameters_json_schema=dict(definition["parameters"]),
                sequential=True,
            )
            for definition in tools.definitions("json")
        ]

    @property
    def id(self) -> str | None:
        return self._id

    @property
    def memory_tools(self) -> MemoryTools:
        """The ``MemoryTools`` this toolset calls."""
        return self._tools

    @property
    def tool_names(self) -> list[str]:
        return [definition.name for definition in self._definitions]

    async def get_instructions(self, ctx: RunContext[AgentDepsT]) -> str | None:
        return self._tools.instructions if self._instructions else None

    async def get_tools(self, ctx: RunContext[AgentDepsT]) -> dict[str, ToolsetTool[AgentDepsT]]:
        return {
            definition.name: ToolsetTool(
                toolset=self,
                tool_def=definition,
                max_retries=self._max_retries,
                args_validator=_JSON_OBJECT,
            )
            for definition in self._definitions
        }

    async def call_tool(
        self,
        name: str,
        tool_args: dict[str, Any],
        ctx: RunContext[AgentDepsT],
        tool: ToolsetTool[AgentDepsT],
    ) -> str:
        result = await self._tools.acall(name, tool_args)
        if result.is_error:
            raise ToolFailed(result.text)
        return result.text


def memory_toolset(
    agent_config: Mapping[str, object] | None = None,
    *,
    id: str | None = "memspace",
    instructions: bool = True,
    max_retries: int = DEFAULT_TOOL_RETRIES,
) -> MemoryToolset[Any]:
    """A ``MemoryToolset`` over ``MemoryTools.from_config(agent_config)``.

    >>> toolset = memory_toolset({"memory_tool_backend": "memory"})
    """
    from memspace.tools import MemoryTools

    return MemoryToolset(
        MemoryTools.from_config(dict(agent_config or {})),
        id=id,
        instructions=instructions,
        max_retries=max_retries,
    )
