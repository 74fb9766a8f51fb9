"""The OpenAI Agents SDK adapter, driven by the SDK's own agent loop (``Runner``) against the
scripted model server on loopback, which speaks the Responses API the SDK uses by default,
with the workspace on local disk and on the SeaweedFS S3 peer.

Traces never leave the process: the SDK's exporter (which would post to OpenAI) is replaced by
a processor that records spans in memory.
"""

from __future__ import annotations

import asyncio
import copy
import importlib
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from agents import (
    Agent,
    FunctionTool,
    RunConfig,
    Runner,
    Span,
    Tool,
    ToolExecutionConfig,
    Trace,
    TracingProcessor,
    set_trace_processors,
)
from agents.models.openai_provider import OpenAIProvider
from agents.strict_schema import ensure_strict_json_schema

from memspace import MemoryTools
from memspace.errors import MissingDependencyError
from memspace.integrations.openai_agents import memory_tools

from .conftest import DEFAULT_TOOLS, READ_ONLY_TOOLS
from .support.gated_tools import GatedTools
from .support.model_server import ModelServer, Reply, text, tool_call, tool_calls
from .support.tool_cases import ERROR_CASE, FINAL_FILES, TOOL_CASES, ToolCase, check_result, strict_arguments

API_KEY = "sk-test-agents-key"


class SpanRecorder(TracingProcessor):
    """Keeps finished spans in memory; installed in place of the SDK's exporter."""

    def __init__(self) -> None:
        self.spans: list[Span[Any]] = []

    def on_trace_start(self, trace: Trace) -> None:
        pass

    def on_trace_end(self, trace: Trace) -> None:
        pass

    def on_span_start(self, span: Span[Any]) -> None:
        pass

    def on_span_end(self, span: Span[Any]) -> None:
        self.spans.append(span)

    def shutdown(self) -> None:
        pass

    def force_flush(self) -> None:
        pass

    def failed_function_spans(self) -> list[dict[str, Any]]:
        return [dict(span.error) for span in self.spans if span.span_data.type == "function" and span.error]


# Installed when the module is imported, before any run: the SDK's default processor would
# export every span to OpenAI's servers.
RECORDER = SpanRecorder()
set_trace_processors([RECORDER])


@pytest.fixture
def spans() -> SpanRecorder:
    RECORDER.spans.clear()
    return RECORDER


def run_config(server: ModelServer, **settings: Any) -> RunConfig:
    # A provider per run: the OpenAI client's connections belong to one event loop.
    return RunConfig(model_provider=OpenAIProvider(api_key=API_KEY, base_url=server.base_url), **settings)


def run(agent: Agent[Any], server: ModelServer, prompt: str = "go", **settings: Any) -> Any:
    turns = len(TOOL_CASES) + 1
    return asyncio.run(Runner.run(agent, prompt, max_turns=turns, run_config=run_config(server, **settings)))


def function_tools(tools: list[Tool]) -> list[FunctionTool]:
    assert all(isinstance(tool, FunctionTool) for tool in tools)
    return [tool for tool in tools if isinstance(tool, FunctionTool)]


def script_cases(server: ModelServer, tools: list[Tool], cases: tuple[ToolCase, ...]) -> None:
    """One model turn per case, each calling its tool as a strict client: every argument,
    null for those left out; then a final answer."""
    properties = {tool.name: tool.params_json_schema["properties"] for tool in function_tools(tools)}
    turns: list[Reply] = [
        tool_call(case.name, strict_arguments(case, properties[case.name])) for case in cases
    ]
    server.script(*turns, text("done"))


def files(config: Mapping[str, object]) -> dict[str, str]:
    with MemoryTools.from_config(config) as tools:
        return {str(e.path): tools.workspace.read(str(e.path)).text for e in tools.workspace.walk("/")}


# -- every tool, through the SDK's loop ---------------------------------------------


def test_every_tool_works_through_the_agents_sdk_loop(
    server: ModelServer, agent_config: dict[str, object]
) -> None:
    tools = memory_tools(agent_config)
    script_cases(server, tools, TOOL_CASES)
    agent = Agent(name="notes", instructions="Keep notes.", tools=tools)

    result = run(agent, server)

    assert result.final_output == "done"
    seen = server.requests[-1].tool_results()
    assert len(seen) == len(TOOL_CASES)
    for case, result_seen in zip(TOOL_CASES, seen, strict=True):
        check_result(case, result_seen.content, None)
    assert files(agent_config) == FINAL_FILES


def test_the_model_is_offered_the_strict_schemas_over_the_responses_api(
    server: ModelServer, agent_config: dict[str, object]
) -> None:
    workspace = MemoryTools.from_config(agent_config)
    server.script(text("hello"))

    run(Agent(name="notes", tools=memory_tools(workspace)), server)

    request = server.requests[0]
    assert request.api == "responses"
    assert request.tool_names == DEFAULT_TOOLS
    sent = {tool["name"]: tool for tool in request.body["tools"]}
    for definition in workspace.definitions("responses"):
        assert sent[definition["name"]]["strict"] is True
        assert sent[definition["name"]]["parameters"] == definition["parameters"]
        assert sent[definition["name"]]["description"] == definition["description"]


