"""Writers of other tools' formats, so a memorygraph store can go back where it came from.

=============  ==================================================================
mcp-json       the memorygraph MCP server's JSON export (format_version "2.0"),
               which that server's `import_from_json` reads
memory-jsonl   the reference MCP "memory" server's JSONL knowledge graph
=============  ==================================================================

Each writer streams the backend once (memory-jsonl keeps each memory's name
until the relations are written, as that server keeps the whole graph) and
returns an `OtherExportReport` naming, per reason, how many records carry
something the format (or its reader) cannot keep. The file appears only when
it is complete.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO, Final

from memorygraph import safefiles
from memorygraph.backends.base import Backend
from memorygraph.errors import UsageError
from memorygraph.exchange.exporters.report import OtherExportReport as OtherExportReport

MCP_JSON: Final = "mcp-json"
MEMORY_JSONL: Final = "memory-jsonl"
MEMORYGRAPH: Final = "memorygraph"
EXPORT_FORMATS: Final = (MEMORYGRAPH, MCP_JSON, MEMORY_JSONL)


Writer = Callable[[Backend, IO[bytes], OtherExportReport], Awaitable[None]]


async def export_other(backend: Backend, path: Path | str, *, format: str) -> OtherExportReport:
    """Write the whole graph of `backend` to `path` in `format` (mcp-json or memory-jsonl).

    The file is written beside `path` under a temporary name and renamed when
    complete; on any error `path` is left as it was. It is readable by its owner
    only, and a symbolic link at either name is refused (`safefiles`).
    """
    from memorygraph.exchange.exporters import mcp_json, memory_jsonl

    writers: dict[str, Writer] = {MCP_JSON: mcp_json.write, MEMORY_JSONL: memory_jsonl.write}
    if format not in writers:
        raise UsageError(
            f"unknown export format {format!r}; choose one of: {', '.join(EXPORT_FORMATS)}"
        )
    path = Path(path)
    if not path.parent.is_dir():
        raise UsageError(
            f"directory {path.parent} does not exist; create it or choose another path"
        )
    report = OtherExportReport(format=format, path=path)
    partial = path.with_name(f".{path.name}.partial")
    started = time.perf_counter()
    safefiles.refuse_link(path, "the export")
    out = safefiles.create(partial, "the export's partial file", replace_stale=True)
    try:
        with out:
            await writers[format](backend, out, report)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)  # created above: never a link planted there
    report.bytes = path.stat().st_size
    report.duration_seconds = time.perf_counter() - started
    return report
