"""The vectors an SQLite store's reader holds in memory stay exactly the store's: after
writes by another process, by another connection, and when the reader has fallen
further behind than the vector log keeps, it ranks as a reader that read them whole."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")

from memorygraph.backends import sqlite_search  # noqa: E402
from memorygraph.backends.base import Backend  # noqa: E402
from memorygraph.backends.registry import create_backend  # noqa: E402
from memorygraph.config import BackendConfig  # noqa: E402
from memorygraph.sample import sample_memories  # noqa: E402

MODEL = "test-model"
DIMENSIONS = 16


def _vector(seed: int) -> bytes:
    v = np.random.default_rng(seed).normal(size=DIMENSIONS)
    return (v / np.linalg.norm(v)).astype("<f4").tobytes()


def _config(path: Path, **kw: object) -> BackendConfig:
    return BackendConfig("sqlite", path=path, **kw)  # type: ignore[arg-type]


async def _filled(path: Path, n: int) -> None:
    async with create_backend(_config(path)) as backend:
        memories = list(sample_memories(n))
        await backend.upsert_memories(memories)
        await backend.put_vectors(MODEL, [(m.id, _vector(i)) for i, m in enumerate(memories)])


async def _ranked(backend: Backend) -> list[list[tuple[str, float]]]:
    return [await backend.vector_search(MODEL, _vector(10_000 + q), 1_000) for q in range(6)]


async def _fresh(path: Path) -> list[list[tuple[str, float]]]:
    async with create_backend(_config(path, read_only=True)) as backend:
        return await _ranked(backend)


#: Run in another process on the store at argv[1]: a new memory with a vector, one
#: memory changed (its vector dropped by the store) and given a new one, one deleted,
#: one vector replaced, and one memory changed and left without a vector.
WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    import numpy as np
    from memorygraph.backends.registry import create_backend
    from memorygraph.config import BackendConfig
    from memorygraph.sample import sample_memories

    def vector(seed):
        v = np.random.default_rng(seed).normal(size=16)
        return (v / np.linalg.norm(v)).astype("<f4").tobytes()

    async def main():
        async with create_backend(BackendConfig("sqlite", path=Path(sys.argv[1]))) as b:
            memories = list(sample_memories(40))
            new = memories[30].model_copy(update={"id": "mem-new"})
            await b.upsert_memories([new])
            changed = memories[3].model_copy(update={"title": "changed"})
            await b.upsert_memories([changed])
            await b.put_vectors("test-model", [("mem-new", vector(500)), (changed.id, vector(501))])
            await b.delete_memories([memories[7].id])
            await b.put_vectors("test-model", [(memories[9].id, vector(502))])
            await b.upsert_memories([memories[12].model_copy(update={"title": "no vector"})])

    asyncio.run(main())
    """
)


def test_a_reader_sees_another_process_writes_without_reading_the_vectors_whole(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.db"

    async def scenario() -> None:
        await _filled(path, 40)
        async with create_backend(_config(path)) as reader:
            before = await _ranked(reader)
            assert before == await _fresh(path)
            held = reader._vectors  # type: ignore[attr-defined]
            subprocess.run([sys.executable, "-c", WRITER, str(path)], check=True)
            after = await _ranked(reader)
            assert after == await _fresh(path)
            assert after != before
            ids = {i for i, _ in after[0]}
            assert "mem-new" in ids
            assert not ids & {"mem-00000007", "mem-00000012"}  # deleted; without a vector
            assert len(ids) == 39
            assert reader._vectors is held  # type: ignore[attr-defined]
            # The memory without a vector is found by asking; with one it no longer is.
            assert [m.id for m in await reader.memories_without_vectors(MODEL, 10)] == [
                "mem-00000012"
            ]
            await reader.put_vectors(MODEL, [("mem-00000012", _vector(503))])
            assert await reader.memories_without_vectors(MODEL, 10) == []
            assert await _ranked(reader) == await _fresh(path)

    asyncio.run(scenario())


def test_a_reader_further_behind_than_the_log_keeps_reads_the_vectors_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_search, "VECTOR_LOG_KEPT", 5)
    path = tmp_path / "store.db"

    async def scenario() -> None:
        await _filled(path, 30)
        async with create_backend(_config(path)) as reader, create_backend(_config(path)) as writer:
            await _ranked(reader)
            held = reader._vectors  # type: ignore[attr-defined]
            await writer.put_vectors(MODEL, [("mem-00000001", _vector(600))])
            assert await _ranked(reader) == await _fresh(path)
            assert reader._vectors is held  # type: ignore[attr-defined]
            await writer.put_vectors(
                MODEL, [(f"mem-{i:08d}", _vector(700 + i)) for i in range(2, 12)]
            )
            assert await _ranked(reader) == await _fresh(path)
            assert reader._vectors is not held  # type: ignore[attr-defined]
            await writer.drop_vectors()
            assert await _ranked(reader) == [[]] * 6

    asyncio.run(scenario())


