"""Importing the memorygraph MCP server's JSON export: peak memory flat in the file's size.

For each N (default 100,000 and 1,000,000) it writes a single-document export
in the server's 0.12.4 layout (format_version "2.0") holding N memories and 2N
relationships, then imports it into an empty SQLite store in a *fresh*
subprocess, so the peak RSS (`ru_maxrss`) printed is that import's alone. In
the same run and on the same records it measures the baseline: importing the
memorygraph export the conversion produced (the native import, which the
conversion feeds), also in its own subprocess. It prints the file size, time
per record of the whole import (conversion + native import) against the
native import alone, the conversion's own time, and the peak RSS of both.

    .venv/bin/python benchmarks/upstream_json_import.py              # 100k and 1M
    .venv/bin/python benchmarks/upstream_json_import.py 1000 10000   # other sizes
    .venv/bin/python benchmarks/upstream_json_import.py 100000 1000000 --baseline 100000
                                    # the (long) baseline only at the sizes named

Target: peak RSS under 300 MB at every size (exit 1 when missed).
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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
TARGET_MB = 300.0
_MEMORY_TYPES = ("solution", "problem", "error", "fix", "code_pattern", "technology", "general")
_RELATIONSHIP_TYPES = ("SOLVES", "CAUSES", "RELATED_TO", "BUILDS_ON", "DEPENDS_ON", "FIXES")


def _peak_mb() -> float:
    # Linux reports ru_maxrss in KiB (macOS in bytes).
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024 / (1024 if sys.platform == "darwin" else 1)


def _time(t0: datetime, seconds: int) -> str:
    return (t0 + timedelta(seconds=seconds)).isoformat()


def _memory_id(i: int) -> str:
    return f"4f1c{i:04x}-6b1e-4c1a-9d55-{i * 2654435761 % 16**12:012x}"


def _memory(i: int, t0: datetime) -> dict[str, Any]:
    """A memory as the server exports it (its Memory model dumped to JSON)."""
    return {
        "id": _memory_id(i),
        "type": _MEMORY_TYPES[i % len(_MEMORY_TYPES)],
        "title": f"Memory {i}: retry the flaky upload with backoff",
        "content": (
            f"Observation {i}. The upload to the artifact store fails about once in twenty "
            "runs with a connection reset; retrying with exponential backoff (3 tries, "
            "0.5 s base) made the pipeline green for a week."
        ),
        "summary": f"Retry uploads with backoff ({i})" if i % 3 else None,
        "tags": ["ci", "upload", f"team-{i % 40}"],
        "importance": (i % 10) / 10,
        "confidence": 0.8,
        "effectiveness": 0.5 if i % 4 else None,
        "usage_count": i % 7,
        "created_at": _time(t0, i),
        "updated_at": _time(t0, i + 60),
        "last_accessed": _time(t0, i + 120),
        "context": {
            "project_path": f"/work/project-{i % 25}",
            "files_involved": ["ci/upload.py", "ci/retry.py"],
            "languages": ["python"],
            "frameworks": ["pytest"],
            "technologies": ["s3", "github-actions"],
            "git_commit": f"{i:040x}",
            "git_branch": "main",
            "working_directory": f"/work/project-{i % 25}",
            "timestamp": _time(t0, i),
            "session_id": f"session-{i // 100}",
            "user_id": None,
            "additional_metadata": {"run": i, "attempts": [1, 2, 3]},
        },
    }


def _relationship(j: int, n: int, t0: datetime) -> dict[str, Any]:
    """The server's export of an edge: ends, type and properties, no id."""
    return {
        "from_memory_id": _memory_id(j % n),
        "to_memory_id": _memory_id((j * 7919 + 13) % n),
        "type": _RELATIONSHIP_TYPES[j % len(_RELATIONSHIP_TYPES)],
        "properties": {
            "strength": (j % 10) / 10,
            "confidence": 0.8,
            "context": f"seen together in run {j}",
            "evidence_count": 1 + j % 5,
            "success_rate": None,
            "created_at": _time(t0, j),
            "last_validated": _time(t0, j + 30),
            "validation_count": j % 3,
            "counter_evidence_count": 0,
        },
    }


