"""Each phase of the migration manager, against real SQLite stores (no mocks)."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from memorygraph.backends.registry import create_backend
from memorygraph.config import BackendConfig
from memorygraph.errors import DatabaseFileError, MigrationError, UsageError
from memorygraph.migration.journal import read_state
from memorygraph.migration.manager import MigrationManager
from memorygraph.migration.models import MigrationOptions, VerifyMode
from memorygraph.models import Memory, Relationship
from memorygraph.sample import EPOCH
from tests.migration.helpers import dropping_factory, fill, snapshot


def sqlite(path: Path) -> BackendConfig:
    return BackendConfig("sqlite", path=path)


@pytest.fixture
def work(tmp_path: Path) -> Path:
    return tmp_path / "work"


@pytest.fixture
async def source(tmp_path: Path) -> BackendConfig:
    config = sqlite(tmp_path / "source.db")
    await fill(config)
    return config


def opts(work: Path, **kw: object) -> MigrationOptions:
    return MigrationOptions(workdir=work, **kw)  # type: ignore[arg-type]


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("direct_copy", "moved_by"), [(True, ["copy"]), (False, ["export", "import"])]
)
async def test_healthy_source_moves_every_record_exactly(
    source: BackendConfig, tmp_path: Path, work: Path, direct_copy: bool, moved_by: list[str]
) -> None:
    target = sqlite(tmp_path / "target.db")
    source_bytes = file_hash(source.path)  # type: ignore[arg-type]
    result = await MigrationManager().migrate(source, target, opts(work, direct_copy=direct_copy))
    assert result.success
    assert await snapshot(target) == await snapshot(source)
    assert (result.memories.read, result.relationships.read) == (73, 132)
    assert (result.memories.inserted, result.relationships.inserted) == (73, 132)
    assert result.verification is not None and result.verification.valid
    assert result.verification.checked == result.verification.passed == 205
    assert [p.name for p in result.phases] == [
        "validate_source",
        "validate_target",
        "compatibility",
        *moved_by,
        "verify",
    ]
    assert file_hash(source.path) == source_bytes, "the source was written"  # type: ignore[arg-type]
    assert list(work.iterdir()) == [], "temporary files were left behind"


async def test_unreachable_source_fails_before_any_write(tmp_path: Path, work: Path) -> None:
    target = sqlite(tmp_path / "target.db")
    missing = sqlite(tmp_path / "absent.db")
    with pytest.raises(DatabaseFileError, match="no database"):
        await MigrationManager().migrate(missing, target, opts(work))
    assert not (tmp_path / "target.db").exists()
    down = BackendConfig("falkordb", uri="redis://127.0.0.1:9", timeout_seconds=2)
    with pytest.raises(MigrationError, match="before anything was written") as info:
        await MigrationManager().migrate(down, target, opts(work))
    assert info.value.result.rolled_back is None
    assert not (tmp_path / "target.db").exists()


async def test_source_equal_to_target_is_refused(source: BackendConfig, work: Path) -> None:
    with pytest.raises(UsageError, match="same store"):
        await MigrationManager().migrate(source, source, opts(work))


async def test_target_with_data_is_warned_and_kept(
    source: BackendConfig, tmp_path: Path, work: Path
) -> None:
    target = sqlite(tmp_path / "target.db")
    async with create_backend(target) as b:
        await b.upsert_memories([Memory(id="theirs", type="task", title="pre-existing")])
    result = await MigrationManager().migrate(source, target, opts(work))
    assert any("already holds 1 memories" in w for w in result.warnings)
    after = await snapshot(target)
    assert "m:theirs" in after and len(after) == 206


async def test_dry_run_writes_nothing_and_reports_the_plan(
    source: BackendConfig, tmp_path: Path, work: Path
) -> None:
    target = sqlite(tmp_path / "target.db")
    await fill(target, n=10, tricky=False)  # ten of the source's memories already there
    before = file_hash(target.path)  # type: ignore[arg-type]
    result = await MigrationManager().migrate(source, target, opts(work, dry_run=True))
    assert result.success and result.dry_run
    assert file_hash(target.path) == before  # type: ignore[arg-type]
    assert (result.memories.inserted, result.memories.unchanged) == (63, 10)
    # The target's 20 relationships share ids and stamps with the source's but not
    # their ends: ties, which the digest breaks one way or the other.
    ties = result.relationships.updated + result.relationships.older
    assert (result.relationships.inserted, ties) == (112, 20)
    absent = sqlite(tmp_path / "new.db")
    planned = await MigrationManager().migrate(source, absent, opts(work, dry_run=True))
    assert planned.memories.inserted == 73
    assert not (tmp_path / "new.db").exists()


async def test_failure_mid_import_leaves_target_exactly_as_before(
    source: BackendConfig, tmp_path: Path, work: Path
) -> None:
    target = sqlite(tmp_path / "target.db")
    await fill(target, n=5, tricky=False)
    async with create_backend(target) as b:
        await b.upsert_memories([Memory(id="theirs", type="task", title="pre-existing")])
    before = await snapshot(target)
    manager = MigrationManager(backend_factory=dropping_factory(target, after_batches=2))
    with pytest.raises(MigrationError, match="rolled back") as info:
        await manager.migrate(source, target, opts(work, batch_size=20))
    assert info.value.result.rolled_back is True
    moved = info.value.result.relationships
    held = moved.updated + moved.older  # ties with the target's own, by digest
    assert (moved.inserted, held) == (30, 10), "the drop came mid-import"
    assert await snapshot(target) == before
    assert list(work.iterdir()) == []


async def test_overwrites_are_restored_by_rollback(
    source: BackendConfig, tmp_path: Path, work: Path
) -> None:
    target = sqlite(tmp_path / "target.db")
    await fill(target, n=5, tricky=False)
    async with create_backend(target) as b:
        await b.upsert_memories([(await b.get_memory("mem-00000001")).changed(title="theirs")])  # type: ignore[union-attr]
    before = await snapshot(target)
    manager = MigrationManager(backend_factory=dropping_factory(target, after_batches=1))
    with pytest.raises(MigrationError):
        await manager.migrate(source, target, opts(work, batch_size=20))
    assert await snapshot(target) == before


async def test_crash_then_rollback_from_journal(
    source: BackendConfig, tmp_path: Path, work: Path
) -> None:
    target = sqlite(tmp_path / "target.db")
    await fill(target, n=3, tricky=False)
    before = await snapshot(target)
    manager = MigrationManager(backend_factory=dropping_factory(target, after_batches=1))
    with pytest.raises(MigrationError, match="NOT rolled back") as info:
        await manager.migrate(source, target, opts(work, rollback_on_failure=False, batch_size=10))
    journal = Path(info.value.result.journal_path)
    assert read_state(journal).state == "failed"
    assert await snapshot(target) != before
    report = await MigrationManager().rollback(journal)
    assert report.memories.deleted == 70
    assert await snapshot(target) == before
    assert read_state(journal).state == "rolled_back"


async def test_resume_finishes_without_duplicates(
    source: BackendConfig, tmp_path: Path, work: Path
) -> None:
    target = sqlite(tmp_path / "target.db")
    manager = MigrationManager(backend_factory=dropping_factory(target, after_batches=3))
    with pytest.raises(MigrationError) as info:
        await manager.migrate(source, target, opts(work, rollback_on_failure=False, batch_size=10))
    journal = Path(info.value.result.journal_path)
    result = await MigrationManager().resume(journal)
    assert result.success
    assert result.relationships.inserted == 132 - 30
    assert await snapshot(target) == await snapshot(source)
    assert not journal.parent.exists(), "a finished migration left its files behind"


@pytest.mark.parametrize("edit", ["memory", "relationship", "trailer"])
async def test_resume_refuses_an_export_changed_after_the_interruption(
    source: BackendConfig, tmp_path: Path, work: Path, edit: str
) -> None:
    target = sqlite(tmp_path / "target.db")
    manager = MigrationManager(backend_factory=dropping_factory(target, after_batches=3))
    options = opts(work, rollback_on_failure=False, batch_size=10, direct_copy=False)
    with pytest.raises(MigrationError) as info:
        await manager.migrate(source, target, options)
    journal = Path(info.value.result.journal_path)
    export = read_state(journal).export_path
    data = export.read_bytes()
    # Edits that keep every line valid JSON and even keep the record valid: only the
    # file's hash can tell.
    if edit == "memory":
        changed = data.replace(b'"importance":0.5', b'"importance":0.6', 1)
    elif edit == "relationship":
        lines = data.splitlines(keepends=True)
        last_rel = max(i for i, line in enumerate(lines) if b'"kind":"relationship"' in line)
        lines[last_rel] = lines[last_rel].replace(b'"strength":', b'"strength":0.25,"x":', 1)
        changed = b"".join(lines)
    else:
        changed = data.replace(b'"kind":"trailer"', b'"kind":"trailer","extra":1', 1)
    assert changed != data
    export.write_bytes(changed)
    before = await snapshot(target)
    with pytest.raises(MigrationError, match="changed after it was written"):
        await MigrationManager().resume(journal)
    assert await snapshot(target) == before, "the resume wrote from a changed export"


async def test_since_moves_only_changed_records_and_links_existing_ends(
    source: BackendConfig, tmp_path: Path, work: Path
) -> None:
    target = sqlite(tmp_path / "target.db")
    await MigrationManager().migrate(source, target, opts(work))
    later = EPOCH + timedelta(days=400)
    await asyncio.sleep(0.002)
    since = datetime.now(UTC)
    await asyncio.sleep(0.002)
    async with create_backend(source) as b:
        edited = (await b.get_memory("mem-00000002")).changed(  # type: ignore[union-attr]
            title="edited", updated_at=later
        )
        fresh = Memory(id="fresh", type="fix", title="new one", created_at=later)
        await b.upsert_memories([edited, fresh])
        await b.upsert_relationships(
            [
                Relationship(
                    id="fresh-rel",
                    from_id="fresh",
                    to_id="mem-00000003",
                    type="SOLVES",
                    created_at=later,
                )
            ]
        )
    result = await MigrationManager().migrate(source, target, opts(work, since=since))
    assert (result.memories.read, result.relationships.read) == (2, 1)
    assert (result.memories.inserted, result.memories.updated) == (1, 1)
    assert await snapshot(target) == await snapshot(source)


async def test_no_verify_and_sample_modes(
    source: BackendConfig, tmp_path: Path, work: Path
) -> None:
    none = await MigrationManager().migrate(
        source, sqlite(tmp_path / "a.db"), opts(work, verify=VerifyMode.NONE)
    )
    assert none.verification is None
    assert [p.status for p in none.phases if p.name == "verify"] == ["skipped"]
    sample = await MigrationManager().migrate(
        source, sqlite(tmp_path / "b.db"), opts(work, verify=VerifyMode.SAMPLE, sample_every=10)
    )
    assert sample.verification is not None and sample.verification.valid
    assert 0 < sample.verification.checked < 205


async def test_ctrl_c_mid_import_rolls_back_and_cleans_up(
    source: BackendConfig, tmp_path: Path, work: Path
) -> None:
    target = sqlite(tmp_path / "target.db")
    await fill(target, n=2, tricky=False)
    before = await snapshot(target)

    def interrupt(phase: str, done: int, total: int | None) -> None:
        if phase == "import" and done >= 60:
            raise KeyboardInterrupt

    manager = MigrationManager(progress=interrupt)
    with pytest.raises(MigrationError, match="rolled back") as info:
        await manager.migrate(source, target, opts(work, batch_size=20))
    assert info.value.result.rolled_back is True
    assert await snapshot(target) == before
    assert list(work.iterdir()) == []


async def test_differing_records_kept_by_skip_duplicates_are_a_warning(
    source: BackendConfig, tmp_path: Path, work: Path
) -> None:
    target = sqlite(tmp_path / "target.db")
    async with create_backend(target) as b:
        await b.upsert_memories([Memory(id="mem-00000001", type="task", title="theirs")])
    result = await MigrationManager().migrate(source, target, opts(work, skip_duplicates=True))
    assert result.success and result.memories.skipped == 1
    assert any("1 record(s) the target already held differ" in w for w in result.warnings)
    assert (await snapshot(target))["m:mem-00000001"] != (await snapshot(source))["m:mem-00000001"]


async def test_unusable_workdir_is_a_usage_error(source: BackendConfig, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(UsageError, match="cannot create the working directory"):
        await MigrationManager().migrate(
            source, sqlite(tmp_path / "t.db"), MigrationOptions(workdir=blocker / "work")
        )
    assert not (tmp_path / "t.db").exists()


@pytest.mark.parametrize(
    ("direct_copy", "moved_by"), [(True, ["copy"]), (False, ["export", "import"])]
)
async def test_progress_is_reported_for_every_long_phase(
    tmp_path: Path, work: Path, direct_copy: bool, moved_by: list[str]
) -> None:
    source = sqlite(tmp_path / "big.db")
    await fill(source, n=2000, tricky=False)
    seen: dict[str, tuple[int, int | None]] = {}

    def record(phase: str, done: int, total: int | None) -> None:
        seen[phase] = (done, total)

    await MigrationManager(progress=record).migrate(
        source, sqlite(tmp_path / "t.db"), opts(work, direct_copy=direct_copy)
    )
    for phase in moved_by:
        assert seen[phase] == (6000, 6000), phase
    assert "validate_export" not in seen, "the export is proven by its hash, not read twice"
    assert seen["verify"] == (6000, 6000)
