"""Long calls over MCP: progress notifications, a client that cancels, and a server that is
told to stop (SIGTERM, Ctrl-C) while a folder rename is half-way. Real server processes, the
real mcp client, real files."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import signal
import socket
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import anyio
import pytest
from mcp.client import Client
from mcp.shared.dispatcher import ProgressFnT

from memspace import MemoryTools
from memspace.integrations.mcp import build_server
from memspace.integrations.mcp.calls import InFlight

from .conftest import DEFAULT_TOOLS, s3_environ, unique_prefix
from .support.mcp_harness import (
    EXIT_TIMEOUT,
    SERVER,
    HttpServer,
    StdioServer,
    connect_http,
    connect_stdio,
    server_environ,
    text_of,
)
from .support.seaweed import SeaweedServer

TOKEN = "lifecycle-token-0123456789"
TIMEOUT = 180  # a safety net: these tests take seconds
FEW = 300  # files
MANY = 2000  # files


def local_env(tmp_path: Path, **env: str) -> dict[str, str]:
    return server_environ(
        MEMORY_TOOL_BACKEND="local",
        MEMORY_TOOL_LOCAL_DIR=str(tmp_path / "mem"),
        MEMSPACE_MCP_TOKEN=TOKEN,
        **env,
    )


def make_folder(tmp_path: Path, name: str, count: int) -> dict[str, str]:
    """``count`` files in /``name`` of the default namespace, written straight to disk."""
    folder = tmp_path / "mem" / "default" / name
    folder.mkdir(parents=True)
    contents = {f"f{i:04}.md": f"file {i}\n" for i in range(count)}
    for file_name, text in contents.items():
        (folder / file_name).write_text(text)
    return contents


def files_in(tmp_path: Path, name: str) -> dict[str, str]:
    folder = tmp_path / "mem" / "default" / name
    return {p.name: p.read_text() for p in folder.iterdir()} if folder.exists() else {}


@contextlib.contextmanager
def folder_held(tmp_path: Path, name: str) -> Iterator[Callable[[], None]]:
    """Hold the local store's lock on /``name``, as a writer in that folder does: a folder
    rename of it reports its start (progress 0) and then waits, until ``release()`` or the end
    of the block. (A local folder rename is one rename(2): without this, a test acting on the
    first progress report would race the rename's end.)"""
    fd = os.open(tmp_path / "mem" / "default" / name, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    held = True

    def release() -> None:
        nonlocal held
        if held:
            held = False
            fcntl.flock(fd, fcntl.LOCK_UN)

    try:
        yield release
    finally:
        release()
        os.close(fd)


async def until_refusing_calls(client: Client) -> None:
    """Wait until the server has taken a stop signal: it then refuses new calls."""
    for _ in range(600):
        text, _ = text_of(await client.call_tool("memory_view", {"path": "/nope.md"}))
        if text.startswith("The memory server is shutting down"):
            return
        await anyio.sleep(0.05)
    raise AssertionError("the server never took the signal")


async def until_not_listening(url: str) -> None:
    """Wait until an HTTP server has taken a stop signal: it then stops listening."""
    address = urlsplit(url)
    assert address.hostname is not None and address.port is not None
    for _ in range(600):
        with socket.socket() as probe:
            if probe.connect_ex((address.hostname, address.port)) != 0:
                return
        await anyio.sleep(0.05)
    raise AssertionError("the server never took the signal")


Progress = list[tuple[float, float | None]]


def recorder(seen: Progress) -> ProgressFnT:
    async def record(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total))

    return record


# -- progress ----------------------------------------------------------------------------------


@asynccontextmanager
async def client_for(transport: str, tmp_path: Path) -> AsyncIterator[Client]:
    if transport == "stdio":
        async with connect_stdio(local_env(tmp_path), tmp_path / "server.log") as client:
            yield client
    else:
        with HttpServer(local_env(tmp_path), tmp_path) as server:
            async with connect_http(server.url, TOKEN, mode="auto") as client:
                yield client


@pytest.mark.parametrize("transport", ["stdio", "http-2026"])
def test_folder_rename_delete_and_clear_report_progress_to_the_client(transport: str, tmp_path: Path) -> None:
    make_folder(tmp_path, "big", MANY)
    make_folder(tmp_path, "other", FEW)
    renamed: Progress = []
    deleted: Progress = []
    cleared: Progress = []

    async def main() -> list[tuple[str, bool]]:
        with anyio.fail_after(TIMEOUT):
            async with client_for(transport, tmp_path) as client:
                return [
                    text_of(
                        await client.call_tool(
                            "memory_rename",
                            {"old_path": "/big", "new_path": "/moved"},
                            progress_callback=recorder(renamed),
                        )
                    ),
                    text_of(
                        await client.call_tool(
                            "memory_delete", {"path": "/moved"}, progress_callback=recorder(deleted)
                        )
                    ),
                    text_of(
                        await client.call_tool("memory_clear_all", {}, progress_callback=recorder(cleared))
                    ),
                ]

    results = anyio.run(main)

    assert results == [
        ("Renamed directory /big to /moved (2,000 files).", False),
        ("Deleted directory /moved and the 2,000 files in it.", False),
        ("Cleared the memory workspace: deleted 300 files.", False),
    ]
    assert renamed and renamed[-1] == (MANY, MANY)
    assert {total for _, total in renamed} == {MANY}
    assert [done for done, _ in renamed] == sorted(done for done, _ in renamed)
    assert deleted and deleted[-1] == (MANY, MANY)
    assert {total for _, total in deleted} == {MANY}
    assert cleared and cleared[-1] == (FEW, FEW)
    assert not (tmp_path / "mem" / "default").exists() or not any((tmp_path / "mem" / "default").iterdir())


# -- cancellation ------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["stdio", "http", "http-2026"])
def test_a_cancelled_folder_rename_still_completes_and_the_server_keeps_serving(
    transport: str, tmp_path: Path
) -> None:
    contents = make_folder(tmp_path, "big", MANY)
    seen_at_cancel: Progress = []

    async def rename_then_cancel(client: Client) -> tuple[str, bool]:
        await client.list_tools()
        with anyio.CancelScope() as scope:

            async def cancel_once_under_way(
                progress: float, total: float | None, message: str | None
            ) -> None:
                if not seen_at_cancel and total and progress < total:
                    seen_at_cancel.append((progress, total))
                    scope.cancel()

            await client.call_tool(
                "memory_rename",
                {"old_path": "/big", "new_path": "/moved"},
                progress_callback=cancel_once_under_way,
            )
        assert scope.cancelled_caught, "the rename ended before the client could cancel it"
        release()  # the cancelled rename goes on
        # The server keeps serving: the next call is answered.
        return text_of(
            await client.call_tool("memory_create_update", {"path": "/after.md", "file_text": "ok"})
        )

    async def over_stdio() -> tuple[tuple[str, bool], int]:
        server = StdioServer(local_env(tmp_path), tmp_path / "server.log")
        with anyio.fail_after(TIMEOUT):
            async with server.client() as client:
                answer = await rename_then_cancel(client)
            # End of input: the server exits once the cancelled rename has finished.
            return answer, await server.wait()

    async def over_http(server: HttpServer) -> tuple[str, bool]:
        with anyio.fail_after(TIMEOUT):
            async with connect_http(
                server.url, TOKEN, mode="legacy" if transport == "http" else "auto"
            ) as client:
                return await rename_then_cancel(client)

    with folder_held(tmp_path, "big") as release:
        if transport == "stdio":
            answer, code = anyio.run(over_stdio)
        else:
            with HttpServer(local_env(tmp_path), tmp_path) as http:
                answer = anyio.run(over_http, http)
                code = http.signal_and_wait(signal.SIGTERM)  # waits for the rename, then exits

    assert answer == ("Created /after.md (1 line, 2 bytes).", False)
    assert code == 0
    assert seen_at_cancel and seen_at_cancel[0][0] < MANY
    assert files_in(tmp_path, "moved") == contents
    assert files_in(tmp_path, "big") == {}


@pytest.mark.parametrize("transport", ["http", "http-2026"])
def test_a_client_that_disconnects_during_a_folder_rename_leaves_it_completed(
    transport: str, tmp_path: Path
) -> None:
    contents = make_folder(tmp_path, "big", MANY)
    seen_at_disconnect: Progress = []

    async def rename_then_go_away(server: HttpServer) -> bool:
        with anyio.fail_after(TIMEOUT), anyio.CancelScope() as gone:
            async with connect_http(
                server.url, TOKEN, mode="legacy" if transport == "http" else "auto"
            ) as client:
                await client.list_tools()

                async def leave_once_under_way(
                    progress: float, total: float | None, message: str | None
                ) -> None:
                    if not seen_at_disconnect and total and progress < total:
                        seen_at_disconnect.append((progress, total))
                        gone.cancel()  # leaves the client, and its connection, at once

                await client.call_tool(
                    "memory_rename",
                    {"old_path": "/big", "new_path": "/moved"},
                    progress_callback=leave_once_under_way,
                )
        return gone.cancelled_caught

    with HttpServer(local_env(tmp_path), tmp_path) as http:
        with folder_held(tmp_path, "big"):
            left = anyio.run(rename_then_go_away, http)
        code = http.signal_and_wait(signal.SIGTERM)  # waits for the rename, then exits
        log = http.log()

    assert left, "the rename ended before the client could leave"
    assert seen_at_disconnect and seen_at_disconnect[0][0] < MANY
    assert code == 0
    assert "Traceback" not in log
    assert files_in(tmp_path, "moved") == contents
    assert files_in(tmp_path, "big") == {}


# -- stopping the server -----------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_sigterm_during_a_folder_rename_lets_it_finish_answer_and_exit_0(
    transport: str, tmp_path: Path
) -> None:
    contents = make_folder(tmp_path, "big", MANY)
    signalled: Progress = []
    refused: list[str] = []

    async def rename_and_signal(
        client: Client, pid: int, release: Callable[[], None], taken: Callable[[], Awaitable[None]]
    ) -> tuple[str, bool]:
        # As clients do, list the tools first (the SDK client otherwise lists them after a
        # call, to check its result, and the server has stopped by then).
        await client.list_tools()
        under_way = anyio.Event()

        async def signal_once_under_way(progress: float, total: float | None, message: str | None) -> None:
            if not signalled and total and progress < total:
                signalled.append((progress, total))
                os.kill(pid, signal.SIGTERM)
                under_way.set()

        async def let_it_finish_once_the_signal_is_taken() -> None:
            await under_way.wait()
            await taken()
            refused.append("taken")
            release()

        async with anyio.create_task_group() as tg:
            tg.start_soon(let_it_finish_once_the_signal_is_taken)
            result = await client.call_tool(
                "memory_rename",
                {"old_path": "/big", "new_path": "/moved"},
                progress_callback=signal_once_under_way,
            )
        return text_of(result)

    async def over_stdio(release: Callable[[], None]) -> tuple[tuple[str, bool], int]:
        server = StdioServer(local_env(tmp_path), tmp_path / "server.log")
        with anyio.fail_after(TIMEOUT):
            async with server.client() as client:
                answer = await rename_and_signal(
                    client, server.pid, release, lambda: until_refusing_calls(client)
                )
            return answer, await server.wait()

    async def over_http(server: HttpServer, release: Callable[[], None]) -> tuple[str, bool]:
        with anyio.fail_after(TIMEOUT):
            async with connect_http(server.url, TOKEN, mode="auto") as client:
                return await rename_and_signal(
                    client, server.pid, release, lambda: until_not_listening(server.url)
                )

    with folder_held(tmp_path, "big") as release:
        if transport == "stdio":
            answer, code = anyio.run(over_stdio, release)
            log = (tmp_path / "server.log").read_text()
        else:
            with HttpServer(local_env(tmp_path), tmp_path) as http:
                answer = anyio.run(over_http, http, release)
                code = http.wait()
                log = http.log()

    assert signalled and signalled[0][0] < MANY
    assert refused == ["taken"]  # the rename was still waiting when the server took the signal
    assert answer == ("Renamed directory /big to /moved (2,000 files).", False)
    assert code == 0
    assert "Traceback" not in log
    assert files_in(tmp_path, "moved") == contents
    assert files_in(tmp_path, "big") == {}