def write_export(path: Path, n: int) -> None:
    """Write the export record by record (pretty-printed like the server's `json.dump(...,
    indent=2)`), so writing it takes no more memory than one record."""
    t0 = datetime(2025, 1, 1, tzinfo=UTC)

    def array(out: IO[str], key: str, records: Any, last: bool) -> None:
        out.write(f'  "{key}": [\n')
        for k, record in enumerate(records):
            text = json.dumps(record, indent=2).replace("\n", "\n    ")
            out.write(("    " if k == 0 else ",\n    ") + text)
        out.write("\n  ]" + ("\n" if last else ",\n"))

    with path.open("w", encoding="utf-8") as out:
        head = {
            "format_version": "2.0",
            "export_version": "1.0",
            "export_date": _time(t0, 10**8),
            "backend_type": "sqlite",
            "memory_count": n,
            "relationship_count": 2 * n,
        }
        out.write("{\n" + "".join(f'  "{k}": {json.dumps(v)},\n' for k, v in head.items()))
        array(out, "memories", (_memory(i, t0) for i in range(n)), last=False)
        array(out, "relationships", (_relationship(j, n, t0) for j in range(2 * n)), True)
        out.write("}\n")


async def _import(path: Path, db: Path, fmt: str) -> dict[str, Any]:
    from memorygraph.backends.sqlite import SQLiteBackend
    from memorygraph.config import BackendConfig
    from memorygraph.exchange.importers import convert_to_export, import_file

    began = time.perf_counter()
    if fmt == "convert":
        # The conversion alone, its output kept for the baseline (`db` names that file).
        report = convert_to_export(path, db, format="mcp-json")
        records = report.memories + report.relationships
        return {"seconds": time.perf_counter() - began, "records": records, "peak_mb": _peak_mb()}
    async with SQLiteBackend(BackendConfig("sqlite", path=db)) as target:
        summary = await import_file(path, target, format=fmt)
    seconds = time.perf_counter() - began
    records = summary.memories.inserted + summary.relationships.inserted
    return {"seconds": seconds, "records": records, "peak_mb": _peak_mb()}


def _child(fmt: str, path: str, db: str) -> None:
    sys.path.insert(0, str(ROOT / "src"))
    print(json.dumps(asyncio.run(_import(Path(path), Path(db), fmt))))


def _run(*args: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False
    )
    if proc.returncode:
        sys.exit(f"{' '.join(args)} failed:\n{proc.stderr}")
    figures: dict[str, Any] = json.loads(proc.stdout)
    return figures


def main(sizes: list[int], baseline: set[int] | None) -> int:
    print(
        f"{'N':>10} {'file MB':>8} {'records':>10} {'import s':>9} {'µs/rec':>7} "
        f"{'native µs/rec':>14} {'ratio':>6} {'convert s':>10} {'peak MB':>8} "
        f"{'native peak MB':>15}",
        flush=True,
    )
    peaks = []
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix=f"mg-upstream-json-{n}-") as tmp:
            work = Path(tmp)
            export = work / "export.json"
            write_export(export, n)
            size_mb = export.stat().st_size / 1e6
            upstream = _run("mcp-json", str(export), str(work / "upstream.db"))
            records = upstream["records"]
            per = upstream["seconds"] / records
            base = ["-"] * 4
            if baseline is None or n in baseline:
                converted = _run("convert", str(export), str(work / "converted.jsonl"))
                native = _run("memorygraph", str(work / "converted.jsonl"), str(work / "native.db"))
                assert records == native["records"], (upstream, native)
                native_per = native["seconds"] / records
                base = [
                    f"{native_per * 1e6:.0f}",
                    f"{per / native_per:.2f}",
                    f"{converted['seconds']:.1f}",
                    f"{native['peak_mb']:.0f}",
                ]
        peaks.append((n, upstream["peak_mb"]))
        print(
            f"{n:>10,} {size_mb:>8.0f} {records:>10,} {upstream['seconds']:>9.1f} "
            f"{per * 1e6:>7.0f} {base[0]:>14} {base[1]:>6} {base[2]:>10} "
            f"{upstream['peak_mb']:>8.0f} {base[3]:>15}",
            flush=True,
        )
    worst = max(peak for _, peak in peaks)
    spread = worst / min(peak for _, peak in peaks)
    ok = worst < TARGET_MB
    print(
        f"peak RSS: at most {worst:.0f} MB (target < {TARGET_MB:.0f} MB at every size): "
        f"{'OK' if ok else 'MISSED'}; largest / smallest peak {spread:.2f}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        parser.add_argument("sizes", nargs="*", type=int, default=[100_000, 1_000_000])
        parser.add_argument(
            "--baseline",
            type=lambda text: {int(n) for n in text.split(",")},
            help="measure the native import only at these sizes (comma-separated)",
        )
        args = parser.parse_args()
        sys.exit(main(args.sizes, args.baseline))
