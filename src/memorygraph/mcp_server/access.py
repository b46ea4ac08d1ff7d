"""Who calls a tool, and what each tool needs.

Over HTTP the SDK's bearer middleware asks `PrincipalVerifier` about the token
of every request before any tool runs (no, unknown, expired or wrong-audience
tokens get HTTP 401); the verifier answers with a `PrincipalToken`, which
carries the `Principal` the tools then run for. Over stdio, and over HTTP on
loopback without authentication, there is no token and the caller is the
principal the server's store runs for (`LOCAL`, unless the store was given for
another).

Each tool needs one scope: the migration, export and import tools need admin,
the tools that only read need read, every other tool needs write.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from mcp.types import ToolAnnotations
from pydantic import ConfigDict

from memorygraph.errors import ForbiddenError, MemoryGraphError
from memorygraph.principal import LOCAL, SCOPES, Principal, Scope

if TYPE_CHECKING:
    # The verifiers serve HTTP only: over stdio their libraries are never loaded.
    from memorygraph.jwt_tokens import JwtVerifier
    from memorygraph.tokens import TokenFile

log = logging.getLogger("memorygraph.mcp")


class PrincipalToken(AccessToken):
    """An accepted bearer token and the principal it stands for."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    principal: Principal


@dataclass
class PrincipalVerifier:
    """The SDK's token verifier over the static token file and the JWT settings
    given (either may be absent, not both)."""

    tokens: TokenFile | None = None
    jwt: JwtVerifier | None = None

    async def verify_token(self, token: str) -> AccessToken | None:
        principal: Principal | None = None
        expires: int | None = None
        if self.tokens is not None:
            try:
                principal = self.tokens.principal_of(token)
            except MemoryGraphError as e:  # the file went bad while serving: refuse
                log.error("%s", e)
        if principal is None and self.jwt is not None:
            found = await self.jwt.principal_of(token)
            if found is not None:
                principal, expires = found
        if principal is None:
            log.info("refused a bearer token")
            return None
        return PrincipalToken(
            token=token,
            client_id=principal.name,
            subject=principal.name,
            scopes=[f"memory:{s}" for s in SCOPES if principal.may(s)],
            expires_at=expires,
            principal=principal,
        )


def request_principal(unauthenticated: Principal = LOCAL) -> Principal:
    """The principal of the request being served: the token's, or `unauthenticated`
    (the principal the server's store runs for) when the transport has no
    authentication. A token of another kind is refused rather than taken for the
    local user."""
    token = get_access_token()
    if token is None:
        return unauthenticated
    if isinstance(token, PrincipalToken):
        return token.principal
    raise ForbiddenError("the request's credentials name no principal of this server")


def scope_of(tool: str, annotations: ToolAnnotations | None, admin_tools: frozenset[str]) -> Scope:
    """The scope a caller needs to see and call the tool named `tool`."""
    if tool in admin_tools:
        return "admin"
    return "read" if annotations is not None and annotations.read_only_hint else "write"


def refusal(principal: Principal, tool: str, scope: Scope) -> ForbiddenError:
    """The error for `principal` calling `tool` without `scope`."""
    return ForbiddenError(
        f"{tool} needs the memory:{scope} scope, which the token of {principal.name!r} "
        "does not hold; nothing was written; ask for a token with that scope"
    )
