"""Latency of the MCP memory tools over stdio, against the same operations in-process.

Builds an SQLite store of N memories (and about 1.5 N relationships, in
clusters, so recall has neighbourhoods) directly through the library, starts
`memorygraph serve --path DB` as a subprocess (the venv's executable, as an
agent would), and times K calls of each of store_memory, get_memory,
search_memories and recall_memories from an MCP client: `time.perf_counter`
around `call_tool`, which includes the client's validation of the result
against the tool's output schema. The tool list and a few warm-up calls per
tool are not timed. Every result must have `is_error` false; errors are
counted and the first few shown.

Every MCP call is paired with the same call in this process through
`memorygraph.ops.memories` (the functions the tools call) on the same file,
the two alternating call by call so both see the same caches and load; the
MCP/library ratio shows what the protocol adds even on a shared, noisy
machine. "(round trip)" is a protocol request with no tool and no store
behind it (prompts/list), the floor of any call.

    .venv/bin/python benchmarks/mcp_latency.py                      # 100,000 memories, 300 calls
    .venv/bin/python benchmarks/mcp_latency.py --memories 2000 --calls 50
    .venv/bin/python benchmarks/mcp_latency.py --json               # machine-readable
    .venv/bin/python benchmarks/mcp_latency.py --keep /tmp/mg-mcp   # keep the store there

Targets: p50 under 5 ms for get_memory and store_memory, under 50 ms for
search_memories and recall_memories. The exit status is 1 when any call failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters

from memorygraph.config import BackendConfig
from memorygraph.models import (
    Memory,
    MemoryContext,
    MemoryType,
    Relationship,
    RelationshipType,
)
from memorygraph.ops import memories as ops
from memorygraph.store import MemoryStore

SEED = 20250601
BATCH = 2000
WARMUP = 5
TOOLS = ["store_memory", "get_memory", "search_memories", "recall_memories"]
#: Target p50 in milliseconds per tool.
TARGET_P50_MS = {
    "store_memory": 5.0,
    "get_memory": 5.0,
    "search_memories": 50.0,
    "recall_memories": 50.0,
}
EPOCH = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)


def words_of(text: str) -> list[str]:
    return text.split()


# Words of everyday engineering notes. Together with the identifiers built from
# MODULES × ROLES they form the vocabulary; words are drawn with Zipf-like weights
# (1 / (rank + 8) ** 1.6), so a few are in most memories, the median word in a few
# hundred of 100,000 and the rarest in a few dozen.
WORDS = """
    timeout retry cache pool connection socket deadlock race lock mutex thread async await
    queue worker job scheduler cron backoff jitter latency throughput memory leak heap stack
    overflow segfault panic exception traceback assertion regression flaky test fixture mock
    coverage lint format typecheck build compile link bundle deploy rollback release canary
    migration schema index query join transaction commit isolation replica shard partition
    postgres mysql sqlite redis kafka rabbitmq elasticsearch mongodb cassandra clickhouse
    docker kubernetes helm terraform ansible nginx envoy grpc http websocket graphql rest
    json yaml toml protobuf avro parquet csv encoding unicode utf8 locale timezone clock
    python typescript rust golang java kotlin swift ruby elixir haskell scala clojure
    pytest jest vitest cargo gradle maven poetry pip npm yarn webpack vite esbuild babel
    react vue svelte angular django flask fastapi rails spring express nextjs remix
    auth token session cookie oauth jwt password hash salt certificate tls handshake cipher
    permission role tenant quota rate limit throttle circuit breaker fallback idempotent
    payload request response header status redirect proxy gateway loadbalancer dns cdn
    logging metrics tracing span alert dashboard oncall incident postmortem runbook
    config environment secret variable flag toggle experiment rollout feature branch merge
    rebase conflict cherry bisect blame patch diff review approval pipeline runner artifact
    container image layer volume mount network port firewall ingress egress namespace pod
    node cluster autoscaler cpu throttling oom killer signal sigterm graceful shutdown
    startup probe readiness liveness healthcheck restart crashloop backlog consumer producer
    offset lag rebalance checkpoint snapshot backup restore vacuum analyze bloat fragmentation
    serializer parser tokenizer lexer grammar ast visitor compiler interpreter bytecode jit
    garbage collector allocator arena buffer stream pipe file descriptor inode permissions
    upload download chunk multipart compression gzip brotli zstd checksum digest signature
    pagination cursor sort filter search ranking relevance stemming synonym embedding vector
    notebook dataframe pandas numpy arrow polars spark airflow dbt warehouse etl batch
    frontend backend api sdk cli daemon plugin extension hook middleware decorator closure
    generator iterator coroutine callback promise future channel select goroutine actor
    dependency version pin upgrade downgrade vendor lockfile resolver conflict transitive
    windows macos linux arm64 x86 musl glibc toolchain sysroot crosscompile wheel manylinux
