"""The reference MCP "memory" server's JSONL knowledge graph.

Lines: ``{"type":"entity","name":...,"entityType":...,"observations":[...]}`` for
each memory, then ``{"type":"relation","from":...,"to":...,"relationType":...}``
for each relationship, exactly the keys that server writes, each kind in the
order of creation (created_at, then id), as the server appends what it creates.
Names: the memory's title, or ``"title [id]"`` for titles that more than one
memory shares (the server identifies entities by name). entityType: the memory
type (or the original entityType of a memory imported from such a file, while
it still maps onto the memory's type). Observations: the content's lines (or
the original observations of a memory imported from such a file), so
memorygraph's importer gives the same content back. relationType: the
relationship type, or the source type its description keeps
(`vocabulary.kept_source_type`). The server keeps one relation per
(from, relationType, to). A file the server wrote, imported by memorygraph,
comes back line for line.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from typing import IO, Any, Final, TypeVar

import orjson

from memorygraph.backends.base import Backend
from memorygraph.cancellation import checkpoint
from memorygraph.exchange.exporters.report import OtherExportReport
from memorygraph.exchange.vocabulary import kept_memory_type, kept_source_type
from memorygraph.models import Memory, Relationship

_SOURCE: Final = "memory-jsonl"
_BATCH: Final = 500
_Record = TypeVar("_Record", Memory, Relationship)
_MEMORY_DEFAULTS: Final[dict[str, Any]] = {
    "summary": None, "tags": [], "importance": 0.5, "confidence": 0.8, "effectiveness": None,
    "usage_count": 0, "last_accessed": None,
}  # fmt: skip
_REL_DEFAULTS: Final[dict[str, Any]] = {
    "strength": 0.5, "confidence": 0.8, "context": None, "description": None,
    "bidirectional": False, "evidence_count": 0, "success_rate": None, "validation_count": 0,
    "counter_evidence_count": 0, "last_validated": None, "valid_from": None,
    "valid_until": None, "recorded_at": None, "invalidated_by": None,
}  # fmt: skip


def _from_jsonl(memory: Memory) -> dict[str, Any] | None:
    if memory.context is not None and memory.context.metadata.get("source") == _SOURCE:
        return memory.context.metadata
    return None


def entity(memory: Memory, name: str) -> dict[str, Any]:
    """The entity line's object for `memory`, called `name`."""
    origin = _from_jsonl(memory)
    entity_type = memory.type.value
    observations = memory.content.split("\n") if memory.content else []
    if origin is not None:
        entity_type = kept_memory_type(origin.get("entity_type"), memory.type) or entity_type
        kept = origin.get("observations")
        if isinstance(kept, list) and "\n".join(map(str, kept)) == memory.content:
            observations = [str(o) for o in kept]
    return {"type": "entity", "name": name, "entityType": entity_type, "observations": observations}


def _account_memory(memory: Memory, report: OtherExportReport) -> None:
    report.lose("memories whose id and timestamps the format cannot carry")
    for name, default in _MEMORY_DEFAULTS.items():
        if getattr(memory, name) != default:
            report.lose(f"memories with {name}, which the format cannot carry")
    if memory.context is not None and _from_jsonl(memory) is None:
        report.lose("memories with a context, which the format cannot carry")


def relation_type(rel: Relationship) -> str:
    """The relationType for `rel`: the source type its description keeps, else its type."""
    kept = kept_source_type(rel)
    return kept[0] if kept is not None else rel.type.value


def _account_relationship(rel: Relationship, report: OtherExportReport) -> None:
    report.lose("relationships whose id and timestamps the format cannot carry")
    kept = kept_source_type(rel)
    for name, default in _REL_DEFAULTS.items():
        value = getattr(rel, name)
        if name == "description" and kept is not None:
            value = kept[1]  # the kept type is written as the relationType
        if value != default:
            report.lose(f"relationships with {name}, which the format cannot carry")


async def _in_creation_order(
    keys: list[tuple[datetime, str]],
    fetch: Callable[[Sequence[str]], Awaitable[list[_Record]]],
) -> AsyncIterator[_Record]:
    """The records whose (created_at, id) are `keys`, in that order, read in batches
    (a record deleted since its key was read is left out)."""
    keys.sort()
    for start in range(0, len(keys), _BATCH):
        ids = [record_id for _, record_id in keys[start : start + _BATCH]]
        found = {record.id: record for record in await fetch(ids)}
        for record_id in ids:
            if record_id in found:
                yield found[record_id]


async def write(backend: Backend, out: IO[bytes], report: OtherExportReport) -> None:
    """Write every memory as an entity and every relationship as a relation to `out`."""
    titles: dict[str, int] = {}
    memory_keys: list[tuple[datetime, str]] = []
    async for memory in backend.iter_memories():
        titles[memory.title] = titles.get(memory.title, 0) + 1
        memory_keys.append((memory.created_at, memory.id))
    relationship_keys = [(rel.created_at, rel.id) async for rel in backend.iter_relationships()]
    names: dict[str, str] = {}
    taken: set[str] = set()
    async for memory in _in_creation_order(memory_keys, backend.get_memories):
        name = memory.title if titles[memory.title] == 1 else f"{memory.title} [{memory.id}]"
        if name in taken:  # a unique title that equals another's "title [id]"
            name = f"{memory.title} [{memory.id}]"
        taken.add(name)
        names[memory.id] = name
        out.write(orjson.dumps(entity(memory, name)) + b"\n")
        _account_memory(memory, report)
        report.memories += 1
        if report.memories % 1000 == 0:
            await checkpoint()
    if any(count > 1 for count in titles.values()):
        report.notes.append('memories sharing a title are named "title [id]"')
    seen: set[tuple[str, str, str]] = set()
    async for rel in _in_creation_order(relationship_keys, backend.get_relationships):
        start, end = names.get(rel.from_id), names.get(rel.to_id)
        if start is None or end is None:
            report.lose("relationships whose ends are not in the store (not written)")
            continue
        rtype = relation_type(rel)
        key = (start, rtype, end)
        if key in seen:
            report.lose("relationships repeating another's (from, type, to) (not written)")
            continue
        seen.add(key)
        line = {"type": "relation", "from": start, "to": end, "relationType": rtype}
        out.write(orjson.dumps(line) + b"\n")
        _account_relationship(rel, report)
        report.relationships += 1
        if report.relationships % 1000 == 0:
            await checkpoint()
