"""The SQLite backend's connection and what every part of it shares: opening the
file (its schema checked or created), the worker thread every statement runs on,
transactions, the translation of SQLite's errors, paging rows in id order, and
naming a record another program left unreadable.
"""

from __future__ import annotations

import asyncio
import sqlite3
import stat
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from memorygraph.backends.base import Backend, RecordKind
from memorygraph.backends.sqlite_schema import (
    HEX_TERMS,
    SEARCH_READY,
    SEARCH_TERMS,
    open_schema,
    terms_spelling,
)
from memorygraph.backends.sqlite_sql import TABLES, chunks, marks, namespace_filter
from memorygraph.backends.worker import WorkerThread, on_worker_thread
from memorygraph.canonical import MODELS
from memorygraph.errors import (
    BackendBusyError,
    BackendOperationError,
    DatabaseFileError,
    InvalidRecordError,
    MemoryGraphError,
    NextStep,
    StorageFullError,
    UnreadableRecordError,
)
from memorygraph.models import format_timestamp
from memorygraph.principal import Namespaces
from memorygraph.search.text import PLAIN, Spelling

if TYPE_CHECKING:
    from memorygraph.backends.vector_scan import VectorScan


@dataclass
class HeldVectors:
    """A store's vectors of one model held in memory, as of `stamp` (None: of no moment
    this connection saw; read on another) and vector log entry `seen` (None: the store
    keeps no log)."""

    scan: VectorScan
    model: str
    stamp: tuple[int, int] | None
    seen: int | None


class UndecodableText(DatabaseFileError):
    """sqlite3 could not decode a stored text as UTF-8 (another program wrote it)."""


def doc_fault(kind: RecordKind, raw: bytes) -> str | None:
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


@on_worker_thread
class SQLiteConnection(Backend):
    """A backend on one SQLite file at `config.path`: its connection, worker thread,
    transactions and row reads, which the parts of `SQLiteBackend` build on."""

    _conn: sqlite3.Connection | None = None
    _worker: WorkerThread | None = None
    #: The store has `written_at` and `tombstones` (a read-only old store may not).
    _synced: bool = False
    #: How the store's search rows spell their tokens (read as it opens; never changes).
    _spelling: Spelling = PLAIN
    #: ((data_version, total_changes), memory count) of the last `search_total`.
    _total: tuple[tuple[int, int], int] | None = None
    #: (the same stamp, {full-text query: memories matching it}) of `count_matches`.
    _df: tuple[tuple[int, int], dict[str, int]] | None = None
    #: (the same stamp, {statement: rows}) of the counts over the whole store.
    _counts: tuple[tuple[int, int], dict[str, list[Any]]] | None = None
    #: The vectors as of the last `vector_search` (brought up to date at the next).
    _vectors: HeldVectors | None = None
    #: The vectors being read ahead (`hold_vectors`), and the connection of their own
    #: they are read on meanwhile.
    _holding: asyncio.Future[int] | None = None
    _aside: sqlite3.Connection | None = None
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
            self._synced = open_schema(
                conn,
                path,
                fresh=not exists or path.stat().st_size == 0,
                read_only=self.config.read_only,
            )
            self._spelling = terms_spelling(conn)
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        self._total = self._df = self._counts = None

    async def close(self) -> None:
        # On the worker, after anything still running there (a batch whose caller was
        # cancelled): closing a connection under a running statement would crash.
        try:
            await self.worker.run_to_completion(self._close_connection)
        finally:
            self.worker.stop()

    def _close_connection(self) -> None:
        if self._holding is not None:
            # Stopped, not waited for: a process that ends soon after it started (a
            # client that only lists the tools) would otherwise wait for the whole read.
            self._holding.cancel()
            aside, self._aside = self._aside, None
            if aside is not None:
                with suppress(sqlite3.ProgrammingError):  # closed meanwhile
                    aside.interrupt()
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
                raise UndecodableText(
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

    def _change_stamp(self) -> tuple[int, int]:
        """Changes whenever the store may have: this connection wrote (total_changes) or
        another one committed (data_version)."""
        with self._errors():
            version = self.conn.execute("PRAGMA data_version").fetchone()[0]
        return (version, self.conn.total_changes)

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
        where, params = namespace_filter(kind, namespaces)
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

    @property
    def term_spelling(self) -> Spelling:
        return self._spelling

    async def _terms_current(self) -> bool:
        """True when every memory's search row holds today's derived terms."""
        meta = dict(self._query("SELECT key, value FROM mg_meta"))
        return meta.get(SEARCH_READY) in (SEARCH_TERMS, HEX_TERMS)

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
            TABLES[kind], "CAST(id AS BLOB), CAST(doc AS BLOB)", after, limit, since
        )
        return self._first_unreadable(kind, rows) or cause

    def _unreadable_among(
        self, kind: RecordKind, cause: MemoryGraphError, ids: Sequence[str]
    ) -> MemoryGraphError:
        """`_unreadable_in_page` for the records of `kind` with these ids."""
        for chunk in chunks(list(dict.fromkeys(ids))):
            rows = self._query(
                f"SELECT CAST(id AS BLOB), CAST(doc AS BLOB) FROM {TABLES[kind]} "
                f"WHERE id IN ({marks(len(chunk))})",
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
            fault = doc_fault(kind, raw)
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
