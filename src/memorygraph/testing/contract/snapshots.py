"""Contract for the `snapshot_reads` capability: inside `Backend.read_snapshot()` a
reader sees the store as it was when the block began, whatever another connection
writes meanwhile. Skipped as a whole on backends that do not declare it."""

from __future__ import annotations

from memorygraph.backends.registry import create_backend
from memorygraph.backends.spec import SNAPSHOT_READS
from memorygraph.config import BackendConfig
from memorygraph.testing.contract.base import ContractBase, requires
from memorygraph.testing.contract.records import collect, mem, rel


@requires(SNAPSHOT_READS)
class SnapshotReadsContract(ContractBase):
    """Reads inside one snapshot ignore later writes of other connections."""

    async def test_reads_in_a_snapshot_ignore_later_writes(
        self, backend_config: BackendConfig
    ) -> None:
        async with (
            create_backend(backend_config) as reader,
            create_backend(backend_config) as writer,
        ):
            await writer.upsert_memories([mem(1), mem(2)])
            await writer.upsert_relationships([rel(1, "m0001", "m0002")])
            async with reader.read_snapshot():
                assert await reader.count_memories() == 2
                await writer.upsert_memories([mem(3), mem(2, title="changed")])
                await writer.delete_memories(["m0001"])
                assert await reader.count_memories() == 2
                assert await collect(reader.iter_memories()) == ["m0001", "m0002"]
                assert await reader.get_memory("m0002") == mem(2)
                assert await collect(reader.iter_relationships()) == ["r0001"]
            assert await collect(reader.iter_memories()) == ["m0002", "m0003"]
