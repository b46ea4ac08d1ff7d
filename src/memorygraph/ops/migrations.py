"""Operations that move a whole graph between backends: migrate (and its dry run),
resume, rollback and the list of migrations (export and import are `ops.exchange`).

`migrate`, `resume` and `rollback` run one migration each and return its report
(`MigrationResult`, `RollbackResult`); a long one reports `progress(phase, done,
total)`, and a cancelled one rolls back what it wrote before the cancellation goes on.

A `MigrationDesk` belongs to one long-lived process (the MCP server) whose own store
is the source of its migrations. It remembers which targets had a dry run, and the
state of every migration it started, so that `list_migrations` can answer while
one runs. Journals on disk add the migrations of other processes and earlier runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from memorygraph.backends.registry import backend_spec
from memorygraph.config import AskPassword, BackendConfig, resolve_config
from memorygraph.errors import ConfigurationError, MemoryGraphError, MigrationError, UsageError
from memorygraph.kinds import Progress as Progress
from memorygraph.migration.journal import config_from_dict, read_state, written_counts
from memorygraph.migration.manager import MigrationManager, new_migration_id
from memorygraph.migration.models import MigrationOptions as MigrationOptions
from memorygraph.migration.models import MigrationResult as MigrationResult
from memorygraph.migration.models import VerifyMode as VerifyMode
from memorygraph.models import format_timestamp, utc_now
from memorygraph.ops.graph_inputs import MigrateStore
from memorygraph.ops.graph_inputs import TargetConfig as TargetConfig
from memorygraph.principal import LOCAL, Principal
from memorygraph.search.fusion import SearchSettings
from memorygraph.store import MemoryStore

__all__ = [
    "JOURNAL_FILE",
    "MigrationDesk",
    "MigrationEntry",
    "MigrationList",
    "MigrationOptions",
    "MigrationReport",
    "MigrationResult",
    "Progress",
    "RollbackResult",
    "TargetConfig",
    "VerifyMode",
    "journal_path",
    "journal_state",
    "list_migrations",
    "migrate",
    "new_migration_id",
    "resolve_target",
    "resume",
    "rollback",
]

JOURNAL_FILE = "journal.jsonl"

MigrationState = Literal[
    "running", "committed", "dry_run", "failed", "rolled_back", "importing", "imported"
]


def resolve_target(
    backend: str, given: TargetConfig | None, environment: Mapping[str, str]
) -> BackendConfig:
    """A validated config for a migration target: the given fields over the environment's."""
    given = given or TargetConfig()
    spec = backend_spec(backend)
    if spec.uses_path and not given.path:
        # Never the default store of this process's environment: a path is named.
        # The message names the parameter already, so no field is left for adapters to add.
        raise ConfigurationError(f"a {spec.name} target needs target_config.path")
    try:
        return resolve_config(spec.name, given.model_dump(), environment, role="a target")
    except ConfigurationError as e:
        if e.field is None:
            raise
        raise ConfigurationError(f"{e} (give target_config.{e.field})", role=e.role) from None


class MigrationReport(BaseModel):
    """The outcome of a migration: its id, whether it succeeded, and the full report
    (the same fields as `MigrationResult.to_dict`)."""

    migration_id: str
    success: bool
    dry_run: bool
    rolled_back: bool | None = Field(
        description="null: nothing needed undoing; true: undone; false: left for rollback."
    )
    summary: str
    report: dict[str, Any]


class MigrationEntry(BaseModel):
    migration_id: str
    state: str
    source: str
    target: str
    started_at: str
    detail: str = ""
    counts: dict[str, int] = Field(
        default_factory=dict,
        description="What it did, by name: records read, inserted, updated and verified "
        "by kind for a finished run; what its journal wrote otherwise; what a rollback "
        "deleted and restored.",
    )
    verification: str | None = Field(
        default=None, description="How verification ended, for a run that verified."
    )


class MigrationList(BaseModel):
    migrations: list[MigrationEntry]


class RollbackResult(BaseModel):
    migration_id: str
    target: str
    deleted_memories: int
    deleted_relationships: int
    restored_records: int
    already: bool = Field(default=False, description="Rolled back before: nothing was done again.")
    report: dict[str, Any] = Field(
        default_factory=dict, description="Every count of the rollback, per kind."
    )


