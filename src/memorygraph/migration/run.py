"""One run of a migration, a resume or an import of a file: its state, and what its
phases share.

* `Run` is the mutable state of one run (its report, work directory, journal,
  the ids it skipped); `Run.settle` appends a state to the journal when the journal
  can take one.
* `Context` is what every phase uses: how backends are built (`open`, which closes
  what it opened in every outcome) and where progress goes (`tick`).
* `timed_phase` adds a phase to the report, times it, and marks it failed with its
  error when it raises.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import anyio

from memorygraph.backends.base import Backend
from memorygraph.backends.registry import create_backend
from memorygraph.config import BackendConfig
from memorygraph.errors import JournalWriteError, MemoryGraphError
from memorygraph.exchange import ValidationReport
from memorygraph.idindex import IdIndex
from memorygraph.kinds import Progress
from memorygraph.migration.digest_log import DigestLog
from memorygraph.migration.journal import Journal
from memorygraph.migration.models import MigrationResult, PhaseReport
from memorygraph.migration.page_verifier import PageVerifier

BackendFactory = Callable[[BackendConfig], Backend]


@dataclass
class Run:
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
    #: The digests of every record a direct copy read, for its verification.
    source_digests: DigestLog | None = None
    #: Verifies a copy's pages while it goes on (`memorygraph.migration.page_verifier`).
    page_verifier: PageVerifier | None = None

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


@dataclass(frozen=True)
class Context:
    """How a run builds its backends (`factory`) and where its progress goes."""

    factory: BackendFactory = create_backend
    progress: Progress | None = None

    def tick(self, phase: str, done: int, total: int | None = None) -> None:
        if self.progress is not None:
            self.progress(phase, done, total)

    @asynccontextmanager
    async def open(self, config: BackendConfig) -> AsyncIterator[Backend]:
        """A connected backend for `config`, closed when the block ends."""
        backend = self.factory(config)
        try:
            await backend.connect()
            yield backend
        finally:
            await backend.close()


@asynccontextmanager
async def timed_phase(run: Run, name: str) -> AsyncIterator[PhaseReport]:
    """The report of phase `name`, added to the run's; timed, and failed with the
    error that ends the block, if one does."""
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


def load_shielding() -> None:
    """Load the event loop's cancel-scope support before anything can fail: the rollback
    needs it, and loading it for the first time there, under a second Ctrl-C, breaks
    the import half-way and the rollback with it."""
    with anyio.CancelScope():
        pass


def new_migration_id() -> str:
    """A fresh migration id: 12 hex digits, the name of the migration's work directory."""
    return uuid.uuid4().hex[:12]
