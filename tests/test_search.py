"""Search by content (memory_search, Workspace.search) and by name (memory_find, Workspace.find),
on every backend; globs; the content cache on its own; the grep and find commands."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from memspace import AsyncWorkspace, MemoryTools, Settings, Workspace
from memspace.content_cache import DATABASE_NAME, ContentCache, default_directory, entry_id
from memspace.errors import InvalidPatternError, NotFoundError
from memspace.globs import Glob
from memspace.storage.local import LocalStore
from memspace.storage.memory import MemoryStore
from memspace.tools.render_search import MAX_LINE_CHARS

from .conftest import READ_ONLY_TOOLS, SEARCH_TOOLS, SEVEN_TOOLS, MakeTools, s3_environ
from .support.seaweed import SeaweedServer


def ok(tools: MemoryTools, name: str, **args: Any) -> str:
    result = tools.call(name, args)
    assert not result.is_error, result.text
    return result.text


def fails(tools: MemoryTools, name: str, **args: Any) -> str:
    result = tools.call(name, args)
    assert result.is_error, f"expected an error, got: {result.text}"
    return result.text


def write(tools: MemoryTools, files: dict[str, str]) -> None:
    for path, text in files.items():
        tools.workspace.create(path, text)


def hits(text: str) -> list[str]:
    """The ``path:line: text`` lines of a memory_search result."""
    return [line for line in text.splitlines()[1:] if line.startswith("/")]


NOTES = {
    "/notes/a.md": "Deadline is Friday\nlunch at noon\nthe deadline moved\n",
    "/notes/2024-05.md": "nothing here\nDEADLINE again\n",
    "/notes/deep/er/x.md": "a deadline, deep down\n",
    "/todo.txt": "call bob about the deadline\n",
}


# -- content search ------------------------------------------------------------------


def test_search_finds_text_ignoring_case_in_path_then_line_order(tools: MemoryTools) -> None:
    write(tools, NOTES)
    text = ok(tools, "memory_search", pattern="deadline")
    assert text.splitlines()[0] == 'Found 5 matching lines in 4 files for "deadline" (searched 4 files):'
    assert hits(text) == [
        "/notes/2024-05.md:2: DEADLINE again",
        "/notes/a.md:1: Deadline is Friday",
        "/notes/a.md:3: the deadline moved",
        "/notes/deep/er/x.md:1: a deadline, deep down",
        "/todo.txt:1: call bob about the deadline",
    ]
    # grouped by file: a blank line between files, none within one
    assert "/notes/a.md:1: Deadline is Friday\n/notes/a.md:3: the deadline moved\n\n/notes/deep" in text


def test_case_sensitive_search_matches_case_exactly(tools: MemoryTools) -> None:
    write(tools, NOTES)
    text = ok(tools, "memory_search", pattern="DEADLINE", case_sensitive=True)
    assert hits(text) == ["/notes/2024-05.md:2: DEADLINE again"]
    none = ok(tools, "memory_search", pattern="Deadline again", case_sensitive=True)
    assert none.startswith('No lines match "Deadline again" in 4 files.')
    assert "set case_sensitive to false" in none


def test_ignoring_case_works_beyond_ascii(tools: MemoryTools) -> None:
    write(tools, {"/de.md": "Straße\nÄRGER im Büro\nplain KELVIN line\n", "/en.md": "Plain ascii Kelvin\n"})
    assert hits(ok(tools, "memory_search", pattern="ärger")) == ["/de.md:2: ÄRGER im Büro"]
    assert hits(ok(tools, "memory_search", pattern="kelvin")) == [
        "/de.md:3: plain KELVIN line",
        "/en.md:1: Plain ascii Kelvin",
    ]
    assert hits(ok(tools, "memory_search", pattern="BÜRO", case_sensitive=True)) == []


def test_regex_search_matches_each_line_on_its_own(tools: MemoryTools) -> None:
    write(tools, {"/a.md": "alpha one\nbeta two\nalpha\ngamma alpha\n"})
    assert hits(ok(tools, "memory_search", pattern="^alpha", regex=True)) == [
        "/a.md:1: alpha one",
        "/a.md:3: alpha",
    ]
    assert hits(ok(tools, "memory_search", pattern="alpha$", regex=True)) == [
        "/a.md:3: alpha",
        "/a.md:4: gamma alpha",
    ]
    assert hits(ok(tools, "memory_search", pattern=r"beta|\bone\b", regex=True)) == [
        "/a.md:1: alpha one",
        "/a.md:2: beta two",
    ]
    # a line never matches across its neighbour: "one\nbeta" is two lines
    assert ok(tools, "memory_search", pattern=r"one\sbeta", regex=True).startswith("No lines match")


def test_literal_search_takes_regex_characters_as_text(tools: MemoryTools) -> None:
    write(tools, {"/a.md": "abc\na.c\n[x] done\n"})
    assert hits(ok(tools, "memory_search", pattern="a.c")) == ["/a.md:2: a.c"]
    assert hits(ok(tools, "memory_search", pattern="[x]")) == ["/a.md:3: [x] done"]
    nothing = ok(tools, "memory_search", pattern="a.*z")
    assert "set regex to true" in nothing


def test_glob_filters_the_files_searched(tools: MemoryTools) -> None:
    write(tools, NOTES)

    def searched(glob: str, path: str = "/") -> list[str]:
        return sorted(
            {
                hit.split(":")[0]
                for hit in hits(ok(tools, "memory_search", pattern="deadline", glob=glob, path=path))
            }
        )

    assert searched("*.md") == ["/notes/2024-05.md", "/notes/a.md", "/notes/deep/er/x.md"]
    assert searched("notes/2024-*") == ["/notes/2024-05.md"]
    assert searched("notes/*.md") == ["/notes/2024-05.md", "/notes/a.md"]
    assert searched("**/x.md") == ["/notes/deep/er/x.md"]
    assert searched("*.{txt,none}") == ["/todo.txt"]
    assert searched("deep/**", path="/notes") == ["/notes/deep/er/x.md"]
    assert searched("/notes/*.md", path="/notes") == ["/notes/2024-05.md", "/notes/a.md"]
    text = ok(tools, "memory_search", pattern="deadline", glob="*.csv")
    assert text == 'There are no files to search matching "*.csv".'


def test_path_limits_the_search_to_a_folder_or_a_file(tools: MemoryTools) -> None:
    write(tools, NOTES)
    folder = ok(tools, "memory_search", pattern="deadline", path="/notes/deep")
    assert hits(folder) == ["/notes/deep/er/x.md:1: a deadline, deep down"]
    assert "(searched 1 file in /notes/deep)" in folder
    one = ok(tools, "memory_search", pattern="deadline", path="notes/a.md")
    assert hits(one) == ["/notes/a.md:1: Deadline is Friday", "/notes/a.md:3: the deadline moved"]
    assert "does not exist" in fails(tools, "memory_search", pattern="x", path="/nope")
    assert "'..'" in fails(tools, "memory_search", pattern="x", path="/../etc")


def test_many_matches_are_capped_with_a_note_saying_how_many_more_and_where(tools: MemoryTools) -> None:
    write(tools, {f"/log/{i:02d}.md": "".join(f"event {j}\n" for j in range(30)) for i in range(10)})
    text = ok(tools, "memory_search", pattern="event")
    assert text.splitlines()[0] == 'Found 300 matching lines in 10 files for "event" (searched 10 files):'
    shown = hits(text)
    assert len(shown) == 100
    assert shown[0] == "/log/00.md:1: event 0" and shown[-1] == "/log/03.md:10: event 9"
    assert text.splitlines()[-1] == (
        "[200 more matching lines not shown, in /log/03.md (20), /log/04.md (30), /log/05.md (30), "
        "/log/06.md (30), /log/07.md (30) and 2 more files. Narrow the search with a more specific "
        'pattern, a path such as "/log" or a glob such as "*.md".]'
    )
    narrowed = ok(tools, "memory_search", pattern="event", path="/log/07.md")
    assert len(hits(narrowed)) == 30 and "not shown" not in narrowed


def test_output_is_capped_by_characters_and_long_lines_are_cut(make_tools: MakeTools) -> None:
    tools = make_tools(memory_tool_max_view_chars=1000)
    long_line = "x" * 5000 + " needle " + "y" * 5000
    write(tools, {"/long.md": long_line + "\n", **{f"/n{i:02d}.md": f"needle {i}\n" for i in range(60)}})
    text = ok(tools, "memory_search", pattern="needle")
    assert len(text) < 1400
    cut = next(line for line in hits(text) if line.startswith("/long.md"))
    assert "needle" in cut and cut.startswith("/long.md:1: ...x") and cut.endswith("y...")
    assert len(cut) <= len("/long.md:1: ") + MAX_LINE_CHARS + 6
    assert "more matching lines not shown" in text.splitlines()[-1]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            {"pattern": "(", "regex": True},
            'pattern "(" is not a valid regular expression: missing ), unterminated subpattern',
        ),
        ({"pattern": "a", "glob": "[a"}, "glob \"[a\" is not valid: a '[' is not closed"),
        ({"pattern": "a", "glob": "{md,txt"}, "glob \"{md,txt\" is not valid: a '{' is not closed"),
        ({"pattern": "a", "glob": "../*"}, "glob \"../*\" is not valid: '..' is not allowed"),
        ({"pattern": ""}, 'pattern "" cannot be searched for: it is empty'),
        ({"pattern": "a\nb"}, "it spans several lines"),
        ({"pattern": "a", "mode": "fuzzy"}, "must be one of lines, ranked"),
        ({"pattern": "a", "regex": True, "mode": "ranked"}, "regex does not apply to mode 'ranked'"),
        ({"pattern": "!!", "mode": "ranked"}, "has no words to look for"),
        ({"pattern": "a", "case_sensitive": "yes"}, "'case_sensitive' must be true or false"),
    ],
)
def test_invalid_patterns_and_globs_are_clear_errors(
    tools: MemoryTools, args: dict[str, Any], expected: str
) -> None:
    write(tools, {"/a.md": "a\n"})
    assert expected in fails(tools, "memory_search", **args)


def test_invalid_find_glob_is_a_clear_error(tools: MemoryTools) -> None:
    assert fails(tools, "memory_find", glob="a]}") == (
        "glob \"a]}\" is not valid: it has a '}' without a '{'. Use * for any characters in a name, ** "
        'for any folders and ? for one character, e.g. "*.md" or "notes/**/2024-*".'
    )
    assert "needs the argument 'glob'" in fails(tools, "memory_find")


def test_binary_files_are_skipped_and_counted(tools: MemoryTools) -> None:
    tools.workspace.create("/a.md", "needle\n")
    tools.workspace.store.put(tools.workspace.base + "b.bin", b"needle \xff\xfe", mode="create", write_ids=())
    text = ok(tools, "memory_search", pattern="needle")
    assert hits(text) == ["/a.md:1: needle"]
    assert text.endswith("\n[1 binary file (not UTF-8 text) not searched.]")


# -- hidden and reserved data, namespaces, read-only, turning search off -------------


def test_hidden_entries_and_reserved_data_never_match(tools: MemoryTools) -> None:
    ws = tools.workspace
    write(
        tools,
        {
            "/visible.md": "secret word\n",
            "/.hidden/a.md": "secret word\n",
            "/notes/.draft.md": "secret word\n",
        },
    )
    # memspace's own data in the namespace (rename journals, temp files): names starting with .memspace
    ws.store.put(ws.base + ".memspace/journal/x.md", b"secret word\n", mode="create", write_ids=())
    ws.store.put(ws.base + "notes/.memspace-tmp.abc", b"secret word\n", mode="overwrite", write_ids=())
    assert hits(ok(tools, "memory_search", pattern="secret")) == ["/visible.md:1: secret word"]
    assert hits(ok(tools, "memory_search", pattern="secret", glob="**")) == ["/visible.md:1: secret word"]
    assert hits(ok(tools, "memory_search", pattern="secret", glob="**/.*")) == []
    assert hits(ok(tools, "memory_search", pattern="secret", path="/.hidden")) == []
    assert hits(ok(tools, "memory_search", pattern="secret", path="/notes/.draft.md")) == []
    assert hits(ok(tools, "memory_search", pattern="secret", mode="ranked")) == ["/visible.md:1: secret word"]
    assert [str(e.path) for e in ws.find("**")] == ["/visible.md"]  # /notes holds hidden files only
    assert ok(tools, "memory_find", glob=".*") == 'No files or folders match the glob ".*".'


def test_namespaces_never_see_each_others_files(make_tools: MakeTools) -> None:
    alice = make_tools(memory_tool_namespace="alice")
    bob = make_tools(memory_tool_namespace="bob")
    write(alice, {"/plan.md": "alice's plan\n"})
    write(bob, {"/plan.md": "bob's plan\n"})
    assert hits(ok(alice, "memory_search", pattern="plan")) == ["/plan.md:1: alice's plan"]
    assert hits(ok(bob, "memory_search", pattern="plan")) == ["/plan.md:1: bob's plan"]
    assert ok(bob, "memory_search", pattern="alice").startswith("No lines match")
    assert [str(e.path) for e in bob.workspace.find("*")] == ["/plan.md"]


def test_read_only_mode_offers_search_and_find(make_tools: MakeTools) -> None:
    write(make_tools(), {"/a.md": "kept note\n"})
    reader = make_tools(memory_tool_read_only=True)
    assert reader.names == READ_ONLY_TOOLS
    assert hits(ok(reader, "memory_search", pattern="kept")) == ["/a.md:1: kept note"]
    assert ok(reader, "memory_find", glob="*.md").endswith("\n/a.md")
    assert "memory_search" in reader.instructions


def test_search_can_be_turned_off(make_tools: MakeTools) -> None:
    tools = make_tools(memory_tool_search=False)
    assert tools.names == SEVEN_TOOLS
    assert [d["name"] for d in tools.definitions("mcp")] == SEVEN_TOOLS
    assert "search is turned off" in fails(tools, "memory_search", pattern="x")
    assert "memory_search" not in tools.instructions
    env = {"MEMORY_TOOL_BACKEND": "memory", "MEMORY_TOOL_SEARCH": "false"}
    assert MemoryTools.from_config(environ=env).names == SEVEN_TOOLS
    assert MemoryTools.from_config({"memory_tool_search": True}, environ=env).names[-2:] == SEARCH_TOOLS


def test_search_tools_are_annotated_read_only_and_idempotent(tools: MemoryTools) -> None:
    by_name = {d["name"]: d for d in tools.definitions("mcp")}
    for name, title in (("memory_search", "Search memory"), ("memory_find", "Find memory files by name")):
        assert by_name[name]["title"] == title
        assert by_name[name]["annotations"] == {
            "title": title,
            "readOnlyHint": True,
            "destructiveHint": False,
            "idempotentHint": True,
            "openWorldHint": False,
        }
    assert by_name["memory_search"]["inputSchema"]["required"] == ["pattern"]
    # an optional argument is nullable: its value schema is the first alternative
    assert by_name["memory_search"]["inputSchema"]["properties"]["mode"]["anyOf"][0]["enum"] == [
        "lines",
        "ranked",
    ]
    assert by_name["memory_find"]["inputSchema"]["required"] == ["glob"]


# -- find, ranked, the typed API -----------------------------------------------------


def test_find_lists_files_and_folders_matching_a_glob(tools: MemoryTools) -> None:
    write(tools, {**NOTES, "/notes/2024-06/b.md": "x\n"})
    assert ok(tools, "memory_find", glob="notes/2024-*").splitlines() == [
        'Found 1 file and 1 folder matching the glob "notes/2024-*":',
        "/notes/2024-05.md",
        "/notes/2024-06/",
    ]
    assert [str(e.path) for e in tools.workspace.find("**/*.md")] == [
        "/notes/2024-05.md",
        "/notes/2024-06/b.md",
        "/notes/a.md",
        "/notes/deep/er/x.md",
    ]
    assert [str(e.path) for e in tools.workspace.find("er", path="/notes")] == ["/notes/deep/er"]
    assert [(str(e.path), e.kind) for e in tools.workspace.find("*/", path="/notes")] == [
        ("/notes/2024-06", "dir"),
        ("/notes/deep", "dir"),
        ("/notes/deep/er", "dir"),
    ]
    assert (
        ok(tools, "memory_find", glob="*.csv", path="/notes")
        == 'No files or folders match the glob "*.csv" in /notes.'
    )


def test_find_caps_long_lists_with_a_note(make_tools: MakeTools) -> None:
    tools = make_tools(memory_tool_max_dir_entries=20)
    write(tools, {f"/f{i:03d}.md": "x" for i in range(45)})
    lines = ok(tools, "memory_find", glob="*.md").splitlines()
    assert lines[0] == 'Found 45 files matching the glob "*.md":'
    assert lines[1:21] == [f"/f{i:03d}.md" for i in range(20)]
    assert lines[21] == "[25 more paths not shown; use a narrower glob, or a path to look in.]"


def test_ranked_search_puts_the_best_matching_file_first(tools: MemoryTools) -> None:
    write(
        tools,
        {
            "/a.md": "notes on cooking\npasta recipes\n",
            "/b.md": "database indexes\nthe index makes queries fast\nindexing costs writes\n",
            "/c.md": "an index of names\nmostly unrelated text about gardens and weather\n",
            "/d.md": "nothing relevant\n",
        },
    )
    text = ok(tools, "memory_search", pattern="database indexing", mode="ranked")
    lines = text.splitlines()
    assert lines[0] == (
        "Files with some of the words database, indexing: 2 of 4 files searched. The best 2, best first, "
        "with their best lines:"
    )
    assert lines[2] == "1. /b.md"
    assert lines[3:6] == [
        "/b.md:1: database indexes",
        "/b.md:2: the index makes queries fast",
        "/b.md:3: indexing costs writes",
    ]
    assert "2. /c.md" in lines and "/a.md" not in text and "/d.md" not in text
    none = ok(tools, "memory_search", pattern="volcano", mode="ranked")
    assert none == "No files contain any of the words volcano (searched 4 files)."


def test_workspace_search_gives_context_lines_and_counts(tools: MemoryTools) -> None:
    ws = tools.workspace
    write(tools, {"/a.md": "one\ntwo\nthree\nfour\nfive\n", "/b.md": "two\n"})
    result = ws.search("t", case_sensitive=True, context=1, max_results=2)
    assert [(str(m.path), m.line, m.text, m.before, m.after) for m in result.matches] == [
        ("/a.md", 2, "two", ("one",), ("three",)),
        ("/a.md", 3, "three", ("two",), ("four",)),
    ]
    assert result.matches[0].spans == ((0, 1),)
    assert (result.total, result.omitted, result.searched) == (3, 1, 2)
    assert {str(path): n for path, n in result.file_counts.items()} == {"/a.md": 2, "/b.md": 1}
    assert ws.search("T", max_results=None).total == 3
    with pytest.raises(InvalidPatternError):
        ws.search("(", regex=True)
    with pytest.raises(NotFoundError):
        ws.find("*", path="/missing")


def test_async_workspace_searches_off_the_event_loop(tools: MemoryTools) -> None:
    write(tools, {"/a.md": "hello\n", "/d/b.md": "hello again\n"})
    aws = AsyncWorkspace(tools.workspace)

    async def main() -> tuple[int, list[str]]:
        result, found = await asyncio.gather(aws.search("hello"), aws.find("**/*.md"))
        return result.total, [str(e.path) for e in found]

    assert asyncio.run(main()) == (2, ["/a.md", "/d/b.md"])


def test_acall_search(tools: MemoryTools) -> None:
    write(tools, {"/a.md": "async hello\n"})
    result = asyncio.run(tools.acall("memory_search", {"pattern": "hello"}))
    assert hits(result.text) == ["/a.md:1: async hello"]


# -- a file changed by another OS process ----------------------------------------------


def _environment_for(tools: MemoryTools, backend: str, request: pytest.FixtureRequest) -> dict[str, str]:
    """The environment another process needs to open the same workspace."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEMORY_TOOL_", "AWS_", "R2_"))}
    store = tools.workspace.store
    if isinstance(store, LocalStore):
        return env | {"MEMORY_TOOL_BACKEND": "local", "MEMORY_TOOL_LOCAL_DIR": str(store.root)}
    server: SeaweedServer = request.getfixturevalue("seaweed")
    prefix = tools.workspace.base.removesuffix("default/")
    return env | s3_environ(server, backend) | {"MEMORY_TOOL_BACKEND": backend, "MEMORY_TOOL_PREFIX": prefix}


