"""The HTTP server's bearer tokens: who gets in, which namespace each token sees, and the
refusals when tokens are missing or malformed. A real server process, real HTTP requests."""

from __future__ import annotations

import json
import socket
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import anyio
import pytest

from memspace import MemoryTools
from memspace.errors import ConfigError
from memspace.integrations.mcp import TokenTable, parse_address

from .conftest import READ_ONLY_TOOLS
from .support.mcp_harness import SERVER, HttpServer, connect_http, server_environ, text_of

ALICE = "alice-token-7c1d9e0b5a4f"
BOB = "bob-token-3e8a6f2c9d1b"
ALICE_READER = "alice-reader-5b0e2d7a4c9f"
TIMEOUT = 120  # a safety net

MODERN = "2026-07-28"


def tokens_file(tmp_path: Path) -> Path:
    path = tmp_path / "tokens.json"
    path.write_text(
        json.dumps(
            {
                "tokens": {
                    ALICE: {"namespace": "alice"},
                    BOB: {"namespace": "bob", "read_only": False},
                    ALICE_READER: {"namespace": "alice", "read_only": True},
                }
            }
        )
    )
    return path


def shared_server(tmp_path: Path, *args: str, **settings: str) -> HttpServer:
    env = server_environ(MEMORY_TOOL_BACKEND="local", MEMORY_TOOL_LOCAL_DIR=str(tmp_path / "mem"), **settings)
    return HttpServer(env, tmp_path, args=args, extra=["--tokens", str(tokens_file(tmp_path))])


