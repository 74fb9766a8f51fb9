"""A fault-injecting reverse proxy (mitmdump + ``fault_addon.py``) in front of S3.

Usage::

    with SeaweedServer() as s3, FaultProxy(s3.endpoint) as proxy:
        store = S3Store(..., endpoint=proxy.endpoint)   # instead of s3.endpoint
        proxy.fail("PUT", status=503, count=2)          # next 2 PUTs get 503 SlowDown
        proxy.lose_response("PUT")                      # next PUT applied, answer lost
        proxy.counts()                                  # {"GET": 1, "PUT": 3}

The Host header is kept (``keep_host_header=true``), so SigV4 signatures made
for the proxy's address verify on the server (SeaweedFS checks the signature
against the Host the client signed).

mitmdump is looked up as $MEMSPACE_MITMDUMP, next to this Python, or on PATH.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Self

from .background import BackgroundProcess, find_program, free_port

__all__ = ["FaultProxy", "FaultProxyError", "find_mitmdump"]

ADDON = Path(__file__).with_name("fault_addon.py")
CONTROL_PATH = "/__fault__"


class FaultProxyError(RuntimeError):
    """mitmdump could not be started or the control API failed."""


def find_mitmdump() -> str | None:
    return find_program("mitmdump", "MEMSPACE_MITMDUMP")


class FaultProxy(BackgroundProcess):
    """mitmdump in reverse-proxy mode on a free loopback port, forwarding to ``upstream``."""

    label = "mitmdump"
    error = FaultProxyError

    def __init__(self, upstream: str, *, mitmdump: str | None = None, startup_timeout: float = 30.0) -> None:
        super().__init__(startup_timeout)
        self.upstream = upstream.rstrip("/")
        self._mitmdump = mitmdump
        self.port = 0

    @property
    def endpoint(self) -> str:
        if not self.port:
            raise FaultProxyError("FaultProxy is not started")
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        if self._proc is not None:
            raise FaultProxyError("FaultProxy already started")
        exe = self._mitmdump or find_mitmdump()
        if not exe:
            raise FaultProxyError("mitmdump not found (install mitmproxy or set MEMSPACE_MITMDUMP)")
        confdir = self._scratch_dir("memspace-faultproxy-")
        self.port = free_port()
        args = [
            exe,
            "--mode",
            f"reverse:{self.upstream}",
            "--listen-host",
            "127.0.0.1",
            "--listen-port",
            str(self.port),
            "--set",
            "keep_host_header=true",
            "--set",
            f"confdir={confdir}",
            "--set",
            "connection_strategy=lazy",
            "--set",
            "termlog_verbosity=warn",
            "--set",
            "flow_detail=0",
            "-s",
            str(ADDON),
        ]
        self._launch(args, confdir / "mitmdump.log")
        self._wait_until(self._control_answers, self.endpoint, time.monotonic() + self.startup_timeout)
        return self

    def _control_answers(self) -> str | None:
        try:
            self.state()
        except (OSError, FaultProxyError) as err:
            return repr(err)
        return None

    # -- control API -----------------------------------------------------------------
    def _control(self, method: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.endpoint + CONTROL_PATH,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                result: dict[str, Any] = json.loads(response.read())
        except urllib.error.HTTPError as err:
            raise FaultProxyError(f"fault proxy control {method}: HTTP {err.code}") from err
        return result

    def add_rule(self, rule: dict[str, Any]) -> None:
        self._control("POST", rule)

    def fail(self, method: str = "*", *, status: int = 503, count: int = 1, path: str | None = None) -> None:
        """Answer the next ``count`` matching requests with ``status`` (not forwarded)."""
        rule: dict[str, Any] = {"action": "status", "method": method, "status": status}
        self.add_rule(self._with(rule, count, path))

    def lose_response(self, method: str = "*", *, count: int = 1, path: str | None = None) -> None:
        """Forward the next ``count`` matching requests, then cut the client connection."""
        self.add_rule(self._with({"action": "lose_response", "method": method}, count, path))

    def drop(self, method: str = "*", *, count: int = 1, path: str | None = None) -> None:
        """Cut the client connection of the next ``count`` matching requests, unforwarded."""
        self.add_rule(self._with({"action": "drop", "method": method}, count, path))

    def delay(self, method: str = "*", *, seconds: float, count: int = 1, path: str | None = None) -> None:
        """Hold the next ``count`` matching requests for ``seconds`` before forwarding."""
        rule: dict[str, Any] = {"action": "delay", "method": method, "seconds": seconds}
        self.add_rule(self._with(rule, count, path))

    @staticmethod
    def _with(rule: dict[str, Any], count: int, path: str | None) -> dict[str, Any]:
        rule["count"] = count
        if path is not None:
            rule["path"] = path
        return rule

    def state(self) -> dict[str, Any]:
        return self._control("GET")

    def counts(self) -> dict[str, int]:
        """Requests seen per HTTP method since start or the last ``reset()``."""
        counts: dict[str, int] = self.state()["counts"]
        return counts

    def requests(self) -> list[dict[str, str]]:
        """``{"method", "path", "outcome", "status"}`` per proxied request, in order."""
        log: list[dict[str, str]] = self.state()["requests"]
        return log

    def reset(self) -> None:
        """Drop all rules and clear counts and the request log."""
        self._control("DELETE")
