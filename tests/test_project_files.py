"""Files a user or a packager relies on: the licence, the CI entry point."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_mit_licence_ships_and_matches_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT"
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n")
    assert "Copyright (c) 2026 the memspace authors" in text
    assert 'THE SOFTWARE IS PROVIDED "AS IS"' in text


def test_ci_passes_its_arguments_to_the_test_script() -> None:
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert 'exec ./scripts/test "$@"' in lines
    assert (ROOT / "scripts" / "test").read_text().rstrip().endswith('pytest "$@"')
