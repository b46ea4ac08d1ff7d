"""Finding memories in a SQLite store: ranked candidates and match counts from the
FTS5 table `memories_search` (kept until the store changes where counting is
costly), its rebuild, and the memories' vectors ranked by an exact scan.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from memorygraph.backends.sqlite_connection import HeldVectors
from memorygraph.backends.sqlite_reads import SQLiteReads
from memorygraph.backends.sqlite_schema import (
    OLD_SEARCH,
    SEARCH_READY,
    SEARCH_SCHEMA,
    SEARCH_TABLE,
    VECTOR_LOG_KEPT,
    terms_version,
)
from memorygraph.backends.sqlite_sql import CHUNK, in_namespaces, marks
from memorygraph.backends.worker import on_worker_thread
from memorygraph.canonical import CanonicalRecord
from memorygraph.errors import NextStep, UsageError
from memorygraph.models import Memory, format_timestamp
from memorygraph.principal import Namespaces
from memorygraph.search import SearchFilters
from memorygraph.search.ranking import TITLE_WEIGHT, Candidate, MatchQuery, Window
from memorygraph.search.text import PLAIN, Spelling

if TYPE_CHECKING:
    from memorygraph.backends.vector_scan import VectorScan

#: Runs a statement with its parameters and returns every row.
Query = Callable[[str, Sequence[Any]], list[Any]]

#: Document frequencies kept between writes (the queries' words), at most.
_DF_KEPT = 4096
_NOT_INDEXED = (
    "{where} was written before memorygraph had ranked search, so it has no search index yet"
)


def _fts_query(query: MatchQuery) -> str:
    # Tokens hold no space, quote or ASCII punctuation in either spelling
    # (memorygraph.search.text), quoted anyway: no user text is parsed as FTS5 syntax.
    return query.expression(
        either=" OR ", both=" AND ", quote=lambda token: '"' + token.replace('"', '""') + '"'
    )


def write_search_rows(
    conn: sqlite3.Connection,
    records: Sequence[CanonicalRecord],
    replaced: Sequence[str],
    spelling: Spelling,
) -> None:
    """Index `records` for search, their tokens in `spelling`; `replaced` are the ids
    that had a row before."""
    if replaced:
        conn.executemany(
            "DELETE FROM memories_search WHERE rowid = (SELECT rowid FROM memories WHERE id = ?)",
            [(i,) for i in replaced],
        )
    conn.executemany(
        "INSERT INTO memories_search(rowid, title, body) "
        "SELECT rowid, ?, ? FROM memories WHERE id = ?",
        [(*r.search_fields(spelling), r.id) for r in records],
    )


def _read_vectors(
    query: Query, model: str, stamp: tuple[int, int] | None, logged: bool
) -> HeldVectors:
    """Every vector of `model`, read whole through `query`, held as of `stamp` and (in a
    store with a vector log, `logged`) of the log's last entry."""
    from memorygraph.backends.vector_scan import VectorScan  # needs numpy: the extra

    # The log's end is read before the vectors: a change made in between is read again
    # when they are next brought up to date, never missed.
    seen = int(query("SELECT coalesce(max(seq), 0) FROM vector_log", [])[0][0]) if logged else None
    rows = query("SELECT id, vec FROM memory_vectors WHERE model = ?", [model])
    return HeldVectors(VectorScan([r[0] for r in rows], [r[1] for r in rows]), model, stamp, seen)


