"""Who is asking: the principal of a request to the pages.

Without authentication (the `ui` command on loopback) every request runs for the
store's principal. With it (the team server), a person signs in once with a token;
the token is checked by the server's own verifier and kept in a cookie that
scripts cannot read (HttpOnly) and that no other site's page sends
(SameSite=Strict), and it is checked again on every request, so a revoked or
expired token stops working at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from memorygraph.principal import Principal

#: Checks a token: the principal it stands for, or None when it is refused.
Verify = Callable[[str], Awaitable[Principal | None]]

#: The cookie that keeps the token.
COOKIE = "memorygraph_token"
#: Characters of a token that is considered at all (a longer one is refused unread).
MAX_TOKEN = 8_192


@dataclass(frozen=True)
class Access:
    """How requests are authenticated: `verify` is None when they are not, and then
    every request runs for `anonymous`."""

    anonymous: Principal
    verify: Verify | None = None

    @property
    def authenticated(self) -> bool:
        return self.verify is not None

    async def principal(self, request: Request) -> Principal | None:
        """The request's principal, or None when it must sign in."""
        if self.verify is None:
            return self.anonymous
        token = request.cookies.get(COOKIE)
        if not token or len(token) > MAX_TOKEN:
            return None
        return await self.verify(token)

    async def sign_in(self, token: str) -> Principal | None:
        """The principal `token` stands for, or None when it is refused."""
        if self.verify is None or not token or len(token) > MAX_TOKEN:
            return None
        return await self.verify(token)


def keep_token(response: Response, request: Request, token: str) -> None:
    """Set the cookie that carries `token` on the requests of this app's pages."""
    response.set_cookie(
        COOKIE,
        token,
        path=_cookie_path(request),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def forget_token(response: Response, request: Request) -> None:
    """Clear the token's cookie (signing out)."""
    response.delete_cookie(
        COOKIE,
        path=_cookie_path(request),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def _cookie_path(request: Request) -> str:
    # Only this app's pages: the app mounted at /ui sends it under /ui only.
    root = str(request.scope.get("root_path", "")).rstrip("/")
    return root + "/"
