"""Memgraph backend: Bolt via the `neo4j` driver, with Memgraph's schema dialect.

Status, honestly: no Memgraph server can be installed on the machine this was
written on (no registry here ships one), so this module has NOT been run
against Memgraph. It is written from Memgraph's documentation
(memgraph.com/docs, "Indexes" and "Constraints") and runs the same contract
suite as every other backend whenever ``MEMGRAPH_URI`` points at a server; the
tests are skipped, saying so, otherwise. Differences from Neo4j it relies on:

* Index and constraint syntax: ``CREATE INDEX ON :Memory(id)`` and
  ``CREATE CONSTRAINT ON (m:Memory) ASSERT m.id IS UNIQUE``. A Memgraph
  uniqueness constraint does not create an index, so both are made. There is
  no ``IF NOT EXISTS``; re-creating an existing index or constraint is reported
  as "already exists" (a notice or an error depending on version), which is
  ignored here.
* Edges: Memgraph has no uniqueness constraint on edge properties. An
  edge-type property index, ``CREATE EDGE INDEX ON :RELATIONSHIP(id)``, needs
  the server flag ``--storage-properties-on-edges=true`` (Memgraph's default)
  and Memgraph 2.18 or newer; if the server refuses it, connect still succeeds
  (edges then lookup by scan, slower on big graphs) and `connection_warnings()`
  says why. Memgraph's docs say "named parameters are not supported" for edge-type
  property indexes, so a lookup written with ``$param`` may not use it; ours
  bind the id through ``UNWIND`` (a variable), which the docs neither promise
  nor rule out. Uniqueness of relationship ids is kept by the writer instead:
  every relationship write deletes any edge with the same id first.
* Schema commands cannot run inside an explicit transaction, so they run as
  auto-commit statements (`BoltBackend._run_schema`).
* Indexes are built synchronously (there is no ``db.awaitIndexes``).
* No ``elementId()`` / ``id()`` is used anywhere: records are found by their
  own ``id`` property only.
* Search does not use an index: Memgraph's text index (``CREATE TEXT INDEX``,
  Tantivy-based) needs the ``--experimental-enabled=text-search`` server flag
  and its documented query syntax has no prefix query, so search tests the
  derived ``_st``/``_sb`` properties by scanning (`CypherBackend._scan_condition`,
  the same matching rules; tested on FalkorDB and Neo4j). Fine for tens of
  thousands of memories; slower than the other engines beyond.
"""

from __future__ import annotations

from typing import ClassVar

from memorygraph.backends._cypher_layout import EDGE_LABEL, MEMORY_LABEL, CypherDialect
from memorygraph.backends.neo4j import BoltBackend
from memorygraph.config import BackendConfig
from memorygraph.errors import BackendOperationError


def _already_exists(error: BackendOperationError) -> bool:
    return "already exists" in str(error).lower()


class MemgraphBackend(BoltBackend):
    """Memories in a Memgraph database (see the module docstring for what is unverified)."""

    dialect: ClassVar[CypherDialect] = CypherDialect(name="memgraph")

    def __init__(self, config: BackendConfig) -> None:
        super().__init__(config)
        #: Why an optional part of the schema could not be created (empty when all is well).
        self._schema_problems: list[str] = []

    def connection_warnings(self) -> list[str]:
        return [*super().connection_warnings(), *self._schema_problems]

    async def _create_schema(self) -> None:
        self._schema_problems = []
        for statement in (
            f"CREATE INDEX ON :{MEMORY_LABEL}(id)",
            f"CREATE CONSTRAINT ON (m:{MEMORY_LABEL}) ASSERT m.id IS UNIQUE",
        ):
            try:
                await self._run_schema(statement)
            except BackendOperationError as e:
                if not _already_exists(e):
                    raise
        try:
            await self._run_schema(f"CREATE EDGE INDEX ON :{EDGE_LABEL}(id)")
        except BackendOperationError as e:
            if not _already_exists(e):
                # Older servers, or properties on edges switched off: still usable.
                self._schema_problems.append(f"no index on relationship ids: {e}")

    async def _labels_and_types(self) -> tuple[list[str], list[str]]:
        # Memgraph has no db.labels(): read them off the graph (a scan of every node
        # and edge, at connect; fine for the graphs this backend is meant for).
        labels = await self._run("MATCH (n) UNWIND labels(n) AS label RETURN DISTINCT label")
        types = await self._run("MATCH ()-[r]->() RETURN DISTINCT type(r)")
        return [str(r[0]) for r in labels], [str(r[0]) for r in types]

    async def _version_detail(self, agent: str) -> str:
        try:
            rows = await self._run("SHOW VERSION")
        except BackendOperationError:
            return agent  # older servers: the Bolt agent ("Memgraph/2.x") is all there is
        return f"Memgraph {rows[0][0]}" if rows and rows[0] else agent