@on_worker_thread
class SQLiteSearch(SQLiteReads):
    """Full-text candidates, match counts and the index's rebuild (from the stored
    records, as `SQLiteReads` reads them); memories' vectors."""

    def _require_search_index(self) -> None:
        rows = self._query("SELECT value FROM mg_meta WHERE key = ?", [SEARCH_READY])
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
            condition, values = in_namespaces("m.doc", namespaces)
            where.append(condition)
            params += values
        if filters.types:
            where.append(f"m.type IN ({marks(len(filters.types))})")
            params += [t.value for t in filters.types]
        if filters.tags:
            where.append(
                "EXISTS (SELECT 1 FROM json_each(m.doc, '$.tags') AS t "
                f"WHERE t.value IN ({marks(len(filters.tags))}))"
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
            for first in range(0, len(rows), CHUNK):
                chunk = [r[0] for r in rows[first : first + CHUNK]]
                ids.update(
                    self._query(
                        f"SELECT rowid, id FROM memories WHERE rowid IN ({marks(len(chunk))})",
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
        condition, params = in_namespaces("m.doc", namespaces)
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
            conn.executescript(f"BEGIN; {OLD_SEARCH} {SEARCH_SCHEMA} COMMIT;")
        done = 0
        with self._transaction() as tx:
            if self.term_spelling is PLAIN:
                # Made again, in this transaction: an earlier release may have made the
                # table without the tokenizer that keeps the marks inside a token.
                tx.execute("DROP TABLE memories_search")
                tx.execute(SEARCH_TABLE)
            else:
                tx.execute("DELETE FROM memories_search")
            # Validated when written; the terms only need the values.
            async for page in self.iter_canonical("memory", trusted=True):
                write_search_rows(tx, page, (), self.term_spelling)
                done += len(page)
            tx.execute(
                "INSERT OR REPLACE INTO mg_meta(key, value) VALUES (?, ?)",
                (SEARCH_READY, terms_version(self.term_spelling)),
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
        # Every vector belongs to a stored memory, one per memory (it goes with its
        # memory): as many vectors of `model` as memories means every memory has one.
        # A process that ranks by these vectors holds them and counts nothing; else
        # counting them (about 30 ms at 100,000) spares the walk below (about 0.65 s).
        if self._vectors is not None and self._vectors.model == model:
            vectors = len(self._held_vectors(model))
        else:
            counted = self._query("SELECT count(*) FROM memory_vectors WHERE model = ?", [model])
            vectors = counted[0][0]
        if vectors == self._query("SELECT count(*) FROM memories")[0][0]:
            self._all_embedded = stamp
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
            self._trim_vector_log(tx)

    async def drop_vectors(self) -> None:
        self._require_writable()
        with self._transaction() as tx:
            tx.execute("DELETE FROM memory_vectors")
            self._trim_vector_log(tx)

    def _trim_vector_log(self, tx: sqlite3.Connection) -> None:
        if self._has_vector_log():
            tx.execute(
                "DELETE FROM vector_log WHERE seq <= (SELECT max(seq) FROM vector_log) - ?",
                [VECTOR_LOG_KEPT],
            )

    def _has_vector_log(self) -> bool:
        return bool(self._query("SELECT 1 FROM sqlite_master WHERE name = 'vector_log'"))

    async def vector_search(
        self,
        model: str,
        vector: bytes,
        limit: int,
        filters: SearchFilters | None = None,
    ) -> list[tuple[str, float]]:
        if not self._has_vector_table():
            return []
        holding = self._holding
        if holding is not None and not holding.done():
            # Vectors being read ahead (`hold_vectors`): waited for, not read twice. If
            # that read fails, they are read here instead.
            await asyncio.wait([holding])
        return self._held_vectors(model).nearest(vector, limit)

    async def hold_vectors(self, model: str) -> int | None:
        # Read on a read-only connection of its own, in another thread: the worker's
        # connection answers other calls meanwhile (0.5 s for 100,000 vectors with the
        # file cached, several seconds when it is not).
        held = self._vectors
        if held is not None and held.model == model:
            return len(held.scan)
        if not self._has_vector_table() or not self._has_vector_log():
            return None  # without a log, vectors read aside could not be brought up to date
        if self._holding is None or self._holding.done():
            self._holding = asyncio.ensure_future(self._read_vectors_aside(model))
            # Its failure is the caller's to see; once that caller is gone, nobody's.
            self._holding.add_done_callback(lambda f: f.cancelled() or f.exception())
        return await asyncio.shield(self._holding)

    async def _read_vectors_aside(self, model: str) -> int:
        aside = await asyncio.to_thread(self._load_vectors_aside, model)
        if self._vectors is None or self._vectors.model != model:
            self._vectors = aside
        return len(self._vectors.scan)

    def _load_vectors_aside(self, model: str) -> HeldVectors:
        """Every vector of `model`, read on a read-only connection of the calling
        thread's own. They are held as of a log entry, with no change stamp of the
        worker's connection: the next search brings them up to date from the log."""
        uri = f"{self.path.resolve().as_uri()}?mode=ro"
        with self._errors():
            conn = sqlite3.connect(uri, uri=True, timeout=self.config.timeout_seconds)

            def query(sql: str, params: Sequence[Any]) -> list[Any]:
                if self._aside is not conn:  # interrupted between two statements
                    raise sqlite3.OperationalError("interrupted")
                return conn.execute(sql, tuple(params)).fetchall()

            self._aside = conn  # interrupted if the store closes meanwhile
            try:
                return _read_vectors(query, model, None, logged=True)
            finally:
                self._aside = None
                conn.close()

    def _held_vectors(self, model: str) -> VectorScan:
        """The vectors of `model` as the store holds them now: those held since the last
        call, brought up to date from the vector log, or read whole when the log cannot
        say what changed (a store without one, or a reader further behind than it keeps)."""
        stamp = self._change_stamp()
        held = self._vectors
        if held is not None and held.model == model:
            if held.stamp == stamp:
                return held.scan
            logged = self._vectors_changed_since(held.seen, model)
            if logged is not None:
                changed, last = logged
                try:
                    held.scan.update(changed)
                except ValueError:  # vectors of another length: read them whole
                    pass
                else:
                    held.stamp, held.seen = stamp, last
                    return held.scan
        self._vectors = _read_vectors(self._query, model, stamp, self._has_vector_log())
        return self._vectors.scan

    def _vectors_changed_since(
        self, seen: int | None, model: str
    ) -> tuple[dict[str, bytes | None], int] | None:
        """Each vector of `model` written or dropped after log entry `seen`, by id (None:
        dropped, or now of another model), and the last entry read; None when the log
        does not reach back that far."""
        if seen is None or not self._has_vector_log():
            return None
        entries = self._query("SELECT seq, id FROM vector_log WHERE seq > ?", [seen])
        # Checked after the entries were read: the log only loses its oldest entries,
        # so if it still reaches back now, it held every one of them then.
        first = self._query("SELECT min(seq) FROM vector_log")[0][0]
        if first is not None and first > seen + 1:
            return None
        # The vectors are read after the entries: one written since is read here too,
        # and again at the next call, which does no harm.
        ids = list(dict.fromkeys(memory_id for _, memory_id in entries))
        changed: dict[str, bytes | None] = dict.fromkeys(ids)
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            changed.update(
                self._query(
                    f"SELECT id, vec FROM memory_vectors WHERE model = ? "
                    f"AND id IN ({marks(len(chunk))})",
                    [model, *chunk],
                )
            )
        return changed, max((seq for seq, _ in entries), default=seen)
