"""The steps of a migration, each a phase of its report (`timed_phase`).

* `validate_target` and `check_compatibility` look before anything is written:
  the target is reachable, writable unless planning, and there is room for the
  export.
* `export_source` writes the source (or what changed `since`) to the export file,
  whose hash then proves it on import; `proven_export` proves an interrupted run's
  export unchanged before a resume imports the rest of it.
* `plan` is the dry run: the import of the export into a planning sink, writing
  nothing (`memorygraph.sinks.PlanningSink`).
* `import_export` and `run_import` import the export into the target, journaling
  each batch before it is written (`journaled`); `copy_directly` copies a whole
  source into an empty target with no export, journaled the same way.
* `verify_target` checks that every record and deletion of the change set holds
  on the target; it raises `MigrationError` when one does not.

A phase that fails raises; undoing what it wrote is `memorygraph.migration.failure`'s.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from memorygraph.backends.base import KINDS, Backend, RecordKind, WriteResult
from memorygraph.backends.spec import SNAPSHOT_READS, VERIFIED_ASIDE
from memorygraph.canonical import CanonicalRecord
from memorygraph.config import BackendConfig
from memorygraph.errors import MigrationError
from memorygraph.exchange import export_graph, import_graph
from memorygraph.exchange import validate_export as validate_export_file
from memorygraph.exchange.reader import unchanged_trailer
from memorygraph.migration.digest_log import DigestLog
from memorygraph.migration.journal import Journal, JournalState
from memorygraph.migration.models import (
    MigrationOptions,
    PhaseReport,
    ValidationResult,
    VerifyMode,
)
from memorygraph.migration.page_verifier import VERIFY_ASIDE, PageVerifier
from memorygraph.migration.run import Context, Run, timed_phase
from memorygraph.migration.verify import verify
from memorygraph.models import Memory, Relationship
from memorygraph.sinks import BeforeReplace
from memorygraph.threads import on_loop


@asynccontextmanager
async def open_target(
    ctx: Context, config: BackendConfig, exists: bool
) -> AsyncIterator[Backend | None]:
    """The target opened, or None (with nothing opened) when it does not `exist`."""
    if not exists:
        yield None
        return
    async with ctx.open(config) as target:
        yield target


async def validate_target(run: Run, target: Backend | None) -> None:
    """Report the target's health and what it holds already (a warning when it
    holds anything, or does not exist yet); `MigrationError` when it is unreachable."""
    async with timed_phase(run, "validate_target") as phase:
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


async def check_compatibility(run: Run, source: Backend, target: Backend | None) -> None:
    """`MigrationError` when the target is read-only for a real run, or the work
    directory has no room for the export."""
    async with timed_phase(run, "compatibility") as phase:
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


async def export_source(ctx: Context, run: Run, source: Backend, options: MigrationOptions) -> None:
    """Write the source (or what changed `since`) to the run's export and count what
    was read; the writer's hash of the file then proves it on import."""
    result = run.result
    async with timed_phase(run, "export") as phase:
        stats = result.source_stats or {}
        memories = stats.get("memory_count") or 0
        expected = None if options.since else memories + (stats.get("relationship_count") or 0)

        def exported(kind: str, done: int, _: int | None) -> None:
            offset = 0 if kind == "memory" else memories
            ctx.tick("export", offset + done, expected)

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


def copies_directly(run: Run, options: MigrationOptions) -> bool:
    """A whole first migration into an empty target copies from the source straight
    away: no export file is written (a resume writes one from the source first)."""
    return (
        options.direct_copy
        and not options.dry_run
        and run.target_was_empty
        and options.since is None
    )


