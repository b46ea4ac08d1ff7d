"""A migrating process killed with SIGKILL mid-import: its journal lets
`migrate --rollback` restore the target exactly, or `migrate --resume` finish
the move without duplicating anything."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from memorygraph.backends.registry import create_backend
from memorygraph.cli.main import main
from memorygraph.config import BackendConfig, BackendType
from memorygraph.models import Memory
from tests.migration.helpers import fill, snapshot


async def keep_one(config: BackendConfig) -> None:
    async with create_backend(config) as backend:
        await backend.upsert_memories([Memory(id="theirs", type="task", title="kept")])


def _journal_with_writes(work: Path, at_least: int) -> Path | None:
    for journal in work.glob("*/journal.jsonl"):
        lines = journal.read_bytes().splitlines()
        if sum(b'"event":"intent"' in line for line in lines) >= at_least:
            return journal
    return None


@pytest.mark.parametrize("recovery", ["rollback", "resume"])
def test_sigkill_mid_import_then_recover(tmp_path: Path, recovery: str) -> None:
    source = BackendConfig(BackendType.SQLITE, path=tmp_path / "source.db")
    target = BackendConfig(BackendType.SQLITE, path=tmp_path / "target.db")
    asyncio.run(fill(source, n=1500, tricky=False))
    asyncio.run(keep_one(target))
    before = asyncio.run(snapshot(target))
    work = tmp_path / "work"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "memorygraph",
            "migrate",
            "--from",
            "sqlite",
            "--from-path",
            str(source.path),
            "--to",
            "sqlite",
            "--to-path",
            str(target.path),
            "--workdir",
            str(work),
            "--batch-size",
            "10",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    journal = None
    while journal is None and time.monotonic() < deadline and proc.poll() is None:
        journal = _journal_with_writes(work, at_least=5)
        time.sleep(0.005)
    assert journal is not None, "the migration ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    events = [orjson.loads(line) for line in journal.read_bytes().splitlines() if line]
    assert not any(e.get("state") == "committed" for e in events)
    assert asyncio.run(snapshot(target)) != before, "nothing was written before the kill"

    assert main(["migrate", f"--{recovery}", str(journal)]) == 0
    after = asyncio.run(snapshot(target))
    if recovery == "rollback":
        assert after == before
    else:
        wanted = asyncio.run(snapshot(source))
        assert after == {**wanted, **before}
