"""What a killed writer leaves on local disk, and what the local store creates.

A SIGKILL between writing a temp file and renaming it leaves a
``.memspace-tmp.*`` file beside the target. Such files are never counted or
shown by any surface, and are removed once stale: when their folder is listed,
and by ``memspace gc``. Files and folders are private to the user (0o600 /
0o700) whatever the umask, and no lock file ever appears in the workspace.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from memspace import MemoryTools
from memspace.storage.local import STALE_TEMP_SECONDS
from memspace.sync import sync

STALE = time.time() - STALE_TEMP_SECONDS - 60
SECRET = "leftover-secret-word"


def _tools(root: Path, **config: object) -> MemoryTools:
    return MemoryTools.from_config(
        {"memory_tool_backend": "local", "memory_tool_local_dir": str(root), **config}, environ={}
    )


def _plant(folder: Path, name: str, *, stale: bool) -> Path:
    """What a writer killed after writing its temp file leaves behind."""
    temp = folder / f".memspace-tmp.{name}"
    temp.write_text(f"{SECRET}\n" * 50)
    if stale:
        os.utime(temp, (STALE, STALE))
    return temp


@pytest.fixture
def leftovers(tmp_path: Path) -> Iterator[tuple[MemoryTools, list[Path], list[Path]]]:
    root = tmp_path / "mem"
    tools = _tools(root, memory_tool_history=True)
    tools.workspace.create("/notes/a.md", "alpha\n")
    tools.workspace.create("/b.md", "beta\n")
    tools.workspace.delete("/b.md")
    base = root / "default"
    stale = [_plant(base, "stale1", stale=True), _plant(base / "notes", "stale2", stale=True)]
    fresh = [_plant(base, "fresh1", stale=False), _plant(base / "notes", "fresh2", stale=False)]
    yield tools, stale, fresh
    tools.close()


def test_temp_files_are_never_shown_by_any_surface(
    leftovers: tuple[MemoryTools, list[Path], list[Path]], tmp_path: Path
) -> None:
    tools, _, _ = leftovers
    texts = [
        tools.call("memory_view", {"path": "/"}).text,
        tools.call("memory_view", {"path": "/notes"}).text,
        tools.call("memory_search", {"pattern": SECRET}).text,
        tools.call("memory_search", {"pattern": "leftover secret", "mode": "ranked"}).text,
        tools.call("memory_find", {"glob": "*"}).text,
        tools.call("memory_find", {"glob": "**/.memspace*"}).text,
        tools.call("memory_history", {"path": "/notes/a.md"}).text,
        tools.call("memory_history", {"path": "/b.md"}).text,
    ]
    for text in texts:
        assert "memspace-tmp" not in text and f"{SECRET}\n" not in text, text
    assert texts[2].startswith(f'No lines match "{SECRET}"')
    assert [str(e.path) for e in tools.workspace.walk("/")] == ["/notes/a.md"]
    assert [str(d.path) for d in tools.workspace.deleted()] == ["/b.md"]
    target = _tools(tmp_path / "copy")
    report = sync(tools.workspace, target.workspace)
    assert (report.copied, report.skipped, report.failed) == (1, [], {})
    assert [str(e.path) for e in target.workspace.walk("/")] == ["/notes/a.md"]
    assert tools.call("memory_clear_all", {}).text == "Cleared the memory workspace: deleted 1 file."


def test_stale_temp_files_are_swept_when_their_folder_is_listed(
    leftovers: tuple[MemoryTools, list[Path], list[Path]],
) -> None:
    tools, stale, fresh = leftovers
    tools.call("memory_view", {"path": "/"})
    assert not any(path.exists() for path in stale)
    assert all(path.exists() for path in fresh)  # a live writer may still be about to rename it


def test_gc_sweeps_stale_temp_files_and_keeps_fresh_ones(
    leftovers: tuple[MemoryTools, list[Path], list[Path]], tmp_path: Path
) -> None:
    _, stale, fresh = leftovers
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEMORY_TOOL_", "AWS_", "R2_"))}
    proc = subprocess.run(
        [sys.executable, "-m", "memspace", "--local-dir", str(tmp_path / "mem"), "gc"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert "2 temp files" in proc.stdout
    assert not any(path.exists() for path in stale)
    assert all(path.exists() for path in fresh)


# -- permissions and lock files -------------------------------------------------------------


@pytest.fixture
def open_umask() -> Iterator[None]:
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def test_folders_are_0o700_and_files_0o600_even_under_umask_0(tmp_path: Path, open_umask: None) -> None:
    root = tmp_path / "deep" / "mem"
    tools = _tools(root)
    tools.workspace.create("/a/b/c.md", "x")
    tools.workspace.append("/a/b/c.md", "y")
    tools.workspace.create("/top.md", "x")
    tools.workspace.rename("/top.md", "/moved/top.md")
    modes = {"deep": stat.S_IMODE((tmp_path / "deep").lstat().st_mode)}
    for here, folders, files in os.walk(tmp_path / "deep"):
        for name in folders + files:
            path = Path(here, name)
            modes[str(path.relative_to(tmp_path))] = stat.S_IMODE(path.lstat().st_mode)
    assert modes["deep"] == 0o700 and modes["deep/mem"] == 0o700
    for name, mode in modes.items():
        is_dir = (tmp_path / name).is_dir()
        assert mode == (0o700 if is_dir else 0o600), f"{name} is {oct(mode)}"
    assert "deep/mem/default/a/b/c.md" in modes and "deep/mem/default/moved/top.md" in modes


def test_no_lock_file_ever_appears_in_the_workspace(tmp_path: Path) -> None:
    root = tmp_path / "mem"
    tools = _tools(root)
    tools.workspace.create("/notes/a.md", "x\n")
    for i in range(3):
        tools.workspace.append("/notes/a.md", f"{i}")
    tools.workspace.str_replace("/notes/a.md", "x", "y")
    tools.workspace.insert("/notes/a.md", 0, "top")
    tools.workspace.rename("/notes", "/archive")
    tools.workspace.create("/b.md", "b")
    tools.workspace.delete("/b.md")
    names = {path.name for path in root.rglob("*")}
    assert not any("lock" in name.lower() for name in names), names
    visible = sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if not any(part.startswith(".memspace") for part in p.relative_to(root).parts)
    )
    assert visible == ["default", "default/archive", "default/archive/a.md"]


# -- the reserved area's own folders ---------------------------------------------------------


@pytest.mark.parametrize("namespace", ["trash", "locks", "memspace-queue"])
def test_a_namespace_named_like_a_store_folder_keeps_its_history_through_deletes_and_gc(
    tmp_path: Path, namespace: str
) -> None:
    """The trash and the writers' queue live where no namespace's reserved area can be."""
    root = tmp_path / "mem"
    named = _tools(root, memory_tool_history=True, memory_tool_namespace=namespace)
    named.workspace.create("/plan.md", "first\n")
    named.workspace.overwrite("/plan.md", "second\n")
    other = _tools(root, memory_tool_history=True)
    other.workspace.create("/old/a.md", "a\n")
    other.workspace.delete("/old")  # a folder delete goes through the trash
    assert other.workspace.collect_garbage()["trash folders"] == 0
    report = named.workspace.collect_garbage()
    assert report["trash folders"] == 0
    assert [named.workspace.read_version("/plan.md", v.id) for v in named.workspace.history("/plan.md")] == [
        "second\n",
        "first\n",
    ]
    assert named.call("memory_view", {"path": "/"}).text.count(".md") == 1
    named.close()
    other.close()
