"""Serving MCP over streamable HTTP: one server, many users, each in their own namespace.

Every request must carry ``Authorization: Bearer <token>`` with one of the server's tokens
(:mod:`.tokens`); any other request is answered 401 before it reaches the MCP layer, so it
touches nothing. A token's requests are served by the tools of its own namespace (all of
them over one store, so one connection pool), and an MCP session belongs to the token that
opened it: another token presenting its session id is told the session does not exist.

    tokens = TokenTable.from_file("tokens.json")
    serve_http({"memory_tool_backend": "s3"}, tokens=tokens, host="127.0.0.1", port=8000)

The endpoint is ``http://HOST:PORT/mcp``. On SIGTERM or Ctrl-C the server stops listening,
lets the calls in flight finish and answer (see :mod:`.shutdown`), then returns.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import anyio
import uvicorn
from mcp.server import ServerRequestContext
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser, BearerAuthBackend, RequireAuthMiddleware
from mcp.server.auth.provider import AccessToken
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_REQUEST
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from memspace.config import default_actor
from memspace.errors import ConfigError
from memspace.integrations.mcp.calls import InFlight
from memspace.integrations.mcp.server import ToolsFor, build_server
from memspace.integrations.mcp.shutdown import DEFAULT_GRACE, Shutdown
from memspace.integrations.mcp.tokens import TokenTable
from memspace.tools import MemoryTools

__all__ = ["DEFAULT_PORT", "ENDPOINT_PATH", "parse_address", "serve_http"]

ENDPOINT_PATH = "/mcp"
DEFAULT_PORT = 8000
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
# Once the sessions have ended, how long uvicorn may take to close its connections.
_CLOSE_TIMEOUT = 5.0


def serve_http(
    agent_config: Mapping[str, object] | None = None,
    *,
    tokens: TokenTable,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    grace: float = DEFAULT_GRACE,
    on_listening: Callable[[str], None] | None = None,
) -> None:
    """Serve the memory tools over streamable HTTP at ``http://host:port/mcp``. Blocking.

    ``agent_config`` and the environment configure the store, as for ``MemoryTools.from_config``;
    each token in ``tokens`` is served in the namespace it grants (read-only if it says so, or
    if the server is). ``on_listening(url)`` is called once the server takes requests and
    handles signals (``port=0`` picks a free port). Returns after SIGTERM/SIGINT once the
    calls in flight have ended; raises ``CallsStillRunningError`` if some were still running
    when the stop was forced.

        tokens = TokenTable.single(os.environ["MEMSPACE_MCP_TOKEN"], namespace="alice")
        serve_http({"memory_tool_backend": "local"}, tokens=tokens, port=8000, on_listening=print)
    """
    config = dict(agent_config or {})
    base = MemoryTools.from_config(config)
    calls = InFlight()
    shutdown = Shutdown(calls, grace)
    try:
        with _listen(host, port) as sock:
            server = build_server(_tools_for(_tools_by_grant(base, config, tokens)), calls=calls)
            manager = StreamableHTTPSessionManager(app=server, security_settings=_dns_rebinding_guard(host))
            app = _OpenRequests(_app(manager, tokens))
            url = f"http://{_url_host(host)}:{sock.getsockname()[1]}{ENDPOINT_PATH}"
            ready = (lambda: on_listening(url)) if on_listening is not None else None
            anyio.run(_serve, app, manager, sock, shutdown, ready)
    finally:
        if not calls.running:  # after a forced stop, calls still use the store: leave it open
            base.close()
    shutdown.check()


async def _serve(
    app: _OpenRequests,
    manager: StreamableHTTPSessionManager,
    sock: socket.socket,
    shutdown: Shutdown,
    on_ready: Callable[[], None] | None,
) -> None:
    web = _Uvicorn(
        uvicorn.Config(app, lifespan="off", log_config=None, access_log=False, server_header=False)
    )
    stopped = anyio.Event()

    async def run_uvicorn() -> None:
        try:
            await web.serve(sockets=[sock])
        finally:
            stopped.set()
            shutdown.request()  # if uvicorn stopped by itself, stop the rest too

    async with anyio.create_task_group() as tg:
        await tg.start(shutdown.watch_signals)
        async with manager.run():
            tg.start_soon(run_uvicorn)
            if on_ready is not None:
                on_ready()  # the socket listens already: connections wait for uvicorn
            await shutdown.requested.wait()
            web.should_exit = True  # stop listening; requests being answered carry on
            await shutdown.drain(app.wait_idle)
        # Leaving manager.run() ended every session, and with them the event streams that
        # kept connections open, so uvicorn can now finish closing its connections.
        if shutdown.forced.is_set():
            web.force_exit = True
        with anyio.move_on_after(_CLOSE_TIMEOUT):
            await stopped.wait()
        web.force_exit = True  # stop waiting for connections that would not close
        with anyio.move_on_after(_CLOSE_TIMEOUT):
            await stopped.wait()
        tg.cancel_scope.cancel()  # the signal watcher, and uvicorn if it is still stuck


class _Uvicorn(uvicorn.Server):
    """uvicorn, minus its own signal handling: :class:`Shutdown` handles SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _app(manager: StreamableHTTPSessionManager, tokens: TokenTable) -> Starlette:
    endpoint = RequireAuthMiddleware(StreamableHTTPASGIApp(manager), required_scopes=[])
    return Starlette(
        routes=[Route(ENDPOINT_PATH, endpoint=endpoint)],
        middleware=[Middleware(AuthenticationMiddleware, backend=BearerAuthBackend(_Verifier(tokens)))],
    )


