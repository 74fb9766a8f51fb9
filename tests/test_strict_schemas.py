"""The tool schemas under strict mode: what OpenAI strict clients, the OpenAI Agents SDK's
converter and LangChain's strict converter make of them, and a strict client driving every
tool through ``MemoryTools.call`` on each backend.

The converters are the frameworks' own (``agents.strict_schema.ensure_strict_json_schema``,
``langchain_core.utils.function_calling.convert_to_openai_tool``), and every argument object a
strict client sends is checked against the strict schema with a JSON Schema validator before
it is sent, so the schema and the argument checker are held to the same contract.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from agents.strict_schema import ensure_strict_json_schema
from jsonschema import Draft202012Validator
from langchain_core.utils.function_calling import convert_to_openai_tool

from memspace import MemoryTools
from memspace.tools.schema import TOOLS

from .conftest import DEFAULT_TOOLS, MakeTools
from .support.tool_cases import FINAL_FILES, TOOL_CASES, ToolCase, check_result, strict_arguments


def strict_parameters(tools: MemoryTools) -> dict[str, dict[str, Any]]:
    return {d["function"]["name"]: d["function"]["parameters"] for d in tools.definitions("openai")}


def test_openai_definitions_are_strict_by_default_with_optional_arguments_nullable(
    tools: MemoryTools,
) -> None:
    definitions = tools.definitions("openai")

    assert [d["function"]["name"] for d in definitions] == DEFAULT_TOOLS
    assert all(d["type"] == "function" and d["function"]["strict"] is True for d in definitions)
    view = definitions[0]["function"]["parameters"]
    assert view["required"] == ["path", "view_range", "column"]
    assert view["properties"]["column"]["anyOf"] == [{"type": "integer"}, {"type": "null"}]
    assert view["additionalProperties"] is False
    assert view["properties"]["view_range"]["anyOf"] == [
        {"type": "array", "items": {"type": "integer"}},
        {"type": "null"},
    ]
    assert view["properties"]["path"]["type"] == "string"  # a required argument is not nullable
    for definition in definitions:
        parameters = definition["function"]["parameters"]
        assert parameters["required"] == list(parameters["properties"])


def test_the_agents_sdk_strict_converter_changes_nothing_in_the_openai_schemas(tools: MemoryTools) -> None:
    for name, parameters in strict_parameters(tools).items():
        assert ensure_strict_json_schema(copy.deepcopy(parameters)) == parameters, name


def test_the_agents_sdk_strict_converter_turns_the_plain_schemas_into_the_strict_ones(
    tools: MemoryTools,
) -> None:
    # A client that converts the plain ("json", "mcp", "anthropic") schema itself, as the SDK
    # does with MCP tools, ends up with exactly the schemas memspace sends in strict mode.
    strict = strict_parameters(tools)
    for plain in tools.definitions("json"):
        assert ensure_strict_json_schema(copy.deepcopy(plain["parameters"])) == strict[plain["name"]]
    for mcp in tools.definitions("mcp"):
        assert ensure_strict_json_schema(copy.deepcopy(mcp["inputSchema"])) == strict[mcp["name"]]


@pytest.mark.parametrize("style", ["openai", "anthropic", "json"])
def test_langchains_strict_converter_gives_the_same_strict_schemas(tools: MemoryTools, style: str) -> None:
    strict = strict_parameters(tools)
    for definition in tools.definitions(style):  # type: ignore[arg-type]
        converted = convert_to_openai_tool(definition, strict=True)["function"]
        assert converted["strict"] is True
        assert converted["parameters"] == strict[converted["name"]]
        assert converted["description"]


def test_responses_definitions_are_flat_strict_functions(tools: MemoryTools) -> None:
    strict = strict_parameters(tools)
    responses = tools.definitions("responses")

    assert [d["name"] for d in responses] == DEFAULT_TOOLS
    for definition in responses:
        assert set(definition) == {"type", "name", "description", "parameters", "strict"}
        assert definition["type"] == "function" and definition["strict"] is True
        assert definition["parameters"] == strict[definition["name"]]


def test_strict_false_gives_plain_openai_schemas_without_the_flag(tools: MemoryTools) -> None:
    plain = tools.definitions("openai", strict=False)
    responses = tools.definitions("responses", strict=False)

    assert all("strict" not in d["function"] for d in plain)
    assert plain[0]["function"]["parameters"]["required"] == ["path"]
    assert responses[0]["strict"] is False
    assert responses[0]["parameters"]["required"] == ["path"]


def test_strict_is_refused_for_styles_that_have_no_strict_mode(tools: MemoryTools) -> None:
    with pytest.raises(ValueError, match="strict applies to the openai and responses styles"):
        tools.definitions("anthropic", strict=True)
    with pytest.raises(ValueError, match="use openai, responses, anthropic, mcp or json"):
        tools.definitions("gemini")  # type: ignore[arg-type]


def test_mcp_definitions_keep_titles_and_annotations(make_tools: MakeTools) -> None:
    tools = make_tools(memory_tool_history=True)
    mcp = {d["name"]: d for d in tools.definitions("mcp")}

    assert sorted(mcp) == sorted(spec.name for spec in TOOLS)
    for spec in TOOLS:
        assert mcp[spec.name]["title"] == spec.title
        assert mcp[spec.name]["annotations"] == spec.mcp_annotations()
    assert mcp["memory_view"]["annotations"]["readOnlyHint"] is True
    assert mcp["memory_clear_all"]["annotations"]["destructiveHint"] is True


# -- a strict client, on every backend -------------------------------------------


def send(tools: MemoryTools, case: ToolCase, form: str, validators: dict[str, Draft202012Validator]) -> Any:
    """Send ``case`` as an OpenAI strict client does: every argument, null for those left out,
    after checking the object against the tool's strict schema."""
    schema = validators[case.name].schema
    assert isinstance(schema, dict)
    arguments = strict_arguments(case, schema["properties"])
    validators[case.name].validate(arguments)
    return tools.call(case.name, json.dumps(arguments) if form == "json" else arguments)


