"""Search on the S3 peer, counted at the HTTP level: what the content cache saves, and that it
never gives a wrong answer (changed files, corrupt or unusable cache, other buckets, other processes)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from memspace import MemoryTools
from memspace.content_cache import DATABASE_NAME, entry_id

from .conftest import ACCESS_KEY, BUCKET, SECRET_KEY, s3_environ, unique_prefix
from .support.faultproxy import FaultProxy
from .support.seaweed import SeaweedServer
from .support.workers import run_workers, search_lines

pytestmark = pytest.mark.s3


class Setup:
    """One workspace on the peer: written directly, searched through the counting proxy."""

    def __init__(
        self, seaweed: SeaweedServer, proxy: FaultProxy, tmp_path: Path, bucket: str = BUCKET
    ) -> None:
        self.proxy = proxy
        self.cache_dir = tmp_path / "cache"
        self.config: dict[str, Any] = {
            "memory_tool_backend": "s3",
            "memory_tool_prefix": unique_prefix(),
            "memory_tool_cache_dir": str(self.cache_dir),
        }
        self.environ = s3_environ(seaweed, bucket=bucket) | {"AWS_ENDPOINT_URL": proxy.endpoint}
        self.direct = MemoryTools.from_config(self.config, environ=s3_environ(seaweed, bucket=bucket))
        self.tools = MemoryTools.from_config(self.config, environ=self.environ)

    def put(self, files: dict[str, str]) -> None:
        """Write files straight to the server (not through the proxy), many at a time."""
        store, base = self.direct.workspace.store, self.direct.workspace.base

        def put_one(item: tuple[str, str]) -> None:
            store.put(base + item[0].lstrip("/"), item[1].encode(), mode="overwrite", write_ids=())

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(put_one, files.items()))

    def search(self, **args: Any) -> str:
        self.proxy.reset()
        result = self.tools.call("memory_search", {"pattern": "needle", **args})
        assert not result.is_error, result.text
        return result.text

    def requests(self) -> dict[str, int]:
        """Requests since the last search, with LISTs (GETs with list-type) counted apart."""
        counts: dict[str, int] = {}
        for request in self.proxy.requests():
            kind = "LIST" if "list-type=" in request["path"] else request["method"]
            counts[kind] = counts.get(kind, 0) + 1
        return counts


@pytest.fixture
def setup(seaweed: SeaweedServer, proxy: FaultProxy, tmp_path: Path) -> Setup:
    return Setup(seaweed, proxy, tmp_path)


def notes(count: int) -> dict[str, str]:
    """``count`` files in 10 folders; every seventh has a needle on line 2."""
    return {
        f"/f{i % 10}/n{i:05d}.md": f"note {i}\n{'needle ' if i % 7 == 0 else ''}line {i}\n"
        for i in range(count)
    }


def matching_lines(text: str) -> list[str]:
    return sorted(line for line in text.splitlines() if line.startswith("/") and ":" in line)


def test_repeated_search_of_an_unchanged_workspace_issues_only_list_requests(setup: Setup) -> None:
    setup.put(notes(1200))
    first = setup.search()
    assert setup.requests() == {"LIST": 2, "GET": 1200}  # 1,200 objects: two pages
    assert first.startswith('Found 172 matching lines in 172 files for "needle" (searched 1,200 files):')
    second = setup.search()
    assert setup.requests() == {"LIST": 2}
    assert second == first
    assert matching_lines(setup.search(glob="*.md", regex=True, pattern="^needle")) == matching_lines(first)
    assert setup.requests() == {"LIST": 2}
    assert setup.search(mode="ranked", pattern="needle line").startswith("Files with some of the words")
    assert setup.requests() == {"LIST": 2}
    setup.proxy.reset()
    setup.tools.call("memory_find", {"glob": "f3/*.md"})
    assert setup.requests() == {"LIST": 2}


def test_another_process_on_the_machine_reuses_the_cache(setup: Setup) -> None:
    setup.put(notes(300))
    in_process = setup.search()
    setup.proxy.reset()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEMORY_TOOL_", "AWS_", "R2_"))}
    env |= setup.environ | {
        "MEMORY_TOOL_BACKEND": "s3",
        "MEMORY_TOOL_PREFIX": setup.config["memory_tool_prefix"],
        "MEMORY_TOOL_CACHE_DIR": str(setup.cache_dir),
    }
    grep = subprocess.run(
        [sys.executable, "-m", "memspace", "grep", "-i", "needle"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert setup.requests() == {"LIST": 1}
    assert len(grep.stdout.splitlines()) == len(matching_lines(in_process)) == 43


def test_only_changed_and_new_files_are_fetched_again(setup: Setup) -> None:
    setup.put(notes(50))
    setup.search()
    setup.direct.workspace.overwrite("/f0/n00000.md", "rewritten, no match now\n")
    setup.direct.workspace.overwrite("/f1/n00001.md", "now a needle here\n")
    setup.direct.workspace.delete("/f4/n00014.md")
    setup.direct.workspace.create("/new.md", "a new needle\n")
    text = setup.search()
    assert setup.requests() == {"LIST": 1, "GET": 3}
    found = matching_lines(text)
    assert "/f1/n00001.md:1: now a needle here" in found and "/new.md:1: a new needle" in found
    assert not any(line.startswith(("/f0/n00000.md", "/f4/n00014.md")) for line in found)
    assert len(found) == 8 - 2 + 2


def test_a_corrupted_cache_entry_is_detected_and_fetched_again(setup: Setup) -> None:
    setup.put({"/a.md": "the needle is here\n", "/b.md": "another needle\n"})
    setup.search()
    store = setup.tools.workspace.store
    key = setup.tools.workspace.base + "a.md"
    corrupted = entry_id(store.cache_identity, key, store.head(key).version or "")  # type: ignore[attr-defined]
    with sqlite3.connect(setup.cache_dir / DATABASE_NAME) as db:
        changed = db.execute(
            "UPDATE entries SET data = ? WHERE id = ?", (b"the needle was moved\n", corrupted)
        )
        assert changed.rowcount == 1
    text = setup.search()
    assert setup.requests() == {"LIST": 1, "GET": 1}
    assert matching_lines(text) == ["/a.md:1: the needle is here", "/b.md:1: another needle"]
    setup.search()
    assert setup.requests() == {"LIST": 1}  # repaired


def test_a_corrupt_cache_database_is_replaced_and_searches_stay_right(setup: Setup) -> None:
    setup.put(notes(30))
    expected = matching_lines(setup.search())
    setup.tools.workspace.cache.close()  # type: ignore[union-attr]  # as if a new process opened it
    (setup.cache_dir / DATABASE_NAME).write_bytes(b"\x00garbage" * 4096)
    assert matching_lines(setup.search()) == expected
    assert setup.requests() == {"LIST": 1, "GET": 30}
    assert matching_lines(setup.search()) == expected
    assert setup.requests() == {"LIST": 1}


def test_an_unusable_cache_folder_degrades_to_fetching(
    seaweed: SeaweedServer, proxy: FaultProxy, tmp_path: Path
) -> None:
    (tmp_path / "not-a-folder").write_text("a file where the cache folder should be")
    setup = Setup(seaweed, proxy, tmp_path / "not-a-folder")
    setup.put(notes(20))
    for _ in range(2):
        text = setup.search()
        assert setup.requests() == {"LIST": 1, "GET": 20}
        assert len(matching_lines(text)) == 3


def test_a_file_that_cannot_be_read_fails_the_search_instead_of_leaving_it_out(setup: Setup) -> None:
    setup.put({"/a.md": "needle\n", "/b.md": "needle\n"})
    setup.proxy.reset()
    setup.proxy.fail("GET", status=503, count=100, path=r"/b\.md$")
    result = setup.tools.call("memory_search", {"pattern": "needle"})
    assert result.is_error
    assert result.text == (
        "The memory storage could not read: S3 kept answering HTTP 503 after retries; try again later."
    )
    setup.proxy.reset()
    assert len(matching_lines(setup.search())) == 2


def test_searching_one_file_costs_a_list_and_a_head_once_cached(setup: Setup) -> None:
    setup.put({"/notes/a.md": "needle\n", "/notes/b.md": "needle\n"})
    assert matching_lines(setup.search(path="/notes/a.md")) == ["/notes/a.md:1: needle"]
    assert setup.requests() == {"LIST": 1, "HEAD": 1, "GET": 1}
    setup.search(path="/notes/a.md")
    assert setup.requests() == {"LIST": 1, "HEAD": 1}


def test_two_buckets_never_share_cache_entries(
    seaweed: SeaweedServer, proxy: FaultProxy, tmp_path: Path
) -> None:
    seaweed.create_bucket("memspace-test-other")
    first = Setup(seaweed, proxy, tmp_path)
    other = Setup(seaweed, proxy, tmp_path, bucket="memspace-test-other")
    other.config["memory_tool_prefix"] = first.config["memory_tool_prefix"]
    other.tools = MemoryTools.from_config(other.config, environ=other.environ)
    other.direct = MemoryTools.from_config(
        other.config, environ=s3_environ(seaweed, bucket="memspace-test-other")
    )
    for setup in (first, other):
        setup.put({"/same.md": "the same needle, so the same key and ETag\n"})
    first.search()
    first.search()
    assert first.requests() == {"LIST": 1}
    other.search()
    assert other.requests() == {"LIST": 1, "GET": 1}  # the other bucket's object is fetched, not borrowed
    identities = {first.tools.workspace.store.cache_identity, other.tools.workspace.store.cache_identity}  # type: ignore[attr-defined]
    assert len(identities) == 2


def test_the_cache_holds_no_credentials_and_no_bucket_or_key_names(setup: Setup) -> None:
    setup.put({"/private/plan.md": "needle\n"})
    setup.search()
    setup.tools.workspace.cache.close()  # type: ignore[union-attr]  # flush the WAL into the file
    stored = b"".join(path.read_bytes() for path in setup.cache_dir.iterdir())
    for secret in (SECRET_KEY, ACCESS_KEY, BUCKET, "private/plan.md", "127.0.0.1"):
        assert secret.encode() not in stored, secret
    assert b"needle" in stored  # the content itself is what it caches


@pytest.mark.slow
def test_processes_searching_at_once_share_the_cache_safely(setup: Setup) -> None:
    setup.put(notes(400))
    results = run_workers(search_lines, 4, setup.config, setup.environ, 3)
    expected = setup.direct.call("memory_search", {"pattern": "needle"}).text
    assert all(text == expected for texts in results.values() for text in texts)
    setup.search()
    assert setup.requests() == {"LIST": 1}
