"""A migrating process killed with SIGKILL mid-import: its journal lets
`migrate --rollback` restore the target exactly, or `migrate --resume` finish
the move without duplicating anything."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest

from memorygraph.backends.registry import create_backend
from memorygraph.cli.main import main
from memorygraph.config import BackendConfig
from memorygraph.models import Memory
from tests.migration.helpers import fill, kill_mid_import, snapshot


async def keep_one(config: BackendConfig) -> None:
    async with create_backend(config) as backend:
        await backend.upsert_memories([Memory(id="theirs", type="task", title="kept")])


@pytest.mark.parametrize("recovery", ["rollback", "resume"])
def test_sigkill_mid_import_then_recover(tmp_path: Path, recovery: str) -> None:
    source = BackendConfig("sqlite", path=tmp_path / "source.db")
    target = BackendConfig("sqlite", path=tmp_path / "target.db")
    asyncio.run(fill(source, n=1500, tricky=False))
    asyncio.run(keep_one(target))
    before = asyncio.run(snapshot(target))
    journal = kill_mid_import(source.path, target.path, tmp_path / "work")  # type: ignore[arg-type]

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
