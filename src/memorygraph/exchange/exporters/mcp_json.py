"""The memorygraph MCP server's JSON export (format_version "2.0"), as its 0.12.x reads it.

One JSON object: `format_version`, `export_version`, `export_date`,
`backend_type`, then `memories` and `relationships`, then `memory_count` and
`relationship_count` (the server reads the document whole, so key order does
not matter to it; counts last keep this writer streaming). Every memorygraph
field is written (context fields under `context`, `context.metadata` as
`additional_metadata`; relationship fields, and the relationship's id, under
`properties`), so memorygraph's own `mcp-json` importer reads the file back
without loss. A type an importer mapped onto memorygraph's is written as the
source had it (a memory's from `context.metadata.source_type`, which is then
left out of `additional_metadata`; a relationship's from its description,
`vocabulary.kept_source_type`), while it still maps onto the record's type.
The server's `import_from_json` reads less; the report counts
the records whose values it drops or refuses.
"""

from __future__ import annotations

from typing import IO, Any, Final

import orjson

from memorygraph.backends.base import Backend
from memorygraph.cancellation import checkpoint
from memorygraph.exchange.exporters.report import OtherExportReport
from memorygraph.exchange.vocabulary import kept_memory_type, kept_source_type
from memorygraph.models import (
    Memory,
    MemoryType,
    Relationship,
    RelationshipType,
    format_timestamp,
    utc_now,
)

_TITLE_MAX: Final = 200
_SUMMARY_MAX: Final = 500
_READ_BY_SERVER: Final = frozenset({"strength", "confidence", "context", "evidence_count"})
_REL_DEFAULTS: Final[dict[str, Any]] = {
    "description": None, "bidirectional": False, "success_rate": None, "validation_count": 0,
    "counter_evidence_count": 0, "last_validated": None, "valid_from": None,
    "valid_until": None, "recorded_at": None, "invalidated_by": None,
}  # fmt: skip
_RELATIONSHIP_TYPES: Final = frozenset(t.value for t in RelationshipType)
_MEMORY_TYPES: Final = frozenset(t.value for t in MemoryType)
_FOREIGN_TYPE: Final = (
    "{} written with their source's type, which is not one the server defines "
    "(its import may refuse them)"
)
_CYCLES_NOTE: Final = (
    "the server refuses a relationship that closes a cycle of its type unless it runs "
    "with MEMORY_ALLOW_CYCLES=true"
)


def _time(value: Any) -> str | None:
    return format_timestamp(value) if value is not None else None


def memory_object(memory: Memory) -> dict[str, Any]:
    """The export's object for `memory`."""
    metadata = memory.context.metadata if memory.context is not None else {}
    source_type = kept_memory_type(metadata.get("source_type"), memory.type)
    obj: dict[str, Any] = {
        "id": memory.id,
        "type": source_type if source_type is not None else memory.type.value,
        "title": memory.title,
        "content": memory.content,
        "summary": memory.summary,
        "tags": list(memory.tags),
        "importance": memory.importance,
        "confidence": memory.confidence,
        "effectiveness": memory.effectiveness,
        "usage_count": memory.usage_count,
        "created_at": _time(memory.created_at),
        "updated_at": _time(memory.updated_at),
        "last_accessed": _time(memory.last_accessed),
    }
    if memory.context is not None:
        ctx = memory.context.model_dump(mode="json")
        context: dict[str, Any] = {k: v for k, v in ctx.items() if k != "metadata"}
        context["timestamp"] = _time(memory.context.timestamp)
        context["additional_metadata"] = ctx["metadata"]
        if source_type is not None:  # the importer keeps it there again
            del context["additional_metadata"]["source_type"]
        obj["context"] = {k: v for k, v in context.items() if v is not None}
    return obj


