"""The anthropic SDK's own memory tool tests, run against memspace's adapter on the local backend.

The SDK's test file (``tests/lib/tools/memory_tools/test_filesystem.py`` of the installed
anthropic version) is downloaded from its sdist at test time (tests/support/anthropic_sdk.py)
and run unmodified, except that the two fixtures which build the tool build
``MemspaceMemoryTool`` / ``AsyncMemspaceMemoryTool`` over a local-disk workspace instead of the
SDK's ``BetaLocalFilesystemMemoryTool``. Its async tests run under anyio (the SDK's own setup
uses pytest-asyncio's auto mode).

The SDK's tests look at the files on disk through two attributes of its tool, ``base_path`` and
``memory_root`` (= ``base_path / "memories"``); the fixtures give the adapter those two, pointing
at the workspace's folder. The tests that cannot pass on memspace, and why, are listed in
``NOT_APPLICABLE`` and ``KNOWN_DIFFERENCES`` below (and in docs/integrations.md).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from memspace.integrations.anthropic import AsyncMemspaceMemoryTool, MemspaceMemoryTool
from memspace.limits import Limits
from memspace.storage.local import LocalStore
from memspace.workspace import Workspace

from .support.anthropic_sdk import load_sdk_memory_tool_tests

if os.environ.get("MEMSPACE_SKIP_SDK_TESTS") == "1":
    pytest.skip("MEMSPACE_SKIP_SDK_TESTS=1", allow_module_level=True)

_sdk = load_sdk_memory_tool_tests()

# Collected here, so the fixtures below (not the SDK file's) build the tool.
TestBetaLocalFilesystemMemoryTool = _sdk.TestBetaLocalFilesystemMemoryTool
TestBetaAsyncLocalFilesystemMemoryTool = _sdk.TestBetaAsyncLocalFilesystemMemoryTool

pytestmark = pytest.mark.anyio

# The SDK's local tool has no file size limit, and one test writes a 4.8 MB file.
_LIMITS = Limits(max_file_bytes=16 * 1024 * 1024)


class _SyncToolOnDisk(MemspaceMemoryTool):
    """The adapter, plus where its files are on disk (the SDK's tests read them there)."""

    def __init__(self, workspace: Workspace, base_path: Path) -> None:
        super().__init__(workspace)
        self.base_path = base_path
        self.memory_root = base_path / "memories"


class _AsyncToolOnDisk(AsyncMemspaceMemoryTool):
    def __init__(self, workspace: Workspace, base_path: Path) -> None:
        super().__init__(workspace)
        self.base_path = anyio.Path(base_path)
        self.memory_root = anyio.Path(base_path / "memories")


def _local_workspace(tmp_path: Path) -> tuple[Workspace, Path]:
    """A local-disk workspace whose root is ``<base_path>/memories``.

    The store's root holds memspace's lock folder; ``base_path`` is one level below it, so
    the SDK's snapshots of ``base_path`` see only the memory files, as with its own tool.
    """
    store_root = tmp_path / "store"
    base_path = store_root / "home"
    (base_path / "memories").mkdir(parents=True)
    workspace = Workspace(LocalStore(store_root), base="home/memories/", limits=_LIMITS)
    return workspace, base_path


@pytest.fixture
def sync_local_filesystem_tool(tmp_path: Path) -> Iterator[MemspaceMemoryTool]:
    tool = _SyncToolOnDisk(*_local_workspace(tmp_path))
    yield tool
    tool.close()


@pytest.fixture
def async_local_filesystem_tool(tmp_path: Path) -> Iterator[AsyncMemspaceMemoryTool]:
    tool = _AsyncToolOnDisk(*_local_workspace(tmp_path))
    yield tool
    tool.close()


# Tests that never reach the fixtures above: they build the SDK's own class themselves, so they
# would test the SDK, not the adapter. Skipped, so they are not counted as the adapter's passes.
NOT_APPLICABLE = {
    "test_mkdir_parents_not_world_writable_under_permissive_umask": (
        "builds the SDK's BetaLocalFilesystemMemoryTool directly, so it tests the SDK, not the "
        "adapter (memspace's LocalStore, like the SDK, creates folders 0o700 and files 0o600 "
        "whatever the umask: tests/test_local_leftovers.py)"
    ),
}

# Tests that fail on the adapter, by design, with the exception they fail with.
KNOWN_DIFFERENCES: dict[str, tuple[type[BaseException], str]] = {
    "test_read_rejects_symlink_created_after_validation": (
        AttributeError,
        "patches the SDK tool's private _validate_path (a host path, checked before the file is "
        "opened); the adapter has none: it never resolves host paths, and the local store opens "
        "every path component with O_NOFOLLOW, so no symlink is followed at any time",
    ),
    "test_view_rejects_directory_symlink_created_after_validation": (
        AttributeError,
        "patches the SDK tool's private _validate_path, which the adapter does not have (as above)",
    ),
    "test_validate_path_returns_resolved_path_not_symlink_target": (
        AttributeError,
        "calls the SDK tool's private _validate_path, which the adapter does not have (as above)",
    ),
    "test_read_rejects_file_replaced_with_symlink_before_open": (
        AssertionError,
        "patches os.open and asserts that the first os.open call opens the file by its full host "
        "path; memspace's local store opens the store root first and walks down with dir_fd",
    ),
    "test_view_lists_symlinks_only_when_they_stay_inside_memories": (
        AssertionError,
        "expects a symlink whose target is inside /memories to be listed; memspace never follows "
        "or lists symlinks, wherever they point",
    ),
}


@pytest.fixture(autouse=True)
def _mark_known_differences(request: pytest.FixtureRequest) -> None:
    name = getattr(request.node, "originalname", request.node.name)
    if name in NOT_APPLICABLE:
        pytest.skip(NOT_APPLICABLE[name])
    if name in KNOWN_DIFFERENCES:
        raises, reason = KNOWN_DIFFERENCES[name]
        request.applymarker(pytest.mark.xfail(raises=raises, reason=reason, strict=True))
