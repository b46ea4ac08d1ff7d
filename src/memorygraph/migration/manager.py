"""`MigrationManager`: move a whole memory graph from one backend to another.

Phases, in order (each timed in the report):

    validate_source → validate_target → compatibility → export → validate_export
    → [dry run stops here: plan] → import → verify → commit | rollback

* The source is opened read-only: it is never written.
* A dry run opens the target read-only too and reports what would be inserted,
  updated, unchanged, left out as older, skipped as duplicate or rejected.
* Records and tombstones are applied by change stamp (`memorygraph.changes`): a
  record replaces only an older version, a tombstone deletes only a record not
  newer than it. `skip_duplicates` instead keeps every record the target holds.
* The import journals every id it inserts (and the before-image of anything it
  replaces or deletes) in a journal file; rollback puts back exactly what the
  target held, leaving no tombstones. A crash leaves the journal for
  `rollback()` or `resume()`.
* Temporary files are removed in every outcome, except the journal and export
  a crashed or un-rolled-back migration still needs.

This module runs a migration: `MigrationManager.migrate` prepares the run and
walks the phases in order. The phases themselves are in
`memorygraph.migration.phases`, what a failure or an interrupt does in
`memorygraph.migration.failure`, resuming or rolling back a journal a run left in
`memorygraph.migration.resume`, and a run's state in `memorygraph.migration.run`.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from memorygraph import safefiles
from memorygraph.backends.registry import create_backend
from memorygraph.config import DEFAULT_HOME, BackendConfig
from memorygraph.errors import MigrationError, UsageError
from memorygraph.heap import long_lived_frozen
from memorygraph.kinds import Progress
from memorygraph.migration.failure import close_run, fail_safely, failure
from memorygraph.migration.lock import TargetLock
from memorygraph.migration.models import MigrationOptions, MigrationResult
from memorygraph.migration.phases import (
    check_compatibility,
    copies_directly,
    copy_directly,
    export_source,
    holds_nothing,
    import_export,
    open_target,
    plan,
    validate_target,
    verify_target,
)
from memorygraph.migration.resume import SettlesJournals
from memorygraph.migration.run import BackendFactory as BackendFactory
from memorygraph.migration.run import Context, Run, load_shielding, timed_phase
from memorygraph.migration.run import new_migration_id as new_migration_id
from memorygraph.models import format_timestamp, utc_now


class MigrationManager(SettlesJournals):
    """Runs migrations, and settles the journals they leave (`rollback`, `resume`).
    `backend_factory` builds backends from configs (the registry's `create_backend`
    by default); `progress` receives (phase, done, expected)."""

    def __init__(
        self,
        *,
        backend_factory: BackendFactory = create_backend,
        progress: Progress | None = None,
    ) -> None:
        self._context = Context(backend_factory, progress)

    async def migrate(
        self, source: BackendConfig, target: BackendConfig, options: MigrationOptions
    ) -> MigrationResult:
        """Move every record (or those changed since `options.since`) from source to target.

        Returns the report on success. Raises `UsageError` for a bad request made
        before anything ran, and `MigrationError` (with `.result`, which says whether
        the target was rolled back) when a phase fails.
        """
        load_shielding()
        source = source.read_only_copy()
        if source.same_location(target):
            raise UsageError(
                f"source and target are the same store ({target.describe()}); choose another target"
            )
        migration_id = options.migration_id or new_migration_id()
        root = (options.workdir or DEFAULT_HOME / "migrations").expanduser().resolve()
        workdir = root / migration_id
        lock = None if options.dry_run else TargetLock(target, workdir / "journal.jsonl").acquire()
        started = time.perf_counter()
        try:
            if options.dry_run:
                # A dry run leaves nothing behind: its export goes to a temporary directory.
                workdir = Path(tempfile.mkdtemp(prefix=f"memorygraph-dry-run-{migration_id}-"))
            else:
                # Private: the export and the journal in it hold the whole graph.
                safefiles.make_private_dir(workdir, "the working directory", field="workdir")
        except (OSError, UsageError) as e:
            if lock is not None:
                lock.release()
            if isinstance(e, UsageError):
                raise
            raise UsageError(
                f"cannot create the working directory {workdir}: {e.strerror}; "
                "choose another workdir"
            ) from e
        run = Run(
            result=MigrationResult(
                dry_run=options.dry_run,
                source=source.describe(),
                target=target.describe(),
                # Before the source is opened: a record written from here on is at or
                # after this stamp, so the next run `since` it misses nothing.
                started_at=format_timestamp(utc_now()),
            ),
            started=started,
            workdir=workdir,
            export_path=workdir / "export.jsonl",
        )
        try:
            with long_lived_frozen():
                await self._pipeline(run, source, target, options)
            run.result.success = True
            return run.result
        except (Exception, KeyboardInterrupt, asyncio.CancelledError) as e:
            await fail_safely(self._context, run, target, options, e)
            if isinstance(e, UsageError) and run.journal is None:
                e.result = run.result
                raise  # bad configuration found before any write: exit code 2, as is
            raise failure(run, e) from e
        finally:
            close_run(run)
            if lock is not None:
                lock.release()

    async def _pipeline(
        self,
        run: Run,
        source_config: BackendConfig,
        target_config: BackendConfig,
        options: MigrationOptions,
    ) -> None:
        result = run.result
        # One snapshot of the source from its counts to verification, where the engine
        # offers one: writes made meanwhile are neither exported nor expected.
        async with self._context.open(source_config) as source, source.read_snapshot():
            async with timed_phase(run, "validate_source") as phase:
                health = await source.health()
                result.source_stats = health.to_dict()
                if not health.connected:
                    raise MigrationError(f"source {source.describe()} is unhealthy: {health.error}")
                phase.records = (health.memory_count or 0) + (health.relationship_count or 0)

            target_cfg = target_config.read_only_copy() if options.dry_run else target_config
            target_exists = not (
                options.dry_run
                and target_cfg.spec.uses_path
                and target_cfg.path is not None
                and holds_nothing(target_cfg.path.expanduser())
            )
            async with open_target(self._context, target_cfg, target_exists) as target:
                await validate_target(run, target)
                await check_compatibility(run, source, target)
                if target is not None and copies_directly(run, options):
                    await copy_directly(
                        self._context, run, source_config, target_config, source, target, options
                    )
                else:
                    await export_source(self._context, run, source, options)
                    if options.dry_run:
                        await plan(run, target, options)
                        return
                    assert target is not None, "a real run always opens its target"
                    await import_export(
                        self._context, run, source_config, target_config, target, options
                    )
                await verify_target(self._context, run, source, target, options)
                if run.journal is not None:
                    run.journal.set_state("committed")
                    run.committed = True
                result.target_stats = (await target.health()).to_dict()
