"""The graph the memorygraph MCP server keeps in FalkorDB, Neo4j or Memgraph, read in place.

Layout (the server's own, 0.12.x): one ``:Memory`` node per memory with flat
properties (`id`, `type`, `title`, `content`, `tags`, `importance`, …, and the
context as ``context_*`` keys: lists of scalars as lists, maps and other lists
as JSON text, timestamps as ISO text); one edge per relationship whose *type*
is the relationship type (``:SOLVES``), with the relationship's fields as
properties and the server's own `id`. Timestamps it did not turn into text
(``valid_from``, ``recorded_at``, ``valid_until``) are native date-times on
Neo4j. It keeps both in the graph name ``memorygraph`` (FalkorDB) or the
configured database (Neo4j, Memgraph), which is why memorygraph's own backends
refuse such a graph (`memorygraph.backends._cypher.CypherBackend.foreign_content`).

The graph is opened read-only with memorygraph's own backend for that engine
(`accept_foreign_graph`), so connection handling, timeouts and error messages
are the same as everywhere else. Memories are read in id order, page by page.
Relationship ids are derived exactly as for the server's SQLite file and JSON
export (docs/FORMAT.md), so importing the same store from any of them gives
each relationship once; `invalidated_by` naming an edge of the graph is rewritten
to that edge's derived id.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

from memorygraph.backends._cypher import CypherBackend
from memorygraph.backends.registry import create_backend
from memorygraph.config import BackendConfig
from memorygraph.errors import UsageError
from memorygraph.exchange.export import ExportWriter
from memorygraph.exchange.importers._common import (
    ConversionReport,
    Unmappable,
    derived_relationship_id,
    memory_from_mcp,
    relationship_from_mcp,
)
from memorygraph.exchange.importers.mcp_sqlite import write_memories, write_relationships
from memorygraph.idindex import IdIndex
from memorygraph.models import Memory, Relationship

#: Source format names, one per engine (the report's `source_format`).
NAMES: Final = {
    "falkordb": "mcp-falkordb",
    "neo4j": "mcp-neo4j",
    "memgraph": "mcp-memgraph",
}
#: The engines this importer reads a graph from.
ENGINES: Final = tuple(NAMES)
_PAGE: Final = 1000
_LABEL: Final = "Memory"


def source_name(config: BackendConfig) -> str:
    """The format name for a graph at `config` (`UsageError` for an engine it cannot read)."""
    try:
        return NAMES[config.backend_type]
    except KeyError:
        raise UsageError(
            f"{config.backend_type} is not a graph server the memorygraph MCP server "
            f"writes; choose one of: {', '.join(ENGINES)}",
            field="from_graph",
        ) from None


def open_source(config: BackendConfig) -> CypherBackend:
    """memorygraph's backend for the engine at `config`, read-only, accepting the foreign graph."""
    source_name(config)
    backend = create_backend(config.read_only_copy())
    assert isinstance(backend, CypherBackend)
    backend.accept_foreign_graph = True
    return backend


def _plain(value: Any) -> Any:
    """An engine value as plain Python: Neo4j's temporal types become `datetime`."""
    to_native = getattr(value, "to_native", None)
    if callable(to_native):
        return to_native()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _props(raw: Any) -> dict[str, Any]:
    return {str(k): _plain(v) for k, v in dict(raw).items()}


def _rank(valid_until: Any, strength: Any, rel_id: str) -> tuple[bool, float, str]:
    """The order that picks, of edges with the same (from, type, to), the one the
    server's JSON export carries: still valid, then strongest, then lowest id."""
    try:
        weight = float(strength) if strength is not None else 0.0
    except (TypeError, ValueError):
        weight = 0.0
    return (valid_until is not None, -weight, rel_id)


