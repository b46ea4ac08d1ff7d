"""The JSONL knowledge graph of the reference MCP "memory" server.

Lines: ``{"type":"entity","name":...,"entityType":...,"observations":[...]}``
and ``{"type":"relation","from":...,"to":...,"relationType":...}``; relations
name entities. Mapping: an entity becomes a memory whose id is derived from
its name (so relations resolve and re-imports are idempotent), title = name,
content = the observations joined by newlines, type = the entityType when it
is a memorygraph type else general; the original entityType (and the
observation list, whenever joining would not be reversible) is kept in
`context.metadata`. A relation becomes a relationship of the matching type,
else RELATED_TO; a relationType that is not exactly the type's value is kept
in the description (`vocabulary.keep_source_type`). The file has no
timestamps, and the server appends what it creates, so its order is the order
of creation: each record is created the file's modification time less one
microsecond for every line after its own (its first line, for an entity the
file repeats), which keeps that order for the exporter to give back.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from memorygraph.errors import InvalidExportError, InvalidRecordError
from memorygraph.exchange.export import ExportWriter
from memorygraph.exchange.format import iter_lines, open_for_read
from memorygraph.exchange.importers._common import (
    ConversionReport,
    file_time,
    memory_type,
    relationship_type,
    stable_id,
)
from memorygraph.exchange.vocabulary import keep_source_type
from memorygraph.models import Memory, MemoryContext, Relationship

NAME = "memory-jsonl"


def entity_id(name: str) -> str:
    """The memory id of the entity called `name`."""
    return stable_id("memory-jsonl-entity", name)


def _objects(path: Path, report: ConversionReport, kind: str) -> Any:
    with open_for_read(path) as stream:
        for raw in iter_lines(stream):
            where = f"line {raw.number}"
            if raw.data is None:
                if kind == "entity":
                    report.skip(raw.error or "lines too long to read", where)
                continue
            if not raw.data.strip():
                continue
            try:
                obj = orjson.loads(raw.data)
            except orjson.JSONDecodeError:
                if kind == "entity":  # count each bad line once, in the first pass
                    report.skip("lines that are not JSON", where)
                continue
            if not isinstance(obj, dict) or obj.get("type") not in ("entity", "relation"):
                if kind == "entity":
                    report.skip('lines that are neither "entity" nor "relation"', where)
                continue
            if obj["type"] == kind:
                yield raw.number, obj


def _line_times(path: Path) -> Any:
    """A function from a line number to that line's creation time (see the module's text)."""
    with open_for_read(path) as stream:
        last = sum(1 for _ in iter_lines(stream))
    end = file_time(path)

    def created(number: int) -> datetime:
        return end - timedelta(microseconds=last - number)

    return created


def convert(path: Path, writer_for: Any, report: ConversionReport) -> None:
    """Two passes: entities (merged by name, written in id order), then relations."""
    created = _line_times(path)
    entities: dict[str, dict[str, Any]] = {}
    for number, obj in _objects(path, report, "entity"):
        name, observations = obj.get("name"), obj.get("observations", [])
        if not isinstance(name, str) or not name.strip() or "\x00" in name:
            report.skip("entities without a usable name", f"line {number}")
            continue
        if not isinstance(observations, list):
            report.skip("entities whose observations are not a list", f"line {number}")
            continue
        texts = []
        for item in observations:
            if not isinstance(item, str):
                report.adjust("observations that were not text, kept as JSON text")
                item = orjson.dumps(item).decode()
            texts.append(item)
        if name in entities:
            # The server appends observations to an existing entity; so does this.
            report.adjust("entities repeated in the file, merged into one")
            seen = entities[name]["observations"]
            seen += [t for t in texts if t not in seen]
            continue
        entities[name] = {
            "line": number,
            "entityType": obj.get("entityType"),
            "observations": texts,
            "extra": {
                k: v
                for k, v in obj.items()
                if k not in ("type", "name", "entityType", "observations")
            },
        }
    memories = []
    for name, entity in entities.items():
        mtype, _ = memory_type(entity["entityType"], report)
        metadata: dict[str, Any] = {"source": NAME, "entity_type": entity["entityType"]}
        observations = entity["observations"]
        joined = "\n".join(observations)
        if (joined.split("\n") if joined else []) != observations:
            # A newline inside one, or a lone empty one: the content's lines would differ.
            metadata["observations"] = observations
        if entity["extra"]:
            metadata["source_fields"] = entity["extra"]
        try:
            memories.append(
                Memory(
                    id=entity_id(name),
                    type=mtype,
                    title=name,
                    content=joined,
                    created_at=created(entity["line"]),
                    context=MemoryContext(metadata=metadata),
                )
            )
        except InvalidRecordError as e:
            report.skip("entities that are not valid memories", f"entity {name!r}: {e}")
    memories.sort(key=lambda m: m.id)
    writer: ExportWriter = writer_for()
    writer.write_memories(memories)
    report.memories = len(memories)
    known = {m.title for m in memories}
    relationships: dict[str, Relationship] = {}
    for number, obj in _objects(path, report, "relation"):
        start, end, raw_type = obj.get("from"), obj.get("to"), obj.get("relationType")
        if not isinstance(start, str) or not isinstance(end, str) or not isinstance(raw_type, str):
            report.skip("relations without text from/to/relationType", f"line {number}")
            continue
        if start not in known or end not in known:
            report.skip("relations naming an entity that is not in the file", f"line {number}")
            continue
        rtype, original = relationship_type(raw_type, report)
        rel_id = stable_id("memory-jsonl-relation", start, raw_type, end)
        if rel_id in relationships:
            report.skip("relations repeated in the file (first kept)", f"line {number}")
            continue
        try:
            relationships[rel_id] = Relationship(
                id=rel_id,
                from_id=entity_id(start),
                to_id=entity_id(end),
                type=rtype,
                description=keep_source_type(original, None) if original is not None else None,
                created_at=created(number),
            )
        except InvalidRecordError as e:
            report.skip("relations that are not valid relationships", f"line {number}: {e}")
    writer.write_relationships([relationships[k] for k in sorted(relationships)])
    report.relationships = len(relationships)
    if not memories and not relationships and not report.unmapped:
        raise InvalidExportError(f"{path} holds no entities or relations; nothing to import")
