"""Backend names are spelled in the registry's table (`backends/catalog.py`) and read
from it everywhere else: no other string in the package is a backend's name, apart
from the few listed here, each for a reason that is not naming a backend."""

from __future__ import annotations

import ast
from pathlib import Path

import memorygraph
from memorygraph.backends.catalog import BUILTIN

PACKAGE = Path(memorygraph.__file__).parent
CATALOG = "backends/catalog.py"

#: (module, string) → why that string is not a backend named in code.
ELSEWHERE = {
    # A Cypher dialect's name: a language several backends may share.
    ("backends/falkordb_keys.py", "falkordb"): "the FalkorDB Cypher dialect",
    ("backends/neo4j.py", "neo4j"): "the Neo4j Cypher dialect",
    ("backends/memgraph.py", "memgraph"): "the Memgraph Cypher dialect",
    ("backends/_cypher_core.py", "falkordb"): "the FalkorDB dialect, compared",
    # The formats of the MCP memory server users migrate from, one per engine it
    # writes to; the importer's own vocabulary, matched against backend names.
    ("exchange/importers/mcp_graph.py", "falkordb"): "the mcp-falkordb format",
    ("exchange/importers/mcp_graph.py", "neo4j"): "the mcp-neo4j format",
    ("exchange/importers/mcp_graph.py", "memgraph"): "the mcp-memgraph format",
}


def backend_name_strings() -> set[tuple[str, str]]:
    """(module, string) for every string constant in the package equal to a built-in
    backend's name, outside the catalog (docstrings and messages that merely mention
    one are longer strings and do not count)."""
    names = set(BUILTIN)
    found: set[tuple[str, str]] = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        where = path.relative_to(PACKAGE).as_posix()
        if where == CATALOG:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in names:
                found.add((where, str(node.value)))
    return found


def test_backend_names_are_spelled_only_in_the_registry() -> None:
    stray = sorted(backend_name_strings() - set(ELSEWHERE))
    assert not stray, f"backend names spelled outside {CATALOG} (read them from it): {stray}"


def test_every_listed_exception_is_still_there() -> None:
    gone = sorted(set(ELSEWHERE) - backend_name_strings())
    assert not gone, f"no longer spelled there; remove from ELSEWHERE: {gone}"


def test_the_catalog_does_name_them() -> None:
    text = (PACKAGE / CATALOG).read_text()
    assert all(f'name="{name}"' in text for name in BUILTIN)