def _summary(result: MigrationResult) -> str:
    moved = f"{result.memories.read} memories and {result.relationships.read} relationships"
    if not result.success:
        return "; ".join(result.errors) or "the migration failed"
    if result.dry_run:
        return f"dry run: {moved} would go from {result.source} to {result.target}; nothing written"
    v = result.verification
    check = f"verified {v.passed} of {v.checked} records" if v else "not verified"
    return f"migrated {moved} from {result.source} to {result.target}; {check}"


async def migrate(
    source: BackendConfig,
    target: BackendConfig,
    options: MigrationOptions,
    *,
    progress: Progress | None = None,
    principal: Principal = LOCAL,
    settings: SearchSettings | None = None,
) -> MigrationResult:
    """Move every record (or those changed since `options.since`) from `source` to
    `target`: validate, export, import (journaled), verify, commit, or roll back what was
    written. Raises `UsageError` for a bad request found before any write, and
    `MigrationError` (whose `.result` is the report) when a phase fails. `principal`
    must hold "admin" and every namespace (else `ForbiddenError`). With `settings`
    asking for vectors, the target's are computed once the migration is committed
    (vectors are derived: they never travel)."""
    principal.require_whole_store("migrate a store")
    result = await MigrationManager(progress=progress).migrate(source, target, options)
    if settings is not None and settings.semantic and not options.dry_run:
        async with MemoryStore.open(target, settings) as store:
            await store.embed_missing()
    return result


async def resume(
    journal: Path,
    *,
    source: BackendConfig | None = None,
    target: BackendConfig | None = None,
    environment: Mapping[str, str] | None = None,
    ask_source_password: AskPassword | None = None,
    ask_target_password: AskPassword | None = None,
    progress: Progress | None = None,
    principal: Principal = LOCAL,
) -> MigrationResult:
    """Finish the interrupted migration recorded in `journal` without duplicating what it
    wrote, then verify it. Ends not given are resolved from the journal and
    `environment` (or the password questions). `principal` as for `migrate`."""
    principal.require_whole_store("resume a migration")
    return await MigrationManager(progress=progress).resume(
        journal,
        source=source,
        target=target,
        environment=environment,
        ask_source_password=ask_source_password,
        ask_target_password=ask_target_password,
    )


async def rollback(
    journal: Path,
    *,
    target: BackendConfig | None = None,
    environment: Mapping[str, str] | None = None,
    ask_password: AskPassword | None = None,
    principal: Principal = LOCAL,
) -> RollbackResult:
    """Undo the migration recorded in `journal`: delete what it inserted, restore what it
    overwrote. Safe to repeat (`already` then says nothing was done again). `principal`
    as for `migrate`."""
    principal.require_whole_store("roll back a migration")
    state = read_state(journal.expanduser())
    where = target.describe() if target is not None else _describe(state.header["target"])
    report = await MigrationManager().rollback(
        journal, target, environment=environment, ask_password=ask_password
    )
    return RollbackResult(
        migration_id=journal.expanduser().resolve().parent.name,
        target=where,
        deleted_memories=report.memories.deleted,
        deleted_relationships=report.relationships.deleted,
        restored_records=report.memories.updated + report.relationships.updated,
        already=report.already,
        report=report.to_dict(),
    )


def journal_path(workdir: Path, migration_id: str) -> Path:
    """Where migration `migration_id` run in `workdir` keeps its journal."""
    return workdir / migration_id / JOURNAL_FILE


def journal_state(journal: Path) -> str:
    """The state `journal` records (importing, committed, rolled_back, …), or
    `UsageError` when the file is not a migration journal."""
    return read_state(journal).state


