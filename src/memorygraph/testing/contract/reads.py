"""Contract: reads by id, id-ordered paging of every record, digests and canonical
pages that agree with the records, counts (in all and by type) and one-edge walks,
none of them truncated."""

from __future__ import annotations

from memorygraph.backends.base import Backend, Direction
from memorygraph.models import MemoryType, RelationshipType
from memorygraph.testing.contract.base import ContractBase
from memorygraph.testing.contract.records import collect, mem, rel


class ReadsContract(ContractBase):
    """Lookups, paging, digests, counts and neighbours."""

    async def test_get_many_returns_only_existing(self, backend: Backend) -> None:
        await backend.upsert_memories([mem(i) for i in range(5)])
        found = await backend.get_memories(["m0001", "m0003", "nope"])
        assert sorted(m.id for m in found) == ["m0001", "m0003"]
        assert await backend.existing_memory_ids(["m0004", "nope"]) == {"m0004"}
        assert await backend.get_memory("nope") is None

    async def test_ids_differing_only_in_whitespace_or_case_stay_distinct(
        self, backend: Backend
    ) -> None:
        # FalkorDB's exact-match index once folded these together.
        ids = ["a", " a", "a ", "a\t", "A", "a\n"]
        await backend.upsert_memories([mem(i, title=f"title {i!r}") for i in ids])
        assert await backend.count_memories() == len(ids)
        for i in ids:
            found = await backend.get_memory(i)
            assert found is not None and found.title == f"title {i!r}"
        assert await backend.existing_memory_ids(["a ", "b"]) == {"a "}
        await backend.upsert_relationships([rel(" r", "a", " a"), rel("r ", "a ", "A")])
        got = await backend.get_relationship("r ")
        assert got is not None and (got.from_id, got.to_id) == ("a ", "A")

    async def test_iteration_streams_everything_in_id_order(self, backend: Backend) -> None:
        ids = [f"id-{i:05d}" for i in range(257)]
        memories = [mem(i) for i in reversed(ids)]
        for start in range(0, len(memories), 100):
            await backend.upsert_memories(memories[start : start + 100])
        assert await collect(backend.iter_memories(batch_size=10)) == ids
        assert await backend.count_memories() == 257

    async def test_digests_agree_with_the_records(self, backend: Backend) -> None:
        memories = [
            mem(i, tags=["x", "ü"], context={"metadata": {"b": 1, "a": [1.5]}}) for i in range(7)
        ]
        await backend.upsert_memories(memories)
        await backend.upsert_relationships([rel(1, "m0001", "m0002", description="ß")])
        expected = {m.id: m.digest() for m in memories}
        assert [p async for p in backend.iter_digests("memory", batch_size=3)] == sorted(
            expected.items()
        )
        assert await backend.digests("memory", ["m0003", "nope"]) == {"m0003": expected["m0003"]}
        r = rel(1, "m0001", "m0002", description="ß")
        assert await backend.digests("relationship", ["r0001"]) == {"r0001": r.digest()}
        assert [p async for p in backend.iter_digests("relationship")] == [("r0001", r.digest())]
        pages = [page async for page in backend.iter_canonical("memory", batch_size=3)]
        assert [len(page) for page in pages] == [3, 3, 1]
        assert [(c.id, c.raw, c.data) for page in pages for c in page] == [
            (m.id, m.canonical_bytes(), m.to_dict()) for m in sorted(memories, key=lambda m: m.id)
        ]

    async def test_no_relationship_is_truncated(self, backend: Backend) -> None:
        # The product users are leaving capped edge listing at 20 per memory.
        await backend.upsert_memories([mem(i) for i in range(61)])
        hub = "m0000"
        rels = [rel(i, hub, f"m{i:04d}", type=RelationshipType.RELATED_TO) for i in range(1, 61)]
        await backend.upsert_relationships(rels)
        assert len(await backend.neighbours(hub)) == 60
        assert await collect(backend.iter_relationships(batch_size=7)) == [r.id for r in rels]
        assert await backend.count_relationships() == 60

    async def test_counts_by_type(self, backend: Backend) -> None:
        await backend.upsert_memories(
            [mem(1), mem(2, type=MemoryType.PROBLEM), mem(3, type=MemoryType.PROBLEM)]
        )
        await backend.upsert_relationships(
            [rel(1, "m0001", "m0002"), rel(2, "m0001", "m0003", type=RelationshipType.CAUSES)]
        )
        assert await backend.count_memories_by_type() == {
            MemoryType.SOLUTION: 1,
            MemoryType.PROBLEM: 2,
        }
        assert await backend.count_relationships_by_type() == {
            RelationshipType.SOLVES: 1,
            RelationshipType.CAUSES: 1,
        }

    async def test_neighbours_by_direction_and_type(self, backend: Backend) -> None:
        await backend.upsert_memories([mem(i) for i in range(4)])
        await backend.upsert_relationships(
            [
                rel(1, "m0000", "m0001"),
                rel(2, "m0002", "m0000", type=RelationshipType.CAUSES),
                rel(3, "m0000", "m0003", type=RelationshipType.CAUSES),
                rel(4, "m0000", "m0000", type=RelationshipType.SIMILAR_TO),
            ]
        )
        out = await backend.neighbours("m0000", direction=Direction.OUTGOING)
        assert [(n.relationship.id, n.memory.id) for n in out] == [
            ("r0001", "m0001"),
            ("r0003", "m0003"),
            ("r0004", "m0000"),
        ]
        inc = await backend.neighbours("m0000", direction=Direction.INCOMING)
        assert [n.relationship.id for n in inc] == ["r0002", "r0004"]
        both = await backend.neighbours("m0000", types=[RelationshipType.CAUSES])
        assert [(n.relationship.id, n.memory.id) for n in both] == [
            ("r0002", "m0002"),
            ("r0003", "m0003"),
        ]
        assert len(await backend.neighbours("m0000")) == 4
        assert len(await backend.neighbours("m0000", limit=2)) == 2
        assert await backend.neighbours("absent") == []

    async def test_neighbours_of_many_memories_at_once(self, backend: Backend) -> None:
        await backend.upsert_memories([mem(i) for i in range(4)])
        await backend.upsert_relationships(
            [
                rel(1, "m0000", "m0001"),
                rel(2, "m0002", "m0000", type=RelationshipType.CAUSES),
                rel(3, "m0001", "m0003", type=RelationshipType.CAUSES),
                rel(4, "m0003", "m0003", type=RelationshipType.SIMILAR_TO),
            ]
        )
        asked = ["m0003", "m0000", "absent", "m0001", "m0000"]
        for options in (
            {},
            {"direction": Direction.INCOMING},
            {"types": [RelationshipType.CAUSES]},
            {"limit": 1},
        ):
            found = await backend.neighbours_of(asked, **options)
            assert list(found) == ["m0003", "m0000", "absent", "m0001"], options
            for memory_id, near in found.items():
                alone = await backend.neighbours(memory_id, **options)
                assert [(n.relationship.id, n.memory.id) for n in near] == [
                    (n.relationship.id, n.memory.id) for n in alone
                ], (memory_id, options)
        both = await backend.neighbours_of(["m0001"])
        assert [n.relationship.id for n in both["m0001"]] == ["r0001", "r0003"]
        assert await backend.neighbours_of([]) == {}
