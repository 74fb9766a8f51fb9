"""Renames, deletes and edits of one file or folder racing each other in real OS processes,
and folder renames killed (SIGKILL, SIGTERM) at random points, then run again.

Every round starts its workers together at a barrier, on local disk and on the S3 peer
(SeaweedFS; R2 runs the same object-store code with other settings). Each test counts
what went wrong over all rounds (duplicates, resurrections, merges, lost edits, files
not exactly once where the rename put them), prints the figures, and asserts they are
all zero."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import memspace
from memspace import MemoryTools, Workspace
from memspace.errors import AlreadyExistsError, RenameInProgressError
from memspace.storage.local import LocalStore
from memspace.storage.memory import MemoryStore
from memspace.storage.objects import JOURNAL, ObjectStore, is_stub_listing

from .conftest import s3_environ, unique_prefix
from .support.races import Outcome, Step, follow_and_edit, is_clear_loss, scripted
from .support.workers import run_workers

pytestmark = pytest.mark.slow

INTERNAL = "internal error"


@dataclass(frozen=True)
class Shared:
    """One workspace that the test and its worker processes share."""

    backend: str
    config: dict[str, Any]
    environ: dict[str, str]
    rounds: int  # 40 on local disk, 20 on the S3 peer (its requests take milliseconds)
    jitter: float  # how far apart the racers start, at most, in seconds

    def tools(self) -> MemoryTools:
        return MemoryTools.from_config(self.config, environ=self.environ)


@pytest.fixture(params=["local", "s3"])
def shared(request: pytest.FixtureRequest, tmp_path: Path) -> Shared:
    backend = str(request.param)
    if backend == "local":
        config = {"memory_tool_backend": "local", "memory_tool_local_dir": str(tmp_path / "mem")}
        return Shared(backend, config, {}, rounds=40, jitter=0.002)
    environ = s3_environ(request.getfixturevalue("seaweed"), backend)
    config = {
        "memory_tool_backend": backend,
        "memory_tool_prefix": unique_prefix(),
        "memory_tool_cache_dir": str(tmp_path / "cache"),
    }
    return Shared(backend, config, environ, rounds=20, jitter=0.01)


def files(tools: MemoryTools, path: str = "/") -> dict[str, str]:
    """Every visible file below ``path`` and its text."""
    return {
        str(entry.path): tools.workspace.read(str(entry.path)).text for entry in tools.workspace.walk(path)
    }


def race(shared: Shared, script: list[list[list[Step]]]) -> list[list[list[Outcome]]]:
    """Run one worker process per entry of ``script``; return each worker's answers, by round."""
    results = run_workers(scripted, len(script), shared.config, shared.environ, script)
    return [results[worker] for worker in range(len(script))]


def report(title: str, shared: Shared, **figures: int) -> None:
    print(f"\n{title} [{shared.backend}]: " + ", ".join(f"{name}={value}" for name, value in figures.items()))


def leftovers(tools: MemoryTools) -> dict[str, int]:
    """What interrupted or racing operations left behind: stubs, journals, trash, temp files."""
    workspace = tools.workspace
    store = workspace.store
    found = {"journals": 0}
    for info in store.list(workspace.base, include_reserved=True):
        if info.key.endswith("/.memspace-move"):
            found["journals"] += 1
    found.update(store.sweep(workspace.base, older_than=0))
    return found


# -- 1. one file, two new names -----------------------------------------------------------


