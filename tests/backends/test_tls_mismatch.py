"""A client asking for TLS from a server that does not speak it fails fast, in one line."""

from __future__ import annotations

import time

import pytest

from memorygraph.backends.registry import create_backend
from memorygraph.config import BackendConfig, BackendType
from memorygraph.errors import BackendConnectionError
from tests._servers.fixtures import BoltServer


async def _fails_fast(config: BackendConfig) -> str:
    started = time.monotonic()
    with pytest.raises(BackendConnectionError) as info:
        async with create_backend(config):
            pass
    assert time.monotonic() - started < 10.5
    message = str(info.value)
    assert "\n" not in message and config.describe() in message
    assert not config.password or config.password not in message
    return message


@pytest.mark.falkordb
async def test_falkordb_tls_to_a_plain_server(falkordb_server) -> None:  # type: ignore[no-untyped-def]
    uri = falkordb_server.uri.replace("redis://", "rediss://", 1)
    assert uri.startswith("rediss://")
    await _fails_fast(
        BackendConfig(
            BackendType.FALKORDB, uri=uri, password=falkordb_server.password, timeout_seconds=3
        )
    )


@pytest.mark.neo4j
async def test_neo4j_tls_to_a_plain_server(neo4j_server: BoltServer) -> None:
    uri = neo4j_server.uri.replace("bolt://", "bolt+s://", 1)
    assert uri.startswith("bolt+s://")
    await _fails_fast(
        BackendConfig(
            BackendType.NEO4J,
            uri=uri,
            username=neo4j_server.user,
            password=neo4j_server.password,
            timeout_seconds=3,
        )
    )
