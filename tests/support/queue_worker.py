"""A writer process for the local queue tests: ``python -m tests.support.queue_worker ROOT MODE [LINE]``.

``append LINE [PATH]`` appends LINE to PATH (/log.md if not given; exits 0 once it landed, 1 on an
error); ``hold`` enters the queue of /log.md, prints ``held`` once its turn came, and keeps it until
killed.
"""

from __future__ import annotations

import signal
import sys
import time

from memspace import MemoryTools
from memspace.storage.local import LocalStore


def main(root: str, mode: str, line: str = "", path: str = "/log.md") -> int:
    if mode == "hold":
        with LocalStore(root).lock("default/log.md"):
            sys.stdout.write("held\n")
            sys.stdout.flush()
            while True:
                time.sleep(60)
    tools = MemoryTools.from_config({"memory_tool_local_dir": root}, environ={})
    result = tools.call("memory_create_update", {"path": path, "file_text": line, "mode": "append"})
    return 1 if result.is_error else 0


if __name__ == "__main__":  # pragma: no cover - run as a subprocess by the queue tests
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    sys.exit(main(*sys.argv[1:]))
