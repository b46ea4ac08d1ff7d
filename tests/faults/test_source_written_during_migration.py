"""A source that another process writes while it is exported or migrated: the export is
one consistent snapshot, so validation and verification agree with it."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

from memorygraph.backends.registry import create_backend
from memorygraph.config import BackendConfig
from memorygraph.exchange import validate_export
from tests.faults.helpers import run_command
from tests.migration.helpers import fill, snapshot

# Writes memories whose ids sort before every sample id, each with a relationship whose
# id sorts after every sample id: an export that is not a snapshot sees the edge but
# not (always) its end.
WRITER = """
import asyncio, sys
from pathlib import Path
from memorygraph.backends.registry import create_backend
from memorygraph.config import BackendConfig
from memorygraph.models import Memory, Relationship

async def main() -> None:
    config = BackendConfig("sqlite", path=Path(sys.argv[1]), timeout_seconds=60)
    async with create_backend(config) as backend:
        i = 0
        while True:
            await backend.upsert_memories([Memory(id=f"aaa-{i:08d}", type="task", title="new")])
            await backend.upsert_relationships([Relationship(
                id=f"zzz-{i:08d}", from_id=f"aaa-{i:08d}", to_id="mem-00000000", type="CAUSES")])
            print(i, flush=True)
            i += 1

asyncio.run(main())
"""


def _start_writer(db: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    for _ in range(20):  # it is writing
        proc.stdout.readline()
    return proc


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.kill()
    proc.wait()


async def _consistent(config: BackendConfig) -> None:
    async with create_backend(config.read_only_copy()) as backend:
        ids = {m.id async for m in backend.iter_memories()}
        async for r in backend.iter_relationships():
            assert r.from_id in ids and r.to_id in ids, r.id


def test_migration_of_a_source_being_written(tmp_path: Path) -> None:
    db = tmp_path / "source.db"
    asyncio.run(fill(BackendConfig("sqlite", path=db), n=4000, tricky=False))
    target = BackendConfig("sqlite", path=tmp_path / "target.db")
    writer = _start_writer(db)
    try:
        done = run_command(
            "migrate", "--from", "sqlite", "--from-path", db,
            "--to", "sqlite", "--to-path", target.path, "--workdir", tmp_path / "work",
        )  # fmt: skip
    finally:
        _stop(writer)
    assert done.returncode == 0, done.stderr
    asyncio.run(_consistent(target))
    moved = asyncio.run(snapshot(target))
    source = asyncio.run(snapshot(BackendConfig("sqlite", path=db)))
    assert all(source.get(key) == digest for key, digest in moved.items())
    assert any(key.startswith("m:aaa-") for key in moved)


def test_export_of_a_source_being_written_is_valid(tmp_path: Path) -> None:
    db = tmp_path / "source.db"
    asyncio.run(fill(BackendConfig("sqlite", path=db), n=4000, tricky=False))
    writer = _start_writer(db)
    try:
        for attempt in range(3):
            out = tmp_path / f"export-{attempt}.jsonl"
            done = run_command("export", out, "--backend", "sqlite", "--path", db, "--json")
            assert done.returncode == 0, done.stderr
            # A full export of a consistent graph has every relationship's ends in it.
            assert json.loads(done.stdout)["external_relationships"] == 0
            report = validate_export(out)
            assert report.valid, report.problems[:3]
            time.sleep(0.1)
    finally:
        _stop(writer)
