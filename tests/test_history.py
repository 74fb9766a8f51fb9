"""Version history on every backend: every content a file had stays readable and restorable,
with who and how, invisible to every tool, bounded by retention."""

from __future__ import annotations

import os
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from memspace import MemoryTools
from memspace.errors import ConfigError, NotFoundError
from memspace.storage.memory import MemoryStore
from memspace.sync import sync
from memspace.workspace import Workspace

from .conftest import MakeTools


def ws(tools: MemoryTools) -> Workspace:
    return tools.workspace


def contents(workspace: Workspace, path: str) -> list[str]:
    """The texts of every recorded content of ``path``, newest first."""
    return [workspace.read_version(path, v.id) for v in workspace.history(path) if not v.deleted]


# -- undo of every destructive tool -------------------------------------------------------------

ORIGINAL = "# Plan\n- read the brief\n- draft\n- review\n"


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("memory_create_update", {"file_text": "oops", "mode": "overwrite"}),
        ("memory_str_replace", {"old_str": "- draft\n", "new_str": ""}),
        ("memory_insert", {"insert_line": 0, "insert_text": "garbage"}),
        ("memory_create_update", {"file_text": "more", "mode": "append"}),
    ],
    ids=["overwrite", "str_replace", "insert", "append"],
)
def test_undo_of_an_edit_restores_the_exact_earlier_bytes(
    tools: MemoryTools, tool: str, args: dict[str, Any]
) -> None:
    ws(tools).create("/plan.md", ORIGINAL)
    result = tools.call(tool, {"path": "/plan.md", **args})
    assert not result.is_error, result.text
    assert ws(tools).read("/plan.md").text != ORIGINAL
    ws(tools).restore("/plan.md")
    assert ws(tools).read_bytes("/plan.md") == ORIGINAL.encode()


def test_a_deleted_file_is_listed_and_comes_back_with_its_last_content(tools: MemoryTools) -> None:
    ws(tools).create("/notes/a.md", "first\n")
    ws(tools).append("/notes/a.md", "last")
    assert not tools.call("memory_delete", {"path": "/notes/a.md"}).is_error
    gone = ws(tools).deleted("/")
    assert [str(d.path) for d in gone] == ["/notes/a.md"]
    assert gone[0].operation == "delete"
    ws(tools).restore("/notes/a.md")
    assert ws(tools).read("/notes/a.md").text == "first\nlast"
    assert ws(tools).deleted("/") == []


def test_a_deleted_folder_comes_back_in_one_call(tools: MemoryTools) -> None:
    files = {f"/proj/{i}.md": f"file {i}\n" for i in range(5)} | {"/proj/sub/deep.md": "deep\n"}
    for path, text in files.items():
        ws(tools).create(path, text)
    before = datetime.now(UTC)
    time.sleep(0.01)
    assert not tools.call("memory_delete", {"path": "/proj"}).is_error
    assert sorted(str(d.path) for d in ws(tools).deleted("/proj")) == sorted(files)
    report = ws(tools).restore_tree("/proj", at=before)
    assert sorted(map(str, report.restored)) == sorted(files)
    assert {str(e.path): ws(tools).read(str(e.path)).text for e in ws(tools).walk("/")} == files


def test_clear_all_is_undone_by_restoring_the_workspace_as_it_was(tools: MemoryTools) -> None:
    files = {"/a.md": "a\n", "/b/c.md": "c\n", "/b/d/e.md": "e\n"}
    for path, text in files.items():
        ws(tools).create(path, text)
    ws(tools).append("/a.md", "a2")
    files["/a.md"] = "a\na2"
    before = datetime.now(UTC)
    time.sleep(0.01)
    assert "deleted 3 files" in tools.call("memory_clear_all", {}).text
    assert {str(d.path) for d in ws(tools).deleted("/")} == set(files)
    assert [d.operation for d in ws(tools).deleted("/")] == ["clear"] * 3
    ws(tools).restore_tree("/", at=before)
    assert {str(e.path): ws(tools).read(str(e.path)).text for e in ws(tools).walk("/")} == files


