"""Contract: a store opens, reports its health, keeps its records across a close and
reopen, and refuses every write when opened read-only."""

from __future__ import annotations

import pytest

from memorygraph.backends.base import Backend
from memorygraph.backends.registry import create_backend
from memorygraph.config import BackendConfig
from memorygraph.errors import UsageError
from memorygraph.testing.contract.base import ContractBase
from memorygraph.testing.contract.records import mem, rel


class LifecycleContract(ContractBase):
    """Opening, health, persistence and read-only stores."""

    async def test_health_of_empty_store(self, backend: Backend) -> None:
        health = await backend.health()
        assert health.connected, health.error
        assert health.engine_version
        assert (health.memory_count, health.relationship_count) == (0, 0)
        assert health.backend == backend.name == backend.config.backend_type

    async def test_records_survive_close_and_reopen(self, backend_config: BackendConfig) -> None:
        async with create_backend(backend_config) as b:
            await b.upsert_memories([mem(1), mem(2)])
            await b.upsert_relationships([rel(1, "m0001", "m0002")])
        async with create_backend(backend_config) as b:
            assert (await b.get_memory("m0001")) == mem(1)
            assert (await b.get_relationship("r0001")) == rel(1, "m0001", "m0002")

    async def test_read_only_refuses_every_write(self, backend_config: BackendConfig) -> None:
        async with create_backend(backend_config) as b:
            await b.upsert_memories([mem(1)])
        async with create_backend(backend_config.read_only_copy()) as ro:
            assert await ro.get_memory("m0001") == mem(1)
            with pytest.raises(UsageError, match="read-only"):
                await ro.upsert_memories([mem(2)])
            with pytest.raises(UsageError, match="read-only"):
                await ro.delete_memories(["m0001"])
            with pytest.raises(UsageError, match="read-only"):
                await ro.clear()
            assert await ro.count_memories() == 1
