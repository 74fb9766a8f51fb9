"""Size limits of a workspace (DESIGN.md section 5); every one is configurable."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Bounds that keep one tool call cheap and its output readable by a model.

    >>> Limits(max_file_bytes=2**20).max_view_chars
    16000
    """

    max_file_bytes: int = 1024 * 1024
    max_view_chars: int = 16_000
    max_dir_entries: int = 500
    max_path_bytes: int = 1024
    max_segment_bytes: int = 255

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"limit {name} must be a positive integer, got {value!r}")
