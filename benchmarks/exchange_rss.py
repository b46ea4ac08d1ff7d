"""Peak memory of export + import on SQLite does not grow with the graph.

For each N (default 10,000 and 100,000) it builds a SQLite graph of N
memories and 2N relationships in one subprocess, then runs export →
import into an empty SQLite in a *fresh* subprocess, so the peak RSS
(`ru_maxrss`) it reports belongs to that N alone. It prints wall time,
records/s and peak RSS per N, and the ratio peak(largest)/peak(smallest).

    .venv/bin/python benchmarks/exchange_rss.py            # N = 10,000 and 100,000
    .venv/bin/python benchmarks/exchange_rss.py 1000 5000  # other sizes

Targets: peak RSS under 150 MB at 100k; ratio <= 1.3.
"""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_MB, TARGET_RATIO = 150.0, 1.3


def _peak_mb() -> float:
    # Linux reports ru_maxrss in KiB (macOS in bytes).
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024 / (1024 if sys.platform == "darwin" else 1)


async def _build(db: Path, n: int) -> None:
    from memorygraph.backends.sqlite import SQLiteBackend
    from memorygraph.config import BackendConfig
    from memorygraph.models import Memory, MemoryType, Relationship, RelationshipType

    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    types, rtypes = list(MemoryType), list(RelationshipType)
    async with SQLiteBackend(BackendConfig("sqlite", path=db)) as backend:
        for start in range(0, n, 2000):
            await backend.upsert_memories(
                [
                    Memory(
                        id=f"m{i:07d}",
                        type=types[i % len(types)],
                        title=f"memory {i}",
                        content=f"content of memory {i} " * 8,
                        tags=["bench", f"t{i % 50}"],
                        created_at=t0 + timedelta(seconds=i),
                    )
                    for i in range(start, min(n, start + 2000))
                ]
            )
        for start in range(0, 2 * n, 2000):
            await backend.upsert_relationships(
                [
                    Relationship(
                        id=f"r{i:07d}",
                        from_id=f"m{i % n:07d}",
                        to_id=f"m{(i * 7919 + 13) % n:07d}",
                        type=rtypes[i % len(rtypes)],
                        created_at=t0 + timedelta(seconds=i),
                    )
                    for i in range(start, min(2 * n, start + 2000))
                ]
            )


async def _measure(source: Path, work: Path) -> dict[str, float]:
    from memorygraph.backends.sqlite import SQLiteBackend
    from memorygraph.config import BackendConfig
    from memorygraph.exchange import export_graph, import_graph

    started = time.perf_counter()
    async with SQLiteBackend(BackendConfig("sqlite", path=source, read_only=True)) as backend:
        summary = await export_graph(backend, work / "graph.jsonl.gz")
    exported = time.perf_counter()
    async with SQLiteBackend(BackendConfig("sqlite", path=work / "target.db")) as target:
        result = await import_graph(summary.path, target)
    done = time.perf_counter()
    records = summary.memories + summary.relationships
    assert result.memories.inserted + result.relationships.inserted == records
    return {
        "records": records,
        "export_s": exported - started,
        "import_s": done - exported,
        "bytes": summary.bytes,
        "peak_mb": _peak_mb(),
    }


def _child(mode: str, n: int, work: str) -> None:
    sys.path.insert(0, str(ROOT / "src"))
    path = Path(work)
    if mode == "build":
        asyncio.run(_build(path / "source.db", n))
        return
    print(json.dumps(asyncio.run(_measure(path / "source.db", path))))


def _run(mode: str, n: int, work: Path) -> str:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(n), str(work)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode:
        sys.exit(f"{mode} for N={n} failed:\n{proc.stderr}")
    return proc.stdout


def main(sizes: list[int]) -> int:
    rows = []
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix=f"mg-bench-{n}-") as tmp:
            work = Path(tmp)
            _run("build", n, work)
            figures = json.loads(_run("measure", n, work))
        rows.append((n, figures))
        records = figures["records"]
        print(
            f"N={n:>7,}: {records:>9,.0f} records  "
            f"export {figures['export_s']:6.1f}s ({records / figures['export_s']:>7,.0f} rec/s)  "
            f"import {figures['import_s']:6.1f}s ({records / figures['import_s']:>7,.0f} rec/s)  "
            f"file {figures['bytes'] / 1e6:6.1f} MB  peak RSS {figures['peak_mb']:6.1f} MB",
            flush=True,
        )
    smallest, largest = rows[0][1]["peak_mb"], rows[-1][1]["peak_mb"]
    ratio = largest / smallest
    big, small = rows[-1][0], rows[0][0]
    print(f"peak RSS ratio N={big:,} / N={small:,}: {ratio:.2f} (target <= {TARGET_RATIO})")
    ok = largest < TARGET_MB and ratio <= TARGET_RATIO
    verdict = "OK" if ok else "MISSED"
    print(f"peak at N={big:,}: {largest:.1f} MB (target < {TARGET_MB:.0f} MB): {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        sys.exit(main([int(a) for a in sys.argv[1:]] or [10_000, 100_000]))
