"""Contract: batch writes report what they inserted, updated and skipped, announce new
ids before writing, write nothing when a batch is refused (duplicate ids, a missing
relationship end, a journal hook that fails), plan through the planning sink as a write would, and
delete records with their relationships."""

from __future__ import annotations

import pytest

from memorygraph.backends.base import Backend
from memorygraph.canonical import CanonicalRecord
from memorygraph.errors import IntegrityError, InvalidRecordError
from memorygraph.sinks import BackendSink, PlanningSink
from memorygraph.testing.contract.base import ContractBase
from memorygraph.testing.contract.records import collect, mem, rel


class WritesContract(ContractBase):
    """Upserts, their reports and hooks, plans, deletes and clearing."""

    async def test_upsert_reports_inserted_updated_skipped(self, backend: Backend) -> None:
        first = await backend.upsert_memories([mem(1), mem(2)])
        assert (first.inserted, first.updated, first.skipped) == (["m0001", "m0002"], [], [])
        changed = mem(2, title="changed")
        again = await backend.upsert_memories([changed, mem(3)], skip_existing=True)
        assert (again.inserted, again.skipped) == (["m0003"], ["m0002"])
        assert (await backend.get_memory("m0002")) == mem(2), "a skipped record was written"
        replaced = await backend.upsert_memories([changed])
        assert replaced.updated == ["m0002"]
        assert (await backend.get_memory("m0002")) == changed
        assert await backend.count_memories() == 3

    async def test_before_write_hears_new_ids_before_the_write(self, backend: Backend) -> None:
        await backend.upsert_memories([mem(1)])
        heard: list[list[str]] = []
        result = await backend.upsert_memories(
            [mem(1, title="new title"), mem(2)], before_write=lambda ids: heard.append(list(ids))
        )
        assert heard == [["m0002"]] and result.inserted == ["m0002"]
        await backend.upsert_relationships(
            [rel(1, "m0001", "m0002")], before_write=lambda ids: heard.append(list(ids))
        )
        assert heard[-1] == ["r0001"]

        def refuse(ids: object) -> None:
            raise RuntimeError("journal is full")

        with pytest.raises(RuntimeError):
            await backend.upsert_memories([mem(3)], before_write=refuse)
        with pytest.raises(RuntimeError):
            await backend.upsert_relationships([rel(2, "m0002", "m0001")], before_write=refuse)
        assert await backend.get_memory("m0003") is None
        assert await backend.get_relationship("r0002") is None

    async def test_duplicate_ids_in_one_batch_write_nothing(self, backend: Backend) -> None:
        with pytest.raises(InvalidRecordError, match="twice"):
            await backend.upsert_memories([mem(1), mem(2), mem(1, title="again")])
        assert await backend.count_memories() == 0

    async def test_relationship_to_missing_memory_writes_nothing(self, backend: Backend) -> None:
        await backend.upsert_memories([mem(1)])
        with pytest.raises(IntegrityError, match="nowhere"):
            await backend.upsert_relationships(
                [rel(1, "m0001", "m0001"), rel(2, "m0001", "nowhere")]
            )
        assert await backend.count_relationships() == 0

    async def test_relationship_upsert_moves_changed_ends(self, backend: Backend) -> None:
        await backend.upsert_memories([mem(1), mem(2), mem(3)])
        await backend.upsert_relationships([rel(1, "m0001", "m0002")])
        moved = rel(1, "m0001", "m0003", strength=0.9)
        result = await backend.upsert_relationships([moved])
        assert result.updated == ["r0001"]
        assert await backend.get_relationship("r0001") == moved
        assert await backend.count_relationships() == 1
        assert [n.memory.id for n in await backend.neighbours("m0002")] == []

    async def test_relationship_skip_existing(self, backend: Backend) -> None:
        await backend.upsert_memories([mem(1), mem(2)])
        await backend.upsert_relationships([rel(1, "m0001", "m0002")])
        result = await backend.upsert_relationships(
            [rel(1, "m0002", "m0001"), rel(2, "m0002", "m0001")], skip_existing=True
        )
        assert (result.inserted, result.skipped) == (["r0002"], ["r0001"])
        assert (await backend.get_relationship("r0001")) == rel(1, "m0001", "m0002")

    async def test_a_plan_decides_as_the_write_and_writes_nothing(self, backend: Backend) -> None:
        await backend.upsert_memories([mem(1)])
        batch = [CanonicalRecord.of(m) for m in (mem(1, title="changed"), mem(2))]
        edges = [CanonicalRecord.of(r) for r in (rel(1, "m0001", "m0002"), rel(2, "m0001", "x"))]
        with PlanningSink(backend) as plan:
            planned = await plan.upsert("memory", batch)
            # m0002 is not stored, but the plan's batch before would have written it.
            judged = await plan.upsert("relationship", edges)
        assert (planned.inserted, planned.updated) == (["m0002"], ["m0001"])
        assert (judged.inserted, judged.rejected) == (["r0001"], ["r0002"])
        assert await backend.get_memory("m0001") == mem(1) and await backend.count_memories() == 1
        assert await backend.count_relationships() == 0
        heard: list[list[str]] = []
        with BackendSink(backend, before_write=lambda _, ids: heard.append(list(ids))) as sink:
            written = await sink.upsert("memory", batch)
            with pytest.raises(IntegrityError):
                await sink.upsert("relationship", edges)
        assert (written.inserted, written.updated) == (planned.inserted, planned.updated)
        assert heard == [["m0002"]] and await backend.count_relationships() == 0

    async def test_delete_memory_removes_its_relationships(self, backend: Backend) -> None:
        await backend.upsert_memories([mem(1), mem(2), mem(3)])
        await backend.upsert_relationships([rel(1, "m0001", "m0002"), rel(2, "m0002", "m0003")])
        assert await backend.delete_memories(["m0001", "absent"]) == 1
        assert await backend.get_memory("m0001") is None
        assert await collect(backend.iter_relationships()) == ["r0002"]
        assert await backend.delete_relationships(["r0002", "r0001"]) == 1
        assert await backend.count_relationships() == 0
        assert await backend.count_memories() == 2

    async def test_clear_removes_everything(self, backend: Backend) -> None:
        await backend.upsert_memories([mem(1), mem(2)])
        await backend.upsert_relationships([rel(1, "m0001", "m0002")])
        await backend.clear()
        assert (await backend.count_memories(), await backend.count_relationships()) == (0, 0)
        await backend.upsert_memories([mem(1)])
        assert await backend.count_memories() == 1
