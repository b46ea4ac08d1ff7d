"""A client asking for TLS from a server that does not speak it fails fast, in one line."""

from __future__ import annotations

import pytest

from memorygraph.config import BackendConfig
from tests._servers.fixtures import BoltServer
from tests.backends.refusals import refused


@pytest.mark.falkordb
async def test_falkordb_tls_to_a_plain_server(falkordb_server) -> None:  # type: ignore[no-untyped-def]
    uri = falkordb_server.uri.replace("redis://", "rediss://", 1)
    assert uri.startswith("rediss://")
    await refused(
        BackendConfig("falkordb", uri=uri, password=falkordb_server.password, timeout_seconds=3)
    )


@pytest.mark.neo4j
async def test_neo4j_tls_to_a_plain_server(neo4j_server: BoltServer) -> None:
    uri = neo4j_server.uri.replace("bolt://", "bolt+s://", 1)
    assert uri.startswith("bolt+s://")
    await refused(
        BackendConfig(
            "neo4j",
            uri=uri,
            username=neo4j_server.user,
            password=neo4j_server.password,
            timeout_seconds=3,
        )
    )
