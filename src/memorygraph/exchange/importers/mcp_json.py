"""The single-document JSON export of the memorygraph MCP server (format_version "2.0").

Layout: one JSON object with `format_version`, `export_version`,
`export_date`, `backend_type`, `memory_count`, `relationship_count`,
`memories` (objects with nested `context`) and `relationships`
(`from_memory_id`, `to_memory_id`, `type`, `properties`{...}, no id).
The document is read whole (it is one JSON value), with integers kept exactly
(the server writes them with Python's `json`, of any size); records are
written out one by one. Relationship ids are derived from (from, type, to)
exactly as the `mcp-sqlite` importer derives them, so importing both files of
the same store gives each relationship once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from memorygraph.errors import InvalidExportError
from memorygraph.exchange.export import ExportWriter
from memorygraph.exchange.importers._common import (
    ConversionReport,
    Unmappable,
    file_time,
    loads_exact,
    memory_from_mcp,
    parse_time,
    relationship_from_mcp,
)
from memorygraph.models import Memory, Relationship

NAME = "mcp-json"


def load_document(path: Path) -> dict[str, Any]:
    """The parsed document, or `InvalidExportError` saying why it is not one."""
    try:
        doc = loads_exact(path.read_bytes())
    except (ValueError, RecursionError) as e:
        raise InvalidExportError(
            f"{path} is not valid JSON ({e}); is it an MCP JSON export?"
        ) from e
    if not isinstance(doc, dict) or not isinstance(doc.get("memories"), list):
        raise InvalidExportError(
            f'{path} has no "memories" list at the top level; it is not an MCP JSON export'
        )
    return doc


def convert(path: Path, writer_for: Any, report: ConversionReport) -> None:
    """Write the memories, then the relationships, of the MCP JSON export at `path`."""
    doc = load_document(path)
    try:
        default_time = parse_time(doc.get("export_date"), report, "export_date") or file_time(path)
    except Unmappable:
        default_time = file_time(path)
    report.notes.append(
        f"source: format_version {doc.get('format_version')!r}, export_version "
        f"{doc.get('export_version')!r}, backend {doc.get('backend_type')!r}, "
        f"{doc.get('memory_count')!r} memories and {doc.get('relationship_count')!r} "
        "relationships declared"
    )
    memories: dict[str, Memory] = {}
    for i, obj in enumerate(doc["memories"]):
        where = f"memories[{i}]"
        if not isinstance(obj, dict):
            report.skip("memory entries that are not JSON objects", where)
            continue
        try:
            memory = memory_from_mcp(obj, report, default_time=default_time, where=where)
        except Unmappable as e:
            report.skip("memories that are not valid", f"{where}: {e}")
            continue
        if memory.id in memories:
            report.skip("memories repeating an earlier id (first kept)", where)
            continue
        memories[memory.id] = memory
    relationships: dict[str, Relationship] = {}
    raw_relationships = doc.get("relationships") or []
    if not isinstance(raw_relationships, list):
        report.skip('"relationships" that is not a list')
        raw_relationships = []
    for i, obj in enumerate(raw_relationships):
        where = f"relationships[{i}]"
        if not isinstance(obj, dict):
            report.skip("relationship entries that are not JSON objects", where)
            continue
        props = obj.get("properties") or {}
        if not isinstance(props, dict):
            report.skip("relationships whose properties are not an object", where)
            continue
        try:
            rel = relationship_from_mcp(obj, props, report, default_time=default_time)
        except Unmappable as e:
            report.skip("relationships that are not valid", f"{where}: {e}")
            continue
        if rel.from_id not in memories or rel.to_id not in memories:
            report.skip("relationships whose ends are not memories of the file", where)
            continue
        if rel.id in relationships:
            report.skip("relationships repeating an earlier one (same id or ends and type)", where)
            continue
        relationships[rel.id] = rel
    for name, declared, found in (
        ("memory_count", doc.get("memory_count"), len(doc["memories"])),
        ("relationship_count", doc.get("relationship_count"), len(raw_relationships)),
    ):
        if isinstance(declared, int) and declared != found:
            report.notes.append(f"the document declares {name} {declared} but holds {found}")
    writer: ExportWriter = writer_for()
    ordered_memories = [memories[k] for k in sorted(memories)]
    writer.write_memories(ordered_memories)
    writer.write_relationships([relationships[k] for k in sorted(relationships)])
    report.memories, report.relationships = len(memories), len(relationships)
