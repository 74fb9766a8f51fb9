"""Code blocks of the docs, found by a marker, so tests run exactly what a reader copies.

In Markdown, put ``<!-- snippet: NAME -->`` on the line before a fenced code block::

    <!-- snippet: anthropic-memory-tool -->
    ```python
    ...
    ```
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["REPO", "snippet"]

REPO = Path(__file__).resolve().parents[2]


def snippet(name: str, document: Path = REPO / "README.md") -> str:
    """The code of the fenced block right after ``<!-- snippet: name -->`` in ``document``."""
    pattern = re.compile(
        rf"^<!-- snippet: {re.escape(name)} -->\n```[a-z]*\n(.*?)^```$", re.MULTILINE | re.DOTALL
    )
    found = pattern.findall(document.read_text(encoding="utf-8"))
    if len(found) != 1:
        raise LookupError(f"{document.name} has {len(found)} snippets named {name!r}; expected exactly one")
    return str(found[0])
