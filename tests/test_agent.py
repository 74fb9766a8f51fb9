"""memspace.Agent end to end: a real openai / anthropic client talking to a scripted model
server on loopback, real memory tools on a real backend.

The backend is a fixture (``agent_backend``) so the same tests run on every store that can
hold a workspace shared across processes; add an entry to ``AGENT_BACKENDS`` to run them on
another one.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import memspace
from memspace.agent import (
    AgentResult,
    ModelBehaviorError,
    ModelProviderError,
    ToolCallRecord,
    Usage,
)
from memspace.errors import ConfigError
from memspace.tools import MemoryTools

from .conftest import DEFAULT_TOOLS, s3_environ, unique_prefix
from .support.model_server import (
    ModelServer,
    http_error,
    text,
    tool_call,
    tool_calls,
)
from .support.seaweed import SeaweedServer

SEED_INSTRUCTION = "You are a research assistant. Save your findings to memory."
SEED_PROMPT = "Research the latest AI developments and save a summary to /notes/ai_trends_2024.md"
SUMMARY = "# AI trends 2024\n\n- Agents with persistent memory\n- Small open models\n"
API_KEY = "sk-test-5ecret-key"

_ENV_TO_CLEAR = (
    "MEMORY_TOOL_BACKEND",
    "MEMORY_TOOL_LOCAL_DIR",
    "MEMORY_TOOL_PREFIX",
    "MEMORY_TOOL_NAMESPACE",
    "MEMORY_TOOL_READ_ONLY",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
)


# --- fixtures -------------------------------------------------------------------------------


@dataclass
class Backend:
    """A store the agent's workspace lives in: the ``memory_tool_*`` settings that select it
    (``config``) and the environment a process needs to reach it (``env``, e.g. credentials).
    ``root`` is the directory of a local backend, for checks on the files themselves."""

    name: str
    config: dict[str, object] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    root: Path | None = None

    def agent_config(self, namespace: str = "alice") -> dict[str, object]:
        return {"memory_tool_backend": self.name, "memory_tool_namespace": namespace} | self.config

    def process_env(self, namespace: str = "alice") -> dict[str, str]:
        """The same workspace selected through environment variables only."""
        settings = {key.upper(): str(value) for key, value in self.agent_config(namespace).items()}
        return self.env | settings

    def read(self, path: str, namespace: str = "alice") -> str | None:
        """The file's text as the workspace holds it, or None if it does not exist."""
        with MemoryTools.from_config(self.agent_config(namespace)) as tools:
            if not tools.workspace.exists(path):
                return None
            return tools.workspace.read(path).text


