"""Copying one SQLite store into another as stored (`copies_own_stores`): pages of
stored rows validated once on the source's side, written into an empty target one
statement per table with its secondary indexes built once at the end, and the
check, in SQL, that two stores hold the same records.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import replace
from datetime import datetime

import orjson

from memorygraph.backends.base import Backend, RecordKind, StoredPage, paginate_pages
from memorygraph.backends.sqlite_connection import SQLiteConnection, UndecodableText
from memorygraph.backends.sqlite_schema import SECONDARY_INDEXES
from memorygraph.backends.worker import on_worker_thread
from memorygraph.errors import InvalidRecordError, MemoryGraphError
from memorygraph.models import Memory, Relationship, format_timestamp, utc_now
from memorygraph.search.text import PLAIN, Spelling, field_texts

#: Page cache of a bulk load (KiB), and SQLite's default (pages) to return to after it.
_BULK_CACHE_KIB = 64 * 1024
_DEFAULT_CACHE = -2000


def _stored_row(kind: RecordKind, row: tuple[str, ...], spelling: Spelling) -> tuple[str, ...]:
    """The columns `SQLiteBackend._write_stored` inserts for one stored row, its doc
    validated here: a relationship's (id, from, to, type, changed_at, doc) from
    (changed_at, doc); a memory's (id, type, changed_at, doc, title terms, body terms)
    from (changed_at, doc, title terms, body terms) spelled in `spelling`, the terms
    derived again when not given. A page's terms are always spelled `PLAIN`, whatever
    either store keeps. Every column comes from the validated record; the stored
    change time is kept when it is that record's, in canonical form (formatting one
    costs more than checking it)."""
    changed, doc = row[0], row[1]
    if kind == "relationship":
        r = Relationship.parse_json(doc)
        changed = _canonical_stamp(changed, r.changed_at)
        return (r.id, r.from_id, r.to_id, r.type.value, changed, doc)
    m = Memory.parse_json(doc)
    title, body = row[2], row[3]
    if title is None or body is None:
        title, body = field_texts(m.title, m.content, m.summary, m.tags, PLAIN)
    else:
        title, body = PLAIN.field(title, spelling), PLAIN.field(body, spelling)
    return (m.id, m.type.value, _canonical_stamp(changed, m.changed_at), doc, title, body)


def _canonical_stamp(text: str, value: datetime) -> str:
    """`text` when it is `value` in canonical form (`format_timestamp`), else that form."""
    canonical_shape = (
        len(text) == 32 and text[10] == "T" and text[19] == "." and text[26:] == "+00:00"
    )
    if canonical_shape and datetime.fromisoformat(text) == value:
        return text
    return format_timestamp(value)


#: SQLite reads a value out of JSON with `->>` from 3.38 on; before, a copied page is
#: inserted row by row.
_JSON_ROWS = sqlite3.sqlite_version_info >= (3, 38)


def _insert_rows(conn: sqlite3.Connection, page: StoredPage, now: str) -> None:
    """`SQLiteBackend._write_stored` with one Python call per row."""
    if page.kind == "relationship":
        conn.executemany(
            "INSERT INTO relationships(id, from_id, to_id, type, changed_at, doc, written_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(*row, now) for row in page.rows],
        )
        return
    last = conn.execute("SELECT coalesce(max(rowid), 0) FROM memories").fetchone()[0]
    conn.executemany(
        "INSERT INTO memories(rowid, id, type, changed_at, doc, written_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [(last + n, *row[:4], now) for n, row in enumerate(page.rows, 1)],
    )
    conn.executemany(
        "INSERT INTO memories_search(rowid, title, body) VALUES (?, ?, ?)",
        [(last + n, *row[4:]) for n, row in enumerate(page.rows, 1)],
    )


#: For each kind: its table, and the columns besides `doc` that must agree.
_COMPARED: dict[RecordKind, tuple[str, tuple[str, ...]]] = {
    "memory": ("memories", ("type",)),
    "relationship": ("relationships", ("type", "from_id", "to_id")),
}


def _same_records(conn: sqlite3.Connection, deletions: bool) -> dict[RecordKind, int] | None:
    """Per kind, the records of `main` when it holds exactly those of `source` (see
    `SQLiteBackend.matches_store`), else None."""
    counts: dict[RecordKind, int] = {}
    for kind, (table, columns) in _COMPARED.items():
        ours = conn.execute(f"SELECT count(*) FROM source.{table}").fetchone()[0]
        theirs = conn.execute(f"SELECT count(*) FROM main.{table}").fetchone()[0]
        if ours != theirs:
            return None
        agree = " AND ".join(f"t.{c} = s.{c}" for c in ("doc", *columns))
        same = conn.execute(
            f"SELECT count(*) FROM source.{table} s JOIN main.{table} t ON t.id = s.id AND {agree}"
        ).fetchone()[0]
        if same != ours:
            return None
        counts[kind] = ours
    if deletions:
        tables = {r[0] for r in conn.execute("SELECT name FROM source.sqlite_master")}
        if "tombstones" in tables:
            for kind, (table, _) in _COMPARED.items():
                held = conn.execute(
                    f"SELECT count(*) FROM source.tombstones d JOIN main.{table} t "
                    "ON t.id = d.id WHERE d.kind = ?",
                    (kind,),
                ).fetchone()[0]
                if held:
                    return None
    return counts


@on_worker_thread
class SQLiteCopy(SQLiteConnection):
    """The copy of another SQLite store as stored: its pages read (`stored_pages`) and
    written (`_write_stored`, inside `bulk_insert`), and `matches_store`."""

    # --- copying another SQLite store as it is stored -------------------------------

    async def stored_pages(self, kind: RecordKind, size: int) -> AsyncIterator[StoredPage]:
        terms = kind == "memory" and await self._terms_current()
        pages = paginate_pages(
            lambda after, limit: self._stored_rows(kind, after, limit, terms),
            lambda row: row[0],
            size,
        )
        async for rows in pages:
            yield StoredPage(kind, [row[0] for row in rows], rows)

    async def _stored_rows(
        self, kind: RecordKind, after: str | None, size: int, terms: bool
    ) -> list[tuple[str, ...]]:
        """One page in id order, as rows ready for `_write_stored`: each doc validated
        once, here, its columns taken from the validated record, and (with `terms`) a
        memory's search terms taken as stored."""
        try:
            if kind == "relationship":
                rows = self._page_rows("relationships", "changed_at, doc", after, size, None)
            elif terms:
                rows = self._page_rows(
                    "memories m LEFT JOIN memories_search s ON s.rowid = m.rowid",
                    "m.changed_at, m.doc, s.title, s.body",
                    after,
                    size,
                    None,
                )
            else:
                rows = self._page_rows("memories", "changed_at, doc, NULL, NULL", after, size, None)
            return [_stored_row(kind, row, self._spelling) for row in rows]
        except (InvalidRecordError, UndecodableText) as e:
            raise self._unreadable_in_page(kind, e, after, size, None) from e

    @asynccontextmanager
    async def bulk_insert(self) -> AsyncIterator[None]:
        """The secondary indexes are dropped, and built once when the block ends."""
        # Built once over the whole load, they cost a fraction of keeping them up to
        # date row by row. They are built again even when the load fails: a rollback
        # deletes memories, whose relationships the cascade finds through them.
        self._require_writable()
        # A larger page cache for the load and the index build: with SQLite's default
        # 2 MB, each page of rows reaches the full-text and key indexes of a store of a
        # million records mostly outside the cache, so the time per record grew with
        # the store. The cache fills (and memory settles) at any size worth a bulk load.
        self.conn.execute(f"PRAGMA cache_size = -{_BULK_CACHE_KIB}")
        try:
            await self._set_secondary_indexes(False)
            try:
                yield
            except BaseException:
                # The copy's own error is what the caller needs; indexes this cannot
                # build now (the connection is gone) are built at the next writable open.
                with suppress(MemoryGraphError):
                    await self._set_secondary_indexes(True)
                raise
            await self._set_secondary_indexes(True)
        finally:
            with suppress(sqlite3.Error, MemoryGraphError):
                self.conn.execute(f"PRAGMA cache_size = {_DEFAULT_CACHE}")

    async def _set_secondary_indexes(self, present: bool) -> None:
        with self._transaction() as conn:
            for name, target in SECONDARY_INDEXES.items():
                conn.execute(
                    f"CREATE INDEX IF NOT EXISTS {name} {target}"
                    if present
                    else f"DROP INDEX IF EXISTS {name}"
                )

    async def _write_stored(self, page: StoredPage) -> None:
        # One statement per table over the page as a JSON array of its rows: SQLite
        # walks it without a Python call per row, so the source's thread keeps the
        # interpreter for validating the next page meanwhile.
        now = format_timestamp(utc_now())
        spelling = self._spelling
        if page.kind == "memory" and spelling is not PLAIN:
            page = replace(
                page,
                rows=[
                    (*r[:4], spelling.field(r[4], PLAIN), spelling.field(r[5], PLAIN))
                    for r in page.rows
                ],
            )
        with self._transaction() as conn:
            if not _JSON_ROWS:
                _insert_rows(conn, page, now)
                return
            if page.kind == "relationship":
                conn.execute(
                    "INSERT INTO relationships(id, from_id, to_id, type, changed_at, doc, "
                    "written_at) SELECT value->>0, value->>1, value->>2, value->>3, "
                    "value->>4, value->>5, ? FROM json_each(?)",
                    (now, orjson.dumps(page.rows).decode()),
                )
                return
            # The search rows from an array of their own: the docs are parsed once.
            rows = orjson.dumps([row[:4] for row in page.rows]).decode()
            terms = orjson.dumps([row[4:] for row in page.rows]).decode()
            # The store holds none of these ids and this transaction is its only writer,
            # so the rowids after the last one are free: the search rows are written by
            # rowid, without looking each memory up again.
            last = conn.execute("SELECT coalesce(max(rowid), 0) FROM memories").fetchone()[0]
            conn.execute(
                "INSERT INTO memories(rowid, id, type, changed_at, doc, written_at) "
                "SELECT ? + key + 1, value->>0, value->>1, value->>2, value->>3, ? "
                "FROM json_each(?)",
                (last, now, rows),
            )
            conn.execute(
                "INSERT INTO memories_search(rowid, title, body) "
                "SELECT ? + key + 1, value->>0, value->>1 FROM json_each(?)",
                (last, terms),
            )

    async def matches_store(
        self, source: Backend, *, deletions: bool
    ) -> dict[RecordKind, int] | None:
        if not self.copies_from(source) or source.config.path is None:
            return None
        # Compared in SQL, on a connection of its own that opens both files read-only:
        # no row comes into Python. It sees the source as committed now, not in the
        # caller's snapshot; a source written since then differs, and the caller's
        # record-by-record comparison (in its snapshot) decides.
        target_uri = f"{self.path.resolve().as_uri()}?mode=ro"
        source_uri = f"{source.config.path.expanduser().resolve().as_uri()}?mode=ro"
        conn = sqlite3.connect(target_uri, uri=True, timeout=self.config.timeout_seconds)
        try:
            with self._errors():
                conn.execute("ATTACH DATABASE ? AS source", (source_uri,))
                return _same_records(conn, deletions)
        finally:
            conn.close()
