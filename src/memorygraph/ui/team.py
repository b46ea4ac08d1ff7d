"""The pages inside the team's HTTP server, at /ui, behind its tokens."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Mount

from memorygraph.mcp_server.access import PrincipalToken, PrincipalVerifier
from memorygraph.mcp_server.app import MemoryGraphServer
from memorygraph.ops.memories import MemoryStore
from memorygraph.principal import Principal
from memorygraph.ui.app import UiSettings, build_ui_app

#: Where the pages are served.
UI_PATH = "/ui"


def mount_ui(
    app: Starlette,
    store: MemoryStore,
    server: MemoryGraphServer,
    verifier: PrincipalVerifier | None,
) -> None:
    """Serve the pages at `UI_PATH` of the server's `app`: over its store and its
    migration desk, each person signed in with a token `verifier` accepts (the
    store's principal, on loopback, without one)."""

    async def verify(token: str) -> Principal | None:
        assert verifier is not None
        accepted = await verifier.verify_token(token)
        return accepted.principal if isinstance(accepted, PrincipalToken) else None

    pages = build_ui_app(
        store, server.state.desk, UiSettings(verify=verify if verifier is not None else None)
    )
    app.router.routes.append(Mount(UI_PATH, app=pages))
