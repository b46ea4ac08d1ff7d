"""The embedded default: one SQLite file, zero set-up.

Each record is stored as its canonical JSON (`doc`) beside the few columns that
are indexed (id, type, ends, changed_at), so what comes back is exactly what
went in. Search uses an FTS5 table (`memories_search`) over each memory's derived
fields (memorygraph.search.text), written in the same transaction as the memory. The
file runs in WAL mode with foreign keys on; every batch is one transaction.

The calls are synchronous under `async def`: SQLite work is local and short,
and a thread hop per call would cost more than it saves.

The module runs past 500 lines because the schema, its upgrades, the bulk copy and the
backend class share one private encoding of a record (its columns, its canonical JSON,
its search fields) and one transaction discipline; a split into schema, copy and class
modules was begun and left for a later change, since each part reads the others'
column lists.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import stat
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import orjson

from memorygraph.backends.base import (
    Backend,
    Direction,
    Neighbour,
    RecentChanges,
    RecordKind,
    StoredPage,
    Tombstone,
    paginate_pages,
)
from memorygraph.backends.worker import WorkerThread, on_worker_thread
from memorygraph.canonical import MODELS, CanonicalRecord
from memorygraph.errors import (
    BackendBusyError,
    BackendOperationError,
    DatabaseFileError,
    InvalidRecordError,
    MemoryGraphError,
    NextStep,
    StorageFullError,
    UnreadableRecordError,
    UsageError,
)
from memorygraph.models import (
    Memory,
    MemoryType,
    Relationship,
    RelationshipType,
    format_timestamp,
    utc_now,
)
from memorygraph.principal import DEFAULT_NAMESPACE, Namespaces
from memorygraph.search import SearchFilters
from memorygraph.search.ranking import TITLE_WEIGHT, Candidate, MatchQuery, Window
from memorygraph.search.text import field_texts

if TYPE_CHECKING:
    from memorygraph.backends.vector_scan import VectorScan

SCHEMA_NAME = "memorygraph"
SCHEMA_VERSION = "1"
# Stays under SQLITE_MAX_VARIABLE_NUMBER on every SQLite still in use.
_CHUNK = 500
#: Document frequencies kept between writes (the queries' words), at most.
_DF_KEPT = 4096
#: Page cache of a bulk load (KiB), and SQLite's default (pages) to return to after it.
_BULK_CACHE_KIB = 64 * 1024
_DEFAULT_CACHE = -2000

#: The full-text index: one row per memory (rowid = memories.rowid) holding the
#: derived fields of `memorygraph.search.text.field_texts`, written with the memory.
_SEARCH_SCHEMA = """
CREATE VIRTUAL TABLE IF NOT EXISTS memories_search USING fts5(title, body, tokenize = 'ascii');
CREATE TRIGGER IF NOT EXISTS memories_search_delete AFTER DELETE ON memories BEGIN
    DELETE FROM memories_search WHERE rowid = old.rowid;
