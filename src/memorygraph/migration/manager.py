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
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio

from memorygraph import safefiles
from memorygraph.backends.base import KINDS, Backend, WriteResult
from memorygraph.backends.registry import create_backend
from memorygraph.config import DEFAULT_HOME, AskPassword, BackendConfig
from memorygraph.errors import (
    JournalWriteError,
    MemoryGraphError,
    MigrationError,
    MigrationInterrupted,
    NextStep,
    StorageFullError,
    UsageError,
)
from memorygraph.exchange import ValidationReport, export_graph, import_graph
from memorygraph.exchange import validate_export as validate_export_file
from memorygraph.exchange.reader import unchanged_trailer
from memorygraph.heap import long_lived_frozen
from memorygraph.idindex import IdIndex
from memorygraph.kinds import Progress
from memorygraph.migration.journal import Journal, JournalState, RollbackReport, read_state, undo
from memorygraph.migration.lock import TargetLock
from memorygraph.migration.models import (
    MigrationOptions,
    MigrationResult,
    PhaseReport,
    ValidationResult,
    VerifyMode,
)
from memorygraph.migration.verify import verify
from memorygraph.models import Memory, Relationship, format_timestamp, utc_now
from memorygraph.sinks import BeforeReplace
from memorygraph.threads import on_loop

BackendFactory = Callable[[BackendConfig], Backend]


@dataclass
class _Run:
    """The mutable state of one migration while it runs."""

    result: MigrationResult
    started: float
    workdir: Path
    export_path: Path
    journal: Journal | None = None
    target_was_empty: bool = True
    #: The export's content hash as its writer reported it (proves it on import).
    export_sha256: str | None = None
    #: Or, for a journal written without that hash, the export's validation.
    validation: ValidationReport | None = None
    #: Ids the import skipped because the target held them (on disk: may be large).
    skipped: IdIndex = field(default_factory=IdIndex)
    #: The journal reached "committed": nothing it describes is left to undo.
    committed: bool = False
    #: Stopped by Ctrl-C or a cancellation (possibly during the rollback).
    interrupted: bool = False
    #: A first run, not a resume (which finds its own earlier writes in the target).
    fresh: bool = True
    #: Why the rollback after a failure did not finish, when it did not.
    rollback_error: MemoryGraphError | None = None

    def settle(self, state: str) -> None:
        """Append a state line if the journal can take it (a full disk may refuse it:
        the outcome is then known from this run, and the journal stays usable)."""
        if self.journal is not None:
            with suppress(JournalWriteError):
                self.journal.set_state(state)

    def kept(self, kind: str, ids: Sequence[str]) -> set[str]:
        return set(ids) - self.skipped.missing(kind, ids)

    @property
    def journal_path(self) -> Path:
        return self.workdir / "journal.jsonl"


