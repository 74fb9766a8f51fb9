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


# -- trust under real use: help, wording, stdin, failures ----------------------------------

ENV_HINTS = ["MEMORY_TOOL_BACKEND", "MEMORY_TOOL_LOCAL_DIR", "MEMORY_TOOL_NAMESPACE", "MEMORY_TOOL_PREFIX"]


@pytest.mark.parametrize("columns", ["50", "80", "200"])
def test_help_keeps_every_env_hint_whole_at_any_width(tmp_path: Path, columns: str) -> None:
    env = {**_cli_env(tmp_path), "COLUMNS": columns}
    out = subprocess.run(
        [sys.executable, "-m", "memspace", "--help"], capture_output=True, text=True, env=env, check=True
    ).stdout
    lines = [" ".join(line.split()) for line in out.splitlines()]  # a no-break space reads as a space
    for name in ENV_HINTS:
        assert sum(f"[env: {name}]" in line for line in lines) == 1, out
    assert out.count("[env:") == len(ENV_HINTS), out


def test_help_says_the_memory_backend_forgets_everything(run: Run) -> None:
    assert "forgets everything when the command ends" in " ".join(run("--help").stdout.split())


def test_version_is_printed(run: Run) -> None:
    from memspace import __version__

    assert run("--version").stdout.strip() == f"memspace {__version__}"


def _cli_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEMORY_TOOL_", "AWS_", "R2_"))}
    env["MEMORY_TOOL_LOCAL_DIR"] = str(tmp_path / "mem")
    return env


def test_write_at_a_terminal_says_it_reads_stdin(tmp_path: Path) -> None:
    import pty

    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "memspace", "write", "/a.md"],
            stdin=follower,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_cli_env(tmp_path),
        )
        os.close(follower)
        os.write(leader, b"typed at the terminal\n\x04")
        out, err = proc.communicate(timeout=60)
    finally:
        os.close(leader)
    assert proc.returncode == 0, out + err
    notice = err.decode().splitlines()
    assert len(notice) == 1 and "Reading the text from stdin" in notice[0] and "Ctrl-D" in notice[0]
    assert (tmp_path / "mem" / "default" / "a.md").read_text() == "typed at the terminal\n"


def test_write_from_a_pipe_prints_no_notice(run: Run) -> None:
    assert run("write", "/a.md", stdin="x").stderr == ""


def test_binary_stdin_is_refused_as_not_utf8_and_nothing_is_written(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "memspace", "write", "/a.bin"],
        input=b"\x89PNG\r\n\x1a\n\xff\xfe\x00",
        capture_output=True,
        env=_cli_env(tmp_path),
        check=False,
    )
    err = proc.stderr.decode()
    assert proc.returncode == 1 and err.count("\n") == 1
    assert err.startswith("error: This is not UTF-8 text") and "surrogate" not in err
    assert not (tmp_path / "mem").exists()


# Each CLI mistake is worded in the CLI's own terms: flags and commands, never a model tool's
# argument names (view_range, old_str, replace_all, mode, memory_* tools, clear_all).
CLI_WORDING = [
    (("view", "/a.md", "--lines", "1426:-1"), "--lines 1426:-1 is out of range: /a.md has 2 lines"),
    (("view", "/a.md", "--lines", "1:9"), "--lines 1:9 is out of range"),
    (("write", "/a.md", "x"), "pass --overwrite to replace it or --append to add to it"),
    (("str-replace", "/a.md", "x", "y"), "pass --all to replace every occurrence"),
    (("rm", "/"), "use 'memspace clear' for that"),
    (("grep", "-E", "("), "drop -E"),
    (("sync", "local:{tmp}/empty", "local:{tmp}/mem", "--delete"), "pass --allow-empty-source"),
]
MODEL_WORDS = [
    "view_range",
    "old_str",
    "new_str",
    "replace_all",
    "file_text",
    "mode '",
    "memory_",
    "clear_all",
]


@pytest.mark.parametrize(("args", "expected"), CLI_WORDING, ids=[" ".join(a[:2]) for a, _ in CLI_WORDING])
def test_cli_errors_use_the_cli_wording(
    run: Run, tmp_path: Path, args: tuple[str, ...], expected: str
) -> None:
    run("write", "/a.md", "x\nx\n")
    (tmp_path / "empty").mkdir()
    proc = run(*(arg.format(tmp=tmp_path) for arg in args), ok=False)
    assert proc.returncode == 1
    assert expected in proc.stderr
    assert not any(word in proc.stderr for word in MODEL_WORDS), proc.stderr
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert (tmp_path / "mem" / "default" / "a.md").read_text() == "x\nx\n"


