"""Contract tests for namespaces: a principal reaches only the memories of its own.

Principal A (namespace team-a) stores memories and relationships through the
library; principal B (team-b) must not reach them through any read path (get
by id, search, recall and its graph walk, related memories, recent activity,
statistics, export), and finds another namespace's memory exactly as it finds a
missing one. A principal holding both namespaces sees both; a relationship
across namespaces is refused; a principal without the write scope writes
nothing; `created_by` is the principal's name whatever the call says.
`BackendContractSuite` includes these tests, so every backend runs them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from memorygraph.backends.registry import create_backend
from memorygraph.config import DEFAULT_BACKEND, BackendConfig
from memorygraph.errors import (
    ConflictError,
    ForbiddenError,
    IntegrityError,
    NotFoundError,
    UsageError,
)
from memorygraph.models import Memory, Relationship, RelationshipType
from memorygraph.ops import exchange as exchange_ops
from memorygraph.ops import memories as memory_ops
from memorygraph.ops import migrations as migration_ops
from memorygraph.principal import DEFAULT_NAMESPACE, LOCAL, Principal, namespace_of
from memorygraph.store import MemoryStore

ALICE = Principal("alice", ("team-a",))
BOB = Principal("bob", ("team-b",))
CAROL = Principal("carol", ("team-a", "team-b"))
#: Reads team-a, writes nothing.
READER = Principal("rita", ("team-a",), frozenset({"read"}))
#: Writes team-a, administers nothing.
WRITER = Principal("wes", ("team-a",), frozenset({"read", "write"}))

#: A word every memory of the test holds, so each search could find them all.
WORD = "zephyr"


def _same_words(error: BaseException, memory_id: str) -> str:
    """The error's message with the id it names taken out."""
    return str(error).replace(memory_id, "<id>")


async def _missing_text(
    call: Callable[[str], Awaitable[object]], hidden: str, absent: str
) -> tuple[str, str]:
    """The `NotFoundError` messages `call(id)` gives for a hidden and an absent id."""
    texts = []
    for memory_id in (hidden, absent):
        with pytest.raises(NotFoundError) as caught:
            await call(memory_id)
        texts.append(_same_words(caught.value, memory_id))
    return texts[0], texts[1]


