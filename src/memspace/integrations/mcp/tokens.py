"""Bearer tokens of the HTTP server: which token opens which namespace, and whether read-only.

One user: ``MEMSPACE_MCP_TOKEN`` holds the token; it opens the server's own namespace
(``MEMORY_TOOL_NAMESPACE``, ``default`` unless set). Many users: a tokens file, JSON, maps
each token to a namespace and, optionally, read-only access::

    {
      "tokens": {
        "kq3V1p0xv8-3wYgE2nq8aZtM": {"namespace": "alice"},
        "Zb6c0yQeTjv5n1mLr7PqW2sd": {"namespace": "bob"},
        "p9Lx2VdQ7mK4s1aB8nR3tY6u": {"namespace": "alice", "read_only": true}
      }
    }

Tokens are at least 16 printable ASCII characters without spaces (make them with
``python -c "import secrets; print(secrets.token_urlsafe(32))"``). Only their SHA-256
digests are kept after loading, and no message or log ever shows one: entries are named
by their position ("token 2"). A server that is read-only makes every token read-only.

    >>> table = TokenTable.single("kq3V1p0xv8-3wYgE2nq8aZtM", namespace="alice")
    >>> table.lookup("kq3V1p0xv8-3wYgE2nq8aZtM")
    Grant(label='MEMSPACE_MCP_TOKEN', namespace='alice', read_only=False)
    >>> table.lookup("wrong") is None
    True
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memspace.errors import ConfigError
from memspace.paths import parse_namespace

__all__ = ["MIN_TOKEN_LENGTH", "TOKEN_ENV", "Grant", "TokenTable"]

TOKEN_ENV = "MEMSPACE_MCP_TOKEN"
MIN_TOKEN_LENGTH = 16
_MAKE_ONE = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'


@dataclass(frozen=True)
class Grant:
    """What one token opens. ``label`` names the token in messages and sessions."""

    label: str
    namespace: str
    read_only: bool = False


class TokenTable:
    """The server's tokens, kept as SHA-256 digests, each with its grant."""

    def __init__(self, entries: Iterable[tuple[str, Grant]]) -> None:
        self._by_digest: dict[bytes, Grant] = {}
        for token, grant in entries:
            problem = _token_problem(token)
            if problem:
                raise ConfigError(f"{grant.label} {problem}")
            digest = _digest(token)
            if digest in self._by_digest:
                raise ConfigError(
                    f"{grant.label} repeats {self._by_digest[digest].label}; each token must be different."
                )
            self._by_digest[digest] = grant
        if not self._by_digest:
            raise ConfigError("no bearer token is configured; the HTTP server needs at least one.")

    @classmethod
    def single(cls, token: str, *, namespace: str = "default", read_only: bool = False) -> TokenTable:
        """One token (``MEMSPACE_MCP_TOKEN``) opening one namespace."""
        return cls([(token, Grant(TOKEN_ENV, parse_namespace(namespace), read_only))])

    @classmethod
    def from_file(cls, path: str | Path) -> TokenTable:
        """Load a tokens file (see the module docstring for the format)."""
        where = f"the tokens file {path}"
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigError(f"cannot read {where}: {error.strerror or type(error).__name__}.") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{where} is not UTF-8 text.") from None
        try:
            data = json.loads(text, object_pairs_hook=_no_repeated_keys)
        except json.JSONDecodeError as error:
            # The position only: the message never quotes the file (it holds secrets).
            raise ConfigError(
                f"{where} is not valid JSON (line {error.lineno}, column {error.colno})."
            ) from None
        except ValueError as error:
            raise ConfigError(f"{where}: {error}") from None
        if not isinstance(data, dict) or set(data) != {"tokens"} or not isinstance(data["tokens"], dict):
            raise ConfigError(
                f'{where} must be a JSON object {{"tokens": {{"<token>": {{"namespace": ...}}}}}}.'
            )
        specs = enumerate(data["tokens"].items(), 1)
        try:
            return cls((token, _grant(f"token {n}", spec)) for n, (token, spec) in specs)
        except ConfigError as error:
            raise ConfigError(f"{where}: {error}") from None

    def lookup(self, token: str) -> Grant | None:
        """The grant of ``token``, or None if it is not one of the server's tokens."""
        # Looked up by digest: how long the lookup takes depends on the digest of the
        # guess, which tells an attacker nothing about how close the guess was.
        return self._by_digest.get(_digest(token))

    def grants(self) -> list[Grant]:
        """Every grant, in the order the tokens were given."""
        return list(self._by_digest.values())

    def __iter__(self) -> Iterator[Grant]:
        return iter(self.grants())

    def __len__(self) -> int:
        return len(self._by_digest)

    def __repr__(self) -> str:
        return f"<TokenTable: {len(self)} token{'' if len(self) == 1 else 's'}>"


def _grant(label: str, spec: Any) -> Grant:
    if not isinstance(spec, dict):
        raise ConfigError(f'{label}: expected {{"namespace": "...", "read_only": false}}.')
    unknown = sorted(set(spec) - {"namespace", "read_only"})
    if unknown:
        raise ConfigError(f"{label}: unknown key {unknown[0]!r}; the keys are namespace and read_only.")
    namespace, read_only = spec.get("namespace"), spec.get("read_only", False)
    if not isinstance(namespace, str):
        raise ConfigError(f"{label}: namespace is missing or not a string.")
    if not isinstance(read_only, bool):
        raise ConfigError(f"{label}: read_only must be true or false.")
    try:
        return Grant(label, parse_namespace(namespace), read_only)
    except ConfigError as error:
        raise ConfigError(f"{label}: {error}") from None


def _token_problem(token: object) -> str | None:
    if not isinstance(token, str) or len(token) < MIN_TOKEN_LENGTH:
        return f"is too short: use at least {MIN_TOKEN_LENGTH} random characters, e.g. from {_MAKE_ONE}."
    if not all("!" <= c <= "~" for c in token):
        return "may hold only printable ASCII characters, without spaces."
    return None


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            # Never quote the key: in the tokens object, it is a token.
            raise ValueError("a key appears twice in one object (each token must be listed once)")
        seen[key] = value
    return seen
