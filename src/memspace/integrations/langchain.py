"""The memory tools as LangChain tools, for LangChain and LangGraph agents.

    from langchain.agents import create_agent
    from memspace.integrations.langchain import memory_tools

    agent = create_agent("openai:gpt-4o", tools=memory_tools({"memory_tool_backend": "local"}))
    agent.invoke({"messages": [{"role": "user", "content": "Save a note to /notes/today.md"}]})

Each tool is a :class:`MemoryTool` (a ``BaseTool``) with the workspace's name, description
and JSON schema as its ``args_schema``. LangChain passes the arguments through unvalidated,
and the core checks them with its own wording. The schema suits ``bind_tools(tools)`` as it is
and ``bind_tools(tools, strict=True)`` too: LangChain's strict converter lists every argument
as required, and the optional ones are nullable, so the model sends ``null`` for them.

How results reach the model, following LangChain's convention for tool errors:

- success: the tool's text, as the ``ToolMessage`` content;
- a memory-tool error (a bad path, an edit that does not apply, a wrongly typed argument): a
  ``ToolException`` carrying the one-sentence error, which the tool handles
  (``handle_tool_error=True``), so a call made from a tool call comes back as a
  ``ToolMessage`` with that text and ``status="error"``, and an agent loop goes on with the
  model reading the error. Set ``handle_tool_error=False`` on a tool to have the exception
  raised instead.

``invoke`` runs the call in the calling thread; ``ainvoke`` runs it through
``MemoryTools.acall``, in a worker thread, off the event loop. LangGraph's ``ToolNode`` runs the
tool calls of one model response concurrently; the core is safe under concurrency, and a model
that needs an order (``create`` then ``append`` on one file) gets it by sending them in turn.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from memspace.errors import MissingDependencyError
from memspace.tools import MemoryTools

try:
    from langchain_core.tools import BaseTool, ToolException
    from pydantic import Field
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise MissingDependencyError.for_extra(
        "The LangChain integration", "langchain-core", "langchain"
    ) from error

__all__ = ["MemoryTool", "memory_tools"]


class MemoryTool(BaseTool):
    """One memory tool of a workspace as a LangChain tool.

    >>> from memspace.tools import MemoryTools
    >>> workspace = MemoryTools.from_config({"memory_tool_backend": "memory"})
    >>> view = MemoryTool.for_tool(workspace, "memory_view")
    >>> view.invoke({"path": "/"})
    'The workspace root / is empty.'
    """

    memory_tools: MemoryTools = Field(exclude=True)
    """The workspace's tools this tool calls."""

    handle_tool_error: bool = True

    @classmethod
    def for_tool(cls, tools: MemoryTools, name: str) -> MemoryTool:
        """The tool ``name`` of ``tools``, described by its JSON definition."""
        for definition in tools.definitions("json"):
            if definition["name"] == name:
                return cls(
                    name=name,
                    description=str(definition["description"]),
                    args_schema=dict(definition["parameters"]),
                    memory_tools=tools,
                )
        raise ValueError(f"There is no tool named {name!r}; the memory tools are: {', '.join(tools.names)}.")

    # ``self`` is positional-only so that no argument name the model sends can collide with it.
    def _run(self, /, **arguments: Any) -> str:
        result = self.memory_tools.call(self.name, arguments)
        if result.is_error:
            raise ToolException(result.text)
        return result.text

    async def _arun(self, /, **arguments: Any) -> str:
        result = await self.memory_tools.acall(self.name, arguments)
        if result.is_error:
            raise ToolException(result.text)
        return result.text


def memory_tools(agent_config: Mapping[str, object] | MemoryTools | None = None) -> list[BaseTool]:
    """The workspace's tools (all seven, or ``memory_view`` alone when read-only) as LangChain
    tools, for ``create_agent(model, tools=...)``, LangGraph's ``ToolNode`` or ``bind_tools``.

    ``agent_config`` is read as by ``MemoryTools.from_config`` (settings not in it come from
    the environment); pass a ``MemoryTools`` instead to share one workspace with other code,
    to read its ``instructions``, or to close it yourself.

    >>> tools = memory_tools({"memory_tool_backend": "memory"})
    >>> tools[1].invoke({"path": "/a.md", "file_text": "hi"})
    'Created /a.md (1 line, 2 bytes).'
    """
    tools = agent_config if isinstance(agent_config, MemoryTools) else MemoryTools.from_config(agent_config)
    return [MemoryTool.for_tool(tools, name) for name in tools.names]
