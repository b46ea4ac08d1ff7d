"""Latency of every core MCP tool over stdio at scale, against the same operations in-process.

Builds an SQLite store of N memories and R relationships (default 100,000 and
200,000, in clusters, so recall has neighbourhoods) directly through the
library, once: the store is cached under the temporary directory, keyed by its
size and the generator's code, and each run works on a fresh copy of it (the
runs write). Then it starts `memorygraph serve --path DB` as a subprocess (the
venv's executable, as an agent would) and times K calls of each core tool from
an MCP client: `time.perf_counter` around `call_tool`, which includes the
client's validation of the result against the tool's output schema. The tool
list and a few warm-up calls per tool are not timed. Every result must have
`is_error` false; errors are counted and the first few shown.

Baselines measured in the same run:

* every MCP call is paired with the same call in this process through
  `memorygraph.ops.memories` (the functions the tools call) on the same file,
  the two alternating call by call so both see the same caches and load; the
  MCP/library ratio shows what the protocol adds even on a shared, noisy machine;
* "(round trip)" is a protocol request with no tool and no store behind it
  (prompts/list), the floor of any call;
* server start (spawn to the answered initialize, p50 of several starts) is
  paired with the start of a minimal server of the same MCP SDK with one tool
  and no store, the floor of any start. Both start as an installed package does,
  from compiled bytecode: an environment with PYTHONDONTWRITEBYTECODE set (this
  machine has it) would otherwise compile memorygraph's sources at every start
  while the SDK's were compiled at install. The bytecode goes to a cache under the
  run's directory (PYTHONPYCACHEPREFIX), filled by one untimed start of each; the
  starts without it are timed too and printed for comparison.

Search and recall are timed on three kinds of query: one common word (one of
the 20 words most memories hold), three words drawn as text draws them (so
usually one or two common ones), and 1–4 words of the vocabulary drawn evenly
(mostly rare).

    .venv/bin/python benchmarks/mcp_latency.py                      # 100,000 / 200,000, 200 calls
    .venv/bin/python benchmarks/mcp_latency.py --memories 2000 --calls 50
    .venv/bin/python benchmarks/mcp_latency.py --json               # machine-readable
    .venv/bin/python benchmarks/mcp_latency.py --keep /tmp/mg-mcp   # keep the run's store there
    .venv/bin/python benchmarks/mcp_latency.py --rebuild            # build the cached store anew

Targets (p50 over stdio): under 5 ms for get_memory, store_memory and
get_recent_activity; search_memories under 10 ms for a common word and under
20 ms for three words; recall_memories under 30 ms; server start under 0.5 s.
The exit status is 1 when any call failed.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import inspect
import json
import os
import pickle
import random
import shutil
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
EPOCH = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
#: Most relationships one new memory gets (it links to earlier memories of its cluster).
MAX_LINKS = 6
#: Common words: a one-word query is drawn from this many words most memories hold.
COMMON_WORDS = 20


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

    def __init__(self, seed: int, n: int, relationships: int) -> None:
        self.rng = random.Random(seed)
        self.n = n
        self.per_memory = relationships / n
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
        # As many links as keep the total near `per_memory` × memories, give or take one.
        earlier = self.recent.setdefault(cluster, [])
        owed = round(self.per_memory * (i + 1)) - self.relationships + rng.choice((-1, 0, 0, 1))
        links = [
            self.link(memory, other, other_kind, created)
            for other, other_kind in rng.sample(earlier, max(0, min(len(earlier), owed, MAX_LINKS)))
        ]
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

    def even_query(self) -> str:
        """1–4 words of the vocabulary, each equally likely (mostly rare ones)."""
        return " ".join(self.rng.sample(self.words, self.rng.randint(1, 4))).lower()

    def common_word(self) -> str:
        """One of the `COMMON_WORDS` words most memories hold."""
        vocabulary = {w.lower() for w in self.words}
        common = [w for w, _ in self.document_frequency.most_common() if w in vocabulary]
        return self.rng.choice(common[:COMMON_WORDS])

    def text_query(self, k: int) -> str:
        """`k` distinct words drawn as the memories' text draws them."""
        picked: list[str] = []
        while len(picked) < k:
            word = self.draw(1)[0].lower()
            if word not in picked:
                picked.append(word)
        return " ".join(picked)

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


