"""The pages' JSON API over HTTP (the installed `memorygraph ui`): the operations'
shapes, errors with the tools' codes, the security headers, and the command's
refusals."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import httpx2
import pytest

from memorygraph.config import BackendConfig
from memorygraph.ops import graph
from memorygraph.ops import memories as ops
from memorygraph.store import MemoryStore
from tests.http.helpers import clean_env
from tests.mcp_server.helpers import MEMORYGRAPH
from tests.ui.browser import ui_server

pytestmark = pytest.mark.usefixtures("graph_library")


async def write_chain(config: BackendConfig, n: int) -> None:
    """Memories c0 … c(n-1), each related to the next."""
    async with MemoryStore.open(config) as store:
        for i in range(n):
            await ops.remember(store, type="general", title=f"chain link {i}", memory_id=f"c{i}")
        for i in range(n - 1):
            await ops.relate(
                store, from_memory_id=f"c{i}", to_memory_id=f"c{i + 1}", relationship_type="FOLLOWS"
            )


def test_the_api_answers_with_the_operations_shapes_and_codes(tmp_path: Path) -> None:
    config = BackendConfig("sqlite", path=tmp_path / "memory.db")
    asyncio.run(write_chain(config, 6))
    with (
        ui_server(tmp_path, tmp_path / "memory.db", tmp_path / "work") as server,
        httpx2.Client(base_url=server.base, timeout=30) as http,
    ):
        page = http.get("")
        assert page.status_code == 200
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert page.headers["x-content-type-options"] == "nosniff"

        found = http.get("api/search", params={"q": "chain link"}).json()
        assert {r["memory"]["id"] for r in found["results"]} == {f"c{i}" for i in range(6)}
        assert found["page"]["has_more"] is False

        detail = http.get("api/memories/c2").json()
        assert detail["memory"]["title"] == "chain link 2"
        assert {r["type"] for r in detail["relationships"]} == {"FOLLOWS"}

        view = http.get("api/memories/c0/neighbourhood", params={"depth": 3}).json()
        assert [n["memory"]["id"] for n in view["nodes"]] == ["c0", "c1", "c2", "c3"]
        assert [n["depth"] for n in view["nodes"]] == [0, 1, 2, 3]
        assert len(view["edges"]) == 3

        first = http.get("api/memories/c2/related", params={"limit": 1}).json()
        assert first["page"]["next_offset"] == 1
        rest = http.get("api/memories/c2/related", params={"offset": 1}).json()
        assert rest["page"]["has_more"] is False
        pages = first["results"] + rest["results"]
        assert sorted(r["memory"]["id"] for r in pages) == ["c1", "c3"]

        stats = http.get("api/stats").json()
        assert (stats["memories"], stats["relationships"]) == (6, 5)
        assert http.get("api/activity").json()["total"] == 6
        assert http.get("api/migrations").json() == {"migrations": []}

        bad = "invalid_argument"
        rollback = "api/migrations/m1/rollback"
        as_json = {"content-type": "application/json"}
        refusals = [
            (http.get("api/search"), 400, bad, "q"),
            (http.get("api/memories/nope"), 404, "not_found", "memory_id"),
            (http.get("api/memories/c0/neighbourhood?depth=4"), 400, bad, "depth"),
            (http.get("api/memories/c0/neighbourhood?depth=two"), 400, bad, "depth"),
            (http.post(rollback, content=b"confirm=true"), 400, bad, "content-type"),
            (http.post(rollback, json={}), 400, bad, "confirm"),
            (http.post(rollback, content=b" " * 20_000, headers=as_json), 400, bad, "body"),
            (http.post(rollback, json={"confirm": True}), 400, bad, None),
            (http.post("api/migrations/m1/resume", json={"confirm": 1}), 400, bad, "confirm"),
            (http.post("api/session", json={"token": "x"}), 400, bad, None),
        ]
        for answer, status, code, field in refusals:
            error = answer.json()["error"]
            assert (answer.status_code, error["code"], error["field"]) == (status, code, field)
            assert error["reason"] and "\n" not in error["reason"]


async def graph_at(config: BackendConfig, memory_id: str, depth: int) -> graph.Neighbourhood:
    async with MemoryStore.open(config) as store:
        return await graph.neighbourhood(store, memory_id, depth=depth, max_nodes=4)


def test_a_neighbourhood_stops_at_its_node_budget_and_says_so(tmp_path: Path) -> None:
    config = BackendConfig("sqlite", path=tmp_path / "memory.db")
    asyncio.run(write_chain(config, 8))
    view = asyncio.run(graph_at(config, "c0", 3))
    assert [n.memory.id for n in view.nodes] == ["c0", "c1", "c2", "c3"]
    assert view.truncated is False
    view = asyncio.run(graph_at(config, "c3", 3))
    assert len(view.nodes) == 4 and view.truncated is True


def test_the_command_listens_on_loopback_only(tmp_path: Path) -> None:
    done = subprocess.run(
        [MEMORYGRAPH, "ui", "--path", str(tmp_path / "m.db"), "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=60,
    )
    assert done.returncode == 2
    assert "not a loopback address" in done.stderr and "--transport http" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "m.db").exists(), "refused before the store was opened"
