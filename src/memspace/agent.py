"""memspace.Agent: an agent that gets its memory tools automatically.

    agent = memspace.Agent(
        name="research_agent",
        system_instruction="You are a research assistant. Save your findings to memory.",
        model_config={"provider": "openai", "model": "gpt-4o"},
        agent_config={"memory_tool_backend": "s3", "max_steps": 50},
    )
    result = await agent.run("Research X and save a summary to /notes/x.md")
    result.output, result.tool_calls, result.usage, result.stopped_reason

Built on pydantic-ai (``pip install "memspace[agent]"``), which is imported only when an
``Agent`` is created: the result types below import without it.

The run's outcomes:

- ``AgentResult(stopped_reason="completed")``: the model gave its final answer;
- ``AgentResult(stopped_reason="max_steps")``: the step bound was reached first; the work done
  so far (files written, tool calls) is in the result, ``output`` says what happened;
- a memory-tool error never ends a run: the model gets it as a failed tool call and adapts;
- exceptions, for runs that cannot go on (each carries ``.partial``, the result so far):

      AgentError                the run could not finish
      ├── ModelProviderError    the provider failed: HTTP error after the client's retries,
      │                         unreachable, authentication ...
      └── ModelBehaviorError    the model kept sending unusable output (unknown tool names,
                                malformed arguments) past the retry budget

  Bad ``model_config`` / ``agent_config`` raise ``memspace.errors.ConfigError`` when the Agent
  is created; a missing pydantic-ai raises ``memspace.errors.MissingDependencyError``.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast

from memspace.errors import ConfigError, MemspaceError, MissingDependencyError

if TYPE_CHECKING:
    from pydantic_ai import Agent as PydanticAgent
    from pydantic_ai.messages import ModelMessage
    from pydantic_ai.models import Model
    from pydantic_ai.settings import ModelSettings
    from pydantic_ai.tools import Tool
    from pydantic_ai.toolsets import AbstractToolset
    from pydantic_ai.usage import RunUsage

    from memspace.tools import MemoryTools

__all__ = [
    "DEFAULT_MAX_STEPS",
    "Agent",
    "AgentError",
    "AgentResult",
    "ModelBehaviorError",
    "ModelProviderError",
    "StoppedReason",
    "ToolCallRecord",
    "Usage",
]

DEFAULT_MAX_STEPS = 50
"""Model requests one ``run()`` may make when ``agent_config`` sets no ``max_steps``."""

PROVIDERS = ("openai", "anthropic")

_MODEL_KEYS = frozenset({"provider", "model", "base_url", "api_key"})
_AGENT_KEYS = frozenset({"max_steps"})
_MEMORY_PREFIX = "memory_tool_"

StoppedReason = Literal["completed", "max_steps", "error"]
"""Why a run ended; ``"error"`` appears only on ``AgentError.partial``."""


# --- results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ToolCallRecord:
    """One tool call the model made during a run, with what it got back.

    ``args`` is the parsed JSON object, or the raw text when the model sent arguments that are
    not a JSON object (those calls are errors and never reach the tool).
    """

    name: str
    args: Mapping[str, object] | str
    result_text: str
    is_error: bool


@dataclass(frozen=True)
class Usage:
    """Model requests made and tokens spent in a run."""

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class AgentResult:
    """What ``Agent.run()`` returns.

    >>> AgentResult(output="done").completed
    True
    """

    output: str
    tool_calls: tuple[ToolCallRecord, ...] = ()
    usage: Usage = field(default_factory=Usage)
    stopped_reason: StoppedReason = "completed"

    @property
    def completed(self) -> bool:
        """True when the model gave its final answer (not cut off by ``max_steps``)."""
        return self.stopped_reason == "completed"


class AgentError(MemspaceError):
    """A run that could not finish. ``partial`` is the result up to the failure."""

    def __init__(self, message: str, *, partial: AgentResult | None = None) -> None:
        super().__init__(message)
        self.partial = partial if partial is not None else AgentResult(output="", stopped_reason="error")


class ModelProviderError(AgentError):
    """The model provider failed (after the client's own retries). ``status_code`` is the
    HTTP status when there was one."""

    def __init__(
        self, message: str, *, status_code: int | None = None, partial: AgentResult | None = None
    ) -> None:
        super().__init__(message, partial=partial)
        self.status_code = status_code


class ModelBehaviorError(AgentError):
    """The model kept answering with something the agent cannot use."""


# --- the agent -----------------------------------------------------------------------------


class Agent:
    """An LLM agent whose memory tools are registered for it.

    When ``agent_config["memory_tool_backend"]`` is set, the agent gets the workspace's memory
    tools (``MemoryTools.from_config(agent_config)``) and their short usage instruction after
    ``system_instruction``; when it is not set, it gets neither.

    Args:
        name: the agent's name (logs and traces).
        system_instruction: the agent's instructions.
        model_config: ``{"provider": "openai" | "anthropic", "model": ..., "base_url"?: ...,
            "api_key"?: ..., **model settings}``; any other key must be a pydantic-ai model
            setting (``temperature``, ``max_tokens``, ``timeout``, ``max_retries`` ...). A
            pydantic-ai ``Model`` instance is accepted as well.
        agent_config: ``memory_tool_*`` settings for the workspace and ``max_steps``, the
            number of model requests one run may make (default 50).
        tools: extra tools next to the memory tools: plain functions or pydantic-ai ``Tool``s.
        toolsets: extra pydantic-ai toolsets.
    """

    def __init__(
        self,
        *,
        name: str = "agent",
        system_instruction: str = "",
        model_config: Mapping[str, object] | Model,
        agent_config: Mapping[str, object] | None = None,
        tools: Sequence[Tool[None] | Callable[..., Any]] = (),
        toolsets: Sequence[AbstractToolset[None]] = (),
    ) -> None:
        pydantic_ai = _import_pydantic_ai()
        from memspace.integrations.pydantic_ai import DEFAULT_TOOL_RETRIES, MemoryToolset

        config = dict(agent_config or {})
        self._name = name
        self._system_instruction = system_instruction
        self._max_steps = _max_steps(config)
        model, settings, self._secret = _build_model(model_config)
        self._key_setting = _key_setting(model_config)
        self._memory_tools = _memory_tools(config, actor=name)  # last: it opens the store

        all_toolsets: list[AbstractToolset[None]] = []
        if self._memory_tools is not None:
            all_toolsets.append(MemoryToolset(self._memory_tools))
        all_toolsets.extend(toolsets)
        self._agent: PydanticAgent[None, str] = pydantic_ai.Agent(
            model,
            name=name,
            instructions=system_instruction or None,
            model_settings=settings,
            retries={"tools": DEFAULT_TOOL_RETRIES},
            tools=list(tools),
            toolsets=all_toolsets,
        )
        self._runner: asyncio.Runner | None = None

    @property
    def name(self) -> str:
        return self._name

    @property
    def system_instruction(self) -> str:
        return self._system_instruction

    @property
    def max_steps(self) -> int:
        return self._max_steps

    @property
    def memory_tools(self) -> MemoryTools | None:
        """The agent's workspace tools, or None when ``memory_tool_backend`` is not set."""
        return self._memory_tools

    @property
    def pydantic_agent(self) -> PydanticAgent[None, str]:
        """The underlying pydantic-ai agent, for what this class does not wrap."""
        return self._agent

    async def run(self, prompt: str) -> AgentResult:
        """Run the tool loop on ``prompt`` until the model answers or ``max_steps`` is reached.

        Raises ``ModelProviderError`` / ``ModelBehaviorError`` (see the module docstring).
        """
        from pydantic_ai import UsageLimits
        from pydantic_ai.exceptions import ModelAPIError, ModelHTTPError, UnexpectedModelBehavior

        stopped: StoppedReason = "completed"
        steps = 0
        run = None
        try:
            # Our own step counter is the bound, so pydantic-ai's request limit is lifted.
            async with self._agent.iter(prompt, usage_limits=UsageLimits(request_limit=None)) as run:
                async for node in run:
                    # A yielded node has not run yet: stop before a request past the bound.
                    if self._agent.is_model_request_node(node):
                        if steps >= self._max_steps:
                            stopped = "max_steps"
                            break
                        steps += 1
        except ModelAPIError as error:
            status = error.status_code if isinstance(error, ModelHTTPError) else None
            raise ModelProviderError(
                self._redact(_provider_message(error, status, self._key_setting)),
                status_code=status,
                partial=_partial(run),
            ) from error
        except UnexpectedModelBehavior as error:
            raise ModelBehaviorError(
                self._redact(f"The model's output could not be used: {error.message}"),
                partial=_partial(run),
            ) from error

        assert run is not None
        messages = run.all_messages()
        if stopped == "max_steps":
            output = (
                f"Stopped after max_steps={self._max_steps} model requests before the model gave "
                "a final answer; the tool calls made so far are in tool_calls."
            )
        else:
            assert run.result is not None
            output = str(run.result.output)
        return AgentResult(
            output=output,
            tool_calls=_tool_calls(messages),
            usage=_usage(run.usage),
            stopped_reason=stopped,
        )

    def run_sync(self, prompt: str) -> AgentResult:
        """``run()`` for synchronous code. Not callable from inside a running event loop.

        >>> result = agent.run_sync("Summarise /notes/ai_trends_2024.md")  # doctest: +SKIP

        The agent keeps one event loop for its sync runs (closed by ``close()``), so the HTTP
        client it holds stays bound to a live loop from one call to the next.
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise RuntimeError(
                "run_sync() cannot be called from a running event loop; use 'await agent.run(...)'"
            )
        if self._runner is None:
            self._runner = asyncio.Runner()
        return self._runner.run(self.run(prompt))

    def close(self) -> None:
        """Release the workspace's store and the event loop of ``run_sync``."""
        if self._runner is not None:
            self._runner.close()
            self._runner = None
        if self._memory_tools is not None:
            self._memory_tools.close()

    def __enter__(self) -> Agent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _redact(self, message: str) -> str:
        if self._secret:
            message = message.replace(self._secret, "[redacted]")
        return message


# --- configuration -------------------------------------------------------------------------


def _import_pydantic_ai() -> Any:
    try:
        import pydantic_ai
    except ImportError as error:
        raise MissingDependencyError.for_extra("memspace.Agent", "pydantic-ai", "agent") from error
    return pydantic_ai


def _max_steps(config: Mapping[str, object]) -> int:
    unknown = sorted(key for key in config if key not in _AGENT_KEYS and not key.startswith(_MEMORY_PREFIX))
    if unknown:
        raise ConfigError(
            f"Unknown agent_config key(s) {', '.join(map(repr, unknown))}; "
            f"expected 'max_steps' or memory_tool_* settings."
        )
    value = config.get("max_steps", DEFAULT_MAX_STEPS)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"agent_config['max_steps'] must be a positive integer, got {value!r}.")
    return value