def test_one_file_renamed_to_two_names_at_once_moves_once(shared: Shared) -> None:
    tools = shared.tools()
    rng = random.Random(1)
    for r in range(shared.rounds):
        tools.workspace.create(f"/same/{r}.md", f"content {r}\n")
    script = [
        [
            [
                (
                    rng.uniform(0, shared.jitter),
                    "memory_rename",
                    {"old_path": f"/same/{r}.md", "new_path": f"/same/{r}-to-{w}.md"},
                )
            ]
            for r in range(shared.rounds)
        ]
        for w in range(2)
    ]
    answers = race(shared, script)
    after = files(tools, "/same")
    both_won = duplicates = lost = unclear = 0
    for r in range(shared.rounds):
        outcomes = [answers[w][r][0] for w in range(2)]
        winners = [w for w, (is_error, _) in enumerate(outcomes) if not is_error]
        copies = [path for path, text in after.items() if text == f"content {r}\n"]
        both_won += len(winners) == 2
        duplicates += len(copies) > 1
        lost += not copies
        unclear += sum(1 for is_error, text in outcomes if is_error and not is_clear_loss(text))
        if len(winners) == 1 and len(copies) == 1:
            assert copies == [f"/same/{r}-to-{winners[0]}.md"], (r, outcomes, copies)
    report(
        "one file, two names",
        shared,
        rounds=shared.rounds,
        both_won=both_won,
        duplicates=duplicates,
        lost=lost,
        unclear_errors=unclear,
    )
    assert (both_won, duplicates, lost, unclear) == (0, 0, 0, 0)


# -- 2. rename against delete --------------------------------------------------------------


def test_rename_racing_a_delete_never_resurrects_the_file(shared: Shared) -> None:
    tools = shared.tools()
    rng = random.Random(2)
    for r in range(shared.rounds):
        tools.workspace.create(f"/rd/{r}.md", f"content {r}\n")
    renames = [
        [(0.0, "memory_rename", {"old_path": f"/rd/{r}.md", "new_path": f"/rd/{r}-moved.md"})]
        for r in range(shared.rounds)
    ]
    deletes = [
        [(rng.uniform(0, shared.jitter), "memory_delete", {"path": f"/rd/{r}.md"})]
        for r in range(shared.rounds)
    ]
    answers = race(shared, [renames, deletes])
    after = files(tools, "/rd")
    resurrections = both_won = wrong_state = unclear = 0
    for r in range(shared.rounds):
        (renamed_error, renamed_text), (deleted_error, deleted_text) = answers[0][r][0], answers[1][r][0]
        here = [path for path, text in after.items() if text == f"content {r}\n"]
        both_won += not renamed_error and not deleted_error
        resurrections += not renamed_error and not deleted_error and here == [f"/rd/{r}-moved.md"]
        # Exactly one winner, and the state is the winner's: moved, or gone.
        expected = [f"/rd/{r}-moved.md"] if not renamed_error and deleted_error else []
        if renamed_error == deleted_error or here != expected:
            wrong_state += 1
        for is_error, text in ((renamed_error, renamed_text), (deleted_error, deleted_text)):
            unclear += is_error and not is_clear_loss(text)
    report(
        "rename vs delete",
        shared,
        rounds=shared.rounds,
        both_won=both_won,
        resurrections=resurrections,
        wrong_state=wrong_state,
        unclear_errors=unclear,
    )
    assert (resurrections, both_won, wrong_state, unclear) == (0, 0, 0, 0)


# -- 3. folders: one to two names, two onto one name ---------------------------------------------

FOLDER_FILES = 3


def test_one_folder_renamed_to_two_names_at_once_moves_once(shared: Shared) -> None:
    tools = shared.tools()
    rng = random.Random(3)
    for r in range(shared.rounds):
        for i in range(FOLDER_FILES):
            tools.workspace.create(f"/f{r}/sub{i % 2}/{i}.md", f"folder {r} file {i}\n")
    script = [
        [
            [
                (
                    rng.uniform(0, shared.jitter),
                    "memory_rename",
                    {"old_path": f"/f{r}", "new_path": f"/f{r}-to-{w}"},
                )
            ]
            for r in range(shared.rounds)
        ]
        for w in range(2)
    ]
    answers = race(shared, script)
    after = files(tools)
    both_won = none_won = misplaced = unclear = internal = 0
    for r in range(shared.rounds):
        outcomes = [answers[w][r][0] for w in range(2)]
        winners = [w for w, (is_error, _) in enumerate(outcomes) if not is_error]
        both_won += len(winners) == 2
        none_won += not winners
        unclear += sum(1 for is_error, text in outcomes if is_error and not is_clear_loss(text))
        internal += sum(1 for _, text in outcomes if INTERNAL in text)
        home = f"/f{r}-to-{winners[0]}" if len(winners) == 1 else f"/f{r}"
        for i in range(FOLDER_FILES):
            where = [path for path, text in after.items() if text == f"folder {r} file {i}\n"]
            misplaced += where != [f"{home}/sub{i % 2}/{i}.md"]
    report(
        "one folder, two names",
        shared,
        rounds=shared.rounds,
        both_won=both_won,
        none_won=none_won,
        files_not_exactly_once_at_winner=misplaced,
        unclear_errors=unclear,
        internal_errors=internal,
    )
    assert (both_won, none_won, misplaced, unclear, internal) == (0, 0, 0, 0, 0)
    assert leftovers(tools) == {"journals": 0, **_no_sweep(tools)}


