"""Reading a Cypher store: records and digests by id, pages in key order since a
write stamp, tombstones, counts and a memory's neighbours, each kept to the
namespaces asked for.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import orjson

from memorygraph.backends._cypher_core import CypherCore
from memorygraph.backends._cypher_layout import (
    EDGE_LABEL,
    MEMORY_LABEL,
    MEMORY_VALUES,
    TOMBSTONE_LABEL,
    WRITTEN,
    chunks,
    in_namespaces,
    where_clause,
)
from memorygraph.backends.base import Direction, Neighbour, RecordKind, Tombstone
from memorygraph.models import Memory, MemoryType, Relationship, RelationshipType, format_timestamp
from memorygraph.principal import Namespaces


class CypherReads(CypherCore):
    """Records by id and by page, digests, tombstones, counts and `neighbours`."""

    async def _memory_props(
        self, ids: Sequence[str], namespaces: Namespaces | None = None
    ) -> list[dict[str, Any]]:
        k = self.dialect.key_property
        conditions, params = in_namespaces(namespaces, "m")
        query = (
            f"UNWIND $keys AS key MATCH (m:{MEMORY_LABEL} {{{k}: key}}){where_clause(conditions)} "
            f"RETURN collect({MEMORY_VALUES})"
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
        where, params = in_namespaces(namespaces, *memories)
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
            f"RETURN collect({MEMORY_VALUES})"
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
            conditions, params = in_namespaces(namespaces, "m")
            pattern = f"(m:{MEMORY_LABEL})"
        else:
            conditions, params = in_namespaces(namespaces, "a", "b")
            ends = ("a", "b") if conditions else ("", "")
            pattern = f"({ends[0]})-[r:{EDGE_LABEL}]->({ends[1]})"
        return await self._run(
            f"MATCH {pattern}{where_clause(conditions)} RETURN {returned}", params
        )

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
        conditions, params = in_namespaces(namespaces, "m", "o")
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
