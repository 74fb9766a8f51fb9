"""The pydantic-ai toolset, driven by pydantic-ai's FunctionModel for cases that need exact
control over what the model sends (several calls in one response, many failures in a row),
with plain pydantic-ai agents as its users build them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from pydantic_ai import Agent as PydanticAgent
from pydantic_ai import UnexpectedModelBehavior
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
)
from pydantic_ai.models.function import AgentInfo, FunctionModel

import memspace
from memspace.integrations.pydantic_ai import MemoryToolset, memory_toolset
from memspace.tools import MemoryTools

from .conftest import READ_ONLY_TOOLS
from .support.tool_cases import ERROR_CASE, FINAL_FILES, TOOL_CASES, check_result

Step = Sequence[tuple[str, dict[str, object] | str]] | str


class Script:
    """A FunctionModel body: answers with the next step (tool calls, or final text) and
    remembers what the agent showed it."""

    def __init__(self, *steps: Step) -> None:
        self._steps: Iterator[Step] = iter(steps)
        self.infos: list[AgentInfo] = []
        self.seen: list[list[ModelMessage]] = []

    def __call__(self, messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        self.infos.append(info)
        self.seen.append(list(messages))
        step = next(self._steps)
        if isinstance(step, str):
            return ModelResponse(parts=[TextPart(step)])
        return ModelResponse(
            parts=[
                ToolCallPart(name, args, tool_call_id=f"c{len(self.seen)}_{i}")
                for i, (name, args) in enumerate(step)
            ]
        )

    def model(self) -> FunctionModel:
        return FunctionModel(self)


def returns(messages: Sequence[ModelMessage]) -> list[ToolReturnPart]:
    return [
        part
        for message in messages
        if isinstance(message, ModelRequest)
        for part in message.parts
        if isinstance(part, ToolReturnPart)
    ]


@pytest.fixture
def config(tmp_path: Path) -> dict[str, object]:
    return {"memory_tool_backend": "local", "memory_tool_local_dir": str(tmp_path)}


@pytest.fixture
def tools(config: dict[str, object]) -> Iterator[MemoryTools]:
    with MemoryTools.from_config(config) as opened:
        yield opened


def test_every_tool_answers_as_the_shared_table_says(tools: MemoryTools) -> None:
    script = Script(*[[(case.name, dict(case.arguments))] for case in (*TOOL_CASES, ERROR_CASE)], "done")
    agent = PydanticAgent(script.model(), toolsets=[MemoryToolset(tools)])

    result = agent.run_sync("use every tool")

    assert result.output == "done"
    answered = returns(result.all_messages())
    assert len(answered) == len(TOOL_CASES) + 1
    for case, part in zip((*TOOL_CASES, ERROR_CASE), answered, strict=True):
        check_result(case, str(part.content), part.outcome == "failed")
    files = {str(entry.path): tools.workspace.read(str(entry.path)).text for entry in tools.workspace.walk()}
    assert files == FINAL_FILES


def test_calls_in_one_response_run_in_the_order_the_model_wrote_them(
    tools: MemoryTools,
) -> None:
    script = Script(
        [
            ("memory_create_update", {"path": "/log.md", "file_text": "one"}),
            ("memory_create_update", {"path": "/log.md", "file_text": "two", "mode": "append"}),
            ("memory_create_update", {"path": "/log.md", "file_text": "three", "mode": "append"}),
            ("memory_view", {"path": "/log.md"}),
        ],
        "done",
    )
    agent = PydanticAgent(script.model(), toolsets=[MemoryToolset(tools)])

    result = agent.run_sync("log three things")

    assert result.output == "done"
    assert tools.workspace.read("/log.md").text == "one\ntwo\nthree"
    viewed = returns(result.all_messages())[-1]
    assert viewed.outcome == "success"
    assert "three" in str(viewed.content)


def test_a_memory_tool_error_is_a_failed_tool_result_not_a_retry(tools: MemoryTools) -> None:
    # pydantic-ai's default budget is one retry; five failures in a row must not end the run.
    failing: list[Step] = [[("memory_view", {"path": f"/none{i}.md"})] for i in range(5)]
    script = Script(*failing, "ok")
    agent = PydanticAgent(script.model(), toolsets=[MemoryToolset(tools)])

    result = agent.run_sync("look")

    assert result.output == "ok"
    failed = returns(result.all_messages())
    assert [part.outcome for part in failed] == ["failed"] * 5
    assert all("/none" in str(part.content) for part in failed)


def test_one_failing_call_does_not_stop_the_others_in_the_same_response(
    tools: MemoryTools,
) -> None:
    script = Script(
        [
            ("memory_create_update", {"path": "/a.md", "file_text": "a"}),
            ("memory_str_replace", {"path": "/missing.md", "old_str": "x", "new_str": "y"}),
            ("memory_create_update", {"path": "/b.md", "file_text": "b"}),
        ],
        "ok",
    )
    agent = PydanticAgent(script.model(), toolsets=[MemoryToolset(tools)])

    result = agent.run_sync("go")

    assert [part.outcome for part in returns(result.all_messages())] == [
        "success",
        "failed",
        "success",
    ]
    assert tools.workspace.read("/a.md").text == "a"
    assert tools.workspace.read("/b.md").text == "b"


def test_arguments_that_are_not_a_json_object_are_retried_then_fail_the_run(
    tools: MemoryTools,
) -> None:
    script = Script(
        [("memory_create_update", '{"path": "/a.md", "file_text": ')],
        [("memory_create_update", '["/a.md", "text"]')],
    )
    agent = PydanticAgent(script.model(), toolsets=[MemoryToolset(tools, max_retries=1)])

    with pytest.raises(UnexpectedModelBehavior, match="exceeded max retries"):
        agent.run_sync("go")

    retried = returns(script.seen[-1])
    assert [part.outcome for part in retried] == ["retried"]
    assert not tools.workspace.exists("/a.md")


def test_the_toolset_adds_the_workspace_instruction(tools: MemoryTools) -> None:
    with_it, without_it = Script("ok"), Script("ok")

    PydanticAgent(with_it.model(), instructions="Be brief.", toolsets=[MemoryToolset(tools)]).run_sync("hi")
    PydanticAgent(
        without_it.model(),
        instructions="Be brief.",
        toolsets=[MemoryToolset(tools, instructions=False)],
    ).run_sync("hi")

    assert tools.instructions in (with_it.infos[0].instructions or "")
    assert "Be brief." in (with_it.infos[0].instructions or "")
    assert without_it.infos[0].instructions == "Be brief."


def test_tools_are_offered_with_the_core_schemas(tools: MemoryTools) -> None:
    script = Script("ok")

    PydanticAgent(script.model(), toolsets=[MemoryToolset(tools)]).run_sync("hi")

    offered = {tool.name: tool for tool in script.infos[0].function_tools}
    assert list(offered) == tools.names
    for definition in tools.definitions("json"):
        tool = offered[definition["name"]]
        assert tool.description == definition["description"]
        assert tool.parameters_json_schema == definition["parameters"]
        assert tool.sequential


def test_read_only_workspace_offers_only_the_read_tools(config: dict[str, object]) -> None:
    script = Script("ok")
    toolset = memory_toolset(config | {"memory_tool_read_only": True})

    PydanticAgent(script.model(), toolsets=[toolset]).run_sync("hi")

    assert [tool.name for tool in script.infos[0].function_tools] == READ_ONLY_TOOLS
    assert toolset.memory_tools.instructions in (script.infos[0].instructions or "")


def test_memspace_agent_runs_on_a_pydantic_ai_model_instance(
    config: dict[str, object], tmp_path: Path
) -> None:
    script = Script(
        [
            ("memory_create_update", {"path": "/x.md", "file_text": "1"}),
            ("memory_create_update", {"path": "/y.md", "file_text": "2"}),
        ],
        [("memory_view", {"path": "/"})],
        "two files",
    )
    agent = memspace.Agent(model_config=script.model(), agent_config=config | {"max_steps": 3})

    result = asyncio.run(agent.run("make two files"))

    assert result.output == "two files"
    assert result.usage.requests == 3  # a step is one model request, whatever it calls
    assert [call.name for call in result.tool_calls] == [
        "memory_create_update",
        "memory_create_update",
        "memory_view",
    ]
    assert (tmp_path / "default" / "x.md").read_text() == "1"
    assert (tmp_path / "default" / "y.md").read_text() == "2"
