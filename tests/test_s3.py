"""S3 and R2 against a real SeaweedFS server: many processes, big folders, failures, faults."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from memspace import MemoryTools
from memspace.errors import ConfigError, MissingDependencyError
from memspace.storage.s3 import S3Store, r2_endpoint

from .conftest import ACCESS_KEY, BUCKET, SECRET_KEY, s3_environ, tools_through_proxy, unique_prefix
from .support.faultproxy import FaultProxy
from .support.history_checks import assert_history_is_every_append
from .support.seaweed import SeaweedServer
from .support.workers import append_lines, create_races, insert_lines, replace_own_lines, run_workers

pytestmark = pytest.mark.s3

PROCESSES = 8


@pytest.fixture
def s3_config(seaweed: SeaweedServer) -> tuple[dict[str, Any], dict[str, str]]:
    return {"memory_tool_backend": "s3", "memory_tool_prefix": unique_prefix()}, s3_environ(seaweed)


def tools_for(config: dict[str, Any], environ: dict[str, str]) -> MemoryTools:
    return MemoryTools.from_config(config, environ=environ)


# -- many processes ------------------------------------------------------------------


@pytest.mark.slow
def test_8_processes_x_50_appends_give_exactly_400_lines(
    s3_config: tuple[dict[str, Any], dict[str, str]],
) -> None:
    config, environ = s3_config
    results = run_workers(append_lines, PROCESSES, config, environ, 50)
    assert all(errors == [] for errors in results.values()), results
    lines = tools_for(config, environ).workspace.read("/log.md").text.split("\n")
    assert len(lines) == 400
    assert sorted(lines) == sorted(f"w{w}-{i}" for w in range(PROCESSES) for i in range(50))
    assert_history_is_every_append(tools_for(config, environ).workspace, "/log.md", 400)


@pytest.mark.slow
def test_8_processes_creating_one_key_exactly_one_wins_every_round(
    s3_config: tuple[dict[str, Any], dict[str, str]],
) -> None:
    config, environ = s3_config
    rounds = 10  # SeaweedFS answers contended losers in ~1 s steps, so rounds are slow
    results = run_workers(create_races, PROCESSES, config, environ, rounds)
    wins = [r for won in results.values() for r in won]
    assert -1 not in wins
    assert sorted(wins) == list(range(rounds))
    tools = tools_for(config, environ)
    for r in range(rounds):
        winner = next(w for w, won in results.items() if r in won)
        assert tools.workspace.read(f"/race/{r}.md").text == f"winner {winner}"


@pytest.mark.slow
def test_str_replace_and_insert_from_several_processes_lose_no_edit(
    s3_config: tuple[dict[str, Any], dict[str, str]],
) -> None:
    config, environ = s3_config
    tools = tools_for(config, environ)
    lines = [f"item {w}-{j}: todo" for j in range(6) for w in range(4)]
    tools.workspace.create("/shared.md", "\n".join(lines) + "\n")
    replaced = run_workers(replace_own_lines, 4, config, environ, 6)
    inserted = run_workers(insert_lines, 4, config, environ, 6)
    assert all(errors == [] for errors in [*replaced.values(), *inserted.values()])
    final = tools.workspace.read("/shared.md").text.splitlines()
    assert final[0] == "item 0-0: done"
    assert sorted(final[1:25]) == sorted(f"inserted {w}-{j}" for w in range(4) for j in range(6))
    assert sorted(final[25:] + final[:1]) == sorted(line.replace("todo", "done") for line in lines)


# -- directories with more than two pages ---------------------------------------------


@pytest.fixture
def big_folder(s3_config: tuple[dict[str, Any], dict[str, str]]) -> Iterator[MemoryTools]:
    config, environ = s3_config
    tools = tools_for(config, environ)
    store = tools.workspace.store

    def put(i: int) -> None:
        store.put(f"{tools.workspace.base}big/f{i:05d}.md", b"x", mode="create", write_ids=())

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, range(2500)))
    tools.workspace.create("/keep.md", "keep")
    yield tools


def count(tools: MemoryTools, path: str) -> int:
    return len(tools.workspace.walk(path))


@pytest.mark.slow
def test_2500_files_list_delete(big_folder: MemoryTools) -> None:
    tools = big_folder
    assert count(tools, "/big") == 2500
    listing = tools.call("memory_view", {"path": "/big"}).text
    assert "[2,000 more entries not shown" in listing  # 500 shown of 2,500
    assert "2.4K  /big/" in tools.call("memory_view", {"path": "/"}).text
    assert (
        tools.call("memory_delete", {"path": "/big"}).text
        == "Deleted directory /big and the 2,500 files in it."
    )
    assert count(tools, "/") == 1


@pytest.mark.slow
def test_2500_files_rename_then_clear(big_folder: MemoryTools) -> None:
    tools = big_folder
    assert "2,500 files" in tools.call("memory_rename", {"old_path": "/big", "new_path": "/moved"}).text
    assert count(tools, "/moved") == 2500
    assert not tools.workspace.exists("/big")
    assert tools.call("memory_clear_all", {}).text == "Cleared the memory workspace: deleted 2,501 files."
    assert count(tools, "/") == 0


# -- isolation inside one bucket -------------------------------------------------------


def test_sibling_prefixes_and_namespaces_sharing_a_name_prefix_never_touch(seaweed: SeaweedServer) -> None:
    env = s3_environ(seaweed)
    prefixes, namespaces = unique_prefix(), unique_prefix()
    team = tools_for({"memory_tool_backend": "s3", "memory_tool_prefix": prefixes + "team"}, env)
    team2 = tools_for({"memory_tool_backend": "s3", "memory_tool_prefix": prefixes + "team2"}, env)
    ns = tools_for(
        {"memory_tool_backend": "s3", "memory_tool_prefix": namespaces, "memory_tool_namespace": "team"}, env
    )
    ns2 = tools_for(
        {"memory_tool_backend": "s3", "memory_tool_prefix": namespaces, "memory_tool_namespace": "team2"}, env
    )
    for tools in (team, team2, ns, ns2):
        tools.workspace.create("/a.md", "x")
    for tools in (team, ns):
        assert tools.call("memory_clear_all", {}).text.endswith("deleted 1 file.")
    assert team2.workspace.read("/a.md").text == "x"
    assert ns2.workspace.read("/a.md").text == "x"


def test_a_workspace_nested_inside_another_is_never_cleared_by_the_outer_one(seaweed: SeaweedServer) -> None:
    """Prefix P with namespace 'memories' is the folder that prefix P/memories/ puts its workspaces in."""
    env = s3_environ(seaweed)
    root = unique_prefix()
    outer = tools_for(
        {"memory_tool_backend": "s3", "memory_tool_prefix": root, "memory_tool_namespace": "memories"}, env
    )
    inner = tools_for({"memory_tool_backend": "s3", "memory_tool_prefix": root + "memories/"}, env)
    inner.workspace.create("/tenant.md", "the inner workspace's file")
    outer.workspace.create("/mine.md", "x")
    result = outer.call("memory_clear_all", {})
    assert result.is_error and "Another workspace lives inside this one" in result.text
    assert inner.workspace.read("/tenant.md").text == "the inner workspace's file"
    assert outer.workspace.read("/mine.md").text == "x"


# -- configuration and failures ----------------------------------------------------------


def test_r2_endpoint_is_built_from_the_account_and_jurisdiction() -> None:
    assert r2_endpoint("abc123") == "https://abc123.r2.cloudflarestorage.com"
    assert r2_endpoint("abc123", "eu") == "https://abc123.eu.r2.cloudflarestorage.com"
    assert r2_endpoint("abc123", "fedramp") == "https://abc123.fedramp.r2.cloudflarestorage.com"
    with pytest.raises(ConfigError, match="R2_JURISDICTION"):
        r2_endpoint("abc123", "mars")
    with pytest.raises(ConfigError, match="R2_ACCOUNT_ID"):
        r2_endpoint("evil.com/x?")
    store = S3Store.from_env(
        "r2",
        {
            "R2_BUCKET_NAME": "b",
            "R2_ACCOUNT_ID": "abc123",
            "R2_ACCESS_KEY_ID": "k",
            "R2_SECRET_ACCESS_KEY": "s",
            "R2_JURISDICTION": "eu",
        },
    )
    assert store.kind == "r2"
    assert store._store.config["endpoint"] == "https://abc123.eu.r2.cloudflarestorage.com"
    assert store._store.config["region"] == "auto"


@pytest.mark.parametrize(
    ("backend", "env", "named"),
    [
        ("s3", {}, "AWS_S3_BUCKET"),
        ("s3", {"AWS_S3_BUCKET": "b", "AWS_ACCESS_KEY_ID": "k"}, "AWS_SECRET_ACCESS_KEY"),
        ("r2", {"R2_BUCKET_NAME": "b"}, "R2_ACCOUNT_ID, R2_ACCESS_KEY_ID, R2_SECRET_ACCESS_KEY"),
    ],
)
def test_missing_environment_variables_are_named(backend: str, env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        MemoryTools.from_config({"memory_tool_backend": backend}, environ=env)


def test_aws_profile_without_boto3_names_the_extra() -> None:
    pytest.importorskip("obstore")
    try:
        import boto3  # noqa: F401
    except ImportError:
        with pytest.raises(MissingDependencyError, match=r"memspace\[aws\]"):
            MemoryTools.from_config(
                {"memory_tool_backend": "s3"}, environ={"AWS_S3_BUCKET": "b", "AWS_PROFILE": "p"}
            )
    else:  # pragma: no cover - boto3 installed: the provider is built instead
        MemoryTools.from_config(
            {"memory_tool_backend": "s3"}, environ={"AWS_S3_BUCKET": "b", "AWS_PROFILE": "p"}
        )


def _failing_call(env: dict[str, str], caplog: pytest.LogCaptureFixture) -> str:
    tools = MemoryTools.from_config(
        {"memory_tool_backend": "s3", "memory_tool_prefix": unique_prefix()}, environ=env
    )
    with caplog.at_level(logging.DEBUG):
        result = tools.call("memory_create_update", {"path": "/a.md", "file_text": "x"})
        view = tools.call("memory_view", {"path": "/"})
    assert result.is_error and view.is_error
    everything = result.text + view.text + caplog.text
    assert SECRET_KEY not in everything and ACCESS_KEY not in everything
    assert "127.0.0.1" not in result.text + view.text  # no endpoint shown to the model
    return result.text


def test_missing_bucket_is_a_clear_error(seaweed: SeaweedServer, caplog: pytest.LogCaptureFixture) -> None:
    text = _failing_call(s3_environ(seaweed, bucket="no-such-bucket"), caplog)
    assert "bucket does not exist" in text
    assert "no-such-bucket" not in text


def test_wrong_credentials_are_a_clear_error(
    seaweed: SeaweedServer, caplog: pytest.LogCaptureFixture
) -> None:
    env = s3_environ(seaweed) | {"AWS_SECRET_ACCESS_KEY": "wrong-" + SECRET_KEY}
    text = _failing_call(env, caplog)
    assert "refused the credentials" in text
    assert "wrong-" not in caplog.text


@pytest.fixture
def closed_port_with_403() -> Iterator[int]:
    """A port whose number contains 403, bound but not listening: every connection is refused,
    deterministically, for as long as the test holds it."""
    for port in [40357, *range(40300, 40400), *range(14030, 14040), *range(24030, 24040)]:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            sock.close()
            continue
        try:
            yield port
        finally:
            sock.close()
        return
    pytest.fail("no port containing 403 is free on 127.0.0.1")


def test_unreachable_endpoint_is_a_clear_error(
    seaweed: SeaweedServer, caplog: pytest.LogCaptureFixture, closed_port_with_403: int
) -> None:
    """Classified by the kind of failure (no answer), never by digits in the URL."""
    env = s3_environ(seaweed) | {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{closed_port_with_403}"}
    text = _failing_call(env, caplog)
    assert "could not be reached" in text
    assert "credentials" not in text and "denied" not in text and "403" not in text


def test_only_the_bucket_set_names_the_credential_variables_and_contacts_nothing(tmp_path: Path) -> None:
    """No keys and no profile: a clear error before any request, not a trip to the EC2 metadata
    endpoint (pointed here at a listener that counts connections)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.0)
    endpoint = f"http://127.0.0.1:{listener.getsockname()[1]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEMORY_TOOL_", "AWS_", "R2_"))}
    env |= {
        "AWS_S3_BUCKET": "my-bucket",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_METADATA_ENDPOINT": endpoint,
        "AWS_EC2_METADATA_SERVICE_ENDPOINT": endpoint,
        "HOME": str(tmp_path),  # no ~/.aws of the developer's
    }
    with listener:
        proc = subprocess.run(
            [sys.executable, "-m", "memspace", "--backend", "s3", "view", "/"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody connected
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith("error: No S3 credentials were found")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        assert name in proc.stderr


# -- faults: throttling, 5xx, lost responses; request counts ------------------------------


@pytest.fixture
def faulty(proxy: FaultProxy, seaweed: SeaweedServer) -> Iterator[MemoryTools]:
    # Versioning off: every request counted here is the tool's own (history's are counted apart).
    yield tools_through_proxy(proxy, seaweed, memory_tool_versioning=False)
    proxy.reset()


def test_throttling_and_5xx_are_retried(faulty: MemoryTools, proxy: FaultProxy) -> None:
    faulty.workspace.create("/a.md", "one")
    proxy.reset()
    proxy.fail("GET", status=503, count=2)
    proxy.fail("PUT", status=500, count=2)
    result = faulty.call("memory_create_update", {"path": "/a.md", "file_text": "two", "mode": "append"})
    assert not result.is_error, result.text
    assert faulty.workspace.read("/a.md").text == "one\ntwo"
    assert proxy.counts() == {"GET": 3 + 1, "PUT": 3}  # 2 failed + 1 ok each, and our read


def test_dropped_connections_are_retried(faulty: MemoryTools, proxy: FaultProxy) -> None:
    faulty.workspace.create("/a.md", "one")
    proxy.reset()
    proxy.drop("GET", count=1)
    proxy.drop("PUT", count=1)
    result = faulty.call("memory_create_update", {"path": "/a.md", "file_text": "two", "mode": "append"})
    assert not result.is_error, result.text
    assert faulty.workspace.read("/a.md").text == "one\ntwo"


def test_persistent_server_errors_end_in_a_clear_error_after_bounded_retries(
    faulty: MemoryTools, proxy: FaultProxy
) -> None:
    faulty.workspace.create("/a.md", "one")
    proxy.reset()
    proxy.fail("GET", status=503, count=100)
    result = faulty.call("memory_view", {"path": "/a.md"})
    assert result.text == (
        "The memory storage could not read: S3 kept answering HTTP 503 after retries; try again later."
    )
    assert result.is_error
    assert proxy.counts() == {"GET": 6}  # 1 try + 5 retries, then the error
    proxy.reset()
    proxy.fail("PUT", status=500, count=100)
    result = faulty.call("memory_create_update", {"path": "/b.md", "file_text": "x"})
    assert result.is_error and "HTTP 500 after retries" in result.text
    assert proxy.counts() == {"PUT": 6}


def test_lost_response_of_an_append_is_not_applied_twice(faulty: MemoryTools, proxy: FaultProxy) -> None:
    faulty.workspace.create("/log.md", "start")
    for i in range(5):
        proxy.lose_response("PUT", count=1)
        result = faulty.call(
            "memory_create_update", {"path": "/log.md", "file_text": f"entry {i}", "mode": "append"}
        )
        assert not result.is_error, result.text
    assert faulty.workspace.read("/log.md").text == "start\n" + "\n".join(f"entry {i}" for i in range(5))


def test_write_whose_every_response_is_lost_is_settled_by_its_write_id(
    faulty: MemoryTools, proxy: FaultProxy
) -> None:
    """All 6 attempts of one PUT lose their answer: obstore gives up, the outcome is unknown,
    and the next read finds the write id, so the append is reported done and applied once."""
    faulty.workspace.create("/log.md", "start")
    proxy.reset()
    proxy.lose_response("PUT", count=6)
    result = faulty.call("memory_create_update", {"path": "/log.md", "file_text": "once", "mode": "append"})
    assert not result.is_error, result.text
    assert proxy.counts()["PUT"] == 6
    assert faulty.workspace.read("/log.md").text == "start\nonce"


def test_lost_response_of_a_create_reports_success_not_exists(faulty: MemoryTools, proxy: FaultProxy) -> None:
    proxy.lose_response("PUT", count=1)
    result = faulty.call("memory_create_update", {"path": "/new.md", "file_text": "mine"})
    assert not result.is_error, result.text
    assert faulty.workspace.read("/new.md").text == "mine"
    assert "already exists" in faulty.call("memory_create_update", {"path": "/new.md", "file_text": "x"}).text


def test_lost_responses_of_str_replace_and_insert_apply_once(faulty: MemoryTools, proxy: FaultProxy) -> None:
    faulty.workspace.create("/a.md", "a\nb\n")
    proxy.lose_response("PUT", count=1)
    assert not faulty.call(
        "memory_insert", {"path": "/a.md", "insert_line": 0, "insert_text": "top"}
    ).is_error
    proxy.lose_response("PUT", count=1)
    assert not faulty.call(
        "memory_str_replace", {"path": "/a.md", "old_str": "b", "new_str": "b\nb2"}
    ).is_error
    assert faulty.workspace.read("/a.md").text == "top\na\nb\nb2\n"


# Uncontended requests per tool call: without history, and with it (versioning on, the default).
# A LIST is an HTTP GET. With history, each write adds one PUT (its record), sent concurrently.
REQUESTS_PER_TOOL = [
    ("view a file", "memory_view", {"path": "/f.md"}, {"GET": 1}, {"GET": 1}),
    ("view the root", "memory_view", {"path": "/"}, {"GET": 1}, {"GET": 1}),  # one LIST page
    ("view a folder", "memory_view", {"path": "/d"}, {"GET": 2}, {"GET": 2}),  # GET (not a file) + LIST
    ("view a folder/", "memory_view", {"path": "/d/"}, {"GET": 1}, {"GET": 1}),  # LIST only
    ("create", "memory_create_update", {"path": "/new.md", "file_text": "x"}, {"PUT": 1}, {"PUT": 2}),
    (
        "append",
        "memory_create_update",
        {"path": "/f.md", "file_text": "x", "mode": "append"},
        {"GET": 1, "PUT": 1},
        {"GET": 1, "PUT": 2},
    ),
    (
        "overwrite",
        "memory_create_update",
        {"path": "/f.md", "file_text": "x", "mode": "overwrite"},
        {"GET": 1, "PUT": 1},
        {"GET": 1, "PUT": 2},
    ),
    (
        "str_replace",
        "memory_str_replace",
        {"path": "/f.md", "old_str": "one", "new_str": "1"},
        {"GET": 1, "PUT": 1},
        {"GET": 1, "PUT": 2},
    ),
    (
        "insert",
        "memory_insert",
        {"path": "/f.md", "insert_line": 1, "insert_text": "x"},
        {"GET": 1, "PUT": 1},
        {"GET": 1, "PUT": 2},
    ),
    # HEAD for the version, a stub PUT (If-Match) that fences the delete, then DELETE
    (
        "delete a file",
        "memory_delete",
        {"path": "/f.md"},
        {"HEAD": 1, "PUT": 1, "DELETE": 1},
        {"HEAD": 1, "PUT": 2, "DELETE": 1},
    ),
    # GET, PUT the destination (If-None-Match), fence the source with a stub (If-Match), DELETE it;
    # with history, a marker at each end (sent with the PUT and the DELETE)
    (
        "rename a file",
        "memory_rename",
        {"old_path": "/f.md", "new_path": "/g.md"},
        {"GET": 1, "PUT": 2, "DELETE": 1},
        {"GET": 1, "PUT": 4, "DELETE": 1},
    ),
]


@pytest.mark.parametrize("versioning", [False, True], ids=["plain", "with history"])
@pytest.mark.parametrize(
    ("label", "tool", "args", "plain", "versioned"), REQUESTS_PER_TOOL, ids=[r[0] for r in REQUESTS_PER_TOOL]
)
def test_requests_per_tool_call(
    faulty: MemoryTools,
    faulty_versioned: MemoryTools,
    proxy: FaultProxy,
    versioning: bool,
    label: str,
    tool: str,
    args: dict[str, Any],
    plain: dict[str, int],
    versioned: dict[str, int],
) -> None:
    tools = faulty_versioned if versioning else faulty
    tools.workspace.create("/f.md", "one\ntwo\n")
    tools.workspace.create("/d/x.md", "x")
    proxy.reset()
    result = tools.call(tool, args)
    assert not result.is_error, result.text
    counts = proxy.counts()
    # obstore's DeleteObjects is a POST; count a single-key delete either way
    if "POST" in counts:
        counts["DELETE"] = counts.pop("POST")
    assert counts == (versioned if versioning else plain), label


def test_s3_store_reuses_one_client(seaweed: SeaweedServer, tmp_path: Path) -> None:
    tools = tools_for(
        {"memory_tool_backend": "s3", "memory_tool_prefix": unique_prefix()}, s3_environ(seaweed)
    )
    inner = tools.workspace.store._store  # type: ignore[attr-defined]
    for i in range(3):
        tools.call("memory_create_update", {"path": f"/{i}.md", "file_text": "x"})
    assert tools.workspace.store._store is inner  # type: ignore[attr-defined]
    assert BUCKET in repr(inner)