def test_two_folders_renamed_onto_one_name_at_once_never_merge(shared: Shared) -> None:
    """The folders hold files of the same names with different text: a merge would overwrite."""
    tools = shared.tools()
    rng = random.Random(4)
    for r in range(shared.rounds):
        for side in "xy":
            for i in range(FOLDER_FILES):
                tools.workspace.create(f"/{side}{r}/{i}.md", f"{side} {r} file {i}\n")
    # The second renamer starts up to a whole folder rename later, so it also meets a finished one.
    spread = shared.jitter * 5
    script = [
        [
            [(rng.uniform(0, spread) * w, "memory_rename", {"old_path": f"/{side}{r}", "new_path": f"/z{r}"})]
            for r in range(shared.rounds)
        ]
        for w, side in enumerate("xy")
    ]
    answers = race(shared, script)
    after = files(tools)
    both_won = none_won = merged = misplaced = unclear = internal = 0
    for r in range(shared.rounds):
        outcomes = [answers[w][r][0] for w in range(2)]
        winners = ["xy"[w] for w, (is_error, _) in enumerate(outcomes) if not is_error]
        both_won += len(winners) == 2
        none_won += not winners
        unclear += sum(1 for is_error, text in outcomes if is_error and not is_clear_loss(text))
        internal += sum(1 for _, text in outcomes if INTERNAL in text)
        at_z = {text.split()[0] for path, text in after.items() if path.startswith(f"/z{r}/")}
        merged += len(at_z) > 1
        for side in "xy":
            home = f"/z{r}" if winners == [side] else f"/{side}{r}"
            for i in range(FOLDER_FILES):
                where = [path for path, text in after.items() if text == f"{side} {r} file {i}\n"]
                misplaced += where != [f"{home}/{i}.md"]
    report(
        "two folders, one name",
        shared,
        rounds=shared.rounds,
        both_won=both_won,
        none_won=none_won,
        merged=merged,
        files_not_exactly_once=misplaced,
        unclear_errors=unclear,
        internal_errors=internal,
    )
    assert (both_won, none_won, merged, misplaced, unclear, internal) == (0, 0, 0, 0, 0, 0)
    assert leftovers(tools) == {"journals": 0, **_no_sweep(tools)}


def test_renaming_a_folder_onto_one_with_the_same_file_names_overwrites_nothing(shared: Shared) -> None:
    """What a rename that starts after another one finished meets: refused, nothing changed."""
    tools = shared.tools()
    for side in "xy":
        for i in range(FOLDER_FILES):
            tools.workspace.create(f"/{side}/{i}.md", f"{side} file {i}\n")
    assert not tools.call("memory_rename", {"old_path": "/x", "new_path": "/z"}).is_error
    result = tools.call("memory_rename", {"old_path": "/y", "new_path": "/z"})
    assert result.is_error and "already exists" in result.text
    assert files(tools) == {
        **{f"/z/{i}.md": f"x file {i}\n" for i in range(FOLDER_FILES)},
        **{f"/y/{i}.md": f"y file {i}\n" for i in range(FOLDER_FILES)},
    }
    assert leftovers(tools) == {"journals": 0, **_no_sweep(tools)}


