"""FalkorDB passes the contract suite on a real server, plus its own failure modes."""

from __future__ import annotations

import asyncio
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from memorygraph.backends import falkordb_process
from memorygraph.backends.falkordb import FalkorDBBackend
from memorygraph.backends.falkordb_process import FalkorDBProcess, free_port
from memorygraph.backends.registry import create_backend
from memorygraph.config import BackendConfig
from memorygraph.errors import BackendOperationError, ConfigurationError
from memorygraph.models import Memory, MemoryType
from memorygraph.testing import BackendContractSuite, mem, rel
from tests._servers.falkordb_server import running_falkordb
from tests.backends.graph_namespaces import check_old_graph_gets_namespaces
from tests.backends.refusals import SECRET, refused

pytestmark = pytest.mark.falkordb


@pytest.fixture
def backend_config(falkordb_config: BackendConfig) -> BackendConfig:
    return falkordb_config


class TestFalkorDBContract(BackendContractSuite):
    pass


async def test_graph_written_before_namespaces_gets_them(backend_config: BackendConfig) -> None:
    await check_old_graph_gets_namespaces(backend_config)


# --- connection failures: one line, fast, no password -------------------------------


async def _refused(config: BackendConfig) -> str:
    return await refused(config, "cannot connect to falkordb at redis://127.0.0.1:")


async def test_wrong_port_fails_fast() -> None:
    port = free_port()
    message = await _refused(
        BackendConfig("falkordb", uri=f"redis://127.0.0.1:{port}", password=SECRET)
    )
    assert str(port) in message


async def test_wrong_password_is_refused(falkordb_server: FalkorDBProcess) -> None:
    message = await _refused(BackendConfig("falkordb", uri=falkordb_server.uri, password=SECRET))
    assert "password" in message


async def test_password_in_uri_is_not_printed(falkordb_server: FalkorDBProcess) -> None:
    uri = falkordb_server.uri.replace("redis://", f"redis://:{SECRET}@")
    message = await _refused(BackendConfig("falkordb", uri=uri))
    assert "password" in message


async def test_missing_password_is_refused(falkordb_server: FalkorDBProcess) -> None:
    message = await _refused(BackendConfig("falkordb", uri=falkordb_server.uri))
    assert "password" in message


async def test_server_down_fails_fast() -> None:
    with running_falkordb() as server:
        uri = server.uri
    await _refused(BackendConfig("falkordb", uri=uri))


