"""The LangChain adapter, driven by LangChain's own agent loop (``create_agent``, on LangGraph)
and by a strict ``bind_tools`` loop, with the real ``ChatOpenAI`` client talking to the scripted
model server on loopback, and the workspace on local disk and on the SeaweedFS S3 peer.
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
from agents.strict_schema import ensure_strict_json_schema
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool, ToolException
from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_openai import ChatOpenAI

from memspace import MemoryTools
from memspace.errors import MissingDependencyError
from memspace.integrations.langchain import MemoryTool, memory_tools

from .conftest import DEFAULT_TOOLS, READ_ONLY_TOOLS
from .support.gated_tools import GatedTools
from .support.model_server import ModelServer, Reply, text, tool_call
from .support.tool_cases import ERROR_CASE, FINAL_FILES, TOOL_CASES, check_result, strict_arguments

API_KEY = "sk-test-langchain-key"

pytestmark = pytest.mark.usefixtures("no_langsmith")


def chat_model(server: ModelServer) -> ChatOpenAI:
    return ChatOpenAI(model="gpt-4o", base_url=server.base_url, api_key=API_KEY, max_retries=0)  # type: ignore[arg-type]


def files(config: Mapping[str, object]) -> dict[str, str]:
    with MemoryTools.from_config(config) as tools:
        return {str(e.path): tools.workspace.read(str(e.path)).text for e in tools.workspace.walk("/")}


def tool_messages(messages: list[BaseMessage]) -> list[ToolMessage]:
    return [message for message in messages if isinstance(message, ToolMessage)]


def invoke_agent(agent: Any, mode: str, prompt: str = "go") -> dict[str, Any]:
    state = {"messages": [{"role": "user", "content": prompt}]}
    config = {"recursion_limit": 2 * len(TOOL_CASES) + 5}
    if mode == "async":
        return dict(asyncio.run(agent.ainvoke(state, config=config)))
    return dict(agent.invoke(state, config=config))


# -- every tool, through create_agent (sync and async) -------------------------------


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_every_tool_works_in_a_create_agent_loop(
    server: ModelServer, agent_config: dict[str, object], mode: str
) -> None:
    # A model without strict mode sends only the arguments it gives.
    server.script(*[tool_call(case.name, dict(case.arguments)) for case in TOOL_CASES], text("done"))
    agent = create_agent(chat_model(server), tools=memory_tools(agent_config), system_prompt="Keep notes.")

    state = invoke_agent(agent, mode)

    assert state["messages"][-1].content == "done"
    results = tool_messages(state["messages"])
    assert len(results) == len(TOOL_CASES)
    for case, message in zip(TOOL_CASES, results, strict=True):
        check_result(case, str(message.content), message.status == "error")
    seen = server.requests[-1].tool_results()
    assert [result.content for result in seen] == [message.content for message in results]
    assert files(agent_config) == FINAL_FILES


def test_a_memory_tool_error_is_an_error_tool_message_the_model_reads(
    server: ModelServer, agent_config: dict[str, object]
) -> None:
    server.script(tool_call(ERROR_CASE.name, dict(ERROR_CASE.arguments)), text("it is not there"))
    agent = create_agent(chat_model(server), tools=memory_tools(agent_config))

    state = invoke_agent(agent, "sync")

    [message] = tool_messages(state["messages"])
    assert message.status == "error"
    check_result(ERROR_CASE, str(message.content), is_error=True)
    [seen] = server.requests[-1].tool_results()
    assert seen.content == message.content  # what the model was shown
    assert state["messages"][-1].content == "it is not there"  # the loop went on


# -- strict mode -----------------------------------------------------------------------


def test_bind_tools_strict_sends_the_strict_schemas(server: ModelServer) -> None:
    workspace = MemoryTools.from_config({"memory_tool_backend": "memory"})
    server.script(text("ok"))

    chat_model(server).bind_tools(memory_tools(workspace), strict=True).invoke("hi")

    sent = server.requests[0].body["tools"]
    assert sent == workspace.definitions("openai")  # strict: every argument required, optional ones nullable
    for tool in sent:
        parameters = tool["function"]["parameters"]
        assert ensure_strict_json_schema(copy.deepcopy(parameters)) == parameters


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_every_tool_works_in_a_strict_bind_tools_loop(
    server: ModelServer, agent_config: dict[str, object], mode: str
) -> None:
    tools = memory_tools(agent_config)
    by_name = {tool.name: tool for tool in tools}
    properties = {
        tool.name: convert_to_openai_tool(tool, strict=True)["function"]["parameters"]["properties"]
        for tool in tools
    }
    turns: list[Reply] = [
        tool_call(case.name, strict_arguments(case, properties[case.name])) for case in TOOL_CASES
    ]
    server.script(*turns, text("done"))
    model = chat_model(server).bind_tools(tools, strict=True)

    async def loop() -> list[BaseMessage]:
        # The loop LangChain's docs write by hand: call the model, run its tool calls, repeat.
        messages: list[BaseMessage] = [HumanMessage("go")]
        while True:
            reply = await model.ainvoke(messages) if mode == "async" else model.invoke(messages)
            assert isinstance(reply, AIMessage)
            messages.append(reply)
            if not reply.tool_calls:
                return messages
            for call in reply.tool_calls:
                tool = by_name[call["name"]]
                done = await tool.ainvoke(call) if mode == "async" else tool.invoke(call)
                messages.append(done)

    messages = asyncio.run(loop())

    assert messages[-1].content == "done"
    results = tool_messages(messages)
    for case, message in zip(TOOL_CASES, results, strict=True):
        check_result(case, str(message.content), message.status == "error")
    assert all(tool["function"]["strict"] is True for tool in server.requests[0].body["tools"])
    assert files(agent_config) == FINAL_FILES


# -- the tools themselves ----------------------------------------------------------------


@pytest.fixture
def workspace() -> MemoryTools:
    return MemoryTools.from_config({"memory_tool_backend": "memory"})


def test_the_tools_carry_the_core_names_descriptions_and_schemas(workspace: MemoryTools) -> None:
    tools = memory_tools(workspace)

    assert [tool.name for tool in tools] == DEFAULT_TOOLS
    for tool, definition in zip(tools, workspace.definitions("json"), strict=True):
        assert isinstance(tool, MemoryTool)
        assert tool.description == definition["description"]
        assert tool.args_schema == definition["parameters"]
        assert tool.memory_tools is workspace


def test_an_error_from_invoke_with_plain_arguments_is_the_error_text(workspace: MemoryTools) -> None:
    [view, *_] = memory_tools(workspace)

    assert view.invoke({"path": "/missing.md"}) == ERROR_CASE.expect[0]


def test_with_handle_tool_error_off_the_error_is_raised_as_a_tool_exception(workspace: MemoryTools) -> None:
    view = MemoryTool.for_tool(workspace, "memory_view")
    view.handle_tool_error = False

    with pytest.raises(ToolException, match="does not exist"):
        view.invoke({"path": "/missing.md"})


def test_argument_names_that_clash_with_python_are_plain_unknown_arguments(workspace: MemoryTools) -> None:
    view = MemoryTool.for_tool(workspace, "memory_view")
    call = {"type": "tool_call", "id": "c1", "name": "memory_view", "args": {"path": "/", "self": 1}}

    message = view.invoke(call)

    assert isinstance(message, ToolMessage) and message.status == "error"
    assert message.content == "memory_view has no argument 'self'; it takes: path, view_range, column."


def test_ainvoke_runs_the_call_off_the_event_loop(workspace: MemoryTools) -> None:
    gated = GatedTools(workspace.workspace)
    view: BaseTool = memory_tools(gated)[0]

    async def main() -> Any:
        async def open_the_gate_once_the_call_started() -> None:
            while not gated.started.is_set():
                await asyncio.sleep(0.01)
            gated.gate.set()

        opener = asyncio.create_task(open_the_gate_once_the_call_started())
        result = await view.ainvoke({"path": "/"})
        await opener
        return result

    assert asyncio.run(main()) == "The workspace root / is empty."


def test_a_read_only_workspace_gives_only_the_read_tools(tmp_path: Path) -> None:
    config = {
        "memory_tool_backend": "local",
        "memory_tool_local_dir": str(tmp_path),
        "memory_tool_read_only": True,
    }

    assert [tool.name for tool in memory_tools(config)] == READ_ONLY_TOOLS


def test_asking_for_a_tool_the_workspace_does_not_offer_is_refused(workspace: MemoryTools) -> None:
    with pytest.raises(ValueError, match="There is no tool named 'memory_teleport'"):
        MemoryTool.for_tool(workspace, "memory_teleport")


def test_without_langchain_the_import_says_which_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "langchain_core.tools", None)  # what an absent package looks like
    monkeypatch.delitem(sys.modules, "memspace.integrations.langchain")

    with pytest.raises(MissingDependencyError) as raised:
        importlib.import_module("memspace.integrations.langchain")

    assert str(raised.value) == (
        'The LangChain integration needs langchain-core; install it with: pip install "memspace[langchain]"'
    )