def _no_sweep(tools: MemoryTools) -> dict[str, int]:
    """What ``leftovers`` reports for a store where nothing was left behind."""
    if isinstance(tools.workspace.store, LocalStore):
        return {"temp files": 0, "trash folders": 0}
    return {"stubs": 0}


# -- 4. a folder rename against deletes inside it ---------------------------------------------------


def test_folder_rename_racing_deletes_inside_it_moves_or_deletes_each_file_once(shared: Shared) -> None:
    tools = shared.tools()
    rng = random.Random(5)
    count = 6
    doomed = (1, 3, 5)
    for r in range(shared.rounds):
        for i in range(count):
            tools.workspace.create(f"/d{r}/{i}.md", f"d {r} file {i}\n")
    renames = [
        [(0.0, "memory_rename", {"old_path": f"/d{r}", "new_path": f"/e{r}"})] for r in range(shared.rounds)
    ]
    deletes = [
        [(rng.uniform(0, shared.jitter), "memory_delete", {"path": f"/d{r}/{i}.md"}) for i in doomed]
        for r in range(shared.rounds)
    ]
    answers = race(shared, [renames, deletes])
    after = files(tools)
    misplaced = resurrected = unclear = internal = renamed = 0
    for r in range(shared.rounds):
        rename_error, _ = answers[0][r][0]
        renamed += not rename_error
        outcomes = [answers[0][r][0], *answers[1][r]]
        unclear += sum(1 for is_error, text in outcomes if is_error and not is_clear_loss(text))
        internal += sum(1 for _, text in outcomes if INTERNAL in text)
        deleted = {i for i, (is_error, _) in zip(doomed, answers[1][r], strict=True) if not is_error}
        home = f"/e{r}" if not rename_error else f"/d{r}"
        for i in range(count):
            where = [path for path, text in after.items() if text == f"d {r} file {i}\n"]
            if i in deleted:
                resurrected += bool(where)
            else:
                misplaced += where != [f"{home}/{i}.md"]
    report(
        "folder rename vs deletes inside",
        shared,
        rounds=shared.rounds,
        renames_won=renamed,
        deleted_but_present=resurrected,
        kept_not_exactly_once=misplaced,
        unclear_errors=unclear,
        internal_errors=internal,
    )
    assert (resurrected, misplaced, unclear, internal) == (0, 0, 0, 0)
    assert leftovers(tools) == {"journals": 0, **_no_sweep(tools)}


# -- 5. appends against a rename -----------------------------------------------------------------


@pytest.mark.parametrize("appenders", [4])
def test_appends_racing_a_rename_are_all_kept(shared: Shared, appenders: int) -> None:
    """Each acknowledged append is at the destination, or in a file it re-created at the old name
    after the rename (append creates a missing file); never lost, never doubled."""
    tools = shared.tools()
    rng = random.Random(6)
    rounds = shared.rounds // 2  # 20 on local disk, 10 on the S3 peer
    per_round = 8
    window = shared.jitter * 10  # about as long as the appends of one round take
    for r in range(rounds):
        tools.workspace.create(f"/log{r}.md", "start\n")
    renamer = [
        [
            (
                rng.uniform(0, window),
                "memory_rename",
                {"old_path": f"/log{r}.md", "new_path": f"/moved/log{r}.md"},
            )
        ]
        for r in range(rounds)
    ]
    writers = [
        [
            [
                (
                    0.0,
                    "memory_create_update",
                    {"path": f"/log{r}.md", "file_text": f"w{w} r{r} {i}", "mode": "append"},
                )
                for i in range(per_round)
            ]
            for r in range(rounds)
        ]
        for w in range(1, appenders + 1)
    ]
    answers = race(shared, [renamer, *writers])
    after = files(tools)
    lines = Counter(line for text in after.values() for line in text.splitlines())
    acknowledged = at_destination = at_old_name = lost = doubled = phantom = internal = 0
    for w in range(1, appenders + 1):
        for r in range(rounds):
            for i, (is_error, text) in enumerate(answers[w][r]):
                line = f"w{w} r{r} {i}"
                internal += INTERNAL in text
                if is_error:
                    phantom += lines[line] > 0
                    continue
                acknowledged += 1
                lost += lines[line] == 0
                doubled += lines[line] > 1
                at_destination += line in after.get(f"/moved/log{r}.md", "").splitlines()
                at_old_name += line in after.get(f"/log{r}.md", "").splitlines()
    renamed = sum(1 for r in range(rounds) if not answers[0][r][0][0])
    # The file moved whole: its first line is at the destination only, so a file at the old name
    # was created by an append after the rename (never a part of the old file left behind).
    split = sum(
        1
        for r in range(rounds)
        if after.get(f"/moved/log{r}.md", "").startswith("start\n")
        == ("start" in after.get(f"/log{r}.md", ""))
    )
    report(
        "appends vs rename",
        shared,
        rounds=rounds,
        renames_won=renamed,
        appends_acknowledged=acknowledged,
        at_destination=at_destination,
        in_recreated_old_name=at_old_name,
        lost=lost,
        doubled=doubled,
        failed_but_present=phantom,
        file_split=split,
        internal_errors=internal,
    )
    assert (lost, doubled, phantom, split, internal) == (0, 0, 0, 0, 0)


