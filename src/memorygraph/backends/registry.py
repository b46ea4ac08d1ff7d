"""Backend name → `BackendSpec` → backend class, each imported only when first needed.

Three sources of backends, looked up in this order:

* the built-in ones, `BUILTIN` (name → "module:attribute" of the module's `SPEC`);
* those registered with `register_backend(spec)`;
* those published by installed distributions in the entry-point group
  ``memorygraph.backends`` (entry-point name = backend name, value =
  "module:attribute" of a `BackendSpec`), discovered once, on the first lookup
  that needs them, and imported only when asked for by name.

Importing a built-in spec imports its module, and with it the engine's driver;
a missing driver gives `MissingDependencyError` with the install command.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from memorygraph.backends.spec import BackendSpec, extra_hint, missing_dependency
from memorygraph.errors import ConfigurationError, DatabaseFileError, UnknownBackendError

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    from memorygraph.backends.base import Backend
    from memorygraph.config import BackendConfig

#: The entry-point group third-party backends are published in.
ENTRY_POINT_GROUP = "memorygraph.backends"

#: The built-in backends, in the order they are listed: name → "module:attribute" of
#: the spec. The engine's driver comes with the extra of the same name.
BUILTIN: dict[str, str] = {
    "sqlite": "memorygraph.backends.sqlite:SPEC",
    "falkordb": "memorygraph.backends.falkordb:SPEC",
    "falkordblite": "memorygraph.backends.falkordblite:SPEC",
    "neo4j": "memorygraph.backends.neo4j:SPEC",
    "memgraph": "memorygraph.backends.memgraph:SPEC",
}

#: Every spec loaded or registered so far, by name.
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
    """The specs this process has looked up or registered so far (nothing is imported)."""
    return list(_specs.values())


def backend_spec(name: str) -> BackendSpec:
    """The spec of the backend called `name` (case and surrounding spaces ignored).

    Raises `UnknownBackendError` listing the names there are, or
    `MissingDependencyError` when a built-in backend's driver is not installed.
    """
    key = name.strip().lower()
    spec = _specs.get(key)
    if spec is not None:
        return spec
    if key in BUILTIN:
        spec = _load(key, BUILTIN[key], extra_hint(key))
    elif key in _entry_points():
        ep = _entry_points()[key]
        spec = _load(key, ep.value, f"the distribution that publishes {ep.value}")
    else:
        raise UnknownBackendError(
            f"unknown backend {name!r}; choose one of: {', '.join(backend_names())}"
        )
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


def backend_class(name: str) -> type[Backend]:
    """The class of the backend called `name` (see `backend_spec` for the errors)."""
    return backend_spec(name).load()


def create_backend(config: BackendConfig) -> Backend:
    """An unconnected backend for `config` (validated). Use it as `async with`."""
    return backend_class(config.backend_type)(config)


def target_exists(config: BackendConfig) -> bool:
    """False when `config` names a file or directory store that is not there yet (a dry
    run then plans against an empty store instead of creating it). Raises
    `DatabaseFileError` when its directory is missing too, as a real run would."""
    if not config.spec.uses_path or config.path is None:
        return True
    path = config.path.expanduser()
    if path.exists():
        return True
    if not path.parent.is_dir():
        raise DatabaseFileError(
            f"directory {path.parent} does not exist; create it or choose another path"
        )
    return False
