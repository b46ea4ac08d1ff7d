"""Deleting thousands of memories with their relationships, on the FalkorDB server and on
falkordblite, through every path that deletes (the backend's own deletes, which MCP
cancellation and `--since` deletions call, and a migration's rollback): afterwards the
store reopens, holds exactly the records that were kept, each equal to what was
written, has a tombstone for every record deleted, and its server still answers.

Each delete writes thousands of tombstone nodes, which grows FalkorDB's node store
past 16,384 nodes: from there FalkorDB 4.16 keeps deleted nodes in its ``:Memory``
label index unless the deleting statement scans that label first (see
`FalkorDBBackend._memory_delete_prelude`). The sizes here make the store cross it
while the relationships' tombstones are written (kept and deleted memories plus
10,000 tombstones), and again, or for the first time, while the memories' are.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from memorygraph.backends.base import Backend, RecordKind
from memorygraph.backends.falkordb_process import FalkorDBProcess
from memorygraph.backends.registry import create_backend
from memorygraph.config import BackendConfig
from memorygraph.migration.manager import MigrationManager
from memorygraph.migration.models import MigrationOptions
from memorygraph.models import Memory, MemoryType, Relationship, RelationshipType
from memorygraph.testing import mem

pytestmark = pytest.mark.slow

#: Memories deleted, and relationships touching them (all deleted with them).
DELETED_MEMORIES = 5_000
DELETED_RELATIONSHIPS = 10_000
#: Records that stay: memories, and relationships between them.
KEPT_MEMORIES = 1_500
KEPT_RELATIONSHIPS = 3_000
PAGE = 1_000


@dataclass
class Graph:
    kept_memories: list[Memory]
    kept_relationships: list[Relationship]
    deleted_memories: list[Memory]
    deleted_relationships: list[Relationship]


def _memory(record_id: str, i: int) -> Memory:
    return mem(
        record_id,
        type=list(MemoryType)[i % len(MemoryType)],
        title=f"memory {i} — été {i % 7}",
        content=f"what memory {i} says " * (1 + i % 5),
        tags=[f"tag{i % 11}", "shared"],
        importance=(i % 10) / 10,
    )


def _relationship(record_id: str, i: int, a: str, b: str) -> Relationship:
    return Relationship(
        id=record_id,
        from_id=a,
        to_id=b,
        type=list(RelationshipType)[i % len(RelationshipType)],
        strength=(i % 9) / 9,
        description=f"link {i}",
    )


def sample(*, touching_kept: bool) -> Graph:
    """The records of a test. The deleted relationships run between deleted memories
    (some are self-loops), and with `touching_kept` half of them end at a kept memory."""
    kept = [_memory(f"keep-{i:05d}", i) for i in range(KEPT_MEMORIES)]
    gone = [_memory(f"gone-{i:05d}", i) for i in range(DELETED_MEMORIES)]
    kept_relationships = [
        _relationship(f"keep-r{i:05d}", i, kept[i % len(kept)].id, kept[(i * 3 + 1) % len(kept)].id)
        for i in range(KEPT_RELATIONSHIPS)
    ]
    deleted_relationships = []
    for i in range(DELETED_RELATIONSHIPS):
        a = gone[i % len(gone)].id
        if i % 501 == 0:
            b = a
        elif touching_kept and i % 2:
            b = kept[i % len(kept)].id
        else:
            b = gone[(i * 7 + 1) % len(gone)].id
        ends = (b, a) if i % 3 == 0 else (a, b)  # kept memories at either end
        deleted_relationships.append(_relationship(f"gone-r{i:05d}", i, *ends))
    return Graph(kept, kept_relationships, gone, deleted_relationships)


async def write(config: BackendConfig, memories: list[Memory], edges: list[Relationship]) -> None:
    async with create_backend(config) as backend:
        for start in range(0, len(memories), PAGE):
            await backend.upsert_memories(memories[start : start + PAGE])
        for start in range(0, len(edges), PAGE):
            await backend.upsert_relationships(edges[start : start + PAGE])


async def tombstone_ids(backend: Backend, kind: RecordKind) -> set[str]:
    return {t.id async for t in backend.iter_tombstones(kind)}


async def check_exact(config: BackendConfig, graph: Graph, *, tombstones: bool) -> None:
    """Reopen the store and compare it with what should remain, record by record.

    With `tombstones`, every deleted record must have its tombstone; without, only
    deleted records may have one (a rollback may leave none).
    """
    async with create_backend(config) as backend:  # refuses a graph that reads as foreign
        assert await backend.foreign_content() == []
        assert await backend.count_memories() == len(graph.kept_memories)
        assert await backend.count_relationships() == len(graph.kept_relationships)
        assert {m.id: m.digest() async for m in backend.iter_memories()} == {
            m.id: m.digest() for m in graph.kept_memories
        }
        assert {r.id: r.digest() async for r in backend.iter_relationships()} == {
            r.id: r.digest() for r in graph.kept_relationships
        }
        by_type = await backend.count_memories_by_type()
        assert sum(by_type.values()) == len(graph.kept_memories)
        deleted_memories = {m.id for m in graph.deleted_memories}
        deleted_relationships = {r.id for r in graph.deleted_relationships}
        assert await backend.get_memories(sorted(deleted_memories)) == []
        assert await backend.get_relationships(sorted(deleted_relationships)) == []
        memory_tombstones = await tombstone_ids(backend, "memory")
        relationship_tombstones = await tombstone_ids(backend, "relationship")
        if tombstones:
            assert memory_tombstones == deleted_memories
            assert relationship_tombstones == deleted_relationships
        else:
            assert memory_tombstones <= deleted_memories
            assert relationship_tombstones <= deleted_relationships
        # Still usable: a deleted memory written again reads back.
        again = graph.deleted_memories[0]
        await backend.upsert_memories([again])
        assert await backend.get_memories([again.id]) == [again]
        await backend.delete_memories([again.id])
        health = await backend.health()
        assert health.connected, health.error


@pytest.fixture(
    params=[
        pytest.param("falkordb_config", marks=pytest.mark.falkordb),
        pytest.param("falkordblite_config", marks=pytest.mark.falkordblite),
    ]
)
def store(request: pytest.FixtureRequest) -> BackendConfig:
    config: BackendConfig = request.getfixturevalue(request.param)
    return config


@pytest.fixture
def server_alive(request: pytest.FixtureRequest, store: BackendConfig) -> Iterator[None]:
    """After the test: the FalkorDB server behind `store` (when the session runs one)
    still runs and answers."""
    yield None
    if store.backend_type == "falkordb":
        server: FalkorDBProcess = request.getfixturevalue("falkordb_server")
        assert server.is_alive() and server.ping(timeout=5.0)


async def test_deleting_memories_deletes_their_relationships_exactly(
    store: BackendConfig, server_alive: None
) -> None:
    graph = sample(touching_kept=True)
    await write(
        store,
        graph.kept_memories + graph.deleted_memories,
        graph.kept_relationships + graph.deleted_relationships,
    )
    async with create_backend(store) as backend:
        assert await backend.delete_memories([m.id for m in graph.deleted_memories]) == (
            DELETED_MEMORIES
        )
    await check_exact(store, graph, tombstones=True)


async def test_deleting_relationships_then_their_memories_is_exact(
    store: BackendConfig, server_alive: None
) -> None:
    graph = sample(touching_kept=True)
    await write(
        store,
        graph.kept_memories + graph.deleted_memories,
        graph.kept_relationships + graph.deleted_relationships,
    )
    async with create_backend(store) as backend:
        ids = [r.id for r in graph.deleted_relationships]
        assert await backend.delete_relationships(ids) == DELETED_RELATIONSHIPS
        assert await backend.count_relationships() == KEPT_RELATIONSHIPS
        assert await backend.delete_memories([m.id for m in graph.deleted_memories]) == (
            DELETED_MEMORIES
        )
    await check_exact(store, graph, tombstones=True)


async def test_deleting_memories_one_at_a_time_is_exact(
    store: BackendConfig, server_alive: None
) -> None:
    """`delete_record` (the MCP server's and the CLI's delete) writes a memory's
    tombstones and deletes it in one statement; here the node store crosses 16,384
    nodes during those single deletes."""
    graph = sample(touching_kept=True)
    await write(
        store,
        graph.kept_memories + graph.deleted_memories,
        graph.kept_relationships + graph.deleted_relationships,
    )
    singles = graph.deleted_memories[:200]
    single_ids = {m.id for m in singles}
    # First the relationships of the other memories: the node store stays below 16,384
    # nodes, and the single deletes' tombstones (one per memory and per edge, each
    # delete freeing one node) take it past.
    others = [
        r.id
        for r in graph.deleted_relationships
        if r.from_id not in single_ids and r.to_id not in single_ids
    ]
    nodes = KEPT_MEMORIES + DELETED_MEMORIES + len(others)
    assert nodes < 16_384 < KEPT_MEMORIES + DELETED_MEMORIES + DELETED_RELATIONSHIPS
    async with create_backend(store) as backend:
        assert await backend.delete_relationships(others) == len(others)
        for memory in singles:
            await backend.delete_record("memory", memory.id, lambda stored: None)
        rest = [m.id for m in graph.deleted_memories[len(singles) :]]
        assert await backend.delete_memories(rest) == len(rest)
    await check_exact(store, graph, tombstones=True)


@pytest.mark.parametrize(
    "holding", [True, False], ids=["into-a-store-holding-records", "into-an-empty-store"]
)
async def test_rolling_back_a_migration_leaves_the_target_as_it_was(
    store: BackendConfig, server_alive: None, tmp_path: Path, holding: bool
) -> None:
    """Into an empty store the migration copies by bulk load; into one holding records,
    by a journaled import. The rollback deletes what either wrote."""
    graph = sample(touching_kept=False)
    if holding:
        await write(store, graph.kept_memories, graph.kept_relationships)
    else:
        graph.kept_memories, graph.kept_relationships = [], []
    source = BackendConfig("sqlite", path=tmp_path / "source.db")
    await write(source, graph.deleted_memories, graph.deleted_relationships)
    kept = tmp_path / "kept"

    def progress(phase: str, done: int, total: int | None) -> None:
        # The journal as it is once every record is written (a successful migration
        # removes its work directory); rolled back below.
        if phase == "verify" and not kept.exists():
            shutil.copytree(next((tmp_path / "work").iterdir()), kept)

    result = await MigrationManager(progress=progress).migrate(
        source, store, MigrationOptions(workdir=tmp_path / "work")
    )
    assert result.success, result.errors
    assert kept.exists(), "verification never reported progress"
    report = await MigrationManager().rollback(kept / "journal.jsonl", store)
    assert report.memories.deleted == DELETED_MEMORIES
    assert report.relationships.deleted == DELETED_RELATIONSHIPS
    await check_exact(store, graph, tombstones=False)