def test_restoring_a_moment_knows_a_file_recreated_after_its_deletion(tools: MemoryTools) -> None:
    """A file deleted and restored (a new chain of versions) is part of the workspace as it was
    afterwards; so is a version later replaced, at a moment when it was current."""
    ws(tools).create("/plan.md", "first\n")
    ws(tools).delete("/plan.md")
    ws(tools).restore("/plan.md")
    ws(tools).append("/plan.md", "second")
    middle = datetime.now(UTC)
    time.sleep(0.01)
    ws(tools).overwrite("/plan.md", "third")
    before = datetime.now(UTC)
    time.sleep(0.01)
    ws(tools).clear()
    ws(tools).restore_tree("/", at=before)
    assert ws(tools).read("/plan.md").text == "third"
    ws(tools).restore_tree("/", at=middle)
    assert ws(tools).read("/plan.md").text == "first\nsecond"


def test_a_renamed_file_keeps_its_history_and_its_old_name_can_be_brought_back(tools: MemoryTools) -> None:
    ws(tools).create("/draft.md", "v1\n")
    ws(tools).append("/draft.md", "v2")
    assert not tools.call("memory_rename", {"old_path": "/draft.md", "new_path": "/final.md"}).is_error
    ws(tools).append("/final.md", "v3")
    history = ws(tools).history("/final.md")
    assert [v.operation for v in history if not v.deleted] == ["append", "rename", "append", "create"]
    assert contents(ws(tools), "/final.md") == ["v1\nv2\nv3", "v1\nv2", "v1\nv2", "v1\n"]
    assert ws(tools).deleted("/") == []  # renamed, not deleted
    ws(tools).restore("/draft.md")
    assert ws(tools).read("/draft.md").text == "v1\nv2"


def test_a_folder_rename_keeps_each_files_history(tools: MemoryTools) -> None:
    ws(tools).create("/old/x.md", "x1")
    ws(tools).append("/old/x.md", "x2")
    assert not tools.call("memory_rename", {"old_path": "/old", "new_path": "/new"}).is_error
    assert contents(ws(tools), "/new/x.md") == ["x1\nx2", "x1\nx2", "x1"]
    assert ws(tools).history("/new/x.md")[0].current


def test_restore_adds_a_version_and_never_rewrites_history(tools: MemoryTools) -> None:
    ws(tools).create("/a.md", "one")
    ws(tools).overwrite("/a.md", "two")
    before = [(v.id, v.operation) for v in ws(tools).history("/a.md")]
    ws(tools).restore("/a.md")
    after = [(v.id, v.operation) for v in ws(tools).history("/a.md")]
    assert after[1:] == before
    assert after[0][1] == "restore"
    assert contents(ws(tools), "/a.md") == ["one", "two", "one"]


# -- who, what, when ------------------------------------------------------------------------------


def test_every_version_records_its_operation_actor_session_time_and_size(make_tools: MakeTools) -> None:
    alice = make_tools(memory_tool_actor="alice", memory_tool_session="s-1")
    bob = make_tools(memory_tool_actor="bob")
    start = datetime.now(UTC) - timedelta(seconds=1)
    alice.workspace.create("/log.md", "a\n")
    bob.workspace.append("/log.md", "b")
    alice.workspace.str_replace("/log.md", "b", "B")
    history = alice.workspace.history("/log.md")
    assert [(v.operation, v.actor, v.session) for v in history] == [
        ("str_replace", "alice", "s-1"),
        ("append", "bob", None),
        ("create", "alice", "s-1"),
    ]
    assert [v.size for v in history] == [len(b"a\nB"), len(b"a\nb"), len(b"a\n")]
    assert all(start <= v.time <= datetime.now(UTC) for v in history)
    assert history[0].current and not any(v.current for v in history[1:])


def test_sync_and_the_anthropic_memory_tool_are_recorded_like_every_writer(make_tools: MakeTools) -> None:
    from memspace.integrations.anthropic import MemspaceMemoryTool

    tools = make_tools(memory_tool_actor="claude")
    memory = MemspaceMemoryTool(tools)
    memory.call({"command": "create", "path": "/memories/a.md", "file_text": "one\n"})
    memory.call({"command": "str_replace", "path": "/memories/a.md", "old_str": "one", "new_str": "two"})
    memory.call({"command": "insert", "path": "/memories/a.md", "insert_line": 0, "insert_text": "zero"})
    memory.call({"command": "rename", "old_path": "/memories/a.md", "new_path": "/memories/b.md"})
    memory.call({"command": "delete", "path": "/memories/b.md"})
    history = ws(tools).history("/b.md")
    assert [(v.operation, v.actor, v.deleted) for v in history] == [
        ("delete", "claude", True),
        ("rename", "claude", False),
        ("insert", "claude", False),
        ("str_replace", "claude", False),
        ("create", "claude", False),
    ]
    source = Workspace(MemoryStore())
    source.create("/c.md", "synced")
    sync(source, ws(tools))
    assert [(v.operation, v.actor) for v in ws(tools).history("/c.md")] == [("sync", "claude")]