def post(url: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, str], str]:
    """One raw HTTP POST; returns status, headers (lower-case names) and body."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            **headers,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return (
                response.status,
                {k.lower(): v for k, v in response.headers.items()},
                response.read().decode(),
            )
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read().decode()


def create_call(path: str) -> tuple[dict[str, Any], dict[str, str]]:
    """A self-contained 2026-protocol tools/call creating ``path``: it writes if it gets through."""
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {
            "name": "memory_create_update",
            "arguments": {"path": path, "file_text": "written"},
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": MODERN,
                "io.modelcontextprotocol/clientCapabilities": {},
            },
        },
    }
    headers = {"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/call", "Mcp-Name": "memory_create_update"}
    return body, headers


def test_requests_without_a_valid_token_get_401_and_write_nothing(tmp_path: Path) -> None:
    body, headers = create_call("/intruder.md")
    with shared_server(tmp_path) as server:
        refused = {
            "no token": post(server.url, body, headers),
            "wrong token": post(
                server.url, body, headers | {"Authorization": "Bearer not-a-token-0123456789"}
            ),
            "token of another scheme": post(server.url, body, headers | {"Authorization": f"Basic {ALICE}"}),
            "token with a suffix": post(server.url, body, headers | {"Authorization": f"Bearer {ALICE}x"}),
        }
        written = list((tmp_path / "mem").rglob("*.md"))
        # The same request with a valid token does write: the refusals above were not luck.
        accepted = post(server.url, body, headers | {"Authorization": f"Bearer {ALICE}"})

    for why, (status, response_headers, _) in refused.items():
        assert status == 401, why
        assert response_headers["www-authenticate"].startswith("Bearer"), why
    assert written == []
    assert accepted[0] == 200
    assert (tmp_path / "mem" / "alice" / "intruder.md").read_text() == "written"


def test_an_mcp_client_with_a_wrong_token_cannot_connect(tmp_path: Path) -> None:
    async def connect() -> None:
        with anyio.fail_after(TIMEOUT):
            async with connect_http(server.url, "wrong-token-0123456789", mode="legacy") as client:
                await client.list_tools()

    with shared_server(tmp_path) as server, pytest.raises(BaseException):  # noqa: B017 - any failure
        anyio.run(connect)


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_each_token_sees_only_its_own_namespace_and_never_appears_in_the_log(
    mode: str, tmp_path: Path
) -> None:
    async def main() -> dict[str, Any]:
        out: dict[str, Any] = {}
        with anyio.fail_after(TIMEOUT):
            async with connect_http(server.url, ALICE, mode=mode) as alice:
                out["alice creates"] = text_of(
                    await alice.call_tool(
                        "memory_create_update", {"path": "/secret.md", "file_text": "alice's"}
                    )
                )
            async with connect_http(server.url, BOB, mode=mode) as bob:
                out["bob views /"] = text_of(await bob.call_tool("memory_view", {"path": "/"}))
                out["bob views the file"] = text_of(
                    await bob.call_tool("memory_view", {"path": "/secret.md"})
                )
                out["bob searches"] = text_of(await bob.call_tool("memory_search", {"pattern": "alice"}))
                out["bob finds"] = text_of(await bob.call_tool("memory_find", {"glob": "*.md"}))
                out["bob's history"] = text_of(await bob.call_tool("memory_history", {"path": "/secret.md"}))
                out["bob creates"] = text_of(
                    await bob.call_tool("memory_create_update", {"path": "/secret.md", "file_text": "bob's"})
                )
                out["bob clears"] = text_of(await bob.call_tool("memory_clear_all", {}))
            async with connect_http(server.url, ALICE_READER, mode=mode) as reader:
                out["reader tools"] = [tool.name for tool in (await reader.list_tools()).tools]
                out["reader instructions"] = reader.instructions
                out["reader views"] = text_of(await reader.call_tool("memory_view", {"path": "/secret.md"}))
                out["reader searches"] = text_of(
                    await reader.call_tool("memory_search", {"pattern": "ALICE"})
                )
                out["reader deletes"] = text_of(
                    await reader.call_tool("memory_delete", {"path": "/secret.md"})
                )
                out["reader clears"] = text_of(await reader.call_tool("memory_clear_all", {}))
                out["reader restores"] = text_of(
                    await reader.call_tool("memory_history", {"path": "/secret.md", "action": "restore"})
                )
        return out

    with shared_server(tmp_path, "--verbose", MEMORY_TOOL_HISTORY="true") as server:
        out = anyio.run(main)
        assert server.signal_and_wait() == 0
        log = server.log()

    assert out["alice creates"] == ("Created /secret.md (1 line, 7 bytes).", False)
    assert out["bob views /"] == ("The workspace root / is empty.", False)
    text, is_error = out["bob views the file"]
    assert is_error and text.startswith("/secret.md does not exist")
    assert out["bob searches"] == ("There are no files to search.", False)
    assert out["bob finds"] == ('No files or folders match the glob "*.md".', False)
    assert out["bob's history"] == ("/secret.md has no history: it never existed here.", True)
    assert out["bob creates"] == ("Created /secret.md (1 line, 5 bytes).", False)
    assert out["bob clears"] == ("Cleared the memory workspace: deleted 1 file.", False)
    assert out["reader tools"] == READ_ONLY_TOOLS
    assert "read-only" in out["reader instructions"]
    assert out["reader views"] == ("/secret.md (1 line):\n     1\talice's", False)
    assert out["reader searches"] == (
        'Found 1 matching line in 1 file for "ALICE" (searched 1 file):\n/secret.md:1: alice\'s',
        False,
    )
    for refused in ("reader deletes", "reader clears", "reader restores"):
        text, is_error = out[refused]
        assert is_error and "read-only" in text, refused
    assert (tmp_path / "mem" / "alice" / "secret.md").read_text() == "alice's"
    assert not list((tmp_path / "mem" / "bob").rglob("*.md"))
    # Each token's writes are recorded under its label in the tokens file, never the token.
    alice_files = MemoryTools.from_config(
        {
            "memory_tool_backend": "local",
            "memory_tool_local_dir": str(tmp_path / "mem"),
            "memory_tool_namespace": "alice",
        }
    ).workspace
    assert [v.actor for v in alice_files.history("/secret.md")] == ["mcp token 1"]
    assert "session manager started" in log  # the verbose log is on, and says nothing secret
    for token in (ALICE, BOB, ALICE_READER):
        assert token not in log


def test_a_session_opened_with_one_token_is_unknown_to_another(tmp_path: Path) -> None:
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"},
        },
    }
    listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    with shared_server(tmp_path) as server:
        status, headers, _ = post(server.url, initialize, {"Authorization": f"Bearer {ALICE}"})
        session = {"Mcp-Session-Id": headers["mcp-session-id"], "MCP-Protocol-Version": "2025-11-25"}
        as_bob = post(server.url, listing, session | {"Authorization": f"Bearer {BOB}"})
        as_alice = post(server.url, listing, session | {"Authorization": f"Bearer {ALICE}"})

    assert status == 200
    assert as_bob[0] == 404
    assert "memory_view" not in as_bob[2]
    assert as_alice[0] == 200 and "memory_view" in as_alice[2]


# -- refusing to start -------------------------------------------------------------------------


def run_cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = server_environ(MEMORY_TOOL_BACKEND="local", MEMORY_TOOL_LOCAL_DIR=str(tmp_path / "mem"), **env)
    return subprocess.run(
        [*SERVER, *args],
        check=False,
        env=environ,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        stdin=subprocess.DEVNULL,
    )


def assert_one_error_line(done: subprocess.CompletedProcess[str], start: str) -> None:
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"error: {start}"), lines[0]


def test_http_without_any_token_refuses_to_start(tmp_path: Path) -> None:
    done = run_cli(tmp_path, "--http", "127.0.0.1:0")
    assert_one_error_line(done, "the HTTP server needs a bearer token: set MEMSPACE_MCP_TOKEN")


def test_a_weak_token_refuses_to_start_without_echoing_it(tmp_path: Path) -> None:
    done = run_cli(tmp_path, "--http", "127.0.0.1:0", MEMSPACE_MCP_TOKEN="hunter2")
    assert_one_error_line(done, "MEMSPACE_MCP_TOKEN is too short")
    assert "hunter2" not in done.stderr


def test_a_broken_tokens_file_refuses_to_start_without_echoing_tokens(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps({"tokens": {ALICE: {"namespace": "alice"}, BOB: {"namespace": "b o b"}}}))
    done = run_cli(tmp_path, "--http", "127.0.0.1:0", "--tokens", str(path))
    assert_one_error_line(done, f"the tokens file {path}: token 2: ")
    assert ALICE not in done.stderr and BOB not in done.stderr


@pytest.mark.parametrize(
    ("args", "env", "start"),
    [
        (["--tokens", "tokens.json"], {}, "--tokens applies to the HTTP server only"),
        (["--http", "127.0.0.1:0", "--tokens", "tokens.json"], {"MEMSPACE_MCP_TOKEN": ALICE}, "use either"),
        (["--http", "localhost:http"], {"MEMSPACE_MCP_TOKEN": ALICE}, "'localhost:http' is not HOST:PORT"),
    ],
)
def test_contradictory_or_malformed_options_are_one_error_line(
    args: list[str], env: dict[str, str], start: str, tmp_path: Path
) -> None:
    tokens_file(tmp_path)
    done = subprocess.run(
        [*SERVER, *args],
        check=False,
        env=server_environ(MEMORY_TOOL_BACKEND="memory", **env),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        stdin=subprocess.DEVNULL,
    )
    assert_one_error_line(done, start)


def test_a_port_in_use_is_one_error_line(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        done = run_cli(tmp_path, "--http", f"127.0.0.1:{port}", MEMSPACE_MCP_TOKEN=ALICE)
    assert_one_error_line(done, f"cannot listen on 127.0.0.1:{port}: ")


# -- the tokens file, in process ---------------------------------------------------------------


def test_a_tokens_file_maps_each_token_to_its_namespace_and_access(tmp_path: Path) -> None:
    table = TokenTable.from_file(tokens_file(tmp_path))

    alice, bob, reader = table.lookup(ALICE), table.lookup(BOB), table.lookup(ALICE_READER)
    assert alice is not None and (alice.namespace, alice.read_only) == ("alice", False)
    assert bob is not None and (bob.namespace, bob.read_only) == ("bob", False)
    assert reader is not None and (reader.namespace, reader.read_only) == ("alice", True)
    assert table.lookup(ALICE[:-1]) is None
    assert table.lookup("") is None
    assert len(table) == 3
    assert ALICE not in repr(table)


@pytest.mark.parametrize(
    ("content", "start"),
    [
        ("{", "is not valid JSON (line 1, column 2)"),
        (json.dumps([ALICE]), 'must be a JSON object {"tokens"'),
        (
            json.dumps({"tokens": {ALICE: {"namespace": "alice"}}, "extra": 1}),
            'must be a JSON object {"tokens"',
        ),
        (json.dumps({"tokens": {}}), "no bearer token is configured"),
        (json.dumps({"tokens": {ALICE: "alice"}}), "token 1: expected"),
        (json.dumps({"tokens": {ALICE: {}}}), "token 1: namespace is missing"),
        (
            json.dumps({"tokens": {ALICE: {"namespace": "a", "readonly": True}}}),
            "token 1: unknown key 'readonly'",
        ),
        (
            json.dumps({"tokens": {ALICE: {"namespace": "a", "read_only": "yes"}}}),
            "token 1: read_only must be",
        ),
        (json.dumps({"tokens": {ALICE: {"namespace": "../x"}}}), "token 1: memory_tool_namespace"),
        (json.dumps({"tokens": {"short": {"namespace": "a"}}}), "token 1 is too short"),
        (json.dumps({"tokens": {ALICE + " x": {"namespace": "a"}}}), "token 1 may hold only printable ASCII"),
        (
            f'{{"tokens": {{"{ALICE}": {{"namespace": "a"}}, "{ALICE}": {{"namespace": "b"}}}}}}',
            "a key appears twice",
        ),
    ],
)
def test_a_malformed_tokens_file_is_a_clear_error_that_never_shows_a_token(
    content: str, start: str, tmp_path: Path
) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(content)

    with pytest.raises(ConfigError) as caught:
        TokenTable.from_file(path)

    message = str(caught.value)
    assert message.startswith(f"the tokens file {path}"), message
    assert start in message, message
    assert ALICE not in message


def test_a_missing_tokens_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read the tokens file .*nope\.json: No such file"):
        TokenTable.from_file(tmp_path / "nope.json")


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("8000", ("127.0.0.1", 8000)),
        (":8000", ("127.0.0.1", 8000)),
        ("0.0.0.0:9000", ("0.0.0.0", 9000)),
        ("localhost:0", ("localhost", 0)),
        ("[::1]:8000", ("::1", 8000)),
    ],
)
def test_an_address_without_a_host_means_loopback(address: str, expected: tuple[str, int]) -> None:
    assert parse_address(address) == expected


@pytest.mark.parametrize("address", ["::1:8000", "host:", "host:99999", "host:-1", ""])
def test_a_malformed_address_is_a_clear_error(address: str) -> None:
    with pytest.raises(ConfigError, match="HOST:PORT"):
        parse_address(address)
