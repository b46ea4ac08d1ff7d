"""How long a migration blocks its event loop.

Migrates N memories and 2N relationships from SQLite to SQLite while another task
on the same loop sleeps 10 ms at a time, and prints how late that task woke up:
the worst delay, the 99th percentile, and the ticks it managed. Target: worst
under 50 ms on this machine. Run: .venv/bin/python benchmarks/event_loop.py
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.migration.helpers import fill, loop_delays

from memorygraph.config import BackendConfig
from memorygraph.migration.manager import MigrationManager
from memorygraph.migration.models import MigrationOptions

TICK = 0.010


async def measure(memories: int, work: Path) -> tuple[float, float, int, float]:
    source = BackendConfig("sqlite", path=work / "source.db")
    if not source.path.exists():  # type: ignore[union-attr]
        await fill(source, n=memories, tricky=False)
    target = BackendConfig("sqlite", path=work / f"target-{time.time_ns()}.db")
    began = time.perf_counter()
    _, delays = await loop_delays(
        MigrationManager().migrate(source, target, MigrationOptions(workdir=work / "w")), TICK
    )
    seconds = time.perf_counter() - began
    p99 = statistics.quantiles(delays, n=100)[98] if len(delays) > 100 else max(delays)
    return max(delays), p99, len(delays), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memories", type=int, default=33_334, help="N (2N relationships)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{args.memories:,} memories + {2 * args.memories:,} relationships, sqlite→sqlite")
        for run in range(1, args.repeat + 1):
            worst, p99, ticks, seconds = asyncio.run(measure(args.memories, Path(tmp)))
            verdict = "met" if worst < 0.050 else "not met"
            print(
                f"run {run}: migration {seconds:.1f} s; loop delay worst {worst * 1000:.0f} ms, "
                f"p99 {p99 * 1000:.0f} ms over {ticks:,} ticks of {TICK * 1000:.0f} ms "
                f"(target worst < 50 ms: {verdict})"
            )


if __name__ == "__main__":
    main()