# -- 7. many editors while the file is renamed back and forth -----------------------------------------


def test_eight_editors_lose_no_acknowledged_edit_while_the_file_is_renamed_back_and_forth(
    shared: Shared,
) -> None:
    tools = shared.tools()
    editors = 8
    per_kind = 6 if shared.backend == "local" else 3
    edits: dict[int, list[tuple[str, str, str]]] = {}
    for w in range(1, editors + 1):
        ops = []
        for j in range(per_kind):
            ops += [
                ("append", "", f"appended {w}-{j}"),
                ("replace", f"{w}-{j}", ""),
                ("insert", "", f"inserted {w}-{j}"),
            ]
        edits[w] = ops
    items = [f"item {w}-{j}: todo" for w in range(1, editors + 1) for j in range(per_kind)]
    tools.workspace.create("/a.md", "# shared\n" + "\n".join(items) + "\n")
    plan = {"renames": shared.rounds * 2, "pause": shared.jitter * 3, "edits": edits}
    results = run_workers(follow_and_edit, editors + 1, shared.config, shared.environ, plan)
    after = files(tools)
    lines = Counter(line for text in after.values() for line in text.splitlines())
    acknowledged = lost = doubled = phantom = internal = 0
    for w in range(1, editors + 1):
        for (kind, ident, text), ok, answer in results[w]:
            internal += INTERNAL in answer
            if kind == "replace":
                landed = lines[f"item {ident}: done"]
                still = lines[f"item {ident}: todo"]
                if ok:
                    lost += landed == 0 or still > 0
                    doubled += landed > 1
                else:
                    phantom += landed > 0
            elif ok:
                lost += lines[text] == 0
                doubled += lines[text] > 1
            else:
                phantom += lines[text] > 0
            acknowledged += ok
    renames = results[0]
    renamed = sum(1 for is_error, _ in renames if not is_error)
    internal += sum(1 for _, text in renames if INTERNAL in text)
    report(
        "8 editors vs back-and-forth renames",
        shared,
        renames=len(renames),
        renames_won=renamed,
        edits=editors * per_kind * 3,
        acknowledged=acknowledged,
        lost=lost,
        doubled=doubled,
        failed_but_present=phantom,
        internal_errors=internal,
        files=len(after),
    )
    assert (lost, doubled, phantom, internal) == (0, 0, 0, 0)
    assert renamed > 0 and acknowledged > 0


# -- 6. a folder rename killed at a random point, then run again --------------------------------

CRASH_FILES = 2000
# The SIGTERM test starts the CLI each round; on the S3 peer it moves fewer files so its rounds
# stay short (the SIGKILL test moves the full 2,000 on every backend).
CRASH_FILES_S3 = 300
CRASH_ROUNDS = 20
ROOT = Path(__file__).resolve().parents[1]


