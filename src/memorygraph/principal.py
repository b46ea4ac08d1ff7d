"""Who is asking: the principal a library operation runs for, and what it may see.

Every operation of `MemoryStore` runs for one `Principal`: its name (what
`context.created_by` records), the namespaces it may read and write, and its
scopes. The CLI and the stdio server run as `LOCAL`, which holds every
namespace and every scope; the HTTP server builds one principal per request
from the caller's token.

A memory's namespace is its `context.tenant_id`; a memory without one is in
`DEFAULT_NAMESPACE`. A relationship belongs to the namespace of its ends (a
relationship across namespaces is refused). Reads take the principal's
`Namespaces` (None for one that may see everything) down to the backend,
which filters in its own query, so a memory of another namespace looks
exactly like a missing one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from memorygraph.errors import ForbiddenError, UsageError
from memorygraph.models import Memory

Scope = Literal["read", "write", "admin"]

#: Every scope, in the order a token lists them.
SCOPES: tuple[Scope, ...] = ("read", "write", "admin")

#: The namespace of a memory whose context names no `tenant_id`.
DEFAULT_NAMESPACE = "default"


def namespace_of(memory: Memory) -> str:
    """The namespace `memory` belongs to."""
    tenant = memory.context.tenant_id if memory.context is not None else None
    return tenant if tenant is not None else DEFAULT_NAMESPACE


@dataclass(frozen=True)
class Namespaces:
    """The namespaces a read may see: what a backend puts into its query (a memory
    is seen when its namespace is one of `names`; a relationship when both ends are)."""

    names: tuple[str, ...]

    def holds(self, namespace: str) -> bool:
        """True when `namespace` is one of these."""
        return namespace in self.names

    def sees(self, memory: Memory) -> bool:
        """True when `memory` is in one of these namespaces."""
        return namespace_of(memory) in self.names

    @property
    def default_included(self) -> bool:
        """True when memories without a `tenant_id` are seen."""
        return DEFAULT_NAMESPACE in self.names


@dataclass(frozen=True)
class Principal:
    """A caller of the library.

    `namespaces` is None for a principal that may reach every namespace (the
    local user); otherwise the namespaces it holds, the first being where its
    writes go unless a call names another it holds.
    """

    name: str
    namespaces: tuple[str, ...] | None = None
    scopes: frozenset[Scope] = frozenset(SCOPES)

    def __post_init__(self) -> None:
        if self.namespaces is not None and not self.namespaces:
            raise UsageError(f"principal {self.name!r} holds no namespace; give it at least one")

    @property
    def unrestricted(self) -> bool:
        """True when no namespace is closed to this principal."""
        return self.namespaces is None

    @property
    def reads(self) -> Namespaces | None:
        """What this principal's reads may see; None for every namespace."""
        return None if self.namespaces is None else Namespaces(self.namespaces)

    def may(self, scope: Scope) -> bool:
        """True when this principal holds `scope`."""
        return scope in self.scopes

    def require(self, scope: Scope, operation: str) -> None:
        """Raise `ForbiddenError` (nothing done) unless this principal holds `scope`."""
        if not self.may(scope):
            raise ForbiddenError(
                f"{self.name!r} may not {operation}: that needs the {scope} scope; nothing was done"
            )

    def require_whole_store(self, operation: str) -> None:
        """Raise `ForbiddenError` (nothing done) unless this principal holds "admin" and
        every namespace: what an operation moving a whole store's records needs."""
        self.require("admin", operation)
        if self.namespaces is not None:
            raise ForbiddenError(
                f"{self.name!r} may not {operation}: that moves the records of every "
                f"namespace, and it holds only {', '.join(self.namespaces)}; nothing was done"
            )

    def write_namespace(self, requested: str | None) -> str | None:
        """The namespace a new memory goes to: `requested` if this principal holds it,
        else its first namespace; None for an unrestricted principal that names none
        (the memory keeps whatever its context says)."""
        if requested is not None and not requested.strip():
            raise UsageError(
                "namespace must not be empty; leave it out or name one", field="namespace"
            )
        if self.namespaces is None:
            return requested
        if requested is None:
            return self.namespaces[0]
        if requested not in self.namespaces:
            held = ", ".join(self.namespaces)
            raise ForbiddenError(
                f"namespace {requested!r} is not one {self.name!r} holds ({held}); "
                "nothing was written",
                field="namespace",
            )
        return requested


#: The one implicit principal of the CLI, the stdio server and Python users.
LOCAL = Principal(name="local")