@pytest.mark.parametrize(
    ("args", "signals", "why"),
    [
        (["--grace", "0"], [signal.SIGTERM], "after waiting 0 s for 1 tool call still running"),
        ([], [signal.SIGTERM, signal.SIGINT], "at a second signal, with 1 tool call still running"),
    ],
    ids=["grace-over", "second-signal"],
)
def test_a_forced_stop_during_a_call_exits_1_with_one_error_line(
    args: list[str], signals: list[signal.Signals], why: str, tmp_path: Path
) -> None:
    contents = make_folder(tmp_path, "big", MANY)
    server = StdioServer(local_env(tmp_path), tmp_path / "server.log", args=args)

    async def main() -> int:
        with anyio.fail_after(TIMEOUT):
            async with server.client() as client, anyio.create_task_group() as tg:
                await client.list_tools()

                async def signal_once_under_way(
                    progress: float, total: float | None, message: str | None
                ) -> None:
                    if total and progress < total and not tg.cancel_scope.cancel_called:
                        for sig in signals:
                            os.kill(server.pid, sig)
                        tg.cancel_scope.cancel()  # the answer will not come: stop waiting for it

                tg.start_soon(
                    lambda: client.call_tool(
                        "memory_rename",
                        {"old_path": "/big", "new_path": "/moved"},
                        progress_callback=signal_once_under_way,
                    )
                )
            return await server.wait()

    with folder_held(tmp_path, "big"):  # the rename is still waiting when the server stops
        code = anyio.run(main)

    assert code == 1
    lines = (tmp_path / "server.log").read_text().splitlines()
    assert lines == [f"error: stopped {why}; a folder rename cut short finishes when it is run again"]
    assert files_in(tmp_path, "big") == contents  # a local folder rename is all or nothing


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_at_a_terminal_it_says_what_it_waits_for_and_stops_cleanly(
    sig: signal.Signals, tmp_path: Path
) -> None:
    terminal, terminal_side = pty.openpty()
    try:
        process = subprocess.Popen(
            SERVER,
            stdin=terminal_side,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=server_environ(MEMORY_TOOL_BACKEND="memory"),
        )
        os.close(terminal_side)
        assert process.stderr is not None
        notice = process.stderr.readline().decode()  # printed once signals are handled
        process.send_signal(sig)
        out, err = process.communicate(timeout=EXIT_TIMEOUT)
    finally:
        os.close(terminal)

    assert notice == (
        "memspace mcp: waiting for an MCP client on stdin (an MCP client such as Claude Desktop starts "
        "this command itself; --http serves over HTTP); press Ctrl-C to stop\n"
    )
    assert process.returncode == 0
    assert out == b""
    assert err == b""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_over_http_it_prints_its_url_and_stops_cleanly(sig: signal.Signals, tmp_path: Path) -> None:
    with HttpServer(local_env(tmp_path), tmp_path) as server:
        code = server.signal_and_wait(sig)
        log = server.log()

    assert code == 0
    assert log == f"memspace mcp: serving MCP at {server.url} (1 token); press Ctrl-C to stop\n"
    assert server.url.startswith("http://127.0.0.1:") and server.url.endswith("/mcp")


