"""Neo4j passes the contract suite on a real server, plus its own failure modes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from memorygraph.backends.falkordb_process import free_port
from memorygraph.backends.neo4j import Neo4jBackend
from memorygraph.backends.registry import create_backend
from memorygraph.config import BackendConfig
from memorygraph.errors import BackendConnectionError
from memorygraph.store import MemoryStore
from memorygraph.testing import BackendContractSuite, mem, rel
from tests._servers.fixtures import BoltServer
from tests.backends.graph_namespaces import check_old_graph_gets_namespaces
from tests.backends.refusals import SECRET, refused

pytestmark = pytest.mark.neo4j


@pytest.fixture
def backend_config(neo4j_config: BackendConfig) -> BackendConfig:
    return neo4j_config


class TestNeo4jContract(BackendContractSuite):
    pass


async def test_graph_written_before_namespaces_gets_them(backend_config: BackendConfig) -> None:
    await check_old_graph_gets_namespaces(backend_config)


async def _refused(config: BackendConfig) -> str:
    return await refused(config, "cannot connect to neo4j at bolt://127.0.0.1:")


async def test_wrong_port_fails_fast() -> None:
    port = free_port()
    message = await _refused(
        BackendConfig("neo4j", uri=f"bolt://127.0.0.1:{port}", username="neo4j", password=SECRET)
    )
    assert str(port) in message


async def test_wrong_password_is_refused(neo4j_server: BoltServer) -> None:
    if neo4j_server.auth is None:
        pytest.skip("this Neo4j runs without authentication")
    message = await _refused(
        BackendConfig("neo4j", uri=neo4j_server.uri, username=neo4j_server.user, password=SECRET)
    )
    assert "password" in message


async def test_password_in_uri_is_not_printed(neo4j_server: BoltServer) -> None:
    uri = neo4j_server.uri.replace("bolt://", f"bolt://neo4j:{SECRET}@")
    backend = create_backend(BackendConfig("neo4j", uri=uri, password=SECRET))
    with pytest.raises(BackendConnectionError) as info:
        await backend.connect()
    assert SECRET not in str(info.value)


async def test_server_that_never_answers_times_out() -> None:
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts (kernel backlog) and never speaks Bolt
    try:
        port = listener.getsockname()[1]
        config = BackendConfig("neo4j", uri=f"bolt://127.0.0.1:{port}", timeout_seconds=2)
        await _refused(config)
    finally:
        listener.close()


async def test_id_lookups_use_indexes(neo4j_config: BackendConfig) -> None:
    # The product users are leaving scanned the graph for every edge lookup.
    async with Neo4jBackend(neo4j_config) as backend:
        plans = []
        for query in (
            "UNWIND $keys AS key MATCH ()-[r:RELATIONSHIP {id: key}]->() RETURN r.id",
            "UNWIND $keys AS key MATCH (m:Memory {id: key}) RETURN m.id",
        ):
            driver = backend._driver
            assert driver is not None
            async with driver.session(database=neo4j_config.database) as session:
                result = await session.run(f"EXPLAIN {query}", {"keys": ["x"]})
                summary = await result.consume()
            plans.append(str(summary.plan))
        assert "DirectedRelationshipUniqueIndexSeek" in plans[0], plans[0]
        assert "NodeUniqueIndexSeek" in plans[1], plans[1]
        constraints = await backend._run(
            "SHOW CONSTRAINTS YIELD name, type, properties RETURN name, type, properties"
        )
    names = {row[0]: (row[1], row[2]) for row in constraints}
    assert names["memorygraph_memory_id"] == ("UNIQUENESS", ["id"])
    assert names["memorygraph_relationship_id"] == ("RELATIONSHIP_UNIQUENESS", ["id"])


async def test_engine_version_names_neo4j(neo4j_config: BackendConfig) -> None:
    async with Neo4jBackend(neo4j_config) as backend:
        version = await backend.engine_version()
        await backend.upsert_memories([mem(1), mem(2)])
        await backend.upsert_relationships([rel(1, "m0001", "m0002")])
        health = await backend.health()
    assert version.startswith("Neo4j Kernel 5.") or version.startswith("Neo4j")
    assert (health.memory_count, health.relationship_count) == (2, 1)


async def test_missing_database_is_a_connection_error(neo4j_config: BackendConfig) -> None:
    from dataclasses import replace

    config = replace(neo4j_config, database="nosuchdatabase")
    backend = create_backend(config)
    with pytest.raises(BackendConnectionError, match="nosuchdatabase"):
        await backend.connect()
    await backend.close()


async def test_ids_differing_only_in_edge_whitespace_stay_apart(
    neo4j_config: BackendConfig,
) -> None:
    ids = ["a", " a", "a ", "a\t", "\u3000a"]
    async with Neo4jBackend(neo4j_config) as backend:
        await backend.upsert_memories([mem(i, title=repr(i)) for i in ids])
        for i in ids:
            assert [m.title for m in await backend.get_memories([i])] == [repr(i)]
        assert await backend.count_memories() == len(ids)


async def test_a_routing_uri_stores_and_reads_through_the_routing_table(
    neo4j_config: BackendConfig,
) -> None:
    # neo4j:// asks the server for a routing table (writers, readers) before any
    # statement; a single server lists itself in every role.
    assert neo4j_config.uri is not None and neo4j_config.uri.startswith("bolt://")
    routed = replace(neo4j_config, uri=neo4j_config.uri.replace("bolt://", "neo4j://", 1))
    async with MemoryStore.open(routed) as store:
        a = await store.remember(mem("routed-a", title="Routed through the table"))
        await store.remember(mem("routed-b"))
        edge = await store.relate("routed-a", "routed-b", "SOLVES")
        assert (await store.get("routed-a")).title == a.title
        related = await store.related("routed-a")
        assert [(n.memory.id, n.relationship.id) for n in related] == [("routed-b", edge.id)]
        assert store.backend.describe().startswith("neo4j at neo4j://127.0.0.1:")
    # What went in through the routing table is what a direct connection reads.
    async with MemoryStore.open(neo4j_config) as direct:
        assert (await direct.get("routed-a")).title == "Routed through the table"


async def test_a_read_for_update_waits_for_another_writer_and_sees_its_whole_change(
    neo4j_config: BackendConfig,
) -> None:
    # Neo4j reads committed values one property at a time, so a read that overlaps
    # another writer's commit could pair the old fields with the new write stamp, and
    # two writers of one version would both win. The read a compare-and-set starts
    # from therefore runs under the record's write lock. The update itself would wait
    # at its write in any case, so this looks at that read directly.
    import asyncio

    import neo4j

    async with MemoryStore.open(neo4j_config) as store:
        await store.remember(mem("raced", title="before"))
        backend = store.backend
        assert isinstance(backend, Neo4jBackend)
        key = backend.dialect.encode_key("raced")
        driver = neo4j.AsyncGraphDatabase.driver(
            neo4j_config.uri or "",
            auth=(neo4j_config.username or "neo4j", neo4j_config.password or ""),
        )
        try:
            async with driver.session(database=neo4j_config.database) as session:
                other = await session.begin_transaction()
                await other.run(
                    f"MATCH (x:Memory {{`{backend.dialect.key_property}`: $key}}) "
                    "SET x.title = 'by the other writer', x._written = $stamp",
                    key=key,
                    stamp="2999-01-01T00:00:00+00:00",
                )
                read = asyncio.create_task(backend._read_for_update("memory", "raced"))
                await asyncio.sleep(1.0)
                assert not read.done(), "the record was read while another writer held it"
                await other.commit()
                found = await asyncio.wait_for(read, 30)
        finally:
            await driver.close()
    assert found is not None
    record, token = found
    assert (record.title, token) == ("by the other writer", "2999-01-01T00:00:00+00:00")