def _memory_tools(config: Mapping[str, object], *, actor: str) -> MemoryTools | None:
    """The agent's memory tools, if a backend is set; what it writes is recorded as ``actor``'s
    unless ``memory_tool_actor`` (or ``MEMORY_TOOL_ACTOR``) says otherwise."""
    # "Set" as the core reads it: the agent_config key, else the environment variable.
    if config.get("memory_tool_backend") in (None, "") and not os.environ.get("MEMORY_TOOL_BACKEND"):
        stray = sorted(key for key in config if key.startswith(_MEMORY_PREFIX))
        if stray:
            raise ConfigError(
                f"agent_config sets {', '.join(map(repr, stray))} but not 'memory_tool_backend'; "
                "set memory_tool_backend ('local', 's3', 'r2') to give the agent its memory tools."
            )
        return None
    from memspace.config import default_actor
    from memspace.tools import MemoryTools

    return MemoryTools.from_config({**config, "memory_tool_actor": default_actor(config, actor)})


def _build_model(
    model_config: Mapping[str, object] | Model,
) -> tuple[Model, ModelSettings | None, str | None]:
    """The pydantic-ai model, the model settings and the API key to keep out of messages."""
    from pydantic_ai.exceptions import UserError
    from pydantic_ai.models import Model
    from pydantic_ai.settings import ModelSettings

    if isinstance(model_config, Model):
        return model_config, None, None
    if not isinstance(model_config, Mapping):
        raise ConfigError("model_config must be a mapping like {'provider': 'openai', 'model': 'gpt-4o'}.")

    provider = model_config.get("provider")
    if not isinstance(provider, str) or provider.lower() not in PROVIDERS:
        raise ConfigError(
            f"model_config['provider'] must be one of {', '.join(PROVIDERS)} (got {provider!r}); "
            "for an OpenAI-compatible server use 'openai' with model_config['base_url']."
        )
    provider = provider.lower()
    model_name = model_config.get("model")
    if not isinstance(model_name, str) or not model_name:
        raise ConfigError("model_config['model'] must name the model, e.g. 'gpt-4o'.")
    base_url = _optional_str(model_config, "base_url")
    api_key = _optional_str(model_config, "api_key")

    setting_keys = ModelSettings.__optional_keys__ | ModelSettings.__required_keys__
    settings = {key: value for key, value in model_config.items() if key not in _MODEL_KEYS}
    unknown = sorted(
        key for key in settings if key not in setting_keys and not key.startswith(f"{provider}_")
    )
    if unknown:
        raise ConfigError(
            f"Unknown model_config key(s) {', '.join(map(repr, unknown))}; expected provider, "
            "model, base_url, api_key or a pydantic-ai model setting (temperature, max_tokens, "
            "timeout, max_retries, ...)."
        )

    try:
        model = _provider_model(provider, model_name, base_url, api_key)
    except UserError as error:
        env = "OPENAI_API_KEY" if provider == "openai" else "ANTHROPIC_API_KEY"
        raise ConfigError(
            f"No API key for provider {provider!r}: set {env} or model_config['api_key']."
        ) from error
    secret = api_key or os.environ.get("OPENAI_API_KEY" if provider == "openai" else "ANTHROPIC_API_KEY")
    return model, cast("ModelSettings", settings) if settings else None, secret


