"""Operations that move a whole graph through a file: export, import (and its dry run)
and validation of an export.

Each takes the store as an open `Backend` (a long-lived process, such as the MCP
server, that holds one) or as a `BackendConfig` (opened for the call, and closed
after it). Long operations report `progress(phase, done, total)`; a cancelled call
stops between batches, and an import all or nothing writes nothing then.

The results are pydantic models that serialize whole; `report` is the exchange's own
report as a dict (the JSON report a script reads). The typed reports behind them stay on the
result (`ImportResult.plan`, `.summary`, `.conversion`) for an adapter that words
them line by line.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, PrivateAttr

from memorygraph.backends.base import Backend
from memorygraph.backends.registry import create_backend, target_exists
from memorygraph.config import BackendConfig
from memorygraph.errors import UsageError
from memorygraph.exchange import ExportSummary, export_graph
from memorygraph.exchange import validate_export as _validate_export
from memorygraph.exchange.exporters import EXPORT_FORMATS as EXPORT_FORMATS
from memorygraph.exchange.exporters import MEMORYGRAPH as MEMORYGRAPH
from memorygraph.exchange.exporters import OtherExportReport, export_other
from memorygraph.exchange.importers import FORMATS as FORMATS
from memorygraph.exchange.importers import (
    ConversionReport,
    import_file,
    import_graph_store,
    plan_file,
    plan_graph_store,
)
from memorygraph.exchange.importers.mcp_graph import ENGINES as GRAPH_ENGINES
from memorygraph.exchange.load import ImportPlan, ImportSummary
from memorygraph.exchange.validate import ValidationReport as ValidationReport
from memorygraph.migration.manager import Progress as Progress

__all__ = [
    "EXPORT_FORMATS",
    "FORMATS",
    "GRAPH_ENGINES",
    "MEMORYGRAPH",
    "ExportResult",
    "ImportResult",
    "Progress",
    "ValidationReport",
    "export_memories",
    "import_memories",
    "validate_export",
]

_LABELS = {"memory": "memories", "relationship": "relationships"}


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
    external_relationships: int = Field(
        default=0,
        description="Relationships whose ends are outside an incremental export.",
    )
    bytes: int = 0
    duration_seconds: float = 0.0
    report: dict[str, Any] = Field(
        default_factory=dict, description="The export's full report, as its format states it."
    )


class ImportResult(BaseModel):
    path: str
    format: str
    dry_run: bool
    would_write: bool | None = None
    report: dict[str, Any]
    _plan: ImportPlan | None = PrivateAttr(default=None)
    _summary: ImportSummary | None = PrivateAttr(default=None)
    _conversion: ConversionReport | None = PrivateAttr(default=None)

    @property
    def plan(self) -> ImportPlan:
        """The dry run's plan (a dry run only)."""
        if self._plan is None:
            raise ValueError("a real import has a summary, not a plan")
        return self._plan

    @property
    def summary(self) -> ImportSummary:
        """What the import wrote (a real import only)."""
        if self._summary is None:
            raise ValueError("a dry run has a plan, not a summary")
        return self._summary

    @property
    def conversion(self) -> dict[str, Any] | None:
        """What converting another format lost or adjusted, or None for a memorygraph file."""
        if self._summary is not None:
            return self._summary.conversion
        return self._conversion.to_dict() if self._conversion is not None else None

    @property
    def valid(self) -> bool:
        """False when the file (or graph) failed validation: nothing can be imported."""
        return self._plan.validation.valid if self._plan is not None else True


@asynccontextmanager
async def _opened(store: Backend | BackendConfig) -> AsyncIterator[Backend]:
    if isinstance(store, Backend):
        yield store
        return
    async with create_backend(store) as backend:
        yield backend


async def export_memories(
    store: Backend | BackendConfig,
    path: Path,
    *,
    format: str = MEMORYGRAPH,
    since: datetime | None = None,
    progress: Progress | None = None,
) -> ExportResult:
    """Export the whole store (or what changed since `since`) to `path`: a memorygraph
    export (.gz compresses), or another tool's format with a report of what it lost.

    With `progress`, a whole export counts the store first, so each phase
    ("export memories", "export relationships") has its total."""
    own = store.config.path if isinstance(store, Backend) else store.path
    if own is not None and path.resolve() == own.expanduser().resolve():
        raise UsageError(f"the export file {path} is the store itself; choose another file")
    if format != MEMORYGRAPH and since is not None:
        raise UsageError(
            f"since works only with the memorygraph format, not {format}", field="since"
        )
    async with _opened(store) as backend:
        if format != MEMORYGRAPH:
            other = await export_other(backend, path, format=format)
            return _exported(format, other, lost=other.lost, notes=other.notes)
        totals: dict[str, int | None] = dict.fromkeys(_LABELS)
        if progress is not None and since is None:
            totals = {
                "memory": await backend.count_memories(),
                "relationship": await backend.count_relationships(),
            }

        def exported(kind: str, done: int) -> None:
            if progress is not None:
                progress(f"export {_LABELS[kind]}", done, totals[kind])

        summary = await export_graph(backend, path, since=since, progress=exported)
    return _exported(
        format,
        summary,
        digest=summary.digest,
        external_relationships=summary.external_relationships,
    )


