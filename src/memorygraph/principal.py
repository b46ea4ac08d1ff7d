"""Who is asking: the principal a library operation runs for.

Every operation of `MemoryStore` runs for one `Principal`: its name (what
`context.created_by` records), the namespaces it may read and write, and its
scopes. The CLI and the stdio server run as `LOCAL`, which holds every
namespace and every scope; the HTTP server builds one principal per request
from the caller's token. Namespaces are kept in a memory's `context.tenant_id`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Scope = Literal["read", "write", "admin"]

#: Every scope, in the order a token lists them.
SCOPES: tuple[Scope, ...] = ("read", "write", "admin")


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

    @property
    def unrestricted(self) -> bool:
        """True when no namespace is closed to this principal."""
        return self.namespaces is None

    def may(self, scope: Scope) -> bool:
        """True when this principal holds `scope`."""
        return scope in self.scopes


#: The one implicit principal of the CLI, the stdio server and Python users.
LOCAL = Principal(name="local")
