"""What ``import memspace`` loads: every public name still resolves, and nothing heavy comes along.

Checked in fresh interpreters through ``sys.modules``, never by timing (timings live in bench/).
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

import memspace

# Modules that only some features need; none of them may load just because memspace was imported.
HEAVY = ("asyncio", "obstore", "pydantic", "pydantic_ai", "typer", "rich", "click", "difflib", "sqlite3")


def loaded_after(code: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``code``."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


@pytest.mark.parametrize("name", memspace.__all__)
def test_every_public_name_resolves(name: str) -> None:
    value = getattr(memspace, name)
    home = importlib.import_module(value.__module__)
    assert getattr(home, name) is value
    assert name in dir(memspace)


def test_star_import_and_unknown_names() -> None:
    namespace: dict[str, object] = {}
    exec("from memspace import *", namespace)
    assert set(memspace.__all__) <= set(namespace)
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        memspace.Nope  # noqa: B018
    with pytest.raises(ImportError):
        exec("from memspace import Nope", {})


def test_import_memspace_loads_nothing_heavy() -> None:
    loaded = loaded_after("import memspace")
    assert "memspace" in loaded
    assert not [m for m in HEAVY if m in loaded]
    # The public names load on first use; the package itself imports none of its modules.
    assert not [m for m in loaded if m.startswith("memspace.")]


def test_the_core_tools_load_nothing_heavy() -> None:
    loaded = loaded_after(
        "import memspace\n"
        "tools = memspace.MemoryTools.from_config({'memory_tool_backend': 'memory'}, environ={})\n"
        "assert tools.call('memory_view', {'path': '/'}).text == 'The workspace root / is empty.'"
    )
    assert "memspace.tools.memory_tools" in loaded
    assert not [m for m in HEAVY if m in loaded]


def test_version_needs_no_command_parser() -> None:
    loaded = loaded_after(
        "import contextlib, sys\n"
        "from memspace.cli import main\n"
        "with contextlib.suppress(SystemExit):\n"
        "    main(['--version'])"
    )
    assert not [m for m in HEAVY if m in loaded]
    assert "memspace.cli._app" not in loaded