def test_a_server_that_is_stopping_refuses_new_calls_but_still_lists_its_tools() -> None:
    tools = MemoryTools.from_config({"memory_tool_backend": "memory"})
    calls = InFlight()
    server = build_server(tools, calls=calls)

    async def main() -> tuple[int, tuple[str, bool], tuple[str, bool]]:
        with anyio.fail_after(TIMEOUT):
            # The mcp client connected to the server object in-process.
            async with Client(server) as client:
                before = text_of(
                    await client.call_tool("memory_create_update", {"path": "/a.md", "file_text": "a"})
                )
                calls.close()  # what the first SIGTERM or Ctrl-C does
                listed = len((await client.list_tools()).tools)
                after = text_of(await client.call_tool("memory_delete", {"path": "/a.md"}))
                return listed, before, after

    listed, before, (text, is_error) = anyio.run(main)

    assert before == ("Created /a.md (1 line, 1 byte).", False)
    assert listed == len(DEFAULT_TOOLS)
    assert is_error and text.startswith("The memory server is shutting down and takes no new calls")
    assert tools.workspace.read("/a.md").text == "a"


@pytest.mark.s3
def test_a_folder_rename_cut_short_on_s3_finishes_when_run_again(
    seaweed: SeaweedServer, tmp_path: Path
) -> None:
    # On an object store a folder rename moves one file at a time; a server stopped before it
    # could finish leaves part of the folder moved, and the same rename, run again, finishes it.
    count = 400  # enough that the stop lands long before the end, even on a loaded machine
    env = server_environ(
        **s3_environ(seaweed),
        MEMORY_TOOL_BACKEND="s3",
        MEMORY_TOOL_PREFIX=unique_prefix(),
        MEMSPACE_MCP_TOKEN=TOKEN,
    )
    contents = {f"/big/f{i:04}.md": f"file {i}\n" for i in range(count)}
    with MemoryTools.from_config({"memory_tool_backend": "s3"}, environ=env) as tools:
        for path, text in contents.items():
            tools.workspace.create(path, text)
    stopped_at: Progress = []
    cut = StdioServer(env, tmp_path / "cut.log", args=["--grace", "0"])

    async def rename_and_stop_half_way() -> int:
        with anyio.fail_after(TIMEOUT):
            async with cut.client() as client, anyio.create_task_group() as tg:
                await client.list_tools()

                async def stop_half_way(progress: float, total: float | None, message: str | None) -> None:
                    if total and 0 < progress < total and not stopped_at:
                        stopped_at.append((progress, total))
                        os.kill(cut.pid, signal.SIGTERM)
                        tg.cancel_scope.cancel()  # the answer will not come: stop waiting for it

                tg.start_soon(
                    lambda: client.call_tool(
                        "memory_rename",
                        {"old_path": "/big", "new_path": "/moved"},
                        progress_callback=stop_half_way,
                    )
                )
            return await cut.wait()

    async def run_again() -> tuple[str, bool]:
        with anyio.fail_after(TIMEOUT):
            async with connect_stdio(env, tmp_path / "again.log") as client:
                return text_of(
                    await client.call_tool("memory_rename", {"old_path": "/big", "new_path": "/moved"})
                )

    code = anyio.run(rename_and_stop_half_way)
    with MemoryTools.from_config({"memory_tool_backend": "s3"}, environ=env) as tools:
        left_behind = tools.workspace.walk("/big")
    answer = anyio.run(run_again)
    with MemoryTools.from_config({"memory_tool_backend": "s3"}, environ=env) as tools:
        moved = {
            str(entry.path): tools.workspace.read(str(entry.path)).text
            for entry in tools.workspace.walk("/moved")
        }
        left_after = tools.workspace.walk("/big")

    assert stopped_at and 0 < stopped_at[0][0] < count
    assert code == 1
    assert (tmp_path / "cut.log").read_text().splitlines() == [
        "error: stopped after waiting 0 s for 1 tool call still running; "
        "a folder rename cut short finishes when it is run again"
    ]
    assert 0 < len(left_behind) < count  # it was cut short
    assert answer == (f"Renamed directory /big to /moved ({count} files).", False)
    assert moved == {path.replace("/big/", "/moved/"): text for path, text in contents.items()}
    assert left_after == []
