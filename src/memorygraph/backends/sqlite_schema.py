"""The SQLite store's schema: the tables, indexes and triggers a new file gets, the
full-text and vector tables, and the changes that bring a file written by an
earlier memorygraph up to date on its first writable open (`open_schema`).
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from memorygraph.errors import DatabaseFileError
from memorygraph.search.text import HEX, PLAIN, Spelling

SCHEMA_NAME = "memorygraph"
SCHEMA_VERSION = "1"

#: The full-text index: one row per memory (rowid = memories.rowid) holding the
#: derived fields of `memorygraph.search.text.field_texts`, written with the memory.
#: Its tokenizer splits at spaces and ASCII punctuation but keeps the marks of the
#: `PLAIN` spelling (`#`, `$`) inside a token; a table made before keeps `HEX` terms.
SEARCH_TABLE = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS memories_search "
    "USING fts5(title, body, tokenize = \"ascii tokenchars '#$'\")"
)
SEARCH_SCHEMA = f"""
{SEARCH_TABLE};
CREATE TRIGGER IF NOT EXISTS memories_search_delete AFTER DELETE ON memories BEGIN
    DELETE FROM memories_search WHERE rowid = old.rowid;
END;
"""
#: What stores written before `memories_search` existed had instead.
OLD_SEARCH = """
DROP TRIGGER IF EXISTS memories_fts_insert;
DROP TRIGGER IF EXISTS memories_fts_delete;
DROP TRIGGER IF EXISTS memories_fts_update;
DROP TABLE IF EXISTS memories_fts;
"""
#: mg_meta key set once every memory's search row is written; its value is the
#: version of the derivation (`memorygraph.search.text`) the rows were written with,
#: which says how their tokens are spelled: `SEARCH_TERMS` in `PLAIN` (the ``ascii``
#: tokenizer keeps every non-ASCII character, so each token is one, marks and all),
#: `HEX_TERMS` in `HEX`, as stores written before kept them, and keep them: a store's
#: spelling never changes, so processes sharing it always write the same one.
SEARCH_READY = "search_index"
SEARCH_TERMS = "2"
HEX_TERMS = "1"


def terms_spelling(conn: sqlite3.Connection) -> Spelling:
    """How the search rows of the store open on `conn` spell their tokens."""
    row = conn.execute("SELECT value FROM mg_meta WHERE key = ?", (SEARCH_READY,)).fetchone()
    return HEX if row is not None and row[0] == HEX_TERMS else PLAIN


def terms_version(spelling: Spelling) -> str:
    """The `SEARCH_READY` value of search rows written in `spelling`."""
    return HEX_TERMS if spelling is HEX else SEARCH_TERMS


#: Memories' vectors (derived, `memorygraph.search.semantic`): any write of a memory row
#: drops its vector, which the store then computes again.
VECTOR_SCHEMA = """
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

#: The ids of the vectors written or dropped, in order (`seq` never reused): a process
#: holding the vectors in memory reads only what changed since it last looked. The
#: triggers are in the file, so every writer logs, whatever its version. An insert
#: that replaces a row logs its id by the insert (REPLACE fires no delete trigger).
#: The log keeps its newest `VECTOR_LOG_KEPT` entries; a reader that is further
#: behind reads the vectors whole.
VECTOR_LOG_SCHEMA = """
CREATE TABLE IF NOT EXISTS vector_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS vector_log_insert AFTER INSERT ON memory_vectors BEGIN
    INSERT INTO vector_log(id) VALUES (new.id);
END;
CREATE TRIGGER IF NOT EXISTS vector_log_update AFTER UPDATE ON memory_vectors BEGIN
    INSERT INTO vector_log(id) VALUES (old.id), (new.id);
END;
CREATE TRIGGER IF NOT EXISTS vector_log_delete AFTER DELETE ON memory_vectors BEGIN
    INSERT INTO vector_log(id) VALUES (old.id);
END;
"""
VECTOR_LOG_KEPT = 10_000