async def build_store(path: Path, writer: Writer) -> dict[str, float]:
    """Write the writer's memories and their relationships in batches; seconds spent,
    by part."""
    generating = writing = 0.0
    n = writer.n
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


def cache_key(n: int, relationships: int) -> str:
    """Names a built store by its size and the code that generated it."""
    code = inspect.getsource(Writer) + inspect.getsource(build_store) + WORDS
    digest = hashlib.sha256(code.encode()).hexdigest()[:12]
    return f"mcp-{n}m-{relationships}r-{SEED}-{digest}"


async def cached_store(
    cache: Path, n: int, relationships: int, rebuild: bool
) -> tuple[Path, Writer, dict[str, Any]]:
    """The built store's directory (bench.db, and the writer as it was after writing
    it, so calls are drawn the same way every run), building it first if needed."""
    home = cache / cache_key(n, relationships)
    if rebuild and home.exists():
        shutil.rmtree(home)
    if not (home / "writer.pickle").exists():
        partial = home.with_name(home.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        writer = Writer(SEED, n, relationships)
        began = time.perf_counter()
        parts = await build_store(partial / "bench.db", writer)
        build = {"seconds": round(time.perf_counter() - began, 2), "cached": False} | {
            k: round(v, 2) for k, v in parts.items()
        }
        (partial / "build.json").write_text(json.dumps(build))
        (partial / "writer.pickle").write_bytes(pickle.dumps(writer))
        partial.rename(home)
    else:
        build = json.loads((home / "build.json").read_text()) | {"cached": True}
    writer = pickle.loads((home / "writer.pickle").read_bytes())
    return home, writer, build


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
                "p95_ms": round(percentile(ms, 95), 3),
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


Call = Callable[[MemoryStore, dict[str, Any]], Awaitable[Any]]


@dataclass
class Case:
    """One row of the table: a tool, the arguments of each call on each path, and the
    in-process operation behind the tool."""

    name: str
    tool: str
    library: Call
    mcp_args: list[dict[str, Any]]
    library_args: list[dict[str, Any]]
    target_ms: float | None = None


LIBRARY: dict[str, Call] = {
    "store_memory": lambda s, a: ops.remember(s, **a),
    "get_memory": lambda s, a: ops.get_memory(s, **a),
    "update_memory": lambda s, a: ops.update_memory(s, **a),
    "delete_memory": lambda s, a: ops.delete_memory(s, **a),
    "create_relationship": lambda s, a: ops.relate(s, **a),
    "invalidate_relationship": lambda s, a: ops.invalidate_relationship(s, **a),
    "get_related_memories": lambda s, a: ops.get_related_memories(s, **a),
    "get_recent_activity": lambda s, a: ops.get_recent_activity(s, **a),
    "get_memory_statistics": lambda s, a: ops.get_memory_statistics(s),
    "search_memories": lambda s, a: ops.search_memories(s, **a),
    "recall_memories": lambda s, a: ops.recall_memories(s, **a),
}


def make_cases(writer: Writer, k: int) -> list[Case]:
    """The timed cases, in the order they run: reads, then writes, deletions last (so no
    other call meets a memory a deletion removed). Each gets K timed calls after
    WARMUP untimed ones. Reads use the same arguments on both paths, writes distinct
    ones (new ids, other memories, other relationships)."""
    total = k + WARMUP
    n = writer.n
    rng = writer.rng
    picked = rng.sample(range(n), min(n, 5 * total))
    ids = [f"mem-{i:07d}" for i in picked]
    reads, others = ids[:total], ids[total : 2 * total] or ids[:total]
    doomed = ids[2 * total : 4 * total]
    edges = [f"rel-{i:07d}" for i in rng.sample(range(1, writer.relationships + 1), 2 * total)]

    def same(
        tool: str, args: list[dict[str, Any]], target: float | None = None, name: str = ""
    ) -> Case:
        return Case(name or tool, tool, LIBRARY[tool], args, args, target)

    def split(tool: str, args: list[dict[str, Any]], target: float | None = None) -> Case:
        return Case(tool, tool, LIBRARY[tool], args[:total], args[total:], target)

    def queries(draw: Callable[[], str]) -> list[dict[str, Any]]:
        return [{"query": draw()} for _ in range(total)]

    cases = [
        same("get_memory", [{"memory_id": i} for i in reads], 5.0),
        same(
            "get_recent_activity",
            [{"days": 3650, "limit": rng.choice([5, 20])} for _ in range(total)],
            5.0,
        ),
        same("get_related_memories", [{"memory_id": i} for i in reads]),
        same("get_memory_statistics", [{} for _ in range(total)]),
        same("search_memories", queries(writer.common_word), 10.0, "search (common word)"),
        same("search_memories", queries(lambda: writer.text_query(3)), 20.0, "search (3 words)"),
        same("search_memories", queries(writer.even_query), 20.0, "search (even words)"),
        same("recall_memories", queries(writer.common_word), 30.0, "recall (common word)"),
        same("recall_memories", queries(lambda: writer.text_query(3)), 30.0, "recall (3 words)"),
        same("recall_memories", queries(writer.even_query), 30.0, "recall (even words)"),
        split("store_memory", [writer.new_memory(j) for j in range(2 * total)], 5.0),
        same(
            "update_memory",
            [{"memory_id": i, "add_tags": [rng.choice(TAGS)]} for i in reads],
        ),
        split(
            "create_relationship",
            [
                {
                    "from_memory_id": a,
                    "to_memory_id": b,
                    "relationship_type": rng.choice(["SOLVES", "RELATED_TO", "CAUSES"]),
                }
                for a, b in zip(reads + reads, others + others[::-1], strict=True)
                if a != b
            ][: 2 * total],
        ),
        split("invalidate_relationship", [{"relationship_id": r} for r in edges]),
        split("delete_memory", [{"memory_id": i} for i in doomed]),
    ]
    return [c for c in cases if len(c.mcp_args) == total and len(c.library_args) == total]


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
    store: MemoryStore, call: Call, args: dict[str, Any], timings: Timings
) -> None:
    began = time.perf_counter()
    try:
        await call(store, args)
    except Exception as e:
        timings.fail(f"{type(e).__name__}: {e}")
        return
    timings.seconds.append(time.perf_counter() - began)


