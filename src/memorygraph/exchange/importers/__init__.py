"""Importers for the files users already have, feeding the one import path.

Each importer converts its source into a temporary memorygraph export file
(so the file is validated like any other and the import is the same
all-or-nothing `import_graph`), and reports what it could not map:

=============  ==================================================================
memorygraph    a memorygraph export (JSON Lines, optionally gzip): no conversion
mcp-json       the memorygraph MCP server's single-document JSON export (v2.0)
mcp-sqlite     the memorygraph MCP server's SQLite database (opened read-only)
memory-jsonl   the reference MCP "memory" server's JSONL knowledge graph
=============  ==================================================================

And, read in place rather than from a file (`import_graph_store`), the graph
that server keeps in FalkorDB, Neo4j or Memgraph (mcp-falkordb, mcp-neo4j,
mcp-memgraph; see `mcp_graph`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import orjson

from memorygraph.backends.base import Backend
from memorygraph.config import BackendConfig
from memorygraph.errors import InvalidExportError, UsageError
from memorygraph.exchange.export import ExportWriter
from memorygraph.exchange.format import FORMAT_NAME, KIND_HEADER, open_for_read
from memorygraph.exchange.importers import mcp_graph, mcp_json, mcp_sqlite, memory_jsonl
from memorygraph.exchange.importers._common import ConversionReport, stable_id
from memorygraph.exchange.load import ImportSummary, OnBatch
from memorygraph.exchange.load import import_graph as _import_graph
from memorygraph.exchange.reader import require_file
from memorygraph.kinds import Progress

MEMORYGRAPH: Final = "memorygraph"
FORMATS: Final = (MEMORYGRAPH, mcp_json.NAME, mcp_sqlite.NAME, memory_jsonl.NAME)
_CONVERTERS: Final[dict[str, Callable[[Path, Any, ConversionReport], None]]] = {
    mcp_json.NAME: mcp_json.convert,
    mcp_sqlite.NAME: mcp_sqlite.convert,
    memory_jsonl.NAME: memory_jsonl.convert,
}
_SNIFF_BYTES: Final = 64 * 1024

__all__ = [
    "FORMATS",
    "ConversionReport",
    "convert_graph_store",
    "convert_to_export",
    "detect_format",
    "import_file",
    "import_graph_store",
    "stable_id",
]


def detect_format(path: Path | str) -> str:
    """Which of `FORMATS` the file at `path` is, from its first bytes and first line.

    Raises `UsageError` naming the formats when it is none of them.
    """
    path = require_file(path)
    with path.open("rb") as raw:
        if raw.read(16) == b"SQLite format 3\x00":
            return mcp_sqlite.NAME
    with open_for_read(path) as stream:
        try:
            head = stream.read(_SNIFF_BYTES)
        except (OSError, EOFError) as e:
            raise InvalidExportError(f"{path} cannot be read ({e})") from e
    first = head.split(b"\n", 1)[0]
    try:
        obj = orjson.loads(first)
    except orjson.JSONDecodeError:
        obj = None
    if isinstance(obj, dict):
        if obj.get("kind") == KIND_HEADER or obj.get("format") == FORMAT_NAME:
            return MEMORYGRAPH
        if obj.get("type") in ("entity", "relation"):
            return memory_jsonl.NAME
        if "memories" in obj or "format_version" in obj or "export_version" in obj:
            return mcp_json.NAME
    # A pretty-printed single document: its first line is just "{".
    if head.lstrip()[:1] == b"{" and any(
        key in head for key in (b'"memories"', b'"export_version"', b'"format_version"')
    ):
        return mcp_json.NAME
    raise UsageError(
        f"cannot tell the format of {path}; name its format, one of: {', '.join(FORMATS)}",
        field="format",
    )


def _resolve(path: Path, fmt: str) -> str:
    if fmt == "auto":
        return detect_format(path)
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}; choose auto or one of: {', '.join(FORMATS)}")
    return fmt


def convert_to_export(
    path: Path | str, out: Path | str, *, format: str = "auto"
) -> ConversionReport:
    """Convert the file at `path` (of `format`, or detected) into a memorygraph export at `out`.

    Returns the report of what was converted and what could not be mapped.
    Raises `InvalidExportError` when the file is not of that format at all.
    """
    path = require_file(path)
    fmt = _resolve(path, format)
    if fmt == MEMORYGRAPH:
        raise UsageError(f"{path} is already a memorygraph export; import it directly")
    report = ConversionReport(source_format=fmt, source=path, output=Path(out))
    writers: list[ExportWriter] = []

    def writer_for() -> ExportWriter:
        writer = ExportWriter(
            out,
            source={"backend": fmt, "engine_version": None, "converted_from": path.name},
            incremental=False,
        )
        writers.append(writer)
        return writer

    try:
        _CONVERTERS[fmt](path, writer_for, report)
        if not writers:
            writer_for()
        writers[0].finish()
    finally:
        for writer in writers:
            writer.abort()  # no-op once finished
    return report


async def import_file(
    path: Path | str,
    backend: Backend | None,
    *,
    format: str = "auto",
    skip_duplicates: bool = False,
    progress: Progress | None = None,
    on_batch: OnBatch | None = None,
    batch_size: int | None = None,
    apply_deletions: bool = True,
    dry_run: bool = False,
) -> ImportSummary:
    """Import a file of any of `FORMATS` into `backend` (see `import_graph`, also for
    `dry_run` and a `backend` of None).

    Other formats are converted to a temporary export first; the summary's
    `conversion` then holds the `ConversionReport` as a dict.
    """
    path = require_file(path)
    fmt = _resolve(path, format)
    options: dict[str, Any] = {
        "skip_duplicates": skip_duplicates,
        "progress": progress,
        "on_batch": on_batch,
        "batch_size": batch_size,
        "apply_deletions": apply_deletions,
        "dry_run": dry_run,
    }
    if fmt == MEMORYGRAPH:
        return await _import_graph(path, backend, **options)
    with tempfile.TemporaryDirectory(prefix="memorygraph-import-") as tmp:
        report = convert_to_export(path, Path(tmp) / "converted.jsonl", format=fmt)
        summary = await _import_graph(Path(tmp) / "converted.jsonl", backend, **options)
    report.output = None
    summary.path = path
    summary.conversion = report.to_dict()
    return summary


async def convert_graph_store(source: BackendConfig, out: Path | str) -> ConversionReport:
    """Convert the memorygraph MCP server's graph at `source` (FalkorDB, Neo4j or Memgraph,
    opened read-only) into a memorygraph export at `out`; the report says what could
    not be mapped."""
    fmt = mcp_graph.source_name(source)
    where = source.describe()
    report = ConversionReport(source_format=fmt, source=where, output=Path(out))
    writers: list[ExportWriter] = []

    def writer_for() -> ExportWriter:
        writer = ExportWriter(
            out,
            source={"backend": fmt, "engine_version": engine, "converted_from": where},
            incremental=False,
        )
        writers.append(writer)
        return writer

    try:
        async with mcp_graph.open_source(source) as graph:
            engine = await graph.engine_version()
            await mcp_graph.convert(graph, writer_for, report)
        writers[0].finish()
    finally:
        for writer in writers:
            writer.abort()  # no-op once finished
    return report


async def import_graph_store(
    source: BackendConfig,
    backend: Backend | None,
    *,
    skip_duplicates: bool = False,
    progress: Progress | None = None,
    on_batch: OnBatch | None = None,
    batch_size: int | None = None,
    dry_run: bool = False,
) -> ImportSummary:
    """Import the memorygraph MCP server's graph at `source` into `backend`, all or nothing
    (or with `dry_run`, report what that would do; see `import_graph`).

    The graph is read into a temporary export first (`convert_graph_store`), which
    is then imported like a file; the summary's `conversion` holds the report."""
    with tempfile.TemporaryDirectory(prefix="memorygraph-import-") as tmp:
        converted = Path(tmp) / "converted.jsonl"
        report = await convert_graph_store(source, converted)
        summary = await _import_graph(
            converted,
            backend,
            skip_duplicates=skip_duplicates,
            progress=progress,
            on_batch=on_batch,
            batch_size=batch_size,
            dry_run=dry_run,
        )
    report.output = None
    summary.path = source.describe()
    summary.conversion = report.to_dict()
    return summary
