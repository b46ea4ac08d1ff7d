"""A graph written before namespaces existed: what the graph engines' tests share."""

from __future__ import annotations

from memorygraph.backends._cypher import CypherBackend
from memorygraph.backends._cypher_layout import MEMORY_LABEL, NAMESPACE
from memorygraph.backends.registry import create_backend
from memorygraph.config import BackendConfig
from memorygraph.principal import DEFAULT_NAMESPACE, Namespaces
from memorygraph.testing import mem

TEAM_A = Namespaces(("team-a",))
DEFAULT = Namespaces((DEFAULT_NAMESPACE,))


async def _seen(backend: CypherBackend, namespaces: Namespaces) -> list[str]:
    found = await backend.get_memories(["m0001", "m0002"], namespaces=namespaces)
    return sorted(m.id for m in found)


async def check_old_graph_gets_namespaces(config: BackendConfig) -> None:
    """Memory nodes without a namespace property are seen by no namespaced read (it
    fails closed) until a writable connect gives each the one its context names."""
    async with create_backend(config) as backend:
        assert isinstance(backend, CypherBackend)
        await backend.upsert_memories([mem(1, context={"tenant_id": "team-a"}), mem(2)])
        assert await _seen(backend, TEAM_A) == ["m0001"]
        await backend._run(f"MATCH (m:{MEMORY_LABEL}) REMOVE m.{NAMESPACE}", write=True)
        assert await _seen(backend, TEAM_A) == []
        assert await _seen(backend, DEFAULT) == []
    async with create_backend(config) as backend:
        assert isinstance(backend, CypherBackend)
        assert await _seen(backend, TEAM_A) == ["m0001"]
        assert await _seen(backend, DEFAULT) == ["m0002"]
        assert await backend.get_memory("m0001") == mem(1, context={"tenant_id": "team-a"})
