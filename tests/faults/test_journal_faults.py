"""The journal under faults: intent lines without their write, locations recorded
absolutely, options that change behaviour honoured on resume, honest rollback reports,
and clear words for a file that is not a journal."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from memorygraph.backends.registry import create_backend
from memorygraph.config import BackendConfig
from memorygraph.errors import MigrationError, UsageError
from memorygraph.migration.manager import MigrationManager
from memorygraph.migration.models import MigrationOptions
from memorygraph.models import Memory
from memorygraph.sample import sample_memories, sample_relationships
from tests.faults.helpers import (
    clean_env,
    cut_after_last_intent,
    intents,
    kill,
    location_args,
    run_cli,
    start,
    wait_for,
)
from tests.migration.helpers import dropping_factory, fill, snapshot


def _sqlite(path: Path) -> BackendConfig:
    return BackendConfig("sqlite", path=path)


async def _keep_theirs(config: BackendConfig) -> None:
    async with create_backend(config) as backend:
        await backend.upsert_memories([Memory(id="theirs", type="task", title="kept")])


def _killed_mid_import(tmp_path: Path, n: int = 400) -> tuple[BackendConfig, BackendConfig, Path]:
    source, target = _sqlite(tmp_path / "source.db"), _sqlite(tmp_path / "target.db")
    asyncio.run(fill(source, n=n, tricky=False))
    asyncio.run(_keep_theirs(target))
    work = tmp_path / "work"
    proc = start(
        [
            "migrate",
            *location_args("from", source),
            *location_args("to", target),
            "--workdir",
            str(work),
            "--batch-size",
            "10",
        ]
    )
    journal = wait_for(proc, work, lambda j: intents(j) >= 8)
    kill(proc)
    return source, target, journal


def test_rollback_removes_a_batch_announced_by_intent_but_never_recorded(tmp_path: Path) -> None:
    _, target, journal = _killed_mid_import(tmp_path)
    cut_after_last_intent(journal)
    before = {"m:theirs"}
    result = run_cli(["migrate", "--rollback", str(journal)])
    assert result.returncode == 0, result.stderr
    assert set(asyncio.run(snapshot(target))) == before


def test_rollback_after_an_interrupted_resume_removes_a_batch_announced_by_intent(
    tmp_path: Path,
) -> None:
    _, target, journal = _killed_mid_import(tmp_path)
    cut_after_last_intent(journal)
    announced = intents(journal)
    proc = start(["migrate", "--resume", str(journal)])
    wait_for(proc, journal.parent.parent, lambda j: intents(j) >= announced + 8)
    kill(proc)
    result = run_cli(["migrate", "--rollback", str(journal)])
    assert result.returncode == 0, result.stderr
    assert set(asyncio.run(snapshot(target))) == {"m:theirs"}


def test_resume_after_a_batch_announced_by_intent_completes(tmp_path: Path) -> None:
    source, target, journal = _killed_mid_import(tmp_path)
    cut_after_last_intent(journal)
    theirs = {k: v for k, v in asyncio.run(snapshot(target)).items() if k == "m:theirs"}
    resumed = run_cli(["migrate", "--resume", str(journal)])
    assert resumed.returncode == 0, resumed.stderr
    assert asyncio.run(snapshot(target)) == {**asyncio.run(snapshot(source)), **theirs}


def test_relative_target_path_is_rolled_back_from_another_directory(tmp_path: Path) -> None:
    here, elsewhere = tmp_path / "here", tmp_path / "elsewhere"
    here.mkdir()
    elsewhere.mkdir()
    source = _sqlite(tmp_path / "source.db")
    asyncio.run(fill(source, n=400, tricky=False))
    asyncio.run(_keep_theirs(_sqlite(here / "t.db")))
    work = tmp_path / "work"
    proc = start(
        [
            "migrate",
            *location_args("from", source),
            "--to",
            "sqlite",
            "--to-path",
            "t.db",
            "--workdir",
            str(work),
            "--batch-size",
            "10",
        ],
        cwd=here,
    )
    journal = wait_for(proc, work, lambda j: intents(j) >= 8)
    kill(proc)
    header = orjson.loads(journal.read_bytes().splitlines()[0])
    assert header["target"]["path"] == str((here / "t.db").resolve())

    result = run_cli(["migrate", "--rollback", str(journal)], cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    assert not (elsewhere / "t.db").exists()
    assert set(asyncio.run(snapshot(_sqlite(here / "t.db")))) == {"m:theirs"}


async def test_resume_replaces_older_records_as_the_run_did(tmp_path: Path) -> None:
    source, target = _sqlite(tmp_path / "source.db"), _sqlite(tmp_path / "target.db")
    await fill(source, n=60, tricky=False)
    day = timedelta(days=1)
    async with create_backend(target) as backend:
        await backend.upsert_memories(list(sample_memories(60)))
        # The target's versions of the relationships are a day older than the source's.
        older = [
            r.model_copy(
                update={"strength": 0.01, "created_at": r.created_at - day, "recorded_at": None}
            )
            for r in sample_relationships(60)
        ]
        await backend.upsert_relationships(older)
    options = MigrationOptions(
        rollback_on_failure=False,
        batch_size=10,
        workdir=tmp_path / "work",
    )
    with pytest.raises(MigrationError) as failed:
        await MigrationManager(backend_factory=dropping_factory(target, 2)).migrate(
            source, target, options
        )
    journal = Path(failed.value.result.journal_path)
    result = await MigrationManager().resume(journal)
    assert result.success
    assert await snapshot(target) == await snapshot(source)


async def test_rollback_report_counts_relationships_removed_with_their_memories(
    tmp_path: Path,
) -> None:
    source, target = _sqlite(tmp_path / "source.db"), _sqlite(tmp_path / "target.db")
    await fill(source, n=60, tricky=False)
    options = MigrationOptions(rollback_on_failure=False, batch_size=10, workdir=tmp_path / "w")
    with pytest.raises(MigrationError) as failed:
        await MigrationManager(backend_factory=dropping_factory(target, 5)).migrate(
            source, target, options
        )
    report = await MigrationManager().rollback(Path(failed.value.result.journal_path))
    assert report.memories.deleted == 60
    assert report.relationships.deleted == 50
    assert await snapshot(target) == {}


def test_rollback_of_a_database_file_says_it_is_not_a_journal(tmp_path: Path) -> None:
    db = tmp_path / "some.db"
    asyncio.run(fill(_sqlite(db), n=5, tricky=False))
    result = run_cli(["migrate", "--rollback", str(db)])
    assert result.returncode == 2
    assert "not a memorygraph migration journal" in result.stderr
    assert "damaged" not in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("missing", ["target", "export", "source"])
def test_journal_header_missing_a_key_is_one_clear_line(tmp_path: Path, missing: str) -> None:
    _, _, journal = _killed_mid_import(tmp_path, n=200)
    lines = journal.read_bytes().splitlines(keepends=True)
    header = orjson.loads(lines[0])
    del header[missing]
    journal.write_bytes(orjson.dumps(header) + b"\n" + b"".join(lines[1:]))
    for action in ("--rollback", "--resume"):
        result = run_cli(["migrate", action, str(journal)], env=clean_env())
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
        assert missing in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_journal_header_checks_happen_in_the_library(tmp_path: Path) -> None:
    journal = tmp_path / "journal.jsonl"
    journal.write_bytes(b'{"journal": "memorygraph-migration", "version": 1}\n')
    with pytest.raises(UsageError, match="target"):
        asyncio.run(MigrationManager().rollback(journal))
