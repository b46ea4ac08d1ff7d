"""Operations that move a whole graph through a file: export, import (and its dry run)
and validation of an export.

Each takes the store open (a `MemoryStore`, as a long-lived process such as the MCP
server holds one; or a `Backend`) or as a `BackendConfig` (opened for the call, and
closed after it). Long operations report `progress(phase, done, total)`; a cancelled call
stops between batches, and an import all or nothing writes nothing then.

The results are pydantic models that serialize whole; `report` is the exchange's own
report as a dict (the JSON report a script reads). The typed reports behind them stay on the
result (`ImportResult.plan`, `.summary`, `.conversion`) for an adapter that words
them line by line.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, PrivateAttr

from memorygraph import safefiles
from memorygraph.backends.base import Backend
from memorygraph.backends.registry import target_exists
from memorygraph.config import BackendConfig
from memorygraph.errors import OperationError, UsageError
from memorygraph.exchange import ExportSummary, export_graph
from memorygraph.exchange import validate_export as _validate_export
from memorygraph.exchange.export import refuse_own_store
from memorygraph.exchange.exporters import EXPORT_FORMATS as EXPORT_FORMATS
from memorygraph.exchange.exporters import MEMORYGRAPH as MEMORYGRAPH
from memorygraph.exchange.exporters import OtherExportReport, export_other
from memorygraph.exchange.importers import FORMATS as FORMATS
from memorygraph.exchange.importers import (
    ConversionReport,
    convert_graph_store,
    convert_to_export,
    detect_format,
    import_file,
    import_graph_store,
)
from memorygraph.exchange.importers.mcp_graph import ENGINES as GRAPH_ENGINES
from memorygraph.exchange.load import ImportSummary
from memorygraph.exchange.validate import ValidationReport as ValidationReport
from memorygraph.kinds import Progress as Progress
from memorygraph.migration.file_import import journaled_import
from memorygraph.ops.graph_inputs import ExportMemories, ImportMemories
from memorygraph.ops.inputs import parse
from memorygraph.principal import LOCAL, Principal
from memorygraph.store import MemoryStore, records_backend

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
    _summary: ImportSummary | None = PrivateAttr(default=None)

    @property
    def summary(self) -> ImportSummary:
        """What the import wrote, or with `dry_run` would write."""
        assert self._summary is not None, "every ImportResult is made with its summary"
        return self._summary

    @property
    def plan(self) -> ImportSummary:
        """The dry run's summary (the same shape as a real import's)."""
        return self.summary

    @property
    def conversion(self) -> dict[str, Any] | None:
        """What converting another format lost or adjusted, or None for a memorygraph file."""
        return self.summary.conversion

    @property
    def valid(self) -> bool:
        """False when the file (or graph) failed validation: nothing can be imported."""
        validation = self.summary.validation
        return validation.valid if validation is not None else True


Target = MemoryStore | Backend | BackendConfig


def _config(store: Target) -> BackendConfig:
    return store if isinstance(store, BackendConfig) else store.config


async def export_memories(
    store: Target,
    request: ExportMemories | None = None,
    /,
    *,
    progress: Progress | None = None,
    principal: Principal = LOCAL,
    **fields: Any,
) -> ExportResult:
    """Export the whole store (or what changed since `since`) to `path`: a memorygraph
    export (.gz compresses), or another tool's format with a report of what it lost.
    The parameters are `ExportMemories`, given as the model or as its fields.

    With `progress`, a whole export counts the store first, so each phase
    ("export memories", "export relationships") has its total. `principal` needs
    "admin"; one limited to namespaces exports only theirs (memorygraph format, no
    tombstones)."""
    r = parse(ExportMemories, request, **fields)
    path, format, since = r.path, r.format, r.since
    principal.require("admin", "export memories")
    namespaces = principal.reads
    if namespaces is not None and format != MEMORYGRAPH:
        raise UsageError(
            f"a principal limited to namespaces exports only the memorygraph format, not {format}",
            field="format",
        )
    refuse_own_store(_config(store), path)
    if format != MEMORYGRAPH and since is not None:
        raise UsageError(
            f"since works only with the memorygraph format, not {format}", field="since"
        )
    async with records_backend(store) as backend:
        if format != MEMORYGRAPH:
            other = await export_other(backend, path, format=format)
            return _exported(format, other, lost=other.lost, notes=other.notes)
        totals: dict[str, int | None] = dict.fromkeys(_LABELS)
        if progress is not None and since is None:
            totals = {
                "memory": await backend.count_memories(namespaces=namespaces),
                "relationship": await backend.count_relationships(namespaces=namespaces),
            }

        def exported(kind: str, done: int, _: int | None) -> None:
            if progress is not None:
                progress(f"export {_LABELS[kind]}", done, totals[kind])

        summary = await export_graph(
            backend, path, since=since, progress=exported, namespaces=namespaces
        )
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
    store: Target,
    request: ImportMemories | None = None,
    /,
    *,
    graph: BackendConfig | None = None,
    progress: Progress | None = None,
    workdir: Path | None = None,
    principal: Principal = LOCAL,
    **fields: Any,
) -> ImportResult:
    """Import into the store, all or nothing: the file at `path` in any supported format,
    or the memorygraph MCP server's `graph` read in place (read-only). The parameters
    are `ImportMemories`, given as the model or as its fields. With `dry_run`, only
    report what would happen; a dry run into a file store that does not exist yet
    plans against an empty one and creates nothing.

    A real import is journaled like a migration (`migration.file_import`), in a work
    directory under `workdir` (`~/.memorygraph/migrations` by default) and under the
    store's migration lock: a failure or an interrupt rolls it back at once, and an
    import killed outright leaves its journal there for `MigrationManager.rollback`
    or `MigrationManager.resume`. A successful import leaves nothing behind.

    `keep_deletions` keeps what the file's tombstones would delete. Progress phases
    are "import memories" and "import relationships" (no totals). `principal` must
    hold "admin" and every namespace: records keep the namespaces they name."""
    r = parse(ImportMemories, request, **fields)
    path, format, dry_run, skip_duplicates = r.path, r.format, r.dry_run, r.skip_duplicates
    batch_size, apply_deletions = r.batch_size, not r.keep_deletions
    principal.require_whole_store("import memories")
    if path is None and graph is None:
        raise UsageError("no file to import; give its path", field="path")
    if path is not None and graph is not None:
        raise UsageError("give either a file or a graph to import, not both")
    if format != "auto" and format not in FORMATS:
        raise UsageError(f"format {format!r} is not one of: auto, {', '.join(FORMATS)}")
    if graph is not None and format != "auto":
        raise UsageError("format names what a file is; leave it out for a graph")
    where = str(path) if path is not None else (graph.describe() if graph else "")

    def imported(kind: str, done: int, _: int | None) -> None:
        if progress is not None:
            progress(f"import {_LABELS[kind]}", done, None)

    if dry_run and isinstance(store, BackendConfig) and not target_exists(store):
        # A dry run into a file store that is not there plans against an empty one.
        summary = await _import(None, path, graph, format, skip_duplicates, batch_size,
                                apply_deletions, imported, dry_run=True)  # fmt: skip
    elif dry_run:
        async with records_backend(store) as backend:
            summary = await _import(
                backend, path, graph, format, skip_duplicates, batch_size, apply_deletions,
                imported, dry_run=True,
            )  # fmt: skip
    else:
        async with records_backend(store) as backend:
            summary = await _journaled(
                backend,
                path,
                graph,
                format,
                skip_duplicates=skip_duplicates,
                batch_size=batch_size,
                apply_deletions=apply_deletions,
                progress=imported,
                workdir=workdir,
                # A store given open (a server's) is rolled back through its own
                # connection; one opened here through a new one.
                reopen_for_rollback=isinstance(store, BackendConfig),
            )
    report = summary.to_dict()
    if dry_run:
        report.setdefault("conversion", None)
    result = ImportResult(
        path=where,
        format=format,
        dry_run=dry_run,
        would_write=summary.would_write if dry_run else None,
        report=report,
    )
    result._summary = summary
    return result


async def _import(
    backend: Backend | None,
    path: Path | None,
    graph: BackendConfig | None,
    format: str,
    skip_duplicates: bool,
    batch_size: int | None,
    apply_deletions: bool,
    progress: Progress,
    *,
    dry_run: bool,
) -> ImportSummary:
    if graph is not None:
        return await import_graph_store(
            graph,
            backend,
            skip_duplicates=skip_duplicates,
            batch_size=batch_size,
            progress=progress,
            dry_run=dry_run,
        )
    assert path is not None
    return await import_file(
        path,
        backend,
        format=format,
        skip_duplicates=skip_duplicates,
        batch_size=batch_size,
        apply_deletions=apply_deletions,
        progress=progress,
        dry_run=dry_run,
    )


async def _journaled(
    backend: Backend,
    path: Path | None,
    graph: BackendConfig | None,
    format: str,
    *,
    skip_duplicates: bool,
    batch_size: int | None,
    apply_deletions: bool,
    progress: Progress,
    workdir: Path | None,
    reopen_for_rollback: bool,
) -> ImportSummary:
    """A real import of the file at `path` (or of `graph`), journaled: the file is
    copied, or converted, into the import's work directory first, so that a resume
    reads the very bytes the import began with."""
    conversion: ConversionReport | None = None

    async def prepare(work: Path) -> Path:
        nonlocal conversion
        out = work / "export.jsonl"
        if graph is not None:
            conversion = await convert_graph_store(graph, out)
            return out
        assert path is not None
        fmt = detect_format(path) if format == "auto" else format
        if fmt == MEMORYGRAPH:
            await asyncio.to_thread(_copy_private, path, out)
        else:
            conversion = await asyncio.to_thread(convert_to_export, path, out, format=fmt)
        return out

    summary = await journaled_import(
        backend,
        prepare,
        origin=str(path.resolve()) if path is not None else graph.describe() if graph else "",
        workdir=workdir,
        skip_duplicates=skip_duplicates,
        batch_size=batch_size,
        apply_deletions=apply_deletions,
        progress=progress,
        reopen_for_rollback=reopen_for_rollback,
    )
    summary.path = path if path is not None else graph.describe() if graph else ""
    if conversion is not None:
        conversion.output = None
        summary.conversion = conversion.to_dict()
    return summary


def _copy_private(source: Path, copy: Path) -> None:
    """Copy `source` to the new file `copy` (owner-only, a link there refused), on disk
    before it returns: a resume after a crash reads it."""
    with safefiles.create(copy, "the import's copy of the file", field="workdir") as out:
        try:
            with source.open("rb") as data:
                shutil.copyfileobj(data, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        except OSError as e:
            raise OperationError(
                f"cannot copy {source} into the working directory {copy.parent}: "
                f"{e.strerror or e}; nothing was written to the store; free space there "
                "or choose another workdir",
                field="workdir",
            ) from e


async def validate_export(path: Path, *, max_problems: int = 100) -> ValidationReport:
    """Check every line of the memorygraph export at `path`; never raises for a damaged
    file (the report lists at most `max_problems` problems and counts all of them).
    The file is read in the calling thread, which an interrupt stops at once."""
    return _validate_export(path, max_problems=max_problems)
