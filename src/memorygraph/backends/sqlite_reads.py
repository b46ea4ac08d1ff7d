"""Reading a SQLite store: records by id and by page, their canonical docs and
digests, tombstones, counts (kept until the store changes), recent memories and a
memory's neighbours, each read kept to the namespaces asked for.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime
from typing import Any

from memorygraph.backends.base import (
    Direction,
    Neighbour,
    RecentChanges,
    RecordKind,
    Tombstone,
    paginate_pages,
)
from memorygraph.backends.sqlite_connection import SQLiteConnection, UndecodableText
from memorygraph.backends.sqlite_sql import (
    TABLES,
    chunks,
    ends_in_namespaces,
    in_namespaces,
    marks,
    namespace_filter,
)
from memorygraph.backends.worker import on_worker_thread
from memorygraph.canonical import CanonicalRecord
from memorygraph.errors import InvalidRecordError
from memorygraph.models import Memory, MemoryType, Relationship, RelationshipType, format_timestamp
from memorygraph.principal import Namespaces


@on_worker_thread
class SQLiteReads(SQLiteConnection):
    """Every read of records, digests, tombstones and counts, and `neighbours`."""

    def _select_docs(
        self, table: str, ids: Sequence[str], namespaces: Namespaces | None = None
    ) -> list[str]:
        kind: RecordKind = "memory" if table == "memories" else "relationship"
        conditions, params = namespace_filter(kind, namespaces)
        scoped = "".join(f" AND {c}" for c in conditions)
        docs: list[str] = []
        for chunk in chunks(list(dict.fromkeys(ids))):
            docs += [
                r[0]
                for r in self._query(
                    f"SELECT doc FROM {table} WHERE id IN ({marks(len(chunk))}){scoped}",
                    [*chunk, *params],
                )
            ]
        return docs

    def _existing(self, table: str, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for chunk in chunks(list(ids)):
            found.update(
                r[0]
                for r in self._query(
                    f"SELECT id FROM {table} WHERE id IN ({marks(len(chunk))})", chunk
                )
            )
        return found

    async def get_memories(
        self, ids: Sequence[str], *, namespaces: Namespaces | None = None
    ) -> list[Memory]:
        try:
            return [Memory.parse_json(d) for d in self._select_docs("memories", ids, namespaces)]
        except (InvalidRecordError, UndecodableText) as e:
            raise self._unreadable_among("memory", e, ids) from e

    async def get_relationships(self, ids: Sequence[str]) -> list[Relationship]:
        try:
            return [Relationship.parse_json(d) for d in self._select_docs("relationships", ids)]
        except (InvalidRecordError, UndecodableText) as e:
            raise self._unreadable_among("relationship", e, ids) from e

    async def existing_memory_ids(self, ids: Sequence[str]) -> set[str]:
        return self._existing("memories", ids)

    async def existing_relationship_ids(self, ids: Sequence[str]) -> set[str]:
        return self._existing("relationships", ids)

    def _page(
        self,
        kind: RecordKind,
        after: str | None,
        limit: int,
        since: datetime | None,
        namespaces: Namespaces | None,
    ) -> list[str]:
        rows = self._page_rows(TABLES[kind], "doc", after, limit, since, namespaces, kind)
        return [r[0] for r in rows]

    async def _page_memories(
        self,
        after: str | None,
        limit: int,
        since: datetime | None,
        namespaces: Namespaces | None = None,
    ) -> list[Memory]:
        try:
            pages = self._page("memory", after, limit, since, namespaces)
            return [Memory.parse_json(d) for d in pages]
        except (InvalidRecordError, UndecodableText) as e:
            raise self._unreadable_in_page("memory", e, after, limit, since) from e

    async def _page_relationships(
        self,
        after: str | None,
        limit: int,
        since: datetime | None,
        namespaces: Namespaces | None = None,
    ) -> list[Relationship]:
        try:
            pages = self._page("relationship", after, limit, since, namespaces)
            return [Relationship.parse_json(d) for d in pages]
        except (InvalidRecordError, UndecodableText) as e:
            raise self._unreadable_in_page("relationship", e, after, limit, since) from e

    async def iter_canonical(
        self,
        kind: RecordKind,
        *,
        since: datetime | None = None,
        batch_size: int | None = None,
        search_fields: bool = False,
        namespaces: Namespaces | None = None,
        trusted: bool = False,
    ) -> AsyncIterator[list[CanonicalRecord]]:
        """The stored docs as they are (each validated once here, unless `trusted`)."""
        search = search_fields and kind == "memory" and await self._terms_current()
        pages = paginate_pages(
            lambda after, size: self._canonical_page(
                kind, after, size, since, trusted, search, namespaces
            ),
            lambda record: record.id,
            batch_size or self.batch_size,
        )
        async for page in pages:
            yield list(page)

    async def _canonical_page(
        self,
        kind: RecordKind,
        after: str | None,
        size: int,
        since: datetime | None,
        trusted: bool,
        search: bool,
        namespaces: Namespaces | None = None,
    ) -> list[CanonicalRecord]:
        try:
            if search:
                rows = self._page_rows(
                    "memories m LEFT JOIN memories_search s ON s.rowid = m.rowid",
                    "CAST(m.doc AS BLOB), s.title, s.body",
                    after,
                    size,
                    since,
                    namespaces,
                )
                return [
                    CanonicalRecord.parse(
                        kind, raw, None if title is None else (self._spelling, title, body)
                    )
                    for raw, title, body in rows
                ]
            rows = self._page_rows(
                TABLES[kind], "CAST(doc AS BLOB)", after, size, since, namespaces, kind
            )
            make = CanonicalRecord.trusted if trusted else CanonicalRecord.parse
            return [make(kind, raw) for (raw,) in rows]
        except InvalidRecordError as e:
            raise self._unreadable_in_page(kind, e, after, size, since) from e

    # The stored doc *is* the canonical form, so digests need no parsing.

    async def digests(self, kind: RecordKind, ids: Sequence[str]) -> dict[str, str]:
        table = TABLES[kind]
        found: dict[str, str] = {}
        for chunk in chunks(list(dict.fromkeys(ids))):
            rows = self._query(
                f"SELECT id, CAST(doc AS BLOB) FROM {table} WHERE id IN ({marks(len(chunk))})",
                chunk,
            )
            found.update((i, hashlib.sha256(doc).hexdigest()) for i, doc in rows)
        return found

    async def iter_digests(
        self, kind: RecordKind, *, since: datetime | None = None, batch_size: int | None = None
    ) -> AsyncIterator[tuple[str, str]]:
        async for page in self.digest_pages(kind, since=since, batch_size=batch_size):
            for pair in page:
                yield pair

    async def digest_pages(
        self, kind: RecordKind, *, since: datetime | None = None, batch_size: int | None = None
    ) -> AsyncIterator[list[tuple[str, str]]]:
        pages = paginate_pages(
            lambda after, size: self._digest_page(kind, after, size, since),
            lambda row: row[0],
            batch_size or self.batch_size,
        )
        async for page in pages:
            yield list(page)

    async def _digest_page(
        self, kind: RecordKind, after: str | None, size: int, since: datetime | None
    ) -> list[tuple[str, str]]:
        # The doc's bytes as stored: hashed without decoding them to text first.
        rows = self._page_rows(TABLES[kind], "id, CAST(doc AS BLOB)", after, size, since)
        return [(record_id, hashlib.sha256(doc).hexdigest()) for record_id, doc in rows]

    async def _page_tombstones(
        self, kind: RecordKind, after: str | None, limit: int, since: datetime | None
    ) -> list[Tombstone]:
        if not self._synced:
            return []
        where, params = ["t.kind = ?"], list[str]([kind])
        if after is not None:
            where.append("t.id > ?")
            params.append(after)
        if since is not None:
            where.append("t.deleted_at >= ?")
            params.append(format_timestamp(since))
        rows = self._query(
            f"SELECT t.id, t.deleted_at FROM tombstones t WHERE {' AND '.join(where)} "
            f"AND NOT EXISTS (SELECT 1 FROM {TABLES[kind]} r WHERE r.id = t.id) "
            "ORDER BY t.id LIMIT ?",
            [*params, limit],
        )
        return [Tombstone(kind, i, deleted_at) for i, deleted_at in rows]

    async def tombstones_of(self, kind: RecordKind, ids: Sequence[str]) -> dict[str, str]:
        if not self._synced:
            return {}
        found: dict[str, str] = {}
        for chunk in chunks(ids):
            rows = self._query(
                f"SELECT t.id, t.deleted_at FROM tombstones t WHERE t.kind = ? "
                f"AND t.id IN ({marks(len(chunk))}) "
                f"AND NOT EXISTS (SELECT 1 FROM {TABLES[kind]} r WHERE r.id = t.id)",
                [kind, *chunk],
            )
            found.update((i, at) for i, at in rows)
        return found

    def _counted(
        self, kind: RecordKind, columns: str, namespaces: Namespaces | None, tail: str = ""
    ) -> list[Any]:
        where, params = namespace_filter(kind, namespaces)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        sql = f"SELECT {columns} FROM {TABLES[kind]}{clause}{tail}"
        if namespaces is not None:
            return self._query(sql, params)
        # Counting 100,000 memories and 200,000 relationships by type takes tens of
        # milliseconds: keep each answer until the store changes.
        stamp = self._change_stamp()
        if self._counts is None or self._counts[0] != stamp:
            self._counts = (stamp, {})
        known = self._counts[1]
        if sql not in known:
            known[sql] = self._query(sql, params)
        return list(known[sql])

    async def count_memories(self, *, namespaces: Namespaces | None = None) -> int:
        return int(self._counted("memory", "count(*)", namespaces)[0][0])

    async def count_relationships(self, *, namespaces: Namespaces | None = None) -> int:
        return int(self._counted("relationship", "count(*)", namespaces)[0][0])

    async def count_memories_by_type(
        self, *, namespaces: Namespaces | None = None
    ) -> dict[MemoryType, int]:
        rows = self._counted("memory", "type, count(*)", namespaces, " GROUP BY type")
        return {MemoryType(t): n for t, n in rows}

    async def count_relationships_by_type(
        self, *, namespaces: Namespaces | None = None
    ) -> dict[RelationshipType, int]:
        rows = self._counted("relationship", "type, count(*)", namespaces, " GROUP BY type")
        return {RelationshipType(t): n for t, n in rows}

    async def recent_memories(
        self,
        since: datetime,
        *,
        limit: int,
        counted: int,
        project: str | None = None,
        namespaces: Namespaces | None = None,
    ) -> RecentChanges:
        # Both walk memories_changed_at from the newest and stop at their LIMIT.
        where, params = "changed_at >= ?", [format_timestamp(since)]
        if project is not None:
            where += " AND json_extract(doc, '$.context.project_path') = ?"
            params.append(project)
        if namespaces is not None:
            condition, values = in_namespaces("doc", namespaces)
            where += f" AND {condition}"
            params += values
        walk = (
            f"FROM memories INDEXED BY memories_changed_at WHERE {where} ORDER BY changed_at DESC"
        )
        # Ties on the change time are sorted by id in a small sorter, which for the
        # counted rows costs as much as the walk itself (each row's id is read for it):
        # count in the index's order, and sort only when two counted rows do tie.
        rows = self._query(f"SELECT changed_at, type {walk} LIMIT ?", [*params, counted + 1])
        if len({stamp for stamp, _ in rows}) < len(rows):
            rows = self._query(
                f"SELECT changed_at, type {walk}, id DESC LIMIT ?", [*params, counted + 1]
            )
        # Counted as text, each type named once: the types in order of their newest.
        counts = Counter(t for _, t in rows[:counted])
        docs = self._query(f"SELECT doc {walk}, id DESC LIMIT ?", [*params, limit])
        return RecentChanges(
            {MemoryType(t): n for t, n in counts.items()},
            [Memory.parse_json(d) for (d,) in docs],
            more=len(rows) > counted,
        )

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
        legs = []
        if direction in (Direction.OUTGOING, Direction.BOTH):
            legs.append(
                "SELECT r.id, r.doc, m.doc FROM relationships r "
                "JOIN memories m ON m.id = r.to_id WHERE r.from_id = ?"
            )
        if direction in (Direction.INCOMING, Direction.BOTH):
            legs.append(
                "SELECT r.id, r.doc, m.doc FROM relationships r "
                "JOIN memories m ON m.id = r.from_id WHERE r.to_id = ?"
            )
        wanted = [t.value for t in types] if types is not None else None
        if wanted is not None:
            legs = [f"{leg} AND r.type IN ({marks(len(wanted))})" for leg in legs]
        scoped: list[str] = []
        if namespaces is not None:
            # Both ends: the memory asked about and each neighbour.
            condition, scoped = ends_in_namespaces("r.from_id", "r.to_id", namespaces)
            legs = [f"{leg} AND {condition}" for leg in legs]
        params: list[Any] = []
        for _ in legs:
            params += [memory_id, *(wanted or []), *scoped]
        # UNION (not UNION ALL) folds a self-loop's two legs into one row.
        sql = f"SELECT * FROM ({' UNION '.join(legs)})"
        if after is not None:
            sql += " WHERE id > ?"
            params.append(after)
        sql += " ORDER BY 1"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [
            Neighbour(Relationship.parse_json(rel), Memory.parse_json(mem))
            for _, rel, mem in self._query(sql, params)
        ]

    async def neighbours_of(
        self,
        memory_ids: Sequence[str],
        *,
        direction: Direction = Direction.BOTH,
        types: Iterable[RelationshipType] | None = None,
        limit: int | None = None,
        namespaces: Namespaces | None = None,
    ) -> dict[str, list[Neighbour]]:
        # Defined here so that the whole batch is one hop to the worker thread: each
        # `neighbours` it asks runs on that thread directly.
        return await super().neighbours_of(
            memory_ids, direction=direction, types=types, limit=limit, namespaces=namespaces
        )
