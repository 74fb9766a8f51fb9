"""What another program may leave in a bucket, and storage that keeps failing, against the real S3 peer.

Objects are planted with plain signed requests (as a console, a sync tool or a careless
script would write them), faults come from the proxy in front of the server, and the
``memspace`` command runs as a real process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import unicodedata
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from memspace import MemoryTools

from .conftest import BUCKET, s3_environ, unique_prefix
from .support.faultproxy import FaultProxy
from .support.seaweed import SeaweedServer

pytestmark = pytest.mark.s3


def plant(server: SeaweedServer, key: str, body: bytes = b"planted\n") -> None:
    """Write ``key`` the way another program would (no memspace metadata)."""
    status, answer = server.request("PUT", f"/{BUCKET}/{urllib.parse.quote(key, safe='/')}", body=body)
    assert status == 200, answer


def s3_tools(server: SeaweedServer, prefix: str, **config: Any) -> MemoryTools:
    return MemoryTools.from_config(
        {"memory_tool_backend": "s3", "memory_tool_prefix": prefix, **config}, environ=s3_environ(server)
    )


def listed_keys(server: SeaweedServer, prefix: str) -> list[str]:
    status, body = server.request(
        "GET", f"/{BUCKET}?list-type=2&prefix={urllib.parse.quote(prefix, safe='')}"
    )
    assert status == 200, body
    return sorted(urllib.parse.unquote(part.split("</Key>")[0]) for part in body.decode().split("<Key>")[1:])


# -- what another program left in the bucket --------------------------------------------


def test_a_key_with_a_control_character_does_not_break_the_namespace(seaweed: SeaweedServer) -> None:
    """Keys no path can have (a control character, a newline, NFD) are counted, never shown, and go with
    a clear; obstore cannot parse some of them in a listing, and the namespace stays usable anyway."""
    prefix = unique_prefix()
    tools = s3_tools(seaweed, prefix)
    tools.workspace.create("/notes/ok.md", "mine\n")
    plant(seaweed, f"{prefix}default/notes/bad\x01name.md")
    plant(seaweed, f"{prefix}default/bad\x7f.md")
    plant(seaweed, f"{prefix}default/a.md\n    99B  /injected.md")
    plant(seaweed, prefix + "default/" + unicodedata.normalize("NFD", "café.md"))
    listing = tools.call("memory_view", {"path": "/"})
    assert not listing.is_error, listing.text
    assert "/notes/ok.md" in listing.text and "bad" not in listing.text
    assert "injected" not in listing.text and "caf" not in listing.text
    assert "[4 entries here cannot be shown" in listing.text
    for name, args in [
        ("memory_view", {"path": "/notes"}),
        ("memory_search", {"pattern": "mine"}),
        ("memory_find", {"glob": "*"}),
        ("memory_view", {"path": "/notes/ok.md"}),
    ]:
        result = tools.call(name, args)
        assert not result.is_error, (name, result.text)
    cleared = tools.call("memory_clear_all", {})
    assert not cleared.is_error and cleared.text.endswith("deleted 1 file."), cleared.text
    # The planted keys went with the namespace: nothing of it is left to trip the next listing.
    assert [key for key in listed_keys(seaweed, prefix) if "/.memspace/" not in key] == []


def test_zero_byte_folder_markers_are_not_shown_as_files(seaweed: SeaweedServer) -> None:
    """Consoles and some sync tools create ``folder/`` objects of zero bytes to show empty folders."""
    prefix = unique_prefix()
    tools = s3_tools(seaweed, prefix)
    tools.workspace.create("/notes/a.md", "a\n")
    for marker in ("default/notes/", "default/empty/", "default/empty/deeper/"):
        plant(seaweed, prefix + marker, b"")
    listing = tools.call("memory_view", {"path": "/"}).text
    assert listing.splitlines()[1:] == ["     2B  /notes/", "     2B  /notes/a.md"], listing
    assert [str(entry.path) for entry in tools.workspace.walk("/")] == ["/notes/a.md"]
    assert "/empty" not in tools.call("memory_find", {"glob": "**"}).text
    # A marked folder is usable like any other: written into, renamed, deleted, cleared.
    assert not tools.call("memory_create_update", {"path": "/empty/deeper/n.md", "file_text": "n"}).is_error
    assert "/empty/deeper/n.md" in tools.call("memory_view", {"path": "/empty"}).text
    assert not tools.call("memory_rename", {"old_path": "/notes", "new_path": "/moved"}).is_error
    assert tools.call("memory_view", {"path": "/moved/a.md"}).text.endswith("a")
    assert tools.call("memory_clear_all", {}).text.endswith("deleted 2 files.")
    assert tools.call("memory_view", {"path": "/"}).text == "The workspace root / is empty."


def test_a_path_at_the_key_length_limit_gets_a_clear_path_too_long_error(seaweed: SeaweedServer) -> None:
    """S3 keys are at most 1,024 bytes, prefix and namespace included: a longer one is HTTP 400 after
    retries; memspace refuses it first, saying the path is too long and nothing is written."""
    prefix = unique_prefix() + "p" * 200 + "/"
    tools = s3_tools(seaweed, prefix, memory_tool_namespace="n" * 64)
    overhead = len(f"{prefix}{'n' * 64}/")
    for size in (1024 - overhead, 1024 - overhead + 1, 1100 - overhead):
        path = "/" + "/".join(["a" * 199] * 5)[: size - 1]  # ``size`` bytes with the leading slash
        assert len(path.encode()) == size
        result = tools.call("memory_create_update", {"path": path, "file_text": "x"})
        assert result.is_error, size
        assert "Use a shorter path" in result.text and "HTTP" not in result.text, result.text
    fits = "/" + "b" * 100
    assert not tools.call("memory_create_update", {"path": fits, "file_text": "x"}).is_error
    assert [key for key in listed_keys(seaweed, prefix) if "/.memspace/" not in key] == [
        f"{prefix}{'n' * 64}{fits}"
    ]


# -- storage that keeps failing ------------------------------------------------------------


@pytest.mark.parametrize("status", [403, 500, 503])
def test_an_append_while_every_put_is_refused_says_the_storage_fails(
    faulty_versioned: MemoryTools, proxy: FaultProxy, status: int
) -> None:
    faulty_versioned.workspace.create("/log.md", "start\n")
    proxy.reset()
    proxy.fail("PUT", status=status, count=1000)
    for args in (
        {"path": "/log.md", "file_text": "entry", "mode": "append"},
        {"path": "/log.md", "file_text": "new", "mode": "overwrite"},
    ):
        result = faulty_versioned.call("memory_create_update", args)
        assert result.is_error
        assert "changed by others" not in result.text and "being changed" not in result.text, result.text
        assert f"HTTP {status}" in result.text or "permission" in result.text.lower(), result.text
    proxy.reset()
    assert faulty_versioned.workspace.read("/log.md").text == "start\n"


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MEMORY_TOOL_", "AWS_", "R2_"))}
    return subprocess.run(
        [sys.executable, "-m", "memspace", *args],
        capture_output=True,
        text=True,
        env=base | env,
        timeout=300,
        check=False,
    )


def _local_source(tmp_path: Path, files: int) -> Path:
    root = tmp_path / "dev"
    dev = MemoryTools.from_config({"memory_tool_local_dir": str(root)}, environ={})
    for i in range(files):
        dev.workspace.create(f"/notes/n{i}.md", f"note {i}\n")
    return root


def test_a_sync_whose_one_answer_is_lost_reports_success_and_the_file_landed(
    tmp_path: Path, proxy: FaultProxy, seaweed: SeaweedServer
) -> None:
    source = _local_source(tmp_path, 1)
    prefix = unique_prefix()
    env = s3_environ(seaweed) | {"AWS_ENDPOINT_URL": proxy.endpoint, "MEMORY_TOOL_PREFIX": prefix}
    proxy.reset()
    proxy.lose_response("PUT", count=1, path=r"/default/notes/n0\.md$")
    try:
        run = _cli(env, "sync", f"local:{source}", "s3")
        outcomes = [
            entry["outcome"] for entry in proxy.requests() if entry["path"].endswith("/default/notes/n0.md")
        ]
    finally:
        proxy.reset()
    assert run.returncode == 0, run.stderr
    assert "error" not in (run.stdout + run.stderr).lower(), run.stdout + run.stderr
    assert outcomes.count("lost_response") == 1 and len(outcomes) >= 2, outcomes  # lost, then settled
    target = s3_tools(seaweed, prefix)
    assert target.workspace.read("/notes/n0.md").text == "note 0\n"
    again = _cli(env | {"AWS_ENDPOINT_URL": seaweed.endpoint}, "sync", f"local:{source}", "s3")
    assert again.returncode == 0 and "0 copied" in again.stdout + again.stderr, again.stdout + again.stderr


@pytest.mark.parametrize("fault", ["fail", "drop"])
def test_persistent_faults_make_sync_print_one_error_line(
    tmp_path: Path, proxy: FaultProxy, seaweed: SeaweedServer, fault: str
) -> None:
    source = _local_source(tmp_path, 3)
    env = s3_environ(seaweed) | {"AWS_ENDPOINT_URL": proxy.endpoint, "MEMORY_TOOL_PREFIX": unique_prefix()}
    proxy.reset()
    if fault == "fail":
        proxy.fail("*", status=503, count=10_000)
    else:
        proxy.drop("*", count=10_000)
    try:
        run = _cli(env, "sync", f"local:{source}", "s3")
    finally:
        proxy.reset()
    assert run.returncode == 1
    assert "Traceback" not in run.stdout + run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], run.stderr  # after the progress bar, not inside it
    assert run.stdout == ""