def _provider_model(provider: str, model_name: str, base_url: str | None, api_key: str | None) -> Model:
    if provider == "anthropic":
        from pydantic_ai.models.anthropic import AnthropicModel
        from pydantic_ai.providers.anthropic import AnthropicProvider

        return AnthropicModel(model_name, provider=AnthropicProvider(api_key=api_key, base_url=base_url))

    from pydantic_ai.models.openai import OpenAIChatModel

    if base_url is None:
        from pydantic_ai.providers.openai import OpenAIProvider

        return OpenAIChatModel(model_name, provider=OpenAIProvider(api_key=api_key))
    # Another server speaking the OpenAI API (Ollama, vLLM, LM Studio, OpenRouter ...): its key
    # comes from model_config only, so an OpenAI key in the environment is never sent to it.
    from pydantic_ai.providers.openai_compatible import OpenAICompatibleProvider

    return OpenAIChatModel(
        model_name,
        provider=OpenAICompatibleProvider("openai-compatible", base_url=base_url, api_key=api_key),
    )


def _optional_str(config: Mapping[str, object], key: str) -> str | None:
    value = config.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ConfigError(f"model_config[{key!r}] must be a non-empty string.")
    return value


# --- turning a pydantic-ai run into an AgentResult -----------------------------------------


def _key_setting(model_config: Mapping[str, object] | Model) -> str:
    """Where the API key of this model comes from, for advice on a refused key."""
    if not isinstance(model_config, Mapping):
        return "the API key of the model you passed"
    if model_config.get("base_url") is not None and str(model_config.get("provider")).lower() == "openai":
        return "model_config['api_key']"  # an OpenAI-compatible server never gets the environment's key
    env = (
        "ANTHROPIC_API_KEY" if str(model_config.get("provider")).lower() == "anthropic" else "OPENAI_API_KEY"
    )
    return f"{env} or model_config['api_key']"