def relationship_object(rel: Relationship) -> dict[str, Any]:
    """The export's object for `rel`."""
    kept = kept_source_type(rel)
    rel_type, description = kept if kept is not None else (rel.type.value, rel.description)
    props: dict[str, Any] = {
        "id": rel.id,
        "strength": rel.strength,
        "confidence": rel.confidence,
        "context": rel.context,
        "evidence_count": rel.evidence_count,
        "description": description,
        "bidirectional": rel.bidirectional,
        "success_rate": rel.success_rate,
        "validation_count": rel.validation_count,
        "counter_evidence_count": rel.counter_evidence_count,
        "created_at": _time(rel.created_at),
        "last_validated": _time(rel.last_validated),
        "valid_from": _time(rel.valid_from),
        "valid_until": _time(rel.valid_until),
        "recorded_at": _time(rel.recorded_at),
        "invalidated_by": rel.invalidated_by,
    }
    return {
        "from_memory_id": rel.from_id,
        "to_memory_id": rel.to_id,
        "type": rel_type,
        "properties": props,
    }


def _account_memory(memory: Memory, report: OtherExportReport, written_type: str) -> None:
    refused = []
    if written_type not in _MEMORY_TYPES:
        report.lose(_FOREIGN_TYPE.format("memories"))
    if len(memory.title.strip()) > _TITLE_MAX:
        refused.append(f"a title longer than {_TITLE_MAX} characters")
    if not memory.content.strip():
        refused.append("empty content")
    if memory.summary is not None and len(memory.summary) > _SUMMARY_MAX:
        refused.append(f"a summary longer than {_SUMMARY_MAX} characters")
    for reason in refused:
        report.lose(f"memories the server refuses to import: {reason}")
    if memory.title != memory.title.strip() or memory.content != memory.content.strip():
        report.lose("memories whose title or content the server strips of outer whitespace")
    if any(tag != tag.lower().strip() for tag in memory.tags):
        report.lose("memories with tags the server lowercases or strips")
    if memory.effectiveness is not None or memory.usage_count or memory.last_accessed:
        report.lose(
            "memories with effectiveness, usage_count or last_accessed, "
            "which the server's import does not read"
        )
    report.lose("memories whose created_at and updated_at the server's import replaces")


def _account_relationship(rel: Relationship, report: OtherExportReport) -> None:
    kept = kept_source_type(rel)
    description = kept[1] if kept is not None else rel.description
    changed = sorted(
        name
        for name, default in _REL_DEFAULTS.items()
        if (description if name == "description" else getattr(rel, name)) != default
    )
    report.lose("relationships whose id the server's import replaces")
    if kept is not None and kept[0] not in _RELATIONSHIP_TYPES:
        report.lose(_FOREIGN_TYPE.format("relationships"))
    for name in changed:
        report.lose(f"relationships with {name}, which the server's import does not read")


def _write_list(out: IO[bytes], first: bool, obj: dict[str, Any]) -> None:
    out.write(b"\n" if first else b",\n")
    out.write(orjson.dumps(obj))


async def write(backend: Backend, out: IO[bytes], report: OtherExportReport) -> None:
    """Stream `backend` into `out` as one JSON document."""
    head = {
        "format_version": "2.0",
        "export_version": "1.0",
        "export_date": format_timestamp(utc_now()),
        "backend_type": backend.name,
    }
    out.write(orjson.dumps(head)[:-1] + b',\n"memories":[')
    async for memory in backend.iter_memories():
        obj = memory_object(memory)
        _write_list(out, report.memories == 0, obj)
        _account_memory(memory, report, obj["type"])
        report.memories += 1
        if report.memories % 1000 == 0:
            await checkpoint()
    out.write(b'],\n"relationships":[')
    async for rel in backend.iter_relationships():
        _write_list(out, report.relationships == 0, relationship_object(rel))
        _account_relationship(rel, report)
        report.relationships += 1
        if report.relationships % 1000 == 0:
            await checkpoint()
    tail = {"memory_count": report.memories, "relationship_count": report.relationships}
    out.write(b"],\n" + orjson.dumps(tail)[1:] + b"\n")
    if report.relationships:
        report.notes.append(_CYCLES_NOTE)