END;
"""
#: What stores written before `memories_search` existed had instead.
_OLD_SEARCH = """
DROP TRIGGER IF EXISTS memories_fts_insert;
DROP TRIGGER IF EXISTS memories_fts_delete;
DROP TRIGGER IF EXISTS memories_fts_update;
DROP TABLE IF EXISTS memories_fts;
"""
#: mg_meta key set once every memory's search row is written; its value is the
#: version of the derivation (`memorygraph.search.text`) the rows were written with.
_SEARCH_READY = "search_index"
_SEARCH_TERMS = "1"
_NOT_INDEXED = (
    "{where} was written before memorygraph had ranked search, so it has no search index yet"
)

#: Memories' vectors (derived, `memorygraph.search.semantic`): any write of a memory row
#: drops its vector, which the store then computes again.
_VECTOR_SCHEMA = """
CREATE TABLE IF NOT EXISTS memory_vectors (
    id TEXT PRIMARY KEY, model TEXT NOT NULL, vec BLOB NOT NULL
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS memory_vectors_insert AFTER INSERT ON memories BEGIN
    DELETE FROM memory_vectors WHERE id = new.id;
END;
CREATE TRIGGER IF NOT EXISTS memory_vectors_update AFTER UPDATE OF doc ON memories BEGIN
    DELETE FROM memory_vectors WHERE id = old.id;
END;
CREATE TRIGGER IF NOT EXISTS memory_vectors_delete AFTER DELETE ON memories BEGIN
    DELETE FROM memory_vectors WHERE id = old.id;
END;
"""

_SCHEMA = """
CREATE TABLE mg_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE memories (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    doc TEXT NOT NULL,
    written_at TEXT
);
CREATE INDEX memories_type ON memories(type);
CREATE INDEX memories_changed_at ON memories(changed_at);
CREATE TABLE relationships (
    id TEXT PRIMARY KEY,
    from_id TEXT NOT NULL REFERENCES memories(id) ON DELETE CASCADE,
    to_id TEXT NOT NULL REFERENCES memories(id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    doc TEXT NOT NULL,
    written_at TEXT
) WITHOUT ROWID;
CREATE INDEX relationships_from ON relationships(from_id);
CREATE INDEX relationships_to ON relationships(to_id);
CREATE INDEX relationships_type ON relationships(type);
CREATE INDEX relationships_changed_at ON relationships(changed_at);
"""
_SCHEMA += _SEARCH_SCHEMA

#: Change times and tombstones (see `Backend`): `written_at` is the store's clock at
#: each record's last write, which `since` compares; `changed_at` stays the record's
#: own time (search filters on it). Stores written before these existed get them on
#: their first writable open; until then (read-only) `since` falls back to `changed_at`.
_SYNC_SCHEMA = """
CREATE TABLE IF NOT EXISTS tombstones (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    deleted_at TEXT NOT NULL,
    PRIMARY KEY (kind, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tombstones_deleted_at ON tombstones(deleted_at);
"""
_SYNC_COLUMNS = """
ALTER TABLE memories ADD COLUMN written_at TEXT;
ALTER TABLE relationships ADD COLUMN written_at TEXT;
UPDATE memories SET written_at = changed_at;
UPDATE relationships SET written_at = changed_at;
"""
_SYNC_INDEXES = """
CREATE INDEX IF NOT EXISTS memories_written_at ON memories(written_at);
CREATE INDEX IF NOT EXISTS relationships_written_at ON relationships(written_at);
"""

#: The secondary indexes (name → what it indexes), not the keys: a copy into an
#: empty store builds them once after its last page, and a writable open builds any
#: that such a copy, killed, left missing.
_SECONDARY_INDEXES: dict[str, str] = dict(
    re.findall(r"CREATE INDEX (?:IF NOT EXISTS )?(\w+) (ON [^;]+);", _SCHEMA + _SYNC_INDEXES)
)


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _marks(n: int) -> str:
    return ",".join("?" * n)


_TABLES: dict[str, str] = {"memory": "memories", "relationship": "relationships"}


class _UndecodableText(DatabaseFileError):
    """sqlite3 could not decode a stored text as UTF-8 (another program wrote it)."""


def _doc_fault(kind: RecordKind, raw: bytes) -> str | None:
    """Why the stored doc `raw` of a `kind` cannot be read, in words that never quote
    it; None when it can be read."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return f"its stored text is not valid UTF-8 (byte {e.start})"
    try:
        orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        return f"its stored text is not valid JSON ({e.msg} at character {e.pos})"
    try:
        MODELS[kind].parse_json(raw)
    except InvalidRecordError as e:
        return f"it is not a valid {kind} ({e})"
    return None


def _in_namespaces(doc: str, namespaces: Namespaces) -> tuple[str, list[str]]:
    """A condition that the memory whose doc column is `doc` is in `namespaces`, and
    its parameters. Read from the doc itself: no column to keep current on any write
    path, and every read it filters reaches its rows by id, text match or edge first,
    so an index on it would not be used."""
    condition = (
        f"coalesce(json_extract({doc}, '$.context.tenant_id'), ?) "
        f"IN ({_marks(len(namespaces.names))})"
    )
    return condition, [DEFAULT_NAMESPACE, *namespaces.names]


def _ends_in_namespaces(from_id: str, to_id: str, namespaces: Namespaces) -> tuple[str, list[str]]:
    """A condition that both ends of a relationship are in `namespaces`."""
    ends, params = [], []
    for n, end in enumerate((from_id, to_id)):
        condition, values = _in_namespaces(f"e{n}.doc", namespaces)
        ends.append(f"EXISTS (SELECT 1 FROM memories e{n} WHERE e{n}.id = {end} AND {condition})")
        params += values
    return " AND ".join(ends), params


def _namespace_filter(
    kind: RecordKind, namespaces: Namespaces | None
) -> tuple[list[str], list[str]]:
    """The conditions (and parameters) keeping a page of `kind` read from its own table
    to `namespaces`; none when every namespace is seen."""
    if namespaces is None:
        return [], []
    if kind == "memory":
        condition, params = _in_namespaces("doc", namespaces)
    else:
        condition, params = _ends_in_namespaces("from_id", "to_id", namespaces)
    return [condition], params


def _fts_query(query: MatchQuery) -> str:
    # Tokens are plain ASCII letters and digits (memorygraph.search.text), quoted
    # anyway: no user text is ever parsed as FTS5 syntax.
    return query.expression(
        either=" OR ", both=" AND ", quote=lambda token: '"' + token.replace('"', '""') + '"'
    )


def _relationship_rows(records: Sequence[CanonicalRecord], now: str) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for r in records:
        data = r.data
        rows.append(
            (r.id, data["from_id"], data["to_id"], data["type"], r.changed_at, r.raw.decode(), now)
        )
    return rows


def _stored_row(kind: RecordKind, row: tuple[str, ...]) -> tuple[str, ...]:
    """The columns `SQLiteBackend._write_stored` inserts for one stored row, its doc
    validated here: a relationship's (id, from, to, type, changed_at, doc) from
    (changed_at, doc); a memory's (id, type, changed_at, doc, title terms, body terms)
    from (changed_at, doc, title terms, body terms), the terms derived again when
    not given. Every column comes from the validated record; the stored change time
    is kept when it is that record's, in canonical form (formatting one costs more
    than checking it)."""
    changed, doc = row[0], row[1]
    if kind == "relationship":
        r = Relationship.parse_json(doc)
        changed = _canonical_stamp(changed, r.changed_at)
        return (r.id, r.from_id, r.to_id, r.type.value, changed, doc)
    m = Memory.parse_json(doc)
    title, body = row[2], row[3]
    if title is None or body is None:
        title, body = field_texts(m.title, m.content, m.summary, m.tags)
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
class SQLiteBackend(Backend):
    """Memories in one SQLite file at `config.path`."""

    batch_size: ClassVar[int] = 2000

    _conn: sqlite3.Connection | None = None
    _worker: WorkerThread | None = None
    #: The store has `written_at` and `tombstones` (a read-only old store may not).
    _synced: bool = False
    #: ((data_version, total_changes), memory count) of the last `search_total`.
    _total: tuple[tuple[int, int], int] | None = None
    #: (the same stamp, {full-text query: memories matching it}) of `count_matches`.
    _df: tuple[tuple[int, int], dict[str, int]] | None = None
    #: (the same stamp, {statement: rows}) of the counts over the whole store.
    _counts: tuple[tuple[int, int], dict[str, list[Any]]] | None = None
    #: The vectors as of the last `vector_search` (reloaded after any write).
    _vectors: VectorScan | None = None
    #: (the same stamp, model) when every memory had a vector of that model.
    _all_embedded: tuple[int, int, str] | None = None

    @property
    def path(self) -> Path:
        assert self.config.path is not None
        return self.config.path.expanduser()

    # --- lifecycle -------------------------------------------------------------

    async def connect(self) -> None:
        if self._conn is not None:
            return
        path = self.path
        exists = path.exists()
        if not path.parent.is_dir():
            raise DatabaseFileError(
                f"directory {path.parent} does not exist; create it or choose another path"
            )
        if path.is_dir():
            raise DatabaseFileError(f"{path} is a directory; give the path of a database file")
        if self.config.read_only:
            if not exists:
                raise DatabaseFileError(f"no database at {path}; check the path")
            conn = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=ro",
                uri=True,
                timeout=self.config.timeout_seconds,
                check_same_thread=False,
            )
        else:
            if exists and not path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
                raise DatabaseFileError(
                    f"database file {path} is read-only; make it writable "
                    "(chmod u+w) or open it read-only"
                )
            # Another process's write transaction is waited for this long (several
            # servers on one file are the normal case), then BackendBusyError.
            conn = sqlite3.connect(
                path, timeout=self.config.timeout_seconds, check_same_thread=False
            )
        conn.isolation_level = None
        try:
            self._check_or_create_schema(conn, fresh=not exists or path.stat().st_size == 0)
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        self._total = self._df = self._counts = None

    def _check_or_create_schema(self, conn: sqlite3.Connection, *, fresh: bool) -> None:
        where = self.path
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            if not tables and fresh and not self.config.read_only:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.executescript(
                    f"BEGIN; {_SCHEMA} {_SYNC_SCHEMA} {_SYNC_INDEXES} {_VECTOR_SCHEMA} COMMIT;"
                )
                conn.executemany(
                    "INSERT INTO mg_meta(key, value) VALUES (?, ?)",
                    [
                        ("schema", SCHEMA_NAME),
                        ("schema_version", SCHEMA_VERSION),
                        (_SEARCH_READY, _SEARCH_TERMS),
                    ],
                )
                self._synced = True
                return
            if "mg_meta" not in tables:
                raise DatabaseFileError(
                    f"{where} is an SQLite database but not a memorygraph one; choose another path"
                )
            meta = dict(conn.execute("SELECT key, value FROM mg_meta").fetchall())
            if meta.get("schema") != SCHEMA_NAME or meta.get("schema_version") != SCHEMA_VERSION:
                raise DatabaseFileError(
                    f"{where} has schema {meta.get('schema')!r} version "
                    f"{meta.get('schema_version')!r}; this memorygraph reads version "
                    f"{SCHEMA_VERSION}"
                )
            if not self.config.read_only:
                conn.execute("PRAGMA synchronous = NORMAL")
                if _SEARCH_READY not in meta:
                    self._add_search_schema(conn)
                self._add_sync_schema(conn)
                self._add_missing_indexes(conn)
                if "memory_vectors" not in tables:
                    conn.executescript(f"BEGIN; {_VECTOR_SCHEMA} COMMIT;")
            self._synced = "tombstones" in {
                r[0] for r in conn.execute("SELECT name FROM sqlite_master")
            }
        except sqlite3.DatabaseError as e:
            raise DatabaseFileError(
                f"{where} is not a usable memorygraph database ({e}); check the path "
                "or restore it from an export"
            ) from e

    @staticmethod
    def _add_sync_schema(conn: sqlite3.Connection) -> None:
        """Give a store written before change times and tombstones existed both."""
        columns = {r[1] for r in conn.execute("PRAGMA table_info(memories)")}
        if "written_at" in columns:
            return
        conn.executescript(f"BEGIN; {_SYNC_COLUMNS} {_SYNC_SCHEMA} {_SYNC_INDEXES} COMMIT;")

    @staticmethod
    def _add_missing_indexes(conn: sqlite3.Connection) -> None:
        """Build the secondary indexes a killed copy left unbuilt (reads only when none is
        missing: no write lock is taken on a store in use)."""
        present = {
            r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        }
        missing = [name for name in _SECONDARY_INDEXES if name not in present]
        if missing:
            conn.executescript(
                "BEGIN; "
                + "".join(
                    f"CREATE INDEX IF NOT EXISTS {n} {_SECONDARY_INDEXES[n]}; " for n in missing
                )
                + "COMMIT;"
            )

    @staticmethod
    def _add_search_schema(conn: sqlite3.Connection) -> None:
        """Give a store written before ranked search its index (empty until reindexed)."""
        conn.executescript(f"BEGIN; {_OLD_SEARCH} {_SEARCH_SCHEMA} COMMIT;")
        if conn.execute("SELECT count(*) FROM memories").fetchone()[0] == 0:
            conn.execute(
                "INSERT INTO mg_meta(key, value) VALUES (?, ?)", (_SEARCH_READY, _SEARCH_TERMS)
            )

    async def close(self) -> None:
        # On the worker, after anything still running there (a batch whose caller was
        # cancelled): closing a connection under a running statement would crash.
        try:
            await self.worker.run_to_completion(self._close_connection)
        finally:
            self.worker.stop()

    def _close_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @property
    def worker(self) -> WorkerThread:
        """The thread every statement of this backend runs on (see `on_worker_thread`)."""
        if self._worker is None:
            self._worker = WorkerThread(f"memorygraph-sqlite-{self.path.name}")
        return self._worker

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise BackendOperationError(f"{self.describe()} is not connected; call connect()")
        return self._conn

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.DatabaseError as e:
            if getattr(e, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
                raise StorageFullError(
                    f"the disk holding {self.describe()} is full ({e}): the write that met "
                    "it was not kept; free space there"
                ) from e
            if isinstance(e, sqlite3.OperationalError) and "Could not decode" in str(e):
                # sqlite3's message quotes the text it could not decode: a user's content.
                raise _UndecodableText(
                    f"{self.describe()} holds text that is not valid UTF-8, written by "
                    "another program; restore the store from an export"
                ) from e
            if isinstance(e, sqlite3.OperationalError) and "locked" in str(e):
                raise BackendBusyError(
                    f"{self.describe()} is locked by another writer ({e}); try again"
                ) from e
            if isinstance(e, sqlite3.IntegrityError | sqlite3.OperationalError):
                raise BackendOperationError(f"{self.describe()}: {e}") from e
            raise DatabaseFileError(
                f"{self.describe()} is damaged ({e}); restore it from an export"
            ) from e

    @asynccontextmanager
    async def read_snapshot(self) -> AsyncIterator[None]:
        """One read transaction: WAL keeps its snapshot while other connections write."""
        conn = self.conn
        if conn.in_transaction:
            yield  # an outer snapshot already holds
            return
        with self._errors():
            conn.execute("BEGIN")
            conn.execute("SELECT 1 FROM memories LIMIT 1").fetchall()  # the snapshot starts here
        try:
            yield
        finally:
            if conn.in_transaction:
                with self._errors():
                    conn.execute("COMMIT")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self.conn
        with self._errors():
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                # SQLite rolls back by itself on some errors (a full disk): then there is
                # no transaction left to end.
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            try:
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _query(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        with self._errors():
            return self.conn.execute(sql, tuple(params)).fetchall()

    async def engine_version(self) -> str:
        return f"SQLite {sqlite3.sqlite_version}"

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
        self._write_search_rows(conn, records, [r.id for r in replaced])

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
            if self._doc(conn, _TABLES[kind], record.id) is not None:
                return False
            if kind == "relationship":
                ends = {record.data["from_id"], record.data["to_id"]}
                held = conn.execute(
                    f"SELECT count(*) FROM memories WHERE id IN ({_marks(len(ends))})",
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
        table = _TABLES[kind]
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
            f"SELECT CAST(doc AS BLOB) FROM {_TABLES[kind]} WHERE id = ?", (record_id,)
        ).fetchone()
        if row is None:
            return None
        try:
            return MODELS[kind].parse_json(row[0])
        except InvalidRecordError as e:
            raise self._unreadable_among(kind, e, [record_id]) from e

    @staticmethod
    def _write_search_rows(
        conn: sqlite3.Connection, records: Sequence[CanonicalRecord], replaced: Sequence[str]
    ) -> None:
        """Index `records` for search; `replaced` are the ids that had a row before."""
        if replaced:
            conn.executemany(
                "DELETE FROM memories_search "
                "WHERE rowid = (SELECT rowid FROM memories WHERE id = ?)",
                [(i,) for i in replaced],
            )
        conn.executemany(
            "INSERT INTO memories_search(rowid, title, body) "
            "SELECT rowid, ?, ? FROM memories WHERE id = ?",
            [(*r.search_fields(), r.id) for r in records],
        )

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
            return [_stored_row(kind, row) for row in rows]
        except (InvalidRecordError, _UndecodableText) as e:
            raise self._unreadable_in_page(kind, e, after, size, None) from e

    async def _terms_current(self) -> bool:
        """True when every memory's search row holds today's derived terms."""
        meta = dict(self._query("SELECT key, value FROM mg_meta"))
        return meta.get(_SEARCH_READY) == _SEARCH_TERMS

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
            for name, target in _SECONDARY_INDEXES.items():
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
            for chunk in _chunks(ids):
                # The cascade takes the memories' relationships, leaving no tombstone.
                removed += conn.execute(
                    f"DELETE FROM {table} WHERE id IN ({_marks(len(chunk))})", tuple(chunk)
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
        for chunk in _chunks(ids):
            marks = _marks(len(chunk))
            if table == "memories":
                # The relationships the cascade takes with them leave tombstones too.
                for end in ("from_id", "to_id"):
                    conn.execute(
                        "INSERT OR REPLACE INTO tombstones(kind, id, deleted_at) "
                        "SELECT 'relationship', id, ? FROM relationships "
                        f"WHERE {end} IN ({marks})",
                        (now, *chunk),
                    )
            kind = "memory" if table == "memories" else "relationship"
            conn.execute(
                "INSERT OR REPLACE INTO tombstones(kind, id, deleted_at) "
                f"SELECT ?, id, ? FROM {table} WHERE id IN ({marks})",
                (kind, now, *chunk),
            )
            deleted += conn.execute(
                f"DELETE FROM {table} WHERE id IN ({marks})", tuple(chunk)
            ).rowcount
        return deleted

    async def clear(self) -> None:
        self._require_writable()
        with self._transaction() as conn:
            conn.execute("DELETE FROM relationships")
            conn.execute("DELETE FROM memories")
            conn.execute("DELETE FROM tombstones")

    # --- reads -----------------------------------------------------------------

    def _select_docs(
        self, table: str, ids: Sequence[str], namespaces: Namespaces | None = None
    ) -> list[str]:
        kind: RecordKind = "memory" if table == "memories" else "relationship"
        conditions, params = _namespace_filter(kind, namespaces)
        scoped = "".join(f" AND {c}" for c in conditions)
        docs: list[str] = []
        for chunk in _chunks(list(dict.fromkeys(ids))):
            docs += [
                r[0]
                for r in self._query(
                    f"SELECT doc FROM {table} WHERE id IN ({_marks(len(chunk))}){scoped}",
                    [*chunk, *params],
                )
            ]
        return docs

    def _existing(self, table: str, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(list(ids)):
            found.update(
                r[0]
                for r in self._query(
                    f"SELECT id FROM {table} WHERE id IN ({_marks(len(chunk))})", chunk
                )
            )
        return found

    async def get_memories(
        self, ids: Sequence[str], *, namespaces: Namespaces | None = None
    ) -> list[Memory]:
        try:
            return [Memory.parse_json(d) for d in self._select_docs("memories", ids, namespaces)]
        except (InvalidRecordError, _UndecodableText) as e:
            raise self._unreadable_among("memory", e, ids) from e

    async def get_relationships(self, ids: Sequence[str]) -> list[Relationship]:
        try:
            return [Relationship.parse_json(d) for d in self._select_docs("relationships", ids)]
        except (InvalidRecordError, _UndecodableText) as e:
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
        rows = self._page_rows(_TABLES[kind], "doc", after, limit, since, namespaces, kind)
        return [r[0] for r in rows]

    def _page_rows(
        self,
        table: str,
        columns: str,
        after: str | None,
        limit: int,
        since: datetime | None,
        namespaces: Namespaces | None = None,
        kind: RecordKind = "memory",
    ) -> list[Any]:
        where, params = _namespace_filter(kind, namespaces)
        if after is not None:
            where.append("id > ?")
            params.append(after)
        if since is not None:
            where.append(f"{'written_at' if self._synced else 'changed_at'} >= ?")
            params.append(format_timestamp(since))
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        return self._query(
            f"SELECT {columns} FROM {table} {clause} ORDER BY id LIMIT ?", [*params, limit]
        )

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
        except (InvalidRecordError, _UndecodableText) as e:
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
        except (InvalidRecordError, _UndecodableText) as e:
            raise self._unreadable_in_page("relationship", e, after, limit, since) from e

    # --- records another program made unreadable ------------------------------------

    def _unreadable_in_page(
        self,
        kind: RecordKind,
        cause: MemoryGraphError,
        after: str | None,
        limit: int,
        since: datetime | None,
    ) -> MemoryGraphError:
        """The error for a page of `kind` that could not be read: the first record in
        it that cannot be, named by id (`cause` when none is found)."""
        rows = self._page_rows(
            _TABLES[kind], "CAST(id AS BLOB), CAST(doc AS BLOB)", after, limit, since
        )
        return self._first_unreadable(kind, rows) or cause

    def _unreadable_among(
        self, kind: RecordKind, cause: MemoryGraphError, ids: Sequence[str]
    ) -> MemoryGraphError:
        """`_unreadable_in_page` for the records of `kind` with these ids."""
        for chunk in _chunks(list(dict.fromkeys(ids))):
            rows = self._query(
                f"SELECT CAST(id AS BLOB), CAST(doc AS BLOB) FROM {_TABLES[kind]} "
                f"WHERE id IN ({_marks(len(chunk))})",
                chunk,
            )
            found = self._first_unreadable(kind, rows)
            if found is not None:
                return found
        return cause

    def _first_unreadable(
        self, kind: RecordKind, rows: Iterable[tuple[bytes, bytes]]
    ) -> UnreadableRecordError | None:
        """One line naming the first of `rows` (id, doc) that cannot be read, and what
        its owner can do, without a word of its text; None when every row reads."""
        for raw_id, raw in rows:
            fault = _doc_fault(kind, raw)
            if fault is None:
                continue
            record_id = raw_id.decode("utf-8", "backslashreplace")
            problem = (
                f"{self.describe()} holds {kind} {record_id!r}, which memorygraph cannot "
                f"read: {fault}"
            )
            if kind == "memory":
                return UnreadableRecordError(
                    problem, record_id=record_id, next_steps=[NextStep("forget", record_id)]
                )
            return UnreadableRecordError(
                f"{problem}; fix or delete that row in the program that wrote it",
                record_id=record_id,
            )
        return None

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
                    CanonicalRecord.parse(kind, raw, None if title is None else (title, body))
                    for raw, title, body in rows
                ]
            rows = self._page_rows(
                _TABLES[kind], "CAST(doc AS BLOB)", after, size, since, namespaces, kind
            )
            make = CanonicalRecord.trusted if trusted else CanonicalRecord.parse
            return [make(kind, raw) for (raw,) in rows]
        except InvalidRecordError as e:
            raise self._unreadable_in_page(kind, e, after, size, since) from e

    # The stored doc *is* the canonical form, so digests need no parsing.

    async def digests(self, kind: RecordKind, ids: Sequence[str]) -> dict[str, str]:
        table = _TABLES[kind]
        found: dict[str, str] = {}
        for chunk in _chunks(list(dict.fromkeys(ids))):
            rows = self._query(
                f"SELECT id, CAST(doc AS BLOB) FROM {table} WHERE id IN ({_marks(len(chunk))})",
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
        rows = self._page_rows(_TABLES[kind], "id, CAST(doc AS BLOB)", after, size, since)
        return [(record_id, hashlib.sha256(doc).hexdigest()) for record_id, doc in rows]

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
            f"AND NOT EXISTS (SELECT 1 FROM {_TABLES[kind]} r WHERE r.id = t.id) "
            "ORDER BY t.id LIMIT ?",
            [*params, limit],
        )
        return [Tombstone(kind, i, deleted_at) for i, deleted_at in rows]

    async def tombstones_of(self, kind: RecordKind, ids: Sequence[str]) -> dict[str, str]:
        if not self._synced:
            return {}
        found: dict[str, str] = {}
        for chunk in _chunks(ids):
            rows = self._query(
                f"SELECT t.id, t.deleted_at FROM tombstones t WHERE t.kind = ? "
                f"AND t.id IN ({_marks(len(chunk))}) "
                f"AND NOT EXISTS (SELECT 1 FROM {_TABLES[kind]} r WHERE r.id = t.id)",
                [kind, *chunk],
            )
            found.update((i, at) for i, at in rows)
        return found

    def _counted(
        self, kind: RecordKind, columns: str, namespaces: Namespaces | None, tail: str = ""
    ) -> list[Any]:
        where, params = _namespace_filter(kind, namespaces)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        sql = f"SELECT {columns} FROM {_TABLES[kind]}{clause}{tail}"
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
        # Both walk memories_changed_at from the newest and stop at their LIMIT; ties on
        # the change time are sorted by id in a small sorter (never the whole window).
        where, params = "changed_at >= ?", [format_timestamp(since)]
        if project is not None:
            where += " AND json_extract(doc, '$.context.project_path') = ?"
            params.append(project)
        if namespaces is not None:
            condition, values = _in_namespaces("doc", namespaces)
            where += f" AND {condition}"
            params += values
        newest = (
            "FROM memories INDEXED BY memories_changed_at "
            f"WHERE {where} ORDER BY changed_at DESC, id DESC LIMIT ?"
        )
        types = [t for (t,) in self._query(f"SELECT type {newest}", [*params, counted + 1])]
        by_type: dict[MemoryType, int] = {}
        for t in types[:counted]:
            by_type[MemoryType(t)] = by_type.get(MemoryType(t), 0) + 1
        docs = self._query(f"SELECT doc {newest}", [*params, limit])
        return RecentChanges(
            by_type, [Memory.parse_json(d) for (d,) in docs], more=len(types) > counted
        )

    # --- search ----------------------------------------------------------------

    def _require_search_index(self) -> None:
        rows = self._query("SELECT value FROM mg_meta WHERE key = ?", [_SEARCH_READY])
        if not rows:
            raise UsageError(
                _NOT_INDEXED.format(where=self.describe()),
                next_steps=[NextStep("reindex", self.describe())],
            )

    async def search_candidates(
        self,
        query: MatchQuery,
        filters: SearchFilters,
        limit: int,
        *,
        namespaces: Namespaces | None = None,
    ) -> list[Candidate]:
        self._require_search_index()
        window = query.window
        if window is not None:
            # Partial words would make FTS5 merge each whole prefix's matches first.
            query = query.exact()
        where = ["memories_search MATCH ?"]
        params: list[Any] = [_fts_query(query)]
        if namespaces is not None:
            condition, values = _in_namespaces("m.doc", namespaces)
            where.append(condition)
            params += values
        if filters.types:
            where.append(f"m.type IN ({_marks(len(filters.types))})")
            params += [t.value for t in filters.types]
        if filters.tags:
            where.append(
                "EXISTS (SELECT 1 FROM json_each(m.doc, '$.tags') AS t "
                f"WHERE t.value IN ({_marks(len(filters.tags))}))"
            )
            params += list(filters.tags)
        if filters.project is not None:
            where.append("json_extract(m.doc, '$.context.project_path') = ?")
            params.append(filters.project)
        if filters.min_importance is not None:
            where.append("json_extract(m.doc, '$.importance') >= ?")
            params.append(filters.min_importance)
        if filters.created_after is not None:
            where.append("json_extract(m.doc, '$.created_at') >= ?")
            params.append(format_timestamp(filters.created_after))
        if filters.updated_after is not None:
            where.append("m.changed_at >= ?")
            params.append(format_timestamp(filters.updated_after))
        if window is not None:
            return self._newest_candidates(where, params, window, joined=len(where) > 1)
        if len(where) == 1:
            # No filters: rank in the FTS table alone (half the cost of the join at
            # 100,000 memories), then look up the ids of the few rows kept. When every
            # match fits in `limit` (as the rare words' matches do by construction),
            # all are handed over and their order does not matter: skipping bm25()
            # saves most of the query.
            fits = (
                self._query(
                    "SELECT count(*) FROM (SELECT rowid FROM memories_search "
                    "WHERE memories_search MATCH ? LIMIT ?)",
                    [*params, limit + 1],
                )[0][0]
                <= limit
            )
            order = "" if fits else f"ORDER BY bm25(memories_search, {TITLE_WEIGHT}, 1.0), rowid "
            rows = self._query(
                "SELECT rowid, title, body FROM memories_search WHERE memories_search MATCH ? "
                f"{order}LIMIT ?",
                [*params, limit],
            )
            ids: dict[int, str] = {}
            for first in range(0, len(rows), _CHUNK):
                chunk = [r[0] for r in rows[first : first + _CHUNK]]
                ids.update(
                    self._query(
                        f"SELECT rowid, id FROM memories WHERE rowid IN ({_marks(len(chunk))})",
                        chunk,
                    )
                )
            return [Candidate(ids[r[0]], r[1], r[2]) for r in rows if r[0] in ids]
        # bm25() weights the title column as the shared scorer does.
        sql = (
            "SELECT m.id, s.title, s.body FROM memories_search s "
            "JOIN memories m ON m.rowid = s.rowid "
            f"WHERE {' AND '.join(where)} "
            f"ORDER BY bm25(memories_search, {TITLE_WEIGHT}, 1.0), m.id LIMIT ?"
        )
        return [Candidate(*row) for row in self._query(sql, [*params, limit])]

    def _newest_candidates(
        self, where: list[str], params: list[Any], window: Window, *, joined: bool
    ) -> list[Candidate]:
        """The best `window.keep` by bm25 among the `window.newest` matches of `where`.

        bm25() over every match of a common word costs about a microsecond a match,
        and the full-text index hands its matches over newest first at no cost: rank
        only the newest, then read the fields of the few kept.
        """
        source = "memories_search s"
        if joined:
            source += " JOIN memories m ON m.rowid = s.rowid"
        newest = (
            f"SELECT s.rowid AS rowid, bm25(memories_search, {TITLE_WEIGHT}, 1.0) AS rank "
            f"FROM {source} WHERE {' AND '.join(where)} ORDER BY s.rowid DESC LIMIT ?"
        )
        best = f"SELECT rowid, rank FROM ({newest}) ORDER BY rank, rowid LIMIT ?"
        rows = self._query(
            f"SELECT m.id, s.title, s.body FROM ({best}) AS b "
            "JOIN memories m ON m.rowid = b.rowid JOIN memories_search s ON s.rowid = b.rowid "
            "ORDER BY b.rank, b.rowid",
            [*params, window.newest, window.keep],
        )
        return [Candidate(*row) for row in rows]

    async def search_total(self, *, namespaces: Namespaces | None = None) -> int:
        if namespaces is not None:
            return await self.count_memories(namespaces=namespaces)
        # count(*) walks an index of every memory (about 1 ms per 100,000); keep the
        # last answer until the store changes.
        stamp = self._change_stamp()
        if self._total is None or self._total[0] != stamp:
            self._total = (stamp, await self.count_memories())
        return self._total[1]

    def _change_stamp(self) -> tuple[int, int]:
        """Changes whenever the store may have: this connection wrote (total_changes) or
        another one committed (data_version)."""
        with self._errors():
            version = self.conn.execute("PRAGMA data_version").fetchone()[0]
        return (version, self.conn.total_changes)

    async def count_matches(
        self, queries: Sequence[MatchQuery], *, namespaces: Namespaces | None = None
    ) -> list[int]:
        self._require_search_index()
        if namespaces is None:
            # Counting a common word's matches walks them all (a few ms at 100,000
            # memories, its partial-word alternatives merged first): keep each count
            # until the store changes.
            stamp = self._change_stamp()
            if self._df is None or self._df[0] != stamp or len(self._df[1]) > _DF_KEPT:
                self._df = (stamp, {})
            known = self._df[1]
            counts = []
            for q in queries:
                text = _fts_query(q)
                if text not in known:
                    known[text] = int(
                        self._query(
                            "SELECT count(*) FROM memories_search WHERE memories_search MATCH ?",
                            [text],
                        )[0][0]
                    )
                counts.append(known[text])
            return counts
        condition, params = _in_namespaces("m.doc", namespaces)
        return [
            int(
                self._query(
                    "SELECT count(*) FROM memories_search s JOIN memories m "
                    f"ON m.rowid = s.rowid WHERE memories_search MATCH ? AND {condition}",
                    [_fts_query(q), *params],
                )[0][0]
            )
            for q in queries
        ]

    async def rebuild_search_index(self) -> int:
        self._require_writable()
        conn = self.conn
        with self._errors():
            conn.executescript(f"BEGIN; {_OLD_SEARCH} {_SEARCH_SCHEMA} COMMIT;")
        done = 0
        with self._transaction() as tx:
            tx.execute("DELETE FROM memories_search")
            # Validated when written; the terms only need the values.
            async for page in self.iter_canonical("memory", trusted=True):
                self._write_search_rows(tx, page, replaced=())
                done += len(page)
            tx.execute(
                "INSERT OR REPLACE INTO mg_meta(key, value) VALUES (?, ?)",
                (_SEARCH_READY, _SEARCH_TERMS),
            )
        return done

    # --- vectors: a table of float32 blobs, ranked by an exact scan in memory --------

    def _has_vector_table(self) -> bool:
        return bool(self._query("SELECT 1 FROM sqlite_master WHERE name = 'memory_vectors'"))

    async def memories_without_vectors(self, model: str, limit: int) -> list[Memory]:
        if not self._has_vector_table():
            return []
        # Asking walks every memory (a quarter of a second at 100,000): an answer of
        # none holds until the store changes.
        stamp = (*self._change_stamp(), model)
        if self._all_embedded == stamp:
            return []
        docs = self._query(
            "SELECT m.doc FROM memories m WHERE NOT EXISTS (SELECT 1 FROM memory_vectors v "
            "WHERE v.id = m.id AND v.model = ?) ORDER BY m.id LIMIT ?",
            [model, limit],
        )
        self._all_embedded = None if docs else stamp
        return [Memory.parse_json(doc) for (doc,) in docs]

    async def put_vectors(self, model: str, vectors: Sequence[tuple[str, bytes]]) -> None:
        self._require_writable()
        with self._transaction() as tx:
            tx.executemany(
                "INSERT OR REPLACE INTO memory_vectors(id, model, vec) "
                "SELECT id, ?, ? FROM memories WHERE id = ?",
                [(model, vector, memory_id) for memory_id, vector in vectors],
            )

    async def drop_vectors(self) -> None:
        self._require_writable()
        with self._transaction() as tx:
            tx.execute("DELETE FROM memory_vectors")

    async def vector_search(
        self,
        model: str,
        vector: bytes,
        limit: int,
        filters: SearchFilters | None = None,
    ) -> list[tuple[str, float]]:
        from memorygraph.backends.vector_scan import VectorScan

        if not self._has_vector_table():
            return []
        with self._errors():
            version = self.conn.execute("PRAGMA data_version").fetchone()[0]
        stamp = (version, self.conn.total_changes, model)
        if self._vectors is None or self._vectors.stamp != stamp:
            rows = self._query("SELECT id, vec FROM memory_vectors WHERE model = ?", [model])
            self._vectors = VectorScan(stamp, [r[0] for r in rows], [r[1] for r in rows])
        return self._vectors.nearest(vector, limit)

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
            legs = [f"{leg} AND r.type IN ({_marks(len(wanted))})" for leg in legs]
        scoped: list[str] = []
        if namespaces is not None:
            # Both ends: the memory asked about and each neighbour.
            condition, scoped = _ends_in_namespaces("r.from_id", "r.to_id", namespaces)
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