def test_a_file_changed_by_another_process_is_found_with_its_new_content(
    tools: MemoryTools, backend: str, request: pytest.FixtureRequest
) -> None:
    if backend == "memory":
        pytest.skip("an in-process store cannot be reached from another process")
    write(tools, {"/notes/a.md": "status: old marker\n", "/notes/b.md": "unrelated\n"})
    assert hits(ok(tools, "memory_search", pattern="marker")) == ["/notes/a.md:1: status: old marker"]
    subprocess.run(
        [sys.executable, "-m", "memspace", "write", "--overwrite", "/notes/a.md", "status: new marker\n"],
        env=_environment_for(tools, backend, request),
        check=True,
        capture_output=True,
        timeout=60,
    )
    assert hits(ok(tools, "memory_search", pattern="marker")) == ["/notes/a.md:1: status: new marker"]
    assert ok(tools, "memory_search", pattern="old marker").startswith("No lines match")
    assert ok(tools, "memory_search", pattern="old", mode="ranked").startswith("No files contain")


# -- globs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("glob", "path", "expected"),
    [
        ("*.md", "a.md", True),
        ("*.md", "x/y/a.md", True),
        ("*.md", "a.txt", False),
        ("a?.md", "ab.md", True),
        ("a?.md", "a/.md", False),
        ("[ab]*", "beta", True),
        ("[!ab]*", "beta", False),
        ("x/[a-c].md", "x/b.md", True),
        ("x/*.md", "x/y/a.md", False),
        ("x/**/a.md", "x/a.md", True),
        ("x/**/a.md", "x/y/z/a.md", True),
        ("**", "x/y/z", True),
        ("x/**", "x/y/z", True),
        ("x/**", "xy/z", False),
        ("*.{md,txt}", "n/a.txt", True),
        ("{notes,docs}/*", "docs/a", True),
        ("{notes,docs}/*", "misc/a", False),
        ("a**b", "axxb", True),
        ("a**b", "a/b", False),
        ("\\*.md", "*.md", True),
        ("\\*.md", "a.md", False),
        ("%20.md", "%20.md", True),
    ],
)
def test_glob_matching(glob: str, path: str, expected: bool) -> None:
    assert Glob.parse(glob).matches(path) is expected


