"""S3 and Cloudflare R2 (and any S3-compatible service) on obstore.

* Conditional writes are S3's own: create is ``If-None-Match: *``, compare-and-swap
  is ``If-Match: <etag>``; the version of an object is its ETag.
* Each object carries its recent write ids in user metadata
  (``x-amz-meta-memspace-write-ids``), so the workspace can recognise its own
  write after a lost response (obstore retries the PUT, which then fails 412).
* A PUT that times out or loses its connection has an unknown outcome: it is
  reported as :class:`OutcomeUnknown` and settled by the workspace on re-read.
* Listing pages through every result; deletes go 1000 keys a request, a few
  requests at a time. One client per store, reused for every call.
* No error message carries a secret, a bucket name or an endpoint: the model
  sees the cause, the operator's log gets the detail (redacted).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from memspace.errors import ConfigError, MissingDependencyError, StorageError
from memspace.storage.base import (
    Blob,
    IfMatch,
    ObjectInfo,
    ObjectNotFound,
    OutcomeUnknown,
    PreconditionFailed,
    PutMode,
)

if TYPE_CHECKING:
    from obstore.store import ClientConfig, RetryConfig
    from obstore.store import S3Store as ObstoreS3

__all__ = ["S3Store", "r2_endpoint"]

log = logging.getLogger("memspace.storage.s3")

WRITE_IDS_ATTRIBUTE = "memspace-write-ids"
DELETE_BATCH = 1000  # S3 DeleteObjects takes at most 1000 keys
DELETE_PARALLELISM = 4
_ACCOUNT_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")
_JURISDICTIONS = ("eu", "fedramp")

# Timeouts and retries: throttling (503 SlowDown), 5xx and connection errors are
# retried with exponential backoff and jitter by obstore, within retry_timeout.
CLIENT_OPTIONS = {"timeout": "30s", "connect_timeout": "5s"}
RETRY_CONFIG: dict[str, Any] = {
    "max_retries": 5,
    "retry_timeout": timedelta(seconds=30),
    "backoff": {"init_backoff": timedelta(milliseconds=50), "max_backoff": timedelta(seconds=2), "base": 2},
}


def r2_endpoint(account_id: str, jurisdiction: str | None = None) -> str:
    """The S3 endpoint of an R2 account (optionally in a jurisdiction)."""
    if not _ACCOUNT_ID.match(account_id):
        raise ConfigError("R2_ACCOUNT_ID must be letters, digits and '-' only (your Cloudflare account id).")
    if jurisdiction:
        if jurisdiction not in _JURISDICTIONS:
            raise ConfigError(
                f"R2_JURISDICTION must be one of {', '.join(_JURISDICTIONS)}, not {jurisdiction!r}."
            )
        return f"https://{account_id}.{jurisdiction}.r2.cloudflarestorage.com"
    return f"https://{account_id}.r2.cloudflarestorage.com"


def _obstore() -> Any:
    try:
        import obstore
    except ImportError:
        raise MissingDependencyError.for_extra("The S3/R2 backend", "obstore", "s3") from None
    return obstore


class S3Store:
    """A :class:`~memspace.storage.base.Store` on an S3 bucket."""

    def __init__(
        self,
        bucket: str,
        *,
        kind: str = "s3",
        endpoint: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        session_token: str | None = None,
        credential_provider: Any = None,
        client_options: Mapping[str, Any] | None = None,
        retry_config: Mapping[str, Any] | None = None,
    ) -> None:
        obstore = _obstore()
        from obstore.store import S3Store as ObstoreS3

        self.kind = kind
        self.bucket = bucket
        # Which objects these are, for the search cache: service, endpoint, bucket (never a credential).
        self.cache_identity = f"{kind}|{endpoint.rstrip('/') if endpoint else 'aws:' + region}|{bucket}"
        self._obstore = obstore
        self._secrets = [s for s in (access_key_id, secret_access_key, session_token) if s]
        options: dict[str, Any] = {**CLIENT_OPTIONS, **(client_options or {})}
        if endpoint and endpoint.startswith("http://"):
            options.setdefault("allow_http", True)
        config: dict[str, Any] = {"region": region}
        if endpoint:
            config["endpoint"] = endpoint
            config["virtual_hosted_style_request"] = False
        if access_key_id and secret_access_key:
            config["access_key_id"] = access_key_id
            config["secret_access_key"] = secret_access_key
            if session_token:
                config["session_token"] = session_token
        try:
            self._store: ObstoreS3 = ObstoreS3(
                bucket,
                client_options=cast("ClientConfig", options),
                retry_config=cast("RetryConfig", dict(retry_config or RETRY_CONFIG)),
                credential_provider=credential_provider,
                **config,
            )
        except Exception as error:
            raise self._failure(error, "configure") from None

    @classmethod
    def from_env(cls, kind: str, environ: Mapping[str, str]) -> S3Store:
        """Build from the environment variables of DESIGN.md section 1 (``kind`` is s3 or r2)."""
        if kind == "r2":
            _require(environ, "R2_BUCKET_NAME", "R2_ACCOUNT_ID", "R2_ACCESS_KEY_ID", "R2_SECRET_ACCESS_KEY")
            endpoint = environ.get("R2_ENDPOINT_URL") or r2_endpoint(
                environ["R2_ACCOUNT_ID"], environ.get("R2_JURISDICTION") or None
            )
            return cls(
                environ["R2_BUCKET_NAME"],
                kind="r2",
                endpoint=endpoint,
                region="auto",
                access_key_id=environ["R2_ACCESS_KEY_ID"],
                secret_access_key=environ["R2_SECRET_ACCESS_KEY"],
            )
        _require(environ, "AWS_S3_BUCKET")
        key, secret = environ.get("AWS_ACCESS_KEY_ID"), environ.get("AWS_SECRET_ACCESS_KEY")
        if bool(key) != bool(secret):
            missing = "AWS_SECRET_ACCESS_KEY" if key else "AWS_ACCESS_KEY_ID"
            raise ConfigError(
                f"{missing} is not set; set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither."
            )
        provider = None
        if not key and environ.get("AWS_PROFILE"):
            provider = _boto3_provider(environ["AWS_PROFILE"])
        return cls(
            environ["AWS_S3_BUCKET"],
            kind="s3",
            endpoint=environ.get("AWS_ENDPOINT_URL") or None,
            region=environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or "us-east-1",
            access_key_id=key,
            secret_access_key=secret,
            session_token=environ.get("AWS_SESSION_TOKEN") or None,
            credential_provider=provider,
        )

    # -- the Store protocol ----------------------------------------------------

    def get(self, key: str) -> Blob:
        try:
            result = self._obstore.get(self._store, key)
            data = bytes(result.bytes())
        except FileNotFoundError as error:
            raise self._missing(key, error) from None
        except Exception as error:
            raise self._failure(error, "read") from None
        return Blob(data, result.meta["e_tag"], _write_ids(result.attributes))

    def head(self, key: str) -> ObjectInfo:
        try:
            result = self._obstore.get(self._store, key, options={"head": True})
        except FileNotFoundError as error:
            raise self._missing(key, error) from None
        except Exception as error:
            raise self._failure(error, "read") from None
        meta = result.meta
        return ObjectInfo(key, meta["size"], meta["e_tag"], _write_ids(result.attributes))

    def put(self, key: str, data: bytes, *, mode: PutMode, write_ids: tuple[str, ...]) -> str:
        exceptions = self._obstore.exceptions
        put_mode: Any = {"e_tag": mode.version} if isinstance(mode, IfMatch) else mode
        try:
            result = self._obstore.put(
                self._store,
                key,
                data,
                mode=put_mode,
                attributes={WRITE_IDS_ATTRIBUTE: " ".join(write_ids)},
                use_multipart=False,
            )
        except (exceptions.AlreadyExistsError, exceptions.PreconditionError):
            raise PreconditionFailed(key) from None
        except FileNotFoundError as error:
            raise self._missing(key, error) from None
        except Exception as error:
            failure = self._failure(error, "write")
            if _is_transport_error(error):
                raise OutcomeUnknown(key) from failure
            raise failure from None
        return str(result["e_tag"])

    def delete(self, keys: Sequence[str]) -> None:
        batches = [list(keys[i : i + DELETE_BATCH]) for i in range(0, len(keys), DELETE_BATCH)]

        def delete_batch(batch: list[str]) -> None:
            try:
                self._obstore.delete(self._store, batch)
            except Exception as error:
                raise self._failure(error, "delete") from None

        if len(batches) <= 1:
            for batch in batches:
                delete_batch(batch)
            return
        with ThreadPoolExecutor(max_workers=DELETE_PARALLELISM) as pool:
            list(pool.map(delete_batch, batches))

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        # obstore's prefix matches whole path segments: "team" never matches "team2/...".
        try:
            for chunk in self._obstore.list(self._store, prefix=prefix.rstrip("/") or None, chunk_size=1000):
                for meta in chunk:
                    yield ObjectInfo(meta["path"], meta["size"], meta["e_tag"])
        except Exception as error:
            raise self._failure(error, "list") from None

    def close(self) -> None:
        pass  # the HTTP client's connections close with the store object

    # -- errors ------------------------------------------------------------------

    def _missing(self, key: str, error: BaseException) -> ObjectNotFound | StorageError:
        if "NoSuchBucket" in str(error):
            return self._failure(error, "read")
        return ObjectNotFound(key)

    def _failure(self, error: BaseException, action: str) -> StorageError:
        """A model-safe StorageError for ``error``; the detail goes to the log, redacted."""
        text = str(error)
        exceptions = self._obstore.exceptions
        service = "R2" if self.kind == "r2" else "S3"
        if "NoSuchBucket" in text or ("404 Not Found" in text and "bucket" in text.lower()):
            cause = f"the {service} bucket does not exist; check the bucket name setting"
        elif isinstance(error, exceptions.PermissionDeniedError | exceptions.UnauthenticatedError) or any(
            marker in text
            for marker in ("SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied", "403")
        ):
            cause = f"{service} refused the credentials (access denied); check the access key and secret"
        elif (status := _http_status(error)) is not None:
            cause = f"{service} kept answering HTTP {status} after retries"
        elif _is_transport_error(error):
            cause = (
                f"the {service} endpoint could not be reached or timed out; check the endpoint and network"
            )
        elif "builder error" in text or action == "configure":
            cause = f"the {service} client settings are invalid (endpoint, region or credentials)"
        else:
            cause = f"{service} failed ({type(error).__name__})"
        log.warning(
            "memspace %s %s failed on bucket %r: %s", service, action, self.bucket, self._redact(text)
        )
        return StorageError(
            f"The memory storage could not {action}: {cause}. Try again later or ask an operator."
        )

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        # AWS echoes the string to sign and the access key id in SignatureDoesNotMatch bodies.
        text = re.sub(
            r"<(StringToSign|CanonicalRequest|AWSAccessKeyId)[^>]*>.*?</\1>",
            r"<\1>***</\1>",
            text,
            flags=re.S,
        )
        return text.split("Debug source:")[0].strip()[:2000]


def _write_ids(attributes: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(str(attributes.get(WRITE_IDS_ATTRIBUTE, "")).split())


_STATUS = re.compile(r"status code: (\d{3})")
_TRANSPORT_MARKERS = (
    "error sending request",
    "operation timed out",
    "connection refused",
    "connection reset",
    "connection closed",
    "broken pipe",
)


def _http_status(error: BaseException) -> int | None:
    """The HTTP status the server finally answered, if it answered at all."""
    match = _STATUS.search(str(error))
    return int(match.group(1)) if match else None


def _is_transport_error(error: BaseException) -> bool:
    """No HTTP answer came back (refused, reset, timed out): a write's outcome is unknown."""
    if _http_status(error) is not None:
        return False
    text = str(error).lower()
    return any(marker in text for marker in _TRANSPORT_MARKERS)


def _require(environ: Mapping[str, str], *names: str) -> None:
    missing = [name for name in names if not environ.get(name)]
    if missing:
        raise ConfigError(
            f"Missing environment variable{'s' if len(missing) > 1 else ''}: {', '.join(missing)}."
        )


def _boto3_provider(profile: str) -> Any:
    try:
        import boto3
        from obstore.auth.boto3 import Boto3CredentialProvider
    except ImportError:
        raise MissingDependencyError.for_extra(
            "AWS_PROFILE", "boto3 for the AWS credential chain", "aws"
        ) from None
    return Boto3CredentialProvider(boto3.Session(profile_name=profile))
