"""Static bearer tokens: a file of token hashes, each naming a principal.

`TokenFile.create` makes a token of 256 random bits and keeps only its sha256
digest, with the principal's name, namespaces and scopes; the token itself is
returned once and never stored. `TokenFile.principal_of` answers who a
presented token is (None for an unknown one). The file is JSON, created and
replaced through `safefiles` (owner-only, never through a link), and read again
whenever it changes on disk, so a revoked token stops working without a restart.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from memorygraph import safefiles
from memorygraph.errors import DatabaseFileError, NotFoundError, UsageError
from memorygraph.models import utc_now
from memorygraph.principal import SCOPES, Principal, Scope

#: Every static token starts with this, so a leaked one is recognisable.
TOKEN_PREFIX = "mgt_"

_FORMAT = "memorygraph-tokens/1"


def digest_of(token: str) -> str:
    """The sha256 digest (hex) a token file keeps for `token`."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class TokenEntry:
    """One token as its file keeps it: never the token, only its digest."""

    id: str
    principal: str
    namespaces: tuple[str, ...]
    scopes: tuple[Scope, ...]
    created_at: str
    digest: str

    def as_principal(self) -> Principal:
        return Principal(self.principal, self.namespaces, frozenset(self.scopes))

    def public(self) -> dict[str, object]:
        """What may be shown: everything but the digest."""
        return {
            "id": self.id,
            "principal": self.principal,
            "namespaces": list(self.namespaces),
            "scopes": list(self.scopes),
            "created_at": self.created_at,
        }


def checked_scopes(scopes: Iterable[str]) -> tuple[Scope, ...]:
    """`scopes` in their usual order, each one of read, write, admin; else `UsageError`."""
    given = {s.strip().lower() for s in scopes}
    unknown = sorted(given - set(SCOPES))
    if unknown or not given:
        raise UsageError(
            (f"unknown scope {unknown[0]!r}" if unknown else "a token needs at least one scope")
            + f"; choose from {', '.join(SCOPES)}",
            field="scope",
        )
    return tuple(s for s in SCOPES if s in given)


def checked_namespaces(namespaces: Sequence[str]) -> tuple[str, ...]:
    """`namespaces` without blanks or repeats, in the order given; at least one."""
    kept: list[str] = []
    for name in namespaces:
        name = name.strip()
        if not name:
            raise UsageError("a namespace name is empty; give a non-empty name", field="namespace")
        if name not in kept:
            kept.append(name)
    if not kept:
        raise UsageError(
            "a token needs at least one namespace: where its memories go", field="namespace"
        )
    return tuple(kept)


class TokenFile:
    """The token file at `path` (absent means: no tokens yet)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: tuple[int, int] | None = None
        self._by_digest: dict[str, TokenEntry] = {}

    def entries(self) -> list[TokenEntry]:
        """Every token in the file, oldest first."""
        safefiles.refuse_link(self.path, "the token file", field="tokens")
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as e:
            raise DatabaseFileError(
                f"cannot read the token file {self.path}: {e.strerror}; check its permissions",
                field="tokens",
            ) from e
        try:
            data = orjson.loads(raw)
            if data.get("format") != _FORMAT:
                raise ValueError("not a token file")
            return [
                TokenEntry(
                    id=str(item["id"]),
                    principal=str(item["principal"]),
                    namespaces=tuple(str(n) for n in item["namespaces"]),
                    scopes=checked_scopes(item["scopes"]),
                    created_at=str(item["created_at"]),
                    digest=str(item["sha256"]),
                )
                for item in data["tokens"]
            ]
        except (ValueError, KeyError, TypeError, AttributeError, UsageError) as e:
            raise DatabaseFileError(
                f"{self.path} is not a memorygraph token file; give the file that "
                "creating a token wrote",
                field="tokens",
            ) from e

    def create(
        self, principal: str, namespaces: Sequence[str], scopes: Iterable[str]
    ) -> tuple[TokenEntry, str]:
        """Add a token for `principal`; return its entry and the token (shown once)."""
        if not principal.strip():
            raise UsageError("the principal name is empty; name who the token is for")
        entries = self.entries()
        token_id = secrets.token_hex(4)
        token = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        entry = TokenEntry(
            id=token_id,
            principal=principal.strip(),
            namespaces=checked_namespaces(namespaces),
            scopes=checked_scopes(scopes),
            created_at=utc_now().isoformat(),
            digest=digest_of(token),
        )
        self._write([*entries, entry])
        return entry, token

    def revoke(self, which: str) -> list[TokenEntry]:
        """Remove the token with id `which`, or every token of the principal `which`;
        return what was removed, or `NotFoundError` when nothing matches."""
        entries = self.entries()
        gone = [e for e in entries if which in (e.id, e.principal)]
        if not gone:
            raise NotFoundError(
                f"no token with id or principal {which!r} in {self.path}; list the tokens "
                "to see their ids"
            )
        self._write([e for e in entries if e not in gone])
        return gone

    def principal_of(self, token: str) -> Principal | None:
        """Who `token` is, or None when the file holds no such token."""
        if not token.startswith(TOKEN_PREFIX):
            return None
        self._refresh()
        entry = self._by_digest.get(digest_of(token))
        return entry.as_principal() if entry is not None else None

    def _refresh(self) -> None:
        try:
            info = os.stat(self.path)
            seen: tuple[int, int] | None = (info.st_mtime_ns, info.st_size)
        except FileNotFoundError:
            seen = None
        if seen != self._seen or seen is None:
            self._by_digest = {e.digest: e for e in self.entries()}
            self._seen = seen

    def _write(self, entries: list[TokenEntry]) -> None:
        data = orjson.dumps(
            {
                "format": _FORMAT,
                "tokens": [{**e.public(), "sha256": e.digest} for e in entries],
            },
            option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE,
        )
        if self.path.exists() or self.path.is_symlink():
            safefiles.write_atomic(self.path, data, "the token file", field="tokens")
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with safefiles.create(self.path, "the token file", field="tokens") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
