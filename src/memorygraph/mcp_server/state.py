"""What the MCP server's tools share: its settings (`ServerSettings`, the tool profiles)
and the open store and migration desk (`ServerState`). Apart from the server itself
(`app.py`), which imports the tools, so that the tools can name them."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

from memorygraph.config import DEFAULT_HOME
from memorygraph.errors import ConfigurationError, MemoryGraphError
from memorygraph.mcp_server.access import request_principal
from memorygraph.mcp_server.limits import Limits
from memorygraph.ops.memories import MemoryStore
from memorygraph.principal import Principal

if TYPE_CHECKING:
    from memorygraph.ops.migrations import MigrationDesk

log = logging.getLogger("memorygraph.mcp")

Profile = Literal["core", "extended"]
PROFILES: Final[tuple[Profile, ...]] = ("core", "extended")


@dataclass(frozen=True)
class ServerSettings:
    """How the server runs. `environment` is the process environment, read once at the
    edge: migration targets take their passwords from it."""

    profile: Profile = "core"
    workdir: Path = field(default_factory=lambda: DEFAULT_HOME.expanduser() / "migrations")
    environment: Mapping[str, str] = field(default_factory=dict)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "WARNING"
    limits: Limits = field(default_factory=Limits)

    @staticmethod
    def profile_named(name: str) -> Profile:
        """The profile called `name`, or `ConfigurationError` naming the choices."""
        for profile in PROFILES:
            if name.strip().lower() == profile:
                return profile
        raise ConfigurationError(
            f"unknown tool profile {name!r}; choose one of: {', '.join(PROFILES)}"
        )


class ServerState:
    """What the tools share: the open store and the migration desk. `store` is the
    store as the caller of the tool being run sees it."""

    def __init__(self, store: MemoryStore, settings: ServerSettings) -> None:
        self._store = store
        self._settings = settings
        self._desk: MigrationDesk | None = None

    @asynccontextmanager
    async def reading_ahead(self) -> AsyncIterator[None]:
        """While the block runs, the store reads ahead what its first search needs
        (`MemoryStore.prepare_search`) in a task of its own, so the server answers
        meanwhile. Should that fail, it is logged, and the first search reads for itself."""
        task = asyncio.create_task(self._read_ahead())
        try:
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    async def _read_ahead(self) -> None:
        began = time.monotonic()
        try:
            held = await self._store.prepare_search()
        except MemoryGraphError as e:
            log.warning("the vectors were not read ahead (%s); the first search reads them", e)
            return
        if held is not None:
            log.info("read ahead %d vectors for search in %.1f s", held, time.monotonic() - began)

    @property
    def desk(self) -> MigrationDesk:
        """The migration desk, made on first use: a server whose tools never migrate
        does not load the migration machinery (it would slow every start)."""
        if self._desk is None:
            from memorygraph.ops.migrations import MigrationDesk

            settings = self._settings
            self._desk = MigrationDesk(self._store.config, settings.workdir, settings.environment)
        return self._desk

    @property
    def desk_in_use(self) -> MigrationDesk | None:
        """The migration desk if a tool has used it, else None."""
        return self._desk

    @property
    def principal(self) -> Principal:
        """Who calls: the request's token's principal, or, without authentication, the
        principal the store was given for (`access.request_principal`)."""
        return request_principal(self._store.principal)

    @property
    def store(self) -> MemoryStore:
        principal = self.principal
        if principal == self._store.principal:
            return self._store
        return self._store.for_principal(principal)
