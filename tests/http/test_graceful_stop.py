"""SIGTERM stops `memorygraph serve --transport http` gracefully: the calls in flight
finish and are answered, every acknowledged write is stored, and it exits 0."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx2

from memorygraph.config import BackendConfig
from memorygraph.store import MemoryStore
from tests.http.helpers import http_client, running_server
from tests.mcp_server.helpers import call

WRITERS = 8


async def test_sigterm_finishes_calls_in_flight(tmp_path: Path) -> None:
    db = tmp_path / "memory.db"
    acknowledged: list[tuple[str, float]] = []
    stopped_at = float("inf")

    async def writer(url: str, n: int) -> None:
        try:
            async with http_client(url) as client:
                for i in range(10_000):
                    memory = await call(client, "store_memory", type="task", title=f"w{n} {i}")
                    acknowledged.append((memory["id"], time.monotonic()))
        except* (httpx2.HTTPError, OSError):
            pass  # the server stopped taking calls: what it acknowledged is what counts

    with running_server(tmp_path, "--path", str(db)) as server:
        tasks = [asyncio.create_task(writer(server.url, n)) for n in range(WRITERS)]
        while len(acknowledged) < 20:
            await asyncio.sleep(0.05)
        stopped_at = time.monotonic()
        server.process.terminate()
        await asyncio.gather(*tasks, return_exceptions=True)
        code = await asyncio.to_thread(server.process.wait, 40)
    assert code == 0, server.stderr()
    assert "Traceback" not in server.stderr()
    # Calls that were in flight when the signal came were answered.
    assert any(at > stopped_at for _, at in acknowledged)
    async with MemoryStore.open(BackendConfig("sqlite", path=db)) as store:
        stats = await store.stats()
        assert stats.memories == len({i for i, _ in acknowledged})
        for memory_id, _ in acknowledged:
            await store.get(memory_id)
