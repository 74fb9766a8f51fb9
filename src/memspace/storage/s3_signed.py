"""The few S3 requests obstore cannot make: listing and deleting keys it cannot parse.

obstore refuses any key holding a control character (a newline, say): one such
key, written into the bucket by another tool, makes its whole listing page fail,
so a workspace could neither be viewed nor cleared. When that happens,
:class:`SignedRequests` lists the prefix itself with ListObjectsV2 and
``encoding-type=url`` (S3 then sends every key URL-encoded, so any key survives
the XML), and deletes such keys one DELETE each. Requests are signed with AWS
Signature Version 4 from the same credentials the store uses. Everything else
goes through obstore.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import ssl
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from xml.etree import ElementTree

__all__ = ["Credentials", "ListedKey", "SignedRequests"]

_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None


@dataclass(frozen=True)
class ListedKey:
    key: str
    size: int
    etag: str
    last_modified: dt.datetime


class SignedRequestError(Exception):
    """A signed request got no answer or an HTTP error (``status`` 0 when no answer came)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"status code: {status}" if status else detail)
        self.status = status
        self.detail = detail


class SignedRequests:
    """Signed ListObjectsV2 and DeleteObject on one bucket."""

    def __init__(
        self,
        *,
        bucket: str,
        region: str,
        endpoint: str | None,
        credentials: Callable[[], Credentials | None],
        timeout: float = 30.0,
    ) -> None:
        self.bucket = bucket
        self.region = region
        self._credentials = credentials
        self._timeout = timeout
        if endpoint:
            parts = urllib.parse.urlsplit(endpoint)
            self._scheme, self._host = parts.scheme, parts.netloc
            self._base = parts.path.rstrip("/") + "/" + urllib.parse.quote(bucket, safe="")
        else:
            self._scheme, self._host = "https", f"{bucket}.s3.{region}.amazonaws.com"
            self._base = ""

    def list(self, prefix: str) -> Iterator[ListedKey]:
        """Every key below ``prefix``, all pages, whatever characters the keys hold."""
        token: str | None = None
        while True:
            query = {"list-type": "2", "encoding-type": "url", "prefix": prefix, "max-keys": "1000"}
            if token:
                query["continuation-token"] = token
            body = self._request("GET", self._base + "/", query)
            root = ElementTree.fromstring(body)
            for item in root.iter(f"{_NS}Contents"):
                yield ListedKey(
                    key=urllib.parse.unquote_plus(_text(item, "Key")),
                    size=int(_text(item, "Size") or 0),
                    etag=_text(item, "ETag"),
                    last_modified=_parse_time(_text(item, "LastModified")),
                )
            if _text(root, "IsTruncated") != "true":
                return
            token = urllib.parse.unquote_plus(_text(root, "NextContinuationToken"))

    def delete(self, key: str) -> None:
        self._request("DELETE", f"{self._base}/{urllib.parse.quote(key, safe='/~')}", {})

    def _request(self, method: str, path: str, query: Mapping[str, str]) -> bytes:
        credentials = self._credentials()
        if credentials is None:
            raise SignedRequestError(0, "no credentials")
        canonical_query = "&".join(f"{_quote(name)}={_quote(value)}" for name, value in sorted(query.items()))
        now = dt.datetime.now(dt.UTC)
        headers = {
            "host": self._host,
            "x-amz-date": now.strftime("%Y%m%dT%H%M%SZ"),
            "x-amz-content-sha256": _EMPTY_SHA256,
        }
        if credentials.session_token:
            headers["x-amz-security-token"] = credentials.session_token
        headers["authorization"] = self._authorization(
            method, path, canonical_query, headers, credentials, now
        )
        url = path + (f"?{canonical_query}" if canonical_query else "")
        connection: http.client.HTTPConnection
        if self._scheme == "https":
            connection = http.client.HTTPSConnection(
                self._host, timeout=self._timeout, context=ssl.create_default_context()
            )
        else:
            connection = http.client.HTTPConnection(self._host, timeout=self._timeout)
        try:
            connection.request(method, url, headers=headers)
            response = connection.getresponse()
            body = response.read()
        except OSError as error:
            raise SignedRequestError(0, type(error).__name__) from None
        finally:
            connection.close()
        if response.status >= 300:
            raise SignedRequestError(response.status, body[:500].decode(errors="replace"))
        return body

    def _authorization(
        self,
        method: str,
        path: str,
        query: str,
        headers: Mapping[str, str],
        credentials: Credentials,
        now: dt.datetime,
    ) -> str:
        signed = sorted(headers)
        canonical = "\n".join(
            [
                method,
                urllib.parse.quote(path, safe="/~%"),
                query,
                "".join(f"{name}:{headers[name].strip()}\n" for name in signed),
                ";".join(signed),
                _EMPTY_SHA256,
            ]
        )
        day = now.strftime("%Y%m%d")
        scope = f"{day}/{self.region}/s3/aws4_request"
        to_sign = "\n".join(
            ["AWS4-HMAC-SHA256", headers["x-amz-date"], scope, hashlib.sha256(canonical.encode()).hexdigest()]
        )
        key = _hmac(f"AWS4{credentials.secret_access_key}".encode(), day)
        for part in (self.region, "s3", "aws4_request"):
            key = _hmac(key, part)
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        return (
            f"AWS4-HMAC-SHA256 Credential={credentials.access_key_id}/{scope}, "
            f"SignedHeaders={';'.join(signed)}, Signature={signature}"
        )


def _quote(text: str) -> str:
    return urllib.parse.quote(text, safe="-_.~")


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def _text(element: ElementTree.Element, name: str) -> str:
    found = element.find(f"{_NS}{name}")
    if found is None:
        found = element.find(name)
    return (found.text or "") if found is not None else ""


def _parse_time(text: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return dt.datetime.now(dt.UTC)
