"""The memorygraph MCP server's own FalkorDB and Neo4j graphs: read in place, left alone.

Each graph is written by the server 0.12.4 itself (tests/_upstream/driver.py,
its backend and database layer against the test servers). memorygraph imports
it without loss, and every command that would write into it or count it is
refused with one line naming the importer, leaving the graph byte for byte as
it was: every node and edge with all properties, and every index and constraint.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from memorygraph.backends.falkordb_process import FalkorDBProcess
from memorygraph.backends.registry import create_backend
from memorygraph.config import BackendConfig
from memorygraph.errors import ForeignGraphError, NextStep
from memorygraph.exchange.importers import import_graph_store
from memorygraph.exchange.importers._common import (
    ADJUST_BIG_INT,
    ADJUST_LONG_ID,
    ADJUST_NAIVE_TIME,
    ADJUST_NUL,
    derived_relationship_id,
    memory_id,
)
from memorygraph.models import Memory, Relationship
from tests._servers.fixtures import BoltServer
from tests._upstream.venv import Upstream
from tests.exchange.helpers import sqlite
from tests.exchange.test_upstream import BIG, LONG_ID, U64, _check_values
from tests.faults.helpers import run_command

SOLVED_AT = "2024-06-01T00:00:00+00:00"


def _spec(server: dict[str, Any]) -> dict[str, Any]:
    return {
        "server": server,
        "report_relationship_errors": server["engine"] == "falkordb",
        "memories": [
            {
                "id": "m1", "type": "solution", "title": "Use Redis", "content": "cache it",
                "tags": ["redis"], "importance": 0.7, "usage_count": 4,
                "last_accessed": "2025-02-03T04:05:06.123456+00:00",
                "context": {
                    "project_path": "/app", "languages": ["python"], "git_branch": "main",
                    "visibility": "team",
                    "additional_metadata": {"a\x00b": 1, "big": BIG, "u64": U64, "ok": [1, 2]},
                },
            },
            {
                "id": "m2", "type": "problem", "title": "Slow page", "content": "p99 is 3s",
                "summary": "slow", "effectiveness": 0.25,
                "created_at": "2024-05-01T10:00:00",  # no zone
            },
            {"id": LONG_ID, "type": "general", "title": "Long id", "content": "x"},
        ],
        "relationships": [
            {"from": "m1", "to": "m2", "type": "SOLVES",
             "properties": {"strength": 0.9, "context": "measured", "evidence_count": 3,
                            "success_rate": 0.75, "validation_count": 2,
                            "counter_evidence_count": 1}},
            {"from": "m2", "to": "m1", "type": "RELATED_TO"},
            {"from": "m1", "to": LONG_ID, "type": "RELATED_TO"},
            {"from": "m1", "to": "m2", "type": "SOLVES",
             "properties": {"strength": 0.2, "valid_until": SOLVED_AT, "invalidated_by": 0}},
        ],
    }  # fmt: skip


# --- the two engines ---------------------------------------------------------------------


class Graph:
    """One engine holding the server's graph: how to reach it, write it, dump it."""

    engine: str
    config: BackendConfig
    env: dict[str, str]

    def upstream_server(self) -> dict[str, Any]:
        raise NotImplementedError

    def options(self) -> dict[str, str]:
        """The backend options that point at this graph, without their dashes."""
        raise NotImplementedError

    def cli_target(self, prefix: str = "") -> list[str]:
        """Those options for `add`/`import`/`stats`, or with prefix "to" for `migrate`."""
        args: list[str] = []
        for name, value in self.options().items():
            if name == "backend":
                args += [f"--{prefix}" if prefix else "--backend", value]
            else:
                args += [f"--{prefix}-{name}" if prefix else f"--{name}", value]
        return args

    def dump(self) -> Any:
        raise NotImplementedError


