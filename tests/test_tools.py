"""The seven tools, success and error paths, on every backend (DESIGN.md section 2)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from memspace import MemoryTools, ToolResult
from memspace.storage.base import ObjectInfo

from .conftest import DEFAULT_TOOLS, READ_ONLY_TOOLS, MakeTools


def ok(tools: MemoryTools, name: str, **args: Any) -> str:
    result = tools.call(name, args)
    assert not result.is_error, result.text
    return result.text


def fails(tools: MemoryTools, name: str, **args: Any) -> str:
    result = tools.call(name, args)
    assert result.is_error, f"expected an error, got: {result.text}"
    return result.text


def content(tools: MemoryTools, path: str) -> str:
    return tools.workspace.read(path).text


def write(tools: MemoryTools, path: str, text: str) -> None:
    ok(tools, "memory_create_update", path=path, file_text=text)


# -- memory_view -----------------------------------------------------------------


def test_view_empty_root(tools: MemoryTools) -> None:
    assert ok(tools, "memory_view", path="/") == "The workspace root / is empty."


def test_view_file_numbers_every_line(tools: MemoryTools) -> None:
    write(tools, "/notes/a.md", "alpha\nbeta\n\ngamma")
    text = ok(tools, "memory_view", path="/notes/a.md")
    assert text.splitlines() == [
        "/notes/a.md (4 lines):",
        "     1\talpha",
        "     2\tbeta",
        "     3\t",
        "     4\tgamma",
    ]


def test_view_range_shows_only_those_lines(tools: MemoryTools) -> None:
    write(tools, "/a.md", "".join(f"line {i}\n" for i in range(1, 11)))
    text = ok(tools, "memory_view", path="/a.md", view_range=[3, 5])
    assert text.splitlines()[1:] == ["     3\tline 3", "     4\tline 4", "     5\tline 5"]
    assert "lines 3-5 of 10" in text
    tail = ok(tools, "memory_view", path="/a.md", view_range=[9, -1])
    assert tail.splitlines()[1:] == ["     9\tline 9", "    10\tline 10"]


@pytest.mark.parametrize("view_range", [[0, 3], [11, -1], [5, 4], [2, 99], [-3, -1]])
def test_view_range_out_of_bounds_is_an_error(tools: MemoryTools, view_range: list[int]) -> None:
    write(tools, "/a.md", "x\n" * 10)
    text = fails(tools, "memory_view", path="/a.md", view_range=view_range)
    assert "10 lines" in text or "between" in text


def test_view_long_file_is_paged_with_instructions(make_tools: MakeTools) -> None:
    tools = make_tools(memory_tool_max_view_chars=2000)
    write(tools, "/big.md", "".join(f"row {i:04d} " + "x" * 40 + "\n" for i in range(1, 501)))
    first = ok(tools, "memory_view", path="/big.md")
    assert len(first) < 2400
    assert "     1\trow 0001" in first
    last_shown = int(first.splitlines()[-2].split("\t")[0])
    assert f"view_range [{last_shown + 1}, -1]" in first
    second = ok(tools, "memory_view", path="/big.md", view_range=[last_shown + 1, -1])
    assert second.splitlines()[1].startswith(f"{last_shown + 1:6d}\trow")


def test_view_directory_two_levels_sorted_with_sizes_hidden_excluded(tools: MemoryTools) -> None:
    write(tools, "/b.md", "12345")
    write(tools, "/a/x.md", "x")
    write(tools, "/a/deep/deeper/z.md", "z")
    write(tools, "/.secret", "hidden")
    write(tools, "/a/.hidden.md", "hidden")
    lines = ok(tools, "memory_view", path="/").splitlines()
    assert lines[0].startswith("The workspace root /: 2 files, 2 folders")
    assert [line.split()[-1] for line in lines[1:]] == ["/a/", "/a/deep/", "/a/x.md", "/b.md"]
    assert lines[-1].split() == ["5B", "/b.md"]


def test_view_directory_caps_entries_and_says_how_many_were_left_out(make_tools: MakeTools) -> None:
    tools = make_tools(memory_tool_max_dir_entries=5)
    for i in range(12):
        write(tools, f"/many/f{i:02d}.md", "x")
    text = ok(tools, "memory_view", path="/many")
    assert text.count("/many/f") == 5
    assert "[7 more entries not shown" in text


def test_a_capped_listing_shows_the_entries_that_sort_first_among_files_and_folders(
    make_tools: MakeTools,
) -> None:
    # Entries sort by their names, folder by folder: "/m/a/" and what it holds come before
    # "/m/a!.md", although "!" sorts before "/" as a character.
    tools = make_tools(memory_tool_max_dir_entries=4)
    for path in ("/m/e.md", "/m/c.md", "/m/a!.md", "/m/b.md", "/m/a/x.md", "/m/d/y.md"):
        write(tools, path, "x")
    lines = ok(tools, "memory_view", path="/m/").splitlines()
    assert lines[0].startswith("Directory /m: 3 files, 1 folder")
    assert [line.split()[-1] for line in lines[1:-1]] == ["/m/a/", "/m/a/x.md", "/m/a!.md", "/m/b.md"]
    assert lines[-1] == "[4 more entries not shown; view a subfolder to see them.]"


def test_a_listing_gives_each_file_the_size_and_version_a_read_gives(tools: MemoryTools) -> None:
    write(tools, "/a.md", "alpha\n")
    write(tools, "/f/b.md", "beta beta\n")
    store, base = tools.workspace.store, tools.workspace.base
    listed = sorted(store.list(base), key=lambda info: info.key)
    assert [info.key for info in listed] == [base + "a.md", base + "f/b.md"]
    for info in listed:
        blob = store.get(info.key)
        assert (info.size, info.version) == (len(blob.data), blob.version)
        assert info == ObjectInfo(
            info.key, info.size, info.version, info.write_ids, info.moving_to, info.foreign
        )
        assert not info.foreign and info.moving_to is None


def test_view_missing_path_is_an_error(tools: MemoryTools) -> None:
    assert "does not exist" in fails(tools, "memory_view", path="/nope.md")


def test_view_binary_file_reports_binary_with_size(tools: MemoryTools) -> None:
    tools.workspace.store.put(
        tools.workspace.base + "img.png", b"\x89PNG\xff\xfe", mode="create", write_ids=()
    )
    text = fails(tools, "memory_view", path="/img.png")
    assert "binary" in text and "6 bytes" in text
    assert "img.png" in ok(tools, "memory_view", path="/")


# -- memory_create_update --------------------------------------------------------


def test_create_writes_a_new_file(tools: MemoryTools) -> None:
    assert ok(tools, "memory_create_update", path="/n/a.md", file_text="hi\n") == (
        "Created /n/a.md (1 line, 3 bytes)."
    )
    assert content(tools, "/n/a.md") == "hi\n"


def test_create_refuses_an_existing_file_and_keeps_it(tools: MemoryTools) -> None:
    write(tools, "/a.md", "original")
    assert "already exists" in fails(tools, "memory_create_update", path="/a.md", file_text="new")
    assert content(tools, "/a.md") == "original"


def test_append_adds_on_a_new_line(tools: MemoryTools) -> None:
    write(tools, "/log.md", "one")
    ok(tools, "memory_create_update", path="/log.md", file_text="two", mode="append")
    ok(tools, "memory_create_update", path="/log.md", file_text="three\n", mode="append")
    ok(tools, "memory_create_update", path="/log.md", file_text="four", mode="append")
    assert content(tools, "/log.md") == "one\ntwo\nthree\nfour"


def test_append_creates_a_missing_file(tools: MemoryTools) -> None:
    assert "Created" in ok(tools, "memory_create_update", path="/new.md", file_text="x", mode="append")
    assert content(tools, "/new.md") == "x"


def test_overwrite_replaces_and_requires_an_existing_file(tools: MemoryTools) -> None:
    assert "does not exist" in fails(
        tools, "memory_create_update", path="/a.md", file_text="x", mode="overwrite"
    )
    assert not tools.workspace.exists("/a.md")
    write(tools, "/a.md", "old\nold\n")
    ok(tools, "memory_create_update", path="/a.md", file_text="new", mode="overwrite")
    assert content(tools, "/a.md") == "new"


def test_create_with_unknown_mode_is_an_error(tools: MemoryTools) -> None:
    assert "create, append, overwrite" in fails(
        tools, "memory_create_update", path="/a.md", file_text="x", mode="upsert"
    )
    assert not tools.workspace.exists("/a.md")


def test_create_over_the_size_limit_writes_nothing(make_tools: MakeTools) -> None:
    tools = make_tools(memory_tool_max_file_bytes=100)
    text = fails(tools, "memory_create_update", path="/big.md", file_text="x" * 101)
    assert "101 bytes" in text and "limit is 100" in text
    assert not tools.workspace.exists("/big.md")
    write(tools, "/small.md", "x" * 60)
    fails(tools, "memory_create_update", path="/small.md", file_text="y" * 60, mode="append")
    assert content(tools, "/small.md") == "x" * 60


def test_default_file_limit_is_one_mebibyte(tools: MemoryTools) -> None:
    fails(tools, "memory_create_update", path="/big.md", file_text="x" * (1024 * 1024 + 1))
    ok(tools, "memory_create_update", path="/max.md", file_text="x" * (1024 * 1024))
    assert tools.workspace.stat("/max.md").size == 1024 * 1024


# -- memory_str_replace ----------------------------------------------------------


def test_str_replace_unique_occurrence_and_shows_snippet(tools: MemoryTools) -> None:
    write(tools, "/a.md", "".join(f"line {i}\n" for i in range(1, 21)))
    text = ok(tools, "memory_str_replace", path="/a.md", old_str="line 10\n", new_str="ten\nTEN\n")
    assert "    10\tten" in text and "    11\tTEN" in text
    assert "     6\tline 6" in text and "    15\tline 14" in text
    assert "     5\t" not in text
    assert content(tools, "/a.md").splitlines()[9:11] == ["ten", "TEN"]


def test_edit_snippets_of_a_large_file_number_the_lines_edited(tools: MemoryTools) -> None:
    write(tools, "/big.md", "".join(f"row {i}\n" for i in range(1, 20001)))  # about 200 KB
    text = ok(tools, "memory_str_replace", path="/big.md", old_str="row 12345\n", new_str="a\nb\n")
    assert "Lines 12341-12351 of 20001 now read:" in text
    assert "\n 12340\t" not in text and " 12341\trow 12341" in text and " 12345\ta\n 12346\tb\n" in text
    assert text.endswith(" 12351\trow 12350")
    text = ok(tools, "memory_insert", path="/big.md", insert_line=15000, insert_text="new")
    assert "Lines 14997-15005 of 20002 now read:" in text and " 15001\tnew\n 15002\trow 15000" in text
    text = ok(tools, "memory_create_update", path="/big.md", file_text="last", mode="append")
    assert text == "Appended to /big.md; it now has 20,003 lines."
    assert content(tools, "/big.md").splitlines()[15000:15002] == ["new", "row 15000"]


def test_str_replace_multiple_occurrences_names_the_lines(tools: MemoryTools) -> None:
    write(tools, "/a.md", "todo\nx\ntodo\ny\ntodo\n")
    text = fails(tools, "memory_str_replace", path="/a.md", old_str="todo", new_str="done")
    assert "3 times" in text and "lines 1, 3, 5" in text
    assert content(tools, "/a.md") == "todo\nx\ntodo\ny\ntodo\n"


def test_str_replace_all(tools: MemoryTools) -> None:
    write(tools, "/a.md", "todo\nx\ntodo\n")
    ok(tools, "memory_str_replace", path="/a.md", old_str="todo", new_str="done", replace_all=True)
    assert content(tools, "/a.md") == "done\nx\ndone\n"


def test_str_replace_not_found_changes_nothing(tools: MemoryTools) -> None:
    write(tools, "/a.md", "hello")
    assert "not found" in fails(tools, "memory_str_replace", path="/a.md", old_str="bye", new_str="x")
    assert content(tools, "/a.md") == "hello"


def test_str_replace_empty_old_str_is_an_error(tools: MemoryTools) -> None:
    write(tools, "/a.md", "hello")
    assert "old_str is empty" in fails(tools, "memory_str_replace", path="/a.md", old_str="", new_str="x")
    assert content(tools, "/a.md") == "hello"


def test_str_replace_missing_file_is_an_error(tools: MemoryTools) -> None:
    assert "does not exist" in fails(tools, "memory_str_replace", path="/a.md", old_str="a", new_str="b")


# -- memory_insert ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [(0, "new\na\nb\nc\n"), (1, "a\nnew\nb\nc\n"), (3, "a\nb\nc\nnew\n")],
)
def test_insert_after_line(tools: MemoryTools, line: int, expected: str) -> None:
    write(tools, "/a.md", "a\nb\nc\n")
    ok(tools, "memory_insert", path="/a.md", insert_line=line, insert_text="new")
    assert content(tools, "/a.md") == expected


def test_insert_multiline_text(tools: MemoryTools) -> None:
    write(tools, "/a.md", "a\nb")
    text = ok(tools, "memory_insert", path="/a.md", insert_line=1, insert_text="x\ny\n")
    assert content(tools, "/a.md") == "a\nx\ny\nb"
    assert "Inserted 2 lines after line 1" in text


@pytest.mark.parametrize("line", [-1, 4, 10**12])
def test_insert_out_of_range_names_the_valid_range(tools: MemoryTools, line: int) -> None:
    write(tools, "/a.md", "a\nb\nc\n")
    text = fails(tools, "memory_insert", path="/a.md", insert_line=line, insert_text="x")
    assert "between 0" in text and "and 3" in text
    assert content(tools, "/a.md") == "a\nb\nc\n"


def test_insert_into_empty_file(tools: MemoryTools) -> None:
    write(tools, "/e.md", "")
    ok(tools, "memory_insert", path="/e.md", insert_line=0, insert_text="first")
    assert content(tools, "/e.md") == "first\n"


# -- memory_delete ---------------------------------------------------------------


def test_delete_file(tools: MemoryTools) -> None:
    write(tools, "/a.md", "x")
    write(tools, "/b.md", "y")
    assert ok(tools, "memory_delete", path="/a.md") == "Deleted /a.md."
    assert not tools.workspace.exists("/a.md")
    assert tools.workspace.exists("/b.md")


def test_delete_directory_with_everything_under_it(tools: MemoryTools) -> None:
    for path in ["/d/a.md", "/d/sub/b.md", "/d/sub/deeper/c.md", "/d2/keep.md"]:
        write(tools, path, "x")
    assert "3 files" in ok(tools, "memory_delete", path="/d")
    assert not tools.workspace.exists("/d")
    assert not tools.workspace.exists("/d/sub/deeper/c.md")
    assert content(tools, "/d2/keep.md") == "x"


def test_delete_missing_path_is_an_error(tools: MemoryTools) -> None:
    assert "does not exist" in fails(tools, "memory_delete", path="/ghost")


def test_delete_root_is_refused(tools: MemoryTools) -> None:
    write(tools, "/a.md", "x")
    assert "clear_all" in fails(tools, "memory_delete", path="/")
    assert tools.workspace.exists("/a.md")


# -- memory_rename ---------------------------------------------------------------


def test_rename_file(tools: MemoryTools) -> None:
    write(tools, "/a.md", "content")
    assert ok(tools, "memory_rename", old_path="/a.md", new_path="/archive/b.md") == (
        "Renamed /a.md to /archive/b.md."
    )
    assert not tools.workspace.exists("/a.md")
    assert content(tools, "/archive/b.md") == "content"


def test_rename_refuses_an_existing_destination(tools: MemoryTools) -> None:
    write(tools, "/a.md", "a")
    write(tools, "/b.md", "b")
    assert "already exists" in fails(tools, "memory_rename", old_path="/a.md", new_path="/b.md")
    assert content(tools, "/a.md") == "a"
    assert content(tools, "/b.md") == "b"


def test_rename_file_onto_a_directory_never_touches_the_directory(tools: MemoryTools, backend: str) -> None:
    """A file system refuses it; an object store (no LIST per rename, as for a create) may keep a file
    and a folder of one name side by side. Either way nothing in the folder is lost or replaced."""
    write(tools, "/a.md", "a")
    write(tools, "/dir/x.md", "x")
    result = tools.call("memory_rename", {"old_path": "/a.md", "new_path": "/dir"})
    if backend == "local":
        assert result.is_error and "already exists" in result.text
        assert content(tools, "/a.md") == "a"
    elif not result.is_error:
        assert content(tools, "/dir") == "a"
    assert content(tools, "/dir/x.md") == "x"


def test_rename_directory(tools: MemoryTools) -> None:
    write(tools, "/proj/a.md", "a")
    write(tools, "/proj/sub/b.md", "b")
    write(tools, "/project-other/c.md", "c")
    assert "2 files" in ok(tools, "memory_rename", old_path="/proj", new_path="/done/proj")
    assert content(tools, "/done/proj/a.md") == "a"
    assert content(tools, "/done/proj/sub/b.md") == "b"
    assert not tools.workspace.exists("/proj")
    assert content(tools, "/project-other/c.md") == "c"


def test_rename_directory_onto_existing_directory_is_refused(tools: MemoryTools) -> None:
    write(tools, "/a/x.md", "x")
    write(tools, "/b/y.md", "y")
    fails(tools, "memory_rename", old_path="/a", new_path="/b")
    assert content(tools, "/a/x.md") == "x"
    assert not tools.workspace.exists("/b/x.md")


def test_rename_directory_resumes_after_a_crash(tools: MemoryTools, backend: str) -> None:
    """A rename that copied some files then died can be run again to finish."""
    if backend == "local":
        pytest.skip("a local folder rename is one rename(2): it is never half done")
    write(tools, "/a/1.md", "one")
    write(tools, "/a/2.md", "two")
    write(tools, "/b/1.md", "one")  # the part the crashed rename had copied
    ok(tools, "memory_rename", old_path="/a", new_path="/b")
    assert content(tools, "/b/1.md") == "one"
    assert content(tools, "/b/2.md") == "two"
    assert not tools.workspace.exists("/a")


def test_rename_into_itself_or_missing_is_an_error(tools: MemoryTools) -> None:
    write(tools, "/a/x.md", "x")
    assert "into itself" in fails(tools, "memory_rename", old_path="/a", new_path="/a/b")
    assert "does not exist" in fails(tools, "memory_rename", old_path="/zz", new_path="/yy")
    assert "root" in fails(tools, "memory_rename", old_path="/", new_path="/x")


# -- memory_clear_all and namespaces ---------------------------------------------


def test_clear_all_removes_everything(tools: MemoryTools) -> None:
    for path in ["/a.md", "/d/b.md", "/d/e/c.md"]:
        write(tools, path, "x")
    assert ok(tools, "memory_clear_all") == "Cleared the memory workspace: deleted 3 files."
    assert ok(tools, "memory_view", path="/") == "The workspace root / is empty."


def test_clear_all_is_limited_to_its_namespace(make_tools: MakeTools) -> None:
    team = make_tools(memory_tool_namespace="team")
    team2 = make_tools(memory_tool_namespace="team2")
    write(team, "/a.md", "team")
    write(team2, "/a.md", "team2")
    ok(team, "memory_clear_all")
    assert content(team2, "/a.md") == "team2"
    assert not team.workspace.exists("/a.md")


def test_namespaces_never_see_each_other(make_tools: MakeTools) -> None:
    alice = make_tools(memory_tool_namespace="alice")
    bob = make_tools(memory_tool_namespace="bob")
    write(alice, "/secret.md", "alice's")
    write(alice, "/dir/x.md", "x")
    assert ok(bob, "memory_view", path="/") == "The workspace root / is empty."
    fails(bob, "memory_view", path="/secret.md")
    fails(bob, "memory_delete", path="/dir")
    fails(bob, "memory_rename", old_path="/dir", new_path="/mine")
    fails(bob, "memory_str_replace", path="/secret.md", old_str="alice", new_str="bob")
    write(bob, "/secret.md", "bob's")
    assert content(alice, "/secret.md") == "alice's"
    assert content(bob, "/secret.md") == "bob's"


# -- read-only, arguments, unknown tools -------------------------------------------


def test_read_only_offers_view_and_search_and_refuses_writes(make_tools: MakeTools) -> None:
    writer = make_tools()
    write(writer, "/a.md", "keep")
    reader = make_tools(memory_tool_read_only=True)
    assert reader.names == READ_ONLY_TOOLS
    assert [d["function"]["name"] for d in reader.definitions("openai")] == READ_ONLY_TOOLS
    assert "read-only" in fails(reader, "memory_create_update", path="/b.md", file_text="x")
    assert "read-only" in fails(reader, "memory_clear_all")
    assert "read-only" in fails(reader, "memory_delete", path="/a.md")
    assert content(writer, "/a.md") == "keep"
    assert not writer.workspace.exists("/b.md")
    assert "keep" in ok(reader, "memory_view", path="/a.md")


def test_unknown_tool_is_an_error_listing_the_tools(tools: MemoryTools) -> None:
    assert "memory_view" in fails(tools, "memory_explode")


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("memory_view", {}, "needs the argument 'path'"),
        ("memory_view", {"path": 3}, "'path' must be a string"),
        ("memory_view", {"path": "/", "depth": 3}, "no argument 'depth'"),
        ("memory_view", {"path": "/a.md", "view_range": [1]}, "two integers"),
        ("memory_view", {"path": "/a.md", "view_range": "1-3"}, "two integers"),
        ("memory_insert", {"path": "/a.md", "insert_line": "1", "insert_text": "x"}, "must be an integer"),
        ("memory_insert", {"path": "/a.md", "insert_line": 1.5, "insert_text": "x"}, "must be an integer"),
        ("memory_insert", {"path": "/a.md", "insert_line": True, "insert_text": "x"}, "must be an integer"),
        ("memory_str_replace", {"path": "/a.md", "old_str": "a", "new_str": 1}, "'new_str' must be a string"),
        (
            "memory_str_replace",
            {"path": "/a.md", "old_str": "a", "new_str": "b", "replace_all": "yes"},
            "true or false",
        ),
        ("memory_create_update", {"path": "/a.md", "file_text": None}, "needs the argument 'file_text'"),
        ("memory_create_update", {"path": "/a.md", "file_text": ["x"]}, "must be a string"),
        ("memory_rename", {"old_path": "/a.md"}, "needs the argument 'new_path'"),
    ],
)
def test_bad_arguments_name_the_argument_and_change_nothing(
    tools: MemoryTools, name: str, args: dict[str, Any], expected: str
) -> None:
    write(tools, "/a.md", "a\n")
    assert expected in fails(tools, name, **args)
    assert content(tools, "/a.md") == "a\n"
    assert [e.path.key for e in tools.workspace.walk("/")] == ["a.md"]


def test_arguments_as_json_text_and_malformed_json(tools: MemoryTools) -> None:
    assert not tools.call("memory_create_update", '{"path": "/j.md", "file_text": "x"}').is_error
    assert content(tools, "/j.md") == "x"
    bad = tools.call("memory_create_update", '{"path": "/k.md", "file_text": ')
    assert bad.is_error and "not valid JSON" in bad.text
    assert not tools.workspace.exists("/k.md")


# -- definitions and async -------------------------------------------------------


@pytest.mark.parametrize(
    ("style", "name_of", "schema_of"),
    [
        ("openai", lambda d: d["function"]["name"], lambda d: d["function"]["parameters"]),
        ("responses", lambda d: d["name"], lambda d: d["parameters"]),
        ("anthropic", lambda d: d["name"], lambda d: d["input_schema"]),
        ("mcp", lambda d: d["name"], lambda d: d["inputSchema"]),
        ("json", lambda d: d["name"], lambda d: d["parameters"]),
    ],
)
def test_definitions_in_every_style(tools: MemoryTools, style: str, name_of: Any, schema_of: Any) -> None:
    defs = tools.definitions(style)  # type: ignore[arg-type]
    assert [name_of(d) for d in defs] == DEFAULT_TOOLS
    by_name = {name_of(d): schema_of(d) for d in defs}
    assert by_name["memory_insert"]["required"] == ["path", "insert_line", "insert_text"]
    mode = by_name["memory_create_update"]["properties"]["mode"]
    assert mode["anyOf"] == [{"type": "string", "enum": ["create", "append", "overwrite"]}, {"type": "null"}]
    assert all(schema["additionalProperties"] is False for schema in by_name.values())
    json.dumps(defs)  # serialisable as is


def test_acall_runs_off_the_event_loop(tools: MemoryTools) -> None:
    async def main() -> list[ToolResult]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(ticker())
        results = [
            await tools.acall("memory_create_update", {"path": f"/f{i}.md", "file_text": str(i)})
            for i in range(20)
        ]
        results.append(await tools.acall("memory_view", {"path": "/"}))
        task.cancel()
        assert ticks > 20  # the loop kept running while the calls were in flight
        return results

    results = asyncio.run(main())
    assert not any(r.is_error for r in results)
    assert "20 files" in results[-1].text