def list_migrations(
    workdir: Path, running: Mapping[str, MigrationEntry] | None = None
) -> MigrationList:
    """Every migration with a journal in `workdir`, and those in `running` (live entries,
    newer than their journals while they run), oldest first."""
    entries = dict(running or {})
    if workdir.is_dir():
        for journal in sorted(workdir.glob(f"*/{JOURNAL_FILE}")):
            migration_id = journal.parent.name
            if migration_id in entries and entries[migration_id].state != "running":
                continue
            try:
                state = read_state(journal)
            except UsageError as e:
                entries[migration_id] = MigrationEntry(
                    migration_id=migration_id,
                    state="damaged",
                    source="",
                    target="",
                    started_at="",
                    detail=str(e),
                )
                continue
            if migration_id in entries:
                continue  # still running here: the live state is newer
            entries[migration_id] = MigrationEntry(
                migration_id=migration_id,
                state=state.state,
                source=_describe(state.header["source"]),
                target=_describe(state.header["target"]),
                started_at=str(state.header.get("created_at", "")),
                counts=_journal_counts(journal),
            )
    ordered = sorted(entries.values(), key=lambda e: (e.started_at, e.migration_id))
    return MigrationList(migrations=ordered)


class MigrationDesk:
    """Runs migrations whose source is `source`, with work files under `workdir`."""

    def __init__(
        self, source: BackendConfig, workdir: Path, environment: Mapping[str, str]
    ) -> None:
        self.source = source
        self.workdir = workdir
        self.environment = environment
        self._dry_runs: set[str] = set()
        self._running: dict[str, MigrationEntry] = {}
        #: Migrations a cancellation stopped (their caller gone, or the call cancelled),
        #: by id: the error says whether the target was rolled back, and if not, how
        #: to settle its journal.
        self.stopped: dict[str, MigrationError] = {}

    def target(self, backend: str, given: TargetConfig | None) -> BackendConfig:
        return resolve_target(backend, given, self.environment)

    def had_dry_run(self, target: BackendConfig) -> bool:
        return target.describe() in self._dry_runs

    async def migrate(
        self,
        target: BackendConfig,
        request: MigrateStore,
        *,
        progress: Progress | None = None,
        principal: Principal = LOCAL,
    ) -> MigrationReport:
        """Migrate this process's store to `target` as `request` says (or only plan it,
        with `dry_run`)."""
        principal.require_whole_store("migrate a store")
        migration_id = new_migration_id()
        options = request.options(workdir=self.workdir, migration_id=migration_id)
        dry_run = request.dry_run
        entry = MigrationEntry(
            migration_id=migration_id,
            state="running",
            source=self.source.describe(),
            target=target.describe(),
            started_at=format_timestamp(utc_now()),
        )
        self._running[migration_id] = entry
        try:
            result = await migrate(self.source, target, options, progress=progress)
        except MigrationError as e:
            entry.state = _failed_state(e.result)
            entry.detail = str(e)
            if isinstance(e.__cause__, asyncio.CancelledError):
                # Rolled back already (or its journal kept, as `e` says); the caller's
                # cancellation goes on as a cancellation.
                self.stopped[migration_id] = e
                raise e.__cause__ from None
            raise
        except BaseException as e:
            entry.state = "failed"
            entry.detail = str(e) or type(e).__name__
            raise
        entry.state = "dry_run" if dry_run else "committed"
        entry.detail = _summary(result)
        entry.counts = result_counts(result)
        entry.verification = verification_of(result)
        if dry_run:
            self._dry_runs.add(target.describe())
        return MigrationReport(
            migration_id=migration_id,
            success=result.success,
            dry_run=result.dry_run,
            rolled_back=result.rolled_back,
            summary=_summary(result),
            report=result.to_dict(),
        )

    def journal(self, migration_id: str) -> Path:
        """The journal of `migration_id`, or `UsageError` when there is none."""
        if not migration_id or "/" in migration_id or migration_id.startswith("."):
            raise UsageError(f"migration_id {migration_id!r} is not a migration id")
        path = journal_path(self.workdir, migration_id)
        if not path.is_file():
            raise UsageError(
                f"migration {migration_id!r} has no journal in {self.workdir} (a committed or "
                "rolled-back migration leaves none); see list_migrations"
            )
        return path

    async def rollback(
        self, migration_id: str, password: str | None = None, principal: Principal = LOCAL
    ) -> RollbackResult:
        """Undo what migration `migration_id` wrote, from its journal."""
        principal.require_whole_store("roll back a migration")
        path = self.journal(migration_id)
        entry = self._running.get(migration_id) or self._entry_of(path)
        result = await rollback(
            path, target=self._journal_target(path, password), environment=self.environment
        )
        self._running[migration_id] = entry
        entry.state = "rolled_back"
        if not result.already:
            entry.counts = {**entry.counts, **_rollback_counts(result)}
            entry.detail = (
                f"rolled back: deleted {result.deleted_memories} memories and "
                f"{result.deleted_relationships} relationships; restored "
                f"{result.restored_records} records"
            )
        return result

    async def resume(
        self,
        migration_id: str,
        password: str | None = None,
        progress: Progress | None = None,
        principal: Principal = LOCAL,
    ) -> MigrationReport:
        """Finish the interrupted migration `migration_id` without duplicating anything."""
        principal.require_whole_store("resume a migration")
        path = self.journal(migration_id)
        target = self._journal_target(path, password)
        entry = self._running.get(migration_id) or self._entry_of(path)
        result = await resume(
            path,
            source=self.source,
            target=target,
            environment=self.environment,
            progress=progress,
        )
        self._running[migration_id] = entry
        entry.state = "committed"
        entry.detail = _summary(result)
        entry.counts = result_counts(result)
        entry.verification = verification_of(result)
        return MigrationReport(
            migration_id=migration_id,
            success=result.success,
            dry_run=False,
            rolled_back=result.rolled_back,
            summary=_summary(result),
            report=result.to_dict(),
        )

    @staticmethod
    def _entry_of(journal: Path) -> MigrationEntry:
        """The entry of a migration another process left with its journal."""
        state = read_state(journal)
        return MigrationEntry(
            migration_id=journal.parent.name,
            state=state.state,
            source=_describe(state.header["source"]),
            target=_describe(state.header["target"]),
            started_at=str(state.header.get("created_at", "")),
            counts=_journal_counts(journal),
        )

    def _journal_target(self, path: Path, password: str | None) -> BackendConfig:
        resolved = read_state(path).target_config(self.environment)
        return replace(resolved, password=password) if password else resolved

    def list(self, principal: Principal = LOCAL) -> MigrationList:
        """Every migration this process started, and every journal left in the workdir."""
        principal.require("admin", "list migrations")
        return list_migrations(self.workdir, self._running)


