"""Every backend by name, as a table of specs that imports nothing.

The built-in backends are declared here, in `BUILTIN`, each naming its class as a
"module:Class" string, so configuring a backend, describing it and listing the names
(a command line's help) never import an engine or its driver; the class is imported only when a
backend is created (`memorygraph.backends.registry.backend_class`). Backend names are
spelled here and nowhere else in the library.

Three sources of backends, looked up in this order:

* the built-in ones, `BUILTIN`;
* those registered with `register_backend(spec)`;
* those published by installed distributions in the entry-point group
  ``memorygraph.backends`` (entry-point name = backend name, value =
  "module:attribute" of a `BackendSpec`), discovered once, on the first lookup
  that needs them, and imported only when asked for by name.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from memorygraph.backends.spec import (
    BULK_INSERT,
    COPIES_OWN_STORES,
    DEFAULT_HOME,
    SNAPSHOT_READS,
    VECTORS,
    VERIFIED_ASIDE,
    BackendSpec,
    extra_hint,
    missing_dependency,
)
from memorygraph.errors import ConfigurationError, UnknownBackendError

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

#: The entry-point group third-party backends are published in.
ENTRY_POINT_GROUP = "memorygraph.backends"

#: The name of the backend used when none is named.
DEFAULT_BACKEND = "sqlite"


def _builtin(*specs: BackendSpec) -> dict[str, BackendSpec]:
    return {spec.name: spec for spec in specs}


#: The built-in backends, in the order they are listed. The driver of each but SQLite
#: comes with the extra of the same name.
BUILTIN: dict[str, BackendSpec] = _builtin(
    BackendSpec(
        name="sqlite",
        backend="memorygraph.backends.sqlite:SQLiteBackend",
        locator="path",
        environment={"path": "MEMORY_SQLITE_PATH"},
        defaults={"path": DEFAULT_HOME / "memory.db"},
        capabilities=frozenset({SNAPSHOT_READS, COPIES_OWN_STORES, BULK_INSERT, VECTORS}),
    ),
    BackendSpec(
        name="falkordb",
        backend="memorygraph.backends.falkordb:FalkorDBBackend",
        locator="uri",
        install_hint=extra_hint("falkordb"),
        environment={"uri": "FALKORDB_URI", "password": "FALKORDB_PASSWORD"},
        capabilities=frozenset({BULK_INSERT, VECTORS, VERIFIED_ASIDE}),
    ),
    BackendSpec(
        name="falkordblite",
        backend="memorygraph.backends.falkordblite:FalkorDBLiteBackend",
        locator="path",
        install_hint=extra_hint("falkordblite"),
        environment={"path": "FALKORDBLITE_PATH"},
        defaults={"path": DEFAULT_HOME / "falkordblite"},
        capabilities=frozenset({BULK_INSERT, VECTORS, VERIFIED_ASIDE}),
    ),
    BackendSpec(
        name="neo4j",
        backend="memorygraph.backends.neo4j:Neo4jBackend",
        locator="uri",
        install_hint=extra_hint("neo4j"),
        environment={
            "uri": "NEO4J_URI",
            "username": "NEO4J_USER",
            "password": "NEO4J_PASSWORD",
            "database": "NEO4J_DATABASE",
        },
        defaults={"username": "neo4j"},
        capabilities=frozenset({VECTORS}),
    ),
    BackendSpec(
        name="memgraph",
        backend="memorygraph.backends.memgraph:MemgraphBackend",
        locator="uri",
        install_hint=extra_hint("memgraph"),
        environment={
            "uri": "MEMGRAPH_URI",
            "username": "MEMGRAPH_USER",
            "password": "MEMGRAPH_PASSWORD",
        },
    ),
)

#: Every spec registered or loaded from an entry point so far, by name.
_specs: dict[str, BackendSpec] = {}
#: Entry points of the group, by name; None until first discovered.
_published: dict[str, EntryPoint] | None = None


def _entry_points() -> dict[str, EntryPoint]:
    global _published
    if _published is None:
        from importlib.metadata import entry_points

        _published = {
            ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name not in BUILTIN
        }
    return _published


def register_backend(spec: BackendSpec, *, replace: bool = False) -> BackendSpec:
    """Make `spec` reachable by its name everywhere a backend is named (configs, the
    CLI's backend option, migrations). A name already taken is refused unless `replace`;
    a built-in name is always refused."""
    if not isinstance(spec, BackendSpec):
        raise ConfigurationError(f"register_backend needs a BackendSpec, not {spec!r}")
    if spec.name in BUILTIN:
        raise ConfigurationError(f"{spec.name!r} is a built-in backend; choose another name")
    taken = _specs.get(spec.name)
    if taken is not None and taken is not spec and not replace:
        raise ConfigurationError(f"a backend named {spec.name!r} is already registered")
    _specs[spec.name] = spec
    return spec


def unregister_backend(name: str) -> None:
    """Forget a backend added by `register_backend` (built-ins stay)."""
    if name in BUILTIN:
        raise ConfigurationError(f"{name!r} is a built-in backend and cannot be removed")
    _specs.pop(name, None)


def known_to_new_processes(name: str) -> bool:
    """True when a new process knows the backend `name` (built in, or published in the
    entry-point group), so a server process started from it can open it; False for a
    backend only `register_backend` in this process added."""
    key = name.lower()
    return key in BUILTIN or key in _entry_points()


def backend_names() -> list[str]:
    """Every backend name that can be used: the built-ins first, then the others, sorted."""
    others = (set(_specs) | set(_entry_points())) - set(BUILTIN)
    return [*BUILTIN, *sorted(others)]


def loaded_specs() -> list[BackendSpec]:
    """The specs of the built-in backends and of those registered or looked up so far
    (no entry point is imported)."""
    return [*BUILTIN.values(), *(s for name, s in _specs.items() if name not in BUILTIN)]


def name_of(backend_class: type) -> str:
    """The name of the first backend (built-in, then registered) whose spec names
    `backend_class`, as the class or as its "module:Class"; `UnknownBackendError` if none."""
    path = f"{backend_class.__module__}:{backend_class.__qualname__}"
    for spec in loaded_specs():
        if spec.backend is backend_class or spec.backend == path:
            return spec.name
    raise UnknownBackendError(f"no backend is registered for {path}; register a spec for it")


def backend_spec(name: str) -> BackendSpec:
    """The spec of the backend called `name` (case and surrounding spaces ignored),
    without importing the backend.

    Raises `UnknownBackendError` listing the names there are, or
    `MissingDependencyError` when a published spec's module cannot be imported.
    """
    key = name.strip().lower()
    spec = BUILTIN.get(key) or _specs.get(key)
    if spec is not None:
        return spec
    if key not in _entry_points():
        raise UnknownBackendError(
            f"unknown backend {name!r}; choose one of: {', '.join(backend_names())}"
        )
    ep = _entry_points()[key]
    spec = _load(key, ep.value, f"the distribution that publishes {ep.value}")
    _specs[key] = spec
    return spec


def _load(name: str, target: str, install_hint: str) -> BackendSpec:
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise missing_dependency(name, e, install_hint) from e
    spec = getattr(module, attribute, None)
    if not isinstance(spec, BackendSpec) or spec.name != name:
        raise ConfigurationError(f"{target} is not the BackendSpec of a backend named {name!r}")
    return spec
