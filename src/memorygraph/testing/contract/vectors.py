"""Contract for the `vectors` capability: a store keeps each memory's vector of a model,
ranks the memories holding one by cosine similarity to a query vector (best first,
ties by id), and drops a memory's vector when the memory is written again, deleted,
or every vector is dropped. Skipped as a whole on backends that do not declare it.

The vectors here are unit vectors, so their similarity is their dot product.
"""

from __future__ import annotations

import math
import struct

import pytest

from memorygraph.backends.base import Backend
from memorygraph.backends.spec import VECTORS
from memorygraph.testing.contract.base import ContractBase, requires
from memorygraph.testing.contract.records import mem

MODEL = "contract-model"


def unit(*values: float) -> bytes:
    """`values` scaled to length one, as the float32 bytes a model hands a store."""
    norm = math.sqrt(sum(v * v for v in values))
    return struct.pack(f"<{len(values)}f", *(v / norm for v in values))


#: Memory id → its vector: m0001 points along the query, m0002 and m0003 equally off
#: it (a tie, broken by id), m0004 away from it.
VECTORS_OF = {
    "m0001": unit(1, 0, 0),
    "m0002": unit(1, 1, 0),
    "m0003": unit(1, 0, 1),
    "m0004": unit(-1, 0, 0),
}
QUERY = unit(1, 0, 0)


@requires(VECTORS)
class VectorsContract(ContractBase):
    """Vectors are kept per model, ranked by similarity, and dropped with their memory."""

    @staticmethod
    async def _stored(backend: Backend) -> None:
        await backend.upsert_memories([mem(i) for i in range(1, 6)])
        await backend.put_vectors(MODEL, sorted(VECTORS_OF.items()))

    async def test_vectors_rank_by_similarity_ties_by_id(self, backend: Backend) -> None:
        await self._stored(backend)
        found = await backend.vector_search(MODEL, QUERY, 3)
        assert [i for i, _ in found] == ["m0001", "m0002", "m0003"]
        assert [s for _, s in found] == pytest.approx([1.0, math.sqrt(0.5), math.sqrt(0.5)], 1e-4)
        everything = await backend.vector_search(MODEL, QUERY, 10)
        assert [i for i, _ in everything] == ["m0001", "m0002", "m0003", "m0004"]
        assert everything[-1][1] == pytest.approx(-1.0, abs=1e-4)
        # Another model's vectors are not comparable: none of these are its.
        assert await backend.vector_search("another-model", QUERY, 10) == []

    async def test_memories_without_vectors_are_named_per_model(self, backend: Backend) -> None:
        await self._stored(backend)
        assert [m.id for m in await backend.memories_without_vectors(MODEL, 10)] == ["m0005"]
        others = await backend.memories_without_vectors("another-model", 3)
        assert [m.id for m in others] == ["m0001", "m0002", "m0003"]

    async def test_a_memory_written_again_or_deleted_loses_its_vector(
        self, backend: Backend
    ) -> None:
        await self._stored(backend)
        await backend.upsert_memories([mem(1, title="changed")])
        await backend.delete_memories(["m0002"])
        # A vector for a memory no longer stored is not kept.
        await backend.put_vectors(MODEL, [("m0002", VECTORS_OF["m0002"])])
        without = await backend.memories_without_vectors(MODEL, 10)
        assert [m.id for m in without] == ["m0001", "m0005"]
        found = await backend.vector_search(MODEL, QUERY, 10)
        assert [i for i, _ in found] == ["m0003", "m0004"]

    async def test_dropping_vectors_forgets_every_one(self, backend: Backend) -> None:
        await self._stored(backend)
        await backend.drop_vectors()
        assert await backend.vector_search(MODEL, QUERY, 10) == []
        assert len(await backend.memories_without_vectors(MODEL, 10)) == 5