class MigrationManager:
    """Runs migrations. `backend_factory` builds backends from configs (the registry's
    `create_backend` by default); `progress` receives (phase, done, expected)."""

    def __init__(
        self,
        *,
        backend_factory: BackendFactory = create_backend,
        progress: Progress | None = None,
    ) -> None:
        self._factory = backend_factory
        self._progress = progress

    def _tick(self, phase: str, done: int, total: int | None = None) -> None:
        if self._progress is not None:
            self._progress(phase, done, total)

    @asynccontextmanager
    async def _open(self, config: BackendConfig) -> AsyncIterator[Backend]:
        backend = self._factory(config)
        try:
            await backend.connect()
            yield backend
        finally:
            await backend.close()

    @asynccontextmanager
    async def _phase(self, run: _Run, name: str) -> AsyncIterator[PhaseReport]:
        report = PhaseReport(name)
        run.result.phases.append(report)
        began = time.perf_counter()
        try:
            yield report
        except BaseException as e:
            report.status = "failed"
            report.detail = str(e) or type(e).__name__
            raise
        finally:
            report.seconds = round(time.perf_counter() - began, 4)

    # --- the pipeline ---------------------------------------------------------------

    async def migrate(
        self, source: BackendConfig, target: BackendConfig, options: MigrationOptions
    ) -> MigrationResult:
        """Move every record (or those changed since `options.since`) from source to target.

        Returns the report on success. Raises `UsageError` for a bad request made
        before anything ran, and `MigrationError` (with `.result`, which says whether
        the target was rolled back) when a phase fails.
        """
        _load_shielding()
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
        run = _Run(
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
            await self._fail_safely(run, target, options, e)
            if isinstance(e, UsageError) and run.journal is None:
                e.result = run.result
                raise  # bad configuration found before any write: exit code 2, as is
            raise self._failure(run, e) from e
        finally:
            run.result.duration_seconds = round(time.perf_counter() - run.started, 4)
            if run.journal is not None:
                run.journal.close()
            run.skipped.close()
            self._cleanup(run)
            if lock is not None:
                lock.release()

    async def _pipeline(
        self,
        run: _Run,
        source_config: BackendConfig,
        target_config: BackendConfig,
        options: MigrationOptions,
    ) -> None:
        result = run.result
        # One snapshot of the source from its counts to verification, where the engine
        # offers one: writes made meanwhile are neither exported nor expected.
        async with self._open(source_config) as source, source.read_snapshot():
            async with self._phase(run, "validate_source") as phase:
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
                and _holds_nothing(target_cfg.path.expanduser())
            )
            async with self._open_target(target_cfg, target_exists) as target:
                await self._validate_target(run, target)
                await self._compatibility(run, source, target)
                if target is not None and self._copies_directly(run, options):
                    await self._copy(run, source_config, target_config, source, target, options)
                else:
                    await self._export(run, source, options)
                    if options.dry_run:
                        await self._plan(run, target, options)
                        return
                    assert target is not None, "a real run always opens its target"
                    await self._import(run, source_config, target_config, target, options)
                await self._verify(run, source, target, options)
                if run.journal is not None:
                    run.journal.set_state("committed")
                    run.committed = True
                result.target_stats = (await target.health()).to_dict()

    async def _export(self, run: _Run, source: Backend, options: MigrationOptions) -> None:
        result = run.result
        async with self._phase(run, "export") as phase:
            stats = result.source_stats or {}
            memories = stats.get("memory_count") or 0
            expected = None if options.since else memories + (stats.get("relationship_count") or 0)

            def exported(kind: str, done: int, _: int | None) -> None:
                offset = 0 if kind == "memory" else memories
                self._tick("export", offset + done, expected)

            summary = await export_graph(
                source, run.export_path, since=options.since, progress=exported
            )
            result.memories.read = summary.memories
            result.relationships.read = summary.relationships
            phase.records = summary.memories + summary.relationships
            # The writer kept the file valid as it wrote it (from records validated as
            # they were read), so no second pass reads it: the import proves it
            # unchanged by this hash instead.
            run.export_sha256 = summary.file_sha256

    @staticmethod
    def _copies_directly(run: _Run, options: MigrationOptions) -> bool:
        """A whole first migration into an empty target copies from the source straight
        away: no export file is written (a resume writes one from the source first)."""
        return (
            options.direct_copy
            and not options.dry_run
            and run.target_was_empty
            and options.since is None
        )

    async def _copy(
        self,
        run: _Run,
        source_config: BackendConfig,
        target_config: BackendConfig,
        source: Backend,
        target: Backend,
        options: MigrationOptions,
    ) -> None:
        journal = run.journal = self._create_journal(
            run, source_config, target_config, options, direct_copy=True
        )
        stats = run.result.source_stats or {}
        expected = (stats.get("memory_count") or 0) + (stats.get("relationship_count") or 0)
        before_write, on_batch, _ = self._journaled(run, journal, "copy", expected, reads=True)
        async with self._phase(run, "copy") as phase:
            await target.copy_store(
                source, before_write=before_write, on_page=on_batch, page_size=options.batch_size
            )
            phase.records = run.result.memories.read + run.result.relationships.read
        journal.set_state("imported")

    def _create_journal(
        self,
        run: _Run,
        source_config: BackendConfig,
        target_config: BackendConfig,
        options: MigrationOptions,
        *,
        direct_copy: bool = False,
    ) -> Journal:
        journal = Journal.create(
            run.journal_path,
            migration_id=run.workdir.name,
            source=source_config,
            target=target_config,
            export_path=run.export_path,
            options=options.to_dict(),
            target_was_empty=run.target_was_empty,
            export_sha256=run.export_sha256,
            direct_copy=direct_copy,
            started_at=run.result.started_at,
        )
        run.result.journal_path = str(run.journal_path)
        return journal

    def _journaled(
        self, run: _Run, journal: Journal, phase: str, total: int, *, reads: bool = False
    ) -> tuple[
        Callable[[str, Sequence[str]], Awaitable[None]],
        Callable[[str, WriteResult], Awaitable[None]],
        BeforeReplace,
    ]:
        """The hooks a write phase calls around each batch: the journal's intent and
        before-images before, its record of the write after, the counts and the
        progress. With `reads`, the batches are also what was read (a copy has no
        export to count)."""
        result = run.result
        done = 0

        # The journal's appends end in an fsync: done in a thread, so the event loop
        # is not held up by the disk.
        async def before_write(kind: str, ids: Sequence[str]) -> None:
            await asyncio.to_thread(journal.record_intent, kind, ids)

        async def before_replace(kind: str, records: Sequence[Memory | Relationship]) -> None:
            await asyncio.to_thread(journal.record_replace, kind, records)

        async def on_batch(kind: str, batch: WriteResult) -> None:
            nonlocal done
            await asyncio.to_thread(journal.record_write, kind, batch)
            if batch.skipped:
                run.skipped.add(kind, [(i, 0) for i in batch.skipped])
            counts = result.counts(kind)
            counts.add(batch)
            if reads:
                counts.read += len(batch.inserted)
            done += len(batch.inserted) + len(batch.updated) + len(batch.skipped)
            done += len(batch.unchanged) + len(batch.older)
            self._tick(phase, done, total or None)

        return before_write, on_batch, before_replace

    @asynccontextmanager
    async def _open_target(
        self, config: BackendConfig, exists: bool
    ) -> AsyncIterator[Backend | None]:
        if not exists:
            yield None
            return
        async with self._open(config) as target:
            yield target

    async def _validate_target(self, run: _Run, target: Backend | None) -> None:
        async with self._phase(run, "validate_target") as phase:
            if target is None:
                run.result.warnings.append("the target does not exist yet; it would be created")
                return
            health = await target.health()
            run.result.target_stats = health.to_dict()
            if not health.connected:
                raise MigrationError(f"target {target.describe()} is unhealthy: {health.error}")
            run.result.warnings.extend(target.connection_warnings())
            held = (health.memory_count or 0) + (health.relationship_count or 0)
            phase.records = held
            run.target_was_empty = held == 0
            if held:
                run.result.warnings.append(
                    f"the target already holds {health.memory_count} memories and "
                    f"{health.relationship_count} relationships; they are kept, and a "
                    "rollback removes only what this migration writes"
                )

    async def _compatibility(self, run: _Run, source: Backend, target: Backend | None) -> None:
        async with self._phase(run, "compatibility") as phase:
            check = ValidationResult()
            if target is not None and target.config.read_only and not run.result.dry_run:
                check.fail(f"target {target.describe()} is read-only")
            # Every backend stores every field exactly (the contract suite proves it), so
            # what remains is room for the export file: about 1 KiB per record is ample.
            stats = run.result.source_stats or {}
            records = (stats.get("memory_count") or 0) + (stats.get("relationship_count") or 0)
            free = shutil.disk_usage(run.workdir).free
            if records * 1024 > free:
                check.fail(
                    f"about {records * 1024 // 2**20} MiB are needed in {run.workdir} for the "
                    f"export and only {free // 2**20} MiB are free; pass another workdir"
                )
            phase.detail = f"{source.name} → {target.name if target else run.result.target}"
            if not check.valid:
                raise MigrationError("; ".join(check.errors))

    async def _plan(self, run: _Run, target: Backend | None, options: MigrationOptions) -> None:
        async with self._phase(run, "plan") as phase:
            phase.records = run.result.memories.read + run.result.relationships.read
            summary = await import_graph(
                run.export_path,
                target,
                skip_duplicates=options.skip_duplicates,
                batch_size=options.batch_size,
                file_sha256=run.export_sha256,
                apply_deletions=options.propagate_deletions,
                dry_run=True,
            )
            for kind in KINDS:
                run.result.counts(kind).merge(summary.counts(kind))

    async def _import(
        self,
        run: _Run,
        source_config: BackendConfig,
        target_config: BackendConfig,
        target: Backend,
        options: MigrationOptions,
    ) -> None:
        run.journal = self._create_journal(run, source_config, target_config, options)
        await self._run_import(run, target, run.journal, options.skip_duplicates, options)

    async def _run_import(
        self,
        run: _Run,
        target: Backend,
        journal: Journal,
        skip_duplicates: bool,
        options: MigrationOptions,
    ) -> None:
        result = run.result
        total = result.memories.read + result.relationships.read
        before_write, on_batch, before_replace = self._journaled(run, journal, "import", total)

        async with self._phase(run, "import") as phase:
            summary = await import_graph(
                run.export_path,
                target,
                skip_duplicates=skip_duplicates,
                on_batch=on_batch,
                before_write=before_write,
                before_replace=before_replace,
                batch_size=options.batch_size,
                file_sha256=run.export_sha256,
                validated=run.validation,
                apply_deletions=options.propagate_deletions,
                before_delete=journal.record_delete,
                # A first run into an empty target (held under the lock): no id of the
                # export is there. A resume finds its own earlier batches, so asks.
                known_new=run.target_was_empty and run.fresh,
            )
            for kind in KINDS:
                result.counts(kind).deleted = summary.counts(kind).deleted
                # Records and tombstones left out because the target holds newer ones.
                result.counts(kind).older = summary.counts(kind).older
            if summary.deletions_kept:
                result.warnings.append(
                    f"{summary.deletions_kept} record(s) the source deleted were kept in the "
                    "target, as the migration was told to keep deletions"
                )
            phase.records = sum(
                c.inserted + c.updated + c.skipped for c in map(result.counts, KINDS)
            )
        journal.set_state("imported")

    async def _verify(
        self, run: _Run, source: Backend, target: Backend, options: MigrationOptions
    ) -> None:
        if options.verify is VerifyMode.NONE:
            run.result.phases.append(PhaseReport("verify", status="skipped"))
            return
        expected = run.result.memories.read + run.result.relationships.read
        async with self._phase(run, "verify") as phase:
            # The change set this run carried (everything, or what changed `since`):
            # each of its records and deletions must hold on the target, and nothing
            # outside it is judged (the target may hold other versions of other ids).
            outcome, verified = await verify(
                source,
                target,
                mode=options.verify,
                since=options.since,
                by_stamp=not options.skip_duplicates,
                deletions=options.propagate_deletions,
                compare_type_counts=run.target_was_empty,
                sample_every=options.sample_every,
                progress=lambda phase, done, _: self._tick(phase, done, expected or None),
                kept=run.kept,
            )
            run.result.verification = outcome
            for kind in KINDS:
                run.result.counts(kind).verified = verified[kind]
            phase.records = outcome.checked
            if outcome.target_newer:
                run.result.warnings.append(
                    f"{outcome.target_newer} record(s) of the source are older than the "
                    "version the target holds (or were deleted before the target's version "
                    "was written); the target's newer versions were kept"
                )
            if outcome.kept_differing:
                run.result.warnings.append(
                    f"{outcome.kept_differing} record(s) the target already held differ from "
                    "the source and were kept as they were (a migration that does not skip "
                    "duplicates overwrites them)"
                )
            if not outcome.valid:
                raise MigrationError("verification failed: " + "; ".join(outcome.errors))

    # --- failure, rollback, resume ------------------------------------------------------

    async def _fail_safely(
        self, run: _Run, target: BackendConfig, options: MigrationOptions, error: BaseException
    ) -> None:
        """`_fail`, noting an interrupt (the first, or a second one during the rollback)."""
        if isinstance(error, KeyboardInterrupt | asyncio.CancelledError):
            run.interrupted = True
        task = asyncio.current_task()
        if isinstance(error, asyncio.CancelledError) and task is not None and task.cancelling():
            # The cancellation is being handled here: consume the request, so that the
            # rollback's own awaits (and `checkpoint()`) are not taken for a new one.
            task.uncancel()
        try:
            await self._fail(run, target, options, error)
        except (KeyboardInterrupt, asyncio.CancelledError) as again:
            run.interrupted = True
            run.result.rolled_back = False if run.journal is not None else None
            run.result.errors.append("the rollback was interrupted")
            if isinstance(again, asyncio.CancelledError):
                raise  # a cancellation of the rollback itself stays a cancellation

    async def _fail(
        self, run: _Run, target: BackendConfig, options: MigrationOptions, error: BaseException
    ) -> None:
        run.result.success = False
        run.result.errors.append(str(error) or type(error).__name__)
        if run.journal is None:
            return  # nothing was written
        if run.committed:
            run.result.rolled_back = False
            return  # committed and verified already: a late interrupt undoes nothing
        run.settle("failed")
        if not options.rollback_on_failure:
            run.result.rolled_back = False
            return
        began = time.perf_counter()
        phase = PhaseReport("rollback")
        run.result.phases.append(phase)
        try:
            # Shielded: when the migration was cancelled (a server's cancelled call), the
            # rollback must still run to the end rather than be cancelled in turn.
            with anyio.CancelScope(shield=True):
                async with self._open(target) as fresh:
                    report = await undo(run.journal_path, fresh)
            run.settle("rolled_back")
            run.result.rolled_back = True
            phase.records = report.memories.deleted + report.relationships.deleted
            restored = sum(c.updated + c.inserted for c in (report.memories, report.relationships))
            phase.detail = (
                f"deleted {report.memories.deleted} memories and "
                f"{report.relationships.deleted} relationships; restored {restored} records"
            )
        except MemoryGraphError as e:
            run.result.rolled_back = False
            run.rollback_error = e
            phase.status = "failed"
            phase.detail = str(e)
            run.result.errors.append(f"rollback failed: {e}")
        except BaseException:
            run.result.rolled_back = False
            phase.status = "failed"
            phase.detail = "interrupted"
            raise
        finally:
            phase.seconds = round(time.perf_counter() - began, 4)

    @classmethod
    def _failure(cls, run: _Run, error: BaseException) -> MigrationError:
        if run.interrupted:
            return MigrationInterrupted(
                cls._interrupt_message(run), run.result, next_steps=cls._settle(run)
            )
        steps = cls._settle(run)[:1]
        if not steps and isinstance(error, MemoryGraphError):
            steps = error.next_steps
        return MigrationError(cls._failure_message(run, error), run.result, next_steps=steps)

    @staticmethod
    def _settle(run: _Run) -> tuple[NextStep, ...]:
        """Undo or finish a migration left unsettled (nothing when it is settled)."""
        if run.committed or run.result.rolled_back is not False:
            return ()
        journal = str(run.journal_path)
        return (NextStep("rollback", journal), NextStep("resume", journal))

    @staticmethod
    def _interrupt_message(run: _Run) -> str:
        if run.result.rolled_back is True:
            return "interrupted; the target was rolled back and holds what it held before"
        if run.committed:
            return (
                "interrupted after the migration was committed and verified; the target "
                "holds the migrated records"
            )
        if run.result.rolled_back is False:
            return "interrupted; the target was NOT rolled back and holds part of the migration"
        return "interrupted before anything was written; the target is unchanged"

    @staticmethod
    def _failure_message(run: _Run, error: BaseException) -> str:
        problem = error.problem if isinstance(error, MemoryGraphError) else str(error)
        what = problem or type(error).__name__
        if run.result.rolled_back is True:
            return f"migration failed and the target was rolled back: {what}"
        if run.result.rolled_back is False:
            said = f"migration failed and the target was NOT rolled back: {what}"
            if isinstance(error, StorageFullError) or isinstance(
                run.rollback_error, StorageFullError
            ):
                # Undoing writes too: the rollback command cannot work until there is room.
                said += (
                    f"; the target holds the {_written(run.result)} records this migration "
                    "wrote (new or overwritten) beside the rest of what it held before, and "
                    "they can be undone once space is freed"
                )
            return said
        return f"migration failed before anything was written: {what}"

    def _cleanup(self, run: _Run) -> None:
        settled = run.journal is None or run.committed or run.result.rolled_back is True
        if not settled:
            return  # the journal and export are what a rollback or a resume needs
        with suppress(OSError):
            shutil.rmtree(run.workdir)

    async def rollback(
        self,
        journal_path: Path,
        target: BackendConfig | None = None,
        *,
        environment: Mapping[str, str] | None = None,
        ask_password: AskPassword | None = None,
    ) -> RollbackReport:
        """Undo a migration recorded in `journal_path`: delete what it inserted (or
        announced), restore what it overwrote. The target is resolved from the journal
        and `environment` (which supplies its password) unless given. A journal rolled
        back already is left alone: a second rollback changes nothing."""
        journal_path = journal_path.expanduser().resolve()
        state = read_state(journal_path)
        if state.state == "rolled_back":
            return RollbackReport(already=True)
        config = target or state.target_config(environment, ask_password)
        with TargetLock(config, journal_path):
            try:
                async with self._open(config) as backend:
                    report = await undo(journal_path, backend)
            except StorageFullError as e:
                raise MigrationError(
                    f"cannot roll back yet: {e.problem}; nothing is lost: the journal "
                    "is kept, and rolling back again once space is freed finishes the undo",
                    next_steps=[NextStep("rollback", str(journal_path))],
                ) from e
            # The export first: on a full disk, removing it makes room for the state line.
            with suppress(OSError):
                state.export_path.unlink()
            journal = Journal.reopen(journal_path)
            try:
                journal.set_state("rolled_back")
            except JournalWriteError:
                # The undo is complete (and repeatable), but the journal cannot say so:
                # left as it is, it would stand for an unfinished migration and hold the
                # target. Removing it needs no room; a rolled-back migration needs nothing.
                _forget_journal(journal_path)
            finally:
                journal.close()
        return report

    async def resume(
        self,
        journal_path: Path,
        *,
        source: BackendConfig | None = None,
        target: BackendConfig | None = None,
        environment: Mapping[str, str] | None = None,
        ask_source_password: AskPassword | None = None,
        ask_target_password: AskPassword | None = None,
    ) -> MigrationResult:
        """Continue an interrupted migration from its journal without duplicating anything.

        Both ends are resolved from the journal and `environment` as a fresh run would
        (unless given), and every option the run had applies again."""
        journal_path = journal_path.expanduser().resolve()
        state = read_state(journal_path)
        if state.finished:
            raise UsageError(
                f"the migration in {journal_path} is already {state.state.replace('_', ' ')}; "
                "nothing to resume"
            )
        if not state.export_path.exists() and not state.copied_directly:
            raise UsageError(
                f"the export {state.export_path} of this migration is gone",
                next_steps=[NextStep("rollback_then_migrate", str(journal_path))],
            )
        options = _options_from_journal(state)
        target_config = target or state.target_config(environment, ask_target_password)
        source_config = None
        if state.imported_from is None:
            source_config = (
                source or state.source_config(environment, ask_source_password)
            ).read_only_copy()
        with TargetLock(target_config, journal_path), long_lived_frozen():
            return await self._resume(journal_path, state, options, source_config, target_config)

    async def _resume(
        self,
        journal_path: Path,
        state: JournalState,
        options: MigrationOptions,
        source_config: BackendConfig | None,
        target_config: BackendConfig,
    ) -> MigrationResult:
        """`source_config` is None for an import of a file, which has no source store."""
        _load_shielding()
        run = _Run(
            result=MigrationResult(
                source=source_config.describe()
                if source_config is not None
                else str(state.imported_from),
                target=target_config.describe(),
                journal_path=str(journal_path),
                # The interrupted run's start: what it read of the source is from then on.
                started_at=str(
                    state.header.get("started_at") or state.header.get("created_at") or ""
                ),
            ),
            started=time.perf_counter(),
            workdir=journal_path.parent,
            export_path=state.export_path,
            journal=Journal.reopen(journal_path),
            target_was_empty=bool(state.header.get("target_was_empty", False)),
            fresh=False,
        )
        try:
            async with self._open(target_config) as target_backend:
                if (
                    state.copied_directly
                    and not run.export_path.exists()
                    and source_config is not None
                ):
                    # The copy left no export: what is left to write comes from one
                    # written now, and what the copy wrote is found there and skipped.
                    async with (
                        self._open(source_config) as source_backend,
                        source_backend.read_snapshot(),
                    ):
                        await self._export(run, source_backend, options)
                else:
                    await self._proven_export(run, state)
                assert run.journal is not None
                # Records written before the interruption exist now: by change stamp
                # they are unchanged, or updated where the source changed since (a
                # copy's resume exports the source anew); each replaced version is
                # journaled first, and a rollback puts back the oldest.
                await self._run_import(
                    run, target_backend, run.journal, options.skip_duplicates, options
                )
                if source_config is None:
                    # An import is checked as it is written (the file was validated
                    # whole); there is no source store to compare the target with.
                    run.result.phases.append(PhaseReport("verify", status="skipped"))
                else:
                    async with self._open(source_config) as source_backend:
                        await self._verify(run, source_backend, target_backend, options)
                run.journal.set_state("committed")
                run.committed = True
                run.result.target_stats = (await target_backend.health()).to_dict()
            run.result.success = True
            return run.result
        except (Exception, KeyboardInterrupt, asyncio.CancelledError) as e:
            await self._fail_safely(run, target_config, options, e)
            raise self._failure(run, e) from e
        finally:
            run.result.duration_seconds = round(time.perf_counter() - run.started, 4)
            if run.journal is not None:
                run.journal.close()
            run.skipped.close()
            self._cleanup(run)

    async def _proven_export(self, run: _Run, state: JournalState) -> None:
        """Prove the interrupted run's export unchanged, and count what it holds."""
        async with self._phase(run, "validate_export") as phase:
            # Proven by the hash its writer recorded, or (a journal without
            # one) validated whole.
            run.export_sha256 = state.header.get("export_sha256")
            if run.export_sha256 is not None:
                trailer = await asyncio.to_thread(
                    unchanged_trailer, run.export_path, run.export_sha256
                )
                counts = trailer.get("counts") or {}
            else:
                report = await asyncio.to_thread(
                    validate_export_file,
                    run.export_path,
                    progress=on_loop(lambda n: self._tick("validate_export", n, None)),
                )
                if not report.valid:
                    raise MigrationError(f"the export failed validation: {report.problems[0]}")
                run.validation = report
                counts = report.counts
            for kind in KINDS:
                run.result.counts(kind).read = int(counts.get(kind, 0))
            phase.records = run.result.memories.read + run.result.relationships.read


