"""memorygraph: a graph memory store for AI coding agents.

The public API is re-exported here; everything else is an implementation detail.

    from memorygraph import BackendConfig, MemoryStore, MigrationManager

The heavier parts (the store, search, migration) load on first use, so that
`import memorygraph` stays quick for the CLI and the MCP server.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from memorygraph.backends.catalog import register_backend
    from memorygraph.backends.spec import BackendSpec
    from memorygraph.config import BackendConfig
    from memorygraph.errors import MemoryGraphError
    from memorygraph.migration.manager import MigrationManager
    from memorygraph.migration.models import MigrationOptions, MigrationResult, VerifyMode
    from memorygraph.models import (
        Memory,
        MemoryContext,
        MemoryType,
        Relationship,
        RelationshipType,
        Visibility,
    )
    from memorygraph.search import RecallHit, SearchFilters, SearchHit
    from memorygraph.store import MemoryStore
    from memorygraph.version import __version__


#: Each public name and the module that defines it. Nothing is imported until a name
#: is first used: a process that only needs one corner (the CLI's `serve`, a
#: submodule) does not pay for the rest, and the CLI can start before any model exists.
_LAZY = {
    "__version__": "memorygraph.version",
    "register_backend": "memorygraph.backends.catalog",
    "BackendSpec": "memorygraph.backends.spec",
    "BackendConfig": "memorygraph.config",
    "MemoryGraphError": "memorygraph.errors",
    **dict.fromkeys(
        ["Memory", "MemoryContext", "MemoryType", "Relationship", "RelationshipType"],
        "memorygraph.models",
    ),
    "Visibility": "memorygraph.models",
    "MemoryStore": "memorygraph.store",
    "SearchFilters": "memorygraph.search",
    "SearchHit": "memorygraph.search",
    "RecallHit": "memorygraph.search",
    "MigrationManager": "memorygraph.migration.manager",
    "MigrationOptions": "memorygraph.migration.models",
    "MigrationResult": "memorygraph.migration.models",
    "VerifyMode": "memorygraph.migration.models",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'memorygraph' has no attribute {name!r}")


__all__ = [
    "BackendConfig",
    "BackendSpec",
    "Memory",
    "MemoryContext",
    "MemoryGraphError",
    "MemoryStore",
    "MemoryType",
    "MigrationManager",
    "MigrationOptions",
    "MigrationResult",
    "RecallHit",
    "Relationship",
    "RelationshipType",
    "SearchFilters",
    "SearchHit",
    "VerifyMode",
    "Visibility",
    "__version__",
    "register_backend",
]
