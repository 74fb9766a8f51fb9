"""The memory tools as OpenAI Agents SDK function tools.

    from agents import Agent, Runner
    from memspace.integrations.openai_agents import memory_tools

    agent = Agent(name="notes", tools=memory_tools({"memory_tool_backend": "local"}))
    result = Runner.run_sync(agent, "Save a note to /notes/today.md")

Each tool is a ``FunctionTool`` with the workspace's name, description and strict JSON schema
(the SDK's default ``strict_json_schema=True``; its converter leaves the schema as it is, since
optional arguments are already required-but-nullable). The model's argument text goes to
``MemoryTools.acall`` as it is, so the storage work runs in a worker thread, off the event
loop, and the core parses and checks the arguments with its own wording.

How results reach the model:

- success: the tool's text, as the tool output;
- a memory-tool error (a bad path, an edit that does not apply, a wrongly typed argument,
  malformed JSON): the one-sentence error as the tool output, which is the SDK's way of
  returning a failed call to the model (what its ``failure_error_function`` does for a
  ``@function_tool`` that raises), and the call's trace span is marked failed with the SDK's
  own "Error running tool (non-fatal)". The run goes on and the model can correct itself; an
  error never raises out of ``Runner.run``.

The SDK starts every tool call of one model response at once. The core is safe under
concurrency, but when a model sends ``create`` then ``append`` for one file in one response,
only ``RunConfig(tool_execution=ToolExecutionConfig(max_function_tool_concurrency=1))`` makes
them run in the order written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from memspace.errors import MissingDependencyError
from memspace.tools import MemoryTools

try:
    from agents import FunctionTool, SpanError, Tool, get_current_span
    from agents.tool_context import ToolContext
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise MissingDependencyError.for_extra(
        "The OpenAI Agents SDK integration", "openai-agents", "openai-agents"
    ) from error

__all__ = ["memory_tools"]

_FAILED_SPAN_MESSAGE = "Error running tool (non-fatal)"  # the SDK's own, for a handled tool failure


def memory_tools(agent_config: Mapping[str, object] | MemoryTools | None = None) -> list[Tool]:
    """The workspace's tools (all seven, or ``memory_view`` alone when read-only) as
    ``FunctionTool`` objects for ``agents.Agent(tools=...)``.

    The list is typed as the SDK's ``Tool`` (of which ``FunctionTool`` is one kind), the type
    ``Agent(tools=...)`` takes, so it can be passed or extended with other tools as it is.

    ``agent_config`` is read as by ``MemoryTools.from_config`` (settings not in it come from
    the environment); pass a ``MemoryTools`` instead to share one workspace with other code,
    to read its ``instructions``, or to close it yourself.

    >>> tools = memory_tools({"memory_tool_backend": "memory"})
    >>> [tool.name for tool in tools][:2]
    ['memory_view', 'memory_create_update']
    >>> tools[0].strict_json_schema
    True
    """
    tools = agent_config if isinstance(agent_config, MemoryTools) else MemoryTools.from_config(agent_config)
    return [_function_tool(tools, definition) for definition in tools.definitions("responses")]


def _function_tool(tools: MemoryTools, definition: Mapping[str, Any]) -> FunctionTool:
    name = str(definition["name"])

    async def invoke(context: ToolContext[Any], arguments: str) -> str:
        result = await tools.acall(name, arguments)
        if result.is_error:
            _mark_span_failed(context, name, result.text)
        return result.text

    return FunctionTool(
        name=name,
        description=str(definition["description"]),
        params_json_schema=dict(definition["parameters"]),
        on_invoke_tool=invoke,
        strict_json_schema=True,
    )


def _mark_span_failed(context: ToolContext[Any], name: str, text: str) -> None:
    span = get_current_span()
    if span is None:
        return
    run_config = getattr(context, "run_config", None)
    # Error details go into traces only when the run allows sensitive data in them, as the
    # SDK does for its own tool failures.
    detail = text if run_config is None or run_config.trace_include_sensitive_data else ""
    span.set_error(SpanError(message=_FAILED_SPAN_MESSAGE, data={"tool_name": name, "error": detail}))
