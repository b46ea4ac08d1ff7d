"""The adapters and the operations reach records through the store, never through the
backend it wraps: `store.backend` is the store's own business."""

from __future__ import annotations

import ast
from pathlib import Path

import memorygraph

PACKAGE = Path(memorygraph.__file__).parent
OUTSIDE_THE_STORE = ("cli", "mcp_server", "ui", "ops")
#: Still to move behind the store: the export and import tools hand the backend on to
#: the exchange operations, which accept a backend or a configuration.
KNOWN = {("mcp_server/migration_tools.py", 2)}


def backend_accesses(source: str) -> int:
    """How many times `source` reads an attribute named `backend` of something."""
    return sum(
        1
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Attribute) and node.attr == "backend"
    )


def test_a_backend_access_is_counted() -> None:
    assert backend_accesses("x = state.store.backend.config\ny = store.backend") == 2
    assert backend_accesses("backend = 1\nstore.describe()") == 0


def test_no_adapter_or_operation_reaches_past_the_store() -> None:
    found = {
        (path.relative_to(PACKAGE).as_posix(), count)
        for group in OUTSIDE_THE_STORE
        for path in sorted((PACKAGE / group).rglob("*.py"))
        if (count := backend_accesses(path.read_text()))
    }
    assert found <= KNOWN, f"backend reached outside the store: {sorted(found - KNOWN)}"