async def convert(
    source: CypherBackend, writer_for: Callable[[], ExportWriter], report: ConversionReport
) -> None:
    """Write every memory node, then every edge between two, of the graph `source` reads."""
    fallback = datetime.now(UTC)
    writer = writer_for()
    await _count_other_nodes(source, report)
    with IdIndex() as written:
        after: str | None = None
        while True:
            where = "WHERE m.id > $after " if after is not None else "WHERE m.id IS NOT NULL "
            rows = await source._run(
                f"MATCH (m:{_LABEL}) {where}WITH m ORDER BY m.id LIMIT {_PAGE} "
                "RETURN collect(properties(m))",
                {"after": after} if after is not None else None,
            )
            page = [_props(p) for p in (rows[0][0] if rows else [])]
            batch: list[Memory] = []
            for props in page:
                try:
                    batch.append(memory_from_mcp(props, report, default_time=fallback, where=""))
                except Unmappable as e:
                    report.skip("memory nodes that are not valid", f"node {props['id']!r}: {e}")
            write_memories(writer, written, batch, report)
            if len(page) < _PAGE:
                break
            after = str(page[-1]["id"])

        chosen = await _first_of_each_triple(source)
        ends: dict[str, tuple[str, str, str]] = {}
        for (start, rel_type, end), (first_id, others) in chosen.items():
            for rel_id in (first_id, *others):
                ends[rel_id] = (start, rel_type, end)

        def derived(rel_id: str) -> str:
            start, rel_type, end = ends[rel_id]
            if chosen[(start, rel_type, end)][0] == rel_id:
                return derived_relationship_id(start, rel_type, end)
            return derived_relationship_id(start, rel_type, end, rel_id)

        after = None
        while True:
            where = "WHERE r.id > $after " if after is not None else "WHERE r.id IS NOT NULL "
            rows = await source._run(
                f"MATCH (a:{_LABEL})-[r]->(b:{_LABEL}) {where}"
                f"WITH a, r, b ORDER BY r.id LIMIT {_PAGE} "
                "RETURN collect([a.id, type(r), b.id, properties(r)])",
                {"after": after} if after is not None else None,
            )
            edges = rows[0][0] if rows else []
            rels: list[Relationship] = []
            for start, rel_type, end, raw in edges:
                props = _props(raw)
                own_id = str(props.pop("id"))
                if start is None or end is None:
                    report.skip("edges whose ends have no id", f"edge {own_id!r}")
                    continue
                invalidated_by = props.get("invalidated_by")
                if isinstance(invalidated_by, str) and invalidated_by in ends:
                    props["invalidated_by"] = derived(invalidated_by)
                    report.adjust(
                        "invalidated_by naming a relationship of the graph, "
                        "rewritten to that relationship's derived id"
                    )
                try:
                    rels.append(
                        relationship_from_mcp(
                            {"id": derived(own_id), "from_id": start, "to_id": end,
                             "type": rel_type},
                            props,
                            report,
                            default_time=fallback,
                        )
                    )  # fmt: skip
                except Unmappable as e:
                    report.skip("relationships that are not valid", f"edge {own_id!r}: {e}")
            write_relationships(writer, written, rels, report)
            if len(edges) < _PAGE:
                break
            after = str(edges[-1][3]["id"])
    await _count_other_edges(source, report)
    if report.relationships:
        report.notes.append(
            "relationship ids are derived from (from, type, to), as for the server's "
            "SQLite file and JSON export; the graph's own relationship ids are not kept"
        )


async def _first_of_each_triple(
    source: CypherBackend,
) -> dict[tuple[str, str, str], tuple[str, list[str]]]:
    """(from, type, to) → (the id of the edge the server's export carries, the others)."""
    rows = await source._run(
        f"MATCH (a:{_LABEL})-[r]->(b:{_LABEL}) WHERE r.id IS NOT NULL "
        "RETURN collect([a.id, type(r), b.id, r.id, r.valid_until, r.strength])"
    )
    groups: dict[tuple[str, str, str], list[tuple[tuple[bool, float, str], str]]] = {}
    for start, rel_type, end, rel_id, valid_until, strength in rows[0][0] if rows else []:
        if start is None or end is None:
            continue
        key = (str(start), str(rel_type), str(end))
        groups.setdefault(key, []).append((_rank(valid_until, strength, str(rel_id)), str(rel_id)))
    chosen: dict[tuple[str, str, str], tuple[str, list[str]]] = {}
    for key, members in groups.items():
        ordered = [rel_id for _, rel_id in sorted(members)]
        chosen[key] = (ordered[0], ordered[1:])
    return chosen


async def _count_other_nodes(source: CypherBackend, report: ConversionReport) -> None:
    rows = await source._run(
        f"MATCH (n) WHERE NOT n:{_LABEL} OR n.id IS NULL RETURN labels(n), count(*)"
    )
    for labels, count in rows:
        names = ":".join(sorted(str(label) for label in labels)) or "(none)"
        what = (
            f"{_LABEL} nodes without an id"
            if _LABEL in labels
            else f"nodes labelled {names} (not memories)"
        )
        report.skip(what, count=int(count))


async def _count_other_edges(source: CypherBackend, report: ConversionReport) -> None:
    rows = await source._run(
        f"MATCH (a)-[r]->(b) WHERE NOT (a:{_LABEL} AND b:{_LABEL}) OR r.id IS NULL RETURN count(r)"
    )
    count = int(rows[0][0]) if rows else 0
    if count:
        report.skip("edges without an id or not between two memories", count=count)
