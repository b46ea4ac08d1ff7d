"""A migration into an empty store of the source's own backend copies records as
stored (no export file): exact, journaled, resumable and reversible like an import."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from memorygraph.backends import sqlite_copy
from memorygraph.backends.registry import create_backend
from memorygraph.config import BackendConfig
from memorygraph.errors import MigrationError
from memorygraph.migration.journal import read_state
from memorygraph.migration.manager import MigrationManager
from memorygraph.migration.models import MigrationOptions
from memorygraph.models import Memory
from memorygraph.search.text import PLAIN, field_texts
from tests.migration.helpers import dropping_factory, fill, snapshot


def sqlite(path: Path) -> BackendConfig:
    return BackendConfig("sqlite", path=path)


@pytest.fixture
async def source(tmp_path: Path) -> BackendConfig:
    config = sqlite(tmp_path / "source.db")
    await fill(config)  # 73 memories, 132 relationships, hostile text included
    return config


def search_rows(path: Path) -> dict[str, tuple[str, str]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT m.id, s.title, s.body FROM memories m "
            "JOIN memories_search s ON s.rowid = m.rowid"
        ).fetchall()
    return {i: (title, body) for i, title, body in rows}


def derived_rows(path: Path) -> dict[str, tuple[str, str]]:
    with sqlite3.connect(path) as conn:
        docs = conn.execute("SELECT doc FROM memories").fetchall()
    found = {}
    for (doc,) in docs:
        m = Memory.parse_json(doc)
        found[m.id] = field_texts(m.title, m.content, m.summary, m.tags, PLAIN)
    return found


async def cut_off_copy(
    source: BackendConfig, target: BackendConfig, work: Path, after_batches: int
) -> Path:
    """Copy `source` into `target` (10 records a page) until the target's connection
    drops after `after_batches` relationship pages; the journal left behind."""
    manager = MigrationManager(backend_factory=dropping_factory(target, after_batches))
    options = MigrationOptions(workdir=work, rollback_on_failure=False, batch_size=10)
    with pytest.raises(MigrationError) as info:
        await manager.migrate(source, target, options)
    return Path(info.value.result.journal_path)


async def test_copy_writes_no_export_and_journals_every_page(
    source: BackendConfig, tmp_path: Path
) -> None:
    target = sqlite(tmp_path / "target.db")
    seen: list[str] = []
    manager = MigrationManager(progress=lambda phase, *_: seen.append(phase))
    options = MigrationOptions(workdir=tmp_path / "w", batch_size=20, rollback_on_failure=False)
    result = await manager.migrate(source, target, options)
    assert result.success
    assert "export" not in seen and "import" not in seen and "copy" in seen
    assert (result.memories.read, result.relationships.read) == (73, 132)
    assert (result.memories.inserted, result.relationships.inserted) == (73, 132)
    assert await snapshot(target) == await snapshot(source)
    assert result.verification is not None and result.verification.passed == 205


async def test_copy_carries_the_source_search_terms_only_when_they_are_current(
    source: BackendConfig, tmp_path: Path
) -> None:
    assert source.path is not None
    # Terms the derivation would never give, marked current: they are taken as stored.
    with sqlite3.connect(source.path) as conn:
        conn.execute("UPDATE memories_search SET title = 'carried ' || rowid")
    carried = sqlite(tmp_path / "carried.db")
    await MigrationManager().migrate(source, carried, MigrationOptions(workdir=tmp_path / "w"))
    assert carried.path is not None
    assert search_rows(carried.path) == search_rows(source.path)

    # Marked as written by another derivation: the copy derives them again.
    with sqlite3.connect(source.path) as conn:
        conn.execute("UPDATE mg_meta SET value = 'older' WHERE key = 'search_index'")
    derived = sqlite(tmp_path / "derived.db")
    await MigrationManager().migrate(source, derived, MigrationOptions(workdir=tmp_path / "w"))
    assert derived.path is not None
    assert search_rows(derived.path) == derived_rows(source.path)
    assert len(search_rows(derived.path)) == 73
    async with create_backend(derived) as backend:
        assert await backend.search_total() == 73


async def test_an_invalid_stored_record_fails_the_copy_and_nothing_stays(
    source: BackendConfig, tmp_path: Path
) -> None:
    assert source.path is not None
    with sqlite3.connect(source.path) as conn:
        # The last memory in id order, so earlier pages are written before it is read.
        (last,) = conn.execute("SELECT max(id) FROM memories").fetchone()
        conn.execute(
            "UPDATE memories SET doc = json_set(doc, '$.importance', 7) WHERE id = ?", (last,)
        )
    target = sqlite(tmp_path / "target.db")
    options = MigrationOptions(workdir=tmp_path / "w", batch_size=10)
    with pytest.raises(MigrationError) as failed:
        await MigrationManager().migrate(source, target, options)
    assert last in str(failed.value) or "importance" in str(failed.value)
    assert failed.value.result.rolled_back is True
    assert await snapshot(target) == {}


async def test_resume_of_an_interrupted_copy_exports_the_rest_and_finishes(
    source: BackendConfig, tmp_path: Path
) -> None:
    target = sqlite(tmp_path / "target.db")
    journal = await cut_off_copy(source, target, tmp_path / "w", after_batches=3)
    state = read_state(journal)
    assert state.copied_directly and not state.export_path.exists()

    result = await MigrationManager().resume(journal)
    assert result.success
    assert [p.name for p in result.phases][:2] == ["export", "import"]
    assert result.memories.unchanged == 73 and result.relationships.unchanged == 30
    assert result.relationships.inserted == 132 - 30
    assert await snapshot(target) == await snapshot(source)


async def test_rollback_of_an_interrupted_copy_removes_exactly_what_it_wrote(
    source: BackendConfig, tmp_path: Path
) -> None:
    target = sqlite(tmp_path / "target.db")
    journal = await cut_off_copy(source, target, tmp_path / "w", after_batches=2)
    assert len(await snapshot(target)) == 73 + 20
    report = await MigrationManager().rollback(journal)
    assert report.memories.deleted == 73
    assert await snapshot(target) == {}


async def test_a_target_that_holds_records_goes_through_an_export(
    source: BackendConfig, tmp_path: Path
) -> None:
    target = sqlite(tmp_path / "target.db")
    await fill(target, n=3, tricky=False)
    result = await MigrationManager().migrate(
        source, target, MigrationOptions(workdir=tmp_path / "w")
    )
    assert result.success
    assert "copy" not in [p.name for p in result.phases]
    assert {"export", "import"} <= {p.name for p in result.phases}


def index_names(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}


async def test_every_index_is_there_after_a_copy_whether_it_finished_or_failed(
    source: BackendConfig, tmp_path: Path
) -> None:
    expected = index_names(source.path)  # type: ignore[arg-type]
    assert {"relationships_from", "memories_written_at"} <= expected
    done = sqlite(tmp_path / "done.db")
    await MigrationManager().migrate(source, done, MigrationOptions(workdir=tmp_path / "w"))
    assert index_names(done.path) == expected  # type: ignore[arg-type]

    failed = sqlite(tmp_path / "failed.db")
    journal = await cut_off_copy(source, failed, tmp_path / "w", after_batches=1)
    # The dropped connection could not build them; the rollback's open does first.
    await MigrationManager().rollback(journal)
    assert index_names(failed.path) == expected  # type: ignore[arg-type]
    assert await snapshot(failed) == {}


async def test_a_store_a_killed_copy_left_without_indexes_gets_them_when_opened(
    source: BackendConfig, tmp_path: Path
) -> None:
    assert source.path is not None
    expected = index_names(source.path)
    store = tmp_path / "store.db"
    store.write_bytes(source.path.read_bytes())
    with sqlite3.connect(store) as conn:
        conn.execute("DROP INDEX relationships_from")
        conn.execute("DROP INDEX memories_type")
    async with create_backend(sqlite(store).read_only_copy()) as backend:
        assert await backend.count_memories() == 73  # a reader builds nothing
    assert index_names(store) == expected - {"relationships_from", "memories_type"}
    async with create_backend(sqlite(store)) as backend:
        assert await backend.count_memories() == 73
    assert index_names(store) == expected


async def test_the_copy_takes_the_change_time_from_the_validated_record(
    source: BackendConfig, tmp_path: Path
) -> None:
    assert source.path is not None
    with sqlite3.connect(source.path) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM memories ORDER BY id LIMIT 2")]
        canonical = dict(conn.execute("SELECT id, changed_at FROM memories"))
        # The same instant in another spelling, and another instant.
        conn.execute(
            "UPDATE memories SET changed_at = replace(changed_at, 'T', ' ') WHERE id = ?",
            (ids[0],),
        )
        conn.execute(
            "UPDATE memories SET changed_at = '1999-01-01T00:00:00.000000+00:00' WHERE id = ?",
            (ids[1],),
        )
    target = sqlite(tmp_path / "target.db")
    await MigrationManager().migrate(source, target, MigrationOptions(workdir=tmp_path / "w"))
    assert target.path is not None
    with sqlite3.connect(target.path) as conn:
        assert dict(conn.execute("SELECT id, changed_at FROM memories")) == canonical


async def test_a_sqlite_without_json_arrows_copies_row_by_row(
    source: BackendConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_copy, "_JSON_ROWS", False)
    target = sqlite(tmp_path / "target.db")
    result = await MigrationManager().migrate(
        source, target, MigrationOptions(workdir=tmp_path / "w", batch_size=20)
    )
    assert result.success and "copy" in [p.name for p in result.phases]
    assert await snapshot(target) == await snapshot(source)
    assert target.path is not None and source.path is not None
    assert search_rows(target.path) == search_rows(source.path)