class FalkorGraph(Graph):
    engine = "falkordb"

    def __init__(self, server: FalkorDBProcess, config: BackendConfig) -> None:
        import redis

        self.server, self.config = server, config
        self.env = {"FALKORDB_PASSWORD": server.password or ""}
        self.client = redis.Redis(**server.client_kwargs(), socket_timeout=30)

    @property
    def name(self) -> str:
        assert self.config.database is not None
        return self.config.database

    def upstream_server(self) -> dict[str, Any]:
        kwargs = self.server.client_kwargs()
        return {
            "engine": "falkordb", "host": kwargs["host"], "port": kwargs["port"],
            "password": self.server.password, "graph": self.name,
        }  # fmt: skip

    def options(self) -> dict[str, str]:
        return {"backend": "falkordb", "uri": self.server.uri, "database": self.name}

    def _query(self, statement: str) -> list[Any]:
        reply = self.client.execute_command("GRAPH.RO_QUERY", self.name, statement)  # type: ignore[no-untyped-call]
        return sorted(repr(row) for row in reply[1])

    def dump(self) -> Any:
        return {
            "nodes": self._query("MATCH (n) RETURN labels(n), properties(n)"),
            "edges": self._query("MATCH (a)-[r]->(b) RETURN a.id, type(r), properties(r), b.id"),
            "indexes": self._query("CALL db.indexes()"),
            "constraints": self._query("CALL db.constraints()"),
            # Every key but the server's own query statistics (`telemetry{graph}`), which
            # any query, a read too, may add to. (`DUMP` of the graph key is no measure:
            # two DUMPs in a row of an untouched graph differ.)
            "keys": sorted(k for k in self.client.keys("*") if not k.startswith(b"telemetry{")),
        }


class Neo4jGraph(Graph):
    engine = "neo4j"

    def __init__(self, server: BoltServer, config: BackendConfig) -> None:
        self.server, self.config = server, config
        self.env = {"NEO4J_PASSWORD": server.password or ""}

    def upstream_server(self) -> dict[str, Any]:
        return {
            "engine": "neo4j", "uri": self.server.uri, "user": self.server.user,
            "password": self.server.password, "database": self.config.database,
        }  # fmt: skip

    def options(self) -> dict[str, str]:
        return {"backend": "neo4j", "uri": self.server.uri, "user": self.server.user or ""}

    def _rows(self, statement: str) -> list[str]:
        import neo4j

        with (
            neo4j.GraphDatabase.driver(self.server.uri, auth=self.server.auth) as driver,
            driver.session(database=self.config.database) as session,
        ):
            return sorted(repr(list(record.values())) for record in session.run(statement))

    def dump(self) -> Any:
        return {
            "nodes": self._rows("MATCH (n) RETURN elementId(n), labels(n), properties(n)"),
            "edges": self._rows(
                "MATCH (a)-[r]->(b) RETURN elementId(r), elementId(a), type(r), "
                "properties(r), elementId(b)"
            ),
            "indexes": self._rows("SHOW INDEXES YIELD name, type, labelsOrTypes, properties"),
            "constraints": self._rows("SHOW CONSTRAINTS YIELD name, type, labelsOrTypes"),
        }

    def drop_foreign_schema(self) -> None:
        """Leave the shared server's schema as memorygraph's own tests expect it."""
        import neo4j

        with (
            neo4j.GraphDatabase.driver(self.server.uri, auth=self.server.auth) as driver,
            driver.session(database=self.config.database) as session,
        ):
            for (name,) in session.run("SHOW CONSTRAINTS YIELD name").values():
                if not name.startswith("memorygraph_"):
                    session.run(f"DROP CONSTRAINT `{name}` IF EXISTS").consume()
            for name, kind in session.run("SHOW INDEXES YIELD name, type").values():
                if not name.startswith("memorygraph_") and kind != "LOOKUP":
                    session.run(f"DROP INDEX `{name}` IF EXISTS").consume()


@pytest.fixture(params=["falkordb", "neo4j"])
def graph(request: pytest.FixtureRequest) -> Iterator[Graph]:
    if request.param == "falkordb":
        server = request.getfixturevalue("falkordb_server")
        yield FalkorGraph(server, request.getfixturevalue("falkordb_config"))
        return
    bolt = Neo4jGraph(
        request.getfixturevalue("neo4j_server"), request.getfixturevalue("neo4j_config")
    )
    try:
        yield bolt
    finally:
        bolt.drop_foreign_schema()


@pytest.fixture
def written(graph: Graph, upstream: Upstream) -> dict[str, Any]:
    """The server's graph in `graph`, as the server wrote it: its answer and a dump."""
    answer = upstream.run("graph", stdin=_spec(graph.upstream_server()))
    return {"ids": answer["relationship_ids"], "dump": graph.dump()}


# --- reading it --------------------------------------------------------------------------