def test_diff_shows_the_last_change_by_default(tools: MemoryTools) -> None:
    ws(tools).create("/a.md", "one\ntwo\n")
    ws(tools).str_replace("/a.md", "two", "2")
    diff = ws(tools).diff("/a.md")
    assert "-two\n" in diff and "+2\n" in diff and diff.startswith("--- /a.md@")
    first = ws(tools).history("/a.md")[-1].id
    assert ws(tools).diff("/a.md", first, "current") == diff.replace(
        f"+++ /a.md@{ws(tools).history('/a.md')[0].id}", "+++ /a.md@current"
    )


def test_an_unknown_version_is_a_clear_error(tools: MemoryTools) -> None:
    ws(tools).create("/a.md", "one")
    with pytest.raises(NotFoundError, match="has no version 'ffffffffffffffff'"):
        ws(tools).read_version("/a.md", "ffffffffffffffff")
    with pytest.raises(NotFoundError, match="never existed"):
        ws(tools).history("/never.md")


# -- isolation and invisibility -------------------------------------------------------------------


def test_history_is_kept_per_namespace(make_tools: MakeTools) -> None:
    one, two = make_tools(memory_tool_namespace="one"), make_tools(memory_tool_namespace="two")
    one.workspace.create("/a.md", "ones\n")
    one.workspace.delete("/a.md")
    two.workspace.create("/a.md", "twos\n")
    assert two.workspace.deleted("/") == []
    assert contents(two.workspace, "/a.md") == ["twos\n"]
    version = one.workspace.history("/a.md")[1].id
    with pytest.raises(NotFoundError):
        two.workspace.read_version("/a.md", version)


def test_history_never_shows_through_any_tool_listing_sync_or_search(
    tools: MemoryTools, backend: str
) -> None:
    ws(tools).create("/notes/a.md", "the secret old text\n")
    ws(tools).overwrite("/notes/a.md", "new text\n")
    ws(tools).create("/gone.md", "deleted secret\n")
    ws(tools).delete("/gone.md")
    root = tools.call("memory_view", {"path": "/"}).text
    assert ".memspace" not in root and "gone" not in root and "2 files" not in root
    assert [str(e.path) for e in ws(tools).walk("/")] == ["/notes/a.md"]
    assert [str(e.path) for e in ws(tools).list("/", include_hidden=True).entries] == [
        "/notes",
        "/notes/a.md",
    ]
    assert tools.call("memory_search", {"pattern": "secret"}).text == 'No lines match "secret" in 1 file.'
    assert tools.call("memory_find", {"glob": "**/*"}).text.count(".md") == 1
    target = Workspace(MemoryStore())
    sync(ws(tools), target)
    assert [str(e.path) for e in target.walk("/")] == ["/notes/a.md"]


def test_local_history_sits_beside_the_namespace_folder_not_in_it(tmp_path: Path) -> None:
    tools = MemoryTools.from_config({"memory_tool_local_dir": str(tmp_path / "mem")}, environ={})
    tools.workspace.create("/a.md", "x")
    tools.workspace.append("/a.md", "y")
    namespace = tmp_path / "mem" / "default"
    assert sorted(p.name for p in namespace.rglob("*")) == ["a.md"]
    records = list((tmp_path / "mem" / ".memspace" / "default" / "history").rglob("*.v.*"))
    assert len(records) == 2
    # The current version is the same file as its record: stored once.
    assert any((namespace / "a.md").samefile(record) for record in records)


