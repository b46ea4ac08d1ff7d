"""Contract: write stamps and tombstones. `since` selects what was written since,
whichever field changed and whatever the record's own times say; deletions leave
tombstones (paged in id order, outlived by a record written again), a purge leaves
none, and clearing removes them all."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from memorygraph.backends.base import Backend
from memorygraph.testing.contract.base import ContractBase
from memorygraph.testing.contract.records import (
    MEMORY_EDITS,
    RELATIONSHIP_EDITS,
    T0,
    after_a_tick,
    collect,
    edit_memory,
    edit_relationship,
    mem,
    rel,
)


class ChangesContract(ContractBase):
    """Change selection by write stamp, tombstones and purges."""

    @pytest.mark.parametrize("field", MEMORY_EDITS)
    async def test_since_selects_memories_written_since_whatever_field_changed(
        self, backend: Backend, field: str
    ) -> None:
        await backend.upsert_memories([mem(1), mem(2)])
        await backend.upsert_memories([mem(3), mem(4, title="x", content="y")])
        await backend.upsert_relationships([rel(1, "m0001", "m0002"), rel(2, "m0003", "m0004")])
        since = await after_a_tick()
        edited = edit_memory(mem(2), field)
        assert edited.digest() != mem(2).digest()
        await backend.upsert_memories([edited])
        assert await collect(backend.iter_memories(since=since)) == ["m0002"]
        assert await collect(backend.iter_relationships(since=since)) == []
        assert [i async for i, _ in backend.iter_digests("memory", since=since)] == ["m0002"]

    @pytest.mark.parametrize("field", RELATIONSHIP_EDITS)
    async def test_since_selects_relationships_written_since_whatever_field_changed(
        self, backend: Backend, field: str
    ) -> None:
        await backend.upsert_memories([mem(i) for i in range(1, 5)])
        await backend.upsert_relationships([rel(1, "m0001", "m0002"), rel(2, "m0003", "m0004")])
        since = await after_a_tick()
        edited = edit_relationship(rel(1, "m0001", "m0002"), field)
        assert edited.digest() != rel(1, "m0001", "m0002").digest()
        await backend.upsert_relationships([edited])
        assert await collect(backend.iter_relationships(since=since)) == ["r0001"]
        assert await collect(backend.iter_memories(since=since)) == []
        assert [i async for i, _ in backend.iter_digests("relationship", since=since)] == ["r0001"]

    async def test_since_ignores_the_records_own_times(self, backend: Backend) -> None:
        # A record written now whose own times lie in the past is still a change now.
        since = await after_a_tick()
        await backend.upsert_memories([mem(1, created_at=T0 - timedelta(days=999)), mem(2)])
        await backend.upsert_relationships([rel(1, "m0001", "m0002")])
        assert await collect(backend.iter_memories(since=since)) == ["m0001", "m0002"]
        assert await collect(backend.iter_relationships(since=since)) == ["r0001"]
        later = await after_a_tick()
        assert await collect(backend.iter_memories(since=later)) == []

    async def test_deletions_leave_tombstones(self, backend: Backend) -> None:
        await backend.upsert_memories([mem(i) for i in range(1, 6)])
        await backend.upsert_relationships(
            [rel(1, "m0001", "m0002"), rel(2, "m0003", "m0001"), rel(3, "m0004", "m0005")]
        )
        before = await after_a_tick()
        assert await backend.delete_memories(["m0001", "absent"]) == 1
        assert await backend.delete_relationships(["r0003", "absent"]) == 1
        after = await after_a_tick()
        memories = [t async for t in backend.iter_tombstones("memory", since=before)]
        relationships = [t async for t in backend.iter_tombstones("relationship", since=before)]
        assert [(t.kind, t.id) for t in memories] == [("memory", "m0001")]
        assert [t.id for t in relationships] == ["r0001", "r0002", "r0003"]
        for t in memories + relationships:
            assert before.isoformat() <= datetime.fromisoformat(t.deleted_at).isoformat()
        assert [t async for t in backend.iter_tombstones("memory", since=after)] == []
        # Tombstones are not records: not counted, iterated or found.
        assert (await backend.count_memories(), await backend.count_relationships()) == (4, 0)
        assert await collect(backend.iter_memories()) == ["m0002", "m0003", "m0004", "m0005"]
        assert await backend.get_memory("m0001") is None
        # A record written again outlives its tombstone; deleted again, it has one again.
        await backend.upsert_memories([mem(1)])
        assert [t async for t in backend.iter_tombstones("memory")] == []
        await backend.delete_memories(["m0001"])
        again = [t async for t in backend.iter_tombstones("memory", batch_size=1)]
        assert [t.id for t in again] == ["m0001"]
        assert again[0].deleted_at >= memories[0].deleted_at

    async def test_tombstones_page_in_id_order(self, backend: Backend) -> None:
        ids = [f"id-{i:03d}" for i in range(23)]
        await backend.upsert_memories([mem(i) for i in ids])
        await backend.delete_memories(list(reversed(ids)))
        assert [t.id async for t in backend.iter_tombstones("memory", batch_size=5)] == ids

    async def test_purge_leaves_no_tombstones_and_an_earlier_one_counts_again(
        self, backend: Backend
    ) -> None:
        await backend.upsert_memories([mem(1), mem(2), mem(3)])
        await backend.upsert_relationships([rel(1, "m0001", "m0002"), rel(2, "m0002", "m0003")])
        await backend.delete_memories(["m0003"])  # takes r0002 with it
        earlier = [t async for t in backend.iter_tombstones("memory")]
        await backend.upsert_memories([mem(3)])
        assert await backend.purge_relationships(["r0001", "absent"]) == 1
        assert await backend.purge_memories(["m0001", "m0003", "absent"]) == 2
        assert await collect(backend.iter_memories()) == ["m0002"]
        assert await backend.count_relationships() == 0
        assert [t async for t in backend.iter_tombstones("memory")] == earlier
        assert [t.id async for t in backend.iter_tombstones("relationship")] == ["r0002"]

    async def test_tombstones_of_names_the_deleted_ids_not_held_again(
        self, backend: Backend
    ) -> None:
        await backend.upsert_memories([mem(1), mem(2), mem(3)])
        await backend.delete_memories(["m0001", "m0002"])
        deleted = {t.id: t.deleted_at async for t in backend.iter_tombstones("memory")}
        await backend.upsert_memories([mem(2)])
        found = await backend.tombstones_of("memory", ["m0001", "m0002", "m0003", "absent"])
        assert found == {"m0001": deleted["m0001"]}
        assert await backend.tombstones_of("relationship", ["m0001"]) == {}

    async def test_clear_leaves_no_tombstones(self, backend: Backend) -> None:
        await backend.upsert_memories([mem(1), mem(2)])
        await backend.delete_memories(["m0001"])
        await backend.clear()
        assert [t async for t in backend.iter_tombstones("memory")] == []
