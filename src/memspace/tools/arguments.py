"""Checking a tool call's arguments against its schema, with errors a model can act on.

The rules follow the :class:`~memspace.tools.schema.Param` definitions the schemas are
rendered from, so what a schema promises is what is accepted:

- the arguments are a mapping, the text of a JSON object (some clients pass the model's raw
  argument text through), or nothing;
- ``null`` for an optional argument means "not given" (strict clients send it for every
  argument they leave out); for a required one it is a missing argument;
- an integer is a JSON integer or a number with a zero fractional part, as JSON Schema's
  ``integer`` is: ``3.0`` is 3, ``3.5`` is refused; ``true`` is not an integer. It must lie
  within -(2**53 - 1) .. 2**53 - 1, the integers JSON carries exactly between implementations
  (RFC 8259, section 6);
- a string must be valid Unicode text: a lone surrogate (which JSON's ``\\ud800`` escape can
  produce) is refused, naming its position;
- numbers are never coerced from strings, nor strings from numbers.

Hostile input gets the same kind of one-sentence error and changes nothing: integers of
thousands of digits (Python refuses to convert those, so they are never converted), JSON
nested thousands of levels deep (too deep for Python's parser), and text that cannot be
echoed safely (quoted values are bounded, lone surrogates escaped).

>>> from memspace.tools.schema import TOOLS
>>> insert = next(spec for spec in TOOLS if spec.name == "memory_insert")
>>> validate(insert, '{"path": "/a.md", "insert_line": 3.0, "insert_text": "x"}')["insert_line"]
3
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeGuard

from memspace.errors import MemspaceError
from memspace.tools.schema import Param, ToolSpec

__all__ = ["MAX_SAFE_INTEGER", "ArgumentError", "validate"]

MAX_SAFE_INTEGER = 2**53 - 1
"""The largest integer an argument may be (and the negative of the smallest)."""

_PREVIEW_CHARS = 60  # how much of a wrong value an error quotes
_NESTING_SHOWN = 20  # deeper than this, an error says how deep instead of quoting the value


class ArgumentError(MemspaceError):
    """A tool was called with missing, unknown or wrongly typed arguments."""


_EXPECTED = {
    "string": "a string",
    "integer": "an integer",
    "boolean": "true or false",
    "line_range": "a list of two integers [start, end]",
}


def validate(spec: ToolSpec, raw: Mapping[str, Any] | str | None) -> dict[str, Any]:
    """Return the arguments as a dict, or raise ArgumentError naming the bad one.

    Arguments that are ``null`` and optional are left out of the result.
    """
    args = _as_mapping(spec, raw)
    allowed = {param.name: param for param in spec.params}
    for name in args:
        if name not in allowed:
            takes = ", ".join(allowed) or "no arguments"
            raise ArgumentError(f"{spec.name} has no argument {_quote(name)}; it takes: {takes}.")
    checked: dict[str, Any] = {}
    for param in spec.params:
        value = args.get(param.name)
        if value is None:
            if param.nullable:
                continue
            raise ArgumentError(f"{spec.name} needs the argument {param.name!r}: {param.description}")
        checked[param.name] = _check(spec, param, value)
    return checked


# -- the arguments object ----------------------------------------------------------


@dataclass(frozen=True)
class _LongInteger:
    """A JSON integer too long to convert (Python refuses beyond 4,300 digits, and anything
    beyond 16 is out of range anyway): kept as its length, so the error can say so."""

    digits: int


def _parse_int(text: str) -> int | _LongInteger:
    digits = len(text.lstrip("-"))
    return _LongInteger(digits) if digits > 16 else int(text)


def _as_mapping(spec: ToolSpec, raw: Mapping[str, Any] | str | None) -> Mapping[str, Any]:
    if type(raw) is dict:  # the usual arguments: no abstract-class check
        return raw
    if raw is None:
        return {}
    if isinstance(raw, str):
        text = raw
        try:
            raw = json.loads(text, parse_int=_parse_int) if text.strip() else {}
        except json.JSONDecodeError as error:
            raise ArgumentError(
                f"The arguments of {spec.name} are not valid JSON ({error.msg} at position "
                f"{error.pos}); send a JSON object."
            ) from None
        except RecursionError:
            raise _too_deep_in_text(spec, text) from None
    if not isinstance(raw, Mapping):
        raise ArgumentError(f"The arguments of {spec.name} must be a JSON object, not {_kind(raw)}.")
    return raw


# A JSON string token (unrolled, so long strings do not backtrack) or a structural character.
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}:]', re.DOTALL)


def _too_deep_in_text(spec: ToolSpec, text: str) -> ArgumentError:
    """The error for arguments text nested too deeply for the JSON parser, naming the
    top-level argument whose value nests deepest (found by scanning, not parsing)."""
    depth = deepest = 0
    key: str | None = None
    deepest_key: str | None = None
    last_string: str | None = None
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        if token.startswith('"'):
            last_string = token
            continue
        if token == ":" and depth == 1 and last_string is not None:
            key = _decode_key(last_string)
        elif token in "[{":
            depth += 1
            if depth > deepest:
                deepest, deepest_key = depth, key if depth > 1 else None
        elif token in "]}":
            depth -= 1
        last_string = None
    if deepest_key is None:
        return ArgumentError(
            f"The arguments of {spec.name} are nested {deepest:,} levels deep; send a JSON object "
            "of plain values."
        )
    param = next((param for param in spec.params if param.name == deepest_key), None)
    if param is None:
        takes = ", ".join(p.name for p in spec.params) or "no arguments"
        return ArgumentError(f"{spec.name} has no argument {_quote(deepest_key)}; it takes: {takes}.")
    return _nested_error(spec, param, deepest - 1)


def _decode_key(token: str) -> str:
    try:
        key = json.loads(token)
    except ValueError:
        return token[1:-1]
    return key if isinstance(key, str) else token[1:-1]


# -- one argument ------------------------------------------------------------------


def _check(spec: ToolSpec, param: Param, value: Any) -> Any:
    if type(value) is str and param.type == "string" and not param.enum and value.isascii():
        return value  # the usual argument (a path, a text), answered before wording any error
    where = f"{spec.name} argument {param.name!r}"
    if param.type == "line_range":
        if isinstance(value, list | tuple) and len(value) == 2:
            numbers = [_integer(n) for n in value]
            if all(isinstance(n, int) for n in numbers):
                return numbers
            if any(n == "out of range" for n in numbers):
                raise ArgumentError(
                    f"{where} must be two integers [start, end] between {-MAX_SAFE_INTEGER} and "
                    f"{MAX_SAFE_INTEGER}, not {_show(value)}."
                )
        raise _wrong_type(spec, param, value)
    if param.type == "integer":
        number = _integer(value)
        if number == "out of range":
            raise ArgumentError(
                f"{where} must be an integer between {-MAX_SAFE_INTEGER} and {MAX_SAFE_INTEGER}, "
                f"not {_show(value)}."
            )
        if not isinstance(number, int):
            raise _wrong_type(spec, param, value)
        return number
    if param.type == "boolean":
        if not isinstance(value, bool):
            raise _wrong_type(spec, param, value)
        return value
    if not isinstance(value, str):
        raise _wrong_type(spec, param, value)
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as error:
            raise ArgumentError(
                f"{where} contains a lone surrogate (U+{ord(value[error.start]):04X} at position "
                f"{error.start}), which is not valid Unicode text; remove it and try again."
            ) from None
    if param.enum and value not in param.enum:
        raise ArgumentError(f"{where} must be one of {', '.join(param.enum)}, not {_show(value)}.")
    return value


def _integer(value: object) -> int | Literal["not integral", "out of range"]:
    """``value`` as an int, or why it is not one."""
    if isinstance(value, _LongInteger):
        return "out of range"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        return "not integral"
    if abs(value) > MAX_SAFE_INTEGER:
        return "out of range"
    return value


def _wrong_type(spec: ToolSpec, param: Param, value: object) -> ArgumentError:
    depth = _nesting(value, _NESTING_SHOWN)
    if depth > _NESTING_SHOWN:
        return _nested_error(spec, param, depth)
    return ArgumentError(
        f"{spec.name} argument {param.name!r} must be {_EXPECTED[param.type]}, not {_show(value)}."
    )


def _nested_error(spec: ToolSpec, param: Param, depth: int) -> ArgumentError:
    deep = f"{depth:,} levels deep" if depth > _NESTING_SHOWN else "too deeply"
    return ArgumentError(
        f"{spec.name} argument {param.name!r} is nested {deep}; it must be {_EXPECTED[param.type]}."
    )


def _nesting(value: object, shown: int) -> int:
    """How deeply lists and objects nest in ``value`` (0 for a scalar), counted without
    recursion; exact past ``shown`` only along the first chain that exceeds it."""
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children: list[object] = list(item.values())
        elif isinstance(item, list | tuple):
            children = list(item)
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        if depth > shown and len(children) > 1:
            children = children[:1]  # enough to say how deep; bounded work on wide values
        stack.extend((child, depth) for child in children)
    return deepest


# -- quoting values in errors ------------------------------------------------------


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | _LongInteger):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _show(value: object) -> str:
    """``value`` for an error message: its kind and a bounded, safely escaped preview."""
    if _is_long(value):
        return f"a number with {_digits(value):,} digits"
    text = _preview(value, 0)
    if len(text) > _PREVIEW_CHARS:
        text = text[:_PREVIEW_CHARS] + "..."
    return f"{_kind(value)} {text}"


def _preview(value: object, depth: int) -> str:
    if depth > 3:
        return "..."
    if isinstance(value, str):
        # Only as much as is shown is quoted; a lone surrogate is escaped (\ud800), since
        # raw it would break whoever encodes the message as UTF-8.
        quoted = json.dumps(value[: _PREVIEW_CHARS + 1], ensure_ascii=False)
        return quoted.encode("utf-8", "backslashreplace").decode("utf-8")
    if _is_long(value):
        return f"<{_digits(value):,} digits>"
    if value is None or isinstance(value, bool | int | float):
        return json.dumps(value)
    if isinstance(value, Mapping):
        items = list(value.items())
        shown = ", ".join(f"{_preview(str(k), depth + 1)}: {_preview(v, depth + 1)}" for k, v in items[:4])
        return "{" + shown + (", ..." if len(items) > 4 else "") + "}"
    if isinstance(value, list | tuple):
        shown = ", ".join(_preview(item, depth + 1) for item in value[:8])
        return "[" + shown + (", ..." if len(value) > 8 else "") + "]"
    return type(value).__name__


def _is_long(value: object) -> TypeGuard[int | _LongInteger]:
    """Too long to quote: shown by its number of digits instead."""
    return isinstance(value, _LongInteger) or (
        isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**20
    )


def _digits(value: int | _LongInteger) -> int:
    if isinstance(value, _LongInteger):
        return value.digits
    # str() of a long int is refused (and slow): count the digits by comparison instead.
    magnitude = abs(value)
    count = max(1, int(magnitude.bit_length() * 0.30102999566398))
    while 10**count <= magnitude:
        count += 1
    while count > 1 and 10 ** (count - 1) > magnitude:
        count -= 1
    return count


def _quote(name: object) -> str:
    """A key for an error message: repr (which escapes controls and lone surrogates), bounded."""
    if isinstance(name, str) and len(name) > _PREVIEW_CHARS:
        return repr(name[:_PREVIEW_CHARS]) + "..."
    return repr(name)
