"""Search latency at scale: p50/p95 of `MemoryStore.search` over the sample graph.

.venv/bin/python benchmarks/search_latency.py --backend sqlite --memories 100000
.venv/bin/python benchmarks/search_latency.py --backend falkordb --uri redis://127.0.0.1:6379
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from itertools import islice
from pathlib import Path

from memorygraph.config import BackendConfig
from memorygraph.sample import sample_memories
from memorygraph.store import MemoryStore

QUERIES = [
    "how did we fix the redis timeouts",
    "redis timeout",
    "postgres slow query",
    "flaky test",
    "kafka deadlock",
    "memory leak docker",
    '"memory leak"',
    "terra",
    "détails",
    "upgrade react typescript",
]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", default="sqlite")
    parser.add_argument("--uri")
    parser.add_argument("--memories", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    kind = args.backend
    config = (
        BackendConfig(kind, path=tmp / "memory.db")
        if kind == "sqlite"
        else BackendConfig(kind, uri=args.uri)
    )
    async with MemoryStore.open(config) as store:
        started = time.monotonic()
        if await store.backend.count_memories() != args.memories:
            await store.backend.clear()
            memories = sample_memories(args.memories)
            while batch := list(islice(memories, 2000)):
                await store.backend.upsert_memories(batch)
        print(f"{args.memories} memories ready in {time.monotonic() - started:.1f}s")
        for q in QUERIES:
            await store.search(q)  # warm
        timings: dict[str, list[float]] = {q: [] for q in QUERIES}
        for _ in range(args.rounds):
            for q in QUERIES:
                t = time.perf_counter()
                await store.search(q)
                timings[q].append((time.perf_counter() - t) * 1000)
        every = [x for xs in timings.values() for x in xs]
        for q, xs in timings.items():
            print(f"{statistics.median(xs):8.1f} ms  {q}")
        every.sort()
        p95 = every[int(len(every) * 0.95) - 1]
        print(f"{args.backend}: p50 {statistics.median(every):.1f} ms, p95 {p95:.1f} ms")


if __name__ == "__main__":
    asyncio.run(main())
