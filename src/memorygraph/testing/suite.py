"""The backend contract suite: one set of tests every backend must pass, unchanged.

A backend's test module subclasses `BackendContractSuite` and supplies one
fixture, `backend_config`: a `BackendConfig` for an *empty* store. The suite
opens backends itself (several times where persistence matters).

A test that holds a backend to an optional capability says so with
`@requires(capability)`; on a backend whose `BackendSpec` does not declare it,
the test is skipped, saying which.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memorygraph.backends.base import Backend, Direction, RecordKind
from memorygraph.backends.registry import create_backend
from memorygraph.backends.spec import CAPABILITIES, SNAPSHOT_READS
from memorygraph.canonical import CanonicalRecord
from memorygraph.config import BackendConfig
from memorygraph.errors import IntegrityError, InvalidRecordError, UsageError
from memorygraph.models import Memory, MemoryType, Relationship, RelationshipType
from memorygraph.search import SearchFilters
from memorygraph.sinks import BackendSink, PlanningSink
from memorygraph.store import MemoryStore
from memorygraph.testing import strategies as rs
from memorygraph.testing.concurrency import ConcurrentEditsContract
from memorygraph.testing.namespaces import NamespacesContract

#: Property round trips must have tried at least this many examples per record type.
MIN_EXAMPLES = 200

T0 = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


async def _after_a_tick() -> datetime:
    """Now, strictly after every earlier write and before every later one."""
    await asyncio.sleep(0.002)
    now = datetime.now(UTC)
    await asyncio.sleep(0.002)
    return now


_LONG_AGO = T0 - timedelta(days=400)
#: For each field a record's writer may change, a value other than `mem`/`rel`'s:
#: times move *back*, strengths *down*, so nothing in the record itself says "newer".
MEMORY_CHANGES: dict[str, object] = {
    "type": MemoryType.PROBLEM,
    "title": "another title",
    "content": "other content",
    "summary": "a summary",
    "tags": ["new-tag"],
    "importance": 0.1,
    "confidence": 0.2,
    "effectiveness": 0.3,
    "usage_count": 7,
    "created_at": _LONG_AGO,
    "updated_at": _LONG_AGO,
    "last_accessed": _LONG_AGO,
    "context": {"project_path": "/p", "metadata": {"k": 1}},
}
RELATIONSHIP_CHANGES: dict[str, object] = {
    "from_id": "m0003",
    "to_id": "m0004",
    "type": RelationshipType.CAUSES,
    "strength": 0.1,
    "confidence": 0.2,
    "context": "some context",
    "description": "closed",
    "bidirectional": True,
    "evidence_count": 3,
    "success_rate": 0.4,
    "validation_count": 2,
    "counter_evidence_count": 5,
    "created_at": _LONG_AGO,
    "last_validated": _LONG_AGO,
    "valid_from": _LONG_AGO,
    "valid_until": _LONG_AGO + timedelta(days=1),
    "recorded_at": _LONG_AGO,
    "invalidated_by": "r0002",
}
MEMORY_EDITS = sorted(MEMORY_CHANGES)
RELATIONSHIP_EDITS = sorted(RELATIONSHIP_CHANGES)


def edit_memory(memory: Memory, field: str) -> Memory:
    """`memory` with `field` changed (and, for `created_at`, `updated_at` kept as it was)."""
    changes: dict[str, object] = {field: MEMORY_CHANGES[field]}
    if field == "created_at":
        changes["updated_at"] = memory.updated_at
    return memory.changed(**changes)


def edit_relationship(relationship: Relationship, field: str) -> Relationship:
    return relationship.changed(**{field: RELATIONSHIP_CHANGES[field]})


def mem(i: int | str, **kw: object) -> Memory:
    fields: dict[str, object] = {
        "id": f"m{i:04d}" if isinstance(i, int) else i,
        "type": MemoryType.SOLUTION,
        "title": f"memory {i}",
        "content": f"content of memory {i}",
        "created_at": T0,
    }
    fields.update(kw)
    return Memory(**fields)


def rel(i: int | str, a: str, b: str, **kw: object) -> Relationship:
    fields: dict[str, object] = {
        "id": f"r{i:04d}" if isinstance(i, int) else i,
        "from_id": a,
        "to_id": b,
        "type": RelationshipType.SOLVES,
        "created_at": T0,
    }
    fields.update(kw)
    return Relationship(**fields)


async def collect(it: AsyncIterator[Memory] | AsyncIterator[Relationship]) -> list[str]:
    return [r.id async for r in it]


def search_corpus() -> list[Memory]:
    """A small corpus with a known ranking for every query in EXPECTED_RANKINGS."""
    day = timedelta(days=1)
    return [
        mem("c01", title="Fix flaky redis timeout", content="Raise the pool size and the "
            "socket timeout.", tags=["redis"], importance=0.8),
        mem("c02", title="Redis cluster failover", content="Sentinel promotes a replica.",
            type=MemoryType.PROBLEM, tags=["cache"]),
        mem("c03", title="Postgres slow query", content="Add an index on created_at; the "
            "redis cache was not involved.", type=MemoryType.PROBLEM),
        mem("c04", title="Timeouts when calling the payments API", content="Requests time "
            "out after 30 seconds; fixed by retrying with backoff.", type=MemoryType.ERROR),
        mem("c05", title="Fixing flaky tests", content="Tests that depend on timing are "
            "flaky; freeze the clock.", type=MemoryType.FIX),
        mem("c06", title="Deployment checklist", content="Run migrations before deploying "
            "the new release.", type=MemoryType.WORKFLOW),
        mem("c07", title="Кэш Redis", content="Перезапуск сервера исправил ошибку таймаута.",
            type=MemoryType.GENERAL),
        mem("c08", title="東京のサーバー設定", content="キャッシュの設定を変更した。",
            type=MemoryType.GENERAL),
        mem("c09", title="Ελληνικές σημειώσεις", content="Η βάση δεδομένων είναι αργή.",
            type=MemoryType.GENERAL),
        mem("c10", title="Rocket launch 🚀", content="Shipped it 🎉", type=MemoryType.GENERAL),
        mem("c11", title="'); MATCH (n) DETACH DELETE n; --", content='say "hi" \\ OR 1=1'),
        mem("c12", title="Memory leak in the worker", content="The worker leaks memory when "
            "the queue is empty.", type=MemoryType.PROBLEM, importance=0.9,
            created_at=T0 + 3 * day, context={"project_path": "/srv/worker"}),
        mem("c13", title="Worker memory", content="Leak detection for the queue worker; "
            "timeout after one hour.", created_at=T0 + 3 * day, updated_at=T0 + 5 * day,
            context={"project_path": "/srv/other"}),
        mem("c14", title="Scaling notes", content="Each cluster node holds a shard.",
            type=MemoryType.GENERAL),
        mem("c15", title="Café menu parser", content="Parses the menu.",
            type=MemoryType.CODE_PATTERN),
        mem("c16", title="Retry with exponential backoff", content="Wrap the client call.",
            type=MemoryType.SOLUTION, importance=0.7),
        mem("c17", title="Increase the HTTP client limit", content="No longer advised.",
            type=MemoryType.SOLUTION),
        mem("c18", title="Old gateway workaround", content="Superseded.",
            type=MemoryType.SOLUTION),
    ]  # fmt: skip


#: Query → ids in rank order: every backend must return exactly these.
EXPECTED_RANKINGS: dict[str, list[str]] = {
    "how did we fix the redis timeouts": ["c01", "c04", "c05", "c13", "c02", "c07", "c03"],
    "redis timeout": ["c01", "c04", "c13", "c02", "c07", "c03"],
    "timeouts redi": ["c01", "c04", "c13", "c02", "c07", "c03"],
    "redis": ["c01", "c02", "c07", "c03"],
    "fix": ["c05", "c01", "c04"],
    "flaky tests": ["c05", "c01"],
    "memory worker leak": ["c12", "c13"],
    "cluster": ["c02", "c14"],
    "payments api": ["c04"],
    '"memory leak" worker queue': ["c12"],
    "deploy": ["c06"],
}


async def found_ids(
    store: MemoryStore, query: str, filters: SearchFilters | None = None
) -> list[str]:
    return [h.memory.id for h in await store.search(query, filters=filters, limit=100)]


F = TypeVar("F", bound=Callable[..., Any])

#: The attribute `requires` sets on a test function: the capabilities it needs.
REQUIRES = "memorygraph_requires"


def requires(*capabilities: str) -> Callable[[F], F]:
    """Mark a contract test as needing `capabilities` (names from
    `memorygraph.backends.spec.CAPABILITIES`)."""
    unknown = sorted(set(capabilities) - CAPABILITIES)
    if unknown:
        raise ValueError(f"unknown capabilit(ies): {', '.join(unknown)}")

    def mark(test: F) -> F:
        setattr(test, REQUIRES, (*getattr(test, REQUIRES, ()), *capabilities))
        return test

    return mark


class BackendContractSuite(ConcurrentEditsContract, NamespacesContract):
    """Subclass and provide a `backend_config` fixture for an empty store."""

    @pytest.fixture(autouse=True)
    def _declared_capabilities(
        self, request: pytest.FixtureRequest, backend_config: BackendConfig
    ) -> None:
        spec = backend_config.spec
        for capability in getattr(request.function, REQUIRES, ()):
            if not spec.has(capability):
                pytest.skip(f"backend {spec.name} does not declare capability {capability}")

    @pytest.fixture
    async def backend(self, backend_config: BackendConfig) -> AsyncIterator[Backend]:
        async with create_backend(backend_config) as b:
            yield b

    # --- lifecycle and health ----------------------------------------------------

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

    @requires(SNAPSHOT_READS)
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

    # --- writes ------------------------------------------------------------------

    async def test_upsert_reports_inserted_updated_skipped(self, backend: Backend) -> None:
        first = await backend.upsert_memories([mem(1), mem(2)])
        assert (first.inserted, first.updated, first.skipped) == (["m0001", "m0002"], [], [])
        changed = mem(2, title="changed")
        again = await backend.upsert_memories([changed, mem(3)], skip_existing=True)
        assert (again.inserted, again.skipped) == (["m0003"], ["m0002"])
        assert (await backend.get_memory("m0002")) == mem(2), "a skipped record was written"
        replaced = await backend.upsert_memories([changed])
        assert replaced.updated == ["m0002"]
        assert (await backend.get_memory("m0002")) == changed
        assert await backend.count_memories() == 3

    async def test_before_write_hears_new_ids_before_the_write(self, backend: Backend) -> None:
        await backend.upsert_memories([mem(1)])
        heard: list[list[str]] = []
        result = await backend.upsert_memories(
            [mem(1, title="new title"), mem(2)], before_write=lambda ids: heard.append(list(ids))
        )
        assert heard == [["m0002"]] and result.inserted == ["m0002"]
        await backend.upsert_relationships(
            [rel(1, "m0001", "m0002")], before_write=lambda ids: heard.append(list(ids))
        )
        assert heard[-1] == ["r0001"]

        def refuse(ids: object) -> None:
            raise RuntimeError("journal is full")

        with pytest.raises(RuntimeError):
            await backend.upsert_memories([mem(3)], before_write=refuse)
        with pytest.raises(RuntimeError):
            await backend.upsert_relationships([rel(2, "m0002", "m0001")], before_write=refuse)
        assert await backend.get_memory("m0003") is None
        assert await backend.get_relationship("r0002") is None

    async def test_duplicate_ids_in_one_batch_write_nothing(self, backend: Backend) -> None:
        with pytest.raises(InvalidRecordError, match="twice"):
            await backend.upsert_memories([mem(1), mem(2), mem(1, title="again")])
        assert await backend.count_memories() == 0

    async def test_relationship_to_missing_memory_writes_nothing(self, backend: Backend) -> None:
        await backend.upsert_memories([mem(1)])
        with pytest.raises(IntegrityError, match="nowhere"):
            await backend.upsert_relationships(
                [rel(1, "m0001", "m0001"), rel(2, "m0001", "nowhere")]
            )
        assert await backend.count_relationships() == 0

    async def test_relationship_upsert_moves_changed_ends(self, backend: Backend) -> None:
        await backend.upsert_memories([mem(1), mem(2), mem(3)])
        await backend.upsert_relationships([rel(1, "m0001", "m0002")])
        moved = rel(1, "m0001", "m0003", strength=0.9)
        result = await backend.upsert_relationships([moved])
        assert result.updated == ["r0001"]
        assert await backend.get_relationship("r0001") == moved
        assert await backend.count_relationships() == 1
        assert [n.memory.id for n in await backend.neighbours("m0002")] == []

    async def test_relationship_skip_existing(self, backend: Backend) -> None:
        await backend.upsert_memories([mem(1), mem(2)])
        await backend.upsert_relationships([rel(1, "m0001", "m0002")])
        result = await backend.upsert_relationships(
            [rel(1, "m0002", "m0001"), rel(2, "m0002", "m0001")], skip_existing=True
        )
        assert (result.inserted, result.skipped) == (["r0002"], ["r0001"])
        assert (await backend.get_relationship("r0001")) == rel(1, "m0001", "m0002")

    async def test_a_plan_decides_as_the_write_and_writes_nothing(self, backend: Backend) -> None:
        await backend.upsert_memories([mem(1)])
        batch = [CanonicalRecord.of(m) for m in (mem(1, title="changed"), mem(2))]
        edges = [CanonicalRecord.of(r) for r in (rel(1, "m0001", "m0002"), rel(2, "m0001", "x"))]
        with PlanningSink(backend) as plan:
            planned = await plan.upsert("memory", batch)
            # m0002 is not stored, but the plan's batch before would have written it.
            judged = await plan.upsert("relationship", edges)
        assert (planned.inserted, planned.updated) == (["m0002"], ["m0001"])
        assert (judged.inserted, judged.rejected) == (["r0001"], ["r0002"])
        assert await backend.get_memory("m0001") == mem(1) and await backend.count_memories() == 1
        assert await backend.count_relationships() == 0
        heard: list[list[str]] = []
        with BackendSink(backend, before_write=lambda _, ids: heard.append(list(ids))) as sink:
            written = await sink.upsert("memory", batch)
            with pytest.raises(IntegrityError):
                await sink.upsert("relationship", edges)
        assert (written.inserted, written.updated) == (planned.inserted, planned.updated)
        assert heard == [["m0002"]] and await backend.count_relationships() == 0

    async def test_delete_memory_removes_its_relationships(self, backend: Backend) -> None:
        await backend.upsert_memories([mem(1), mem(2), mem(3)])
        await backend.upsert_relationships([rel(1, "m0001", "m0002"), rel(2, "m0002", "m0003")])
        assert await backend.delete_memories(["m0001", "absent"]) == 1
        assert await backend.get_memory("m0001") is None
        assert await collect(backend.iter_relationships()) == ["r0002"]
        assert await backend.delete_relationships(["r0002", "r0001"]) == 1
        assert await backend.count_relationships() == 0
        assert await backend.count_memories() == 2

    async def test_clear_removes_everything(self, backend: Backend) -> None:
        await backend.upsert_memories([mem(1), mem(2)])
        await backend.upsert_relationships([rel(1, "m0001", "m0002")])
        await backend.clear()
        assert (await backend.count_memories(), await backend.count_relationships()) == (0, 0)
        await backend.upsert_memories([mem(1)])
        assert await backend.count_memories() == 1

    # --- reads -------------------------------------------------------------------

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

    @pytest.mark.parametrize("field", MEMORY_EDITS)
    async def test_since_selects_memories_written_since_whatever_field_changed(
        self, backend: Backend, field: str
    ) -> None:
        await backend.upsert_memories([mem(1), mem(2)])
        await backend.upsert_memories([mem(3), mem(4, title="x", content="y")])
        await backend.upsert_relationships([rel(1, "m0001", "m0002"), rel(2, "m0003", "m0004")])
        since = await _after_a_tick()
        edited = edit_memory(mem(2), field)
        assert edited.digest() != mem(2).digest()
        await backend.upsert_memories([edited])
        assert await collect(backend.iter_memories(since=since)) == ["m0002"]
        assert await collect(backend.iter_relationships(since=since)) == []
        assert [i async for i, _ in backend.iter_digests("memory", since=since)] == ["m0002"]

    @pytest.mark.parametrize("field", RELATIONSHIP_EDITS)
    async def test_since_selects_relationships_written_since_whatever_field_changed(
        self, backend: Backend, field: str
    ) -> None:
        await backend.upsert_memories([mem(i) for i in range(1, 5)])
        await backend.upsert_relationships([rel(1, "m0001", "m0002"), rel(2, "m0003", "m0004")])
        since = await _after_a_tick()
        edited = edit_relationship(rel(1, "m0001", "m0002"), field)
        assert edited.digest() != rel(1, "m0001", "m0002").digest()
        await backend.upsert_relationships([edited])
        assert await collect(backend.iter_relationships(since=since)) == ["r0001"]
        assert await collect(backend.iter_memories(since=since)) == []
        assert [i async for i, _ in backend.iter_digests("relationship", since=since)] == ["r0001"]

    async def test_since_ignores_the_records_own_times(self, backend: Backend) -> None:
        # A record written now whose own times lie in the past is still a change now.
        since = await _after_a_tick()
        await backend.upsert_memories([mem(1, created_at=T0 - timedelta(days=999)), mem(2)])
        await backend.upsert_relationships([rel(1, "m0001", "m0002")])
        assert await collect(backend.iter_memories(since=since)) == ["m0001", "m0002"]
        assert await collect(backend.iter_relationships(since=since)) == ["r0001"]
        later = await _after_a_tick()
        assert await collect(backend.iter_memories(since=later)) == []

    async def test_deletions_leave_tombstones(self, backend: Backend) -> None:
        await backend.upsert_memories([mem(i) for i in range(1, 6)])
        await backend.upsert_relationships(
            [rel(1, "m0001", "m0002"), rel(2, "m0003", "m0001"), rel(3, "m0004", "m0005")]
        )
        before = await _after_a_tick()
        assert await backend.delete_memories(["m0001", "absent"]) == 1
        assert await backend.delete_relationships(["r0003", "absent"]) == 1
        after = await _after_a_tick()
        memories = [t async for t in backend.iter_tombstones("memory", since=before)]
        relationships = [t async for t in backend.iter_tombstones("relationship", since=before)]
        assert [(t.kind, t.id) for t in memories] == [("memory", "m0001")]
        assert [t.id for t in relationships] == ["r0001", "r0002", "r0003"]
        for t in memories + relationships:
            assert before.isoformat() <= datetime.fromisoformat(t.deleted_at).isoformat()
        assert [t async for t in backend.iter_tombstones("memory", since=after)] == []
        # Tombstones are not records: not counted, iterated or found.
        assert (await backend.count_memories(), await backend.count_relationships()) == (4, 0)
        assert await collect(backend.iter_memories()) == ["m0002", "m0003", "m0004", "m0005"]
        assert await backend.get_memory("m0001") is None
        # A record written again outlives its tombstone; deleted again, it has one again.
        await backend.upsert_memories([mem(1)])
        assert [t async for t in backend.iter_tombstones("memory")] == []
        await backend.delete_memories(["m0001"])
        again = [t async for t in backend.iter_tombstones("memory", batch_size=1)]
        assert [t.id for t in again] == ["m0001"]
        assert again[0].deleted_at >= memories[0].deleted_at

    async def test_tombstones_page_in_id_order(self, backend: Backend) -> None:
        ids = [f"id-{i:03d}" for i in range(23)]
        await backend.upsert_memories([mem(i) for i in ids])
        await backend.delete_memories(list(reversed(ids)))
        assert [t.id async for t in backend.iter_tombstones("memory", batch_size=5)] == ids

    async def test_purge_leaves_no_tombstones_and_an_earlier_one_counts_again(
        self, backend: Backend
    ) -> None:
        await backend.upsert_memories([mem(1), mem(2), mem(3)])
        await backend.upsert_relationships([rel(1, "m0001", "m0002"), rel(2, "m0002", "m0003")])
        await backend.delete_memories(["m0003"])  # takes r0002 with it
        earlier = [t async for t in backend.iter_tombstones("memory")]
        await backend.upsert_memories([mem(3)])
        assert await backend.purge_relationships(["r0001", "absent"]) == 1
        assert await backend.purge_memories(["m0001", "m0003", "absent"]) == 2
        assert await collect(backend.iter_memories()) == ["m0002"]
        assert await backend.count_relationships() == 0
        assert [t async for t in backend.iter_tombstones("memory")] == earlier
        assert [t.id async for t in backend.iter_tombstones("relationship")] == ["r0002"]

    async def test_tombstones_of_names_the_deleted_ids_not_held_again(
        self, backend: Backend
    ) -> None:
        await backend.upsert_memories([mem(1), mem(2), mem(3)])
        await backend.delete_memories(["m0001", "m0002"])
        deleted = {t.id: t.deleted_at async for t in backend.iter_tombstones("memory")}
        await backend.upsert_memories([mem(2)])
        found = await backend.tombstones_of("memory", ["m0001", "m0002", "m0003", "absent"])
        assert found == {"m0001": deleted["m0001"]}
        assert await backend.tombstones_of("relationship", ["m0001"]) == {}

    async def test_clear_leaves_no_tombstones(self, backend: Backend) -> None:
        await backend.upsert_memories([mem(1), mem(2)])
        await backend.delete_memories(["m0001"])
        await backend.clear()
        assert [t async for t in backend.iter_tombstones("memory")] == []

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

    # --- search and recall (the same ids in the same order on every engine) ---------

    async def test_search_ranks_the_corpus_identically(self, backend: Backend) -> None:
        await backend.upsert_memories(search_corpus())
        store = MemoryStore(backend)
        for query, expected in EXPECTED_RANKINGS.items():
            assert await found_ids(store, query) == expected, query

    async def test_search_matches_word_forms_by_stem(self, backend: Backend) -> None:
        await backend.upsert_memories(search_corpus())
        store = MemoryStore(backend)
        timeouts = set(await found_ids(store, "timeouts"))
        assert {"c01", "c04"} <= timeouts
        assert set(await found_ids(store, "timeout")) == timeouts
        assert {"c01", "c04", "c05"} <= set(await found_ids(store, "fixed"))
        assert {"c01", "c04", "c05"} <= set(await found_ids(store, "fixing"))

    async def test_search_matches_the_beginning_of_words(self, backend: Backend) -> None:
        await backend.upsert_memories(search_corpus())
        store = MemoryStore(backend)
        assert set(await found_ids(store, "redi")) == {"c01", "c02", "c03", "c07"}
        assert await found_ids(store, "deploym") == ["c06"]
        # Quoted words are exact: no prefix matching.
        assert await found_ids(store, '"deploym"') == []

    async def test_search_ranks_more_matched_words_first(self, backend: Backend) -> None:
        await backend.upsert_memories(search_corpus())
        store = MemoryStore(backend)
        hits = await store.search("redis pool timeout")
        assert hits[0].memory.id == "c01"
        assert set(hits[0].matched) == {"redis", "pool", "timeout"}
        assert all(len(h.matched) < 3 for h in hits[1:])
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        # A title match outranks the same word in the body.
        order = await found_ids(store, "cluster")
        assert order.index("c02") < order.index("c14")

    async def test_search_ignores_stop_words_and_empty_queries(self, backend: Backend) -> None:
        await backend.upsert_memories(search_corpus())
        store = MemoryStore(backend)
        assert await store.search("") == []
        assert await store.search("the and of") == []
        assert await store.search("absentword") == []
        assert await found_ids(store, "the redis") == await found_ids(store, "redis")

    async def test_search_filters(self, backend: Backend) -> None:
        await backend.upsert_memories(search_corpus())
        store = MemoryStore(backend)

        async def only(**kw: Any) -> set[str]:
            return set(await found_ids(store, "redis timeout memory", SearchFilters(**kw)))

        everything = await only()
        assert {"c01", "c02", "c12", "c13"} <= everything
        assert await only(types=(MemoryType.PROBLEM,)) == {"c02", "c03", "c12"}
        assert await only(types=(MemoryType.PROBLEM, MemoryType.ERROR)) == {
            "c02",
            "c03",
            "c04",
            "c12",
        }
        assert await only(tags=("cache",)) == {"c02"}
        assert await only(tags=("cache", "redis")) == {"c01", "c02"}
        assert await only(project="/srv/worker") == {"c12"}
        assert await only(min_importance=0.75) == {"c01", "c12"}
        assert await only(created_after=T0 + timedelta(days=2)) == {"c12", "c13"}
        assert await only(updated_after=T0 + timedelta(days=4)) == {"c13"}
        assert await only(types=(MemoryType.PROBLEM,), min_importance=0.75) == {"c12"}

    async def test_search_pages_do_not_overlap(self, backend: Backend) -> None:
        await backend.upsert_memories(search_corpus())
        store = MemoryStore(backend)
        everything = await found_ids(store, "redis timeout memory fix")
        assert len(everything) >= 7
        pages = [
            [h.memory.id for h in await store.search("redis timeout memory fix", limit=3, offset=o)]
            for o in range(0, len(everything) + 3, 3)
        ]
        assert [i for page in pages for i in page] == everything
        assert pages[-1] == []
        again = await store.search("redis timeout memory fix", limit=3, offset=3)
        assert [h.memory.id for h in again] == pages[1]

    async def test_search_non_latin_scripts_and_emoji(self, backend: Backend) -> None:
        await backend.upsert_memories(search_corpus())
        store = MemoryStore(backend)
        assert await found_ids(store, "кэш") == ["c07"]
        assert await found_ids(store, "таймаут") == ["c07"]  # stem of "таймаута"
        assert await found_ids(store, "東京") == ["c08"]
        assert await found_ids(store, "設定") == ["c08"]
        assert await found_ids(store, "ΣΗΜΕΙΩΣΕΙΣ") == ["c09"]  # case and accents folded
        assert await found_ids(store, "🚀") == ["c10"]
        assert await found_ids(store, "🎉 launch") == ["c10"]
        assert await found_ids(store, "Caf\u00e9") == await found_ids(store, "cafe") == ["c15"]

    async def test_search_phrases(self, backend: Backend) -> None:
        await backend.upsert_memories(search_corpus())
        store = MemoryStore(backend)
        assert await found_ids(store, '"memory leak"') == ["c12"]
        assert await found_ids(store, '"leak memory worker"') == []
        # The phrase is required; other words only rank.
        assert await found_ids(store, '"memory leak" redis') == ["c12"]
        assert set(await found_ids(store, "memory leak")) >= {"c12", "c13"}
        with pytest.raises(UsageError, match="unbalanced double quote"):
            await store.search('"memory leak')

    async def test_search_treats_query_syntax_as_text(self, backend: Backend) -> None:
        await backend.upsert_memories(search_corpus())
        store = MemoryStore(backend)
        for query in [
            "'); MATCH (n) DETACH DELETE n; --",
            '" OR 1=1 --"',
            "title:redis OR *",
            "@_st:{x} | -redis ~y",
            "redis AND NOT cluster",
            "\\ % _ * ( ) [ ] { } ^ : ! ?",
            "redis' OR '1'='1",
        ]:
            await store.search(query)
        assert await found_ids(store, "detach delete match") == ["c11"]
        assert await backend.count_memories() == len(search_corpus())

    async def test_search_index_follows_every_write(self, backend: Backend) -> None:
        await backend.upsert_memories(search_corpus())
        store = MemoryStore(backend)
        await store.update("c06", title="Release checklist", content="tag and publish")
        assert await found_ids(store, "deployment") == []
        assert await found_ids(store, "publish") == ["c06"]
        await store.forget("c01")
        assert "c01" not in await found_ids(store, "redis")
        assert await store.reindex() == len(search_corpus()) - 1
        assert await found_ids(store, "publish") == ["c06"]
        for query, expected in EXPECTED_RANKINGS.items():
            changed = {"c01", "c06"}
            assert await found_ids(store, query) == [i for i in expected if i not in changed]

    async def test_recall_brings_linked_memories_with_reasons(self, backend: Backend) -> None:
        await backend.upsert_memories(search_corpus())
        await backend.upsert_relationships(
            [
                rel("s1", "c16", "c04", type=RelationshipType.SOLVES, strength=0.9),
                rel("s2", "c17", "c04", type=RelationshipType.SOLVES, invalidated_by="c16"),
                rel(
                    "s3",
                    "c18",
                    "c04",
                    type=RelationshipType.ADDRESSES,
                    valid_until=T0 - timedelta(days=1),
                ),
            ]
        )
        store = MemoryStore(backend)
        hits = await store.recall("payments api")
        ids = [h.memory.id for h in hits]
        assert ids[0] == "c04"
        assert "c16" in ids and "c17" not in ids and "c18" not in ids
        linked = hits[ids.index("c16")]
        assert linked.via is not None and linked.via.id == "s1"
        assert "SOLVES" in linked.reason and "c04" in linked.reason
        assert linked.matched == hits[0].matched == ("payments", "api")
        assert hits[0].via is None
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        first, second = (
            await store.recall("payments api", limit=1),
            await store.recall("payments api", limit=1, offset=1),
        )
        assert [h.memory.id for h in first + second] == ids[:2]
        none = await store.recall("payments", filters=SearchFilters(types=(MemoryType.TASK,)))
        assert none == []

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

    # --- exact round trip (property-based) ------------------------------------------

    def test_any_memory_round_trips_exactly(self, backend_config: BackendConfig) -> None:
        async def write_read(backend: Backend, memory: Memory) -> Memory | None:
            await backend.upsert_memories([memory])
            return await backend.get_memory(memory.id)

        _check_round_trips(backend_config, rs.memories(), write_read)

    def test_any_relationship_round_trips_exactly(self, backend_config: BackendConfig) -> None:
        async def write_read(backend: Backend, rel: Relationship) -> Relationship | None:
            await backend.upsert_relationships([rel])
            return await backend.get_relationship(rel.id)

        _check_round_trips(
            backend_config,
            rs.relationships(ends=["end-a", "end-b"]),
            write_read,
            setup=[mem("end-a"), mem("end-b")],
        )


R = TypeVar("R", Memory, Relationship)


async def _canonical_of(backend: Backend, kind: RecordKind, record_id: str) -> bytes | None:
    """The canonical bytes `iter_canonical` gives for one record."""
    async for page in backend.iter_canonical(kind):
        for record in page:
            if record.id == record_id:
                return record.raw
    return None


def _check_round_trips(
    config: BackendConfig,
    strategy: st.SearchStrategy[R],
    write_read: Callable[[Backend, R], Awaitable[R | None]],
    setup: list[Memory] | None = None,
) -> None:
    """Write every generated record and read it back: the same digest, every time.

    Hypothesis drives a synchronous function, so the backend lives on an event
    loop of its own for the whole run (one connection, MIN_EXAMPLES records).
    """
    loop = asyncio.new_event_loop()
    backend = create_backend(config)
    seen: list[str] = []
    try:
        loop.run_until_complete(backend.connect())
        if setup:
            loop.run_until_complete(backend.upsert_memories(setup))

        @settings(
            max_examples=MIN_EXAMPLES,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(strategy)
        def check(record: R) -> None:
            back = loop.run_until_complete(write_read(backend, record))
            assert back is not None, f"{record.id!r} was not stored"
            assert back.digest() == record.digest()
            assert back == record
            # The quick digests (no model) and canonical reads agree with the model.
            kind: RecordKind = "memory" if isinstance(record, Memory) else "relationship"
            digests = loop.run_until_complete(backend.digests(kind, [record.id]))
            assert digests == {record.id: record.digest()}
            canonical = loop.run_until_complete(_canonical_of(backend, kind, record.id))
            assert canonical == record.canonical_bytes()
            seen.append(record.id)

        check()
        assert len(seen) >= MIN_EXAMPLES
    finally:
        loop.run_until_complete(backend.close())
        loop.close()