def _load_shielding() -> None:
    """Load the event loop's cancel-scope support before anything can fail: the rollback
    needs it, and loading it for the first time there, under a second Ctrl-C, breaks
    the import half-way and the rollback with it."""
    with anyio.CancelScope():
        pass


def _forget_journal(journal_path: Path) -> None:
    """Remove a journal, and its directory when nothing else is left there."""
    with suppress(OSError):
        journal_path.unlink()
    with suppress(OSError):
        journal_path.parent.rmdir()


def _written(result: MigrationResult) -> int:
    """How many records a migration wrote into its target (inserted or overwritten)."""
    return sum(c.inserted + c.updated for c in (result.memories, result.relationships))


def new_migration_id() -> str:
    """A fresh migration id: 12 hex digits, the name of the migration's work directory."""
    return uuid.uuid4().hex[:12]


def _options_from_journal(state: JournalState) -> MigrationOptions:
    """Every option of the interrupted run that changes what a resume does."""
    saved: dict[str, Any] = state.header.get("options") or {}
    since = saved.get("since")
    try:
        return MigrationOptions(
            skip_duplicates=bool(saved.get("skip_duplicates", False)),
            verify=VerifyMode(saved.get("verify", "full")),
            rollback_on_failure=bool(saved.get("rollback_on_failure", True)),
            since=datetime.fromisoformat(since) if since else None,
            propagate_deletions=bool(saved.get("propagate_deletions", True)),
            sample_every=int(saved.get("sample_every", 100)),
            batch_size=int(saved["batch_size"]) if saved.get("batch_size") else None,
        )
    except (TypeError, ValueError) as e:
        raise UsageError(
            f"journal {state.path} records options that cannot be read ({e}); it is damaged"
        ) from e


def _holds_nothing(path: Path) -> bool:
    """True for a path that does not exist or is an empty directory (a dry run leaves it so)."""
    if not path.exists():
        return True
    return path.is_dir() and next(path.iterdir(), None) is None
