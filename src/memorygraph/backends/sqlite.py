"""The embedded default: one SQLite file, zero set-up.

Each record is stored as its canonical JSON (`doc`) beside the few columns that
are indexed (id, type, ends, changed_at), so what comes back is exactly what
went in. Search uses an FTS5 table (`memories_search`) over each memory's derived
fields (memorygraph.search.text), written in the same transaction as the memory. The
file runs in WAL mode with foreign keys on; every batch is one transaction.

The calls are synchronous under `async def`: SQLite work is local and short,
and a thread hop per call would cost more than it saves.

This module holds the backend class and its writes; the class inherits the rest,
each part in a module of its own: the connection, transactions and errors
(`sqlite_connection`), reads (`sqlite_reads`), search (`sqlite_search`) and the copy
of one store into another (`sqlite_copy`). The schema is in `sqlite_schema`, the SQL
pieces they all use in `sqlite_sql`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Collection, Sequence
from typing import Any, ClassVar

from memorygraph.backends.base import RecordKind
from memorygraph.backends.sqlite_copy import SQLiteCopy
from memorygraph.backends.sqlite_search import SQLiteSearch, write_search_rows
from memorygraph.backends.sqlite_sql import TABLES, chunks, marks
from memorygraph.backends.worker import on_worker_thread
from memorygraph.canonical import MODELS, CanonicalRecord
from memorygraph.errors import InvalidRecordError
from memorygraph.models import Memory, Relationship, format_timestamp, utc_now


def _relationship_rows(records: Sequence[CanonicalRecord], now: str) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for r in records:
        data = r.data
        rows.append(
            (r.id, data["from_id"], data["to_id"], data["type"], r.changed_at, r.raw.decode(), now)
        )
    return rows


@on_worker_thread
class SQLiteBackend(SQLiteCopy, SQLiteSearch):
    """Memories in one SQLite file at `config.path`."""

    batch_size: ClassVar[int] = 2000

    # --- writes ----------------------------------------------------------------

    async def _write_canonical(
        self, kind: RecordKind, records: Sequence[CanonicalRecord], new_ids: set[str]
    ) -> None:
        now = format_timestamp(utc_now())
        with self._transaction() as conn:
            self._put(conn, kind, records, new_ids, now)

    def _put(
        self,
        conn: sqlite3.Connection,
        kind: RecordKind,
        records: Sequence[CanonicalRecord],
        new_ids: Collection[str],
        now: str,
    ) -> None:
        """Insert or replace `records` (with their search rows) inside the caller's
        transaction; `new_ids` are those not stored before."""
        # New ids take a plain INSERT: replacing costs twice as much per row once
        # foreign keys are on, for nothing when there is no old row.
        fresh = [r for r in records if r.id in new_ids]
        replaced = [r for r in records if r.id not in new_ids]
        if kind == "relationship":
            insert = (
                "INTO relationships(id, from_id, to_id, type, changed_at, doc, written_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)"
            )
            for verb, batch in (("INSERT", fresh), ("INSERT OR REPLACE", replaced)):
                if batch:
                    conn.executemany(f"{verb} {insert}", _relationship_rows(batch, now))
            return
        rows = [(r.id, r.data["type"], r.changed_at, r.raw.decode(), now) for r in records]
        conn.executemany(
            "INSERT INTO memories(id, type, changed_at, doc, written_at) "
            "VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET type = excluded.type, "
            "changed_at = excluded.changed_at, doc = excluded.doc, "
            "written_at = excluded.written_at",
            rows,
        )
        write_search_rows(conn, records, [r.id for r in replaced], self.term_spelling)

    # --- single records, each in one write transaction -----------------------------
    # BEGIN IMMEDIATE takes the file's write lock before the read, so no other
    # process writes between the read and the write (they wait, up to the timeout).

    @staticmethod
    def _doc(conn: sqlite3.Connection, table: str, record_id: str) -> str | None:
        row = conn.execute(f"SELECT doc FROM {table} WHERE id = ?", (record_id,)).fetchone()
        return None if row is None else str(row[0])

    async def _insert_new(self, kind: RecordKind, record: CanonicalRecord) -> bool:
        now = format_timestamp(utc_now())
        with self._transaction() as conn:
            if self._doc(conn, TABLES[kind], record.id) is not None:
                return False
            if kind == "relationship":
                ends = {record.data["from_id"], record.data["to_id"]}
                held = conn.execute(
                    f"SELECT count(*) FROM memories WHERE id IN ({marks(len(ends))})",
                    tuple(ends),
                ).fetchone()[0]
                if held != len(ends):
                    return False
            self._put(conn, kind, [record], {record.id}, now)
        return True

    async def _update_atomically(
        self, kind: RecordKind, record_id: str, change: Callable[[Any], CanonicalRecord]
    ) -> CanonicalRecord | None:
        now = format_timestamp(utc_now())
        with self._transaction() as conn:
            stored = self._stored_record(conn, kind, record_id)
            if stored is None:
                return None
            updated = change(stored)
            self._put(conn, kind, [updated], (), now)
        return updated

    async def _delete_atomically(
        self, kind: RecordKind, record_id: str, check: Callable[[Any], None]
    ) -> bool:
        now = format_timestamp(utc_now())
        table = TABLES[kind]
        with self._transaction() as conn:
            stored = self._stored_record(conn, kind, record_id)
            if stored is None:
                return False
            check(stored)
            self._delete_in(conn, table, [record_id], now)
        return True

    def _stored_record(
        self, conn: sqlite3.Connection, kind: RecordKind, record_id: str
    ) -> Memory | Relationship | None:
        """The record `record_id` of `kind` as stored, or None; `UnreadableRecordError`
        naming it when another program left it unreadable."""
        # As bytes: sqlite3 would quote a text it cannot decode in its own error.
        row = conn.execute(
            f"SELECT CAST(doc AS BLOB) FROM {TABLES[kind]} WHERE id = ?", (record_id,)
        ).fetchone()
        if row is None:
            return None
        try:
            return MODELS[kind].parse_json(row[0])
        except InvalidRecordError as e:
            raise self._unreadable_among(kind, e, [record_id]) from e

    async def delete_memories(self, ids: Sequence[str]) -> int:
        # The foreign keys' ON DELETE CASCADE removes the memories' relationships.
        return self._delete("memories", ids)

    async def delete_relationships(self, ids: Sequence[str]) -> int:
        return self._delete("relationships", ids)

    async def purge_memories(self, ids: Sequence[str]) -> int:
        return self._purge("memories", ids)

    async def purge_relationships(self, ids: Sequence[str]) -> int:
        return self._purge("relationships", ids)

    def _purge(self, table: str, ids: Sequence[str]) -> int:
        self._require_writable()
        removed = 0
        with self._transaction() as conn:
            for chunk in chunks(ids):
                # The cascade takes the memories' relationships, leaving no tombstone.
                removed += conn.execute(
                    f"DELETE FROM {table} WHERE id IN ({marks(len(chunk))})", tuple(chunk)
                ).rowcount
        return removed

    def _delete(self, table: str, ids: Sequence[str]) -> int:
        self._require_writable()
        now = format_timestamp(utc_now())
        with self._transaction() as conn:
            return self._delete_in(conn, table, ids, now)

    @staticmethod
    def _delete_in(conn: sqlite3.Connection, table: str, ids: Sequence[str], now: str) -> int:
        """Delete `ids` from `table`, leaving tombstones, inside the caller's transaction."""
        deleted = 0
        for chunk in chunks(ids):
            held = marks(len(chunk))
            if table == "memories":
                # The relationships the cascade takes with them leave tombstones too.
                for end in ("from_id", "to_id"):
                    conn.execute(
                        "INSERT OR REPLACE INTO tombstones(kind, id, deleted_at) "
                        "SELECT 'relationship', id, ? FROM relationships "
                        f"WHERE {end} IN ({held})",
                        (now, *chunk),
                    )
            kind = "memory" if table == "memories" else "relationship"
            conn.execute(
                "INSERT OR REPLACE INTO tombstones(kind, id, deleted_at) "
                f"SELECT ?, id, ? FROM {table} WHERE id IN ({held})",
                (kind, now, *chunk),
            )
            deleted += conn.execute(
                f"DELETE FROM {table} WHERE id IN ({held})", tuple(chunk)
            ).rowcount
        return deleted

    async def clear(self) -> None:
        self._require_writable()
        with self._transaction() as conn:
            conn.execute("DELETE FROM relationships")
            conn.execute("DELETE FROM memories")
            conn.execute("DELETE FROM tombstones")