def _time(value: Any) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value.to_native()
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def test_the_servers_graph_imports_without_loss(
    graph: Graph, written: dict[str, Any], tmp_path: Path
) -> None:
    async with sqlite(tmp_path / "t.db") as target:
        summary = await import_graph_store(graph.config, target)
        memories = {m.id: m async for m in target.iter_memories()}
        relationships = {r.id: r async for r in target.iter_relationships()}
    conv = summary.conversion
    assert conv is not None and conv["unmapped"] == {}
    assert conv["source_format"] == f"mcp-{graph.engine}"
    assert conv["adjusted"][ADJUST_NAIVE_TIME] == 1
    assert conv["adjusted"][ADJUST_BIG_INT] == 2 and conv["adjusted"][ADJUST_NUL] == 1
    assert conv["adjusted"][ADJUST_LONG_ID] == 1
    _check_values(memories)
    nodes = _upstream_nodes(graph)
    assert len(memories) == len(nodes) == 3
    for props in nodes:
        _same_memory(memories[memory_id(props["id"])], props)
    edges = _upstream_edges(graph)
    if graph.engine == "falkordb":
        # The server 0.12.4 cannot create an edge in FalkorDB: its date-time values do not
        # survive the FalkorDB client's parameters. Its graph there holds memories only.
        assert all(i.startswith("error: ") for i in written["ids"])
        assert edges == [] and relationships == {}
        return
    assert len(relationships) == len(edges) == 4
    ids = written["ids"]
    by_upstream_id = {
        ids[0]: derived_relationship_id("m1", "SOLVES", "m2"),
        ids[1]: derived_relationship_id("m2", "RELATED_TO", "m1"),
        ids[2]: derived_relationship_id("m1", "RELATED_TO", LONG_ID),
        ids[3]: derived_relationship_id("m1", "SOLVES", "m2", ids[3]),
    }
    for start, kind, end, props in edges:
        got = relationships[by_upstream_id[props["id"]]]
        _same_relationship(got, start, kind, end, props, by_upstream_id)
    assert relationships[by_upstream_id[ids[3]]].valid_until == _time(SOLVED_AT)


def _upstream_nodes(graph: Graph) -> list[dict[str, Any]]:
    if isinstance(graph, FalkorGraph):
        from falkordb import FalkorDB

        kwargs = graph.server.client_kwargs()
        g = FalkorDB(host=kwargs["host"], port=kwargs["port"], password=kwargs["password"])
        rows = g.select_graph(graph.name).ro_query("MATCH (m:Memory) RETURN properties(m)")
        return [dict(row[0]) for row in rows.result_set]
    assert isinstance(graph, Neo4jGraph)
    return [dict(r[0]) for r in _bolt(graph, "MATCH (m:Memory) RETURN properties(m)")]


def _upstream_edges(graph: Graph) -> list[Any]:
    statement = "MATCH (a)-[r]->(b) RETURN a.id, type(r), b.id, properties(r)"
    if isinstance(graph, FalkorGraph):
        from falkordb import FalkorDB

        kwargs = graph.server.client_kwargs()
        g = FalkorDB(host=kwargs["host"], port=kwargs["port"], password=kwargs["password"])
        return list(g.select_graph(graph.name).ro_query(statement).result_set)
    assert isinstance(graph, Neo4jGraph)
    return [(a, t, b, dict(p)) for a, t, b, p in _bolt(graph, statement)]


def _bolt(graph: Neo4jGraph, statement: str) -> list[list[Any]]:
    import neo4j

    with (
        neo4j.GraphDatabase.driver(graph.server.uri, auth=graph.server.auth) as driver,
        driver.session(database=graph.config.database) as session,
    ):
        return [list(record.values()) for record in session.run(statement)]


def _same_memory(memory: Memory, props: dict[str, Any]) -> None:
    """Every property the server stored is in the memory, as the same value."""
    assert (memory.type.value, memory.title, memory.content, memory.tags) == (
        props["type"], props["title"], props["content"], props["tags"]
    )  # fmt: skip
    assert (memory.importance, memory.confidence, memory.usage_count) == (
        props["importance"], props["confidence"], props["usage_count"]
    )  # fmt: skip
    assert (memory.summary, memory.effectiveness) == (
        props.get("summary"), props.get("effectiveness")
    )  # fmt: skip
    for name in ("created_at", "updated_at", "last_accessed"):
        stored = props.get(name)
        assert getattr(memory, name) == (_time(stored) if stored is not None else None)
    context = {k[len("context_") :]: v for k, v in props.items() if k.startswith("context_")}
    if not context:
        assert memory.context is None or set(memory.context.metadata) <= {"source_id"}
        return
    assert memory.context is not None
    for key, value in context.items():
        if key == "additional_metadata":
            continue  # compared by _check_values, with its adjustments
        mine = getattr(memory.context, key)
        if key == "timestamp":
            assert mine == _time(value)
        elif isinstance(value, str) and value[:1] in "[{":
            assert mine == json.loads(value)
        else:
            assert (mine.value if hasattr(mine, "value") else mine) == value


