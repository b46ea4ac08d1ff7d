"""The base of the Cypher backends: the hooks an engine supplies (`_run`,
`_create_schema`), the check that a graph is memorygraph's own, records encoded
as node and edge properties and decoded again, and statements run over ids by key.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, TypeVar

import orjson

from memorygraph.backends._cypher_layout import (
    INTERNAL,
    MEMORY_FIELDS,
    MEMORY_KNOWN,
    MEMORY_LABEL,
    OWN_EDGE_TYPES,
    OWN_LABELS,
    OWN_NODE_MARKERS,
    RELATIONSHIP_FIELDS,
    RELATIONSHIP_KNOWN,
    CypherDialect,
    chunks,
    encode_memory,
    encode_relationship,
    quoted,
)
from memorygraph.backends.base import Backend
from memorygraph.canonical import CanonicalRecord
from memorygraph.errors import (
    BackendOperationError,
    ForeignGraphError,
    InvalidRecordError,
    NextStep,
)
from memorygraph.models import Memory, Relationship

T = TypeVar("T")


class CypherCore(Backend):
    """What every part of `CypherBackend` builds on: the engine's hooks, refusing a
    graph another tool wrote, records encoded and decoded, and reads by key."""

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
            if await self._run(f"MATCH (n:`{quoted(label)}`) RETURN 1 LIMIT 1"):
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
            if await self._run(f"MATCH ()-[r:`{quoted(edge_type)}`]->() RETURN 1 LIMIT 1"):
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
        data = {name: props.get(name) for name in MEMORY_FIELDS}
        if not props.keys() <= MEMORY_KNOWN:  # a property that is no field: kept, to differ
            data.update((k, v) for k, v in props.items() if k not in INTERNAL)
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
        data = {name: props.get(name) for name in RELATIONSHIP_FIELDS}
        if not props.keys() <= RELATIONSHIP_KNOWN:  # a property that is no field: kept
            data.update((k, v) for k, v in props.items() if k not in INTERNAL)
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

    def _keys(self, ids: Iterable[str]) -> list[str]:
        """The engine keys of `ids`, duplicates dropped."""
        return [self.dialect.encode_key(i) for i in dict.fromkeys(ids)]

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
