"""Timestamps that leave the years 1..9999 once converted to UTC are named in one line,
with exit code 2; one such record never aborts the conversion of the others."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest

from memorygraph.config import BackendConfig
from tests.faults.helpers import run_command
from tests.migration.helpers import fill, snapshot

OVERFLOWING = ["9999-12-31T23:00:00-05:00", "0001-01-01T00:30:00+01:00"]


def _one_line_error(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def _export_with(tmp_path: Path, stamp: str) -> Path:
    """A valid export of a small store, then one memory's created_at set to `stamp`."""
    db = tmp_path / "source.db"
    asyncio.run(fill(BackendConfig("sqlite", path=db), n=5, tricky=False))
    out = tmp_path / "export.jsonl"
    done = run_command("export", out, "--backend", "sqlite", "--path", db)
    assert done.returncode == 0, done.stderr
    lines = out.read_bytes().splitlines()
    record = orjson.loads(lines[2])
    record["record"]["created_at"] = stamp
    lines[2] = orjson.dumps(record)
    out.write_bytes(b"\n".join(lines) + b"\n")
    return out


@pytest.mark.parametrize("stamp", OVERFLOWING)
def test_validate_and_import_name_the_line(tmp_path: Path, stamp: str) -> None:
    export = _export_with(tmp_path, stamp)
    done = run_command("validate", export)
    assert done.returncode == 2, done.stdout + done.stderr  # 2: the file is invalid input
    assert "Traceback" not in done.stderr
    assert "line 3" in done.stdout + done.stderr
    target = BackendConfig("sqlite", path=tmp_path / "target.db")
    done = run_command("import", export, "--backend", "sqlite", "--path", target.path)
    assert done.returncode == 2
    assert "line 3" in _one_line_error(done.stderr)
    assert not target.path.exists() or asyncio.run(snapshot(target)) == {}


@pytest.mark.parametrize("stamp", OVERFLOWING)
def test_an_out_of_range_since_is_bad_usage(tmp_path: Path, stamp: str) -> None:
    db = tmp_path / "source.db"
    asyncio.run(fill(BackendConfig("sqlite", path=db), n=5, tricky=False))
    done = run_command(
        "export", tmp_path / "e.jsonl", "--since", stamp, "--backend", "sqlite", "--path", db
    )
    assert done.returncode == 2
    assert stamp in _one_line_error(done.stderr)
    assert not (tmp_path / "e.jsonl").exists()
    done = run_command(
        "migrate", "--from", "sqlite", "--from-path", db, "--to", "sqlite",
        "--to-path", tmp_path / "t.db", "--workdir", tmp_path / "work", "--since", stamp,
    )  # fmt: skip
    assert done.returncode == 2
    assert stamp in _one_line_error(done.stderr)
    assert not (tmp_path / "t.db").exists()


def test_one_overflowing_record_does_not_abort_a_conversion(tmp_path: Path) -> None:
    def memory(i: int, created: str) -> dict[str, object]:
        return {"id": f"mem-{i}", "type": "solution", "title": f"t{i}", "content": "c",
                "tags": [], "importance": 0.5, "confidence": 0.8,
                "created_at": created, "updated_at": created}  # fmt: skip

    doc = {
        "format_version": "2.0",
        "export_version": "0.12.4",
        "export_date": "2025-02-01T00:00:00+00:00",
        "backend_type": "sqlite",
        "memory_count": 3,
        "relationship_count": 0,
        "memories": [
            memory(1, "2025-01-02T03:04:05+00:00"),
            memory(2, OVERFLOWING[0]),
            memory(3, "2025-01-02T03:04:05+00:00"),
        ],
        "relationships": [],
    }
    src = tmp_path / "mcp.json"
    src.write_bytes(orjson.dumps(doc))
    db = tmp_path / "target.db"
    done = run_command("import", src, "--format", "mcp-json", "--backend", "sqlite", "--path", db)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "not imported: 1" in done.stdout
    records = asyncio.run(snapshot(BackendConfig("sqlite", path=db)))
    assert sorted(records) == ["m:mem-1", "m:mem-3"]