def _exported(format: str, done: ExportSummary | OtherExportReport, **own: Any) -> ExportResult:
    """The result of an export in any format: what every format reports, and `own`."""
    return ExportResult(
        path=str(done.path),
        format=format,
        memories=done.memories,
        relationships=done.relationships,
        bytes=done.bytes,
        duration_seconds=done.duration_seconds,
        report=done.to_dict(),
        **own,
    )


async def import_memories(
    store: Backend | BackendConfig,
    path: Path | None = None,
    *,
    graph: BackendConfig | None = None,
    format: str = "auto",
    dry_run: bool = False,
    skip_duplicates: bool = True,
    batch_size: int | None = None,
    apply_deletions: bool = True,
    progress: Progress | None = None,
) -> ImportResult:
    """Import into the store, all or nothing: the file at `path` in any supported format,
    or the memorygraph MCP server's `graph` read in place (read-only). With `dry_run`,
    only report what would happen; a dry run into a file store that does not exist yet
    plans against an empty one and creates nothing.

    `apply_deletions` False keeps what the file's tombstones would delete. Progress
    phases are "import memories" and "import relationships" (no totals)."""
    if (path is None) == (graph is None):
        raise UsageError("give either a file or a graph to import, not both or neither")
    if format != "auto" and format not in FORMATS:
        raise UsageError(f"format {format!r} is not one of: auto, {', '.join(FORMATS)}")
    if graph is not None and format != "auto":
        raise UsageError("format names what a file is; leave it out for a graph")
    where = str(path) if path is not None else (graph.describe() if graph else "")

    def imported(kind: str, done: int) -> None:
        if progress is not None:
            progress(f"import {_LABELS[kind]}", done, None)

    if dry_run:
        if isinstance(store, BackendConfig) and not target_exists(store):
            plan, conversion = await _plan(
                None, path, graph, format, skip_duplicates, apply_deletions
            )
        else:
            async with _opened(store) as backend:
                plan, conversion = await _plan(
                    backend, path, graph, format, skip_duplicates, apply_deletions
                )
        report = plan.to_dict()
        report["conversion"] = conversion.to_dict() if conversion else None
        result = ImportResult(
            path=where, format=format, dry_run=True, would_write=plan.would_write, report=report
        )
        result._plan, result._conversion = plan, conversion
        return result
    async with _opened(store) as backend:
        if graph is not None:
            summary = await import_graph_store(
                graph,
                backend,
                skip_duplicates=skip_duplicates,
                batch_size=batch_size,
                progress=imported,
            )
        else:
            assert path is not None
            summary = await import_file(
                path,
                backend,
                format=format,
                skip_duplicates=skip_duplicates,
                batch_size=batch_size,
                apply_deletions=apply_deletions,
                progress=imported,
            )
    result = ImportResult(path=where, format=format, dry_run=False, report=summary.to_dict())
    result._summary = summary
    return result


async def _plan(
    backend: Backend | None,
    path: Path | None,
    graph: BackendConfig | None,
    format: str,
    skip_duplicates: bool,
    apply_deletions: bool,
) -> tuple[ImportPlan, ConversionReport | None]:
    if graph is not None:
        return await plan_graph_store(graph, backend, skip_duplicates=skip_duplicates)
    assert path is not None
    return await plan_file(
        path,
        backend,
        format=format,
        skip_duplicates=skip_duplicates,
        apply_deletions=apply_deletions,
    )


async def validate_export(path: Path, *, max_problems: int = 100) -> ValidationReport:
    """Check every line of the memorygraph export at `path`; never raises for a damaged
    file (the report lists at most `max_problems` problems and counts all of them).
    The file is read in the calling thread, which an interrupt stops at once."""
    return _validate_export(path, max_problems=max_problems)
