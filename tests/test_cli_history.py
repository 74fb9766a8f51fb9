"""``memspace history / diff / restore / deleted / gc``, run as real subprocesses on the local backend."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from .support.snippets import snippet

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEMORY_TOOL_", "AWS_", "R2_"))}
    env["MEMORY_TOOL_LOCAL_DIR"] = str(tmp_path / "mem")
    env["COLUMNS"] = "120"
    return env


@pytest.fixture
def run(env: dict[str, str]) -> Run:
    def run(
        *args: str, stdin: str | None = None, ok: bool = True, actor: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "memspace", *args],
            input=stdin,
            capture_output=True,
            check=False,
            text=True,
            env=env | ({"MEMORY_TOOL_ACTOR": actor} if actor else {}),
            timeout=60,
        )
        assert (proc.returncode == 0) == ok, proc.stdout + proc.stderr
        if not ok:
            # Every expected failure is one error line, never a traceback.
            assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, proc.stderr
        return proc

    return run


def ids(history: str) -> list[str]:
    return [line.split()[0] for line in history.splitlines()]


def test_history_lists_every_version_with_operation_and_actor(run: Run) -> None:
    run("write", "/plan.md", stdin="one\n", actor="alice")
    run("write", "/plan.md", "two\n", "--append", actor="bob")
    run("write", "/plan.md", "gone\n", "--overwrite", actor="carol")
    lines = run("history", "/plan.md").stdout.splitlines()
    assert len(lines) == 3
    assert re.search(r"\boverwrite\b.*\bcarol\b.*current$", lines[0]), lines[0]
    assert re.search(r"\bappend\b.*\bbob\b", lines[1]) and "current" not in lines[1]
    assert re.search(r"\bcreate\b.*\balice\b", lines[2])


def test_the_cli_records_the_os_user_when_no_actor_is_given(run: Run) -> None:
    import getpass

    run("write", "/a.md", stdin="x")
    assert getpass.getuser() in run("history", "/a.md").stdout


def test_diff_shows_the_last_change_and_any_two_versions(run: Run) -> None:
    run("write", "/plan.md", stdin="keep\nold\n")
    run("str-replace", "/plan.md", "old", "new")
    run("write", "/plan.md", "more\n", "--append")
    last = run("diff", "/plan.md").stdout
    assert "+more" in last and "-old" not in last
    newest, middle, oldest = ids(run("history", "/plan.md").stdout)
    first_change = run("diff", "/plan.md", oldest, middle).stdout
    assert "-old" in first_change and "+new" in first_change and "+more" not in first_change
    assert run("diff", "/plan.md", newest, newest).stdout.strip() == "The two versions are the same."
    assert "\x1b[" not in last  # plain when piped


def test_diff_is_coloured_on_a_terminal(env: dict[str, str], run: Run) -> None:
    run("write", "/plan.md", stdin="old\n")
    run("write", "/plan.md", "new\n", "--overwrite")
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "memspace", "diff", "/plan.md"],
        stdout=follower,
        stderr=follower,
        env=env | {"TERM": "xterm-256color", "FORCE_COLOR": "1"},
    )
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    os.close(leader)
    assert proc.wait(timeout=60) == 0
    text = output.decode()
    assert "\x1b[" in text and "-old" in re.sub(r"\x1b\[[0-9;]*m", "", text)


def test_restore_brings_back_the_version_before_and_any_chosen_one(run: Run, tmp_path: Path) -> None:
    file = tmp_path / "mem" / "default" / "plan.md"
    run("write", "/plan.md", stdin="v1\n")
    run("write", "/plan.md", "v2\n", "--overwrite")
    run("write", "/plan.md", "v3\n", "--overwrite")
    out = run("restore", "/plan.md").stdout
    assert out.startswith("Restored /plan.md") and file.read_text() == "v2\n"
    oldest = ids(run("history", "/plan.md").stdout)[-1]
    run("restore", "/plan.md", "--version", oldest)
    assert file.read_text() == "v1\n"
    # Restores are new versions: nothing was rewritten.
    assert len(ids(run("history", "/plan.md").stdout)) == 5


def test_a_deleted_file_is_listed_and_restored(run: Run, tmp_path: Path) -> None:
    assert run("deleted").stdout.strip() == "Nothing deleted here can be restored."
    run("write", "/notes/a.md", stdin="precious\n")
    run("rm", "/notes/a.md")
    listed = run("deleted").stdout
    assert listed.startswith("/notes/a.md  deleted ") and "(delete)" in listed
    assert run("restore", "/notes/a.md").stdout.startswith("Recreated /notes/a.md")
    assert (tmp_path / "mem" / "default" / "notes" / "a.md").read_text() == "precious\n"


def test_restore_at_a_time_brings_back_a_cleared_workspace(run: Run, tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        run("write", f"/f/{name}.md", stdin=name)
    before_the_clear = datetime.now(UTC).isoformat()
    run("clear", "--yes")
    assert not list((tmp_path / "mem" / "default").rglob("*.md"))
    out = run("restore", "/", "--at", before_the_clear).stdout
    assert out.startswith("Restored 3 files;"), out
    assert sorted(p.read_text() for p in (tmp_path / "mem" / "default").rglob("*.md")) == ["a", "b", "c"]


def test_restore_at_an_age_before_anything_existed_changes_nothing(run: Run, tmp_path: Path) -> None:
    run("write", "/a.md", stdin="now")
    assert run("restore", "/", "--at", "2h").stdout.startswith("Restored 0 files; 0 already")
    assert (tmp_path / "mem" / "default" / "a.md").read_text() == "now"  # a restore never deletes


def test_gc_applies_retention(env: dict[str, str], run: Run) -> None:
    env["MEMORY_TOOL_HISTORY_VERSIONS"] = "2"
    run("write", "/a.md", stdin="0")
    for n in range(1, 5):
        run("write", "/a.md", str(n), "--overwrite")
    assert len(ids(run("history", "/a.md").stdout)) == 5  # retention never runs on the hot path
    out = run("gc").stdout
    assert out.startswith("Removed 3 history entries; freed "), out
    assert len(ids(run("history", "/a.md").stdout)) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("restore", "/plan.md", "--version", "0" * 14, "--at", "1h"), "Choose one of --version and --at."),
        (("restore", "/", "--at", "yesterday-ish"), "--at must be a time"),
        (("restore", "/plan.md", "--version", "nope"), "nope"),
        (("diff", "/plan.md", "nope"), "nope"),
        (("history", "/missing.md"), "/missing.md"),
    ],
)
def test_bad_arguments_are_one_error_line_and_change_nothing(
    run: Run, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    run("write", "/plan.md", stdin="keep\n")
    before = run("history", "/plan.md").stdout
    assert message in run(*args, ok=False).stderr
    assert (tmp_path / "mem" / "default" / "plan.md").read_text() == "keep\n"
    assert run("history", "/plan.md").stdout == before


def test_the_readme_history_snippets_run_as_written(env: dict[str, str], tmp_path: Path) -> None:
    """The README's Python history block, as a script, and its shell block, line by line in bash."""
    script = tmp_path / "history_snippet.py"
    script.write_text(snippet("history"))
    python = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert python.returncode == 0, python.stderr
    assert python.stdout.splitlines()[0] == "[('str_replace', 'planner', 7), ('create', 'planner', 16)]"
    assert "-- review" in python.stdout and python.stdout.splitlines()[-1] == "['/plan.md']"

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "memspace").write_text(f'#!/bin/sh\nexec {sys.executable} -m memspace "$@"\n')
    (bin_dir / "memspace").chmod(0o755)
    shell = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", snippet("history-cli")],
        capture_output=True,
        text=True,
        env=env | {"PATH": f"{bin_dir}:{env['PATH']}"},
        timeout=120,
        check=False,
    )
    assert shell.returncode == 0, shell.stderr
    assert "+oops" in shell.stdout and "Restored /plan.md" in shell.stdout
    assert (tmp_path / "mem" / "default" / "plan.md").read_text() == "- ship\n"
