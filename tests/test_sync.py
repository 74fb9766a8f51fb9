"""``memspace sync``: promote a local workspace to S3; re-running changes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from memspace import MemoryTools, Workspace
from memspace.storage.memory import MemoryStore
from memspace.sync import sync

from .conftest import s3_environ, unique_prefix
from .support.seaweed import SeaweedServer


def test_sync_copies_then_is_idempotent_then_updates_and_mirrors() -> None:
    source, target = Workspace(MemoryStore(), base="a/"), Workspace(MemoryStore(), base="b/")
    source.create("/notes/x.md", "x")
    source.create("/notes/y.md", "y")
    target.create("/notes/y.md", "old y")
    target.create("/stale.md", "stale")
    first = sync(source, target)
    assert (first.copied, first.updated, first.unchanged, first.deleted) == (1, 1, 0, 0)
    again = sync(source, target)
    assert (again.changed, again.unchanged) == (0, 2)
    mirrored = sync(source, target, delete=True)
    assert mirrored.deleted == 1
    assert sorted(str(e.path) for e in target.walk("/")) == ["/notes/x.md", "/notes/y.md"]
    assert target.read("/notes/y.md").text == "y"


def test_sync_copies_binary_files_byte_for_byte() -> None:
    source, target = Workspace(MemoryStore()), Workspace(MemoryStore())
    source.store.put("img.bin", b"\x00\xff\xfe", mode="create", write_ids=())
    assert sync(source, target).copied == 1
    assert target.store.get("img.bin").data == b"\x00\xff\xfe"


@pytest.mark.s3
def test_cli_sync_local_to_s3(tmp_path: Path, seaweed: SeaweedServer) -> None:
    local_dir = tmp_path / "dev"
    dev = MemoryTools.from_config({"memory_tool_local_dir": str(local_dir)}, environ={})
    for i in range(30):
        dev.workspace.create(f"/notes/n{i:02d}.md", f"note {i}\n")
    prefix = unique_prefix()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEMORY_TOOL_", "AWS_", "R2_"))}
    env |= s3_environ(seaweed) | {"MEMORY_TOOL_PREFIX": prefix}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "memspace", "sync", f"local:{local_dir}", "s3", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=True,
        )

    first = run()
    assert first.stdout.strip() == "30 copied, 0 updated, 0 unchanged, 0 deleted, 0 skipped, 0 failed."
    assert "30/30" in first.stderr  # the progress bar reached the end
    prod = MemoryTools.from_config(
        {"memory_tool_backend": "s3", "memory_tool_prefix": prefix}, environ=s3_environ(seaweed)
    )
    assert prod.workspace.read("/notes/n07.md").text == "note 7\n"
    assert run().stdout.startswith("0 copied, 0 updated, 30 unchanged")
    dev.workspace.append("/notes/n07.md", "more")
    prod.workspace.create("/prod-only.md", "x")
    assert run("--delete").stdout.startswith("0 copied, 1 updated, 29 unchanged, 1 deleted")
    assert prod.workspace.read("/notes/n07.md").text == "note 7\nmore"
    assert not prod.workspace.exists("/prod-only.md")


@pytest.mark.parametrize(
    ("change", "cause"),
    [
        ({"AWS_S3_BUCKET": "no-such-bucket"}, "the S3 bucket does not exist; create it"),
        ({"AWS_SECRET_ACCESS_KEY": "wrong-secret"}, "S3 refused the credentials"),
    ],
    ids=["missing bucket", "wrong credentials"],
)
def test_cli_sync_from_an_unreadable_source_is_one_error_line(
    tmp_path: Path, seaweed: SeaweedServer, change: dict[str, str], cause: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEMORY_TOOL_", "AWS_", "R2_"))}
    env |= s3_environ(seaweed) | change | {"MEMORY_TOOL_PREFIX": unique_prefix()}
    target = tmp_path / "dst"

    def run(*options: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "memspace", *options, "sync", "s3", f"local:{target}", "--delete"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )

    quiet = run()
    assert quiet.returncode == 1 and quiet.stdout == ""
    assert quiet.stderr.startswith("error: cannot read the source: ") and cause in quiet.stderr
    assert quiet.stderr.count("\n") == 1, quiet.stderr  # no WARNING lines, no traceback
    assert "no-such-bucket" not in quiet.stderr and "127.0.0.1" not in quiet.stderr
    assert not target.exists()
    verbose = run("--verbose")
    assert verbose.returncode == 1 and "Traceback" not in verbose.stderr
    assert "WARNING memspace.storage.s3" in verbose.stderr  # the detail, for the operator
    assert "wrong-secret" not in verbose.stderr and seaweed.secret_key not in verbose.stderr