def result_counts(result: MigrationResult) -> dict[str, int]:
    """A finished run's counts by name: read, inserted, updated, verified, … per kind
    (those that are not zero, and always what was read)."""
    counts: dict[str, int] = {}
    for kind, kept in (("memories", result.memories), ("relationships", result.relationships)):
        for name, value in kept.to_dict().items():
            if value or name == "read":
                counts[f"{kind}_{name}"] = value
    return counts


def verification_of(result: MigrationResult) -> str | None:
    """How a run's verification ended, in a few words; None when it did not verify."""
    v = result.verification
    if v is None:
        return None
    outcome = "passed" if v.valid else f"failed ({v.mismatch_total} mismatches)"
    return f"{outcome}: {v.passed} of {v.checked} records matched"


def _rollback_counts(result: RollbackResult) -> dict[str, int]:
    return {k: v for k, v in result.report.items() if isinstance(v, int) and k != "already"}


def _journal_counts(journal: Path) -> dict[str, int]:
    """What the journal's batches wrote (the counts that are not zero)."""
    try:
        return {name: n for name, n in written_counts(journal).items() if n}
    except UsageError:
        return {}


def _describe(end: Any) -> str:
    """A journal's recorded end, named as a config would name it (nothing resolved)."""
    try:
        return config_from_dict(end, {}).describe()
    except (MemoryGraphError, AttributeError):
        where = end.get("path") or end.get("uri") if isinstance(end, dict) else None
        return f"{end.get('backend_type') if isinstance(end, dict) else '?'} at {where}"


def _failed_state(result: Any) -> str:
    if isinstance(result, MigrationResult):
        if result.rolled_back is True:
            return "rolled_back"
        if result.rolled_back is False:
            return "failed"
    return "failed"
