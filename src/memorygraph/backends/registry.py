"""Backend name → class, imported lazily, with an install hint when a dependency is absent."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from memorygraph.backends.base import Backend
from memorygraph.config import BackendConfig, BackendType
from memorygraph.errors import DatabaseFileError, MissingDependencyError


@dataclass(frozen=True)
class _Entry:
    module: str
    cls: str
    install_hint: str


_REGISTRY: dict[BackendType, _Entry] = {
    BackendType.SQLITE: _Entry("memorygraph.backends.sqlite", "SQLiteBackend", "built in"),
    BackendType.FALKORDB: _Entry(
        "memorygraph.backends.falkordb", "FalkorDBBackend", "pip install 'memorygraph[falkordb]'"
    ),
    BackendType.FALKORDBLITE: _Entry(
        "memorygraph.backends.falkordblite",
        "FalkorDBLiteBackend",
        "pip install 'memorygraph[falkordblite]'",
    ),
    BackendType.NEO4J: _Entry(
        "memorygraph.backends.neo4j", "Neo4jBackend", "pip install 'memorygraph[neo4j]'"
    ),
    BackendType.MEMGRAPH: _Entry(
        "memorygraph.backends.memgraph", "MemgraphBackend", "pip install 'memorygraph[neo4j]'"
    ),
}


def backend_class(kind: BackendType) -> type[Backend]:
    """The class for `kind`, or `MissingDependencyError` with the command that installs it."""
    entry = _REGISTRY[kind]
    try:
        module = importlib.import_module(entry.module)
    except ImportError as e:
        raise MissingDependencyError(
            f"the {kind.value} backend needs the package {e.name!r}; install it with: "
            f"{entry.install_hint}"
        ) from e
    cls: type[Backend] = getattr(module, entry.cls)
    return cls


def create_backend(config: BackendConfig) -> Backend:
    """An unconnected backend for `config` (validated). Use it as `async with`."""
    return backend_class(config.backend_type)(config)


def target_exists(config: BackendConfig) -> bool:
    """False when `config` names a file or directory store that is not there yet (a dry
    run then plans against an empty store instead of creating it). Raises
    `DatabaseFileError` when its directory is missing too, as a real run would."""
    if not config.backend_type.uses_path or config.path is None:
        return True
    path = config.path.expanduser()
    if path.exists():
        return True
    if not path.parent.is_dir():
        raise DatabaseFileError(
            f"directory {path.parent} does not exist; create it or choose another path"
        )
    return False