async def time_case(client: Client, store: MemoryStore, case: Case) -> tuple[Timings, Timings]:
    """Timings of `case` over MCP and in-process, call by call in alternating order, so
    both see the same caches and the same load of the machine."""
    warm = Timings(), Timings()
    for args in case.mcp_args[:WARMUP]:
        await call_mcp(client, case.tool, args, warm[0])
    for args in case.library_args[:WARMUP]:
        await call_library(store, case.library, args, warm[1])
    mcp, lib = Timings(), Timings()
    pairs = zip(case.mcp_args[WARMUP:], case.library_args[WARMUP:], strict=True)
    for i, (mcp_args, lib_args) in enumerate(pairs):
        if i % 2:
            await call_library(store, case.library, lib_args, lib)
            await call_mcp(client, case.tool, mcp_args, mcp)
        else:
            await call_mcp(client, case.tool, mcp_args, mcp)
            await call_library(store, case.library, lib_args, lib)
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


#: The start-up floor: a server of the same SDK with one tool, no store.
MINIMAL_SERVER = """
from mcp.server.mcpserver import MCPServer
server = MCPServer("floor")
@server.tool()
def echo(text: str) -> str:
    return text
server.run()
"""


def compiled(params: StdioServerParameters, cache: Path) -> StdioServerParameters:
    """`params` with its Python reading and writing bytecode in `cache`."""
    env = dict(params.env if params.env is not None else os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    return params.model_copy(update={"env": env})


async def time_starts(
    server: StdioServerParameters, count: int, bytecode: Path | None = None
) -> tuple[Timings, Timings]:
    """Spawn to answered initialize, for `server` and for the SDK's minimal server,
    alternating; each is closed again before the next starts. With `bytecode`, both
    run from the bytecode cached there, after one untimed start each fills it."""
    floor = StdioServerParameters(
        command=sys.executable, args=["-c", MINIMAL_SERVER], env=dict(os.environ)
    )
    if bytecode is not None:
        server, floor = compiled(server, bytecode), compiled(floor, bytecode)
        for params in (server, floor):
            async with Client(params):
                pass
    ours, minimal = Timings(), Timings()
    for i in range(count):
        for params, timings in ((server, ours), (floor, minimal))[:: 1 if i % 2 else -1]:
            began = time.perf_counter()
            try:
                async with Client(params) as client:
                    timings.seconds.append(time.perf_counter() - began)
                    del client
            except Exception as e:
                timings.fail(f"{type(e).__name__}: {e}")
    return ours, minimal


async def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    cache = args.cache or Path(tempfile.gettempdir()) / "memorygraph-bench"
    home, writer, build = await cached_store(cache, args.memories, args.relationships, args.rebuild)
    db = workdir / "bench.db"
    for old in workdir.glob("bench.db*"):
        old.unlink()
    shutil.copyfile(home / "bench.db", db)
    cases = make_cases(writer, args.calls)
    query_df = sorted(
        writer.document_frequency[w.lower()]
        for c in cases
        if c.tool in ("search_memories", "recall_memories")
        for a in c.mcp_args
        for w in a["query"].split()
    )

    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MEMORY_", "MEMORYGRAPH_", "NEO4J_"))
    }
    env["MEMORY_SQLITE_PATH"] = str(db)
    params = StdioServerParameters(
        command=str(Path(sys.executable).parent / "memorygraph"),
        args=[
            *("serve", "--backend", "sqlite", "--path", str(db), "--profile", "core"),
            *("--workdir", str(workdir / "migrations"), "--log-level", "WARNING"),
        ],
        env=env,
    )
    starts, floor = await time_starts(params, args.starts, workdir / "bytecode")
    source_starts, source_floor = await time_starts(params, max(3, args.starts // 3))
    mcp: dict[str, Timings] = {}
    library: dict[str, Timings] = {}
    async with (
        Client(params) as client,
        MemoryStore.open(BackendConfig("sqlite", path=db)) as store,
    ):
        tools = {t.name for t in (await client.list_tools()).tools}
        round_trip = await time_round_trip(client, args.calls)
        for case in cases:
            mcp[case.name], library[case.name] = await time_case(client, store, case)

    rows: dict[str, Any] = {}
    for case in cases:
        m, lib = mcp[case.name].summary(), library[case.name].summary()
        row: dict[str, Any] = {"tool": case.tool, "mcp": m, "library": lib}
        if "p50_ms" in m and "p50_ms" in lib:
            row["ratio_p50"] = round(m["p50_ms"] / lib["p50_ms"], 2)
        if case.target_ms is not None:
            row["target_p50_ms"] = case.target_ms
            row["met"] = not m["errors"] and m.get("p50_ms", float("inf")) < case.target_ms
        rows[case.name] = row
    start = starts.summary()
    return {
        "memories": args.memories,
        "relationships": writer.relationships,
        "calls_per_tool": args.calls,
        "build": build,
        "store": str(home),
        "db_mb": round(db.stat().st_size / 2**20, 1),
        "core_tools": sorted(tools),
        "untimed_tools": sorted(tools - {c.tool for c in cases}),
        "server_start": {
            "memorygraph": start,
            "sdk_minimal_server": floor.summary(),
            "target_p50_ms": args.start_target_ms,
            "met": not start["errors"] and start.get("p50_ms", float("inf")) < args.start_target_ms,
            "without_bytecode": {
                "memorygraph": source_starts.summary(),
                "sdk_minimal_server": source_floor.summary(),
                "pythondontwritebytecode": bool(os.environ.get("PYTHONDONTWRITEBYTECODE")),
            },
        },
        "query_word_memories": {
            "min": query_df[0],
            "median": query_df[len(query_df) // 2],
            "max": query_df[-1],
        },
        "round_trip": round_trip.summary(),
        "cases": rows,
    }


def report(r: dict[str, Any]) -> None:
    q = r["query_word_memories"]
    b = r["build"]
    how = "cached, built" if b["cached"] else "built"
    print(
        f"store: {r['memories']:,} memories, {r['relationships']:,} relationships, "
        f"{r['db_mb']} MB; {how} in {b['seconds']:.1f} s "
        f"(generate {b['generate_s']:.1f} s, write {b['write_s']:.1f} s)"
    )
    print(
        f"query words occur (as written) in {q['min']:,}–{q['max']:,} memories, "
        f"median {q['median']:,}"
    )
    s = r["server_start"]
    ours, floor = s["memorygraph"], s["sdk_minimal_server"]
    if "p50_ms" in ours and "p50_ms" in floor:
        print(
            f"server start (spawn to answered initialize, {ours['calls']} starts): "
            f"p50 {ours['p50_ms']:.0f} ms, p95 {ours['p95_ms']:.0f} ms; "
            f"SDK minimal server p50 {floor['p50_ms']:.0f} ms, p95 {floor['p95_ms']:.0f} ms; "
            f"target p50 < {s['target_p50_ms']:g} ms: {'met' if s['met'] else 'NOT met'}"
        )
    cold = s["without_bytecode"]
    ours, floor = cold["memorygraph"], cold["sdk_minimal_server"]
    if "p50_ms" in ours and "p50_ms" in floor:
        print(
            f"  the same without a bytecode cache ({ours['calls']} starts, "
            f"PYTHONDONTWRITEBYTECODE {'set' if cold['pythondontwritebytecode'] else 'unset'}): "
            f"p50 {ours['p50_ms']:.0f} ms; SDK minimal server p50 {floor['p50_ms']:.0f} ms"
        )
    print()
    header = (
        f"{'tool':<24}{'calls':>6}{'err':>4}{'p50 ms':>8}{'p95 ms':>8}"
        f"{'lib p50':>8}{'lib p95':>8}{'p50 ×':>6}{'bytes':>8}  target p50"
    )
    print(header)
    print("-" * len(header))
    trip = r["round_trip"]
    print(
        f"{'(round trip)':<24}{trip['calls']:>6}{0:>4}{trip['p50_ms']:>8.2f}{trip['p95_ms']:>8.2f}"
    )
    for name, row in r["cases"].items():
        m, lib = row["mcp"], row["library"]
        if "p50_ms" not in m:
            print(f"{name:<24}{m['calls']:>6}{m['errors']:>4}  (every call failed)")
            continue
        lib_cols = (
            f"{lib['p50_ms']:>8.2f}{lib['p95_ms']:>8.2f}{row['ratio_p50']:>6.1f}"
            if "ratio_p50" in row
            else f"{'-':>8}{'-':>8}{'-':>6}"
        )
        target = (
            f"  < {row['target_p50_ms']:g} ms: {'met' if row['met'] else 'NOT met'}"
            if "target_p50_ms" in row
            else ""
        )
        print(
            f"{name:<24}{m['calls']:>6}{m['errors']:>4}{m['p50_ms']:>8.2f}{m['p95_ms']:>8.2f}"
            f"{lib_cols}{m.get('mean_result_bytes', 0):>8,}{target}"
        )
    print()
    print(
        "p50/p95: MCP over stdio; lib: the same operation in-process (memorygraph.ops); "
        "p50 ×: MCP p50 / lib p50; bytes: mean structured result size (JSON); "
        "(round trip): prompts/list, no tool behind it."
    )
    if r["untimed_tools"]:
        print(f"core tools not timed: {', '.join(r['untimed_tools'])}")
    for name, row in r["cases"].items():
        for side in ("mcp", "library"):
            for message in row[side].get("first_errors", []):
                print(f"error ({side} {name}): {message}")
    for message in ours.get("first_errors", []):
        print(f"error (server start): {message}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memories", type=int, default=100_000, help="Memories in the store.")
    parser.add_argument(
        "--relationships", type=int, help="Relationships in the store (default: 2 per memory)."
    )
    parser.add_argument("--calls", type=int, default=200, help="Timed calls per tool.")
    parser.add_argument("--starts", type=int, default=10, help="Timed server starts.")
    parser.add_argument("--json", action="store_true", help="Print the figures as JSON.")
    parser.add_argument("--keep", type=Path, help="Run in this directory and keep its store.")
    parser.add_argument(
        "--cache",
        type=Path,
        help="Where built stores are kept (default: TMPDIR/memorygraph-bench).",
    )
    parser.add_argument("--rebuild", action="store_true", help="Build the cached store anew.")
    args = parser.parse_args()
    args.start_target_ms = 500.0
    if args.relationships is None:
        args.relationships = 2 * args.memories
    if args.memories < 2 or args.calls < 1 or args.starts < 1 or args.relationships < 0:
        parser.error("--memories must be 2 or more, --calls and --starts 1 or more")
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        result = asyncio.run(run(args, args.keep))
    else:
        with tempfile.TemporaryDirectory(prefix="mg-bench-mcp-") as tmp:
            result = asyncio.run(run(args, Path(tmp)))
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        report(result)
    failed = sum(row[s]["errors"] for row in result["cases"].values() for s in ("mcp", "library"))
    failed += result["server_start"]["memorygraph"]["errors"]
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