def test_local_a_new_file_in_a_folder_with_history_adds_one_history_folder(tmp_path: Path) -> None:
    """Every folder a write makes is journal work its fsync waits for: a file's history is one
    folder in the history of its folder, not two."""
    tools = MemoryTools.from_config({"memory_tool_local_dir": str(tmp_path / "mem")}, environ={})
    history = tmp_path / "mem" / ".memspace" / "default" / "history"

    def folders() -> set[Path]:
        return {p for p in history.rglob("*") if p.is_dir()}

    tools.workspace.create("/notes/a.md", "a")
    before = folders()
    tools.workspace.create("/notes/b.md", "b")
    assert [p.relative_to(history).as_posix() for p in folders() - before] == ["notes/.memspace-v/b.md"]


def _old_layout(key: str, root: str) -> str:
    """Where a development build before 0.1.0 kept the entry ``key``: ``<path>/.memspace-v/<entry>``."""
    folder, _, rest = f"/{key[len(root) :]}".rpartition("/.memspace-v/")
    name, _, entry = rest.partition("/")
    path = "" if name == ".memspace-root" else f"{folder}/{name}/".lstrip("/")
    return f"{root}{path}.memspace-v/{entry}"


def test_history_kept_in_the_layout_before_0_1_0_is_moved_and_read_after_a_collection(
    tools: MemoryTools,
) -> None:
    workspace = tools.workspace
    workspace.create("/notes/a.md", "one\n")
    workspace.overwrite("/notes/a.md", "two\n")
    workspace.create("/b.md", "bee\n")
    workspace.create("/x.memspace-v/c.md", "sea\n")  # a name may end as the history's folders do
    before = datetime.now(UTC)
    time.sleep(0.01)
    assert "deleted 3 files" in tools.call("memory_clear_all", {}).text
    history = workspace._versions
    assert history is not None
    expected = {path: contents(workspace, path) for path in ("/notes/a.md", "/b.md", "/x.memspace-v/c.md")}
    assert expected == {
        "/notes/a.md": ["two\n", "one\n"],
        "/b.md": ["bee\n"],
        "/x.memspace-v/c.md": ["sea\n"],
    }
    keys = [info.key for info in workspace.store.list(history.root, include_reserved=True)]
    for key in keys:  # as a development build would have left them
        workspace.store.put(
            _old_layout(key, history.root), workspace.store.get(key).data, mode="create", write_ids=()
        )
    workspace.store.delete(keys)
    assert workspace.deleted("/") == []
    # A move interrupted between its copy and the removal of the old key, to be finished.
    interrupted = next(key for key in keys if "/notes/" in key and ".v." in key)
    workspace.store.put(
        interrupted,
        workspace.store.get(_old_layout(interrupted, history.root)).data,
        mode="create",
        write_ids=(),
    )

    workspace.collect_garbage()
    assert {path: contents(workspace, path) for path in expected} == expected
    assert [(str(d.path), d.operation) for d in workspace.deleted("/")] == [
        ("/b.md", "clear"),
        ("/notes/a.md", "clear"),
        ("/x.memspace-v/c.md", "clear"),
    ]
    assert sorted(info.key for info in workspace.store.list(history.root, include_reserved=True)) == sorted(
        keys
    )
    report = workspace.restore_tree("/", at=before)
    assert sorted(map(str, report.restored)) == ["/b.md", "/notes/a.md", "/x.memspace-v/c.md"]
    assert workspace.read("/notes/a.md").text == "two\n"


def _local_xattrs(folder: Path) -> bool:
    """Whether files in ``folder`` can carry user extended attributes (where write ids are kept)."""
    probe = folder / "probe"
    probe.write_bytes(b"")
    try:
        os.setxattr(probe, "user.memspace.probe", b"1")
    except (AttributeError, OSError):
        return False
    finally:
        probe.unlink()
    return True