class NamespacesContract:
    """Namespaces hold on every read path, in the backend's own queries."""

    @pytest.fixture
    async def team_store(self, backend_config: BackendConfig) -> AsyncIterator[MemoryStore]:
        async with create_backend(backend_config) as backend:
            yield MemoryStore(backend)

    @staticmethod
    async def _team_a(store: MemoryStore) -> tuple[Memory, Memory, Relationship]:
        alice = store.for_principal(ALICE)
        fix = await alice.remember(type="solution", title=f"Pin redis {WORD}", content="7.2")
        bug = await alice.remember(type="problem", title=f"Redis {WORD} drops idle clients")
        edge = await alice.relate(fix.id, bug.id, RelationshipType.SOLVES)
        return fix, bug, edge

    async def test_another_namespace_looks_missing_on_every_read_path(
        self, team_store: MemoryStore, tmp_path: Path
    ) -> None:
        bob = team_store.for_principal(BOB)
        own = await bob.remember(type="problem", title=f"Bob's {WORD} problem")
        alone = [(h.memory.id, h.score) for h in await bob.search(WORD)]
        fix, bug, _ = await self._team_a(team_store)
        # An edge across namespaces, as an import of another tool's data may bring:
        # B's graph walks must still stop at its own namespace.
        await team_store.load_records(
            [], [Relationship(id="across", from_id=own.id, to_id=bug.id, type="RELATED_TO")]
        )

        hidden, absent = await _missing_text(bob.get, fix.id, "no-such-memory")
        assert hidden == absent
        hidden, absent = await _missing_text(
            lambda i: memory_ops.get_memory(bob, memory_id=i), fix.id, "no-such-memory"
        )
        assert hidden == absent
        hidden, absent = await _missing_text(
            lambda i: memory_ops.update_memory(bob, memory_id=i, title="taken over"),
            fix.id,
            "no-such-memory",
        )
        assert hidden == absent
        hidden, absent = await _missing_text(
            lambda i: memory_ops.delete_memory(bob, memory_id=i), fix.id, "no-such-memory"
        )
        assert hidden == absent
        await _missing_text(bob.forget, fix.id, "no-such-memory")
        await _missing_text(lambda i: bob.update(i, title="taken over"), bug.id, "no-such-memory")
        await _missing_text(bob.related, fix.id, "no-such-memory")
        assert await team_store.get(fix.id) == fix  # still there, unchanged

        # Not even the score tells that team-a holds the word too.
        assert [(h.memory.id, h.score) for h in await bob.search(WORD)] == alone
        assert [h.memory.id for h in await bob.recall(WORD)] == [own.id]
        assert [n.memory.id for n in await bob.related(own.id)] == []
        detail = await memory_ops.get_memory(bob, memory_id=own.id)
        assert detail.relationships == []
        walk = await memory_ops.get_related_memories(bob, memory_id=own.id, max_depth=3)
        assert walk.results == []
        recent = await memory_ops.get_recent_activity(bob)
        assert (recent.total, [m.id for m in recent.memories]) == (1, [own.id])
        stats = await memory_ops.get_memory_statistics(bob)
        assert (stats.memories, stats.relationships) == (1, 0)
        assert stats.memories_by_type == {"problem": 1}

        export = tmp_path / "bob.jsonl"
        result = await exchange_ops.export_memories(team_store, path=export, principal=BOB)
        assert (result.memories, result.relationships) == (1, 0)
        text = export.read_text()
        assert own.id in text and fix.id not in text and bug.id not in text

        # A holds its own, and the walk from its memory stays in team-a.
        alice = team_store.for_principal(ALICE)
        assert {h.memory.id for h in await alice.search(WORD)} == {fix.id, bug.id}
        assert {n.memory.id for n in await alice.related(bug.id)} == {fix.id}
        stats = await memory_ops.get_memory_statistics(alice)
        assert (stats.memories, stats.relationships) == (2, 1)

        # Holding both namespaces sees both, and the edge between them.
        carol = team_store.for_principal(CAROL)
        assert {h.memory.id for h in await carol.search(WORD)} == {fix.id, bug.id, own.id}
        assert {n.memory.id for n in await carol.related(bug.id)} == {fix.id, own.id}
        recent = await memory_ops.get_recent_activity(carol)
        assert recent.total == 3
        stats = await memory_ops.get_memory_statistics(carol)
        assert (stats.memories, stats.relationships) == (3, 2)
        both = tmp_path / "carol.jsonl"
        result = await exchange_ops.export_memories(team_store, path=both, principal=CAROL)
        assert (result.memories, result.relationships) == (3, 2)

        # The local user holds every namespace, as before namespaces existed.
        assert len(await team_store.search(WORD)) == 3
        assert (await team_store.stats()).memories == 3

    async def test_writes_go_to_a_held_namespace_as_the_principal(
        self, team_store: MemoryStore
    ) -> None:
        alice = team_store.for_principal(ALICE)
        claimed = {"tenant_id": "team-b", "created_by": "mallory", "project_path": "/p"}
        stored = await memory_ops.remember(alice, type="general", title="mine", context=claimed)
        assert stored.context is not None
        assert (stored.context.tenant_id, stored.context.created_by) == ("team-a", "alice")
        assert stored.context.project_path == "/p"
        assert await team_store.get(stored.id) == stored

        with pytest.raises(ForbiddenError) as refused:
            await memory_ops.remember(alice, type="general", title="elsewhere", namespace="team-b")
        assert refused.value.field == "namespace"
        assert (await team_store.stats()).memories == 1

        carol = team_store.for_principal(CAROL)
        other = await memory_ops.remember(carol, type="general", title="b", namespace="team-b")
        assert namespace_of(other) == "team-b"
        assert other.context is not None and other.context.created_by == "carol"
        first = await memory_ops.remember(carol, type="general", title="a")
        assert namespace_of(first) == "team-a"

        # One namespace per relationship, whoever asks.
        with pytest.raises(UsageError, match="different namespaces"):
            await carol.relate(first.id, other.id, RelationshipType.RELATED_TO)
        with pytest.raises(UsageError, match="different namespaces"):
            await team_store.relate(first.id, other.id, RelationshipType.RELATED_TO)
        # For A, B's memory is simply not there.
        with pytest.raises(IntegrityError, match="not stored memories"):
            await alice.relate(stored.id, other.id, RelationshipType.RELATED_TO)
        assert (await team_store.stats()).relationships == 0
        await carol.relate(first.id, stored.id, RelationshipType.RELATED_TO)
        assert (await team_store.stats()).relationships == 1

        # A replacement cannot take over another namespace's id.
        bob = team_store.for_principal(BOB)
        with pytest.raises(ConflictError, match="already in use"):
            await memory_ops.remember(
                bob, type="general", title="mine now", memory_id=stored.id, replace=True
            )
        with pytest.raises(ConflictError, match="already in use"):
            await bob.remember(Memory(id=stored.id, type="fix", title="x"), replace=True)
        assert await team_store.get(stored.id) == stored

        # The local user keeps what the call says, or nothing.
        local = await memory_ops.remember(team_store, type="general", title="local")
        assert local.context is None and namespace_of(local) == DEFAULT_NAMESPACE
        named = await memory_ops.remember(team_store, type="general", title="n", namespace="team-b")
        assert named.context is not None
        assert (named.context.tenant_id, named.context.created_by) == ("team-b", None)
        assert team_store.principal == LOCAL

    async def test_missing_scopes_write_nothing(
        self, team_store: MemoryStore, tmp_path: Path
    ) -> None:
        fix, bug, edge = await self._team_a(team_store)
        reader = team_store.for_principal(READER)
        assert await reader.get(fix.id) == fix  # reading is allowed

        attempts: list[Callable[[], Awaitable[object]]] = [
            lambda: memory_ops.remember(reader, type="general", title="no"),
            lambda: memory_ops.update_memory(reader, memory_id=fix.id, title="no"),
            lambda: memory_ops.delete_memory(reader, memory_id=fix.id),
            lambda: reader.forget(bug.id),
            lambda: reader.relate(bug.id, fix.id, RelationshipType.RELATED_TO),
            lambda: memory_ops.invalidate_relationship(reader, relationship_id=edge.id),
            lambda: memory_ops.reindex(reader),
        ]
        for attempt in attempts:
            with pytest.raises(ForbiddenError, match=r"the (write|admin) scope"):
                await attempt()
        assert await team_store.get(fix.id) == fix
        assert await team_store.relationship(edge.id) == edge
        assert (await team_store.stats()).memories == 2
        assert (await team_store.stats()).relationships == 1

        # Export, import and migration need admin; import and migration every namespace.
        path = tmp_path / "out.jsonl"
        with pytest.raises(ForbiddenError, match="admin"):
            await exchange_ops.export_memories(team_store, path=path, principal=WRITER)
        assert not path.exists()
        await exchange_ops.export_memories(team_store, path=path)
        for principal in (WRITER, ALICE):
            with pytest.raises(ForbiddenError):
                await exchange_ops.import_memories(team_store, path=path, principal=principal)
            with pytest.raises(ForbiddenError):
                await exchange_ops.import_memories(
                    team_store, path=path, dry_run=True, principal=principal
                )
            target = BackendConfig(DEFAULT_BACKEND, path=tmp_path / "target.db")
            with pytest.raises(ForbiddenError):
                await migration_ops.migrate(
                    team_store.config,
                    target,
                    migration_ops.MigrationOptions(workdir=tmp_path / "work"),
                    principal=principal,
                )
            assert not target.path or not target.path.exists()
        assert (await team_store.stats()).memories == 2
