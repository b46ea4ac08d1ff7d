"""Settling a run a journal left unfinished: resume it, or roll it back.

* `SettlesJournals.resume` continues an interrupted migration (or import of a
  file) from its journal: the export is proven unchanged (or, after a direct
  copy, written anew from the source), the import runs again by change stamp, so
  what the earlier run wrote is found and not written twice, and the target is
  verified as a fresh run's would be. Every option of the interrupted run
  applies again.
* `SettlesJournals.rollback` undoes what the journal records, once: a journal
  rolled back already is left alone, and a full disk leaves the journal for
  another try.

Both hold the target's lock while they work, as a run does. `MigrationManager`
offers both.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from contextlib import suppress
from datetime import datetime
from pathlib import Path
from typing import Any

from memorygraph.config import AskPassword, BackendConfig
from memorygraph.errors import (
    JournalWriteError,
    MigrationError,
    NextStep,
    StorageFullError,
    UsageError,
)
from memorygraph.heap import long_lived_frozen
from memorygraph.migration.failure import close_run, fail_safely, failure
from memorygraph.migration.journal import Journal, JournalState, RollbackReport, read_state, undo
from memorygraph.migration.lock import TargetLock
from memorygraph.migration.models import (
    MigrationOptions,
    MigrationResult,
    PhaseReport,
    VerifyMode,
)
from memorygraph.migration.phases import export_source, proven_export, run_import, verify_target
from memorygraph.migration.run import Context, Run, load_shielding


class SettlesJournals:
    """What `MigrationManager` does with a journal a run left: roll it back, or
    resume the run. `_context` is the manager's."""

    _context: Context

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
                async with self._context.open(config) as backend:
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
        options = options_from_journal(state)
        target_config = target or state.target_config(environment, ask_target_password)
        source_config = None
        if state.imported_from is None:
            source_config = (
                source or state.source_config(environment, ask_source_password)
            ).read_only_copy()
        with TargetLock(target_config, journal_path), long_lived_frozen():
            return await _resume(
                self._context, journal_path, state, options, source_config, target_config
            )


async def _resume(
    ctx: Context,
    journal_path: Path,
    state: JournalState,
    options: MigrationOptions,
    source_config: BackendConfig | None,
    target_config: BackendConfig,
) -> MigrationResult:
    """`source_config` is None for an import of a file, which has no source store."""
    load_shielding()
    run = Run(
        result=MigrationResult(
            source=source_config.describe()
            if source_config is not None
            else str(state.imported_from),
            target=target_config.describe(),
            journal_path=str(journal_path),
            # The interrupted run's start: what it read of the source is from then on.
            started_at=str(state.header.get("started_at") or state.header.get("created_at") or ""),
        ),
        started=time.perf_counter(),
        workdir=journal_path.parent,
        export_path=state.export_path,
        journal=Journal.reopen(journal_path),
        target_was_empty=bool(state.header.get("target_was_empty", False)),
        fresh=False,
    )
    try:
        async with ctx.open(target_config) as target_backend:
            if state.copied_directly and not run.export_path.exists() and source_config is not None:
                # The copy left no export: what is left to write comes from one
                # written now, and what the copy wrote is found there and skipped.
                async with (
                    ctx.open(source_config) as source_backend,
                    source_backend.read_snapshot(),
                ):
                    await export_source(ctx, run, source_backend, options)
            else:
                await proven_export(ctx, run, state)
            assert run.journal is not None
            # Records written before the interruption exist now: by change stamp
            # they are unchanged, or updated where the source changed since (a
            # copy's resume exports the source anew); each replaced version is
            # journaled first, and a rollback puts back the oldest.
            await run_import(
                ctx, run, target_backend, run.journal, options.skip_duplicates, options
            )
            if source_config is None:
                # An import is checked as it is written (the file was validated
                # whole); there is no source store to compare the target with.
                run.result.phases.append(PhaseReport("verify", status="skipped"))
            else:
                async with ctx.open(source_config) as source_backend:
                    await verify_target(ctx, run, source_backend, target_backend, options)
            run.journal.set_state("committed")
            run.committed = True
            run.result.target_stats = (await target_backend.health()).to_dict()
        run.result.success = True
        return run.result
    except (Exception, KeyboardInterrupt, asyncio.CancelledError) as e:
        await fail_safely(ctx, run, target_config, options, e)
        raise failure(run, e) from e
    finally:
        close_run(run)


def _forget_journal(journal_path: Path) -> None:
    """Remove a journal, and its directory when nothing else is left there."""
    with suppress(OSError):
        journal_path.unlink()
    with suppress(OSError):
        journal_path.parent.rmdir()


def options_from_journal(state: JournalState) -> MigrationOptions:
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