def test_local_writes_find_the_current_version_without_reading_the_files_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not _local_xattrs(tmp_path):
        pytest.skip("no extended attributes here: history reads the records instead")
    workspace = MemoryTools.from_config(
        {"memory_tool_local_dir": str(tmp_path / "mem")}, environ={}
    ).workspace
    workspace.create("/a.md", "0\n")
    for i in range(1, 4):
        workspace.append("/a.md", str(i))
    listed: list[str] = []
    real_list = workspace.store.list

    def counting_list(prefix: str, **options: Any) -> Any:
        listed.append(prefix)
        return real_list(prefix, **options)

    monkeypatch.setattr(workspace.store, "list", counting_list)
    workspace.append("/a.md", "4")
    workspace.rename("/a.md", "/b.md")
    workspace.append("/b.md", "5")
    workspace.delete("/b.md")
    assert [prefix for prefix in listed if "history" in prefix] == []
    monkeypatch.undo()
    workspace.restore("/b.md")
    # The restore, the append after the rename, the rename, then every earlier write: a whole chain.
    assert contents(workspace, "/b.md") == [
        "0\n1\n2\n3\n4\n5",
        "0\n1\n2\n3\n4\n5",
        "0\n1\n2\n3\n4",
        "0\n1\n2\n3\n4",
        "0\n1\n2\n3",
        "0\n1\n2",
        "0\n1",
        "0\n",
    ]


def test_a_local_file_written_many_times_takes_no_more_disk_than_one_written_once(tmp_path: Path) -> None:
    """The write ids kept with a file stay few enough to fit in its inode: were they to spill
    into a block of their own, every version would cost one more block, allocated and journaled
    at each write (on ext4, from a file's third write on)."""
    workspace = MemoryTools.from_config(
        {"memory_tool_local_dir": str(tmp_path / "mem")}, environ={}
    ).workspace
    if not _local_xattrs(tmp_path):
        pytest.skip("no extended attributes here")
    workspace.create("/once.md", "x\n" * 10)
    workspace.create("/often.md", "x\n")
    for _ in range(9):
        workspace.append("/often.md", "x")
    folder = tmp_path / "mem" / "default"
    assert (folder / "often.md").read_bytes() == (folder / "once.md").read_bytes()[:-1]
    assert (folder / "often.md").stat().st_blocks == (folder / "once.md").stat().st_blocks
    assert [v.operation for v in workspace.history("/often.md")] == ["append"] * 9 + ["create"]


def test_a_copy_carrying_a_files_attributes_is_not_taken_for_the_version_it_copied(tmp_path: Path) -> None:
    if not _local_xattrs(tmp_path):
        pytest.skip("no extended attributes here")
    workspace = MemoryTools.from_config(
        {"memory_tool_local_dir": str(tmp_path / "mem")}, environ={}
    ).workspace
    workspace.create("/a.md", "one\n")
    workspace.append("/a.md", "two")
    file = tmp_path / "mem" / "default" / "a.md"
    copy = tmp_path / "copy.md"
    shutil.copy2(file, copy)  # as `cp -a` or an editor keeping attributes would
    copy.write_text("edited elsewhere\n")
    assert os.getxattr(copy, "user.memspace.write-ids")
    os.replace(copy, file)
    newest = workspace.history("/a.md")[0]
    assert (newest.current, newest.operation) == (True, "unrecorded")
    assert contents(workspace, "/a.md")[1:] == ["one\ntwo", "one\n"]


def test_a_file_back_after_its_deletion_unrecorded_is_current_even_when_it_was_once_renamed_in(
    tools: MemoryTools,
) -> None:
    """Renamed away and back, deleted, then written by a writer killed between its content and its
    record (here: a write straight to the store): the file is its own newest version, not the
    version the rename once brought, and not the deletion."""
    workspace = ws(tools)
    workspace.create("/victim.md", "start")
    workspace.rename("/victim.md", "/moved.md")
    workspace.rename("/moved.md", "/victim.md")
    workspace.delete("/victim.md")
    key = workspace.base + "victim.md"
    workspace.store.put(key, b"start, then more", mode="create", write_ids=("0123456789abcdef",))
    versions = workspace.history("/victim.md")
    assert (versions[0].current, versions[0].operation) == (True, "unrecorded")
    assert [v.current for v in versions[1:]] == [False] * (len(versions) - 1)
    assert versions[1].deleted
    assert workspace.read_version("/victim.md", versions[0].id) == "start, then more"


# -- retention -------------------------------------------------------------------------------------


