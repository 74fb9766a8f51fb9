"""The ``memspace`` command, run as a real subprocess on the local backend."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run(tmp_path: Path) -> Run:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEMORY_TOOL_", "AWS_", "R2_"))}
    env["MEMORY_TOOL_LOCAL_DIR"] = str(tmp_path / "mem")
    env["COLUMNS"] = "120"

    def run(*args: str, stdin: str | None = None, ok: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "memspace", *args],
            input=stdin,
            capture_output=True,
            check=False,
            text=True,
            env=env,
            timeout=60,
        )
        assert (proc.returncode == 0) == ok, proc.stdout + proc.stderr
        return proc

    return run


def test_write_view_edit_move_delete_round_trip(run: Run, tmp_path: Path) -> None:
    assert (
        run("write", "/notes/a.md", stdin="one\ntwo\n").stdout.strip()
        == "Created /notes/a.md (2 lines, 8 bytes)."
    )
    run("write", "/notes/a.md", "three", "--append")
    run("str-replace", "/notes/a.md", "two", "TWO")
    run("insert", "/notes/a.md", "0", "zero")
    assert (tmp_path / "mem" / "default" / "notes" / "a.md").read_text() == "zero\none\nTWO\nthree"
    view = run("view", "/notes/a.md").stdout
    assert "     1\tzero" in view and "     4\tthree" in view
    assert run("view", "/notes/a.md", "--lines", "2:3").stdout.splitlines()[1:] == [
        "     2\tone",
        "     3\tTWO",
    ]
    run("mv", "/notes", "/archive")
    tree = run("view", "/").stdout
    assert "archive/" in tree and "a.md" in tree and "notes" not in tree
    run("rm", "/archive/a.md")
    assert not (tmp_path / "mem" / "default" / "archive").exists()


def test_errors_exit_non_zero_with_the_message(run: Run) -> None:
    run("write", "/a.md", "x")
    proc = run("write", "/a.md", "y", ok=False)
    assert proc.returncode == 1 and "already exists" in proc.stderr
    assert "'..'" in run("view", "/../etc", ok=False).stderr
    assert "not one of" in run("--backend", "nope", "view", ok=False).stderr


def test_clear_needs_confirmation(run: Run, tmp_path: Path) -> None:
    run("write", "/a.md", "x")
    assert "--yes" in run("clear", stdin="", ok=False).stderr
    assert (tmp_path / "mem" / "default" / "a.md").exists()
    assert "deleted 1 file" in run("clear", "--yes").stdout
    assert not (tmp_path / "mem" / "default" / "a.md").exists()


def test_namespace_option_isolates(run: Run) -> None:
    run("--namespace", "alice", "write", "/a.md", "x")
    assert "(empty)" in run("--namespace", "bob", "view", "/").stdout
    assert "a.md" in run("--namespace", "alice", "view", "/").stdout


def test_demo_walks_through_every_tool(run: Run) -> None:
    out = run("demo").stdout
    for tool in [
        "memory_clear_all",
        "memory_create_update",
        "memory_str_replace",
        "memory_insert",
        "memory_view",
        "memory_rename",
        "memory_delete",
    ]:
        assert f"> {tool}" in out
    assert "/project/plan.md" in out and "already exists" in out


def test_demo_never_clears_a_namespace_holding_files_it_did_not_write(run: Run, tmp_path: Path) -> None:
    run("--namespace", "alice", "write", "/work/plan.md", "mine")
    refused = run("--namespace", "alice", "demo", ok=False)
    assert refused.stderr.startswith("error: The namespace 'alice' holds 1 file the demo did not write")
    assert "> memory_clear_all" not in refused.stdout
    assert (tmp_path / "mem" / "alice" / "work" / "plan.md").read_text() == "mine"
    run("--namespace", "alice", "demo", "--yes")
    assert not (tmp_path / "mem" / "alice" / "work").exists()
    run("--namespace", "bob", "demo")  # an empty namespace
    run("--namespace", "bob", "demo")  # the demo's own files only
    run("demo")
    run("write", "/x.md", "x", stdin=None)  # the "default" namespace is untouched by the demo
    run("--namespace", "demo", "write", "/keep.md", "k")
    assert "1 file the demo did not write" in run("demo", ok=False).stderr
    assert (tmp_path / "mem" / "demo" / "keep.md").exists() and (
        tmp_path / "mem" / "default" / "x.md"
    ).exists()


def test_a_namespace_with_a_trailing_newline_is_refused(run: Run, tmp_path: Path) -> None:
    for bad in ("default\n", "alice\n", "a/b", "../x"):
        proc = run("--namespace", bad, "write", "/a.md", "x", ok=False)
        assert "memory_tool_namespace" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "mem").exists()


def test_tools_prints_definitions(run: Run) -> None:
    out = run("tools", "--style", "anthropic").stdout
    assert '"input_schema"' in out and '"memory_clear_all"' in out


def test_error_text_is_printed_verbatim(run: Run) -> None:
    """Messages hold brackets (install hints, view_range); the terminal styling must not eat them."""
    proc = run("write", "/[draft].md", "x")
    assert "Created /[draft].md" in proc.stdout
    assert "/[draft].md already exists" in run("write", "/[draft].md", "y", ok=False).stderr
    assert "[draft].md" in run("view", "/").stdout  # the tree too
