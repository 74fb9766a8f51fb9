"""Section 2: the S3 backend against a SeaweedFS on loopback, per operation, against raw obstore.

The floor makes the fewest requests each operation needs with the same client
library: view = one GET; create = one PUT with ``If-None-Match: *``; an edit =
GET, then PUT with ``If-Match: <etag>``. memspace makes the same requests plus
its write-id metadata header, so the ratio is memspace's client-side overhead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.common import BASE_TEXT, Stats, fmt_ms
from bench.floor import text_edit
from bench.ops import measure_ops, ops_table
from memspace import MemoryTools

if TYPE_CHECKING:
    from obstore.store import S3Store
    from tests.support.seaweed import SeaweedServer

__all__ = ["BUCKET", "S3Floor", "raw_store", "run", "s3_environ"]

BUCKET = "memspace-bench"


def s3_environ(server: SeaweedServer) -> dict[str, str]:
    """The environment a user would set, pointing at the benchmark's server."""
    return {
        "AWS_S3_BUCKET": BUCKET,
        "AWS_ACCESS_KEY_ID": server.access_key,
        "AWS_SECRET_ACCESS_KEY": server.secret_key,
        "AWS_REGION": server.region,
        "AWS_ENDPOINT_URL": server.endpoint,
    }


def raw_store(server: SeaweedServer) -> S3Store:
    from obstore.store import S3Store

    return S3Store(
        BUCKET,
        endpoint=server.endpoint,
        region=server.region,
        access_key_id=server.access_key,
        secret_access_key=server.secret_key,
        virtual_hosted_style_request=False,
        client_options={"allow_http": True},
    )


class S3Floor:
    """Raw obstore calls: the minimal requests for each operation."""

    def __init__(self, store: S3Store, prefix: str, memspace_base: str) -> None:
        import obstore

        self.obs = obstore
        self.store = store
        self.prefix = prefix
        self.memspace_base = memspace_base

    def reset(self, name: str) -> None:
        self.obs.put(self.store, self.prefix + name, BASE_TEXT.encode())

    def view(self, name: str) -> str:
        return bytes(self.obs.get(self.store, self.prefix + name).bytes()).decode("utf-8")

    def create(self, name: str) -> None:
        self.obs.put(self.store, self.prefix + name, BASE_TEXT.encode(), mode="create")

    def edit(self, op: str, name: str) -> None:
        key = self.prefix + name
        result = self.obs.get(self.store, key)
        etag = result.meta["e_tag"]
        if etag is None:
            raise RuntimeError("the S3 server returned no ETag")
        text = bytes(result.bytes()).decode("utf-8")
        self.obs.put(self.store, key, text_edit(op, text).encode(), mode={"e_tag": etag})

    def content(self, name: str) -> str:
        return self.view(name)

    def reset_memspace(self, path: str) -> None:
        self.obs.put(self.store, self.memspace_base + path.lstrip("/"), BASE_TEXT.encode())


def measure(server: SeaweedServer, *, rounds: int, warmup: int) -> dict[str, dict[str, Stats]]:
    tools = MemoryTools.from_config(
        {"memory_tool_backend": "s3", "memory_tool_prefix": "ops/", "memory_tool_versioning": False},
        environ=s3_environ(server),
    )
    floor = S3Floor(raw_store(server), "floor/", tools.workspace.base)
    return measure_ops(tools, floor, rounds=rounds, warmup=warmup)


def run(server: SeaweedServer, *, rounds: int, warmup: int) -> str:
    results = measure(server, rounds=rounds, warmup=warmup)
    return "\n".join(
        [
            "## 2. S3 backend (SeaweedFS on loopback), per operation",
            "",
            f"{rounds} samples per variant after {warmup} warm-up rounds, interleaved. 4 KiB object. "
            "Floor: raw obstore with the minimal requests (view = 1 GET; create = 1 PUT "
            "`If-None-Match: *`; edits = GET + PUT `If-Match`). Ratio = `MemoryTools.call` / floor. "
            "Versioning off (section 6 measures what history adds).",
            "",
            ops_table(results, fmt_ms),
        ]
    )
