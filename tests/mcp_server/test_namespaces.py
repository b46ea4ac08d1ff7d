"""The memory tools for a principal limited to namespaces, through a real MCP client:
another namespace's memory is a missing one, writes carry the principal's name and
go to a namespace it holds, and missing scopes are tool errors that write nothing."""

from __future__ import annotations

from pathlib import Path

from memorygraph.config import BackendConfig
from memorygraph.principal import Principal
from memorygraph.store import MemoryStore
from tests.mcp_server.helpers import call, call_error, in_process

ALICE = Principal("alice", ("team-a",))
BOB = Principal("bob", ("team-b", "team-c"), frozenset({"read", "write"}))
READER = Principal("rita", ("team-b",), frozenset({"read"}))


async def test_tools_keep_each_principal_to_its_namespaces(tmp_path: Path) -> None:
    config = BackendConfig("sqlite", path=tmp_path / "memory.db")
    work = tmp_path / "migrations"
    async with in_process(config, workdir=work, principal=ALICE) as alice:
        stored = await call(
            alice,
            "store_memory",
            type="solution",
            title="Pin redis to 7.2",
            context={"created_by": "mallory", "tenant_id": "team-b"},
        )
        memory_id = stored["id"]
    async with in_process(config, workdir=work, principal=BOB) as bob:
        hidden = await call_error(bob, "get_memory", memory_id=memory_id)
        absent = await call_error(bob, "get_memory", memory_id="no-such-id")
        assert hidden.replace(memory_id, "<id>") == absent.replace("no-such-id", "<id>")
        found = await call(bob, "search_memories", query="redis")
        assert found["results"] == []
        assert (await call(bob, "recall_memories", query="redis"))["results"] == []
        assert (await call(bob, "get_memory_statistics"))["memories"] == 0
        refused = await call_error(bob, "delete_memory", memory_id=memory_id)
        assert refused.replace(memory_id, "<id>") == (
            await call_error(bob, "delete_memory", memory_id="no-such-id")
        ).replace("no-such-id", "<id>")

        mine = await call(bob, "store_memory", type="fix", title="Bump pool", namespace="team-c")
        elsewhere = await call_error(
            bob, "store_memory", type="fix", title="Sneak in", namespace="team-a"
        )
        assert "namespace" in elsewhere and "team-a" in elsewhere
        admin_only = await call_error(bob, "export_memories", path=str(tmp_path / "out.jsonl"))
        assert "admin" in admin_only
        assert not (tmp_path / "out.jsonl").exists()
    async with in_process(config, workdir=work, principal=READER) as reader:
        no_write = await call_error(reader, "store_memory", type="fix", title="Nope")
        assert "write" in no_write
        assert (await call(reader, "get_memory_statistics"))["memories"] == 0

    async with MemoryStore.open(config) as store:
        first = await store.get(memory_id)
        assert first.context is not None
        assert (first.context.tenant_id, first.context.created_by) == ("team-a", "alice")
        second = await store.get(mine["id"])
        assert second.context is not None
        assert (second.context.tenant_id, second.context.created_by) == ("team-c", "bob")
        assert (await store.stats()).memories == 2
