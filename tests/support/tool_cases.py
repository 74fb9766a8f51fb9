"""One table of tool calls that every integration test drives through its own loop.

``TOOL_CASES`` is a scenario on a fresh workspace: each case is one call, in order, with what
its result must say. It reaches every tool, and the views in it read back what the edits
before them wrote, so a run that passes them all has shown each tool working end to end.
``FINAL_FILES`` is what the workspace holds afterwards. ``HISTORY_CASES`` go on from there
on a workspace that offers ``memory_history`` (``HISTORY_FINAL_FILES`` after them).
``ERROR_CASE`` is a call that fails on any workspace, for the "an error reaches the model as
a tool error" check.

An integration test scripts the cases as the model's tool calls (one call per model turn),
runs its framework's loop, then checks each result it recorded with :func:`check_result`::

    for case, (text, is_error) in zip(TOOL_CASES, results):
        check_result(case, text, is_error)

Strict clients send every argument, ``null`` for the ones they leave out:
:func:`strict_arguments` turns a case's arguments into that form. New tools add their cases
here (before the ``memory_clear_all`` case), so every integration exercises them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ERROR_CASE",
    "FINAL_FILES",
    "HISTORY_CASES",
    "HISTORY_FINAL_FILES",
    "TOOL_CASES",
    "ToolCase",
    "check_result",
    "strict_arguments",
]


@dataclass(frozen=True)
class ToolCase:
    """One tool call: its arguments (only those given) and what its result must say."""

    name: str
    arguments: Mapping[str, Any]
    expect: tuple[str, ...]
    absent: tuple[str, ...] = ()
    is_error: bool = False
    label: str = field(default="", compare=False)

    @property
    def id(self) -> str:
        """A readable test id."""
        return self.label or self.name


TODO = "/notes/todo.md"

TOOL_CASES: tuple[ToolCase, ...] = (
    ToolCase("memory_view", {"path": "/"}, ("The workspace root / is empty.",), label="view empty root"),
    ToolCase(
        "memory_create_update",
        {"path": TODO, "file_text": "alpha\nbeta\n"},
        (f"Created {TODO} (2 lines, 11 bytes).",),
        label="create",
    ),
    ToolCase(
        "memory_create_update",
        {"path": TODO, "file_text": "gamma", "mode": "append"},
        (f"Appended to {TODO}; it now has 3 lines.",),
        label="append",
    ),
    ToolCase(
        "memory_view",
        {"path": TODO},
        (f"{TODO} (3 lines):", "     1\talpha", "     2\tbeta", "     3\tgamma"),
        label="view file",
    ),
    ToolCase(
        "memory_view",
        {"path": TODO, "view_range": [2, 3]},
        (f"{TODO} (lines 2-3 of 3 lines):", "     2\tbeta", "     3\tgamma"),
        absent=("alpha",),
        label="view range",
    ),
    ToolCase(
        "memory_str_replace",
        {"path": TODO, "old_str": "beta", "new_str": "BETA"},
        (f"Edited {TODO}.", "     2\tBETA"),
        label="str_replace",
    ),
    ToolCase(
        "memory_insert",
        {"path": TODO, "insert_line": 0, "insert_text": "# Todo"},
        (f"Inserted 1 line at the top of {TODO}.", "     1\t# Todo"),
        label="insert",
    ),
    ToolCase(
        "memory_create_update",
        {"path": "/scratch.md", "file_text": "draft"},
        ("Created /scratch.md (1 line, 5 bytes).",),
        label="create scratch",
    ),
    ToolCase(
        "memory_create_update",
        {"path": "/scratch.md", "file_text": "draft 2", "mode": "overwrite"},
        ("Overwrote /scratch.md (1 line, 7 bytes).",),
        label="overwrite",
    ),
    ToolCase(
        "memory_rename",
        {"old_path": "/scratch.md", "new_path": "/archive/scratch.md"},
        ("Renamed /scratch.md to /archive/scratch.md.",),
        label="rename",
    ),
    ToolCase(
        "memory_view",
        {"path": "/"},
        ("2 files, 2 folders", "  /archive/scratch.md", f"  {TODO}"),
        absent=("  /scratch.md",),
        label="view root",
    ),
    ToolCase(
        "memory_search",
        {"pattern": "beta"},
        ('Found 1 matching line in 1 file for "beta" (searched 2 files):', "/notes/todo.md:3: BETA"),
        label="search",
    ),
    ToolCase(
        "memory_search",
        {"pattern": "todo beta", "mode": "ranked", "glob": "*.md"},
        ("1. /notes/todo.md", "/notes/todo.md:1: # Todo"),
        absent=("scratch",),
        label="search ranked",
    ),
    ToolCase(
        "memory_find",
        {"glob": "*.md"},
        ('Found 2 files matching the glob "*.md":', "\n/archive/scratch.md\n/notes/todo.md"),
        label="find",
    ),
    ToolCase(
        "memory_rename",
        {"old_path": "/archive", "new_path": "/old"},
        ("Renamed directory /archive to /old (1 file).",),
        label="rename folder",
    ),
    ToolCase(
        "memory_delete",
        {"path": "/old"},
        ("Deleted directory /old and the 1 file in it.",),
        label="delete folder",
    ),
    ToolCase(
        "memory_view",
        {"path": TODO},
        (f"{TODO} (4 lines):", "     1\t# Todo", "     2\talpha", "     3\tBETA", "     4\tgamma"),
        label="view edited file",
    ),
    ToolCase("memory_clear_all", {}, ("Cleared the memory workspace: deleted 1 file.",), label="clear all"),
    ToolCase(
        "memory_create_update",
        {"path": "/notes/done.md", "file_text": "every tool works\n"},
        ("Created /notes/done.md (1 line, 17 bytes).",),
        label="create after clear",
    ),
)

FINAL_FILES: dict[str, str] = {"/notes/done.md": "every tool works\n"}

# memory_history is offered only with memory_tool_history=true. Run after TOOL_CASES on such a
# workspace: /notes/todo.md was cleared, and comes back from its history.
HISTORY_CASES: tuple[ToolCase, ...] = (
    ToolCase(
        "memory_history",
        {"path": TODO},
        (f"Versions of {TODO}, newest first (5):", "deleted (clear)", "  insert ", "  create "),
        label="history list",
    ),
    ToolCase(
        "memory_history",
        {"path": TODO, "action": "view"},
        (f"of {TODO} (4 lines):", "     1\t# Todo", "     3\tBETA", "     4\tgamma"),
        label="history view",
    ),
    ToolCase(
        "memory_history",
        {"path": TODO, "action": "restore"},
        (f"Recreated {TODO} from version ", "(4 lines, 23 bytes)"),
        label="history restore",
    ),
    ToolCase(
        "memory_history",
        {"path": TODO, "action": "view", "version": "nope"},
        (f"{TODO} has no version 'nope'",),
        is_error=True,
        label="history unknown version",
    ),
    ToolCase(
        "memory_view",
        {"path": TODO},
        (f"{TODO} (4 lines):", "     1\t# Todo", "     4\tgamma"),
        label="view restored file",
    ),
)

HISTORY_FINAL_FILES: dict[str, str] = {**FINAL_FILES, TODO: "# Todo\nalpha\nBETA\ngamma"}

ERROR_CASE = ToolCase(
    "memory_view",
    {"path": "/missing.md"},
    ("/missing.md does not exist; view its folder (/) to see what is there.",),
    is_error=True,
    label="view missing file",
)


def check_result(case: ToolCase, text: str, is_error: bool | None) -> None:
    """Assert that a result is what ``case`` expects. ``is_error=None``: the surface has no
    error flag (the text alone is checked)."""
    for expected in case.expect:
        assert expected in text, f"{case.id}: {expected!r} not in {text!r}"
    for unexpected in case.absent:
        assert unexpected not in text, f"{case.id}: {unexpected!r} in {text!r}"
    if is_error is not None:
        assert is_error == case.is_error, f"{case.id}: is_error={is_error}, text {text!r}"


def strict_arguments(case: ToolCase, properties: Iterable[str]) -> dict[str, Any]:
    """The case's arguments as a strict client sends them: every property of the tool's
    schema present, ``null`` for those the case leaves out."""
    return {name: case.arguments.get(name) for name in properties}
