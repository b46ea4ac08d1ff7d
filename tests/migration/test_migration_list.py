"""The list of migrations gives each its counts: what a journal left behind wrote,
what a run of this process read, wrote and verified, what a rollback undid."""

from __future__ import annotations

from pathlib import Path

import pytest

from memorygraph.config import BackendConfig
from memorygraph.errors import MigrationError
from memorygraph.migration.journal import written_counts
from memorygraph.migration.manager import MigrationManager
from memorygraph.migration.models import MigrationOptions
from memorygraph.ops.graph_inputs import MigrateStore
from memorygraph.ops.migrations import MigrationDesk, list_migrations
from tests.migration.helpers import dropping_factory, fill


def _sqlite(path: Path) -> BackendConfig:
    return BackendConfig("sqlite", path=path)


async def test_each_migration_is_listed_with_its_counts(tmp_path: Path) -> None:
    source, work = _sqlite(tmp_path / "source.db"), tmp_path / "work"
    await fill(source, n=30, tricky=False)
    failing = _sqlite(tmp_path / "failing.db")
    manager = MigrationManager(backend_factory=dropping_factory(failing, after_batches=1))
    with pytest.raises(MigrationError):
        await manager.migrate(
            source,
            failing,
            MigrationOptions(workdir=work, rollback_on_failure=False, batch_size=20),
        )
    journal = next(work.glob("*/journal.jsonl"))
    written = written_counts(journal)
    assert written["memories_inserted"] == 30
    assert 0 < written["relationships_inserted"] < 60, "the link dropped half-way"
    (left,) = list_migrations(work).migrations
    assert left.counts == {name: n for name, n in written.items() if n}

    desk = MigrationDesk(source, work, {})
    report = await desk.migrate(_sqlite(tmp_path / "copy.db"), MigrateStore())
    undone = await desk.rollback(journal.parent.name)
    listed = {m.migration_id: m for m in desk.list().migrations}
    done = listed[report.migration_id]
    assert done.state == "committed" and done.verification == "passed: 90 of 90 records matched"
    assert done.counts["memories_read"] == 30 and done.counts["relationships_inserted"] == 60
    rolled = listed[journal.parent.name]
    assert rolled.state == "rolled_back"
    assert rolled.counts["deleted_memories"] == undone.deleted_memories == 30
    assert rolled.counts["deleted_relationships"] == written["relationships_inserted"]
