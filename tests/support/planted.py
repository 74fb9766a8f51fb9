"""Scenarios that must run in a process of their own: ``python -m tests.support.planted CASE ARGS``.

A pipe can hang a call (the parent's timeout catches it), resource limits (open
files, file size) and the umask belong to a process, and permission tests must
run as a user the kernel holds to permissions (the parent drops root for them).
Each case sets up what another program would have left in the folder, runs
memspace on it and prints one JSON object with what it saw.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import shutil
import signal
import stat
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from memspace import MemoryTools

Result = dict[str, Any]


def _tools(root: Path, **config: Any) -> MemoryTools:
    return MemoryTools.from_config({"memory_tool_local_dir": str(root), **config}, environ={})


def _call(tools: MemoryTools, name: str, args: dict[str, Any]) -> list[Any]:
    result = tools.call(name, args)
    return [name, args, result.is_error, result.text]


def _files_below(folder: Path) -> list[str]:
    """Every entry below ``folder`` (folders end in '/'), found without following links."""
    found: list[str] = []
    pending = [folder]
    while pending:
        here = pending.pop()
        with os.scandir(here) as entries:
            for entry in entries:
                rel = os.path.relpath(entry.path, folder)
                if entry.is_dir(follow_symlinks=False):
                    found.append(rel + "/")
                    pending.append(Path(entry.path))
                else:
                    found.append(rel)
    return sorted(found)


def pipe(root: Path) -> Result:
    """A FIFO named like a note: every call on it answers, and writes beside it go on meanwhile."""
    tools = _tools(root)
    tools.call("memory_create_update", {"path": "/notes/a.md", "file_text": "a\n"})
    os.mkfifo(root / "default" / "notes" / "pipe.md")
    calls: list[tuple[str, dict[str, Any]]] = [
        ("memory_create_update", {"path": "/notes/pipe.md", "file_text": "x"}),
        ("memory_create_update", {"path": "/notes/pipe.md", "file_text": "x", "mode": "overwrite"}),
        ("memory_create_update", {"path": "/notes/pipe.md", "file_text": "x", "mode": "append"}),
        ("memory_str_replace", {"path": "/notes/pipe.md", "old_str": "a", "new_str": "b"}),
        ("memory_insert", {"path": "/notes/pipe.md", "insert_line": 0, "insert_text": "x"}),
        ("memory_view", {"path": "/notes/pipe.md"}),
        ("memory_delete", {"path": "/notes/pipe.md"}),
        ("memory_rename", {"old_path": "/notes/pipe.md", "new_path": "/notes/moved.md"}),
        ("memory_rename", {"old_path": "/notes/a.md", "new_path": "/notes/pipe.md"}),
        ("memory_search", {"pattern": "a"}),
    ]
    on_pipe: list[list[Any]] = []
    # The calls on the pipe run while another thread writes beside it: a call stuck on the
    # pipe while holding a lock would stop those writes too.
    worker = threading.Thread(target=lambda: on_pipe.extend(_call(tools, *call) for call in calls))
    worker.start()
    beside = [
        _call(tools, "memory_create_update", {"path": f"/notes/s{i}.md", "file_text": "s"}) for i in range(30)
    ]
    beside += [
        _call(tools, "memory_create_update", {"path": "/notes/a.md", "file_text": "more", "mode": "append"})
        for _ in range(10)
    ]
    worker.join()
    return {
        "on_pipe": on_pipe,
        "beside": beside,
        "listing": tools.call("memory_view", {"path": "/notes"}).text,
        "pipe_is_fifo": stat.S_ISFIFO(os.lstat(root / "default" / "notes" / "pipe.md").st_mode),
    }


def _plant_deep(folder: Path, depth: int) -> None:
    """``folder/d/d/.../d/deep.md``, ``depth`` folders deep (built through descriptors: the path is
    longer than the kernel takes in one call)."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(depth):
        os.mkdir("d", dir_fd=fd)
        child = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = child
    with open(os.open("deep.md", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=fd), "w") as handle:
        handle.write("deep down\n")
    os.close(fd)