def _same_relationship(
    got: Relationship,
    start: str,
    kind: str,
    end: str,
    props: dict[str, Any],
    by_upstream_id: dict[str, str],
) -> None:
    assert (got.from_id, got.type.value, got.to_id) == (memory_id(start), kind, memory_id(end))
    for name in (
        "strength", "confidence", "context", "evidence_count", "success_rate",
        "validation_count", "counter_evidence_count",
    ):  # fmt: skip
        assert getattr(got, name) == props.get(name), name
    for name in ("created_at", "last_validated", "valid_from", "valid_until", "recorded_at"):
        stored = props.get(name)
        assert getattr(got, name) == (_time(stored) if stored is not None else None), name
    stored_by = props.get("invalidated_by")
    assert got.invalidated_by == (by_upstream_id[stored_by] if stored_by else None)


# --- leaving it alone --------------------------------------------------------------------


def _refused(done: Any, graph: Graph) -> None:
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert "did not write" in lines[0]
    assert f"memorygraph import --from-graph {graph.engine}" in lines[0]
    assert graph.env[next(iter(graph.env))] not in done.stderr + done.stdout


async def test_writing_into_or_counting_the_servers_graph_is_refused_and_changes_nothing(
    graph: Graph, written: dict[str, Any], tmp_path: Path
) -> None:
    before = written["dump"]
    target = graph.cli_target()
    source = tmp_path / "ours.db"
    assert run_command("add", "--type", "general", "--title", "t", "--path", source).returncode == 0
    export = tmp_path / "ours.jsonl"
    assert run_command("export", export, "--path", source).returncode == 0

    _refused(run_command("add", "--type", "task", "--title", "t", *target, env=graph.env), graph)
    _refused(run_command("import", export, *target, env=graph.env), graph)
    _refused(run_command("stats", *target, env=graph.env), graph)
    migrate = ["migrate", "--from", "sqlite", "--from-path", source, *graph.cli_target("to")]
    migrate += ["--workdir", tmp_path / "work"]
    _refused(run_command(*migrate, env=graph.env), graph)
    as_json = run_command(*migrate, "--json", env=graph.env)
    _refused(as_json, graph)
    report = json.loads(as_json.stdout)
    assert report["success"] is False and "did not write" in report["errors"][0]
    assert graph.dump() == before

    with pytest.raises(ForeignGraphError) as refused:
        async with create_backend(graph.config):
            pass
    assert refused.value.next_steps == (NextStep("import_graph", graph.engine),)
    assert "--" not in str(refused.value)
    assert graph.dump() == before


async def test_the_servers_graph_copies_into_memorygraphs_own_graph_by_the_cli(
    graph: Graph, written: dict[str, Any], tmp_path: Path
) -> None:
    uri = graph.config.uri
    assert uri is not None
    source = ["--from-graph", graph.engine, "--from-uri", uri]
    if graph.config.database and graph.engine == "falkordb":
        source += ["--from-database", graph.config.database]
    if graph.config.username:
        source += ["--from-user", graph.config.username]
    db = tmp_path / "copy.db"
    done = run_command("import", *source, "--path", db, "--json", env=graph.env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["memory"]["inserted"] == 3
    assert report["conversion"]["unmapped"] == {}
    assert report["path"].startswith(f"{graph.engine} at ")
    assert (urlsplit(uri).password or "\0") not in done.stdout
    again = run_command("import", *source, "--path", db, "--json", env=graph.env)
    # The same graph again: every memory is already held as it is.
    assert json.loads(again.stdout)["memory"]["unchanged"] == 3
    assert graph.dump() == written["dump"]  # read in place, never written
    with_file = run_command("import", db, *source, "--path", tmp_path / "x.db", env=graph.env)
    assert with_file.returncode == 2 and "either FILE or --from-graph" in with_file.stderr


def test_a_graph_memorygraph_cannot_read_in_place_is_named(tmp_path: Path) -> None:
    done = run_command(
        "import", "--from-graph", "sqlite", "--from-uri", "x", "--path", tmp_path / "t.db"
    )
    assert done.returncode == 2 and "--from-graph" in done.stderr
    assert not (tmp_path / "t.db").exists()


def test_memgraph_is_read_by_the_same_importer() -> None:
    config = BackendConfig("memgraph", uri="bolt://127.0.0.1:7687")
    from memorygraph.exchange.importers import mcp_graph

    assert mcp_graph.source_name(config) == "mcp-memgraph"
