"""What a run does when it fails or is interrupted, and what it leaves behind.

* `fail_safely` records the failure and, when the run wrote anything and was told
  to (`rollback_on_failure`), undoes it from the journal (`journal.undo`) through
  a new connection, shielded so that a cancellation cannot stop the undo half-way.
  A second interrupt during the rollback is noted, not lost.
* `failure` is the error the caller sees: it says whether the target was rolled
  back, and names the journal's rollback and resume as next steps when a run is
  left unsettled.
* `close_run` times the run, closes its files, and removes its work directory
  unless the journal and export are still needed by a rollback or a resume.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from contextlib import suppress

import anyio

from memorygraph.config import BackendConfig
from memorygraph.errors import (
    MemoryGraphError,
    MigrationError,
    MigrationInterrupted,
    NextStep,
    StorageFullError,
)
from memorygraph.migration.journal import undo
from memorygraph.migration.models import MigrationOptions, MigrationResult, PhaseReport
from memorygraph.migration.run import Context, Run


async def fail_safely(
    ctx: Context, run: Run, target: BackendConfig, options: MigrationOptions, error: BaseException
) -> None:
    """`_roll_back`, noting an interrupt (the first, or a second one during the rollback)."""
    if isinstance(error, KeyboardInterrupt | asyncio.CancelledError):
        run.interrupted = True
    task = asyncio.current_task()
    if isinstance(error, asyncio.CancelledError) and task is not None and task.cancelling():
        # The cancellation is being handled here: consume the request, so that the
        # rollback's own awaits (and `checkpoint()`) are not taken for a new one.
        task.uncancel()
    try:
        await _roll_back(ctx, run, target, options, error)
    except (KeyboardInterrupt, asyncio.CancelledError) as again:
        run.interrupted = True
        run.result.rolled_back = False if run.journal is not None else None
        run.result.errors.append("the rollback was interrupted")
        if isinstance(again, asyncio.CancelledError):
            raise  # a cancellation of the rollback itself stays a cancellation


async def _roll_back(
    ctx: Context, run: Run, target: BackendConfig, options: MigrationOptions, error: BaseException
) -> None:
    """Record the failure and, when the run wrote and was told to, undo it from the
    journal through a new connection; the report says whether it was rolled back."""
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
            async with ctx.open(target) as fresh:
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


def failure(run: Run, error: BaseException) -> MigrationError:
    """The error to raise for a run that failed with `error`: whether the target was
    rolled back, and the journal's rollback and resume when the run is unsettled."""
    if run.interrupted:
        return MigrationInterrupted(
            _interrupt_message(run), run.result, next_steps=_next_steps(run)
        )
    steps = _next_steps(run)[:1]
    if not steps and isinstance(error, MemoryGraphError):
        steps = error.next_steps
    return MigrationError(_failure_message(run, error), run.result, next_steps=steps)


def _next_steps(run: Run) -> tuple[NextStep, ...]:
    """Undo or finish a migration left unsettled (nothing when it is settled)."""
    if run.committed or run.result.rolled_back is not False:
        return ()
    journal = str(run.journal_path)
    return (NextStep("rollback", journal), NextStep("resume", journal))


def _interrupt_message(run: Run) -> str:
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


def _failure_message(run: Run, error: BaseException) -> str:
    problem = error.problem if isinstance(error, MemoryGraphError) else str(error)
    what = problem or type(error).__name__
    if run.result.rolled_back is True:
        return f"migration failed and the target was rolled back: {what}"
    if run.result.rolled_back is False:
        said = f"migration failed and the target was NOT rolled back: {what}"
        if isinstance(error, StorageFullError) or isinstance(run.rollback_error, StorageFullError):
            # Undoing writes too: the rollback command cannot work until there is room.
            said += (
                f"; the target holds the {_written(run.result)} records this migration "
                "wrote (new or overwritten) beside the rest of what it held before, and "
                "they can be undone once space is freed"
            )
        return said
    return f"migration failed before anything was written: {what}"


def _cleanup(run: Run) -> None:
    """Remove the work directory, unless the journal and export are still needed."""
    settled = run.journal is None or run.committed or run.result.rolled_back is True
    if not settled:
        return  # the journal and export are what a rollback or a resume needs
    with suppress(OSError):
        shutil.rmtree(run.workdir)


def close_run(run: Run) -> None:
    """Time the run, close its journal and id index, and remove its work directory
    unless a rollback or a resume still needs it."""
    run.result.duration_seconds = round(time.perf_counter() - run.started, 4)
    if run.journal is not None:
        run.journal.close()
    run.skipped.close()
    if run.source_digests is not None:
        run.source_digests.close()
    if run.page_verifier is not None:
        run.page_verifier.close()
    _cleanup(run)


def _written(result: MigrationResult) -> int:
    """How many records a migration wrote into its target (inserted or overwritten)."""
    return sum(c.inserted + c.updated for c in (result.memories, result.relationships))