"""
MODULES = words_of(
    """
    billing invoice payment checkout cart order inventory shipping catalog pricing
    account profile signup login audit report export import search notify email
    webhook scheduler ingest indexer crawler thumbnail media upload storage archive
    analytics metrics tracker session gateway router config feature ledger refund
    """
)
ROLES = words_of(
    """
    Worker Service Client Handler Controller Manager Repository Store Cache Queue
    Consumer Producer Adapter Gateway Validator Serializer Parser Scheduler Job Task
    Factory Builder Provider Resolver Middleware Migration Test Spec
    """
)
FILLER = ["the", "when", "after", "in", "on", "with", "because", "so", "but", "and", "for"]
TAGS = words_of(
    """
    bug perf flaky infra ci security data frontend backend db ops api deps build
    docs hotfix regression ux mobile cost
    """
)
PROJECTS = [f"/home/dev/{m}-service" for m in MODULES[:24]]
TYPE_WEIGHTS = {
    MemoryType.PROBLEM: 14,
    MemoryType.SOLUTION: 14,
    MemoryType.ERROR: 10,
    MemoryType.FIX: 10,
    MemoryType.CODE_PATTERN: 8,
    MemoryType.TASK: 8,
    MemoryType.COMMAND: 6,
    MemoryType.FILE_CONTEXT: 6,
    MemoryType.WORKFLOW: 6,
    MemoryType.TECHNOLOGY: 5,
    MemoryType.GENERAL: 5,
    MemoryType.PROJECT: 4,
    MemoryType.CONVERSATION: 4,
}
LINK_TYPES = [
    RelationshipType.RELATED_TO,
    RelationshipType.CAUSES,
    RelationshipType.DEPENDS_ON,
    RelationshipType.BUILDS_ON,
    RelationshipType.SIMILAR_TO,
    RelationshipType.OCCURS_IN,
]
#: Memories of one cluster a new memory may link to (the most recent ones).
CLUSTER_WINDOW = 20
#: Memories per cluster (a cluster shares topic words and links within itself), on average.
CLUSTER_SIZE = 25


def vocabulary() -> list[str]:
    """Every word a memory or a query may use, in a fixed order."""
    words = list(dict.fromkeys(WORDS.split()))
    identifiers = [m.capitalize() + r for m in MODULES for r in ROLES]
    return words + identifiers


class Writer:
    """Deterministic memories and relationships, and how many memories hold each word."""

    def __init__(self, seed: int, n: int) -> None:
        self.rng = random.Random(seed)
        self.words = vocabulary()
        order = self.words[:]
        self.rng.shuffle(order)
        self.ranked = order
        self.cum = list(accumulate(1.0 / (rank + 8) ** 1.6 for rank in range(len(order))))
        self.types = list(TYPE_WEIGHTS)
        self.type_cum = list(accumulate(TYPE_WEIGHTS.values()))
        self.cluster_topics = [self.draw(3) for _ in range(max(1, n // CLUSTER_SIZE))]
        self.recent: dict[int, list[tuple[str, MemoryType]]] = {}
        self.document_frequency: Counter[str] = Counter()
        self.relationships = 0

    def draw(self, k: int) -> list[str]:
        return self.rng.choices(self.ranked, cum_weights=self.cum, k=k)

    def sentence(self, topic: list[str]) -> str:
        picked = self.draw(self.rng.randint(5, 10)) + self.rng.sample(topic, 1)
        self.rng.shuffle(picked)
        out: list[str] = []
        for word in picked:
            if out and self.rng.random() < 0.3:
                out.append(self.rng.choice(FILLER))
            out.append(word)
        return " ".join(out).capitalize() + "."

    def memory(self, i: int) -> tuple[Memory, list[Relationship]]:
        rng = self.rng
        cluster = rng.randrange(len(self.cluster_topics))
        topic = self.cluster_topics[cluster]
        kind = rng.choices(self.types, cum_weights=self.type_cum)[0]
        title_words = rng.sample(topic, 2) + self.draw(rng.randint(2, 5))
        title = " ".join(title_words)
        content = " ".join(self.sentence(topic) for _ in range(rng.randint(2, 6)))
        summary = self.sentence(topic) if rng.random() < 0.4 else None
        tags = [*rng.sample(TAGS, rng.randint(1, 3)), topic[0].lower()]
        created = EPOCH + timedelta(minutes=7 * i, seconds=rng.randrange(60))
        memory = Memory(
            id=f"mem-{i:07d}",
            type=kind,
            title=title[0].upper() + title[1:],
            content=content,
            summary=summary,
            tags=tags,
            importance=round(rng.random(), 3),
            confidence=round(0.5 + rng.random() / 2, 3),
            created_at=created,
            updated_at=created + timedelta(hours=rng.randrange(72)) if rng.random() < 0.3 else None,
            context=MemoryContext(
                project_path=rng.choice(PROJECTS),
                languages=[rng.choice(["python", "typescript", "go", "rust", "sql"])],
                git_branch=rng.choice(["main", "main", "develop", f"fix/{i}"]),
            ),
        )
        text = f"{title} {content} {summary or ''}".lower()
        self.document_frequency.update({w.strip(".") for w in text.split()})
        links = []
        earlier = self.recent.setdefault(cluster, [])
        for other, other_kind in rng.sample(
            earlier, min(len(earlier), rng.choice([1, 2, 2, 3, 3]))
        ):
            links.append(self.link(memory, other, other_kind, created))
        earlier.append((memory.id, kind))
        del earlier[:-CLUSTER_WINDOW]
        return memory, links

    def link(
        self, memory: Memory, other: str, other_kind: MemoryType, at: datetime
    ) -> Relationship:
        self.relationships += 1
        solves = memory.type in (MemoryType.SOLUTION, MemoryType.FIX) and other_kind in (
            MemoryType.PROBLEM,
            MemoryType.ERROR,
        )
        return Relationship(
            id=f"rel-{self.relationships:07d}",
            from_id=memory.id,
            to_id=other,
            type=RelationshipType.SOLVES if solves else self.rng.choice(LINK_TYPES),
            strength=round(self.rng.random(), 3),
            created_at=at,
        )

    def query(self) -> str:
        """1–4 words of the vocabulary, each equally likely."""
        return " ".join(self.rng.sample(self.words, self.rng.randint(1, 4))).lower()

    def new_memory(self, n: int) -> dict[str, Any]:
        """Arguments of store_memory for a memory not yet stored."""
        topic = self.rng.choice(self.cluster_topics)
        return {
            "type": self.rng.choice(["problem", "solution", "fix", "task"]),
            "title": " ".join(self.rng.sample(topic, 2) + self.draw(3)).capitalize(),
            "content": " ".join(self.sentence(topic) for _ in range(3)),
            "tags": self.rng.sample(TAGS, 2),
            "importance": round(self.rng.random(), 3),
            "project_path": self.rng.choice(PROJECTS),
            "memory_id": f"new-{n:07d}",
        }


async def build_store(path: Path, n: int, writer: Writer) -> dict[str, float]:
    """Write `n` memories and their relationships in batches; seconds spent, by part."""
    generating = writing = 0.0
    async with MemoryStore.open(BackendConfig("sqlite", path=path)) as store:
        for start in range(0, n, BATCH):
            began = time.perf_counter()
            memories: list[Memory] = []
            relationships: list[Relationship] = []
            for i in range(start, min(n, start + BATCH)):
                memory, links = writer.memory(i)
                memories.append(memory)
                relationships.extend(links)
            made = time.perf_counter()
            await store.backend.upsert_memories(memories)
            await store.backend.upsert_relationships(relationships)
            generating += made - began
            writing += time.perf_counter() - made
    return {"generate_s": generating, "write_s": writing}


@dataclass
class Timings:
    seconds: list[float] = field(default_factory=list)
    errors: int = 0
    messages: list[str] = field(default_factory=list)
    result_bytes: list[int] = field(default_factory=list)

    def fail(self, message: str) -> None:
        self.errors += 1
        if len(self.messages) < 3:
            self.messages.append(message[:300])

    def summary(self) -> dict[str, Any]:
        ms = sorted(s * 1000 for s in self.seconds)
        out: dict[str, Any] = {"calls": len(ms) + self.errors, "errors": self.errors}
        if ms:
            out |= {
                "p50_ms": round(percentile(ms, 50), 3),
                "p99_ms": round(percentile(ms, 99), 3),
                "mean_ms": round(statistics.fmean(ms), 3),
                "max_ms": round(ms[-1], 3),
            }
        if self.result_bytes:
            out["mean_result_bytes"] = round(statistics.fmean(self.result_bytes))
        if self.messages:
            out["first_errors"] = self.messages
        return out


def percentile(sorted_values: list[float], p: float) -> float:
    """The p-th percentile by linear interpolation between closest ranks."""
    if len(sorted_values) == 1:
        return sorted_values[0]
    rank = (len(sorted_values) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


async def call_mcp(client: Client, tool: str, args: dict[str, Any], timings: Timings) -> None:
    began = time.perf_counter()
    try:
        result = await client.call_tool(tool, args)
    except Exception as e:  # a protocol-level failure counts as an error of the call
        timings.fail(f"{type(e).__name__}: {e}")
        return
    elapsed = time.perf_counter() - began
    if result.is_error:
        text = " ".join(getattr(c, "text", "") for c in result.content)
        timings.fail(text or "is_error without a message")
        return
    timings.seconds.append(elapsed)
    timings.result_bytes.append(len(json.dumps(result.structured_content)))


async def call_library(
    call: Callable[[dict[str, Any]], Awaitable[Any]], args: dict[str, Any], timings: Timings
) -> None:
    began = time.perf_counter()
    try:
        await call(args)
    except Exception as e:
        timings.fail(f"{type(e).__name__}: {e}")
        return
    timings.seconds.append(time.perf_counter() - began)


async def time_tool(
    client: Client, store: MemoryStore, tool: str, calls: dict[str, list[dict[str, Any]]]
) -> tuple[Timings, Timings]:
    """Timings of `tool` over MCP and in-process, call by call in alternating order, so
    both see the same caches and the same load of the machine."""
    library = library_call(store, tool)
    warm = Timings(), Timings()
    for args in calls["mcp"][:WARMUP]:
        await call_mcp(client, tool, args, warm[0])
    for args in calls["library"][:WARMUP]:
        await call_library(library, args, warm[1])
    mcp, lib = Timings(), Timings()
    pairs = zip(calls["mcp"][WARMUP:], calls["library"][WARMUP:], strict=True)
    for i, (mcp_args, lib_args) in enumerate(pairs):
        if i % 2:
            await call_library(library, lib_args, lib)
            await call_mcp(client, tool, mcp_args, mcp)
        else:
            await call_mcp(client, tool, mcp_args, mcp)
            await call_library(library, lib_args, lib)
    return mcp, lib


async def time_round_trip(client: Client, count: int) -> Timings:
    """A protocol round trip with no tool and no store behind it (prompts/list: empty)."""
    timings = Timings()
    for _ in range(WARMUP):
        await client.session.list_prompts()
    for _ in range(count):
        began = time.perf_counter()
        await client.session.list_prompts()
        timings.seconds.append(time.perf_counter() - began)
    return timings


def library_call(store: MemoryStore, tool: str) -> Callable[[dict[str, Any]], Awaitable[Any]]:
    """The in-process operation behind `tool`, taking the tool's arguments."""
    if tool == "store_memory":
        return lambda a: ops.store_memory(store, **a)
    if tool == "get_memory":
        return lambda a: ops.get_memory(store, **a)
    if tool == "search_memories":
        return lambda a: ops.search_memories(store, a["query"], where=ops.filters())
    return lambda a: ops.recall_memories(store, a["query"], where=ops.filters())


