"""An import of a file into a store, journaled like a migration.

An import is a migration whose source is a file: the file (or what it converts
to) is placed in a work directory of its own (`<workdir>/<id>/`, mode 0700), and
written into the store under the store's migration lock, with the same journal a
migration writes (`memorygraph.migration.journal`): before each batch, the ids it
is about to insert and the records it is about to replace or delete.

* It succeeds: the journal reaches "committed" and the work directory is removed.
* It fails or is interrupted: the journal is undone at once (`journal.undo`); the
  store holds exactly what it held before, and the work directory is removed.
* It is killed, or its rollback fails: the journal and the export stay in the
  work directory, and `MigrationManager.rollback` or `MigrationManager.resume`
  settles it (a resume imports the rest of the export, with the same options).
  Until then the lock refuses every other import or migration into the store.

An import that fails before its first write (an invalid file, a missing external
end) leaves no journal, and raises its own error unchanged.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, suppress
from pathlib import Path

import anyio

from memorygraph import safefiles
from memorygraph.backends.base import Backend, WriteResult
from memorygraph.backends.registry import create_backend
from memorygraph.config import DEFAULT_HOME
from memorygraph.errors import (
    JournalWriteError,
    MemoryGraphError,
    MigrationError,
    MigrationInterrupted,
    NextStep,
    UsageError,
)
from memorygraph.exchange.load import ImportSummary, import_graph
from memorygraph.kinds import Progress
from memorygraph.migration.journal import Journal, undo
from memorygraph.migration.lock import TargetLock
from memorygraph.migration.models import MigrationOptions, VerifyMode
from memorygraph.migration.run import load_shielding, new_migration_id
from memorygraph.models import Memory, Relationship, format_timestamp, utc_now

#: Writes the file to import, as a memorygraph export, into the work directory it is
#: given, and returns its path.
Prepare = Callable[[Path], Awaitable[Path]]


async def journaled_import(
    backend: Backend,
    prepare: Prepare,
    *,
    origin: str,
    workdir: Path | None = None,
    skip_duplicates: bool = False,
    batch_size: int | None = None,
    apply_deletions: bool = True,
    progress: Progress | None = None,
    reopen_for_rollback: bool = True,
) -> ImportSummary:
    """Import what `prepare` writes into `backend`, all or nothing, journaled.

    `origin` names what is imported (a file's path) in the journal. `workdir` is
    where the work directory goes (`~/.memorygraph/migrations` by default).
    `reopen_for_rollback` rolls a failure back through a new connection to the
    store (the failed one may be unusable); a caller that must keep its one
    connection (a server's store) passes False.

    Returns the import's summary. Raises the import's own error when it failed
    before writing anything; `MigrationError` (`MigrationInterrupted` for an
    interrupt or a cancellation) when it failed after, saying whether the store was
    rolled back, and, when it was not, with the journal's rollback and resume as
    next steps; `TargetBusyError` when another import or migration holds the store.
    """
    load_shielding()
    config = backend.config
    root = (workdir or DEFAULT_HOME / "migrations").expanduser().resolve()
    work = root / new_migration_id()
    journal_path = work / "journal.jsonl"
    lock = TargetLock(config, journal_path).acquire()
    settled = True
    try:
        try:
            safefiles.make_private_dir(work, "the working directory", field="workdir")
        except OSError as e:
            raise UsageError(
                f"cannot create the working directory {work}: {e.strerror}; choose another workdir",
                field="workdir",
            ) from e
        started_at = format_timestamp(utc_now())
        export = await prepare(work)
        journal: Journal | None = None
        options = MigrationOptions(
            skip_duplicates=skip_duplicates,
            propagate_deletions=apply_deletions,
            batch_size=batch_size,
            verify=VerifyMode.NONE,
        )

        def journaled() -> Journal:
            # Created at the first write: an import refused before it (an invalid
            # file, a missing end) leaves no journal to settle.
            nonlocal journal
            if journal is None:
                journal = Journal.create(
                    journal_path,
                    migration_id=work.name,
                    source=None,
                    target=config,
                    export_path=export,
                    options=options.to_dict(),
                    target_was_empty=False,
                    started_at=started_at,
                    imported_from=origin,
                )
            return journal

        # The journal's appends end in an fsync: done in a thread, off the event loop.
        async def before_write(kind: str, ids: Sequence[str]) -> None:
            if ids:
                await asyncio.to_thread(lambda: journaled().record_intent(kind, ids))

        async def before_replace(kind: str, records: Sequence[Memory | Relationship]) -> None:
            if records:
                await asyncio.to_thread(lambda: journaled().record_replace(kind, records))

        async def on_batch(kind: str, result: WriteResult) -> None:
            if result.inserted or result.updated:
                await asyncio.to_thread(lambda: journaled().record_write(kind, result))

        def before_delete(
            memories: Sequence[Memory], relationships: Sequence[Relationship]
        ) -> None:
            if memories or relationships:
                journaled().record_delete(memories, relationships)

        try:
            summary = await import_graph(
                export,
                backend,
                skip_duplicates=skip_duplicates,
                progress=progress,
                on_batch=on_batch,
                batch_size=batch_size,
                before_write=before_write,
                before_replace=before_replace,
                apply_deletions=apply_deletions,
                before_delete=before_delete,
            )
            if journal is not None:
                journal.set_state("committed")
            return summary
        except (Exception, KeyboardInterrupt, asyncio.CancelledError) as e:
            if journal is None:
                raise  # nothing was written: the error is the import's own
            # Unsettled until the rollback says otherwise: a second interrupt that
            # stops it midway must leave the journal in place.
            settled = False
            settled = await _roll_back(journal, backend, reopen_for_rollback, e)
            raise _failure(e, journal.path, settled) from e
        finally:
            if journal is not None:
                journal.close()
    finally:
        if settled:
            with suppress(OSError):
                shutil.rmtree(work)
        lock.release()


async def _roll_back(
    journal: Journal, backend: Backend, reopen: bool, error: BaseException
) -> bool:
    """Undo what the journal records after `error`; True when the store holds what it
    held before."""
    task = asyncio.current_task()
    if isinstance(error, asyncio.CancelledError) and task is not None and task.cancelling():
        # The cancellation is handled here: consume it, so the rollback's own awaits
        # are not taken for a new one.
        task.uncancel()
    with suppress(JournalWriteError):
        journal.set_state("failed")
    try:
        # Shielded: a cancelled import still rolls back to the end.
        with anyio.CancelScope(shield=True):
            async with AsyncExitStack() as stack:
                store = (
                    await stack.enter_async_context(create_backend(backend.config))
                    if reopen
                    else backend
                )
                await undo(journal.path, store)
    except (MemoryGraphError, KeyboardInterrupt, asyncio.CancelledError):
        return False
    with suppress(JournalWriteError):
        journal.set_state("rolled_back")
    return True


def _failure(error: BaseException, journal: Path, rolled_back: bool) -> MigrationError:
    interrupted = isinstance(error, KeyboardInterrupt | asyncio.CancelledError)
    problem = error.problem if isinstance(error, MemoryGraphError) else str(error)
    problem = problem or type(error).__name__
    if rolled_back:
        what = "was interrupted" if interrupted else f"failed ({problem})"
        message = f"the import {what}; the store was rolled back and holds what it held before"
        steps: tuple[NextStep, ...] = ()
    else:
        what = "was interrupted" if interrupted else f"failed ({problem})"
        message = (
            f"the import {what} and the store was NOT rolled back; it holds part of the import"
        )
        steps = (NextStep("rollback", str(journal)), NextStep("resume", str(journal)))
    kind = MigrationInterrupted if interrupted else MigrationError
    return kind(message, next_steps=steps)