def test_a_store_from_before_the_vector_log_gets_one_when_opened_for_writing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.db"

    async def scenario() -> None:
        await _filled(path, 20)
        with sqlite3.connect(path) as conn:
            for trigger in ("vector_log_insert", "vector_log_update", "vector_log_delete"):
                conn.execute(f"DROP TRIGGER {trigger}")
            conn.execute("DROP TABLE vector_log")
        # Read-only, it cannot be given one: its vectors are read whole after a change.
        async with create_backend(_config(path, read_only=True)) as old:
            first = await _ranked(old)
            async with create_backend(_config(path)) as writer:
                await writer.put_vectors(MODEL, [("mem-00000002", _vector(800))])
            assert await _ranked(old) == await _fresh(path) != first
        with sqlite3.connect(path) as conn:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert "vector_log" in tables

    asyncio.run(scenario())


def test_asking_for_memories_without_vectors_walks_the_memories_only_when_one_lacks_one(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.db"

    async def scenario() -> None:
        await _filled(path, 30)
        async with create_backend(_config(path)) as backend:
            statements: list[str] = []
            backend.conn.set_trace_callback(statements.append)  # type: ignore[attr-defined]
            assert await backend.memories_without_vectors(MODEL, 10) == []
            walks = [s for s in statements if "NOT EXISTS" in s]
            assert walks == []
            await backend.upsert_memories(
                [next(sample_memories(1)).model_copy(update={"title": "changed"})]
            )
            missing = await backend.memories_without_vectors(MODEL, 10)
            assert [m.id for m in missing] == ["mem-00000000"]
            assert [s for s in statements if "NOT EXISTS" in s]

    asyncio.run(scenario())


def test_vectors_read_ahead_aside_are_brought_up_to_date_by_the_next_search(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "store.db"
    whole_read = "SELECT id, vec FROM memory_vectors WHERE model"
    read_aside = sqlite_search.SQLiteSearch._load_vectors_aside

    def written_meanwhile(self: object, model: str) -> object:
        # Another process writes after the vectors were read, before they are held.
        held = read_aside(self, model)  # type: ignore[arg-type]
        subprocess.run([sys.executable, "-c", WRITER, str(path)], check=True)
        return held

    monkeypatch.setattr(sqlite_search.SQLiteSearch, "_load_vectors_aside", written_meanwhile)

    async def scenario() -> None:
        await _filled(path, 40)
        async with create_backend(_config(path)) as reader:
            statements: list[str] = []
            reader.conn.set_trace_callback(statements.append)  # type: ignore[attr-defined]
            assert await reader.hold_vectors(MODEL) == 40
            assert await reader.hold_vectors(MODEL) == 40  # held already: not read again
            held = reader._vectors  # type: ignore[attr-defined]
            after = await _ranked(reader)
            assert after == await _fresh(path)
            assert "mem-new" in {i for i, _ in after[0]}
            assert reader._vectors is held  # type: ignore[attr-defined]
            # Read on a connection of their own: the reader's read only those the log
            # named, never all of them.
            reads = [s for s in statements if s.startswith(whole_read)]
            assert reads and all(" AND id IN (" in s for s in reads), reads

    asyncio.run(scenario())


def test_a_store_without_vectors_or_a_vector_log_reads_nothing_ahead(tmp_path: Path) -> None:
    path = tmp_path / "store.db"

    async def scenario() -> None:
        async with create_backend(_config(path)) as empty:
            await empty.upsert_memories(list(sample_memories(3)))
        await _filled(tmp_path / "old.db", 5)
        with sqlite3.connect(tmp_path / "old.db") as conn:
            conn.execute("DROP TABLE vector_log")
        async with create_backend(_config(tmp_path / "old.db", read_only=True)) as old:
            assert await old.hold_vectors(MODEL) is None
            assert len(await _ranked(old)) == 6  # the first search reads them itself
        async with create_backend(_config(path, read_only=True)) as backend:
            assert await backend.hold_vectors(MODEL) == 0

    asyncio.run(scenario())


def test_closing_the_store_stops_vectors_being_read_ahead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "store.db"
    began, stopped = threading.Event(), threading.Event()

    def endless(query: sqlite_search.Query, *_: object, **__: object) -> object:
        # A read that only ends when it is interrupted (or after a minute: a failure).
        began.set()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                query(
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                    "WHERE i < 10000000000) SELECT count(*) FROM n",
                    [],
                )
            except sqlite3.OperationalError:
                stopped.set()
                raise
        raise AssertionError("the read ahead was never interrupted")

    monkeypatch.setattr(sqlite_search, "_read_vectors", endless)

    async def scenario() -> None:
        await _filled(path, 5)
        async with create_backend(_config(path)) as backend:
            # As a server leaving: it stops waiting for the read, then closes the store.
            reading = asyncio.ensure_future(backend.hold_vectors(MODEL))
            assert await asyncio.to_thread(began.wait, 30)
            reading.cancel()
            await asyncio.wait([reading])
            assert not stopped.is_set()
        assert await asyncio.to_thread(stopped.wait, 30)

    asyncio.run(scenario())