def make_calls(writer: Writer, n: int, k: int) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Arguments of K timed (after WARMUP untimed) calls of each tool, by tool and path.

    Both paths read with the same arguments; search and recall get different
    queries; writes get distinct new ids."""
    total = k + WARMUP
    ids = [f"mem-{writer.rng.randrange(n):07d}" for _ in range(total)]
    search = [writer.query() for _ in range(total)]
    recall = [writer.query() for _ in range(total)]
    reads = {
        "get_memory": [{"memory_id": i} for i in ids],
        "search_memories": [{"query": q} for q in search],
        "recall_memories": [{"query": q} for q in recall],
    }
    calls = {tool: {"mcp": args, "library": args} for tool, args in reads.items()}
    calls["store_memory"] = {
        "mcp": [writer.new_memory(j) for j in range(total)],
        "library": [writer.new_memory(total + j) for j in range(total)],
    }
    return calls


async def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    db = workdir / "bench.db"
    writer = Writer(SEED, args.memories)
    began = time.perf_counter()
    parts = await build_store(db, args.memories, writer)
    build_s = time.perf_counter() - began
    calls = make_calls(writer, args.memories, args.calls)
    query_df = sorted(
        writer.document_frequency[w.lower()]
        for tool in ("search_memories", "recall_memories")
        for c in calls[tool]["mcp"]
        for w in c["query"].split()
    )

    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEMORY_", "NEO4J_"))}
    env["MEMORY_SQLITE_PATH"] = str(db)
    params = StdioServerParameters(
        command=str(Path(sys.executable).parent / "memorygraph"),
        args=[
            *("serve", "--backend", "sqlite", "--path", str(db), "--profile", "core"),
            *("--workdir", str(workdir / "migrations"), "--log-level", "WARNING"),
        ],
        env=env,
    )
    mcp: dict[str, Timings] = {}
    library: dict[str, Timings] = {}
    started = time.perf_counter()
    async with Client(params) as client:
        start_s = time.perf_counter() - started
        async with MemoryStore.open(BackendConfig("sqlite", path=db)) as store:
            await client.list_tools()
            round_trip = await time_round_trip(client, args.calls)
            for tool in TOOLS:
                mcp[tool], library[tool] = await time_tool(client, store, tool, calls[tool])

    figures = {t: mcp[t].summary() for t in TOOLS}
    return {
        "memories": args.memories,
        "relationships": writer.relationships,
        "calls_per_tool": args.calls,
        "build_seconds": round(build_s, 2),
        "build_parts_seconds": {k: round(v, 2) for k, v in parts.items()},
        "db_mb": round(sum(p.stat().st_size for p in workdir.glob("bench.db*")) / 2**20, 1),
        "server_start_seconds": round(start_s, 3),
        "query_word_memories": {
            "min": query_df[0],
            "median": query_df[len(query_df) // 2],
            "max": query_df[-1],
        },
        "round_trip": round_trip.summary(),
        "mcp": figures,
        "library": {t: library[t].summary() for t in TOOLS},
        "ratio_p50": {
            t: round(figures[t]["p50_ms"] / library[t].summary()["p50_ms"], 2)
            for t in TOOLS
            if "p50_ms" in figures[t] and "p50_ms" in library[t].summary()
        },
        "targets": {
            t: {
                "p50_under_ms": TARGET_P50_MS[t],
                "met": not figures[t]["errors"] and figures[t]["p50_ms"] < TARGET_P50_MS[t],
            }
            for t in TOOLS
            if "p50_ms" in figures[t]
        },
    }


def report(r: dict[str, Any]) -> None:
    q = r["query_word_memories"]
    parts = r["build_parts_seconds"]
    print(
        f"store: {r['memories']:,} memories, {r['relationships']:,} relationships, "
        f"{r['db_mb']} MB; built in {r['build_seconds']:.1f} s "
        f"(generate {parts['generate_s']:.1f} s, write {parts['write_s']:.1f} s)"
    )
    print(
        f"query words occur (as written) in {q['min']:,}–{q['max']:,} memories, "
        f"median {q['median']:,}"
    )
    print(f"server start (spawn to initialized): {r['server_start_seconds'] * 1000:.0f} ms")
    print()
    header = (
        f"{'tool':<18}{'calls':>6}{'errors':>7}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}"
        f"{'lib p50':>9}{'lib p99':>9}{'p50 ×':>7}{'bytes':>8}  target p50"
    )
    print(header)
    print("-" * len(header))
    trip = r["round_trip"]
    print(
        f"{'(round trip)':<18}{trip['calls']:>6}{0:>7}{trip['p50_ms']:>9.2f}"
        f"{trip['p99_ms']:>9.2f}{trip['mean_ms']:>9.2f}"
    )
    for tool in TOOLS:
        m, lib = r["mcp"][tool], r["library"][tool]
        target = TARGET_P50_MS[tool]
        if "p50_ms" not in m:
            print(f"{tool:<18}{m['calls']:>6}{m['errors']:>7}  (every call failed)")
            continue
        met = "met" if r["targets"][tool]["met"] else "NOT met"
        lib_cols = (
            f"{lib['p50_ms']:>9.2f}{lib['p99_ms']:>9.2f}{r['ratio_p50'][tool]:>7.1f}"
            if tool in r["ratio_p50"]
            else f"{'-':>9}{'-':>9}{'-':>7}"
        )
        print(
            f"{tool:<18}{m['calls']:>6}{m['errors']:>7}{m['p50_ms']:>9.2f}{m['p99_ms']:>9.2f}"
            f"{m['mean_ms']:>9.2f}{lib_cols}{m.get('mean_result_bytes', 0):>8,}"
            f"  < {target:g} ms: {met}"
        )
    print()
    print(
        "p50/p99/mean: MCP over stdio; lib: the same operation in-process (memorygraph.ops); "
        "p50 ×: MCP p50 / lib p50; bytes: mean structured result size (JSON); "
        "(round trip): prompts/list, no tool behind it."
    )
    for side in ("mcp", "library"):
        for tool in TOOLS:
            for message in r[side][tool].get("first_errors", []):
                print(f"error ({side} {tool}): {message}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memories", type=int, default=100_000, help="Memories in the store.")
    parser.add_argument("--calls", type=int, default=300, help="Timed calls per tool.")
    parser.add_argument("--json", action="store_true", help="Print the figures as JSON.")
    parser.add_argument("--keep", type=Path, help="Build the store in this directory and keep it.")
    args = parser.parse_args()
    if args.memories < 1 or args.calls < 1:
        parser.error("--memories and --calls must be 1 or more")
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        for old in args.keep.glob("bench.db*"):
            old.unlink()
        result = asyncio.run(run(args, args.keep))
    else:
        with tempfile.TemporaryDirectory(prefix="mg-bench-mcp-") as tmp:
            result = asyncio.run(run(args, Path(tmp)))
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        report(result)
    failed = sum(result[s][t]["errors"] for s in ("mcp", "library") for t in TOOLS)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
