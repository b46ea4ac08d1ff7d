"""Hybrid search at scale: embedding cost, store size, and MCP latency with and without vectors.

Builds an SQLite store of N memories (benchmarks/data/relevance.json padded with
filler, see relevance_corpus.py), then:

1. embeds a sample of S memories with the bundled model (time, and the peak
   resident memory of this process), and extrapolates the time for all N;
   with `--embed all` it embeds every memory instead (hours on a busy 2-core
   machine). Without `--embed all` the other memories get *copies* of the
   sample's vectors (memory k gets sample vector k mod S): real vectors, real
   sizes and a real scan, but not N distinct meanings;
2. reports the store's size before and after the vectors are written;
3. starts `memorygraph serve` over stdio twice, with MEMORYGRAPH_SEMANTIC off
   and on, and times K calls each of search_memories and recall_memories from
   an MCP client, for the benchmark's questions and for queries made only of
   common words, and recall_memories right after each of K store_memory calls
   (the memories written are deleted at the end). p50 / p95 in ms;
4. starts the server again `--starts` times for each of two pauses (none, and
   3 s after `initialize`, as an agent's first question comes a little after
   its session starts) and times each server's first recall_memories: the
   server reads a store's vectors ahead, while it answers other calls.

Targets: hybrid recall p50 under 30 ms; a common-words query under 10 ms.

    .venv/bin/python benchmarks/semantic_latency.py                       # 100,000 memories
    .venv/bin/python benchmarks/semantic_latency.py --memories 5000 --calls 30 --sample 200
    .venv/bin/python benchmarks/semantic_latency.py --keep /tmp/sem   # build once, time again
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import relevance_corpus  # noqa: E402

from memorygraph.backends.registry import create_backend  # noqa: E402
from memorygraph.config import BackendConfig  # noqa: E402
from memorygraph.search.fusion import SearchSettings  # noqa: E402
from memorygraph.search.semantic import embed_memories, load_embedder  # noqa: E402
from memorygraph.store import MemoryStore  # noqa: E402

#: Queries made only of words most memories hold.
COMMON = [
    "fix the error",
    "why is it slow",
    "update the config",
    "the test fails",
    "problem after the upgrade",
    "how do we deploy",
]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered)) - 1))]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def store_mb(db: Path) -> float:
    return round(sum(p.stat().st_size for p in db.parent.glob(db.name + "*")) / 2**20, 1)


async def build(db: Path, n: int, sample: int, embed_all: bool) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    async with create_backend(BackendConfig("sqlite", path=db)) as backend:
        began = time.perf_counter()
        batch: list[Any] = []
        for memory in relevance_corpus.scaled_corpus(n):
            batch.append(memory)
            if len(batch) == 2000:
                await backend.upsert_memories(batch)
                batch = []
        if batch:
            await backend.upsert_memories(batch)
        rels = list(relevance_corpus.scaled_relationships(n))
        for i in range(0, len(rels), 2000):
            await backend.upsert_relationships(rels[i : i + 2000])
        figures["write_s"] = round(time.perf_counter() - began, 1)
        figures["store_mb_without_vectors"] = store_mb(db)
        embedder = load_embedder()
        assert embedder is not None, "install memorygraph[semantic]"
        store = MemoryStore(backend, settings=SearchSettings(semantic=True))
        assert store.semantic is not None
        rss_before = rss_mb()
        began = time.perf_counter()
        if embed_all:
            await store.embed_missing()
            figures["embedded"] = n
            figures["embed_s"] = round(time.perf_counter() - began, 1)
        else:
            memories = await backend.memories_without_vectors(store.semantic.model, sample)
            vectors = await embed_memories(embedder, memories)
            took = time.perf_counter() - began
            figures["embedded"] = len(memories)
            figures["embed_s"] = round(took, 1)
            figures["embed_s_extrapolated_to_all"] = round(took / len(memories) * n, 0)
            await backend.put_vectors(
                store.semantic.model, list(zip([m.id for m in memories], vectors, strict=True))
            )
            k = 0
            while rest := await backend.memories_without_vectors(store.semantic.model, 5000):
                pairs = []
                for m in rest:
                    pairs.append((m.id, vectors[k % len(vectors)]))
                    k += 1
                await backend.put_vectors(store.semantic.model, pairs)
        figures["embed_ms_per_memory"] = round(
            float(figures["embed_s"]) * 1000 / int(figures["embedded"]), 1
        )
        figures["peak_rss_mb_embedding"] = round(max(rss_mb(), rss_before), 0)
    figures["store_mb_with_vectors"] = store_mb(db)
    return figures


def server(db: Path, workdir: Path, semantic: bool) -> StdioServerParameters:
    """`memorygraph serve` on `db` over stdio, hybrid when `semantic`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEMORY_", "NEO4J_"))}
    env["MEMORYGRAPH_SEMANTIC"] = "on" if semantic else "off"
    return StdioServerParameters(
        command=str(Path(sys.executable).parent / "memorygraph"),
        args=[
            *("serve", "--backend", "sqlite", "--path", str(db), "--profile", "core"),
            *("--workdir", str(workdir / "migrations"), "--log-level", "WARNING"),
        ],
        env=env,
    )


#: Seconds between a server's start and its first recall, as an agent's first question
#: comes a little after its session starts.
FIRST_CALL_PAUSES = (0.0, 3.0)