def test_the_sdks_strict_converter_keeps_the_schemas_as_they_are() -> None:
    workspace = MemoryTools.from_config({"memory_tool_backend": "memory"})
    tools = function_tools(memory_tools(workspace))

    assert [tool.name for tool in tools] == DEFAULT_TOOLS
    for tool, definition in zip(tools, workspace.definitions("responses"), strict=True):
        assert tool.strict_json_schema is True
        assert tool.params_json_schema == definition["parameters"]
        assert ensure_strict_json_schema(copy.deepcopy(tool.params_json_schema)) == tool.params_json_schema


# -- errors ------------------------------------------------------------------------


def test_a_memory_tool_error_reaches_the_model_as_a_failed_tool_call(
    server: ModelServer, agent_config: dict[str, object], spans: SpanRecorder
) -> None:
    tools = memory_tools(agent_config)
    script_cases(server, tools, (ERROR_CASE, TOOL_CASES[0]))

    result = run(Agent(name="notes", tools=tools), server)

    assert result.final_output == "done"  # the run went on after the error
    failed, recovered = server.requests[-1].tool_results()
    check_result(ERROR_CASE, failed.content, None)
    check_result(TOOL_CASES[0], recovered.content, None)
    assert spans.failed_function_spans() == [
        {
            "message": "Error running tool (non-fatal)",
            "data": {"tool_name": "memory_view", "error": ERROR_CASE.expect[0]},
        }
    ]


def test_malformed_json_arguments_reach_the_model_as_an_error_and_write_nothing(
    server: ModelServer, agent_config: dict[str, object]
) -> None:
    server.script(tool_call("memory_create_update", '{"path": "/a.md", "file_text": '), text("done"))

    result = run(Agent(name="notes", tools=memory_tools(agent_config)), server)

    assert result.final_output == "done"
    [seen] = server.requests[-1].tool_results()
    assert seen.content.startswith("The arguments of memory_create_update are not valid JSON")
    assert files(agent_config) == {}


def test_six_failing_calls_in_a_row_do_not_end_the_run(server: ModelServer) -> None:
    failing = [tool_call("memory_view", {"path": f"/none{i}.md", "view_range": None}) for i in range(6)]
    server.script(*failing, text("gave up looking"))

    result = run(Agent(name="notes", tools=memory_tools({"memory_tool_backend": "memory"})), server)

    assert result.final_output == "gave up looking"
    assert [seen.content.split(" ")[0] for seen in server.requests[-1].tool_results()] == [
        f"/none{i}.md" for i in range(6)
    ]


# -- how calls run -------------------------------------------------------------------


def test_tool_calls_run_off_the_event_loop(server: ModelServer) -> None:
    workspace = MemoryTools.from_config({"memory_tool_backend": "memory"})
    gated = GatedTools(workspace.workspace)
    server.script(tool_call("memory_view", {"path": "/", "view_range": None}), text("done"))

    async def main() -> Any:
        async def open_the_gate_once_a_call_started() -> None:
            while not gated.started.is_set():
                await asyncio.sleep(0.01)
            gated.gate.set()

        opener = asyncio.create_task(open_the_gate_once_a_call_started())
        agent = Agent(name="notes", tools=memory_tools(gated))
        result = await Runner.run(agent, "go", run_config=run_config(server))
        await opener
        return result

    result = asyncio.run(main())

    assert result.final_output == "done"
    assert server.requests[-1].tool_results()[0].content == "The workspace root / is empty."


def test_calls_of_one_response_run_in_order_with_one_tool_call_at_a_time(server: ModelServer) -> None:
    workspace = MemoryTools.from_config({"memory_tool_backend": "memory"})
    appends = [
        ("memory_create_update", {"path": "/log.md", "file_text": str(i), "mode": "append"}) for i in range(5)
    ]
    server.script(tool_calls(*appends), text("done"))

    run(
        Agent(name="notes", tools=memory_tools(workspace)),
        server,
        tool_execution=ToolExecutionConfig(max_function_tool_concurrency=1),
    )

    assert workspace.workspace.read("/log.md").text == "0\n1\n2\n3\n4"


def test_a_read_only_workspace_offers_only_the_read_tools(server: ModelServer, tmp_path: Path) -> None:
    server.script(text("ok"))
    config = {
        "memory_tool_backend": "local",
        "memory_tool_local_dir": str(tmp_path),
        "memory_tool_read_only": True,
    }

    run(Agent(name="reader", tools=memory_tools(config)), server)

    assert server.requests[0].tool_names == READ_ONLY_TOOLS


def test_without_the_sdk_the_import_says_which_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "agents", None)  # what an absent package looks like to import
    monkeypatch.delitem(sys.modules, "memspace.integrations.openai_agents")

    with pytest.raises(MissingDependencyError) as raised:
        importlib.import_module("memspace.integrations.openai_agents")

    assert str(raised.value) == (
        'The OpenAI Agents SDK integration needs openai-agents; install it with: pip install "memspace[openai-agents]"'
    )