def test_retention_keeps_the_newest_versions_and_frees_the_rest(make_tools: MakeTools) -> None:
    tools = make_tools(memory_tool_history_versions=3)
    workspace = tools.workspace
    workspace.create("/a.md", "v0")
    for i in range(1, 10):
        workspace.overwrite("/a.md", f"v{i}" * 100)
    workspace.create("/b.md", "untouched")
    report = workspace.collect_garbage()
    assert report["history entries"] == 7 and report["history bytes"] > 0
    assert contents(workspace, "/a.md") == ["v9" * 100, "v8" * 100, "v7" * 100]
    assert workspace.read("/a.md").text == "v9" * 100 and workspace.read("/b.md").text == "untouched"
    assert workspace.collect_garbage()["history entries"] == 0  # nothing more to free


def test_retention_forgets_old_deletions_and_versions_after_the_retention_period(
    make_tools: MakeTools,
) -> None:
    tools = make_tools(memory_tool_history_days=1)
    workspace = tools.workspace
    workspace.create("/gone.md", "bye")
    workspace.delete("/gone.md")
    workspace.create("/kept.md", "one")
    workspace.overwrite("/kept.md", "two")
    assert workspace.collect_garbage()["history entries"] == 0
    assert [str(d.path) for d in workspace.deleted("/")] == ["/gone.md"]
    later = datetime.now(UTC) + timedelta(days=2)
    assert (
        workspace.collect_garbage(now=later)["history entries"] == 3
    )  # gone's version and marker, kept's "one"
    assert workspace.deleted("/") == []
    assert contents(workspace, "/kept.md") == ["two"]  # the current version always stays


def test_a_record_that_never_became_current_is_never_shown_and_is_collected(tools: MemoryTools) -> None:
    """What a writer that lost its race, or died before its put, leaves behind."""
    workspace = tools.workspace
    workspace.create("/a.md", "real\n")
    head = workspace.history("/a.md")[0]
    history = workspace._versions
    assert history is not None
    orphan = history.entry_key(
        workspace.path("/a.md"),
        kind="v",
        id="0123456789abcdef",
        parent=head.id,
        operation="append",
        at=datetime.now(UTC) - timedelta(hours=2),
    )
    workspace.store.put(orphan, b"real\nlost", mode="overwrite", write_ids=())
    assert [v.id for v in workspace.history("/a.md")] == [head.id]
    assert workspace.collect_garbage()["history entries"] == 1
    assert workspace.collect_garbage()["history entries"] == 0


# -- switches --------------------------------------------------------------------------------------


def test_with_versioning_off_nothing_is_recorded_and_history_says_so(make_tools: MakeTools) -> None:
    tools = make_tools(memory_tool_versioning=False)
    tools.workspace.create("/a.md", "x")
    tools.workspace.overwrite("/a.md", "y")
    with pytest.raises(ConfigError, match="Versioning is off"):
        tools.workspace.history("/a.md")
    workspace_prefix = tools.workspace.base.rstrip("/").rpartition("/")[0]  # the bucket prefix, if any
    listed = [info.key for info in tools.workspace.store.list(workspace_prefix, include_reserved=True)]
    assert listed and not [key for key in listed if ".memspace" in key]
    with pytest.raises(ConfigError, match="needs memory_tool_versioning"):
        make_tools(memory_tool_versioning=False, memory_tool_history=True)


def test_the_history_tool_is_offered_only_when_asked_for(make_tools: MakeTools) -> None:
    assert "memory_history" not in make_tools().names
    tools = make_tools(memory_tool_history=True)
    assert "memory_history" in tools.names
    tools.call("memory_create_update", {"path": "/plan.md", "file_text": "# Plan\n- a\n"})
    tools.call("memory_create_update", {"path": "/plan.md", "file_text": "oops", "mode": "overwrite"})
    listing = tools.call("memory_history", {"path": "/plan.md"}).text
    assert listing.startswith("Versions of /plan.md, newest first (2):")
    assert "overwrite" in listing and "create" in listing and "(current)" in listing
    shown = tools.call("memory_history", {"path": "/plan.md", "action": "view"}).text
    assert shown.endswith("     1\t# Plan\n     2\t- a")
    restored = tools.call("memory_history", {"path": "/plan.md", "action": "restore"})
    assert not restored.is_error and restored.text.startswith("Restored /plan.md from version")
    assert tools.workspace.read("/plan.md").text == "# Plan\n- a\n"
    wrong = tools.call("memory_history", {"path": "/plan.md", "action": "view", "version": "nope"})
    assert wrong.is_error and "has no version 'nope'" in wrong.text
