"""Backend name → `BackendSpec` → backend class → an unconnected backend.

The specs and their names are in `memorygraph.backends.catalog`, which imports
nothing (re-exported here, so this is the one place to look a backend up). This
module turns a spec into its class: importing a "module:Class" imports the engine's
module, and with it its driver; a missing driver gives `MissingDependencyError` with
the install command.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from memorygraph.backends.catalog import BUILTIN as BUILTIN
from memorygraph.backends.catalog import DEFAULT_BACKEND as DEFAULT_BACKEND
from memorygraph.backends.catalog import ENTRY_POINT_GROUP as ENTRY_POINT_GROUP
from memorygraph.backends.catalog import backend_names as backend_names
from memorygraph.backends.catalog import backend_spec as backend_spec
from memorygraph.backends.catalog import known_to_new_processes as known_to_new_processes
from memorygraph.backends.catalog import loaded_specs as loaded_specs
from memorygraph.backends.catalog import name_of as name_of
from memorygraph.backends.catalog import register_backend as register_backend
from memorygraph.backends.catalog import unregister_backend as unregister_backend
from memorygraph.backends.spec import BackendSpec, missing_dependency
from memorygraph.errors import ConfigurationError, DatabaseFileError

if TYPE_CHECKING:
    from memorygraph.backends.base import Backend
    from memorygraph.config import BackendConfig


def load_backend_class(spec: BackendSpec) -> type[Backend]:
    """The class `spec` names, imported now if it was given as "module:Class".

    A missing engine driver raises `MissingDependencyError` naming the package and
    the command that installs it; a name that is not a `Backend` subclass raises
    `ConfigurationError`.
    """
    # Deferred: the contract (and what it imports) loads only when a backend is made.
    from memorygraph.backends.base import Backend

    target: object = spec.backend
    if isinstance(spec.backend, str):
        module_name, _, attribute = spec.backend.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as e:
            raise missing_dependency(spec.name, e, spec.install_hint) from e
        target = getattr(module, attribute, None)
    if not (isinstance(target, type) and issubclass(target, Backend)):
        raise ConfigurationError(
            f"{spec.backend!r} is not a Backend class; the {spec.name} backend cannot be made"
        )
    return target


def backend_class(name: str) -> type[Backend]:
    """The class of the backend called `name` (see `backend_spec` and
    `load_backend_class` for the errors)."""
    return load_backend_class(backend_spec(name))


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
