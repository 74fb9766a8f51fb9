"""The research agent of memspace's seed design, runnable against any configured provider.

    # OpenAI (key from OPENAI_API_KEY)
    python examples/research_agent.py
    # Anthropic (key from ANTHROPIC_API_KEY)
    python examples/research_agent.py --provider anthropic --model claude-sonnet-4-6
    # Any OpenAI-compatible server: Ollama, vLLM, LM Studio, OpenRouter ...
    # (its key, if it needs one, from MEMSPACE_MODEL_API_KEY)
    python examples/research_agent.py --model llama3.1 --base-url http://localhost:11434/v1

Every option can come from the environment instead: MEMSPACE_MODEL_PROVIDER, MEMSPACE_MODEL,
MEMSPACE_MODEL_BASE_URL. The workspace is chosen the usual memspace way: MEMORY_TOOL_BACKEND
(default here: "local", files in ./memories or MEMORY_TOOL_LOCAL_DIR; "s3" needs
AWS_S3_BUCKET, "r2" the R2_* variables) and MEMORY_TOOL_NAMESPACE.

Run it twice: the second run finds the notes of the first in its workspace.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

import memspace
from memspace.agent import AgentError
from memspace.errors import MemspaceError

SEED_PROMPT = "Research the latest AI developments and save a summary to /notes/ai_trends_2024.md"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prompt", nargs="?", default=SEED_PROMPT)
    parser.add_argument("--provider", default=env("MEMSPACE_MODEL_PROVIDER", "openai"))
    parser.add_argument("--model", default=env("MEMSPACE_MODEL", "gpt-4o"))
    parser.add_argument("--base-url", default=env("MEMSPACE_MODEL_BASE_URL"))
    parser.add_argument("--backend", default=env("MEMORY_TOOL_BACKEND", "local"))
    parser.add_argument("--max-steps", type=int, default=50)
    return parser.parse_args(argv)


async def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    model_config: dict[str, object] = {"provider": args.provider, "model": args.model}
    if args.base_url:
        model_config["base_url"] = args.base_url
    if api_key := os.environ.get("MEMSPACE_MODEL_API_KEY"):
        model_config["api_key"] = api_key

    try:
        agent = memspace.Agent(
            name="research_agent",
            system_instruction="You are a research assistant. Save your findings to memory.",
            model_config=model_config,
            agent_config={"memory_tool_backend": args.backend, "max_steps": args.max_steps},
        )
        result = await agent.run(args.prompt)
    except AgentError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except MemspaceError as error:  # configuration, missing dependency
        print(f"error: {error}", file=sys.stderr)
        return 2

    print(result.output)
    print(f"\n{len(result.tool_calls)} tool call(s):")
    for call in result.tool_calls:
        mark = "error" if call.is_error else "ok"
        path = call.args.get("path", "") if not isinstance(call.args, str) else ""
        print(f"  [{mark}] {call.name} {path}")
    usage = result.usage
    print(
        f"{usage.requests} model request(s), {usage.input_tokens} input and "
        f"{usage.output_tokens} output tokens; stopped: {result.stopped_reason}"
    )
    return 0 if result.completed else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
