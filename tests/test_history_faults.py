"""History when things go wrong: lost responses under contention, and writers killed mid-write."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from memspace import MemoryTools
from memspace.history import History
from memspace.storage.base import PreconditionFailed
from memspace.storage.memory import MemoryStore
from memspace.workspace import Workspace

from .conftest import s3_environ, unique_prefix
from .support.faultproxy import FaultProxy
from .support.history_checks import assert_history_is_every_append
from .support.seaweed import SeaweedServer
from .support.workers import append_lines, run_workers

pytestmark = pytest.mark.slow


def test_history_holds_every_version_once_despite_lost_responses_under_contention(
    seaweed: SeaweedServer, proxy: FaultProxy
) -> None:
    """4 processes x 25 appends through a proxy that cuts the connection after the server applied
    10 of the file's PUTs: each append is applied once, and each becomes exactly one version."""
    config = {"memory_tool_backend": "s3", "memory_tool_prefix": unique_prefix()}
    environ = s3_environ(seaweed) | {"AWS_ENDPOINT_URL": proxy.endpoint}
    MemoryTools.from_config(config, environ=environ).workspace.create("/log.md", "start")
    proxy.reset()
    proxy.lose_response("PUT", count=10, path=r"/default/log\.md$")
    results = run_workers(append_lines, 4, config, environ, 25)
    assert all(errors == [] for errors in results.values()), results
    lost = [r for r in proxy.requests() if r["outcome"] == "lost_response"]
    assert len(lost) == 10
    proxy.reset()
    workspace = MemoryTools.from_config(config, environ=s3_environ(seaweed)).workspace
    assert workspace.read("/log.md").text.count("\n") == 100
    assert_history_is_every_append(workspace, "/log.md", 101)


@pytest.mark.parametrize("mode", ["edits", "moves"])
@pytest.mark.parametrize("backend", ["local", "s3"])
def test_a_writer_killed_at_any_point_leaves_the_file_and_its_history_consistent(
    backend: str, mode: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """SIGKILL a process that edits and restores (``edits``) or also renames, deletes and restores
    (``moves``) one file, 8 times at random points: every file is a complete version that its
    history lists as current, every listed version reads, and a deleted victim comes back."""
    config: dict[str, Any] = {"memory_tool_backend": backend, "memory_tool_local_dir": str(tmp_path / "mem")}
    environ: dict[str, str] = {}
    if backend == "s3":
        environ = s3_environ(request.getfixturevalue("seaweed"))
        config["memory_tool_prefix"] = unique_prefix()
    tools = MemoryTools.from_config(config, environ=environ)
    workspace = tools.workspace
    workspace.create("/victim.md", "start")
    rng = random.Random(4321)
    command = [
        sys.executable,
        "-m",
        "tests.support.history_writer",
        json.dumps({**config, "environ": environ}),
        mode,
    ]
    for _ in range(8):
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, cwd=Path(__file__).parent.parent)
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.05, 0.4))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        _settle(tools)
        files = [str(entry.path) for entry in workspace.walk("/")]
        for path in files:
            versions = workspace.history(path)
            # The file is a complete version, and that version is the newest in its history.
            assert versions[0].current, (path, versions[:3])
            assert workspace.read_version(path, versions[0].id) == workspace.read(path).text, (
                path,
                versions[:3],
                workspace.store.head(workspace.base + workspace.path(path).key),
            )
            assert len({v.id for v in versions}) == len(versions)
            for version in versions[:20]:
                if not version.deleted:
                    workspace.read_version(path, version.id)  # every listed version is readable
        if "/victim.md" not in files:
            # Killed between a delete and its restore, or a rename and its way back. On an object
            # store the killed rename's stub holds the name for STUB_TTL_SECONDS (its writer might
            # still delete it); the writer is dead, so clear it now instead of waiting.
            if backend == "s3":
                workspace.store.sweep(workspace.base, older_than=0.0)
            moved = [path for path in files if path.startswith("/moved-")]
            if moved:
                workspace.rename(moved[0], "/victim.md")
            else:
                assert "/victim.md" in {str(d.path) for d in workspace.deleted()}
                workspace.restore("/victim.md")
            assert workspace.read("/victim.md").text.startswith("start")
        for path in files:
            if path.startswith("/moved-") and workspace.exists(path):
                workspace.delete(path)  # a copy a killed rename left beside the original
    assert len(workspace.history("/victim.md")) > 8  # the writers did write


def _settle(tools: MemoryTools) -> None:
    """Wait until the killed writer's last requests are over: a request whose body was sent
    before the kill can still be applied by the server after the process is gone."""
    workspace = tools.workspace
    previous = None
    unchanged = 0
    for _ in range(100):
        listing = sorted((e.key, e.version) for e in workspace.store.list("", include_reserved=True))
        unchanged = unchanged + 1 if listing == previous else 0
        if unchanged == 3:  # the same for a second, on a machine that may be loaded
            return
        previous = listing
        time.sleep(0.33)
    raise AssertionError("the store kept changing after its only writer was killed")


class _ResendingStore(MemoryStore):
    """An in-process object store whose next put of ``key`` lands, then has ``burst`` other
    appends land on top, and answers PreconditionFailed: what a client that resent a put whose
    answer was lost sees while other writers are busy."""

    resends_writes = True

    def __init__(self, key: str, burst: int) -> None:
        super().__init__()
        self.key, self.burst, self.armed = key, burst, False

    def put(self, key: str, data: bytes, **kwargs: Any) -> str:
        version = super().put(key, data, **kwargs)
        if self.armed and key == self.key:
            self.armed = False
            other = Workspace(self, base="memories/default/", history=_history_of(self))
            for i in range(self.burst):
                other.append("/log.md", f"other {i}\n")
            raise PreconditionFailed(key)
        return version


def _history_of(store: MemoryStore) -> History:
    return MemoryTools.from_config({"memory_tool_backend": "memory"}, store=store).workspace._versions  # type: ignore[return-value]


@pytest.mark.parametrize("versioning", [True, False])
def test_a_write_buried_under_more_writes_than_ids_are_kept_is_never_applied_twice(versioning: bool) -> None:
    """Our append lands, its answer is lost, and 9 appends (more than the 8 ids an object keeps)
    land on top before we look again: with history we find it landed; without, we say we cannot
    tell rather than append it a second time."""
    store = _ResendingStore("memories/default/log.md", burst=9)
    tools = MemoryTools.from_config(
        {"memory_tool_backend": "memory", "memory_tool_versioning": versioning}, store=store
    )
    tools.workspace.create("/log.md", "start\n")
    store.armed = True
    result = tools.call("memory_create_update", {"path": "/log.md", "file_text": "mine\n", "mode": "append"})
    text = tools.workspace.read("/log.md").text
    assert text.count("mine") == 1 and text.count("other") == 9
    if versioning:
        assert not result.is_error, result.text
    else:
        assert result.is_error and "storage" in result.text.lower(), result.text