def test_glob_from_the_root_and_folders_only() -> None:
    rooted = Glob.parse("/notes/*.md")
    assert rooted.matches("a.md", full="notes/a.md")
    assert not rooted.matches("notes/a.md", full="x/notes/a.md")
    folders = Glob.parse("2024-*/")
    assert folders.matches("2024-05", is_dir=True) and not folders.matches("2024-05")


@pytest.mark.parametrize(
    ("glob", "reason"),
    [
        ("", "it is empty"),
        ("/", "it names no file or folder"),
        ("a[", "a '[' is not closed"),
        ("[]", "a '[' is not closed"),
        ("a{b", "a '{' is not closed"),
        ("a}", "it has a '}' without a '{'"),
        ("a\\", "it ends with a lone '\\'"),
        ("[z-a]", "bad character range z-a"),
        ("./a", "'.' is not allowed"),
        ("x" * 1025, "longer than 1,024 characters"),
    ],
)
def test_invalid_globs_name_the_problem(glob: str, reason: str) -> None:
    with pytest.raises(InvalidPatternError) as caught:
        Glob.parse(glob)
    assert reason in caught.value.reason and caught.value.kind == "glob"


# -- the content cache on its own --------------------------------------------------------


def test_cache_returns_what_was_stored_and_verifies_it(tmp_path: Path) -> None:
    cache = ContentCache(tmp_path / "cache")
    one, two = entry_id("s3|e|b", "k1", '"v1"'), entry_id("s3|e|b", "k2", '"v1"')
    cache.put_many([(one, b"first"), (two, b"second")])
    assert cache.get_many([one, two, entry_id("s3|e|b", "k3", '"v1"')]) == {one: b"first", two: b"second"}
    with sqlite3.connect(tmp_path / "cache" / DATABASE_NAME) as db:
        db.execute("UPDATE entries SET data = ? WHERE id = ?", (b"FIRST", one))
    assert cache.get_many([one, two]) == {two: b"second"}  # the tampered entry is a miss
    with sqlite3.connect(tmp_path / "cache" / DATABASE_NAME) as db:
        assert db.execute("SELECT count(*) FROM entries WHERE id = ?", (one,)).fetchone() == (0,)
    assert (tmp_path / "cache").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "cache" / DATABASE_NAME).stat().st_mode & 0o777 == 0o600


