"""Every MCP snippet in the README and docs/integrations.md runs as written.

The only changes made to a snippet: port 8000 becomes a free port (``0``, or the port the
server printed), example folders become the test's own, and the S3 example points at the
SeaweedFS test server. The commands are found by running what the docs say, with the
``memspace`` and ``python`` of this environment first on the PATH.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from .conftest import DEFAULT_TOOLS, s3_environ, unique_prefix
from .support.mcp_harness import EXIT_TIMEOUT, connect_stdio, server_environ, text_of
from .support.seaweed import SeaweedServer
from .test_mcp_http import create_call, post

ROOT = Path(__file__).resolve().parent.parent
BIN = str(Path(sys.executable).parent)
_URL = re.compile(r"(http://127\.0\.0\.1:\d+/mcp)")


def snippets(doc: str, section: str) -> list[tuple[str, str]]:
    """(language, code) of each fenced block in the ``## section`` of a markdown file."""
    text = (ROOT / doc).read_text()
    start = text.index(f"\n## {section}\n")
    end = text.find("\n## ", start + 1)
    return re.findall(r"```(\w*)\n(.*?)```", text[start : end if end != -1 else len(text)], re.S)


def snippet(doc: str, language: str, containing: str) -> str:
    found = [code for lang, code in snippets(doc, "MCP server") if lang == language and containing in code]
    assert len(found) == 1, f"{doc}: {len(found)} {language} snippets contain {containing!r}"
    return found[0]


def command_lines(code: str) -> list[str]:
    """The commands of a bash snippet, comments and installs dropped."""
    lines = [line.split("  #")[0].strip() for line in code.splitlines()]
    return [line for line in lines if line and not line.startswith(("#", "pip install"))]


def doc_env(tmp_path: Path, **env: str) -> dict[str, str]:
    return server_environ(
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        MEMORY_TOOL_BACKEND="local",
        MEMORY_TOOL_LOCAL_DIR=str(tmp_path / "mem"),
        **env,
    )


