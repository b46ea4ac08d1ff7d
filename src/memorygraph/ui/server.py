"""Serving the pages alone (the ui command): on a loopback address, for the local
user, until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import uvicorn

from memorygraph.errors import ConfigurationError
from memorygraph.mcp_server.http import GracefulServer, is_loopback
from memorygraph.ops.memories import MemoryStore
from memorygraph.ops.migrations import MigrationDesk
from memorygraph.ui.app import build_ui_app


@dataclass(frozen=True)
class Listen:
    """Where the pages are served."""

    host: str = "127.0.0.1"
    port: int = 8780

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def check(self) -> None:
        """`ConfigurationError` for an address other machines reach: these pages have no
        sign-in of their own (the team server's /ui has)."""
        if not is_loopback(self.host):
            raise ConfigurationError(
                f"{self.host} is not a loopback address; the pages served alone have no "
                "sign-in, so they listen on loopback only. For a team, serve them with "
                "the HTTP server and its tokens (at /ui)",
                field="host",
            )


async def serve_ui(
    store: MemoryStore,
    desk: MigrationDesk,
    listen: Listen,
    on_ready: Callable[[str], None] = lambda url: None,
) -> None:
    """Serve the pages over `store` until SIGTERM or SIGINT; `on_ready` is told the
    address once they are served."""
    listen.check()
    config = uvicorn.Config(
        build_ui_app(store, desk),
        host=listen.host,
        port=listen.port,
        log_level="warning",
        access_log=False,
        server_header=False,
    )
    server = GracefulServer(config)

    async def announce() -> None:
        while not server.started and not server.should_exit:
            await asyncio.sleep(0.05)
        if server.started:
            on_ready(listen.url)

    watcher = asyncio.create_task(announce())
    try:
        await server.serve()
    finally:
        watcher.cancel()
    if not server.started:
        raise ConfigurationError(
            f"could not listen on {listen.host}:{listen.port}; is another program using that port?",
            field="port",
        )
