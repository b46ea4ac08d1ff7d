"""A dry run into an embedded FalkorDB directory writes nothing there, and a migration
into a directory another process serves says that it depends on that process."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from memorygraph.backends import falkordb_process
from memorygraph.backends.falkordblite import LOCK_FILE
from memorygraph.backends.registry import create_backend
from memorygraph.config import BackendConfig
from memorygraph.models import Memory
from tests.faults.helpers import run_command
from tests.migration.helpers import fill

pytestmark = pytest.mark.falkordblite


def _files(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        # the log, and the lock whose holder writes its pid there, are not the store
        if p.is_file() and p.name not in {falkordb_process.LOG_FILE, LOCK_FILE}
    }


def _dry_run(source: Path, target: Path, work: Path) -> None:
    done = run_command(
        "migrate", "--from", "sqlite", "--from-path", source,
        "--to", "falkordblite", "--to-path", target, "--workdir", work, "--dry-run",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_dry_run_into_an_empty_directory_leaves_it_empty(tmp_path: Path) -> None:
    source = tmp_path / "source.db"
    asyncio.run(fill(BackendConfig("sqlite", path=source), n=20, tricky=False))
    target = tmp_path / "lite"
    target.mkdir()
    _dry_run(source, target, tmp_path / "work")
    assert list(target.iterdir()) == []


def test_dry_run_into_a_store_changes_none_of_its_files(tmp_path: Path) -> None:
    source = tmp_path / "source.db"
    asyncio.run(fill(BackendConfig("sqlite", path=source), n=20, tricky=False))
    target = tmp_path / "lite"
    lite = BackendConfig("falkordblite", path=target)
    asyncio.run(fill(lite, n=10, tricky=False))
    before = _files(target)
    _dry_run(source, target, tmp_path / "work")
    assert _files(target) == before


async def test_migration_into_a_served_directory_warns(tmp_path: Path) -> None:
    source = tmp_path / "source.db"
    await fill(BackendConfig("sqlite", path=source), n=10, tricky=False)
    target = tmp_path / "lite"
    async with create_backend(BackendConfig("falkordblite", path=target)) as owner:
        await owner.upsert_memories([Memory(id="theirs", type="task", title="kept")])
        done = await asyncio.to_thread(
            run_command,
            "migrate", "--from", "sqlite", "--from-path", source,
            "--to", "falkordblite", "--to-path", target,
            "--workdir", tmp_path / "work", "--json",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        warnings = json.loads(done.stdout)["warnings"]
        assert any("served by another process" in w for w in warnings), warnings
        assert await owner.count_memories() == 11
