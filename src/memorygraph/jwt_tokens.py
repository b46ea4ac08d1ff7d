"""JSON Web Tokens from an identity provider: who a signed token says its bearer is.

A token is accepted only when its signature verifies with the configured key
(an HS256 shared secret, a PEM public key, or the keys an issuer publishes as a
JWKS, for RS256 and ES256), it has not expired, its `aud` equals the configured
audience (compared as a plain string, one of a list), and, when an issuer is
configured, its `iss` equals it. The claims it carries:

    sub         the principal (what `context.created_by` records)
    scope       space-separated: memory:read memory:write memory:admin
    namespaces  the list of namespaces the principal holds, the first taking its writes

JWKS keys are fetched once, kept, fetched again after `JWKS_LIFETIME`, and again
at once when a token names a key id not yet known (at most once per
`JWKS_RETRY` seconds, so unknown ids cannot make it fetch without pause).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import httpx2
import jwt

from memorygraph.errors import BackendConnectionError, ConfigurationError
from memorygraph.principal import SCOPES, Principal, Scope

log = logging.getLogger("memorygraph.auth")

#: How a token's `scope` claim names each scope.
CLAIM_SCOPES: dict[str, Scope] = {f"memory:{s}": s for s in SCOPES}

#: Seconds a fetched key set is used before it is fetched again.
JWKS_LIFETIME = 300.0
#: Least seconds between two fetches caused by an unknown key id.
JWKS_RETRY = 1.0

_ASYMMETRIC = ["RS256", "ES256"]


@dataclass(frozen=True)
class JwtSettings:
    """How to check tokens: the audience, optionally the issuer, and exactly one key
    source. `secret` never shows in a repr."""

    audience: str
    issuer: str | None = None
    secret: str | None = field(default=None, repr=False)
    public_key: str | None = None
    jwks_url: str | None = None

    def __post_init__(self) -> None:
        sources = [s for s in (self.secret, self.public_key, self.jwks_url) if s]
        if len(sources) != 1:
            raise ConfigurationError(
                "JSON Web Tokens need exactly one key: a shared secret, a public key or a "
                "JWKS address",
                field="jwt",
            )
        if not self.audience.strip():
            raise ConfigurationError(
                "JSON Web Tokens need the audience this server accepts", field="jwt_audience"
            )


class JwksKeys:
    """The signing keys published at one JWKS address, by key id."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched = float("-inf")
        self._lock = asyncio.Lock()

    async def key(self, kid: str | None) -> jwt.PyJWK | None:
        """The key with id `kid` (or the only key, for a token that names none)."""
        async with self._lock:
            now = time.monotonic()
            stale = now - self._fetched > JWKS_LIFETIME
            unknown = kid is not None and kid not in self._keys
            if stale or (unknown and now - self._fetched > JWKS_RETRY):
                await self._fetch()
        if kid is None:
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None
        return self._keys.get(kid)

    async def _fetch(self) -> None:
        try:
            async with httpx2.AsyncClient(timeout=10.0) as client:
                response = await client.get(self.url)
                response.raise_for_status()
                document = response.json()
        except (httpx2.HTTPError, ValueError) as e:
            self._fetched = time.monotonic()  # keep the keys it has; ask again later
            raise BackendConnectionError(
                f"could not fetch the signing keys from {self.url}: {type(e).__name__}; check "
                "the JWKS address"
            ) from e
        keys: dict[str, jwt.PyJWK] = {}
        for item in document.get("keys", []) if isinstance(document, dict) else []:
            try:
                key = jwt.PyJWK(item)
            except jwt.PyJWTError:
                continue  # a key of a kind this server does not use
            keys[str(item.get("kid", ""))] = key
        self._keys = keys
        self._fetched = time.monotonic()


class JwtVerifier:
    """Checks tokens against one `JwtSettings`."""

    def __init__(self, settings: JwtSettings) -> None:
        self.settings = settings
        self._jwks = JwksKeys(settings.jwks_url) if settings.jwks_url else None

    async def principal_of(self, token: str) -> tuple[Principal, int] | None:
        """Who `token` says its bearer is and when it expires (epoch seconds), or None
        when it is not a token this server accepts."""
        try:
            header = jwt.get_unverified_header(token)
            key, algorithms = await self._key_for(header)
            if key is None:
                return None
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                issuer=self.settings.issuer,
                options={"require": ["exp", "sub", "aud"], "verify_aud": False},
            )
        except BackendConnectionError as e:
            log.warning("%s", e)
            return None
        except jwt.PyJWTError:
            return None
        if not self._audience_matches(claims.get("aud")):
            return None
        namespaces = claims.get("namespaces", [])
        if not isinstance(namespaces, list) or not all(isinstance(n, str) for n in namespaces):
            return None
        scope = claims.get("scope", "")
        scopes = frozenset(CLAIM_SCOPES[s] for s in str(scope).split() if s in CLAIM_SCOPES)
        principal = Principal(str(claims["sub"]), tuple(namespaces), scopes)
        return principal, int(claims["exp"])

    def _audience_matches(self, aud: object) -> bool:
        wanted = self.settings.audience
        if isinstance(aud, str):
            return aud == wanted
        return isinstance(aud, list) and wanted in aud

    async def _key_for(self, header: dict[str, Any]) -> tuple[Any, list[str]]:
        if self.settings.secret:
            return self.settings.secret, ["HS256"]
        if self.settings.public_key:
            return self.settings.public_key, _ASYMMETRIC
        assert self._jwks is not None
        kid = header.get("kid")
        found = await self._jwks.key(str(kid) if kid is not None else None)
        return (found.key if found is not None else None), _ASYMMETRIC