async def first_recalls(db: Path, workdir: Path, semantic: bool, starts: int) -> dict[str, Any]:
    """The first recall_memories of a server, `starts` servers for each pause of
    `FIRST_CALL_PAUSES` after the server answered `initialize`."""
    params = server(db, workdir, semantic)
    questions = [q for q, _ in relevance_corpus.queries()]
    out: dict[str, Any] = {}
    for pause in FIRST_CALL_PAUSES:
        times: list[float] = []
        errors = 0
        for i in range(starts):
            async with Client(params) as client:
                await asyncio.sleep(pause)
                began = time.perf_counter()
                result = await client.call_tool(
                    "recall_memories", {"query": questions[i * 7 % len(questions)], "limit": 10}
                )
                times.append((time.perf_counter() - began) * 1000)
                errors += bool(result.is_error)
        out[f"recall_memories / first, {pause:g} s after start"] = summary(times, errors)
    return out


async def time_server(
    db: Path, workdir: Path, semantic: bool, calls: int, starts: int
) -> dict[str, Any]:
    params = server(db, workdir, semantic)
    questions = [q for q, _ in relevance_corpus.queries()]
    kinds = {"questions": questions, "common words": COMMON}
    out: dict[str, Any] = {}
    async with Client(params) as client:
        await client.list_tools()
        for shift, tool in enumerate(("search_memories", "recall_memories")):
            for kind, pool in kinds.items():
                # Each tool starts half-way round the pool from the other: with up to
                # half the pool's calls, no question's vector comes from the cache.
                start = shift * len(pool) // 2
                for q in pool[:3]:  # warm-up: first model call, caches
                    await client.call_tool(tool, {"query": q + " warm", "limit": 10})
                times: list[float] = []
                errors = 0
                for i in range(calls):
                    # Every call a new text: no query vector comes from the cache.
                    text = pool[(start + i) % len(pool)]
                    query = f"{text} {i}" if kind == "common words" else text
                    began = time.perf_counter()
                    result = await client.call_tool(tool, {"query": query, "limit": 10})
                    times.append((time.perf_counter() - began) * 1000)
                    errors += bool(result.is_error)
                out[f"{tool} / {kind}"] = summary(times, errors)
        out["recall_memories / right after a write"] = await recall_after_writes(
            client, questions, calls
        )
    out.update(await first_recalls(db, workdir, semantic, starts))
    return out


def summary(times: list[float], errors: int) -> dict[str, Any]:
    return {
        "p50_ms": round(percentile(times, 50), 1),
        "p95_ms": round(percentile(times, 95), 1),
        "errors": errors,
    }


async def recall_after_writes(client: Client, questions: list[str], calls: int) -> dict[str, Any]:
    """Recall timed right after a store_memory (not timed), as on a server other agents
    write to; the memories written are deleted afterwards."""
    times: list[float] = []
    errors = 0
    written: list[str] = []
    for i in range(calls):
        stored = await client.call_tool(
            "store_memory",
            {"type": "general", "title": f"benchmark write {i}", "content": questions[i % 7]},
        )
        errors += bool(stored.is_error)
        if not stored.is_error and stored.structured_content:
            written.append(stored.structured_content["id"])
        began = time.perf_counter()
        result = await client.call_tool(
            "recall_memories", {"query": questions[(i * 5) % len(questions)], "limit": 10}
        )
        times.append((time.perf_counter() - began) * 1000)
        errors += bool(result.is_error)
    for memory_id in written:
        await client.call_tool("delete_memory", {"memory_id": memory_id})
    return summary(times, errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memories", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=100, help="timed calls per tool and kind")
    parser.add_argument("--sample", type=int, default=1000, help="memories embedded for real")
    parser.add_argument("--embed", choices=("sample", "all"), default="sample")
    parser.add_argument(
        "--starts", type=int, default=3, help="servers started for each first-recall figure"
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--keep",
        type=Path,
        help="Build the store in this directory and keep it; a later run with the same "
        "--keep and --memories times the kept store instead of building it again.",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mg-semantic-") as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        db = workdir / "bench.db"
        figures = workdir / "build.json"
        if args.keep and figures.exists() and db.exists():
            built = json.loads(figures.read_text())
            if built.get("memories") != args.memories:
                parser.error(f"{workdir} holds a store of {built.get('memories')} memories")
        else:
            for old in workdir.glob("bench.db*"):
                old.unlink()
            built = asyncio.run(build(db, args.memories, args.sample, args.embed == "all"))
            figures.write_text(json.dumps({"memories": args.memories, **built}))
        built.pop("memories", None)
        lexical = asyncio.run(time_server(db, workdir, False, args.calls, args.starts))
        hybrid = asyncio.run(time_server(db, workdir, True, args.calls, args.starts))
    result = {"memories": args.memories, "build": built, "lexical": lexical, "hybrid": hybrid}
    if args.json:
        print(json.dumps(result))
        return
    print(f"# {args.memories:,} memories")
    for key, value in built.items():
        print(f"{key:<32}{value}")
    print(f"\n{'call':<42}{'lexical p50':>12}{'p95':>8}{'hybrid p50':>12}{'p95':>8}")
    for key in lexical:
        a, b = lexical[key], hybrid[key]
        print(
            f"{key:<42}{a['p50_ms']:>12.1f}{a['p95_ms']:>8.1f}{b['p50_ms']:>12.1f}{b['p95_ms']:>8.1f}"
            + ("  errors!" if a["errors"] or b["errors"] else "")
        )


if __name__ == "__main__":
    main()