class _Verifier:
    """The SDK's token check, answered from the token table."""

    def __init__(self, tokens: TokenTable) -> None:
        self._tokens = tokens

    async def verify_token(self, token: str) -> AccessToken | None:
        grant = self._tokens.lookup(token)
        if grant is None:
            return None
        # The label identifies the token (sessions are bound to it); the token itself is
        # not kept in the request, so nothing downstream can log it.
        return AccessToken(token="<redacted>", client_id=grant.label, scopes=[])


def _tools_by_grant(
    base: MemoryTools, config: Mapping[str, object], tokens: TokenTable
) -> dict[str, MemoryTools]:
    """The tools each token is served with, all over ``base``'s store."""
    shared: dict[tuple[str, bool, str], MemoryTools] = {}
    by_label: dict[str, MemoryTools] = {}
    for grant in tokens:
        read_only = grant.read_only or base.workspace.read_only
        # Writes are recorded as the token's (by its label, never the token) unless an actor is set.
        actor = default_actor(config, f"mcp {grant.label}")
        key = (grant.namespace, read_only, actor)
        if key not in shared:
            settings = {
                **config,
                "memory_tool_namespace": grant.namespace,
                "memory_tool_read_only": read_only,
                "memory_tool_actor": actor,
            }
            shared[key] = MemoryTools.from_config(settings, store=base.workspace.store)
        by_label[grant.label] = shared[key]
    return by_label


def _tools_for(by_label: Mapping[str, MemoryTools]) -> ToolsFor:
    def tools_for(ctx: ServerRequestContext[Any, Any]) -> MemoryTools:
        request = ctx.request
        user = request.scope.get("user") if isinstance(request, Request) else None
        tools = by_label.get(user.access_token.client_id) if isinstance(user, AuthenticatedUser) else None
        if tools is None:  # unreachable behind RequireAuthMiddleware; never serve a default
            raise MCPError(code=INVALID_REQUEST, message="Not authenticated")
        return tools

    return tools_for


class _OpenRequests:
    """ASGI middleware counting the requests being answered, for a stop to wait on.

    GET requests are left out: they are the long-lived event streams, which only end when
    the sessions do.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._open = 0
        self._changed = anyio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "GET":
            await self.app(scope, receive, send)
            return
        self._open += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self._open -= 1
            self._changed.set()
            self._changed = anyio.Event()

    async def wait_idle(self) -> None:
        while self._open:
            await self._changed.wait()


@contextlib.contextmanager
def _listen(host: str, port: int) -> Iterator[socket.socket]:
    """A listening socket, opened before serving so a taken port is a clear error."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        sock = socket.create_server((host, port), family=family)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ConfigError(f"cannot listen on {_url_host(host)}:{port}: {reason}.") from None
    with sock:
        yield sock


def _dns_rebinding_guard(host: str) -> TransportSecuritySettings | None:
    """On loopback, accept only loopback Host/Origin headers, as the SDK's own app does."""
    if host not in _LOOPBACK:
        return None
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
        allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
    )


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def parse_address(address: str) -> tuple[str, int]:
    """``HOST:PORT``, ``[V6]:PORT``, ``:PORT`` or ``PORT`` (loopback) -> ``(host, port)``.

    >>> parse_address("0.0.0.0:8000"), parse_address("8000"), parse_address("[::1]:0")
    (('0.0.0.0', 8000), ('127.0.0.1', 8000), ('::1', 0))
    """
    host, sep, port_text = address.rpartition(":")
    if not sep:
        host, port_text = "", address
    host = host.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ConfigError(
            f"{address!r} is not HOST:PORT; write an IPv6 address in brackets, e.g. [::1]:8000."
        )
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ConfigError(f"{address!r} is not HOST:PORT with a port from 0 to 65535, e.g. 127.0.0.1:8000.")
    return host or "127.0.0.1", int(port_text)
