"""The two sinks an import writes through, on a real SQLite store: the planning sink
decides every batch as the backend sink writes it, counts what it decided, and
writes nothing, so it works on a store opened read-only and on no store at all."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from memorygraph.backends.base import Tombstone, WriteResult
from memorygraph.backends.sqlite import SQLiteBackend
from memorygraph.canonical import CanonicalRecord
from memorygraph.changes import delete_batch, write_batch
from memorygraph.config import BackendConfig
from memorygraph.errors import IntegrityError, UsageError
from memorygraph.models import Memory, Relationship, format_timestamp, utc_now
from memorygraph.sinks import BackendSink, PlanningSink, Sink
from memorygraph.testing import mem, rel
from memorygraph.testing.suite import T0

LATER = T0 + timedelta(hours=1)


def canonical(*records: Memory | Relationship) -> list[CanonicalRecord]:
    return [CanonicalRecord.of(r) for r in records]


async def stored(path: Path, *, read_only: bool = False) -> SQLiteBackend:
    """A connected store at `path`, filled the first time: memories m1, m2, and m3
    deleted after its stamp (with its relationship r1)."""
    backend = SQLiteBackend(BackendConfig("sqlite", path=path, read_only=read_only))
    if not path.exists():
        async with backend:
            await backend.upsert_memories([mem(1), mem(2), mem(3)])
            await backend.upsert_relationships([rel(1, "m0001", "m0003")])
            await backend.delete_memories(["m0003"])
    await backend.connect()
    return backend


async def snapshot(backend: SQLiteBackend) -> tuple[list[str], list[str], dict[str, str]]:
    """What the store holds: its records' digests and its memory tombstones."""
    memories = [m.digest() async for m in backend.iter_memories()]
    relationships = [r.digest() async for r in backend.iter_relationships()]
    ids = [f"m{i:04d}" for i in range(1, 6)]
    return memories, relationships, await backend.tombstones_of("memory", ids)


def outcome(result: WriteResult) -> dict[str, list[str]]:
    lists = {
        "inserted": result.inserted,
        "updated": result.updated,
        "skipped": result.skipped,
        "rejected": result.rejected,
        "unchanged": result.unchanged,
        "older": result.older,
    }
    return {name: ids for name, ids in lists.items() if ids}


async def import_batches(sink: Sink, *, with_lost_end: bool) -> list[dict[str, list[str]]]:
    """Write the same batches as an import would, and return what each did."""
    edited = mem(2, title="edited", updated_at=LATER)
    edges = [rel(2, "m0001", "m0004"), rel(4, "m0001", "m0003")]
    if with_lost_end:
        edges.insert(1, rel(3, "m0001", "nowhere"))
    results = [
        outcome(await write_batch(sink, "memory", canonical(mem(1), edited, mem(3), mem(4)))),
        outcome(await write_batch(sink, "memory", canonical(mem(1), mem(5)), skip_existing=True)),
        outcome(await write_batch(sink, "relationship", canonical(*edges))),
    ]
    gone = await delete_batch(
        sink, "memory", [Tombstone("memory", "m0002", format_timestamp(utc_now()))]
    )
    results.append({"deleted": gone.ids})
    return results


EXPECTED = [
    {"inserted": ["m0004"], "updated": ["m0002"], "unchanged": ["m0001"], "older": ["m0003"]},
    {"inserted": ["m0005"], "skipped": ["m0001"]},
    # r0002 ends at m0004, which only the first batch writes; m0003 was deleted later
    # than r0004 was stamped; "nowhere" is held by no one.
    {"inserted": ["r0002"], "rejected": ["r0003"], "older": ["r0004"]},
    {"deleted": ["m0002"]},
]


async def test_a_plan_counts_each_outcome_and_writes_nothing(tmp_path: Path) -> None:
    backend = await stored(tmp_path / "store.db")
    try:
        before = await snapshot(backend)
        with PlanningSink(backend) as plan:
            assert await import_batches(plan, with_lost_end=True) == EXPECTED
            planned = (plan.memories, plan.relationships)
        assert await snapshot(backend) == before
    finally:
        await backend.close()
    memories, relationships = planned
    assert (memories.inserted, memories.updated, memories.skipped, memories.deleted) == (2, 1, 1, 1)
    assert (relationships.inserted, relationships.rejected) == (1, 1)


async def test_the_plan_is_what_the_write_does(tmp_path: Path) -> None:
    planned_on, written_on = await stored(tmp_path / "a.db"), await stored(tmp_path / "b.db")
    try:
        with PlanningSink(planned_on) as plan:
            planned = await import_batches(plan, with_lost_end=False)
        with BackendSink(written_on) as sink:
            written = await import_batches(sink, with_lost_end=False)
            # The one decision a write does not report: it refuses the whole batch.
            with pytest.raises(IntegrityError):
                await write_batch(sink, "relationship", canonical(rel(3, "m0001", "nowhere")))
        assert planned == written
        assert await snapshot(planned_on) != await snapshot(written_on)
    finally:
        await planned_on.close()
        await written_on.close()


async def test_a_plan_needs_only_a_read_only_store(tmp_path: Path) -> None:
    await (await stored(tmp_path / "store.db")).close()
    backend = await stored(tmp_path / "store.db", read_only=True)
    try:
        with PlanningSink(backend) as plan:
            assert await import_batches(plan, with_lost_end=True) == EXPECTED
        with BackendSink(backend) as sink, pytest.raises(UsageError, match="read-only"):
            await import_batches(sink, with_lost_end=False)
    finally:
        await backend.close()


async def test_a_plan_without_a_target_inserts_what_it_can() -> None:
    with PlanningSink(None) as plan:
        memories = await write_batch(plan, "memory", canonical(mem(1), mem(2)))
        edges = canonical(rel(1, "m0001", "m0002"), rel(2, "m0001", "m0003"))
        relationships = await write_batch(plan, "relationship", edges)
        tombstone = Tombstone("memory", "m0001", format_timestamp(utc_now()))
        gone = await delete_batch(plan, "memory", [tombstone])
    assert outcome(memories) == {"inserted": ["m0001", "m0002"]}
    assert outcome(relationships) == {"inserted": ["r0001"], "rejected": ["r0002"]}
    assert gone.ids == [] and plan.memories.deleted == 0