def _provider_message(error: Exception, status: int | None, key_setting: str) -> str:
    """What failed, and the advice that fits the cause: a refused key is fixed, not retried."""
    from pydantic_ai.exceptions import ModelAPIError, ModelHTTPError

    model = error.model_name if isinstance(error, ModelAPIError) else "?"
    if not isinstance(error, ModelHTTPError):
        return (
            f"The model provider could not be reached for model {model!r}: {error}. Check base_url "
            "and the network."
        )
    body = error.body if isinstance(error.body, str) else json.dumps(error.body, default=str)
    detail = f"HTTP {status}: {body[:300]}" if body else f"HTTP {status}"
    if status == 401:
        advice = f"the provider refused the API key; fix {key_setting}"
    elif status == 403:
        advice = (
            f"the API key is not allowed to use model {model!r}; check the key's permissions and the model"
        )
    elif status == 404:
        advice = f"the provider does not know model {model!r}; check model_config['model'] (and base_url)"
    elif status == 429:
        advice = "the provider is limiting requests or the quota is used up; check the quota, or retry later"
    elif status is not None and status >= 500:
        advice = "the provider is failing; check its status and retry later"
    else:
        advice = "the provider refused the request; check model_config (the model and its settings)"
    return f"The model provider failed for model {model!r} ({detail}); the run stopped: {advice}."