def _local(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    root = tmp_path / "memories"
    return Backend("local", config={"memory_tool_local_dir": str(root)}, root=root)


def _s3(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    server: SeaweedServer = request.getfixturevalue("seaweed")
    return Backend("s3", config={"memory_tool_prefix": unique_prefix()}, env=s3_environ(server))


# name -> factory; a factory may pull in what it needs with request.getfixturevalue(...)
# (an S3 peer, a bucket) and should give each test its own memory_tool_prefix.
AGENT_BACKENDS: dict[str, Callable[[pytest.FixtureRequest, Path], Backend]] = {"local": _local, "s3": _s3}


@pytest.fixture(params=sorted(AGENT_BACKENDS))
def agent_backend(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Backend:
    made = AGENT_BACKENDS[request.param](request, tmp_path)
    for name, value in made.env.items():
        monkeypatch.setenv(name, value)
    return made


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _ENV_TO_CLEAR:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server() -> Iterator[ModelServer]:
    with ModelServer() as running:
        yield running
        assert running.unexpected == 0, "the agent made more model requests than scripted"


def openai_config(server: ModelServer, **extra: object) -> dict[str, object]:
    return {
        "provider": "openai",
        "model": "gpt-4o",
        "base_url": server.base_url,
        "api_key": API_KEY,
    } | extra


def anthropic_config(server: ModelServer, **extra: object) -> dict[str, object]:
    return {
        "provider": "anthropic",
        "model": "claude-sonnet-4-6",
        "base_url": server.anthropic_base_url,
        "api_key": API_KEY,
    } | extra


def make_agent(
    server: ModelServer,
    agent_backend: Backend | None,
    *,
    namespace: str = "alice",
    max_steps: int = 10,
    model_config: dict[str, object] | None = None,
    **kwargs: object,
) -> memspace.Agent:
    agent_config: dict[str, object] = {"max_steps": max_steps}
    if agent_backend is not None:
        agent_config |= agent_backend.agent_config(namespace)
    return memspace.Agent(
        name="research_agent",
        system_instruction=SEED_INSTRUCTION,
        model_config=model_config or openai_config(server),
        agent_config=agent_config,
        **kwargs,  # type: ignore[arg-type]
    )


def run(agent: memspace.Agent, prompt: str = SEED_PROMPT) -> AgentResult:
    return asyncio.run(agent.run(prompt))


# --- the seed example -----------------------------------------------------------------------


SECOND_PROCESS = r"""
import json, sys
import memspace

spec = json.loads(sys.argv[1])
agent = memspace.Agent(
    name="research_agent",
    system_instruction="You are a research assistant. Save your findings to memory.",
    model_config=spec["model_config"],
    agent_config=spec["agent_config"],
)
result = agent.run_sync(spec["prompt"])
print(json.dumps({
    "output": result.output,
    "calls": [[c.name, c.result_text, c.is_error] for c in result.tool_calls],
}))
"""


def test_seed_example_saves_the_summary_and_a_new_process_reads_it(
    server: ModelServer, agent_backend: Backend
) -> None:
    server.script(
        tool_call("memory_view", {"path": "/"}),
        tool_call(
            "memory_create_update",
            {"path": "/notes/ai_trends_2024.md", "file_text": SUMMARY},
        ),
        text("I saved a summary to /notes/ai_trends_2024.md.", input_tokens=30, output_tokens=9),
    )
    agent = make_agent(server, agent_backend, max_steps=50)

    result = run(agent)

    assert result.completed and result.stopped_reason == "completed"
    assert result.output == "I saved a summary to /notes/ai_trends_2024.md."
    assert [(c.name, c.is_error) for c in result.tool_calls] == [
        ("memory_view", False),
        ("memory_create_update", False),
    ]
    assert result.tool_calls[1].args == {"path": "/notes/ai_trends_2024.md", "file_text": SUMMARY}
    assert result.usage == Usage(requests=3, input_tokens=11 + 11 + 30, output_tokens=7 + 7 + 9)
    assert agent_backend.read("/notes/ai_trends_2024.md") == SUMMARY
    if agent_backend.root is not None:
        on_disk = agent_backend.root / "alice" / "notes" / "ai_trends_2024.md"
        assert on_disk.read_text(encoding="utf-8") == SUMMARY

    # A new process, a new Agent, the same workspace: it sees what the first one saved.
    server.reset()
    server.script(
        tool_call("memory_view", {"path": "/notes/ai_trends_2024.md"}),
        text("The summary lists agents and small models."),
    )
    spec = {
        "model_config": openai_config(server),
        "agent_config": agent_backend.agent_config() | {"max_steps": 5},
        "prompt": "What did you find last time?",
    }
    completed = subprocess.run(
        [sys.executable, "-c", SECOND_PROCESS, json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=dict(os.environ),
    )
    assert completed.returncode == 0, completed.stderr
    second = json.loads(completed.stdout)
    assert second["output"] == "The summary lists agents and small models."
    [(name, seen, is_error)] = second["calls"]
    assert (name, is_error) == ("memory_view", False)
    assert "Agents with persistent memory" in seen
    # ...and that is what the model was shown.
    [shown] = server.requests[1].tool_results()
    assert "Agents with persistent memory" in shown.content


EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "research_agent.py"


def test_the_example_script_runs_end_to_end_against_the_loopback_server(
    server: ModelServer, agent_backend: Backend
) -> None:
    server.script(
        tool_call("memory_view", {"path": "/"}),
        tool_call("memory_create_update", {"path": "/notes/ai_trends_2024.md", "file_text": SUMMARY}),
        text("Summary saved."),
    )
    env = (
        dict(os.environ)
        | agent_backend.process_env("alice")
        | {
            "MEMSPACE_MODEL_PROVIDER": "openai",
            "MEMSPACE_MODEL": "gpt-4o",
            "MEMSPACE_MODEL_BASE_URL": server.base_url,
            "MEMSPACE_MODEL_API_KEY": API_KEY,
        }
    )

    completed = subprocess.run(
        [sys.executable, str(EXAMPLE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("Summary saved.")
    assert "[ok] memory_create_update /notes/ai_trends_2024.md" in completed.stdout
    assert server.requests[0].body["messages"][-1]["content"] == SEED_PROMPT
    assert agent_backend.read("/notes/ai_trends_2024.md") == SUMMARY


def test_model_is_offered_the_memory_tools_and_the_workspace_instruction(
    server: ModelServer, agent_backend: Backend
) -> None:
    server.script(text("ok"))
    agent = make_agent(server, agent_backend)

    run(agent, "hello")

    [request] = server.requests
    assert request.tool_names == DEFAULT_TOOLS
    system = request.system_text
    assert SEED_INSTRUCTION in system
    assert agent.memory_tools is not None
    assert agent.memory_tools.instructions in system
    assert system.index(SEED_INSTRUCTION) < system.index(agent.memory_tools.instructions)
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.body["model"] == "gpt-4o"


def test_without_memory_tool_backend_the_agent_has_no_memory_tools(server: ModelServer) -> None:
    server.script(text("hi"))
    agent = make_agent(server, None)

    result = run(agent, "hello")

    assert result.output == "hi"
    assert agent.memory_tools is None
    [request] = server.requests
    assert request.tool_names == []
    assert request.system_text == SEED_INSTRUCTION
    assert "memory workspace" not in request.system_text


def test_memory_tool_backend_from_the_environment_counts_as_set(
    server: ModelServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEMORY_TOOL_BACKEND", "local")
    monkeypatch.setenv("MEMORY_TOOL_LOCAL_DIR", str(tmp_path))
    server.script(tool_call("memory_create_update", {"path": "/env.md", "file_text": "x"}), text("ok"))
    agent = make_agent(server, None)

    run(agent, "hello")

    assert "memory_view" in server.requests[0].tool_names
    assert (tmp_path / "default" / "env.md").read_text() == "x"


def test_two_namespaces_in_one_root_never_see_each_others_files(
    server: ModelServer, agent_backend: Backend
) -> None:
    server.script(
        tool_call("memory_create_update", {"path": "/notes/plan.md", "file_text": "alice's plan"}),
        text("saved"),
        tool_calls(("memory_view", {"path": "/"}), ("memory_view", {"path": "/notes/plan.md"})),
        tool_call("memory_create_update", {"path": "/notes/plan.md", "file_text": "bob's plan"}),
        text("done"),
    )
    alice = make_agent(server, agent_backend, namespace="alice")
    bob = make_agent(server, agent_backend, namespace="bob")

    run(alice, "save your plan")
    result = run(bob, "look around, then save your plan")

    root_view, alices_file, bobs_create = result.tool_calls
    assert not root_view.is_error and "plan.md" not in root_view.result_text
    assert alices_file.is_error and "alice" not in alices_file.result_text
    assert not bobs_create.is_error  # no collision with alice's file of the same name
    assert agent_backend.read("/notes/plan.md", namespace="alice") == "alice's plan"
    assert agent_backend.read("/notes/plan.md", namespace="bob") == "bob's plan"


def test_user_tools_are_offered_next_to_the_memory_tools(server: ModelServer, agent_backend: Backend) -> None:
    def word_count(text: str) -> int:
        """Count the words in a text."""
        return len(text.split())

    server.script(
        tool_call("word_count", {"text": "three little words"}),
        tool_call("memory_create_update", {"path": "/count.md", "file_text": "3"}),
        text("3 words"),
    )
    agent = make_agent(server, agent_backend, tools=[word_count])

    result = run(agent, "count")

    offered = server.requests[0].tool_names
    assert offered == ["word_count", *DEFAULT_TOOLS]
    assert result.tool_calls[0] == ToolCallRecord(
        name="word_count", args={"text": "three little words"}, result_text="3", is_error=False
    )
    assert agent_backend.read("/count.md") == "3"


# --- errors the model can recover from -----------------------------------------------------


def test_memory_tool_error_goes_back_to_the_model_which_recovers(
    server: ModelServer, agent_backend: Backend
) -> None:
    path = "/notes/ai_trends_2024.md"
    server.script(
        tool_call("memory_create_update", {"path": path, "file_text": "first"}),
        tool_call("memory_create_update", {"path": path, "file_text": "second"}),
        tool_call("memory_create_update", {"path": path, "file_text": "second", "mode": "overwrite"}),
        text("overwrote it"),
    )
    agent = make_agent(server, agent_backend)

    result = run(agent)

    assert result.completed
    assert [c.is_error for c in result.tool_calls] == [False, True, False]
    assert "already exists" in result.tool_calls[1].result_text
    # OpenAI has no error flag on tool results: pydantic-ai marks the text as an error.
    error_shown = server.requests[2].tool_results()[-1].content
    assert json.loads(error_shown) == {"error": result.tool_calls[1].result_text}
    assert agent_backend.read(path) == "second"


def test_memory_tool_errors_do_not_use_up_the_retry_budget(
    server: ModelServer, agent_backend: Backend
) -> None:
    # Six failed calls in a row of the same tool: more than any retry budget, yet the run
    # goes on, because a tool error is the model's to handle; max_steps is the bound.
    server.script(
        *[tool_call("memory_view", {"path": f"/missing{i}.md"}) for i in range(6)],
        text("nothing there"),
    )
    agent = make_agent(server, agent_backend, max_steps=10)

    result = run(agent, "look")

    assert result.completed and result.output == "nothing there"
    assert [c.is_error for c in result.tool_calls] == [True] * 6


def test_unknown_tool_is_reported_to_the_model_and_the_run_goes_on(
    server: ModelServer, agent_backend: Backend
) -> None:
    server.script(
        tool_call("web_search", {"query": "AI 2024"}),
        tool_call("memory_create_update", {"path": "/notes/a.md", "file_text": "a"}),
        text("done"),
    )
    agent = make_agent(server, agent_backend)

    result = run(agent)

    assert result.completed
    unknown, created = result.tool_calls
    assert unknown.is_error and unknown.name == "web_search"
    assert "Unknown tool name: 'web_search'" in unknown.result_text
    assert "Unknown tool name: 'web_search'" in server.requests[1].tool_results()[0].content
    assert not created.is_error
    assert agent_backend.read("/notes/a.md") == "a"


def test_a_model_that_keeps_calling_unknown_tools_ends_with_model_behavior_error(
    server: ModelServer, agent_backend: Backend
) -> None:
    server.script(
        tool_call("memory_create_update", {"path": "/before.md", "file_text": "kept"}),
        *[tool_call("web_search", {"query": "x"}) for _ in range(4)],
    )
    agent = make_agent(server, agent_backend)

    with pytest.raises(ModelBehaviorError, match="web_search") as caught:
        run(agent)

    partial = caught.value.partial
    assert partial.stopped_reason == "error"
    assert [c.name for c in partial.tool_calls] == ["memory_create_update"] + ["web_search"] * 4
    assert agent_backend.read("/before.md") == "kept"


def test_malformed_json_arguments_write_nothing_and_the_model_can_retry(
    server: ModelServer, agent_backend: Backend
) -> None:
    broken = '{"path": "/notes/a.md", "file_text": "half a cal'
    server.script(
        tool_call("memory_create_update", broken),
        tool_call("memory_create_update", {"path": "/notes/a.md", "file_text": "whole"}),
        text("done"),
    )
    agent = make_agent(server, agent_backend)

    result = run(agent)

    bad, good = result.tool_calls
    assert bad.is_error and bad.args == broken
    assert "json_invalid" in bad.result_text
    assert "json_invalid" in server.requests[1].tool_results()[0].content
    # the half call wrote nothing: the retry's create found no file in its way
    assert not good.is_error
    assert agent_backend.read("/notes/a.md") == "whole"


def test_malformed_json_alone_writes_nothing(server: ModelServer, agent_backend: Backend) -> None:
    server.script(
        tool_call("memory_create_update", '{"path": "/notes/a.md", "file_text": "x"'),
        text("gave up"),
    )
    agent = make_agent(server, agent_backend)

    result = run(agent)

    assert result.output == "gave up"
    assert agent_backend.read("/notes/a.md") is None


# --- bounds and failures -------------------------------------------------------------------


def test_max_steps_reached_gives_a_clear_result(server: ModelServer, agent_backend: Backend) -> None:
    server.script(
        *[
            tool_call("memory_create_update", {"path": f"/step{i}.md", "file_text": str(i)})
            for i in range(1, 6)
        ]
    )
    agent = make_agent(server, agent_backend, max_steps=3)

    result = run(agent)

    assert result.stopped_reason == "max_steps" and not result.completed
    assert "max_steps=3" in result.output
    assert len(server.requests) == 3 and server.remaining == 2
    assert result.usage.requests == 3
    assert [c.args for c in result.tool_calls] == [
        {"path": f"/step{i}.md", "file_text": str(i)} for i in (1, 2, 3)
    ]
    assert [agent_backend.read(f"/step{i}.md") for i in range(1, 6)] == ["1", "2", "3", None, None]
    server.reset()  # the unconsumed answers were never asked for


def test_provider_500_after_the_client_retries_is_a_typed_error_without_the_key(
    server: ModelServer, agent_backend: Backend
) -> None:
    server.script(
        tool_call("memory_create_update", {"path": "/done.md", "file_text": "finished step"}),
        *[http_error(500, f"upstream exploded (key {API_KEY})")] * 3,
    )
    agent = make_agent(server, agent_backend)

    with pytest.raises(ModelProviderError) as caught:
        run(agent)

    error = caught.value
    assert error.status_code == 500
    assert "500" in str(error) and "upstream exploded" in str(error)
    assert API_KEY not in str(error)
    # one good request, then the first attempt and the openai client's 2 retries
    assert len(server.requests) == 4
    assert error.partial.stopped_reason == "error"
    assert [c.name for c in error.partial.tool_calls] == ["memory_create_update"]
    assert agent_backend.read("/done.md") == "finished step"


def test_a_transient_500_is_retried_by_the_client(server: ModelServer, agent_backend: Backend) -> None:
    server.script(http_error(500), text("fine"))
    agent = make_agent(server, agent_backend)

    assert run(agent).output == "fine"
    assert len(server.requests) == 2


def test_max_retries_setting_reaches_the_client(server: ModelServer, agent_backend: Backend) -> None:
    server.script(http_error(503))
    agent = make_agent(server, agent_backend, model_config=openai_config(server, max_retries=0))

    with pytest.raises(ModelProviderError) as caught:
        run(agent)

    assert caught.value.status_code == 503
    assert len(server.requests) == 1


def test_unreachable_provider_is_a_model_provider_error(agent_backend: Backend) -> None:
    with ModelServer() as gone:
        dead_url = gone.base_url
    agent = memspace.Agent(
        model_config={
            "provider": "openai",
            "model": "gpt-4o",
            "base_url": dead_url,
            "max_retries": 0,
        },
        agent_config=agent_backend.agent_config(),
    )

    with pytest.raises(ModelProviderError) as caught:
        run(agent)

    assert caught.value.status_code is None


@pytest.mark.parametrize(
    ("config", "setting"),
    [
        (openai_config, "fix model_config['api_key']"),
        (anthropic_config, "fix ANTHROPIC_API_KEY or model_config"),
    ],
    ids=["openai", "anthropic"],
)
def test_provider_401_says_fix_the_api_key_not_retry(
    server: ModelServer, config: Callable[[ModelServer], dict[str, object]], setting: str
) -> None:
    server.script(http_error(401, "Incorrect API key provided"))
    agent = make_agent(server, None, model_config=config(server))

    with pytest.raises(ModelProviderError) as caught:
        run(agent)

    message = str(caught.value)
    assert caught.value.status_code == 401
    assert "refused the API key" in message and setting in message
    assert "later" not in message and "status" not in message.partition("HTTP 401")[2]
    assert API_KEY not in message
    assert len(server.requests) == 1  # a refused key is not retried


@pytest.mark.parametrize(
    ("status", "advice"),
    [(404, "does not know model 'gpt-4o'"), (429, "quota"), (503, "retry later")],
)
def test_provider_errors_get_the_advice_of_their_cause(server: ModelServer, status: int, advice: str) -> None:
    server.script(*[http_error(status)] * 3)
    agent = make_agent(server, None, model_config=openai_config(server, max_retries=0))

    with pytest.raises(ModelProviderError) as caught:
        run(agent)

    assert advice in str(caught.value)
    assert ("API key" in str(caught.value)) is False
    server.reset()


@pytest.mark.parametrize(
    ("change", "advice", "wrong"),
    [
        ({"AWS_S3_BUCKET": "no-such-bucket"}, "the S3 bucket does not exist; create it", "no-such-bucket"),
        ({"AWS_SECRET_ACCESS_KEY": "wrong-secret"}, "S3 refused the credentials", "wrong-secret"),
    ],
    ids=["missing bucket", "wrong credentials"],
)
def test_storage_failures_reach_the_model_with_advice_that_fits_the_cause(
    server: ModelServer,
    seaweed: SeaweedServer,
    monkeypatch: pytest.MonkeyPatch,
    change: dict[str, str],
    advice: str,
    wrong: str,
) -> None:
    for name, value in (s3_environ(seaweed) | change).items():
        monkeypatch.setenv(name, value)
    server.script(tool_call("memory_view", {"path": "/"}), text("The memory storage is not usable."))
    agent = make_agent(server, Backend("s3", config={"memory_tool_prefix": unique_prefix()}))

    result = run(agent)

    seen = server.requests[-1].tool_results()[0].content
    assert advice in seen
    if "credentials" in advice:
        assert "fix AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" in seen
    for vague in ("later", "operator", "try again"):
        assert vague not in seen
    assert wrong not in seen and "127.0.0.1" not in seen
    assert [(c.name, c.is_error) for c in result.tool_calls] == [("memory_view", True)]
    assert advice in result.tool_calls[0].result_text


# --- providers and configuration -----------------------------------------------------------


def test_exact_seed_model_config_uses_openai_with_the_key_from_the_environment(
    server: ModelServer, agent_backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)  # the openai client's own variable
    server.script(text("ok"))
    agent = memspace.Agent(
        name="research_agent",
        system_instruction=SEED_INSTRUCTION,
        model_config={"provider": "openai", "model": "gpt-4o"},
        agent_config=agent_backend.agent_config() | {"max_steps": 50},
    )

    assert run(agent).output == "ok"
    assert server.requests[0].headers["authorization"] == "Bearer sk-from-env"


def test_openai_without_a_key_is_a_config_error_naming_the_variable() -> None:
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        memspace.Agent(model_config={"provider": "openai", "model": "gpt-4o"})


def test_anthropic_provider_end_to_end(server: ModelServer, agent_backend: Backend) -> None:
    server.script(
        tool_call("memory_create_update", {"path": "/notes/ai_trends_2024.md", "file_text": SUMMARY}),
        tool_call("memory_create_update", {"path": "/notes/ai_trends_2024.md", "file_text": "again"}),
        text("Saved."),
    )
    agent = make_agent(server, agent_backend, model_config=anthropic_config(server))

    result = run(agent)

    assert result.output == "Saved."
    assert agent_backend.read("/notes/ai_trends_2024.md") == SUMMARY
    first, last = server.requests[0], server.requests[-1]
    assert first.path == "/v1/messages"
    assert API_KEY in first.headers.get("x-api-key", first.headers.get("authorization", ""))
    assert "memory_view" in first.tool_names
    assert SEED_INSTRUCTION in first.system_text
    created, refused = last.tool_results()
    # Anthropic's native error flag carries the memory-tool error
    assert created.is_error is False
    assert refused.is_error is True and "already exists" in refused.content


def test_model_settings_pass_through_to_the_request(server: ModelServer, agent_backend: Backend) -> None:
    server.script(text("ok"))
    agent = make_agent(
        server, agent_backend, model_config=openai_config(server, temperature=0.2, max_tokens=256)
    )

    run(agent, "hi")

    body = server.requests[0].body
    assert body["temperature"] == 0.2
    assert body.get("max_tokens", body.get("max_completion_tokens")) == 256


@pytest.mark.parametrize(
    ("model_config", "agent_config", "message"),
    [
        ({"provider": "gemini", "model": "x"}, {}, "provider"),
        ({"provider": "openai"}, {}, "model"),
        (
            {"provider": "openai", "model": "m", "base_url": "http://127.0.0.1:9/v1", "tempreature": 1},
            {},
            "tempreature",
        ),
        (
            {"provider": "openai", "model": "m", "base_url": "http://127.0.0.1:9/v1"},
            {"max_steps": 0},
            "max_steps",
        ),
        (
            {"provider": "openai", "model": "m", "base_url": "http://127.0.0.1:9/v1"},
            {"max_step": 5},
            "max_step",
        ),
        (
            {"provider": "openai", "model": "m", "base_url": "http://127.0.0.1:9/v1"},
            {"memory_tool_namespace": "alice"},
            "memory_tool_backend",
        ),
        (
            {"provider": "openai", "model": "m", "base_url": "http://127.0.0.1:9/v1"},
            {"memory_tool_backend": "local", "memory_tool_colour": "red"},
            "memory_tool_colour",
        ),
    ],
)
def test_bad_configuration_is_a_config_error_at_construction(
    model_config: dict[str, object], agent_config: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        memspace.Agent(model_config=model_config, agent_config=agent_config)


def test_run_sync_runs_twice_and_refuses_a_running_loop(server: ModelServer, agent_backend: Backend) -> None:
    server.script(text("one"), text("two"), text("never"))
    agent = make_agent(server, agent_backend)

    assert agent.run_sync("a").output == "one"
    assert agent.run_sync("b").output == "two"

    async def inside_a_loop() -> None:
        agent.run_sync("c")

    with pytest.raises(RuntimeError, match=r"await agent\.run"):
        asyncio.run(inside_a_loop())
    agent.close()
    server.reset()


def test_the_docs_name_every_backend_the_agent_tests_run_on() -> None:
    doc = (Path(__file__).resolve().parent.parent / "docs" / "agent.md").read_text()
    sentence = " ".join(doc[doc.index("runs each test on every entry of `AGENT_BACKENDS`") :].split())
    sentence = sentence[: sentence.index(";")]
    assert re.findall(r"`(\w+)`", sentence.partition(":")[2]) == sorted(AGENT_BACKENDS)


def test_the_agents_writes_are_recorded_under_its_name_unless_an_actor_is_set(
    server: ModelServer, agent_backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.script(
        tool_call("memory_create_update", {"path": "/a.md", "file_text": "one"}),
        text("done"),
        tool_call("memory_create_update", {"path": "/a.md", "file_text": "two", "mode": "append"}),
        text("done"),
        tool_call("memory_create_update", {"path": "/a.md", "file_text": "three", "mode": "append"}),
        text("done"),
    )
    assert run(make_agent(server, agent_backend)).completed
    reviewer = memspace.Agent(
        name="research_agent",
        model_config=openai_config(server),
        agent_config=agent_backend.agent_config() | {"memory_tool_actor": "reviewer"},
    )
    assert run(reviewer).completed
    monkeypatch.setenv("MEMORY_TOOL_ACTOR", "from-env")
    assert run(make_agent(server, agent_backend)).completed
    with MemoryTools.from_config(agent_backend.agent_config()) as tools:
        actors = [(v.operation, v.actor) for v in tools.workspace.history("/a.md")]
    assert actors == [("append", "from-env"), ("append", "reviewer"), ("create", "research_agent")]
