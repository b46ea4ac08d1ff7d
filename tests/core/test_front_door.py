"""The adapters and the operations reach records through the store, never through the
backend it wraps: `store.backend` is the store's own business."""

from __future__ import annotations

import ast
from pathlib import Path

import memorygraph

PACKAGE = Path(memorygraph.__file__).parent
#: Everything but the store and the backends (and the packaged contract suite, which
#: checks what a backend holds): the store hands its backend only to the pipelines
#: that move whole records (`memorygraph.store.records_backend`).
OUTSIDE_THE_STORE = ("cli", "mcp_server", "ui", "ops", "search", "exchange", "migration")
KNOWN: set[tuple[str, int]] = set()


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
    outside = [p for group in OUTSIDE_THE_STORE for p in sorted((PACKAGE / group).rglob("*.py"))]
    outside += [p for p in PACKAGE.glob("*.py") if p.name != "store.py"]
    found = {
        (path.relative_to(PACKAGE).as_posix(), count)
        for path in outside
        if (count := backend_accesses(path.read_text()))
    }
    assert found <= KNOWN, f"backend reached outside the store: {sorted(found - KNOWN)}"