class Started:
    """A command from the docs that serves until signalled; ``url`` is the one it printed."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.log = cwd / "docs-server.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                args, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + EXIT_TIMEOUT  # a safety net: it prints within a second or two
        while not (found := _URL.search(self.log.read_text())):
            assert self.process.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.1)
        self.url = found.group(1)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(EXIT_TIMEOUT)


def test_the_tokens_file_http_command_and_python_client_work_together(tmp_path: Path) -> None:
    tokens = json.loads(snippet("docs/integrations.md", "json", '"tokens"'))
    (tmp_path / "tokens.json").write_text(json.dumps(tokens))
    alice = next(token for token, grant in tokens["tokens"].items() if grant == {"namespace": "alice"})
    [command] = [
        c for c in command_lines(snippet("docs/integrations.md", "bash", "--tokens")) if "--http" in c
    ]
    [readme_command] = [c for c in command_lines(snippet("README.md", "bash", "--tokens")) if "--http" in c]
    assert readme_command == command
    claude = command_lines(snippet("docs/integrations.md", "bash", "--transport http"))[0]
    client_code = snippet("docs/integrations.md", "python", "streamable_http_client")

    server = Started(shlex.split(command.replace(":8000", ":0")), doc_env(tmp_path), tmp_path)
    try:
        # The Python client snippet, as a program of its own.
        (tmp_path / "client.py").write_text(client_code.replace("http://127.0.0.1:8000/mcp", server.url))
        client = subprocess.run(
            [sys.executable, "client.py"],
            cwd=tmp_path,
            env=doc_env(tmp_path, MEMSPACE_MCP_TOKEN=alice),
            capture_output=True,
            text=True,
            timeout=EXIT_TIMEOUT,
            check=False,
        )
        # The Claude Code line: its URL and header open a session.
        words = shlex.split(claude)
        url, header = words[words.index("memspace") + 1], words[words.index("--header") + 1]
        name, _, value = header.partition(": ")
        body, headers = create_call("/from-claude.md")
        port = server.url.rsplit(":", 1)[1].split("/")[0]
        status = post(url.replace(":8000/", f":{port}/"), body, headers | {name: value})[0]
    finally:
        code = server.stop()

    assert client.returncode == 0, client.stderr
    assert client.stdout == "The workspace root / is empty.\n"
    assert status == 200
    assert (tmp_path / "mem" / "alice" / "from-claude.md").read_text() == "written"
    assert code == 0


def test_the_single_token_commands_start_a_server_for_one_namespace(tmp_path: Path) -> None:
    lines = command_lines(snippet("docs/integrations.md", "bash", "export MEMSPACE_MCP_TOKEN"))
    assert lines[0].startswith("export MEMSPACE_MCP_TOKEN=")
    # exec: the signal below reaches the server, not the shell.
    script = "\n".join([*lines[:-1], "exec " + lines[-1].replace(":8000", ":0")])
    server = Started(["bash", "-c", script], doc_env(tmp_path), tmp_path)
    body, headers = create_call("/x.md")
    refused = post(server.url, body, headers | {"Authorization": "Bearer not-the-generated-token"})[0]
    code = server.stop()

    assert "(1 token)" in server.log.read_text()
    assert refused == 401
    assert code == 0


def test_the_stdio_commands_and_client_configurations_serve_the_tools(tmp_path: Path) -> None:
    [stdio] = [
        c for c in command_lines(snippet("docs/integrations.md", "bash", "--tokens")) if "--http" not in c
    ]
    [readme_stdio] = [c for c in command_lines(snippet("README.md", "bash", "--tokens")) if "--http" not in c]
    assert stdio == readme_stdio == "memspace mcp"
    desktop = json.loads(snippet("docs/integrations.md", "json", '"MEMORY_TOOL_BACKEND": "local"'))
    server = desktop["mcpServers"]["memspace"]
    env = dict(server["env"]) | {"MEMORY_TOOL_LOCAL_DIR": str(tmp_path / "desktop")}
    claude = shlex.split(command_lines(snippet("docs/integrations.md", "bash", "-- memspace mcp"))[0])
    claude_env = dict(
        pair.split("=", 1) for pair in claude[claude.index("--env") + 1 : claude.index("--")][:1]
    )
    claude_env["MEMORY_TOOL_LOCAL_DIR"] = claude_env["MEMORY_TOOL_LOCAL_DIR"].replace("$HOME", str(tmp_path))

    # `memspace mcp` with nobody on stdin: it ends with the input.
    done = subprocess.run(
        shlex.split(stdio),
        env=doc_env(tmp_path),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=EXIT_TIMEOUT,
        check=False,
    )

    async def tools(command: list[str], env: dict[str, str]) -> tuple[list[str], tuple[str, bool]]:
        with anyio.fail_after(EXIT_TIMEOUT):
            # The client starts what the configuration names, as Claude Desktop or Claude Code would.
            resolved = [str(Path(BIN) / command[0]), *command[1:]]
            async with connect_stdio(
                server_environ(**env), tmp_path / "stdio.log", command=resolved
            ) as client:
                names = [tool.name for tool in (await client.list_tools()).tools]
                made = text_of(
                    await client.call_tool("memory_create_update", {"path": "/a.md", "file_text": "a"})
                )
                return names, made

    desktop_tools = anyio.run(tools, [server["command"], *server["args"]], env)
    claude_tools = anyio.run(tools, claude[claude.index("--") + 1 :], claude_env)

    assert done.returncode == 0 and done.stdout == b"" and done.stderr == b""
    for names, made in (desktop_tools, claude_tools):
        assert names == DEFAULT_TOOLS
        assert made == ("Created /a.md (1 line, 1 byte).", False)
    assert (tmp_path / "desktop" / "default" / "a.md").read_text() == "a"
    assert (tmp_path / "agent-memories" / "default" / "a.md").read_text() == "a"


@pytest.mark.s3
def test_the_s3_client_configuration_names_the_settings_the_server_reads(
    seaweed: SeaweedServer, tmp_path: Path
) -> None:
    config = json.loads(snippet("docs/integrations.md", "json", '"AWS_S3_BUCKET"'))["mcpServers"]["memspace"]
    peer = s3_environ(seaweed)
    # Same variables; the values point at the test server instead of AWS.
    env: dict[str, Any] = {key: peer.get(key, value) for key, value in config["env"].items()}
    env |= {"AWS_ENDPOINT_URL": peer["AWS_ENDPOINT_URL"], "MEMORY_TOOL_PREFIX": unique_prefix()}
    env["AWS_REGION"] = peer["AWS_REGION"]

    async def main() -> tuple[str, bool]:
        with anyio.fail_after(EXIT_TIMEOUT):
            command = [str(Path(BIN) / config["command"]), *config["args"]]
            async with connect_stdio(
                server_environ(**env), tmp_path / "stdio.log", command=command
            ) as client:
                await client.call_tool("memory_create_update", {"path": "/a.md", "file_text": "a"})
                return text_of(await client.call_tool("memory_view", {"path": "/"}))

    text, is_error = anyio.run(main)

    assert not is_error and "/a.md" in text
    assert set(config["env"]) <= set(env)


def test_the_python_server_snippets_run(tmp_path: Path) -> None:
    tokens = json.loads(snippet("docs/integrations.md", "json", '"tokens"'))
    (tmp_path / "tokens.json").write_text(json.dumps(tokens))
    alice = next(token for token, grant in tokens["tokens"].items() if grant == {"namespace": "alice"})
    stdio_code = snippet("docs/integrations.md", "python", "serve_stdio(")
    http_code = snippet("docs/integrations.md", "python", "serve_http(")
    (tmp_path / "stdio_server.py").write_text(stdio_code)
    (tmp_path / "http_server.py").write_text(http_code.replace("port=8000", "port=0"))

    # serve_stdio returns when stdin ends; then build_server runs.
    stdio = subprocess.run(
        [sys.executable, "stdio_server.py"],
        cwd=tmp_path,
        env=server_environ(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=EXIT_TIMEOUT,
        check=False,
    )
    server = Started([sys.executable, "http_server.py"], server_environ(), tmp_path)
    body, headers = create_call("/python.md")
    status = post(server.url, body, headers | {"Authorization": f"Bearer {alice}"})[0]
    code = server.stop()

    assert stdio.returncode == 0, stdio.stderr
    assert (tmp_path / "memories").is_dir()
    assert status == 200
    assert (tmp_path / "memories" / "alice" / "python.md").read_text() == "written"
    assert code == 0
