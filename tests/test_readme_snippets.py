"""Every code block of README.md and docs/*.md, run as the reader copies it.

Each fenced block carries a ``<!-- snippet: NAME -->`` marker and a language: ``python``
blocks run as scripts in a fresh Python process (the OpenAI and Anthropic clients pointed at
the scripted model server on loopback, S3 at the SeaweedFS peer, through the usual
environment variables); ``bash`` blocks run line by line with ``memspace`` and ``python`` on
the PATH; ``json`` blocks are parsed and started. What cannot run inside a test is checked
instead: a ``pip install`` names extras that exist, ``./scripts/test`` is the script CI runs.
``text`` blocks are diagrams and signatures, not code. A block without a marker, or a marker
no test runs, fails the first test here.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import s3_environ, unique_prefix
from .support.model_server import ModelServer, Reply, text, tool_call
from .support.seaweed import SeaweedServer
from .support.snippets import REPO

DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
_BLOCK = re.compile(r"(?:^<!-- snippet: ([\w-]+) -->\n)?^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
PRIORITIES = "1. Ship the release\n2. Review the design\n3. Plan the week\n"
SUMMARY = "# AI trends 2024\n\n- Agents with persistent memory\n"


def blocks() -> Iterator[tuple[Path, str | None, str, str]]:
    """(document, snippet name, language, code) of every fenced block."""
    for document in DOCUMENTS:
        for name, language, code in _BLOCK.findall(document.read_text(encoding="utf-8")):
            yield document, name or None, language, code


def snippet(name: str) -> str:
    found = [code for _, marker, _, code in blocks() if marker == name]
    assert len(found) == 1, f"{len(found)} snippets named {name!r}"
    return found[0]


# -- every block is named, and every name is run ---------------------------------------------

PYTHON_LOCAL = {"library", "workspace", "search"}
PYTHON_S3 = {"s3"}
PYTHON_MODEL = {
    "agent",
    "agent-quick-start",
    "agent-user-tools",
    "pydantic-ai-toolset",
    "openai-agents",
    "openai-agents-s3",
    "langchain",
    "langchain-local",
    "anthropic-s3",
    "deepagents",
}
PYTHON_OTHER = {"mcp-python"}
BASH = {"search-cli", "sync", "cli", "setup", "example-script"}
INSTALLS = {
    "install-s3",
    "install-openai-agents",
    "install-openai-agents-docs",
    "install-langchain",
    "install-langchain-docs",
    "install-anthropic",
    "install-agent",
    "install-deepagents",
    "install-deepagents-docs",
}
JSON = {"claude-desktop-local", "claude-desktop-s3"}
# Run elsewhere, by the suite of the integration they show.
RUN_ELSEWHERE = {
    "anthropic-memory-tool": "tests/test_anthropic_memory_tool.py::test_readme_snippet_runs_as_a_script",
    "test-suite": "test_the_test_suite_snippet_is_what_ci_runs",
    "history": "tests/test_cli_history.py",
    "history-cli": "tests/test_cli_history.py",
    **dict.fromkeys(
        [
            "mcp-readme",
            "mcp-cli",
            "claude-code-stdio",
            "mcp-http-single-token",
            "mcp-tokens-file",
            "claude-code-http",
            "mcp-http-python-client",
            "mcp-python-http",
        ],
        "tests/test_mcp_docs.py",
    ),
}
EVERY_RUNNER = (
    PYTHON_LOCAL | PYTHON_S3 | PYTHON_MODEL | PYTHON_OTHER | BASH | INSTALLS | JSON | set(RUN_ELSEWHERE)
)


def test_every_code_block_is_named_and_run_by_a_test() -> None:
    names: list[str] = []
    for document, name, language, code in blocks():
        where = f"{document.name}: block starting {code[:40]!r}"
        assert language in ("python", "bash", "json", "text"), f"{where} needs a language"
        if language == "text":
            assert name is None, f"{where}: a text block is not run, so it takes no snippet marker"
            continue
        assert name is not None, f"{where} has no <!-- snippet: NAME --> marker"
        names.append(name)
    assert len(names) == len(set(names)), "two snippets share a name"
    assert set(names) == EVERY_RUNNER


def test_python_snippets_have_no_top_level_await() -> None:
    for _, name, language, code in blocks():
        if language == "python":
            for line in code.splitlines():
                statement = line.partition("#")[0]  # "# or: await ..." is advice, not code
                assert not (statement[:1].strip() and "await " in statement), f"{name}: top-level await"


# -- running -----------------------------------------------------------------------------


def _environ(extra: dict[str, str]) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(
            ("MEMORY_TOOL_", "AWS_", "R2_", "OPENAI_", "ANTHROPIC_", "LANGSMITH_", "LANGCHAIN_")
        )
    }
    # The Agents SDK uploads traces to OpenAI's servers unless told not to.
    return env | {"OPENAI_AGENTS_DISABLE_TRACING": "1"} | extra


def run_python(code: str, cwd: Path, extra: dict[str, str], stdin: str | None = "") -> str:
    script = cwd / "snippet.py"  # not named after a package it imports
    script.write_text(code)
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=cwd,
        env=_environ(extra),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


@pytest.fixture
def server() -> Iterator[ModelServer]:
    with ModelServer() as running:
        yield running
        assert running.unexpected == 0, "the snippet made more model requests than scripted"


def model_env(server: ModelServer) -> dict[str, str]:
    return {
        "OPENAI_BASE_URL": server.base_url,
        "OPENAI_API_KEY": "sk-test-readme-key",
        "ANTHROPIC_BASE_URL": server.anthropic_base_url,
        "ANTHROPIC_API_KEY": "sk-ant-test-readme-key",
    }


def s3_env(seaweed: SeaweedServer) -> dict[str, str]:
    return s3_environ(seaweed) | {"MEMORY_TOOL_PREFIX": unique_prefix()}


LOCAL_OUTPUT = {
    "library": ["Created /notes/a.md (1 line, 6 bytes). False", "persistent memory workspace", "/notes/a.md"],
    "workspace": [],
    "search": [
        'Found 2 matching lines in 2 files for "deadline" (searched 2 files):',
        "/notes/todo.md:2: - check the deadline",
        "/notes/2024-05-03.md",
    ],
}


@pytest.mark.parametrize("name", sorted(PYTHON_LOCAL))
def test_library_snippets_run_as_scripts(tmp_path: Path, name: str) -> None:
    out = run_python(snippet(name), tmp_path, {})
    for line in LOCAL_OUTPUT[name]:
        assert line in out
    if name == "workspace":
        assert (tmp_path / "memories" / "default" / "a.md").read_text() == "one\n2"


def test_the_s3_snippet_runs_against_the_s3_peer(tmp_path: Path, seaweed: SeaweedServer) -> None:
    assert run_python(snippet("s3"), tmp_path, s3_env(seaweed)) == "The workspace root / is empty.\n"


def _saves_priorities(*, strict: bool) -> list[Reply]:
    # A strict client (the Agents SDK) sends every argument, null for those it leaves out.
    nulls = (lambda **optional: optional) if strict else (lambda **optional: {})
    return [
        tool_call("memory_view", {"path": "/", **nulls(view_range=None)}),
        tool_call(
            "memory_create_update", {"path": "/notes/today.md", "file_text": PRIORITIES, **nulls(mode=None)}
        ),
        text("Saved your three priorities to /notes/today.md."),
    ]


SAVES_SUMMARY = [
    tool_call("memory_create_update", {"path": "/notes/ai_trends_2024.md", "file_text": SUMMARY}),
    text("Saved the summary to /notes/ai_trends_2024.md."),
]
# name -> (what the model answers, whether the workspace is on S3, a line the script prints)
MODEL_RUNS: dict[str, tuple[list[Reply], bool, str]] = {
    "agent": (SAVES_SUMMARY, True, "Saved the summary to /notes/ai_trends_2024.md."),
    "agent-quick-start": (SAVES_SUMMARY, True, "memory_create_update"),
    "agent-user-tools": ([tool_call("word_count", {"text": "a b c"}), text("3 words.")], False, "3 words."),
    "pydantic-ai-toolset": ([], True, ""),
    "openai-agents": (_saves_priorities(strict=True), False, "Saved your three priorities"),
    "openai-agents-s3": ([text("Nothing to do.")], True, ""),
    "langchain": (_saves_priorities(strict=False), False, "Saved your three priorities"),
    "langchain-local": ([text("Nothing to do.")], False, ""),
    "anthropic-s3": ([text("Nothing yet.")], True, "Nothing yet."),
    "deepagents": (
        [
            tool_call("ls", {"path": "/"}),
            tool_call("write_file", {"file_path": "/notes/today.md", "content": PRIORITIES}),
            text("Saved your three priorities to /notes/today.md."),
        ],
        False,
        "Saved your three priorities",
    ),
}


@pytest.mark.parametrize("name", sorted(PYTHON_MODEL))
def test_agent_snippets_run_against_the_scripted_model(
    server: ModelServer, tmp_path: Path, request: pytest.FixtureRequest, name: str
) -> None:
    replies, on_s3, printed = MODEL_RUNS[name]
    server.script(*replies)
    env = model_env(server)
    if on_s3:
        env |= s3_env(request.getfixturevalue("seaweed"))
    out = run_python(snippet(name), tmp_path, env)
    assert printed in out
    assert server.remaining == 0, "the snippet stopped before the model's scripted answers"
    if name == "deepagents":
        assert (tmp_path / "memories" / "default" / "notes" / "today.md").read_text() == PRIORITIES
        assert [seen.content for seen in server.requests[-1].tool_results()] == [
            "No files found",
            "Updated file /notes/today.md",
        ]
    if name in ("openai-agents", "langchain"):
        assert (tmp_path / "memories" / "default" / "notes" / "today.md").read_text() == PRIORITIES
        assert [seen.content for seen in server.requests[-1].tool_results()] == [
            "The workspace root / is empty.",
            f"Created /notes/today.md (3 lines, {len(PRIORITIES)} bytes).",
        ]


def test_the_mcp_python_snippet_serves_until_the_client_hangs_up(tmp_path: Path) -> None:
    run_python(snippet("mcp-python"), tmp_path, {}, stdin="")  # stdin at its end: the client is gone


# -- shell blocks ----------------------------------------------------------------------------


def _shell_env(tmp_path: Path, extra: dict[str, str]) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, command in (
        ("memspace", f"{shlex.quote(sys.executable)} -m memspace"),
        ("python", sys.executable),
    ):
        shim = bin_dir / name
        shim.write_text(f'#!/bin/sh\nexec {command} "$@"\n')
        shim.chmod(0o755)
    env = _environ(extra)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return env


def run_lines(
    code: str, cwd: Path, env: dict[str, str]
) -> list[tuple[str, subprocess.CompletedProcess[str]]]:
    """Each command of a shell block (install commands left out), run in ``cwd``, in order."""
    ran = []
    for line in code.splitlines():
        if not line.strip() or line.lstrip().startswith(("pip install", "#")):
            continue
        proc = subprocess.run(
            ["bash", "-c", line],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        assert "Traceback" not in proc.stderr, line + proc.stderr
        ran.append((line, proc))
    return ran


def test_the_command_line_snippets_run(tmp_path: Path, seaweed: SeaweedServer) -> None:
    env = _shell_env(tmp_path, s3_env(seaweed))
    out: dict[str, str] = {}
    for name in ("search-cli", "cli", "sync"):
        for line, proc in run_lines(snippet(name), tmp_path, env):
            assert proc.returncode == 0, f"{line}\n{proc.stdout}{proc.stderr}"
            out[line.partition("  #")[0].strip()] = proc.stdout
    assert out["memspace find 'notes/2024-*'"] == "/notes/2024-05-03.md\n"
    assert "Deadline moved to Friday" in out["memspace grep -i deadline /notes --glob '*.md' -C 1"]
    assert "# Title" in out['memspace grep -i "title" /notes']
    assert "deleted 1 file" in out["memspace clear --yes"]


def test_the_setup_snippet_ends_in_the_demo_it_promises(tmp_path: Path) -> None:
    command = snippet("setup").strip()
    assert command.startswith("python3 -m venv .venv && .venv/bin/pip install -e . && ")
    demo = command.rpartition(" && ")[2]
    assert demo == ".venv/bin/memspace demo"
    ((_, proc),) = run_lines("memspace demo", tmp_path, _shell_env(tmp_path, {}))  # the installed command
    assert proc.returncode == 0, proc.stderr
    assert (
        tmp_path / "memories" / "demo" / "project" / "plan.md"
    ).is_file()  # "files land in ./memories/demo/"


def test_the_example_script_lines_run_against_the_scripted_model(server: ModelServer, tmp_path: Path) -> None:
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "research_agent.py").write_text(
        (REPO / "examples" / "research_agent.py").read_text()
    )
    lines = [line for line in snippet("example-script").splitlines() if line.strip()]
    assert len(lines) == 3
    server.script(*[text("Done.")] * 3)
    env = _shell_env(
        tmp_path, {"OPENAI_BASE_URL": server.base_url, "ANTHROPIC_BASE_URL": server.anthropic_base_url}
    )
    # The third line's Ollama URL is the one thing swapped: the scripted server stands in for it.
    code = "\n".join(lines).replace("http://localhost:11434/v1", server.base_url)
    for line, proc in run_lines(code, tmp_path, env):
        assert proc.returncode == 0, f"{line}\n{proc.stderr}"
        assert "Done." in proc.stdout
    assert [request.api for request in server.requests] == ["openai", "anthropic", "openai"]


EXTRAS = set(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"])


@pytest.mark.parametrize("name", sorted(INSTALLS | {"mcp-cli"}))
def test_install_commands_name_extras_that_exist(name: str) -> None:
    installs = [line for line in snippet(name).splitlines() if line.startswith("pip install")]
    assert installs
    for line in installs:
        for extra in re.findall(r'"memspace\[([\w,-]+)\]"', line):
            assert set(extra.split(",")) <= EXTRAS, line


def test_the_test_suite_snippet_is_what_ci_runs() -> None:
    assert snippet("test-suite").strip() == "./scripts/test"
    assert os.access(REPO / "scripts" / "test", os.X_OK)
    assert 'exec ./scripts/test "$@"' in (REPO / ".ci" / "run").read_text()


# -- MCP client configurations -------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(JSON))
def test_the_mcp_client_configurations_start_the_server(tmp_path: Path, name: str) -> None:
    server = json.loads(snippet(name))["mcpServers"]["memspace"]
    assert (server["command"], server["args"]) == ("memspace", ["mcp"])
    documented = (REPO / "README.md").read_text()
    for variable in server["env"]:
        assert f"`{variable}`" in documented, f"{variable} is not a documented setting"
    if server["env"]["MEMORY_TOOL_BACKEND"] == "local":
        env = _shell_env(tmp_path, server["env"] | {"MEMORY_TOOL_LOCAL_DIR": str(tmp_path / "memories")})
        ((_, proc),) = run_lines(shlex.join([server["command"], *server["args"]]), tmp_path, env)
        assert proc.returncode == 0 and proc.stderr == "", proc.stderr
