"""What a backend declares about itself: `BackendSpec`.

Each backend module declares one spec (the built-in ones as `SPEC`) and the
registry (`memorygraph.backends.registry`) finds it by name. The spec is all the
rest of the library knows about an engine besides the `Backend` contract: how
it is located (a `path` on this machine or a server `uri`), which environment
variable fills each configuration field, the defaults, how to install what it
needs, and which optional capabilities it has.

This module imports nothing from the rest of the library but its errors, so a
spec can be declared (and read) before any engine driver is imported. Turning a
spec into its class is the registry's (`memorygraph.backends.registry.backend_class`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from memorygraph.errors import ConfigurationError, MissingDependencyError

#: Where the local stores live unless told otherwise.
DEFAULT_HOME = Path("~/.memorygraph")

#: The configuration fields a spec may give an environment variable or a default for.
FIELDS = ("path", "uri", "username", "password", "database")

#: Capability: inside `Backend.read_snapshot()` every read sees the store as it
#: was when the block began, whatever other connections write meanwhile.
SNAPSHOT_READS = "snapshot_reads"
#: Capability: `Backend.copy_store` takes pages of another store of the same backend
#: exactly as that store keeps them (`stored_pages`), with no export file between.
COPIES_OWN_STORES = "copies_own_stores"
#: Capability: inside `Backend.bulk_insert()`, records written as known new
#: (`Backend.upsert_canonical(known_new=True)`) go through the engine's own bulk-insert
#: path, each batch whole before its call returns, exactly as the ordinary writes
#: would store them. An import into a store it knows empty opens that block.
BULK_INSERT = "bulk_insert"
#: Capability: the engine keeps memories' vectors (derived, like the search terms) and
#: ranks them by similarity to a query vector (`Backend.vector_search` and the other
#: vector operations); a store on a backend without it searches lexically.
VECTORS = "vectors"
#: Capability: a large copy into the engine is verified page by page, as it is written,
#: by a second connection in a worker process (`memorygraph.migration.page_verifier`).
#: Declared where the copy's time goes to this process (a bulk path it encodes for), so
#: reads beside it cost the copy little; where the engine's own writing is the copy's
#: time, reads beside it slow the copy more than they save (measured with Neo4j).
VERIFIED_ASIDE = "verified_aside"
#: Every capability a spec may declare.
CAPABILITIES = frozenset({SNAPSHOT_READS, COPIES_OWN_STORES, BULK_INSERT, VECTORS, VERIFIED_ASIDE})


def extra_hint(extra: str) -> str:
    """How to install the optional dependencies of one of memorygraph's extras."""
    return f"pip install 'memorygraph[{extra}]'"


@dataclass(frozen=True)
class BackendSpec:
    """One backend, as the registry, configuration and tests know it.

    `backend` is the `Backend` subclass or, so that registering does not import
    an engine driver, its "module:Class". `environment` maps configuration
    fields (`FIELDS`) to the variables that give them; `defaults` holds values
    used when neither the caller nor the environment gives one (a `path`
    default may start with ``~``).
    """

    name: str
    #: A `memorygraph.backends.base.Backend` subclass, or its "module:Class".
    backend: type[Any] | str
    locator: Literal["path", "uri"]
    install_hint: str = "built in"
    environment: Mapping[str, str] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    capabilities: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        name = self.name.strip().lower()
        if not name or name != self.name:
            raise ConfigurationError(
                f"backend name {self.name!r} must be lower case, without spaces"
            )
        if self.locator not in ("path", "uri"):
            raise ConfigurationError(f"{name}: locator must be 'path' or 'uri'")
        for what, keys in (("environment", self.environment), ("defaults", self.defaults)):
            unknown = sorted(set(keys) - set(FIELDS))
            if unknown:
                raise ConfigurationError(
                    f"{name}: unknown field(s) in {what}: {', '.join(unknown)}; "
                    f"known: {', '.join(FIELDS)}"
                )
        unknown = sorted(set(self.capabilities) - CAPABILITIES)
        if unknown:
            raise ConfigurationError(
                f"{name}: unknown capabilit(ies) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(CAPABILITIES))}"
            )
        object.__setattr__(self, "environment", MappingProxyType(dict(self.environment)))
        object.__setattr__(self, "defaults", MappingProxyType(dict(self.defaults)))
        object.__setattr__(self, "capabilities", frozenset(self.capabilities))

    @property
    def uses_path(self) -> bool:
        """True for stores in a local file or directory, False for servers reached by URI."""
        return self.locator == "path"

    def has(self, capability: str) -> bool:
        """True when this backend declares `capability` (one of `CAPABILITIES`)."""
        if capability not in CAPABILITIES:
            raise ValueError(f"unknown capability {capability!r}")
        return capability in self.capabilities


def missing_dependency(name: str, error: ImportError, install_hint: str) -> MissingDependencyError:
    """The error for backend `name` whose import failed with `error`."""
    return MissingDependencyError(
        f"the {name} backend needs the package {error.name!r}; install it with: {install_hint}"
    )