@pytest.fixture
def mute_server() -> Iterator[int]:
    """A loopback port that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    listener.close()


async def test_server_that_never_answers_times_out(mute_server: int) -> None:
    config = BackendConfig("falkordb", uri=f"redis://127.0.0.1:{mute_server}", timeout_seconds=2)
    message = await _refused(config)
    assert "no answer within 2s" in message


async def test_redis_without_falkordb_is_refused() -> None:
    with running_falkordb(module=False) as server:
        message = await _refused(BackendConfig("falkordb", uri=server.uri))
    assert "without the FalkorDB module" in message


async def test_a_uri_of_another_form_is_refused_naming_the_accepted_forms() -> None:
    backend = create_backend(BackendConfig("falkordb", uri="bolt://127.0.0.1:1"))
    with pytest.raises(ConfigurationError, match="falkordb at bolt://") as caught:
        await backend.connect()
    message = str(caught.value)
    assert "\n" not in message
    assert "redis://host:port" in message and "sentinel://host:port" in message


async def test_a_server_on_a_unix_socket_is_reached_by_its_unix_uri() -> None:
    # A short directory: a socket's path has a length limit.
    directory = Path(tempfile.mkdtemp(prefix="mg-", dir="/tmp"))
    try:
        server = falkordb_process.start(
            directory, unix_socket=True, durable=False, write_state=False
        )
        try:
            assert server.uri.startswith("unix:///")
            config = BackendConfig("falkordb", uri=server.uri, password=server.password)
            async with create_backend(config) as backend:
                await backend.upsert_memories([mem("on-socket")])
                assert await backend.count_memories() == 1
        finally:
            server.stop()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


# --- engine specifics ----------------------------------------------------------------


async def test_id_lookups_use_indexes_and_unique_constraints(
    falkordb_config: BackendConfig,
) -> None:
    # The product users are leaving scanned the graph for every edge lookup.
    async with FalkorDBBackend(falkordb_config) as backend:
        assert backend._graph is not None
        edge_plan = str(
            await backend._graph.explain(
                "UNWIND $ks AS k MATCH ()-[r:RELATIONSHIP {_key: k}]->() RETURN r.id", {"ks": []}
            )
        )
        node_plan = str(
            await backend._graph.explain(
                "UNWIND $ks AS k MATCH (m:Memory {_key: k}) RETURN m.id", {"ks": []}
            )
        )
        assert "Edge By Index Scan" in edge_plan
        assert "Node By Index Scan" in node_plan
        rows = await backend._run(
            "CALL db.constraints() YIELD type, label, properties, status "
            "RETURN type, label, properties, status"
        )
        assert sorted(map(tuple, ([*r[:2], tuple(r[2]), r[3]] for r in rows))) == [
            ("UNIQUE", "Memory", ("_key",), "OPERATIONAL"),
            ("UNIQUE", "RELATIONSHIP", ("_key",), "OPERATIONAL"),
        ]


async def test_relationship_pages_scan_the_edge_index_once(
    falkordb_config: BackendConfig,
) -> None:
    # With labelled ends FalkorDB expanded every Memory node through the edge
    # index: one page of 40,000 edges took 280 s.
    async with FalkorDBBackend(falkordb_config) as backend:
        assert backend._graph is not None
        query, params = backend._relationship_page_query("x", 10, None)
        plan = str(await backend._graph.explain(query, params))
    assert "Edge By Index Scan" in plan
    assert "Label Scan" not in plan and "Traverse" not in plan, plan


async def test_doubles_come_back_exactly(falkordb_config: BackendConfig) -> None:
    # FalkorDB prints doubles with 15 significant digits; the backend must not.
    tricky = Memory(
        id="floats",
        type=MemoryType.GENERAL,
        title="t",
        importance=0.1 + 0.2,
        confidence=5e-324,
        effectiveness=1 - 2**-53,
    )
    async with FalkorDBBackend(falkordb_config) as backend:
        await backend.upsert_memories([tricky, mem(1)])
        await backend.upsert_relationships([rel(1, "floats", "m0001", strength=2 / 3)])
        back = await backend.get_memory("floats")
        edge = await backend.get_relationship("r0001")
    assert back is not None and back.digest() == tricky.digest()
    assert edge is not None and edge.strength == 2 / 3


async def test_digests_see_every_change_to_a_stored_record(
    falkordb_config: BackendConfig,
) -> None:
    # Digests read values by position; a changed value, a removed one, or an edge
    # property beyond the record's fields must each change the digest.
    memory, edge = mem(1), rel(1, "m0001", "m0002")
    async with FalkorDBBackend(falkordb_config) as backend:
        await backend.upsert_memories([memory, mem(2)])
        await backend.upsert_relationships([edge])
        assert await backend.digests("memory", ["m0001"]) == {"m0001": memory.digest()}
        assert await backend.digests("relationship", ["r0001"]) == {"r0001": edge.digest()}
        for change in ("SET r.description = 'x'", "SET r.extra = 1", "REMOVE r.type"):
            await backend.upsert_relationships([edge])
            await backend._run(f"MATCH ()-[r:RELATIONSHIP]->() {change}", write=True)
            changed = await backend.digests("relationship", ["r0001"])
            assert changed["r0001"] != edge.digest(), change
        await backend._run("MATCH (m:Memory {id: 'm0001'}) SET m.title = 'y'", write=True)
        assert (await backend.digests("memory", ["m0001"]))["m0001"] != memory.digest()


async def test_read_only_on_a_graph_that_does_not_exist(falkordb_config: BackendConfig) -> None:
    async with create_backend(falkordb_config.read_only_copy()) as backend:
        assert await backend.count_memories() == 0
        assert await backend.count_relationships_by_type() == {}
        assert [m async for m in backend.iter_memories()] == []
        health = await backend.health()
    assert health.connected and health.engine_version
    assert health.engine_version.startswith("FalkorDB ")


async def test_concurrent_use_from_one_backend(falkordb_config: BackendConfig) -> None:
    async with FalkorDBBackend(falkordb_config) as backend:
        await backend.upsert_memories([mem(i) for i in range(50)])
        counts = await asyncio.gather(*(backend.count_memories() for _ in range(10)))
    assert counts == [50] * 10


async def test_ids_differing_only_in_edge_whitespace_stay_apart(
    falkordb_config: BackendConfig,
) -> None:
    # FalkorDB's own index confuses 'a' with 'a ' / ' a' / 'a\t', and a unique
    # constraint on 'a ' crashes the server; the backend must not be fooled.
    ids = ["a", " a", "a ", "a\t", "a\n", "\u3000a"]
    async with FalkorDBBackend(falkordb_config) as backend:
        await backend.upsert_memories([mem(i, title=repr(i)) for i in ids])
        await backend.upsert_relationships([rel(f"{i}>", i, "a") for i in ids])
        for i in ids:
            found = await backend.get_memories([i])
            assert [(m.id, m.title) for m in found] == [(i, repr(i))]
            assert await backend.existing_relationship_ids([f"{i}>"]) == {f"{i}>"}
        assert [m.id async for m in backend.iter_memories(batch_size=2)] == sorted(ids)
        assert await backend.delete_memories(["a "]) == 1
        assert await backend.count_memories() == len(ids) - 1
        assert (await backend.health()).connected


HOSTILE_VALUES: list[object] = [
    "",
    " ",
    "plain",
    'quote " inside',
    "back\\slash \\\\ and \\u0041",
    "new\nline\r\ttab",
    "\x01\x1e\x1f\x7f control",
    "héllo wörld ünïcödé",
    "emoji 😀 and 𝕏 and \U0010ffff",
    "rtl \u202e and zero-width \u200b",
    "true",
    "null",
    "1.5",
    "x" * 100_000,
    0,
    -1,
    2**63 - 1,
    -(2**63),
    True,
    False,
    None,
    0.1 + 0.2,
    -0.0,
    1e300,
    5e-324,
    [],
    [""],
    ["a", 'b"', "c\\", None, 1, 2.5, True],
    [[1, ["deep"]], []],
    {"a": 1, "b": "two", "c": None, "d": [1, "x"], "e": {"f": False}},
    {},
]


def _typed(value: object) -> object:
    """`value` with the type of every part spelled out (True is not 1, 1.0 is not 1)."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return (type(value).__name__, value)