def deep(root: Path, depth: int, open_files: int) -> Result:
    """A planted tree ``depth`` folders deep, under an open-files limit of ``open_files``."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(open_files, hard), hard))
    tools = _tools(root)
    tools.call("memory_create_update", {"path": "/a.md", "file_text": "a\n"})
    _plant_deep(root / "default", depth)
    out: Result = {"reads": []}
    for name, args in [
        ("memory_view", {"path": "/"}),
        ("memory_view", {"path": "/d/d"}),
        ("memory_search", {"pattern": "deep down"}),
        ("memory_find", {"glob": "deep.md"}),
    ]:
        out["reads"].append(_call(tools, name, args))
    try:
        out["walked"] = len(tools.workspace.walk("/"))
    except Exception as error:
        out["walked"] = f"{type(error).__name__}: {error}"
    out["delete"] = _call(tools, "memory_delete", {"path": "/d"})
    out["after_delete"] = sorted(os.listdir(root / "default"))
    if "d" not in out["after_delete"]:
        _plant_deep(root / "default", depth)
    out["clear"] = _call(tools, "memory_clear_all", {})
    out["after_clear"] = sorted(os.listdir(root / "default")) if (root / "default").exists() else []
    return out


def full_disk(root: Path, limit: int) -> Result:
    """Writes that fail for lack of room (EFBIG under RLIMIT_FSIZE): no temp file is left behind,
    and the names those writes were for stay usable."""
    tools = _tools(root)
    tools.call("memory_create_update", {"path": "/a.md", "file_text": "a\n"})
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead of killing us
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    big = "x" * (limit * 3)
    failed = [
        _call(tools, "memory_create_update", {"path": "/big.md", "file_text": big}),
        _call(tools, "memory_create_update", {"path": "/new/deeper/big.md", "file_text": big}),
        _call(tools, "memory_create_update", {"path": "/a.md", "file_text": big, "mode": "overwrite"}),
        _call(tools, "memory_create_update", {"path": "/a.md", "file_text": big, "mode": "append"}),
        _call(tools, "memory_str_replace", {"path": "/a.md", "old_str": "a", "new_str": big}),
    ]
    after = [
        _call(tools, "memory_create_update", {"path": "/new", "file_text": "a file where a write failed"}),
        _call(tools, "memory_create_update", {"path": "/big.md", "file_text": "small"}),
        _call(tools, "memory_view", {"path": "/"}),
    ]
    return {"failed": failed, "after": after, "on_disk": _files_below(root)}


def empty_folders(root: Path) -> Result:
    """Empty folders (left by a killed writer, or made by someone's ``mkdir -p``) never make a name
    unusable: a file can be created, renamed or moved where they are."""
    tools = _tools(root)
    tools.call("memory_create_update", {"path": "/keep.md", "file_text": "k\n"})
    for folder in ("notes/2024/05", "moved/a/b", "renamed/x"):
        (root / "default" / folder).mkdir(parents=True)
    tools.call("memory_create_update", {"path": "/src.md", "file_text": "s\n"})
    tools.call("memory_create_update", {"path": "/dir/f.md", "file_text": "f\n"})
    calls = [
        _call(tools, "memory_create_update", {"path": "/notes", "file_text": "n\n"}),
        _call(tools, "memory_rename", {"old_path": "/src.md", "new_path": "/moved"}),
        _call(tools, "memory_rename", {"old_path": "/dir", "new_path": "/renamed"}),
        _call(tools, "memory_view", {"path": "/"}),
    ]
    return {"calls": calls}


def unreadable_clear(root: Path) -> Result:
    """A folder memspace cannot read: clearing must not report less than it leaves behind."""
    tools = _tools(root)
    for path in ("/a.md", "/locked/b.md", "/locked/c.md"):
        tools.call("memory_create_update", {"path": path, "file_text": "x\n"})
    locked = root / "default" / "locked"
    locked.chmod(0)
    try:
        calls = [
            _call(tools, "memory_view", {"path": "/"}),
            _call(tools, "memory_clear_all", {}),
            _call(tools, "memory_delete", {"path": "/locked"}),
        ]
    finally:
        locked.chmod(0o700)
    return {"calls": calls, "left": [str(entry.path) for entry in tools.workspace.walk("/")]}


def unreadable_sync(source: Path, target: Path) -> Result:
    """``sync --delete`` from a source with an unreadable folder keeps the target's copies of it."""
    src, dst = _tools(source), _tools(target)
    for path in ("/a.md", "/locked/b.md"):
        src.call("memory_create_update", {"path": path, "file_text": "x\n"})
        dst.call("memory_create_update", {"path": path, "file_text": "x\n"})
    locked = source / "default" / "locked"
    locked.chmod(0)
    try:
        code, stderr = _cli("sync", f"local:{source}", f"local:{target}", "--delete")
    finally:
        locked.chmod(0o700)
    return {"code": code, "stderr": stderr, "target": [str(entry.path) for entry in dst.workspace.walk("/")]}


def _cli(*args: str) -> tuple[int, str]:
    """Run the ``memspace`` command in this process (its exit code and what it printed on stderr)."""
    from memspace.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            main(list(args))
        except SystemExit as done:
            return int(done.code or 0), err.getvalue()
    return 0, err.getvalue()


def read_only_folder(root: Path) -> Result:
    """A workspace folder the user may only read (a shared or mounted copy, written by another
    program): read-only mode, and plain viewing, both work in it."""
    notes = root / "default" / "notes"
    notes.mkdir(parents=True)
    (notes / "a.md").write_text("alpha\nbeta\n")
    stale = root / "default" / ".memspace-tmp.left-by-a-crash"
    stale.write_text("partial")
    os.utime(stale, (time.time() - 7200,) * 2)
    for folder, _, files in os.walk(root, topdown=False):
        for name in files:
            os.chmod(os.path.join(folder, name), 0o444)
        os.chmod(folder, 0o555)
    try:
        read_only = _tools(root, memory_tool_read_only=True)
        writable = _tools(root)
        calls = [
            _call(read_only, "memory_view", {"path": "/"}),
            _call(read_only, "memory_view", {"path": "/notes/a.md"}),
            _call(read_only, "memory_search", {"pattern": "beta"}),
            _call(read_only, "memory_find", {"glob": "*.md"}),
            _call(writable, "memory_view", {"path": "/notes/a.md"}),
        ]
    finally:
        for folder, _, _ in os.walk(root):
            os.chmod(folder, 0o700)
    return {"calls": calls, "on_disk": _files_below(root)}


def huge_file(root: Path, size: int) -> Result:
    """Viewing a planted file of ``size`` bytes: what the view says, and what it cost in memory."""
    folder = root / "default"
    folder.mkdir(parents=True)
    line = "".join(f"{n:07d} planted log line\n" for n in range(4096)).encode()
    with (folder / "big.log").open("wb") as handle:
        for _ in range(size // len(line)):
            handle.write(line)
    tools = _tools(root)
    tools.call("memory_view", {"path": "/"})  # imports and caches warm before measuring
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    result = tools.call("memory_view", {"path": "/big.log"})
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "is_error": result.is_error,
        "text_start": result.text[:300],
        "text_end": result.text[-400:],
        "peak_bytes": peak,
        "rss_growth_kib": rss_after - rss_before,
    }


def private_and_lazy(base: Path) -> Result:
    """Under umask 0: reading creates nothing; the first write creates the root and its missing
    parents 0o700 and files 0o600; no lock file appears anywhere."""
    os.umask(0)
    root = base / "parent" / "child" / "mem"
    reader = _tools(root)
    reads = [
        _call(reader, "memory_view", {"path": "/"}),
        _call(reader, "memory_view", {"path": "/notes/a.md"}),
        _call(reader, "memory_search", {"pattern": "x"}),
        _call(reader, "memory_find", {"glob": "*"}),
    ]
    created_by_reads = _files_below(base)
    tools = _tools(root)
    writes: list[tuple[str, dict[str, Any]]] = [
        ("memory_create_update", {"path": "/notes/a.md", "file_text": "one\n"}),
        ("memory_create_update", {"path": "/notes/a.md", "file_text": "two", "mode": "append"}),
        ("memory_str_replace", {"path": "/notes/a.md", "old_str": "two", "new_str": "2"}),
        ("memory_insert", {"path": "/notes/a.md", "insert_line": 0, "insert_text": "# a"}),
        ("memory_create_update", {"path": "/notes/b.md", "file_text": "b\n"}),
        ("memory_rename", {"old_path": "/notes/b.md", "new_path": "/archive/b.md"}),
        ("memory_create_update", {"path": "/gone/c.md", "file_text": "c\n"}),
        ("memory_delete", {"path": "/gone"}),
    ]
    for name, args in writes:
        tools.call(name, args)
    modes = {rel: oct(stat.S_IMODE(os.lstat(base / rel).st_mode)) for rel in _files_below(base)}
    return {"reads": reads, "created_by_reads": created_by_reads, "modes": modes}


CASES: dict[str, Callable[..., Result]] = {
    case.__name__: case
    for case in (
        pipe,
        deep,
        full_disk,
        empty_folders,
        unreadable_clear,
        unreadable_sync,
        read_only_folder,
        huge_file,
        private_and_lazy,
    )
}


NOBODY = 65534


def _become_unprivileged() -> None:
    """Run the rest as an unprivileged user (root ignores permissions), after a warm-up as root:
    the interpreter's own files may be readable by root only, so everything a scenario imports on
    first use is imported first."""
    if os.geteuid() != 0:
        return
    scratch = Path(tempfile.mkdtemp())
    try:
        tools = _tools(scratch / "mem")
        for name, args in [
            ("memory_create_update", {"path": "/a.md", "file_text": "a\n"}),
            ("memory_view", {"path": "/"}),
            ("memory_view", {"path": "/a.md"}),
            ("memory_search", {"pattern": "a"}),
            ("memory_find", {"glob": "*"}),
            ("memory_clear_all", {}),
        ]:
            tools.call(name, args)
        _cli("sync", f"local:{scratch / 'mem'}", f"local:{scratch / 'copy'}", "--delete")
    finally:
        shutil.rmtree(scratch)
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def main() -> None:
    case, raw, *flags = sys.argv[1:]
    if "--unprivileged" in flags:
        _become_unprivileged()
    args = json.loads(raw)
    result = CASES[case](*(Path(arg) if isinstance(arg, str) else arg for arg in args))
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