def test_entry_ids_differ_by_store_key_and_version() -> None:
    ids = {
        entry_id("s3|aws:us-east-1|bucket", "k", '"v"'),
        entry_id("s3|aws:us-east-1|other", "k", '"v"'),
        entry_id("r2|https://acct.r2.cloudflarestorage.com|bucket", "k", '"v"'),
        entry_id("s3|aws:us-east-1|bucket", "k2", '"v"'),
        entry_id("s3|aws:us-east-1|bucket", "k", '"w"'),
    }
    assert len(ids) == 5


def test_cache_stays_within_its_size_bound_evicting_the_least_recently_used(tmp_path: Path) -> None:
    cache = ContentCache(tmp_path / "cache", max_bytes=80_000)
    entries = [(entry_id("s", f"k{i}", "v"), bytes([i]) * 4000) for i in range(60)]
    for start in range(0, 60, 10):
        cache.put_many(entries[start : start + 10])
    with sqlite3.connect(tmp_path / "cache" / DATABASE_NAME) as db:
        (total,) = db.execute("SELECT sum(size) FROM entries").fetchone()
    assert 0 < total <= 80_000
    assert entries[-1][0] in cache.get_many([entries[-1][0]])  # the newest stayed
    assert cache.get_many([entries[0][0]]) == {}  # the oldest went
    cache.put_many([(entry_id("s", "huge", "v"), b"x" * 20_000)])  # over an eighth of the bound
    assert cache.get_many([entry_id("s", "huge", "v")]) == {}


