"""The argument checker: null and integral numbers as the schemas declare them, and hostile
input (integers of thousands of digits, JSON nested 100,000 levels deep, lone surrogates) as
one clear sentence naming the argument, with nothing changed.

Every hostile case is sent both ways a client can: as the raw JSON text of the arguments and
as an already-parsed dict.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from memspace import MemoryTools
from memspace.tools import ToolResult

DEEP = 100_000
HUGE_DIGITS = "9" * 5001
HUGE = 10**5001 - 1  # the same number; HUGE is what Python refuses


def nested_list(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


def snapshot(tools: MemoryTools) -> dict[str, str]:
    return {str(e.path): tools.workspace.read(str(e.path)).text for e in tools.workspace.walk("/")}


@pytest.fixture
def seeded(tools: MemoryTools) -> MemoryTools:
    tools.call("memory_create_update", {"path": "/a.md", "file_text": "one\ntwo\n"})
    return tools


def assert_one_safe_sentence(result: ToolResult, *mentions: str) -> None:
    assert result.is_error
    text = result.text
    text.encode("utf-8")  # a lone surrogate echoed raw would make this raise
    assert "internal error" not in text
    assert "\n" not in text and text.endswith(".")
    assert len(text) < 400
    for mention in mentions:
        assert mention in text, text


# -- hostile input, as JSON text and as a dict --------------------------------------

HOSTILE: list[tuple[str, str, str, dict[str, Any], tuple[str, ...]]] = [
    (
        "5001-digit insert_line",
        "memory_insert",
        '{"path": "/a.md", "insert_line": ' + HUGE_DIGITS + ', "insert_text": "x"}',
        {"path": "/a.md", "insert_line": HUGE, "insert_text": "x"},
        ("memory_insert argument 'insert_line' must be an integer between", "a number with 5,001 digits"),
    ),
    (
        "5001-digit negative insert_line",
        "memory_insert",
        '{"path": "/a.md", "insert_line": -' + HUGE_DIGITS + ', "insert_text": "x"}',
        {"path": "/a.md", "insert_line": -HUGE, "insert_text": "x"},
        ("'insert_line' must be an integer between", "a number with 5,001 digits"),
    ),
    (
        "5001-digit number in view_range",
        "memory_view",
        '{"path": "/a.md", "view_range": [1, ' + HUGE_DIGITS + "]}",
        {"path": "/a.md", "view_range": [1, HUGE]},
        ("memory_view argument 'view_range' must be two integers [start, end] between", "5,001 digits"),
    ),
    (
        "5001-digit number as a path",
        "memory_view",
        '{"path": ' + HUGE_DIGITS + "}",
        {"path": HUGE},
        ("memory_view argument 'path' must be a string, not a number with 5,001 digits.",),
    ),
    (
        "view_range nested 100,000 deep",
        "memory_view",
        '{"path": "/a.md", "view_range": ' + "[" * DEEP + "]" * DEEP + "}",
        {"path": "/a.md", "view_range": nested_list(DEEP)},
        (
            "memory_view argument 'view_range' is nested 100,000 levels deep; it must be a list of two integers",
        ),
    ),
    (
        "file_text nested 100,000 deep",
        "memory_create_update",
        '{"path": "/b.md", "file_text": ' + "[" * DEEP + "]" * DEEP + "}",
        {"path": "/b.md", "file_text": nested_list(DEEP)},
        ("memory_create_update argument 'file_text' is nested 100,000 levels deep; it must be a string.",),
    ),
    (
        "objects nested 100,000 deep under an unknown argument",
        "memory_view",
        '{"path": "/a.md", "depth": ' + '{"a": ' * DEEP + "1" + "}" * DEEP + "}",
        {"path": "/a.md", "depth": json.loads('{"a": ' * 900 + "1" + "}" * 900)},
        ("memory_view has no argument 'depth'; it takes: path, view_range, column.",),
    ),
    (
        "lone surrogate in mode",
        "memory_create_update",
        '{"path": "/b.md", "file_text": "x", "mode": "\\ud800"}',
        {"path": "/b.md", "file_text": "x", "mode": "\ud800"},
        ("memory_create_update argument 'mode' contains a lone surrogate (U+D800 at position 0)",),
    ),
    (
        "lone surrogate in old_str",
        "memory_str_replace",
        '{"path": "/a.md", "old_str": "one\\udc00", "new_str": "1"}',
        {"path": "/a.md", "old_str": "one\udc00", "new_str": "1"},
        ("memory_str_replace argument 'old_str' contains a lone surrogate (U+DC00 at position 3)",),
    ),
    (
        "lone surrogate in a wrongly typed value",
        "memory_insert",
        '{"path": "/a.md", "insert_line": ["\\ud83d"], "insert_text": "x"}',
        {"path": "/a.md", "insert_line": ["\ud83d"], "insert_text": "x"},
        ("memory_insert argument 'insert_line' must be an integer, not a list", "\\ud83d"),
    ),
    (
        "lone surrogate in an unknown argument's name",
        "memory_view",
        '{"path": "/a.md", "\\udfff": 1}',
        {"path": "/a.md", "\udfff": 1},
        ("memory_view has no argument '\\udfff'",),
    ),
]


@pytest.mark.parametrize("form", ["json", "dict"])
@pytest.mark.parametrize(
    ("name", "as_json", "as_dict", "mentions"),
    [case[1:] for case in HOSTILE],
    ids=[case[0] for case in HOSTILE],
)
def test_hostile_arguments_are_one_clear_sentence_and_change_nothing(
    seeded: MemoryTools,
    form: str,
    name: str,
    as_json: str,
    as_dict: dict[str, Any],
    mentions: tuple[str, ...],
) -> None:
    before = snapshot(seeded)

    result = seeded.call(name, as_json if form == "json" else as_dict)

    assert_one_safe_sentence(result, *mentions)
    assert snapshot(seeded) == before


@pytest.mark.parametrize("form", ["json", "dict"])
def test_arguments_that_are_deeply_nested_instead_of_an_object_are_refused(
    seeded: MemoryTools, form: str
) -> None:
    raw: Any = "[" * DEEP + "]" * DEEP if form == "json" else nested_list(DEEP)

    result = seeded.call("memory_view", raw)

    assert_one_safe_sentence(result, "The arguments of memory_view")
    assert snapshot(seeded) == {"/a.md": "one\ntwo\n"}


def test_the_largest_safe_integer_is_accepted_and_one_more_is_refused(seeded: MemoryTools) -> None:
    largest = 2**53 - 1
    accepted = seeded.call("memory_insert", {"path": "/a.md", "insert_line": largest, "insert_text": "x"})
    refused = seeded.call("memory_insert", {"path": "/a.md", "insert_line": largest + 1, "insert_text": "x"})

    # Accepted by the checker, then out of the file's range: the workspace names the range.
    assert accepted.is_error and f"insert_line {largest} is out of range" in accepted.text
    assert_one_safe_sentence(refused, "must be an integer between -9007199254740991 and 9007199254740991")
    assert snapshot(seeded) == {"/a.md": "one\ntwo\n"}


# -- null and integral numbers, as the schemas declare them -------------------------


@pytest.mark.parametrize("form", ["json", "dict"])
def test_integral_floats_are_integers(seeded: MemoryTools, form: str) -> None:
    def call(name: str, args: dict[str, Any]) -> ToolResult:
        return seeded.call(name, json.dumps(args) if form == "json" else args)

    inserted = call("memory_insert", {"path": "/a.md", "insert_line": 1.0, "insert_text": "one and a half"})
    viewed = call("memory_view", {"path": "/a.md", "view_range": [2.0, -1.0]})

    assert inserted.text.startswith("Inserted 1 line after line 1 of /a.md.")
    assert viewed.text.startswith("/a.md (lines 2-3 of 3 lines):") and "one and a half" in viewed.text


@pytest.mark.parametrize("form", ["json", "dict"])
@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        (
            "memory_insert",
            {"path": "/a.md", "insert_line": 3.5, "insert_text": "x"},
            "memory_insert argument 'insert_line' must be an integer, not a number 3.5.",
        ),
        (
            "memory_view",
            {"path": "/a.md", "view_range": [1, 2.5]},
            "memory_view argument 'view_range' must be a list of two integers [start, end], not a list [1, 2.5].",
        ),
        (
            "memory_insert",
            {"path": "/a.md", "insert_line": 1e300, "insert_text": "x"},
            "memory_insert argument 'insert_line' must be an integer between",
        ),
    ],
)
def test_fractional_and_out_of_range_numbers_are_refused(
    seeded: MemoryTools, form: str, name: str, args: dict[str, Any], message: str
) -> None:
    result = seeded.call(name, json.dumps(args) if form == "json" else args)

    assert_one_safe_sentence(result, message)
    assert snapshot(seeded) == {"/a.md": "one\ntwo\n"}


def test_null_optional_arguments_mean_not_given(seeded: MemoryTools) -> None:
    folder = seeded.call("memory_view", {"path": "/", "view_range": None})
    created = seeded.call("memory_create_update", '{"path": "/b.md", "file_text": "b", "mode": null}')
    again = seeded.call("memory_create_update", {"path": "/b.md", "file_text": "c", "mode": None})
    replaced = seeded.call(
        "memory_str_replace", {"path": "/a.md", "old_str": "one", "new_str": "1", "replace_all": None}
    )

    assert not folder.is_error and "/a.md" in folder.text
    assert created.text == "Created /b.md (1 line, 1 byte)."
    assert again.is_error and "already exists" in again.text  # null mode is the default, create
    assert not replaced.is_error
    assert snapshot(seeded) == {"/a.md": "1\ntwo\n", "/b.md": "b"}


def test_null_required_arguments_are_missing(seeded: MemoryTools) -> None:
    result = seeded.call("memory_create_update", '{"path": "/b.md", "file_text": null, "mode": null}')

    assert_one_safe_sentence(result, "memory_create_update needs the argument 'file_text'")
    assert not seeded.workspace.exists("/b.md")


def test_the_schema_and_the_checker_agree_on_null_and_integral_numbers(tools: MemoryTools) -> None:
    """For every argument of every tool: null is valid in the schema exactly when the checker
    takes it as "not given", and 3.0 / 3.5 are valid integers exactly when the checker takes them."""
    for definition in tools.definitions("json"):
        schema = definition["parameters"]
        validator = Draft202012Validator(schema)
        for name, prop in schema["properties"].items():
            required = name in schema["required"]
            null_valid = Draft202012Validator(prop).is_valid(None)
            assert null_valid is not required, (definition["name"], name)
        if "insert_line" in schema["properties"]:
            base = {"path": "/a.md", "insert_text": "x"}
            assert validator.is_valid(base | {"insert_line": 3.0})
            assert not validator.is_valid(base | {"insert_line": 3.5})
            assert (
                "must be an integer" not in tools.call(definition["name"], base | {"insert_line": 3.0}).text
            )
            assert "must be an integer" in tools.call(definition["name"], base | {"insert_line": 3.5}).text