async def test_reads_decode_values_as_the_client_does(falkordb_config: BackendConfig) -> None:
    # Reads decode FalkorDB's compact replies themselves: every value must come
    # back exactly as the falkordb client decodes it.
    async with FalkorDBBackend(falkordb_config) as backend:
        assert backend._graph is not None
        for value in HOSTILE_VALUES:
            for query in ("RETURN $v", "RETURN [$v, $v]", "RETURN {k: $v}, 1, 'x'"):
                params = {"v": value}
                ours = await backend._run(query, params)
                result = await backend._graph.ro_query(query, params)
                theirs = [list(r) for r in result.result_set]
                assert _typed(ours) == _typed(theirs), (query, value)
            if isinstance(value, str):
                assert await backend._run("RETURN $v", {"v": value}) == [[value]]
        # Values a read here never returns (nodes, points) are left to the client.
        await backend.upsert_memories([mem(1)])
        rows = await backend._run("MATCH (m:Memory) RETURN m, point({latitude: 1, longitude: 2})")
        assert rows[0][1] == {"latitude": 1.0, "longitude": 2.0}
        assert rows[0][0].properties["id"] == "m0001"
        assert await backend._run("RETURN 1 LIMIT 0") == []
        with pytest.raises(BackendOperationError, match="failed to read"):
            await backend._run("RETURN toString([1])")


async def test_reads_by_id_keep_order_and_leave_nothing_running(
    falkordb_config: BackendConfig,
) -> None:
    # Reads of many ids run their statements two at a time: the results keep the
    # order of the ids, and a failing statement leaves no other one behind.
    async with FalkorDBBackend(falkordb_config) as backend:
        await backend.upsert_memories([mem(i) for i in range(50)])
        ids = [f"m{i:04d}" for i in reversed(range(50))] + [f"x{i}" for i in range(2950)]
        keep = backend._by_keys("UNWIND $keys AS key RETURN collect(key)", ids)
        assert await keep == [backend.dialect.encode_key(i) for i in ids]
        got = await backend.get_memories([f"m{i:04d}" for i in range(50)] * 3)
        assert sorted(m.id for m in got) == [f"m{i:04d}" for i in range(50)]
        before = asyncio.all_tasks()
        with pytest.raises(BackendOperationError, match="failed to read"):
            await backend._by_keys("UNWIND $keys AS key RETURN collect(toString([key]))", ids)
        assert asyncio.all_tasks() == before