SCHEMA = """
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
SCHEMA += SEARCH_SCHEMA

#: Change times and tombstones (see `Backend`): `written_at` is the store's clock at
#: each record's last write, which `since` compares; `changed_at` stays the record's
#: own time (search filters on it). Stores written before these existed get them on
#: their first writable open; until then (read-only) `since` falls back to `changed_at`.
SYNC_SCHEMA = """
CREATE TABLE IF NOT EXISTS tombstones (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    deleted_at TEXT NOT NULL,
    PRIMARY KEY (kind, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tombstones_deleted_at ON tombstones(deleted_at);
"""
SYNC_COLUMNS = """
ALTER TABLE memories ADD COLUMN written_at TEXT;
ALTER TABLE relationships ADD COLUMN written_at TEXT;
UPDATE memories SET written_at = changed_at;
UPDATE relationships SET written_at = changed_at;
"""
SYNC_INDEXES = """
CREATE INDEX IF NOT EXISTS memories_written_at ON memories(written_at);
CREATE INDEX IF NOT EXISTS relationships_written_at ON relationships(written_at);
"""

#: The secondary indexes (name → what it indexes), not the keys: a copy into an
#: empty store builds them once after its last page, and a writable open builds any
#: that such a copy, killed, left missing.
SECONDARY_INDEXES: dict[str, str] = dict(
    re.findall(r"CREATE INDEX (?:IF NOT EXISTS )?(\w+) (ON [^;]+);", SCHEMA + SYNC_INDEXES)
)


def open_schema(conn: sqlite3.Connection, where: Path, *, fresh: bool, read_only: bool) -> bool:
    """Check the schema of the store `conn` opened at `where`: create it in a `fresh`
    file, and unless `read_only` bring a store written by an earlier memorygraph up to
    date. True when the store has change times and tombstones (a read-only old store
    may not); `DatabaseFileError` when the file is not a store this version reads."""
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        if not tables and fresh and not read_only:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.executescript(
                f"BEGIN; {SCHEMA} {SYNC_SCHEMA} {SYNC_INDEXES} {VECTOR_SCHEMA} {VECTOR_LOG_SCHEMA} "
                "COMMIT;"
            )
            conn.executemany(
                "INSERT INTO mg_meta(key, value) VALUES (?, ?)",
                [
                    ("schema", SCHEMA_NAME),
                    ("schema_version", SCHEMA_VERSION),
                    (SEARCH_READY, SEARCH_TERMS),
                ],
            )
            return True
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
        if not read_only:
            conn.execute("PRAGMA synchronous = NORMAL")
            if SEARCH_READY not in meta:
                _add_search_schema(conn)
            _add_sync_schema(conn)
            _add_missing_indexes(conn)
            if "memory_vectors" not in tables or "vector_log" not in tables:
                conn.executescript(f"BEGIN; {VECTOR_SCHEMA} {VECTOR_LOG_SCHEMA} COMMIT;")
        return "tombstones" in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError as e:
        raise DatabaseFileError(
            f"{where} is not a usable memorygraph database ({e}); check the path "
            "or restore it from an export"
        ) from e


def _add_sync_schema(conn: sqlite3.Connection) -> None:
    """Give a store written before change times and tombstones existed both."""
    columns = {r[1] for r in conn.execute("PRAGMA table_info(memories)")}
    if "written_at" in columns:
        return
    conn.executescript(f"BEGIN; {SYNC_COLUMNS} {SYNC_SCHEMA} {SYNC_INDEXES} COMMIT;")


def _add_missing_indexes(conn: sqlite3.Connection) -> None:
    """Build the secondary indexes a killed copy left unbuilt (reads only when none is
    missing: no write lock is taken on a store in use)."""
    present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    missing = [name for name in SECONDARY_INDEXES if name not in present]
    if missing:
        conn.executescript(
            "BEGIN; "
            + "".join(f"CREATE INDEX IF NOT EXISTS {n} {SECONDARY_INDEXES[n]}; " for n in missing)
            + "COMMIT;"
        )


def _add_search_schema(conn: sqlite3.Connection) -> None:
    """Give a store written before ranked search its index (empty until reindexed, at
    once when the store is empty)."""
    empty = conn.execute("SELECT count(*) FROM memories").fetchone()[0] == 0
    # An empty store's table is made anew: an earlier release may have made it without
    # the tokenizer that keeps the marks inside a token.
    anew = "DROP TABLE IF EXISTS memories_search;" if empty else ""
    conn.executescript(f"BEGIN; {OLD_SEARCH} {anew} {SEARCH_SCHEMA} COMMIT;")
    if empty:
        conn.execute("INSERT INTO mg_meta(key, value) VALUES (?, ?)", (SEARCH_READY, SEARCH_TERMS))
