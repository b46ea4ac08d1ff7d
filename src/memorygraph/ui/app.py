"""The Starlette app: the pages, their static files and the JSON API, every response
with headers that keep a page from running anything but its own script.

Every URL is relative, so the same app serves at `/` (the ui command) and at `/ui`
inside the team's HTTP server.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from memorygraph.ops.memories import MemoryStore
from memorygraph.ops.migrations import MigrationDesk
from memorygraph.ui import api
from memorygraph.ui.assets import STATIC
from memorygraph.ui.session import Access, Verify

#: Scripts, styles, images and connections from this server only; no inline script,
#: no plugin, no framing, no form sent elsewhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'; object-src 'none'"
)

SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]

#: The pages, by path, and the file of each.
PAGES = {
    "/": "index.html",
    "/memory": "memory.html",
    "/activity": "activity.html",
    "/stats": "stats.html",
    "/migrations": "migrations.html",
}


@dataclass(frozen=True)
class UiSettings:
    """Who the pages run for: without `verify`, everyone is the store's principal
    (loopback only); with it, each person signs in with a token `verify` accepts."""

    verify: Verify | None = None


class SecurityHeaders:
    """Adds `SECURITY_HEADERS` to every response of the app it wraps."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _page(name: str, access: Access) -> Route:
    async def serve(request: Request) -> Response:
        if access.authenticated and await access.principal(request) is None:
            return RedirectResponse("login", status_code=303)
        return FileResponse(STATIC / name, headers={"Cache-Control": "no-store"})

    path = next(p for p, file in PAGES.items() if file == name)
    return Route(path, serve, methods=["GET"])


def build_ui_app(
    store: MemoryStore, desk: MigrationDesk, settings: UiSettings | None = None
) -> ASGIApp:
    """The pages and API over `store` (migrations from `desk`), each request run for its
    principal: the store's own without `settings.verify`, the signed-in token's with it."""
    settings = settings or UiSettings()
    access = Access(anonymous=store.principal, verify=settings.verify)
    ctx = api.Context(store=store, desk=desk, access=access)

    async def login(request: Request) -> Response:
        return FileResponse(STATIC / "login.html", headers={"Cache-Control": "no-store"})

    routes = [
        *(_page(name, access) for name in PAGES.values()),
        Route("/login", login, methods=["GET"]),
        Route("/api/session", api.session_routes(ctx), methods=["GET", "POST", "DELETE"]),
        Route("/api/search", api.endpoint(api.search, ctx)),
        Route("/api/memories/{memory_id:path}/neighbourhood", api.endpoint(api.neighbourhood, ctx)),
        Route("/api/memories/{memory_id:path}/related", api.endpoint(api.related, ctx)),
        Route("/api/memories/{memory_id:path}", api.endpoint(api.memory, ctx)),
        Route("/api/activity", api.endpoint(api.activity, ctx)),
        Route("/api/stats", api.endpoint(api.stats, ctx)),
        Route("/api/migrations", api.endpoint(api.migrations, ctx)),
        Route(
            "/api/migrations/{migration_id}/rollback",
            api.endpoint(api.rollback, ctx),
            methods=["POST"],
        ),
        Route(
            "/api/migrations/{migration_id}/resume",
            api.endpoint(api.resume, ctx),
            methods=["POST"],
        ),
        Mount("/static", StaticFiles(directory=Path(STATIC))),
    ]
    return SecurityHeaders(Starlette(routes=routes))