def _crash_tree(count: int) -> dict[str, str]:
    """``count`` files in 25 sub-folders, relative path -> text."""
    return {f"d{i % 25}/{i}.md": f"file {i}\n" for i in range(count)}


def _fill(tools: MemoryTools, folder: str, tree: dict[str, str]) -> None:
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(lambda item: tools.workspace.create(f"{folder}/{item[0]}", item[1]), tree.items()))


def _child_environ(shared: Shared) -> dict[str, str]:
    """The environment of a child process: the backend's variables, and this memspace on its path."""
    here = str(Path(memspace.__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (str(ROOT), here, os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, **shared.environ, "PYTHONPATH": path}


class Renamer:
    """A process (``tests/support/races.py``) that renames a folder when told to, and can be killed."""

    def __init__(self, shared: Shared, *flags: str) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.support.races",
                json.dumps(shared.config),
                json.dumps(shared.environ),
                *flags,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=_child_environ(shared),
        )
        assert self.process.stdout is not None and self.process.stdin is not None
        assert self.process.stdout.readline() == "ready\n"

    def start(self, old: str, new: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{old} {new}\n")
        self.process.stdin.flush()

    def answer(self) -> Outcome:
        assert self.process.stdout is not None
        is_error, text = json.loads(self.process.stdout.readline())
        return bool(is_error), str(text)

    def stop(self, sig: signal.Signals | None = None) -> list[Outcome]:
        """Send ``sig`` (or close stdin and let it end); return the answers it gave meanwhile."""
        assert self.process.stdin is not None and self.process.stdout is not None
        if sig is not None:
            self.process.send_signal(sig)
        with contextlib.suppress(BrokenPipeError):
            self.process.stdin.close()
        rest = self.process.stdout.read()
        self.process.wait(timeout=60)
        return [(bool(e), str(t)) for e, t in (json.loads(line) for line in rest.splitlines())]


def _phase(tools: MemoryTools, src: str, dst: str, count: int) -> str:
    """Where an interrupted folder rename stopped, from what the store holds."""
    workspace, store = tools.workspace, tools.workspace.store
    prefixes = [workspace.base + src.strip("/") + "/", workspace.base + dst.strip("/") + "/"]
    journals = sum(
        1
        for prefix in prefixes
        for info in store.list(prefix, include_reserved=True)
        if info.key.endswith(JOURNAL)
    )
    at_src, at_dst = len(workspace.walk(src)), len(workspace.walk(dst))
    stubs = (
        sum(1 for info in store._raw_list(prefixes[0]) if is_stub_listing(info))
        if isinstance(store, ObjectStore)
        else 0
    )
    if (at_src, at_dst, journals, stubs) == (count, 0, 0, 0):
        return "not started"
    if (at_src, at_dst, journals, stubs) == (0, count, 0, 0):
        return "finished"
    if stubs == 0 and at_src == count:
        return "claimed or copying"
    if at_src:
        return "fencing"
    return "deleting"


def _check_moved(tools: MemoryTools, src: str, dst: str, tree: dict[str, str], *, read: bool) -> int:
    """How many files are not exactly once at ``dst`` with their text (sizes only unless ``read``)."""
    at_dst = {str(entry.path): entry.size for entry in tools.workspace.walk(dst)}
    wrong = len(tools.workspace.walk(src))
    for rel, text in tree.items():
        size = at_dst.pop(f"{dst}/{rel}", None)
        wrong += size != len(text.encode())
        if read and size is not None:
            wrong += tools.workspace.read(f"{dst}/{rel}").text != text
    return wrong + len(at_dst)


def _left_behind(tools: MemoryTools) -> dict[str, int]:
    """Leftovers of a killed rename: journals, stubs or trash. (A killed process may also leave
    a temp file of a write it was making; that is never listed and is swept once an hour old,
    as any killed writer's.)"""
    return {kind: count for kind, count in leftovers(tools).items() if count and kind != "temp files"}


def _advises_deleting(outcomes: list[Outcome]) -> int:
    return sum(1 for is_error, text in outcomes if is_error and "delet" in text.lower())


@pytest.mark.timeout(900)  # 21 renames of 2,000 files; on S3 under a loaded machine 3-5 minutes
def test_a_killed_folder_rename_finishes_when_run_again(shared: Shared) -> None:
    """SIGKILL a rename of 2,000 files at a random point, 20 times; each time the same rename,
    run again, finishes it: every file once at the destination, nothing left behind."""
    tools = shared.tools()
    files = CRASH_FILES
    tree = _crash_tree(files)
    _fill(tools, "/c0", tree)
    rng = random.Random(7)
    # A first, whole run tells how long a rename takes, so the kills spread over all of it.
    renamer = Renamer(shared)
    began = time.monotonic()
    renamer.start("/c0", "/c1")
    first = renamer.answer()
    took = time.monotonic() - began
    renamer.stop()
    assert not first[0], first
    phases: Counter[str] = Counter()
    failures: list[str] = []
    misplaced = not_finished = advice = leftover = 0
    for r in range(1, CRASH_ROUNDS + 1):
        src, dst = f"/c{r}", f"/c{r + 1}"
        renamer = Renamer(shared)
        renamer.start(src, dst)
        # Spread the kills evenly over the rename (and a little after it): one slice of it a round.
        time.sleep(rng.uniform((r - 1) / CRASH_ROUNDS, r / CRASH_ROUNDS) * took * 1.1)
        answers = renamer.stop(signal.SIGKILL)
        phase = _phase(tools, src, dst, files)
        phases[phase] += 1
        again = tools.call("memory_rename", {"old_path": src, "new_path": dst})
        answers.append((again.is_error, again.text))
        # Killed after the rename finished, the run again finds nothing to move: that is done too.
        if again.is_error and not (phase == "finished" and "does not exist" in again.text):
            not_finished += 1
            failures.append(f"round {r} ({phase}): {again.text}")
        advice += _advises_deleting(answers)
        misplaced += _check_moved(tools, src, dst, tree, read=r == CRASH_ROUNDS)
        found = _left_behind(tools)
        if found:
            leftover += 1
            failures.append(f"round {r} ({phase}) left {found}")
    report(
        "killed folder rename, run again",
        shared,
        rounds=CRASH_ROUNDS,
        files=files,
        whole_rename_ms=round(took * 1000),
        **{phase.replace(" ", "_"): count for phase, count in sorted(phases.items())},
        reruns_not_finishing=not_finished,
        files_not_exactly_once=misplaced,
        advised_deleting=advice,
        left_behind=leftover,
    )
    assert (not_finished, misplaced, advice, leftover) == (0, 0, 0, 0), failures


@pytest.mark.parametrize("shared", ["s3"], indirect=True)  # a local folder rename is one rename(2)
def test_a_folder_rename_killed_while_deleting_its_sources_finishes_when_run_again(shared: Shared) -> None:
    """On an object store the last phase deletes the fenced sources: killed half way through it,
    the rename is resumed by running it again."""
    tools = shared.tools()
    tree = _crash_tree(200)
    _fill(tools, "/k", tree)
    renamer = Renamer(shared, "die-deleting")
    renamer.start("/k", "/m")
    answers = renamer.stop()  # it kills itself half way through deleting the stubs
    assert answers == [] and renamer.process.returncode == -signal.SIGKILL
    assert _phase(tools, "/k", "/m", len(tree)) == "deleting"
    # Meanwhile the folder reads as moved: its files are shown at the destination only.
    assert [str(entry.path) for entry in tools.workspace.walk("/k")] == []
    again = tools.call("memory_rename", {"old_path": "/k", "new_path": "/m"})
    assert not again.is_error, again.text
    assert _check_moved(tools, "/k", "/m", tree, read=True) == 0
    assert leftovers(tools) == {"journals": 0, **_no_sweep(tools)}


def test_a_rename_stopped_by_sigterm_finishes_when_run_again(shared: Shared) -> None:
    """``memspace mv`` of a folder, stopped by SIGTERM at a random point, then run again."""
    tools = shared.tools()
    count = 1000 if shared.backend == "local" else CRASH_FILES_S3
    tree = _crash_tree(count)
    _fill(tools, "/t0", tree)
    rng = random.Random(8)
    command = [sys.executable, "-m", "memspace", "--backend", shared.backend]
    if shared.backend == "local":
        command += ["--local-dir", shared.config["memory_tool_local_dir"]]
    else:
        command += ["--prefix", shared.config["memory_tool_prefix"]]
    environ = {
        **_child_environ(shared),
        "MEMORY_TOOL_CACHE_DIR": str(shared.config.get("memory_tool_cache_dir", "")),
    }

    def run(*args: str) -> tuple[subprocess.CompletedProcess[str], float]:
        began = time.monotonic()
        done = subprocess.run([*command, *args], check=False, env=environ, capture_output=True, text=True)
        return done, time.monotonic() - began

    # How long the command takes to start (a rename of nothing), and to rename the whole folder.
    startup = run("mv", "/nothing", "/nowhere")[1]
    whole, took = run("mv", "/t0", "/t1")
    assert whole.returncode == 0, whole.stderr
    assert _check_moved(tools, "/t0", "/t1", tree, read=False) == 0
    stopped = rounds = 0
    phases: Counter[str] = Counter()
    while stopped < 3 and rounds < 8:  # until three runs were stopped before they finished
        rounds += 1
        src, dst = f"/t{rounds}", f"/t{rounds + 1}"
        process = subprocess.Popen([*command, "mv", src, dst], env=environ, stdout=subprocess.PIPE, text=True)
        # From half way through its start-up to the end: on local disk the folder moves in one
        # rename(2), so a stop there lands before it or after it; on S3, mostly in between.
        time.sleep(rng.uniform(startup / 2, max(took, startup)))
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)
        phase = _phase(tools, src, dst, count)
        phases[phase] += 1
        stopped += phase != "finished"
        again, _ = run("mv", src, dst)
        finished = again.returncode == 0 or (phase == "finished" and "does not exist" in again.stderr)
        assert finished, (phase, again.stdout, again.stderr)
        assert "delet" not in (again.stdout + again.stderr).lower()
        assert _check_moved(tools, src, dst, tree, read=False) == 0
        assert _left_behind(tools) == {}
    assert _check_moved(tools, f"/t{rounds}", f"/t{rounds + 1}", tree, read=True) == 0
    report(
        "SIGTERM, then run again",
        shared,
        rounds=rounds,
        stopped_unfinished=stopped,
        **{phase.replace(" ", "_"): count for phase, count in sorted(phases.items())},
        all_finished_when_run_again=1,
    )
    assert stopped > 0  # the signal did stop runs before they finished


def test_a_folder_rename_stopped_just_before_releasing_its_journals_finishes_when_run_again() -> None:
    """Everything moved, only the journals are left: running the rename again reports it done."""
    store = MemoryStore()
    workspace = Workspace(store)
    for i in range(3):
        workspace.create(f"/a/{i}.md", f"{i}\n")

    def stop(source: str, destination: str) -> None:
        raise KeyboardInterrupt  # where a kill would stop it

    release = store._release_tree
    store._release_tree = stop  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        workspace.rename("/a", "/b")
    store._release_tree = release  # type: ignore[method-assign]
    assert sorted(info.key for info in store.list("", include_reserved=True)) == [
        "a/.memspace-move",
        "b/.memspace-move",
        "b/0.md",
        "b/1.md",
        "b/2.md",
    ]
    # Another folder cannot be renamed onto it meanwhile, nor this one elsewhere.
    workspace.create("/c/0.md", "other\n")
    with pytest.raises(AlreadyExistsError):
        workspace.rename("/c", "/b")
    with pytest.raises(RenameInProgressError, match="run that same rename again to finish it"):
        workspace.rename("/a", "/d")
    assert workspace.rename("/a", "/b").files == 3
    assert sorted(info.key for info in store.list("", include_reserved=True)) == [
        "b/0.md",
        "b/1.md",
        "b/2.md",
        "c/0.md",
    ]
