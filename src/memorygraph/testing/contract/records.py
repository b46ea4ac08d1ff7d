"""The records every contract test builds from, and the edits it makes to them.

`mem` and `rel` build valid records with fixed ids and times; `MEMORY_CHANGES` /
`RELATIONSHIP_CHANGES` give, for every field a writer may change, a value no
record built here holds (times move back, strengths down, so nothing in the
record itself says "newer"). Nothing here is a test.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from memorygraph.models import Memory, MemoryType, Relationship, RelationshipType

T0 = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


async def after_a_tick() -> datetime:
    """Now, strictly after every earlier write and before every later one."""
    await asyncio.sleep(0.002)
    now = datetime.now(UTC)
    await asyncio.sleep(0.002)
    return now


_LONG_AGO = T0 - timedelta(days=400)
#: For each field a record's writer may change, a value other than `mem`/`rel`'s:
#: times move *back*, strengths *down*, so nothing in the record itself says "newer".
MEMORY_CHANGES: dict[str, object] = {
    "type": MemoryType.PROBLEM,
    "title": "another title",
    "content": "other content",
    "summary": "a summary",
    "tags": ["new-tag"],
    "importance": 0.1,
    "confidence": 0.2,
    "effectiveness": 0.3,
    "usage_count": 7,
    "created_at": _LONG_AGO,
    "updated_at": _LONG_AGO,
    "last_accessed": _LONG_AGO,
    "context": {"project_path": "/p", "metadata": {"k": 1}},
}
RELATIONSHIP_CHANGES: dict[str, object] = {
    "from_id": "m0003",
    "to_id": "m0004",
    "type": RelationshipType.CAUSES,
    "strength": 0.1,
    "confidence": 0.2,
    "context": "some context",
    "description": "closed",
    "bidirectional": True,
    "evidence_count": 3,
    "success_rate": 0.4,
    "validation_count": 2,
    "counter_evidence_count": 5,
    "created_at": _LONG_AGO,
    "last_validated": _LONG_AGO,
    "valid_from": _LONG_AGO,
    "valid_until": _LONG_AGO + timedelta(days=1),
    "recorded_at": _LONG_AGO,
    "invalidated_by": "r0002",
}
MEMORY_EDITS = sorted(MEMORY_CHANGES)
RELATIONSHIP_EDITS = sorted(RELATIONSHIP_CHANGES)


def edit_memory(memory: Memory, field: str) -> Memory:
    """`memory` with `field` changed (and, for `created_at`, `updated_at` kept as it was)."""
    changes: dict[str, object] = {field: MEMORY_CHANGES[field]}
    if field == "created_at":
        changes["updated_at"] = memory.updated_at
    return memory.changed(**changes)


def edit_relationship(relationship: Relationship, field: str) -> Relationship:
    return relationship.changed(**{field: RELATIONSHIP_CHANGES[field]})


def mem(i: int | str, **kw: object) -> Memory:
    fields: dict[str, object] = {
        "id": f"m{i:04d}" if isinstance(i, int) else i,
        "type": MemoryType.SOLUTION,
        "title": f"memory {i}",
        "content": f"content of memory {i}",
        "created_at": T0,
    }
    fields.update(kw)
    return Memory(**fields)


def rel(i: int | str, a: str, b: str, **kw: object) -> Relationship:
    fields: dict[str, object] = {
        "id": f"r{i:04d}" if isinstance(i, int) else i,
        "from_id": a,
        "to_id": b,
        "type": RelationshipType.SOLVES,
        "created_at": T0,
    }
    fields.update(kw)
    return Relationship(**fields)


async def collect(it: AsyncIterator[Memory] | AsyncIterator[Relationship]) -> list[str]:
    return [r.id async for r in it]