def _partial(run: Any) -> AgentResult:
    """What a failed run did before it failed."""
    if run is None:
        return AgentResult(output="", stopped_reason="error")
    return AgentResult(
        output="",
        tool_calls=_tool_calls(run.all_messages()),
        usage=_usage(run.usage),
        stopped_reason="error",
    )


def _usage(usage: RunUsage) -> Usage:
    return Usage(
        requests=usage.requests,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
    )


def _tool_calls(messages: Sequence[ModelMessage]) -> tuple[ToolCallRecord, ...]:
    from pydantic_ai.messages import ModelRequest, ModelResponse, ToolCallPart, ToolReturnPart

    returns: dict[str, ToolReturnPart] = {}
    for message in messages:
        if isinstance(message, ModelRequest):
            for request_part in message.parts:
                if isinstance(request_part, ToolReturnPart):
                    returns[request_part.tool_call_id] = request_part
    records: list[ToolCallRecord] = []
    for message in messages:
        if not isinstance(message, ModelResponse):
            continue
        for part in message.parts:
            if not isinstance(part, ToolCallPart):
                continue
            returned = returns.get(part.tool_call_id)
            records.append(
                ToolCallRecord(
                    name=part.tool_name,
                    args=_args(part.args),
                    result_text=(
                        returned.model_response_str(wrap_if_error=False)
                        if returned is not None
                        else "(no result: the run stopped first)"
                    ),
                    is_error=returned is None or returned.outcome != "success",
                )
            )
    return tuple(records)


def _args(args: object) -> Mapping[str, object] | str:
    if isinstance(args, Mapping):
        return dict(args)
    if args is None or args == "":
        return {}
    text = str(args)
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        return text
    return cast("dict[str, object]", parsed) if isinstance(parsed, dict) else text
