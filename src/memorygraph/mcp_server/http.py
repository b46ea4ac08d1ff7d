"""The MCP server over streamable HTTP, for a team: many agents, one shared store.

The server is stateless (every request stands alone), so several processes can
stand behind one address on one store. With authentication configured (a
static token file, JWT settings, or both) every request to `/mcp` carries a
bearer token, checked before any tool runs; the tools then run for the token's
principal (`access`), within its scopes (`guard`), and each call is audited
when an audit log is given. Without authentication the server only listens on a
loopback address, and its caller is the local user. SIGTERM stops it gracefully:
it takes no new connections and finishes the calls in flight.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from mcp.server.auth.settings import AuthSettings
from starlette.applications import Starlette

from memorygraph.errors import ConfigurationError
from memorygraph.jwt_tokens import JwtSettings, JwtVerifier
from memorygraph.mcp_server.access import PrincipalVerifier
from memorygraph.mcp_server.app import MemoryGraphServer, ServerSettings, build_server
from memorygraph.mcp_server.audit import AuditLog
from memorygraph.ops.memories import MemoryStore
from memorygraph.tokens import TokenFile

#: Where the protocol is served.
MCP_PATH = "/mcp"

#: The signals that stop the server gracefully.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)

#: Seconds a graceful stop waits for calls in flight before it closes them.
GRACE_SECONDS = 30


@dataclass(frozen=True)
class HttpSettings:
    """Where to listen and how callers prove who they are."""

    host: str = "127.0.0.1"
    port: int = 8765
    tokens: Path | None = None
    jwt: JwtSettings | None = None
    audit_log: Path | None = None

    @property
    def authenticated(self) -> bool:
        return self.tokens is not None or self.jwt is not None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{MCP_PATH}"

    def check(self) -> None:
        """`ConfigurationError` when this would serve another machine without
        authentication."""
        if not self.authenticated and not is_loopback(self.host):
            raise ConfigurationError(
                f"{self.host} is not a loopback address, and serving the network without "
                "authentication is refused; configure static tokens or JSON Web Tokens, or "
                "listen on 127.0.0.1",
                field="host",
            )


def is_loopback(host: str) -> bool:
    """True for a name or address that only this machine reaches."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class GracefulServer(uvicorn.Server):
    """uvicorn's server, which after a graceful stop on SIGTERM or SIGINT returns
    instead of raising the signal again, so the command ends with its own exit code."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def principal_verifier(http: HttpSettings) -> PrincipalVerifier | None:
    """The verifier of the tokens `http` configures, or None without authentication."""
    if not http.authenticated:
        return None
    if http.tokens is not None:
        TokenFile(http.tokens).entries()  # a file that is not a token file fails here
    return PrincipalVerifier(
        tokens=TokenFile(http.tokens) if http.tokens is not None else None,
        jwt=JwtVerifier(http.jwt) if http.jwt is not None else None,
    )


def build_http_server(
    store: MemoryStore, settings: ServerSettings, http: HttpSettings
) -> MemoryGraphServer:
    """The MCP server, with bearer-token checks when `http` configures any."""
    http.check()
    verifier = principal_verifier(http)
    if verifier is None:
        return build_server(store, settings)
    base = http.url.removesuffix(MCP_PATH)
    issuer = http.jwt.issuer if http.jwt is not None else None
    auth = AuthSettings(
        # What the protected-resource metadata names; an issuer that is no URL is not named.
        issuer_url=issuer if issuer and issuer.startswith(("https://", "http://")) else base,
        resource_server_url=http.url,
        # The verifier checks each token's audience itself, as a plain string.
        validate_token_resource=False,
    )
    return build_server(store, settings, auth=auth, token_verifier=verifier)


#: Adds routes to the server's app: given the app, the server and the verifier of its
#: tokens (None without authentication).
Mount = Callable[[Starlette, MemoryGraphServer, PrincipalVerifier | None], None]


async def serve_http(
    store: MemoryStore,
    settings: ServerSettings,
    http: HttpSettings,
    on_ready: Callable[[str], None] = lambda url: None,
    mount: Mount | None = None,
) -> MemoryGraphServer:
    """Serve until SIGTERM or SIGINT, then finish the calls in flight; `on_ready` is
    told the address once the server listens, `mount` may add routes beside the
    protocol's (the browser pages). Returns the server (for its state)."""
    server = build_http_server(store, settings, http)
    if http.audit_log is not None:
        server.audit = AuditLog(http.audit_log)
    app = server.streamable_http_app(
        streamable_http_path=MCP_PATH, stateless_http=True, host=http.host
    )
    if mount is not None:
        mount(app, server, principal_verifier(http))
    level = settings.log_level.lower()
    config = uvicorn.Config(
        app,
        host=http.host,
        port=http.port,
        log_level=level,
        access_log=level == "debug",
        timeout_graceful_shutdown=GRACE_SECONDS,
        server_header=False,
    )
    listener = GracefulServer(config)

    async def announce() -> None:
        while not listener.started and not listener.should_exit:
            await asyncio.sleep(0.05)
        if listener.started:
            on_ready(http.url)

    watcher = asyncio.create_task(announce())
    try:
        async with server.state.reading_ahead():
            await listener.serve()
    finally:
        watcher.cancel()
        if server.audit is not None:
            server.audit.close()
    if not listener.started:
        raise ConfigurationError(
            f"could not listen on {http.host}:{http.port}; is another program using that port?",
            field="port",
        )
    logging.getLogger("memorygraph.mcp").info("stopped serving %s", http.url)
    return server
