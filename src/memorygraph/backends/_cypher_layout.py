"""The storage layout the Cypher backends share, and the pieces of statement text
that spell it: labels and internal property names, the `CypherDialect` of an engine,
a record encoded as node or edge properties, and namespace conditions.

Storage layout (the same on every engine):

* a node ``(:Memory)`` per memory with scalar properties. Timestamps are the
  canonical text of `format_timestamp` (fixed width, UTC), so ``since``
  filters and keyset pagination compare strings. ``changed_at`` holds
  `Memory.changed_at` for ``since``. ``tags`` is a native list of strings (so
  search can look into it); ``context`` is JSON text (no engine here stores
  maps as properties the same way, Neo4j not at all).
* an edge ``[:RELATIONSHIP]`` per relationship with ``type`` as a property.
  Only memorygraph writes these edges, always between two ``Memory`` nodes, so
  edge queries leave the end labels out: FalkorDB plans
  ``(a:Memory)-[r {key}]->(b:Memory)`` as a label scan of ``a`` followed by an
  edge index scan *per node* (quadratic: 280 s for one page of 40,000 edges),
  but ``(a)-[r {key}]->(b)`` as one edge index scan.
  One edge label, not one per relationship type, because every engine indexes
  edge properties *per label*: with one label, a single index/constraint on
  ``id`` makes every edge lookup by id an index seek (`MATCH ()-[r:RELATIONSHIP
  {id: $id}]->()`), without knowing the type. With 35 labels a lookup by id
  would have to try 35 indexes, and a new type would need a new index. The
  price is that type filters compare a property, which `neighbours` only does
  on the few edges of one node.
* Search: each memory node also holds ``_st`` and ``_sb``, its title and body
  as indexed text (`memorygraph.search.text`), and ``_project`` (the context's
  project path); the engine's full-text index covers ``_st`` and ``_sb``.
  Engines without one (`fulltext_source` returns None) match by scanning.
* Namespaces: each memory node holds ``_ns``, its namespace
  (`memorygraph.principal.namespace_of`), copied out of the context's JSON text
  so a read given `Namespaces` can filter on it in the statement; a relationship
  is seen when both its ends are. A writable connect gives nodes written before
  ``_ns`` existed theirs (`_complete_namespaces`); until then (read-only) such a
  node is seen by no read that names namespaces.
* Floats: where the engine rounds doubles on the way out (FalkorDB prints 15
  significant digits), their exact values are also kept as JSON text in
  ``_floats`` and preferred on read; the native property stays for ordering.

Graphs of other tools: memorygraph writes only ``:Memory`` nodes carrying
``changed_at`` and ``_st`` and ``:RELATIONSHIP`` edges (`OWN_LABELS`,
`OWN_EDGE_TYPES`, `OWN_NODE_MARKERS`). At connect, before it creates any
index or writes anything, a backend looks for anything else in the graph
(`foreign_content`) and refuses the graph with `ForeignGraphError` naming the
importer that reads it (the memorygraph MCP server, for one, writes ``:Memory``
nodes with flat ``context_*`` properties and one edge type per relationship
type into the same graph name). Only that importer opens such a graph, read-only,
with `accept_foreign_graph`.

Change times and tombstones: every write sets ``_written`` on each node and
edge it writes to the store's clock at that write (`Backend` explains why);
``since`` compares it (``changed_at`` where a graph written before it lacks it).
A deletion creates one ``(:MemorygraphTombstone {kind, id, _key, deleted_at})``
node per record deleted; that label is matched by nothing but the tombstone
queries, so tombstones are never counted, iterated or searched as records.

Writes are batched with ``UNWIND $rows``: one statement per batch of up to
`CypherDialect.write_batch_size` records (fewer when the records are large).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson

from memorygraph.canonical import CanonicalRecord
from memorygraph.models import Memory, Relationship
from memorygraph.principal import DEFAULT_NAMESPACE, Namespaces

MEMORY_LABEL = "Memory"
EDGE_LABEL = "RELATIONSHIP"
TOMBSTONE_LABEL = "MemorygraphTombstone"
#: The store's clock at a record's last write: what `since` compares.
WRITTEN = "_written"

#: Candidates asked of an engine's (approximate) vector index per result wanted; they
#: are scored again exactly (see `vector_search`).
VECTOR_OVERFETCH = 4
MEMORY_FLOATS = ("importance", "confidence", "effectiveness")
RELATIONSHIP_FLOATS = ("strength", "confidence", "success_rate")
#: Internal properties that are not fields of the record.
INTERNAL = (
    "changed_at", "_floats", "_key", "_st", "_sb", "_project", "_ns", WRITTEN, "_vec", "_vec_model"
)  # fmt: skip
#: Set and removed within one compare-and-set statement (never committed): setting a
#: property takes the record's write lock before its `_written` is compared, on
#: engines that run statements concurrently (Neo4j, Memgraph).
LOCK = "_lock"
#: The derived search fields (memorygraph.search.text.field_texts): title and body.
TITLE_TERMS, BODY_TERMS = "_st", "_sb"
#: `context.project_path`, copied out of the JSON text so search can filter on it.
PROJECT = "_project"
#: The memory's namespace (`context.tenant_id` or the default), so reads can filter on it.
NAMESPACE = "_ns"

#: Node labels and edge types memorygraph writes; a graph holding others is not its own.
OWN_LABELS: frozenset[str] = frozenset({MEMORY_LABEL, TOMBSTONE_LABEL})
OWN_EDGE_TYPES: frozenset[str] = frozenset({EDGE_LABEL})
#: Properties every memory node memorygraph writes carries: a node with none of them
#: was written by another tool.
OWN_NODE_MARKERS: tuple[str, ...] = ("changed_at", TITLE_TERMS)

T = TypeVar("T")

#: What a read returns of a memory node: its fields and exact floats, not the search
#: terms (`_st`, `_sb`), which are larger than the memory and never read back.
#: A property the node lacks comes back as null, which the decoding expects.
MEMORY_VALUES = "m {" + ", ".join(f".`{name}`" for name in (*Memory.model_fields, "_floats")) + "}"
MEMORY_VALUES_OF_X = "x" + MEMORY_VALUES[1:]


#: The fields of each kind, and every property name a node or edge of it may hold.
MEMORY_FIELDS: tuple[str, ...] = tuple(Memory.model_fields)
RELATIONSHIP_FIELDS: tuple[str, ...] = tuple(Relationship.model_fields)
MEMORY_KNOWN = frozenset(MEMORY_FIELDS) | frozenset(INTERNAL)
RELATIONSHIP_KNOWN = frozenset(RELATIONSHIP_FIELDS) | frozenset(INTERNAL)


def _same(record_id: str) -> str:
    return record_id


def namespace_of_context(context: dict[str, Any] | None) -> str:
    """The namespace of a memory with this (decoded) context."""
    tenant = context.get("tenant_id") if context else None
    return tenant if isinstance(tenant, str) else DEFAULT_NAMESPACE


def in_namespaces(
    namespaces: Namespaces | None, *variables: str
) -> tuple[list[str], dict[str, Any]]:
    """Conditions that each memory node variable is in `namespaces`, and their
    parameter; none when every namespace is seen."""
    if namespaces is None:
        return [], {}
    return [f"{v}.{NAMESPACE} IN $namespaces" for v in variables], {
        "namespaces": list(namespaces.names)
    }


def where_clause(conditions: list[str]) -> str:
    return (" WHERE " + " AND ".join(conditions)) if conditions else ""


@dataclass(frozen=True)
class CypherDialect:
    """What differs between Cypher engines, beyond how a statement is run."""

    name: str
    #: Most records per write statement; measured, see benchmarks/backend_writes.py.
    write_batch_size: int = 2000
    #: Most ids per read-by-id statement, and the default page size.
    read_batch_size: int = 2000
    #: Rough cap on the text in one write statement, so batches of 1 MB memories stay sane.
    max_batch_bytes: int = 16 * 1024 * 1024
    #: False when the engine returns doubles rounded (then exact values go in `_floats`).
    exact_floats: bool = True
    #: Rows deleted per statement by `clear`, so one transaction stays bounded.
    clear_chunk: int = 10_000
    #: The indexed, unique property that identifies a record, and how an id maps to it.
    #: Normally the id itself; see FalkorDB for why an engine may need an encoded copy.
    key_property: str = "id"
    encode_key: Callable[[str], str] = _same


def encode_memory(dialect: CypherDialect, memory: CanonicalRecord) -> dict[str, Any]:
    """The node properties an engine of `dialect` stores for `memory` (no `_written`)."""
    row = dict(memory.data)
    context = row.get("context")
    row["context"] = None if context is None else orjson.dumps(context).decode()
    row["changed_at"] = memory.changed_at
    row[dialect.key_property] = dialect.encode_key(memory.id)
    row[TITLE_TERMS], row[BODY_TERMS] = memory.search_fields()
    row[PROJECT] = context.get("project_path") if context else None
    row[NAMESPACE] = namespace_of_context(context)
    if not dialect.exact_floats:
        row["_floats"] = orjson.dumps({k: row[k] for k in MEMORY_FLOATS}).decode()
    return row


def encode_relationship(dialect: CypherDialect, relationship: CanonicalRecord) -> dict[str, Any]:
    """``{"key", "from", "to", "props"}``: the edge an engine of `dialect` stores for
    `relationship`, its ends by key (no `_written`)."""
    props = dict(relationship.data)
    from_id, to_id = props.pop("from_id"), props.pop("to_id")
    props["changed_at"] = relationship.changed_at
    key = dialect.encode_key
    props[dialect.key_property] = key(relationship.id)
    if not dialect.exact_floats:
        props["_floats"] = orjson.dumps({k: props[k] for k in RELATIONSHIP_FLOATS}).decode()
    return {"key": key(relationship.id), "from": key(from_id), "to": key(to_id), "props": props}


def quoted(name: str) -> str:
    """`name` for use between backticks in a statement."""
    return name.replace("`", "``")


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """`items` in consecutive slices of at most `size`."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