def test_read_only_clear_names_the_setting_not_a_tool(run: Run, tmp_path: Path) -> None:
    run("write", "/a.md", "x")
    env = {**_cli_env(tmp_path), "MEMORY_TOOL_READ_ONLY": "true"}
    proc = subprocess.run(
        [sys.executable, "-m", "memspace", "clear", "--yes"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 1 and "read-only (MEMORY_TOOL_READ_ONLY)" in proc.stderr
    assert "memory_" not in proc.stderr
    assert (tmp_path / "mem" / "default" / "a.md").exists()


def test_view_prints_a_long_file_whole_without_paging_notes(run: Run) -> None:
    text = "".join(f"line {n} " + "x" * 100 + "\n" for n in range(400))  # ~43 KB, over the model's page
    run("write", "/long.md", stdin=text)
    out = run("view", "/long.md").stdout
    assert "   400\tline 399" in out and "memory_view" not in out and "Output limited" not in out


# Expected failures of every command: one `error:` line, exit 1 (2 for usage), never a traceback.
FAILURES = [
    ("view", "/missing.md"),
    ("write", "/a.md", "again"),
    ("str-replace", "/missing.md", "a", "b"),
    ("insert", "/a.md", "99", "x"),
    ("rm", "/missing.md"),
    ("mv", "/missing.md", "/b.md"),
    ("--backend", "s3", "clear", "--yes"),
    ("tools", "--style", "nope"),
    ("--backend", "s3", "demo"),
    ("history", "/../x"),
    ("diff", "/missing.md"),
    ("restore", "/missing.md"),
    ("--backend", "s3", "deleted"),
    ("--backend", "s3", "gc"),
    ("grep", "-E", "("),
    ("find", "a[", "/missing"),
    ("--backend", "s3", "mcp"),
    ("sync", "local:{tmp}/missing", "local:{tmp}/dst"),
]


@pytest.mark.parametrize("args", FAILURES, ids=[" ".join(a) for a in FAILURES])
def test_every_command_fails_with_one_line_and_no_traceback(
    run: Run, tmp_path: Path, args: tuple[str, ...]
) -> None:
    run("write", "/a.md", "x")
    proc = run(*(arg.format(tmp=tmp_path) for arg in args), ok=False)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, proc.stderr


def test_view_of_a_missing_local_folder_creates_nothing(run: Run, tmp_path: Path) -> None:
    typo = str(tmp_path / "typo")
    assert "(empty)" in run("--local-dir", typo, "view", "/").stdout
    for succeeds in (("deleted",), ("tools",), ("gc",)):
        run("--local-dir", typo, *succeeds)
    for command in (
        ("view", "/a.md"),
        ("grep", "x"),
        ("find", "*.md"),
        ("history", "/a.md"),
        ("diff", "/a.md"),
    ):
        run("--local-dir", typo, *command, ok=False)  # not found, or nothing matched
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_sync_from_a_missing_local_folder_is_an_error_and_touches_nothing(run: Run, tmp_path: Path) -> None:
    run("--local-dir", str(tmp_path / "dst"), "write", "/keep.md", "x")
    proc = run("sync", f"local:{tmp_path}/missing", f"local:{tmp_path}/dst", "--delete", ok=False)
    assert "does not exist" in proc.stderr and proc.stderr.count("\n") == 1
    assert (tmp_path / "dst" / "default" / "keep.md").exists()
    assert not (tmp_path / "missing").exists()


def test_sync_delete_from_an_empty_source_refuses_unless_allowed(run: Run, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    run("--local-dir", str(tmp_path / "dst"), "write", "/keep.md", "x")
    spec = (f"local:{tmp_path}/empty", f"local:{tmp_path}/dst", "--delete")
    assert "would delete all 1 files" in run("sync", *spec, ok=False).stderr
    assert (tmp_path / "dst" / "default" / "keep.md").exists()
    assert "1 deleted" in run("sync", *spec, "--allow-empty-source").stdout
    assert not (tmp_path / "dst" / "default" / "keep.md").exists()


def test_demo_refuses_a_namespace_holding_files_it_did_not_write(run: Run, tmp_path: Path) -> None:
    run("--namespace", "mine", "write", "/notes/keep.md", "precious")
    proc = run("--namespace", "mine", "demo", ok=False)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith("error: The namespace 'mine' holds 1 file the demo did not write")
    assert "--yes" in proc.stderr and proc.stderr.count("\n") == 1
    assert (tmp_path / "mem" / "mine" / "notes" / "keep.md").read_text() == "precious"
    run("--namespace", "mine", "demo", "--yes")
    assert not (tmp_path / "mem" / "mine" / "notes" / "keep.md").exists()


def test_demo_runs_again_over_what_it_left(run: Run) -> None:
    run("demo")
    assert "> memory_clear_all" in run("demo").stdout
    run("--namespace", "demo", "write", "/mine.md", "x")
    assert "did not write" in run("demo", ok=False).stderr


@pytest.mark.parametrize(
    ("args", "help_command"), [(("view", "--bogus"), "memspace view --help"), (("nope",), "memspace --help")]
)
def test_usage_mistakes_exit_2_pointing_to_the_right_help(
    run: Run, args: tuple[str, ...], help_command: str
) -> None:
    proc = run(*args, ok=False)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("error: ") and proc.stderr.endswith(f"; see '{help_command}'\n")
