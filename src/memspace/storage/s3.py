"""S3 and Cloudflare R2 (and any S3-compatible service) on obstore.

* Conditional writes are S3's own: create is ``If-None-Match: *``, compare-and-swap
  is ``If-Match: <etag>``; the version of an object is its ETag. Deletes and
  renames are fenced with conditional PUTs (:mod:`memspace.storage.objects`).
* Each object carries its recent write ids in user metadata
  (``x-amz-meta-memspace-write-ids``), so the workspace can recognise its own
  write after a lost response (obstore retries the PUT, which then fails 412).
* A PUT that gets no HTTP answer has an unknown outcome: it is reported as
  :class:`OutcomeUnknown` and settled by the workspace on re-read.
* Listing pages through every result, leaves out folder-marker objects
  (``dir/``; obstore lists them without the slash, so a zero-byte object with
  nothing below it costs one HEAD to tell a marker from an empty file), and survives keys obstore cannot parse (a control character): those
  are listed through :mod:`memspace.storage.s3_signed` and reported as foreign.
* Failures are told apart by their HTTP status and S3 error code, never by
  words in a message, and the advice fits the cause: a missing bucket, wrong
  credentials, no credentials at all, an unreachable endpoint, a server failing.
* No error message carries a secret, a bucket name or an endpoint: the model
  sees the cause, the operator's log (``--verbose`` on the command line) gets
  the detail, redacted.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from memspace.errors import ConfigError, MissingDependencyError, StorageError
from memspace.paths import RESERVED_PREFIX
from memspace.storage.base import IfMatch, ObjectNotFound, OutcomeUnknown, PreconditionFailed, PutMode
from memspace.storage.objects import ObjectStore, RawInfo, RawObject
from memspace.storage.s3_signed import Credentials, SignedRequestError, SignedRequests

if TYPE_CHECKING:
    from obstore.store import ClientConfig, RetryConfig
    from obstore.store import S3Store as ObstoreS3

__all__ = ["S3Store", "r2_endpoint"]

log = logging.getLogger("memspace.storage.s3")

DELETE_BATCH = 1000  # S3 DeleteObjects takes at most 1000 keys
DELETE_PARALLELISM = 4
_ACCOUNT_ID = re.compile(r"[A-Za-z0-9-]{1,64}\Z")
_JURISDICTIONS = ("eu", "fedramp")

# Timeouts and retries: throttling (503 SlowDown), 5xx and connection errors are
# retried with exponential backoff and jitter by obstore, within retry_timeout.
CLIENT_OPTIONS = {"timeout": "30s", "connect_timeout": "5s"}
RETRY_CONFIG: dict[str, Any] = {
    "max_retries": 5,
    "retry_timeout": timedelta(seconds=30),
    "backoff": {"init_backoff": timedelta(milliseconds=50), "max_backoff": timedelta(seconds=2), "base": 2},
}
# A server-side copy that refuses to overwrite: AWS S3 (since 2025) and compatible servers take
# the standard header on CopyObject, R2 its own.
_COPY_IF_ABSENT = {"s3": "header:If-None-Match:*", "r2": "header:cf-copy-destination-if-none-match:*"}

_CREDENTIAL_VARIABLES = {
    "s3": "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)",
    "r2": "R2_ACCESS_KEY_ID and R2_SECRET_ACCESS_KEY",
}
_BUCKET_VARIABLES = {"s3": "AWS_S3_BUCKET", "r2": "R2_BUCKET_NAME"}


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


class S3Store(ObjectStore):
    """A :class:`~memspace.storage.base.Store` on an S3 bucket (or an R2 one, ``kind="r2"``)."""

    max_key_bytes: int | None = 1024
    resends_writes: bool = True  # obstore retries a PUT whose answer was lost

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
        self._static = (
            Credentials(access_key_id, secret_access_key, session_token)
            if access_key_id and secret_access_key
            else None
        )
        self._provider = credential_provider
        options: dict[str, Any] = {**CLIENT_OPTIONS, **(client_options or {})}
        if endpoint and endpoint.startswith("http://"):
            options.setdefault("allow_http", True)
        config: dict[str, Any] = {"region": region, "copy_if_not_exists": _COPY_IF_ABSENT.get(kind, "")}
        if endpoint:
            config["endpoint"] = endpoint
            config["virtual_hosted_style_request"] = False
        if self._static:
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
        self._signed = SignedRequests(
            bucket=bucket, region=region, endpoint=endpoint, credentials=self._credentials
        )

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
        elif not key and not _declared_credential_source(environ):
            # Otherwise the S3 client would go looking for an EC2 instance role at the metadata
            # endpoint: a network call (and a wait) off EC2, ending in a vague failure.
            raise ConfigError(
                "No S3 credentials were found; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                "or AWS_PROFILE (on EC2 with an instance role: AWS_EC2_METADATA_DISABLED=false)."
            )
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

    # -- the raw object store ---------------------------------------------------

    def _raw_get(self, key: str, max_bytes: int | None = None) -> RawObject:
        try:
            options = {"range": (0, max_bytes)} if max_bytes is not None else None
            try:
                result = self._obstore.get(self._store, key, options=options)
            except Exception as error:
                if options is None or _http_status(error) != 416:
                    raise
                result = self._obstore.get(self._store, key)  # an empty object has no byte range
            data = bytes(result.bytes())
        except FileNotFoundError as error:
            raise self._missing(key, error, "read") from None
        except Exception as error:
            raise self._failure(error, "read") from None
        meta = result.meta
        return RawObject(
            data, meta["e_tag"], max(meta["size"], len(data)), _metadata(result.attributes), _age(meta)
        )

    def _raw_head(self, key: str) -> RawObject:
        try:
            result = self._obstore.get(self._store, key, options={"head": True})
        except FileNotFoundError as error:
            raise self._missing(key, error, "read") from None
        except Exception as error:
            raise self._failure(error, "read") from None
        meta = result.meta
        return RawObject(b"", meta["e_tag"], meta["size"], _metadata(result.attributes), _age(meta))

    def _raw_put(self, key: str, data: bytes, *, mode: PutMode, meta: Mapping[str, str]) -> str:
        exceptions = self._obstore.exceptions
        put_mode: Any = {"e_tag": mode.version} if isinstance(mode, IfMatch) else mode
        try:
            result = self._obstore.put(
                self._store, key, data, mode=put_mode, attributes=dict(meta), use_multipart=False
            )
        except (exceptions.AlreadyExistsError, exceptions.PreconditionError):
            raise PreconditionFailed(key) from None
        except FileNotFoundError as error:
            raise self._missing(key, error, "write") from None
        except Exception as error:
            failure = self._failure(error, "write")
            if _is_transport_error(error):
                raise OutcomeUnknown(key) from failure
            raise failure from None
        return str(result["e_tag"])

    def _raw_delete(self, keys: Sequence[str]) -> None:
        usable = [key for key in keys if _parsable(key)]
        for key in keys:
            if not _parsable(key):
                self._signed_call(lambda key=key: self._signed.delete(key), "delete")
        batches = [usable[i : i + DELETE_BATCH] for i in range(0, len(usable), DELETE_BATCH)]

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

    def _raw_copy(self, source: str, destination: str) -> None:
        exceptions = self._obstore.exceptions
        try:
            self._obstore.copy(self._store, source, destination, overwrite=False)
        except (exceptions.AlreadyExistsError, exceptions.PreconditionError):
            raise PreconditionFailed(destination) from None
        except FileNotFoundError as error:
            raise self._missing(source, error, "copy") from None
        except Exception as error:
            raise self._failure(error, "copy") from None

    def _raw_list(self, prefix: str) -> Iterator[RawInfo]:
        """Every object below ``prefix``; folder markers (``dir/`` objects) are left out."""
        # obstore's prefix matches whole path segments: "team" never matches "team2/...".
        markers: dict[str, RawInfo] = {}
        folders: set[str] = set()
        try:
            for info in self._list_objects(prefix):
                if info.key.endswith("/"):
                    continue  # a folder marker, as listed without obstore
                *parents, _ = info.key.split("/")
                for depth in range(1, len(parents) + 1):
                    folders.add("/".join(parents[:depth]))
                if info.size == 0:
                    markers[info.key] = info  # a folder marker, if anything is below it
                    continue
                yield info
        except StorageError:
            raise
        except Exception as error:
            raise self._failure(error, "list") from None
        for key, info in markers.items():
            if key not in folders and not self._is_folder_marker(key):
                yield info

    def _is_folder_marker(self, key: str) -> bool:
        """Whether a zero-byte object with nothing below it is a ``dir/`` marker (a console's empty
        folder) rather than an empty file: obstore lists both without the slash, but only the file
        is found under the name it lists."""
        if any(part.startswith(RESERVED_PREFIX) for part in key.split("/")) or not _parsable(key):
            return False  # memspace's own empty records
        try:
            self._obstore.head(self._store, key)
        except FileNotFoundError:
            return True
        except Exception as error:
            raise self._failure(error, "list") from None
        return False

    def _list_objects(self, prefix: str) -> Iterator[RawInfo]:
        exceptions = self._obstore.exceptions
        seen: set[str] = set()
        try:
            for chunk in self._obstore.list(self._store, prefix=prefix.rstrip("/") or None, chunk_size=1000):
                for meta in chunk:
                    seen.add(meta["path"])
                    yield RawInfo(meta["path"], meta["size"], meta["e_tag"] or "", _age(meta))
        except exceptions.InvalidPathError:
            # A key obstore cannot parse fails its whole page: list the prefix ourselves.
            if self._credentials() is None:
                raise StorageError(
                    f"The memory storage could not list: an object below this workspace has a control "
                    f"character in its name, which the {'R2' if self.kind == 'r2' else 'S3'} client cannot "
                    "read without explicit credentials; remove or rename it with another S3 tool."
                ) from None
            log.info("memspace: the bucket holds keys the S3 client cannot parse; listing them directly")
            listed: list[Any] = self._signed_call(lambda: list(self._signed.list(prefix)), "list")
            for item in listed:
                if item.key not in seen:
                    age = (dt.datetime.now(dt.UTC) - item.last_modified).total_seconds()
                    yield RawInfo(item.key, item.size, item.etag, age)

    # -- errors ------------------------------------------------------------------

    def _credentials(self) -> Credentials | None:
        if self._static is not None:
            return self._static
        if self._provider is not None:
            try:
                found = self._provider()
            except Exception:
                return None
            if isinstance(found, Mapping) and found.get("access_key_id"):
                return Credentials(
                    str(found["access_key_id"]), str(found["secret_access_key"]), found.get("token")
                )
        return None

    def _signed_call(self, call: Any, action: str) -> Any:
        try:
            return call()
        except SignedRequestError as error:
            raise self._failure(error, action) from None
        except Exception as error:  # an unparsable answer
            raise self._failure(error, action) from None

    def _missing(self, key: str, error: BaseException, action: str) -> ObjectNotFound | StorageError:
        if _s3_code(error) == "NoSuchBucket":
            return self._failure(error, action)
        return ObjectNotFound(key)

    def _failure(self, error: BaseException, action: str) -> StorageError:
        """A safe StorageError for ``error``, with advice that fits its cause; the detail is logged."""
        service = "R2" if self.kind == "r2" else "S3"
        exceptions = self._obstore.exceptions
        status = _http_status(error)
        code = _s3_code(error)
        has_credentials = self._static is not None or self._provider is not None
        if code == "NoSuchBucket":
            cause = (
                f"the {service} bucket does not exist; create it, or set {_BUCKET_VARIABLES.get(self.kind, 'the bucket')} "
                "to an existing one"
            )
        elif code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken"):
            cause = (
                f"{service} refused the credentials ({code}); fix "
                f"{_CREDENTIAL_VARIABLES.get(self.kind, 'the access key and secret')}"
            )
        elif code == "AccessDenied" or (code is None and status in (401, 403) and has_credentials):
            cause = f"{service} denied access to the bucket; give these credentials access to it"
        elif not has_credentials and (
            status in (401, 403)
            or _is_transport_error(error)
            or isinstance(error, exceptions.PermissionDeniedError | exceptions.UnauthenticatedError)
        ):
            cause = f"no {service} credentials were found; set {_CREDENTIAL_VARIABLES.get(self.kind, 'them')}"
        elif (status is not None and status >= 500) or status == 429:
            cause = f"{service} kept answering HTTP {status} after retries; try again later"
        elif status is not None:
            cause = f"{service} answered HTTP {status}{f' ({code})' if code else ''}"
        elif _is_transport_error(error):
            cause = (
                f"the {service} endpoint could not be reached or timed out; check the endpoint setting "
                "and the network, then try again"
            )
        elif action == "configure":
            cause = f"the {service} client settings are invalid (endpoint, region or credentials)"
        else:
            cause = f"{service} failed ({type(error).__name__})"
        log.warning(
            "memspace %s %s failed on bucket %r: %s", service, action, self.bucket, self._redact(str(error))
        )
        return StorageError(f"The memory storage could not {action}: {cause}.")

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


def _metadata(attributes: Mapping[str, Any]) -> dict[str, str]:
    return {str(name): str(value) for name, value in attributes.items() if str(name).startswith("memspace-")}


def _age(meta: Mapping[str, Any]) -> float:
    modified = meta.get("last_modified")
    if not isinstance(modified, dt.datetime):
        return 0.0
    return max(0.0, (dt.datetime.now(dt.UTC) - modified).total_seconds())


# obstore raises one exception type for many causes and exposes no fields, but its message ends
# with a "Debug source:" dump of the underlying error, whose structure carries the facts:
# ``inner: Status { status: 403, body: Some("...") }`` when the server answered, and
# ``HttpError { kind: Connect, ... }`` when no answer came. These fields, and the <Code> of an S3
# error body, are the only parts of a message read here: never words, and never the URL (whose
# port may well contain "403").
_STATUS = re.compile(r"\bStatus \{\s*status: (\d{3}),")
_HTTP_KIND = re.compile(r"\bHttpError \{\s*kind: (\w+),")
_CODE = re.compile(r"<Code>([A-Za-z]+)</Code>")
# object_store's HttpErrorKind values for a request that got no HTTP answer.
_TRANSPORT_KINDS = frozenset({"Connect", "Request", "Timeout", "Interrupted"})


def _http_status(error: BaseException) -> int | None:
    """The HTTP status the server finally answered, if it answered at all."""
    if isinstance(error, SignedRequestError):
        return error.status or None
    match = _STATUS.search(_debug_source(error))
    return int(match.group(1)) if match else None


def _s3_code(error: BaseException) -> str | None:
    if isinstance(error, SignedRequestError):
        body = error.detail
    else:
        status = _STATUS.search(debug := _debug_source(error))
        body = debug[status.end() :] if status else ""  # the error body follows the status
    match = _CODE.search(body)
    return match.group(1) if match else None


def _is_transport_error(error: BaseException) -> bool:
    """No HTTP answer came back (refused, reset, timed out): a write's outcome is unknown."""
    if isinstance(error, SignedRequestError):
        return error.status == 0
    if _http_status(error) is not None:
        return False
    match = _HTTP_KIND.search(_debug_source(error))
    return match is not None and match.group(1) in _TRANSPORT_KINDS


def _debug_source(error: BaseException) -> str:
    return str(error).partition("\nDebug source:")[2]


def _declared_credential_source(environ: Mapping[str, str]) -> bool:
    """Credentials the environment points the S3 client at without keys: a web identity token
    (EKS), a container endpoint (ECS), or an EC2 instance role the user opted into."""
    return bool(
        environ.get("AWS_WEB_IDENTITY_TOKEN_FILE")
        or environ.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        or environ.get("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        or environ.get("AWS_EC2_METADATA_DISABLED", "").strip().lower() == "false"
    )


def _parsable(key: str) -> bool:
    """Whether obstore can address ``key`` (it refuses control characters)."""
    return not any(ord(char) < 0x20 or ord(char) == 0x7F for char in key)


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
