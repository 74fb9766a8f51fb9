"""Memory tools whose calls block until a test opens a gate: proof that an adapter runs tool
calls off the event loop (a call on the loop's thread would keep the loop from opening it)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from memspace import MemoryTools

__all__ = ["GatedTools"]


class GatedTools(MemoryTools):
    """Tools whose calls wait until the test opens a gate: a call running on the event loop's
    thread would keep the loop from ever opening it."""

    def __init__(self, workspace: Any) -> None:
        super().__init__(workspace)
        self.started = threading.Event()
        self.gate = threading.Event()

    def call(self, name: str, args: Mapping[str, Any] | str | None = None, **kwargs: Any) -> Any:
        self.started.set()
        if not self.gate.wait(timeout=30):
            raise AssertionError("the gate was never opened: the tool blocked the event loop")
        return super().call(name, args, **kwargs)
