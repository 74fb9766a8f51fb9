"""A server process that a test helper starts, waits for, and stops.

Shared by the SeaweedFS server and the fault-injection proxy: where its output
goes, how to wait until it answers (failing early, with its log, if it dies),
and how to stop it (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

__all__ = ["BackgroundProcess", "find_program", "free_port"]


def find_program(name: str, env_var: str) -> str | None:
    """Path of a program: ``$env_var``, next to this Python (a venv's bin), or on PATH."""
    if os.environ.get(env_var):
        return os.environ[env_var]
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(name)


def free_port(avoid: set[int] | None = None) -> int:
    """A TCP port that is free on 127.0.0.1 right now (and not in ``avoid``)."""
    avoid = avoid or set()
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in avoid:
            return port


class BackgroundProcess:
    """Base of the helpers; subclasses define ``start()`` and call the methods below."""

    label = "process"
    error: type[Exception] = RuntimeError

    def __init__(self, startup_timeout: float) -> None:
        self.startup_timeout = startup_timeout
        self.log_path: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    def start(self) -> Self:
        raise NotImplementedError

    def _scratch_dir(self, prefix: str) -> Path:
        self._tmp = tempfile.TemporaryDirectory(prefix=prefix)
        return Path(self._tmp.name)

    def _launch(self, args: Sequence[str], log_path: Path, **popen: Any) -> None:
        if self._proc is not None:
            raise self.error(f"{self.label} already started")
        self.log_path = log_path
        self._log = log_path.open("ab")
        self._proc = subprocess.Popen(
            list(args),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **popen,
        )

    def _wait_until(self, probe: Callable[[], str | None], where: str, deadline: float) -> None:
        """Poll ``probe`` (None = ready, else why not) until ``deadline``; stop and raise on failure."""
        try:
            last = "no answer yet"
            while time.monotonic() < deadline:
                assert self._proc is not None
                if self._proc.poll() is not None:
                    raise self.error(
                        f"{self.label} exited with code {self._proc.returncode}\n{self.log_tail()}"
                    )
                reason = probe()
                if reason is None:
                    return
                last = reason
                time.sleep(0.1)
            raise self.error(
                f"{self.label} did not answer on {where} within {self.startup_timeout:g}s "
                f"(last: {last})\n{self.log_tail()}"
            )
        except BaseException:
            self.stop()
            raise

    def log_tail(self, lines: int = 40) -> str:
        if self.log_path is None or not self.log_path.exists():
            return "(no log)"
        text = self.log_path.read_text(errors="replace").splitlines()
        return f"--- {self.label} log (tail) ---\n" + "\n".join(text[-lines:])

    def stop(self, timeout: float = 15.0) -> None:
        """Terminate (SIGTERM, then SIGKILL after ``timeout``), wait, and release the log."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Self:
        if self._proc is None:
            self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
