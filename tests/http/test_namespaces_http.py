"""Namespaces and identity over HTTP: what one team's token stores, another team's
token cannot reach by any read, a token holding both sees both, and every memory
records the token's principal as its creator, whatever the arguments say."""

from __future__ import annotations

from pathlib import Path

import pytest

from memorygraph.config import BackendConfig
from tests.http.helpers import create_token, http_client, running_server
from tests.mcp_server.helpers import call, call_error


def same_as_missing(hidden: str, hidden_id: str, missing: str) -> bool:
    return hidden.replace(hidden_id, "<id>") == missing.replace("no-such-id", "<id>")


@pytest.fixture(params=["sqlite", pytest.param("falkordb", marks=pytest.mark.falkordb)])
def store_flags(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[list[str], dict[str, str]]:
    if request.param == "sqlite":
        return ["--path", str(tmp_path / "memory.db")], {}
    config: BackendConfig = request.getfixturevalue("falkordb_config")
    flags = ["--backend", "falkordb", "--uri", str(config.uri), "--database", str(config.database)]
    return flags, {"FALKORDB_PASSWORD": str(config.password)}


async def test_team_b_cannot_reach_team_a(
    tmp_path: Path, store_flags: tuple[list[str], dict[str, str]]
) -> None:
    tokens = tmp_path / "tokens.json"
    rw = ("--scope", "read", "--scope", "write")
    alice = create_token(tokens, "alice", "--namespace", "team-a", *rw)
    bob = create_token(tokens, "bob", "--namespace", "team-b", *rw)
    lead = create_token(tokens, "lead", "--namespace", "team-b", "--namespace", "team-a",
                        "--scope", "read")  # fmt: skip
    flags, env = store_flags
    with running_server(tmp_path, *flags, "--tokens", str(tokens), env=env) as server:
        async with http_client(server.url, alice) as a:
            problem = await call(
                a, "store_memory", type="problem", title="Redis drops idle clients",
                context={"created_by": "mallory", "tenant_id": "team-b"},
            )  # fmt: skip
            fix = await call(a, "store_memory", type="solution", title="Pin redis to 7.2")
            await call(a, "create_relationship", from_memory_id=fix["id"],
                       to_memory_id=problem["id"], relationship_type="SOLVES")  # fmt: skip
            mine = await call(a, "get_memory", memory_id=problem["id"])
            assert mine["memory"]["context"]["created_by"] == "alice"
            assert mine["memory"]["context"]["tenant_id"] == "team-a"
            sneak = await call_error(a, "store_memory", type="fix", title="x", namespace="team-b")
            assert "team-b" in sneak

        async with http_client(server.url, bob) as b:
            pid = problem["id"]
            missing = await call_error(b, "get_memory", memory_id="no-such-id")
            assert same_as_missing(await call_error(b, "get_memory", memory_id=pid), pid, missing)
            assert (await call(b, "search_memories", query="redis"))["results"] == []
            assert (await call(b, "recall_memories", query="redis idle clients"))["results"] == []
            related_missing = await call_error(b, "get_related_memories", memory_id="no-such-id")
            assert same_as_missing(
                await call_error(b, "get_related_memories", memory_id=pid), pid, related_missing
            )
            recent = await call(b, "get_recent_activity", days=1)
            assert recent["total"] == 0 and recent["memories"] == []
            assert (await call(b, "get_memory_statistics"))["memories"] == 0
            own = await call(b, "store_memory", type="problem", title="Redis on team b")
            across = await call_error(b, "create_relationship", from_memory_id=own["id"],
                                      to_memory_id=pid, relationship_type="RELATED_TO")  # fmt: skip
            assert pid in across
            assert (await call(b, "get_memory_statistics"))["relationships"] == 0
            theirs = await call(b, "get_memory", memory_id=own["id"])
            assert theirs["memory"]["context"]["created_by"] == "bob"

        async with http_client(server.url, lead) as both:
            found = await call(both, "search_memories", query="redis")
            assert {r["memory"]["id"] for r in found["results"]} == {
                problem["id"], fix["id"], own["id"]
            }  # fmt: skip
            stats = await call(both, "get_memory_statistics")
            assert (stats["memories"], stats["relationships"]) == (3, 1)