async def copy_directly(
    ctx: Context,
    run: Run,
    source_config: BackendConfig,
    target_config: BackendConfig,
    source: Backend,
    target: Backend,
    options: MigrationOptions,
) -> None:
    """Copy the whole source into the empty target page by page, with no export,
    journaled as an import is."""
    journal = run.journal = create_journal(
        run, source_config, target_config, options, direct_copy=True
    )
    stats = run.result.source_stats or {}
    expected = (stats.get("memory_count") or 0) + (stats.get("relationship_count") or 0)
    before_write, on_batch, _ = journaled(ctx, run, journal, "copy", expected, reads=True)
    # Within the source's one snapshot, what the copy reads is what verification would
    # read again: the digests of the records as read are kept for it.
    log = None
    if source.config.spec.has(SNAPSHOT_READS) and options.verify is VerifyMode.FULL:
        log = run.source_digests = DigestLog(run.workdir)
    # Into an engine that declares it, a large copy is read back and digested page by
    # page in a worker as each is written (two stores of one backend compare
    # themselves wholesale instead).
    checker = None
    aside = target.config.spec.has(VERIFIED_ASIDE) and not target.copies_from(source)
    if log is not None and aside and expected >= VERIFY_ASIDE:
        checker = run.page_verifier = PageVerifier(target_config)
    read: list[tuple[str, str]] = []  # the page read last: the one written next

    def on_read(kind: RecordKind, records: Sequence[CanonicalRecord]) -> None:
        nonlocal read
        assert log is not None
        read = log.add(kind, records)

    async def on_page(kind: RecordKind, written: WriteResult) -> None:
        await on_batch(kind, written)
        if checker is not None:
            await checker.written(kind, read)

    async with timed_phase(run, "copy") as phase:
        await target.copy_store(
            source,
            before_write=before_write,
            on_page=on_page,
            page_size=options.batch_size,
            on_read=on_read if log is not None else None,
        )
        phase.records = run.result.memories.read + run.result.relationships.read
    if log is not None and log.counts != {
        kind: n for kind in KINDS if (n := run.result.counts(kind).read)
    }:
        # Copied as stored (no canonical pages read): verification reads the source.
        log.close()
        run.source_digests = None
    journal.set_state("imported")


def create_journal(
    run: Run,
    source_config: BackendConfig,
    target_config: BackendConfig,
    options: MigrationOptions,
    *,
    direct_copy: bool = False,
) -> Journal:
    """Start the run's journal, with everything a resume or a rollback needs to know."""
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


def journaled(
    ctx: Context, run: Run, journal: Journal, phase: str, total: int, *, reads: bool = False
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
        ctx.tick(phase, done, total or None)

    return before_write, on_batch, before_replace


async def plan(run: Run, target: Backend | None, options: MigrationOptions) -> None:
    """The dry run: import the export into a sink that writes nothing, and count what
    the import would do."""
    async with timed_phase(run, "plan") as phase:
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


async def import_export(
    ctx: Context,
    run: Run,
    source_config: BackendConfig,
    target_config: BackendConfig,
    target: Backend,
    options: MigrationOptions,
) -> None:
    """Start the journal and import the export into the target."""
    run.journal = create_journal(run, source_config, target_config, options)
    await run_import(ctx, run, target, run.journal, options.skip_duplicates, options)


async def run_import(
    ctx: Context,
    run: Run,
    target: Backend,
    journal: Journal,
    skip_duplicates: bool,
    options: MigrationOptions,
) -> None:
    """Import the run's export into `target`, journaling each batch before it is
    written; the journal then says "imported"."""
    result = run.result
    total = result.memories.read + result.relationships.read
    before_write, on_batch, before_replace = journaled(ctx, run, journal, "import", total)

    async with timed_phase(run, "import") as phase:
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
        phase.records = sum(c.inserted + c.updated + c.skipped for c in map(result.counts, KINDS))
    journal.set_state("imported")


async def verify_target(
    ctx: Context, run: Run, source: Backend, target: Backend, options: MigrationOptions
) -> None:
    """Check that every record and deletion the run carried holds on the target
    (skipped when `options.verify` is none); `MigrationError` when one does not."""
    if options.verify is VerifyMode.NONE:
        run.result.phases.append(PhaseReport("verify", status="skipped"))
        return
    expected = run.result.memories.read + run.result.relationships.read
    async with timed_phase(run, "verify") as phase:
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
            progress=lambda phase, done, _: ctx.tick(phase, done, expected or None),
            kept=run.kept,
            recorded=run.source_digests,
            during_copy=await run.page_verifier.finish() if run.page_verifier else None,
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


async def proven_export(ctx: Context, run: Run, state: JournalState) -> None:
    """Prove the interrupted run's export unchanged, and count what it holds."""
    async with timed_phase(run, "validate_export") as phase:
        # Proven by the hash its writer recorded, or (a journal without
        # one) validated whole.
        run.export_sha256 = state.header.get("export_sha256")
        if run.export_sha256 is not None:
            trailer = await asyncio.to_thread(unchanged_trailer, run.export_path, run.export_sha256)
            counts = trailer.get("counts") or {}
        else:
            report = await asyncio.to_thread(
                validate_export_file,
                run.export_path,
                progress=on_loop(lambda n: ctx.tick("validate_export", n, None)),
            )
            if not report.valid:
                raise MigrationError(f"the export failed validation: {report.problems[0]}")
            run.validation = report
            counts = report.counts
        for kind in KINDS:
            run.result.counts(kind).read = int(counts.get(kind, 0))
        phase.records = run.result.memories.read + run.result.relationships.read


def holds_nothing(path: Path) -> bool:
    """True for a path that does not exist or is an empty directory (a dry run leaves it so)."""
    if not path.exists():
        return True
    return path.is_dir() and next(path.iterdir(), None) is None
