"""Latency of the browser pages on a large store: p50 of the JSON API over HTTP and of
the pages in headless Chromium, against the library call itself in the same run.

    .venv/bin/python benchmarks/ui_latency.py                      # 100,000 memories
    .venv/bin/python benchmarks/ui_latency.py --memories 1000 --rounds 10

A SQLite store of the sample graph (N memories, 2N relationships) is built once
under --dir and reused. `memorygraph ui` serves it in a child process. For each of
search, a memory and its 2-hop graph:

* library: the operation the endpoint calls (`recall_memories`, `get_memory`,
  `graph.neighbourhood`), in this process, on the same file: the baseline;
* API: the endpoint over HTTP with a kept-alive connection (ratio to the library);
* page: headless Chromium opening the page, from navigation start to the results
  shown, the memory shown, and the graph drawn (the page's performance marks);
  skipped when Chromium or its driver is missing.

Targets: search and a memory under 100 ms, the 2-hop graph view under 300 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from itertools import islice
from pathlib import Path
from typing import Any

import httpx2

from memorygraph.config import BackendConfig
from memorygraph.ops import graph
from memorygraph.ops import memories as ops
from memorygraph.sample import memory_id, sample_memories, sample_relationships
from memorygraph.store import MemoryStore

QUERIES = [
    "redis timeout",
    "how did we fix the redis timeouts",
    "postgres slow query",
    "flaky test",
    "memory leak docker",
    "upgrade react typescript",
]
TARGETS_MS = {"search": 100.0, "memory": 100.0, "graph (2 hops)": 300.0}


async def build(path: Path, n: int) -> None:
    """The sample graph of `n` memories in the SQLite store at `path` (kept if it has them)."""
    config = BackendConfig("sqlite", path=path)
    async with MemoryStore.open(config) as store:
        if await store.backend.count_memories() == n:
            return
        started = time.monotonic()
        await store.backend.clear()
        memories = sample_memories(n)
        while batch := list(islice(memories, 5000)):
            await store.backend.upsert_memories(batch)
        relationships = sample_relationships(n)
        while edges := list(islice(relationships, 5000)):
            await store.backend.upsert_relationships(edges)
        print(f"built {n:,} memories in {time.monotonic() - started:.0f}s", flush=True)


def p50(samples: list[float]) -> float:
    return statistics.median(samples)


async def library_timings(path: Path, ids: list[str], rounds: int) -> dict[str, list[float]]:
    calls: dict[str, Callable[[MemoryStore, int], Awaitable[Any]]] = {
        "search": lambda s, i: ops.recall_memories(s, query=QUERIES[i % len(QUERIES)], limit=20),
        "memory": lambda s, i: ops.get_memory(s, memory_id=ids[i % len(ids)]),
        "graph (2 hops)": lambda s, i: graph.neighbourhood(s, ids[i % len(ids)], depth=2),
    }
    found: dict[str, list[float]] = {name: [] for name in calls}
    async with MemoryStore.open(BackendConfig("sqlite", path=path)) as store:
        for name, call in calls.items():
            for i in range(len(ids)):
                await call(store, i)  # warm
            for i in range(rounds * len(ids)):
                t = time.perf_counter()
                await call(store, i)
                found[name].append((time.perf_counter() - t) * 1000)
    return found


def api_timings(base: str, ids: list[str], rounds: int) -> tuple[dict[str, list[float]], int]:
    paths = {
        "search": lambda i: ("api/search", {"q": QUERIES[i % len(QUERIES)], "limit": 20}),
        "memory": lambda i: (f"api/memories/{ids[i % len(ids)]}", {}),
        "graph (2 hops)": lambda i: (
            f"api/memories/{ids[i % len(ids)]}/neighbourhood",
            {"depth": 2},
        ),
    }
    found: dict[str, list[float]] = {name: [] for name in paths}
    nodes: list[int] = []
    with httpx2.Client(base_url=base, timeout=60) as http:
        for name, at in paths.items():
            for i in range(len(ids)):
                http.get(at(i)[0], params=at(i)[1]).raise_for_status()  # warm
            for i in range(rounds * len(ids)):
                path, params = at(i)
                t = time.perf_counter()
                answer = http.get(path, params=params)
                found[name].append((time.perf_counter() - t) * 1000)
                answer.raise_for_status()
                if name == "graph (2 hops)":
                    nodes.append(len(answer.json()["nodes"]))
    return found, int(statistics.median(nodes))


def page_timings(base: str, ids: list[str], rounds: int) -> dict[str, list[float]] | None:
    if not (shutil.which("/usr/bin/chromium") and shutil.which("/usr/bin/chromedriver")):
        return None
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)

    def mark(name: str) -> float:
        script = (
            f"const m = performance.getEntriesByName('{name}');"
            "return m.length ? m[0].startTime : null"
        )
        value: float = WebDriverWait(driver, 30, poll_frequency=0.01).until(
            lambda d: d.execute_script(script)
        )
        return value

    found: dict[str, list[float]] = {"search": [], "memory": [], "graph (2 hops)": []}
    try:
        for warm in range(2):
            driver.get(base + f"memory?id={ids[warm]}")
            mark("graph-drawn")
        for i in range(rounds * len(ids) // 4 or 1):
            driver.get(base + "?q=" + QUERIES[i % len(QUERIES)].replace(" ", "+"))
            found["search"].append(mark("results-shown"))
            driver.get(base + f"memory?id={ids[i % len(ids)]}")
            found["memory"].append(mark("memory-shown"))
            found["graph (2 hops)"].append(mark("graph-drawn"))
    finally:
        driver.quit()
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--memories", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "mg-ui-bench")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    path = args.dir / f"memory-{args.memories}.db"
    asyncio.run(build(path, args.memories))
    ids = [memory_id(i) for i in random.Random(7).sample(range(args.memories), 20)]

    library = asyncio.run(library_timings(path, ids, args.rounds))
    port = free_port()
    command = Path(sys.executable).parent / "memorygraph"
    server = subprocess.Popen(
        [str(command), "ui", "--path", str(path), "--port", str(port), "--no-browser",
         "--workdir", str(args.dir / "work")],
        stderr=subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if not k.startswith("MEMORY_")},
    )  # fmt: skip
    try:
        assert server.stderr is not None
        line = server.stderr.readline().decode()
        if "serving" not in line:
            raise SystemExit(f"memorygraph ui did not start: {line}")
        base = f"http://127.0.0.1:{port}/"
        api, nodes = api_timings(base, ids, args.rounds)
        pages = page_timings(base, ids, args.rounds)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    print(f"\n{args.memories:,} memories, {2 * args.memories:,} relationships (SQLite); "
          f"median 2-hop view: {nodes} memories")  # fmt: skip
    columns = ("library p50", 12), ("API p50", 10), ("API/library", 12), ("page p50", 10)
    print(f"{'':16} " + " ".join(f"{c:>{w}}" for c, w in columns) + f" {'target':>8}")
    for name, target in TARGETS_MS.items():
        lib, over_http = p50(library[name]), p50(api[name])
        page = f"{p50(pages[name]):8.1f}ms" if pages else "   skipped"
        print(
            f"{name:16} {lib:10.1f}ms {over_http:8.1f}ms {over_http / lib:11.2f}x {page} "
            f"{target:6.0f}ms"
        )
    if pages is None:
        print("page timings skipped: /usr/bin/chromium or /usr/bin/chromedriver is missing")


if __name__ == "__main__":
    main()