def test_unusable_cache_folder_turns_the_cache_off_without_failing(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    cache = ContentCache(tmp_path / "file" / "cache")
    key = entry_id("s", "k", "v")
    cache.put_many([(key, b"data")])
    assert cache.get_many([key]) == {}
    assert not cache.enabled


def test_corrupt_cache_database_is_replaced_once(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    folder.mkdir()
    (folder / DATABASE_NAME).write_bytes(b"this is not a database" * 100)
    cache = ContentCache(folder)
    key = entry_id("s", "k", "v")
    assert cache.get_many([key]) == {}
    cache.put_many([(key, b"data")])
    assert cache.get_many([key]) == {key: b"data"}
    assert cache.enabled


def test_a_cache_locked_by_another_process_still_answers_and_skips_writes(tmp_path: Path) -> None:
    cache = ContentCache(tmp_path / "cache")
    kept, new = entry_id("s", "kept", "v"), entry_id("s", "new", "v")
    cache.put_many([(kept, b"stored before")])
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "db.execute('BEGIN IMMEDIATE')\n"
            "print('locked', flush=True)\n"
            "sys.stdin.read()\n",
            str(tmp_path / "cache" / DATABASE_NAME),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        cache.put_many([(new, b"written while locked")])  # waits out the busy timeout, then gives up
        assert cache.get_many([kept, new]) == {kept: b"stored before"}  # readers are never blocked
        assert cache.enabled
    finally:
        holder.communicate("", timeout=30)
    assert cache.get_many([kept]) == {kept: b"stored before"}


def test_cache_settings_and_default_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_directory() == tmp_path / "xdg" / "memspace"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    assert default_directory() == Path.home() / ".cache" / "memspace"
    settings = Settings.from_config(
        environ={"MEMORY_TOOL_CACHE_DIR": str(tmp_path / "c"), "MEMORY_TOOL_CACHE_MAX_BYTES": "1000"}
    )
    assert (settings.cache_dir, settings.cache_max_bytes) == (tmp_path / "c", 1000)
    assert Settings.from_config({"memory_tool_cache_max_bytes": 0}, environ={}).cache_max_bytes == 0
    assert not ContentCache(tmp_path / "c", max_bytes=0).enabled
    assert Settings.from_config(environ={"MEMORY_TOOL_SEARCH": ""}).search is True


def test_local_search_never_follows_symlinks(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.md").write_text("needle outside\n")
    ws = Workspace(LocalStore(tmp_path / "mem"), base="default/")
    ws.create("/notes/a.md", "needle inside\n")
    (tmp_path / "mem" / "default" / "notes" / "link.md").symlink_to(outside / "secret.md")
    (tmp_path / "mem" / "default" / "linked").symlink_to(outside, target_is_directory=True)
    assert [(str(m.path), m.text) for m in ws.search("needle").matches] == [("/notes/a.md", "needle inside")]
    assert [str(e.path) for e in ws.find("**")] == ["/notes", "/notes/a.md"]


def test_local_and_memory_stores_are_read_directly_not_cached(tmp_path: Path) -> None:
    cache = ContentCache(tmp_path / "cache")
    for store in (LocalStore(tmp_path / "mem"), MemoryStore()):
        ws = Workspace(store, base="default/", cache=cache)
        ws.create("/a.md", "needle\n")
        assert ws.search("needle").total == 1
    assert not (tmp_path / "cache").exists()


# -- the command line ------------------------------------------------------------------------


def _cli(tmp_path: Path, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEMORY_TOOL_", "AWS_", "R2_"))}
    env["MEMORY_TOOL_LOCAL_DIR"] = str(tmp_path / "mem")
    proc = subprocess.run(
        [sys.executable, "-m", "memspace", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == code, proc.stdout + proc.stderr
    return proc


def test_grep_command_prints_path_line_text_and_exits_1_without_matches(tmp_path: Path) -> None:
    ws = Workspace(LocalStore(tmp_path / "mem"), base="default/")
    ws.create("/notes/a.md", "one\nTwo deadline\nthree\nfour\nfive deadline\n")
    ws.create("/b.txt", "Deadline\n")
    assert _cli(tmp_path, "grep", "deadline").stdout.splitlines() == [
        "/notes/a.md:2:Two deadline",
        "/notes/a.md:5:five deadline",
    ]
    assert _cli(tmp_path, "grep", "-i", "deadline", "/", "--glob", "*.txt").stdout == "/b.txt:1:Deadline\n"
    assert _cli(tmp_path, "grep", "-E", "^t", "/notes").stdout.splitlines() == ["/notes/a.md:3:three"]
    assert _cli(tmp_path, "grep", "-C", "1", "deadline", "/notes").stdout.splitlines() == [
        "/notes/a.md-1-one",
        "/notes/a.md:2:Two deadline",
        "/notes/a.md-3-three",
        "/notes/a.md-4-four",
        "/notes/a.md:5:five deadline",
    ]
    assert _cli(tmp_path, "grep", "-m", "1", "deadline").stdout == "/notes/a.md:2:Two deadline\n"
    assert _cli(tmp_path, "grep", "absent", code=1).stdout == ""
    error = _cli(tmp_path, "grep", "-E", "(", code=1).stderr
    assert (
        error
        == "error: '(' is not a valid regular expression: missing ), unterminated subpattern at position 0; drop -E to search for it as written\n"
    )
    assert _cli(tmp_path, "grep", "x", "/nope", code=1).stderr.startswith("error: /nope does not exist")
    assert (
        _cli(tmp_path, "grep", "--ranked", "deadline five").stdout.splitlines()[0]
        == "/notes/a.md:2:Two deadline"
    )


def test_find_command_lists_paths_and_folders(tmp_path: Path) -> None:
    ws = Workspace(LocalStore(tmp_path / "mem"), base="default/")
    ws.create("/notes/2024-05/a.md", "x")
    ws.create("/notes/2024-06.md", "x")
    assert _cli(tmp_path, "find", "2024-*").stdout.splitlines() == ["/notes/2024-05/", "/notes/2024-06.md"]
    assert _cli(tmp_path, "find", "*.md", "/notes/2024-05").stdout == "/notes/2024-05/a.md\n"
    assert _cli(tmp_path, "find", "*.csv", code=1).stdout == ""
    assert _cli(tmp_path, "find", "[x", code=1).stderr == (
        "error: the glob '[x' is not valid: a '[' is not closed (use *, ** and ?, e.g. '*.md' or 'notes/**/2024-*')\n"
    )