@pytest.mark.parametrize("form", ["dict", "json"])
def test_a_strict_client_reaches_every_tool_with_nulls_for_optional_arguments(
    tools: MemoryTools, form: str
) -> None:
    # The schemas the client uses are the ones the Agents SDK's converter produces.
    validators = {
        name: Draft202012Validator(ensure_strict_json_schema(copy.deepcopy(parameters)))
        for name, parameters in strict_parameters(tools).items()
    }

    for case in TOOL_CASES:
        result = send(tools, case, form, validators)
        check_result(case, result.text, result.is_error)

    files = {
        str(entry.path): tools.workspace.read(str(entry.path)).text for entry in tools.workspace.walk("/")
    }
    assert files == FINAL_FILES


def test_a_strict_client_lists_a_folder_views_a_file_and_creates_one(tools: MemoryTools) -> None:
    validators = {name: Draft202012Validator(p) for name, p in strict_parameters(tools).items()}
    tools.call("memory_create_update", {"path": "/notes/a.md", "file_text": "one\ntwo\nthree\n"})

    def call(name: str, **arguments: Any) -> Any:
        return send(tools, ToolCase(name, arguments, ()), "json", validators)

    folder = call("memory_view", path="/notes")
    whole = call("memory_view", path="/notes/a.md")
    ranged = call("memory_view", path="/notes/a.md", view_range=[2, -1])
    created = call("memory_create_update", path="/notes/b.md", file_text="new")

    assert not folder.is_error and "/notes/a.md" in folder.text
    assert not whole.is_error and "     1\tone" in whole.text
    assert not ranged.is_error and "     2\ttwo" in ranged.text and "one" not in ranged.text
    assert created.text == "Created /notes/b.md (1 line, 3 bytes)."
    assert tools.workspace.read("/notes/b.md").text == "new"
