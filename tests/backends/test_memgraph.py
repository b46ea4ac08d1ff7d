"""Memgraph: the contract suite on the server at MEMGRAPH_URI, skipped (saying why) without one.

No Memgraph server can be installed where this was written, so the suite only
runs where ``MEMGRAPH_URI`` is set (with ``MEMGRAPH_USER`` / ``MEMGRAPH_PASSWORD``
if the server has users). The connection-failure tests need no server and
always run.
"""

from __future__ import annotations

import socket

import pytest

from memorygraph.backends.falkordb_process import free_port
from memorygraph.backends.memgraph import MemgraphBackend
from memorygraph.config import BackendConfig
from memorygraph.testing import BackendContractSuite, mem, rel
from tests.backends.refusals import SECRET, refused


@pytest.fixture
def backend_config(memgraph_config: BackendConfig) -> BackendConfig:
    return memgraph_config


@pytest.mark.memgraph
class TestMemgraphContract(BackendContractSuite):
    pass


async def _refused(config: BackendConfig) -> str:
    return await refused(config, "cannot connect to memgraph at bolt://127.0.0.1:")


async def test_wrong_port_fails_fast() -> None:
    port = free_port()
    await _refused(
        BackendConfig("memgraph", uri=f"bolt://127.0.0.1:{port}", username="u", password=SECRET)
    )


async def test_server_that_never_answers_times_out() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    try:
        port = listener.getsockname()[1]
        await _refused(BackendConfig("memgraph", uri=f"bolt://127.0.0.1:{port}", timeout_seconds=2))
    finally:
        listener.close()


@pytest.mark.memgraph
async def test_schema_and_version(memgraph_config: BackendConfig) -> None:
    async with MemgraphBackend(memgraph_config) as backend:
        assert (await backend.engine_version()).lower().startswith("memgraph")
        assert backend.connection_warnings() == [], backend.connection_warnings()
        rows = await backend._run("SHOW CONSTRAINT INFO")
        assert any("Memory" in map(str, row) and "id" in str(row) for row in rows), rows
        await backend.upsert_memories([mem(1), mem(2)])
        await backend.upsert_relationships([rel(1, "m0001", "m0002")])
        assert (await backend.health()).relationship_count == 1


@pytest.mark.memgraph
async def test_wrong_password_is_refused(memgraph_config: BackendConfig) -> None:
    if not memgraph_config.password:
        pytest.skip("MEMGRAPH_PASSWORD is not set: this Memgraph has no users to refuse us")
    from dataclasses import replace

    message = await _refused(replace(memgraph_config, password=SECRET))
    assert "password" in message
