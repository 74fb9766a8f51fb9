"""mitmproxy addon: fault injection in front of an S3 server, steered at run time.

Loaded by ``mitmdump -s fault_addon.py`` (see ``faultproxy.py``). It imports no
mitmproxy module at import time so that type checkers and linters of the
project do not need mitmproxy installed.

Control API, served by the proxy itself on the path ``/__fault__`` (never
forwarded upstream):

* ``GET /__fault__`` -> JSON ``{"counts": {"GET": n, ...}, "requests": [...],
  "rules": [...]}``; ``requests`` lists ``{"method", "path", "outcome", "status"}``
  for every proxied request, in order (outcome: ``"forwarded"``, ``"status:503"``,
  ``"lost_response"``, ``"dropped"``, ``"delayed:S"``; status: the HTTP status the
  server or the proxy gave, ``""`` if none).
* ``POST /__fault__`` with a JSON rule (below) -> appends the rule.
* ``DELETE /__fault__`` -> removes all rules and clears counts and the request log.

A rule is ``{"action": ..., "method": "PUT" | "*", "count": N, "path": "regex"}``
(``path`` is searched in the path with its query string; ``count`` defaults to 1).
Actions:

* ``"status"``: answer ``status`` (default 503) without forwarding; 503 gets an
  S3 ``SlowDown`` XML body, other codes an ``InternalError`` body.
* ``"lose_response"``: forward the request (the server applies it), then close
  the client connection instead of returning the response.
* ``"drop"``: close the client connection without forwarding the request.
* ``"delay"``: wait ``seconds`` before forwarding.

The first matching rule with a count left fires, and its count goes down by one.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import re
from typing import Any

CONTROL_PATH = "/__fault__"

_ERROR_BODIES = {
    503: ("SlowDown", "Please reduce your request rate."),
    500: ("InternalError", "We encountered an internal error. Please try again."),
}


def _error_xml(status: int) -> bytes:
    code, message = _ERROR_BODIES.get(status, _ERROR_BODIES[500])
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        "<RequestId>fault-injected</RequestId></Error>"
    ).encode()


def _make_response(status: int, body: bytes, content_type: str) -> Any:
    http = importlib.import_module("mitmproxy.http")
    return http.Response.make(status, body, {"Content-Type": content_type})


class FaultInjector:
    def __init__(self) -> None:
        self.rules: list[dict[str, Any]] = []
        self.counts: dict[str, int] = {}
        self.log: list[dict[str, str]] = []

    # -- control ---------------------------------------------------------------------
    def _control(self, flow: Any) -> None:
        method = str(flow.request.method)
        status = 200
        if method == "POST":
            try:
                rule = json.loads(flow.request.get_text() or "{}")
                self._validate(rule)
            except (ValueError, TypeError) as err:
                flow.response = _make_response(
                    400, json.dumps({"error": str(err)}).encode(), "application/json"
                )
                return
            self.rules.append(rule)
        elif method == "DELETE":
            self.rules.clear()
            self.counts.clear()
            self.log.clear()
        elif method != "GET":
            status = 405
        state = {"counts": self.counts, "requests": self.log, "rules": self.rules}
        flow.response = _make_response(status, json.dumps(state).encode(), "application/json")

    @staticmethod
    def _validate(rule: Any) -> None:
        if not isinstance(rule, dict):
            raise TypeError("rule must be a JSON object")
        if rule.get("action") not in ("status", "lose_response", "drop", "delay"):
            raise ValueError(f"unknown action {rule.get('action')!r}")
        rule.setdefault("method", "*")
        rule["method"] = str(rule["method"]).upper()
        rule["count"] = int(rule.get("count", 1))
        if "path" in rule:
            re.compile(str(rule["path"]))
        if rule["action"] == "status":
            rule["status"] = int(rule.get("status", 503))
        if rule["action"] == "delay":
            rule["seconds"] = float(rule.get("seconds", 1.0))

    def _take_rule(self, method: str, path: str) -> dict[str, Any] | None:
        for rule in self.rules:
            if rule["count"] <= 0:
                continue
            if rule["method"] not in ("*", method):
                continue
            if "path" in rule and not re.search(str(rule["path"]), path):
                continue
            rule["count"] -= 1
            return rule
        return None

    # -- mitmproxy hooks -------------------------------------------------------------
    async def request(self, flow: Any) -> None:
        path = str(flow.request.path)
        if path.split("?", 1)[0] == CONTROL_PATH:
            self._control(flow)
            return
        method = str(flow.request.method)
        self.counts[method] = self.counts.get(method, 0) + 1
        entry = {"method": method, "path": path, "outcome": "forwarded", "status": ""}
        self.log.append(entry)
        flow.metadata["memspace_entry"] = entry
        rule = self._take_rule(method, path)
        if rule is None:
            return
        action = rule["action"]
        if action == "status":
            status = int(rule["status"])
            entry["outcome"] = f"status:{status}"
            flow.response = _make_response(status, _error_xml(status), "application/xml")
        elif action == "drop":
            entry["outcome"] = "dropped"
            flow.kill()
        elif action == "delay":
            entry["outcome"] = f"delayed:{rule['seconds']}"
            await asyncio.sleep(float(rule["seconds"]))
        else:  # lose_response: mark the flow, kill it once the server has answered
            entry["outcome"] = "lost_response"
            flow.metadata["memspace_lose_response"] = True

    def response(self, flow: Any) -> None:
        entry = flow.metadata.get("memspace_entry")
        if entry is not None and flow.response is not None:
            entry["status"] = str(flow.response.status_code)
        if flow.metadata.get("memspace_lose_response"):
            flow.kill()


addons = [FaultInjector()]
