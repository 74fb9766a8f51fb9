"""The README's framework snippets, run as the scripts a user copies: each is taken from
README.md by its ``<!-- readme-snippet: NAME -->`` marker and run in a fresh Python process,
its OpenAI client pointed at the scripted model server on loopback through the usual
environment variables (``OPENAI_BASE_URL``, ``OPENAI_API_KEY``)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .support.model_server import ModelServer, Reply, text, tool_call

README = Path(__file__).resolve().parent.parent / "README.md"
PRIORITIES = "1. Ship the release\n2. Review the design\n3. Plan the week\n"


def snippet(name: str) -> str:
    """The ```python block right after the snippet's marker in README.md."""
    found = re.search(
        rf"<!-- readme-snippet: {re.escape(name)} -->\n```python\n(.*?)\n```", README.read_text(), re.DOTALL
    )
    assert found, f"no snippet {name!r} in README.md"
    return found.group(1) + "\n"


@pytest.fixture
def server() -> Iterator[ModelServer]:
    with ModelServer() as running:
        yield running
        assert running.unexpected == 0, "the snippet made more model requests than scripted"


def run_snippet(name: str, server: ModelServer, cwd: Path) -> subprocess.CompletedProcess[str]:
    script = cwd / "snippet.py"  # not named after a package it imports
    script.write_text(snippet(name))
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MEMORY_TOOL_", "AWS_", "R2_", "OPENAI_", "LANGSMITH_", "LANGCHAIN_"))
    }
    env |= {
        "OPENAI_BASE_URL": server.base_url,
        "OPENAI_API_KEY": "sk-test-readme-key",
        # The Agents SDK uploads traces to OpenAI's servers unless told not to.
        "OPENAI_AGENTS_DISABLE_TRACING": "1",
    }
    return subprocess.run(
        [sys.executable, str(script)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def the_model_saves_the_priorities(*, strict: bool) -> list[Reply]:
    # A strict client (the Agents SDK) sends every argument, null for those it leaves out.
    nulls_for = (lambda **optional: optional) if strict else (lambda **optional: {})
    return [
        tool_call("memory_view", {"path": "/", **nulls_for(view_range=None)}),
        tool_call(
            "memory_create_update",
            {"path": "/notes/today.md", "file_text": PRIORITIES, **nulls_for(mode=None)},
        ),
        text("Saved your three priorities to /notes/today.md."),
    ]


@pytest.mark.parametrize(("name", "strict"), [("openai-agents", True), ("langchain", False)])
def test_the_readme_snippet_runs_as_a_script(
    server: ModelServer, tmp_path: Path, name: str, strict: bool
) -> None:
    server.script(*the_model_saves_the_priorities(strict=strict))

    completed = run_snippet(name, server, tmp_path)

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "Saved your three priorities to /notes/today.md.\n"
    assert (tmp_path / "memories" / "default" / "notes" / "today.md").read_text() == PRIORITIES
    first = server.requests[0]
    assert "persistent memory workspace" in first.system_text  # the workspace's instructions
    assert [seen.content for seen in server.requests[-1].tool_results()] == [
        "The workspace root / is empty.",
        f"Created /notes/today.md (3 lines, {len(PRIORITIES)} bytes).",
    ]


def test_the_deepagents_readme_snippet_runs_as_a_script(server: ModelServer, tmp_path: Path) -> None:
    server.script(
        tool_call("ls", {"path": "/"}),
        tool_call("write_file", {"file_path": "/notes/today.md", "content": PRIORITIES}),
        text("Saved your three priorities to /notes/today.md."),
    )

    completed = run_snippet("deepagents", server, tmp_path)

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "Saved your three priorities to /notes/today.md.\n"
    assert (tmp_path / "memories" / "default" / "notes" / "today.md").read_text() == PRIORITIES
    assert [seen.content for seen in server.requests[-1].tool_results()] == [
        "No files found",
        "Updated file /notes/today.md",
    ]
