"""Writing a Cypher store: records created or replaced in batches of `UNWIND $rows`,
deletions that leave tombstones, purges and `clear`; the single-record changes made
by a compare-and-set on `_written`; namespaces given to nodes written before them.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, ClassVar

import orjson

from memorygraph.backends._cypher_core import CypherCore
from memorygraph.backends._cypher_layout import (
    EDGE_LABEL,
    LOCK,
    MEMORY_LABEL,
    MEMORY_VALUES_OF_X,
    NAMESPACE,
    TOMBSTONE_LABEL,
    WRITTEN,
    chunks,
    namespace_of_context,
)
from memorygraph.backends.base import RecordKind
from memorygraph.canonical import CanonicalRecord
from memorygraph.errors import BackendBusyError, IntegrityError
from memorygraph.models import Memory, Relationship, format_timestamp, utc_now
from memorygraph.patch import later_than


async def _back_off(attempt: int) -> None:
    """Wait a little, longer after each lost race, at random so racers spread out."""
    await asyncio.sleep(random.uniform(0, min(0.05, 0.0005 * 2**attempt)))


class CypherWrites(CypherCore):
    """Batch writes and deletions (with their tombstones), and the single-record
    insert, update and delete that hold under concurrent writers."""

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
            values = f"RETURN {MEMORY_VALUES_OF_X}, x.`{WRITTEN}`"
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
                [key, namespace_of_context(None if context is None else orjson.loads(context))]
                for key, context in rows
            ]
            await self._run(statement, {"rows": named}, write=True)
