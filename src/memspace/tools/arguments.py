"""Checking a tool call's arguments against its schema, with errors a model can act on."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from memspace.errors import MemspaceError
from memspace.tools.schema import Param, ToolSpec

__all__ = ["ArgumentError", "validate"]


class ArgumentError(MemspaceError):
    """A tool was called with missing, unknown or wrongly typed arguments."""


_TYPE_NAMES = {"string": "a string", "integer": "an integer", "boolean": "true or false"}


def validate(spec: ToolSpec, raw: Mapping[str, Any] | str | None) -> dict[str, Any]:
    """Return the arguments as a dict, or raise ArgumentError naming the bad one.

    A JSON string is accepted in place of a mapping, as some clients pass the
    model's raw argument text through.
    """
    args = _as_mapping(spec, raw)
    allowed = {param.name: param for param in spec.params}
    for name in args:
        if name not in allowed:
            takes = ", ".join(allowed) or "no arguments"
            raise ArgumentError(f"{spec.name} has no argument {name!r}; it takes: {takes}.")
    checked: dict[str, Any] = {}
    for param in spec.params:
        value = args.get(param.name)
        if value is None:
            if param.required:
                raise ArgumentError(f"{spec.name} needs the argument {param.name!r}: {param.description}")
            continue
        checked[param.name] = _check(spec, param, value)
    return checked


def _as_mapping(spec: ToolSpec, raw: Mapping[str, Any] | str | None) -> Mapping[str, Any]:
    if raw is None:
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else {}
        except json.JSONDecodeError as error:
            raise ArgumentError(
                f"The arguments of {spec.name} are not valid JSON ({error.msg} at position "
                f"{error.pos}); send a JSON object."
            ) from None
    if not isinstance(raw, Mapping):
        raise ArgumentError(f"The arguments of {spec.name} must be a JSON object, not {_kind(raw)}.")
    return raw


def _check(spec: ToolSpec, param: Param, value: Any) -> Any:
    where = f"{spec.name} argument {param.name!r}"
    if param.type == "line_range":
        if (
            not isinstance(value, list | tuple)
            or len(value) != 2
            or not all(isinstance(n, int) and not isinstance(n, bool) for n in value)
        ):
            raise ArgumentError(f"{where} must be a list of two integers [start, end], not {_show(value)}.")
        return [int(value[0]), int(value[1])]
    ok = {
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
    }[param.type]
    if not ok:
        raise ArgumentError(f"{where} must be {_TYPE_NAMES[param.type]}, not {_show(value)}.")
    if param.enum and value not in param.enum:
        raise ArgumentError(f"{where} must be one of {', '.join(param.enum)}, not {_show(value)}.")
    return value


def _kind(value: object) -> str:
    return {list: "a list", str: "a string", int: "a number", float: "a number", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def _show(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return f"{_kind(value)} {text[:60]}{'...' if len(text) > 60 else ''}"
