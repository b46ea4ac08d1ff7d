"""The two record kinds, what a backend does with each, and what was done to them.

`KINDS["memory"]` and `KINDS["relationship"]` (`KindOps`) name a kind's model and
the backend operations for it, so code that treats both kinds alike (an import,
verification, a rollback, a snapshot) looks the operation up instead of
branching on the kind. `KindCounts` is the one count of what happened to the
records of one kind: an import, its dry run, a migration and a rollback all
report in it. `Progress` is the one progress callback.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

from memorygraph.canonical import RecordKind
from memorygraph.models import Memory, Relationship

if TYPE_CHECKING:
    from memorygraph.backends.base import Backend, WriteResult

#: progress(what, records done, records expected or None): `what` is a record kind
#: (export, import) or a migration phase.
Progress = Callable[[str, int, int | None], None]

Record = Memory | Relationship


@dataclass(frozen=True)
class KindOps:
    """One record kind: its name, model, plural, and the backend operations for it."""

    name: RecordKind
    model: type[Memory] | type[Relationship]
    plural: str
    get: Callable[[Backend, Sequence[str]], Awaitable[Sequence[Record]]]
    existing: Callable[[Backend, Sequence[str]], Awaitable[set[str]]]
    #: Deletes; returns how many records of this kind existed (a memory takes its
    #: relationships with it, which it does not count).
    delete: Callable[[Backend, Sequence[str]], Awaitable[int]]
    #: Removes without leaving tombstones (a rollback's undo); returns as `delete`.
    purge: Callable[[Backend, Sequence[str]], Awaitable[int]]
    #: Every record (changed at or after `since`), streamed in pages of `batch_size`.
    iterate: Callable[[Backend, datetime | None, int | None], AsyncIterator[Record]]
    count: Callable[[Backend], Awaitable[int]]
    count_by_type: Callable[[Backend], Awaitable[dict[Any, int]]]

    def parse(self, data: dict[str, Any]) -> Record:
        return self.model.parse(data)


MEMORY = KindOps(
    "memory",
    Memory,
    "memories",
    get=lambda b, ids: b.get_memories(ids),
    existing=lambda b, ids: b.existing_memory_ids(ids),
    delete=lambda b, ids: b.delete_memories(ids),
    purge=lambda b, ids: b.purge_memories(ids),
    iterate=lambda b, since, size: b.iter_memories(since=since, batch_size=size),
    count=lambda b: b.count_memories(),
    count_by_type=lambda b: b.count_memories_by_type(),
)
RELATIONSHIP = KindOps(
    "relationship",
    Relationship,
    "relationships",
    get=lambda b, ids: b.get_relationships(ids),
    existing=lambda b, ids: b.existing_relationship_ids(ids),
    delete=lambda b, ids: b.delete_relationships(ids),
    purge=lambda b, ids: b.purge_relationships(ids),
    iterate=lambda b, since, size: b.iter_relationships(since=since, batch_size=size),
    count=lambda b: b.count_relationships(),
    count_by_type=lambda b: b.count_relationships_by_type(),
)
#: Both kinds, memories first: the order records are written in (a relationship's
#: ends must exist); deletions go the other way round.
KINDS: dict[RecordKind, KindOps] = {MEMORY.name: MEMORY, RELATIONSHIP.name: RELATIONSHIP}


@dataclass
class KindCounts:
    """What happened to the records of one kind: read (from a migration's source),
    inserted (new), updated (replaced, by a newer change stamp unless told to replace),
    skipped (already present, when told to skip those), rejected (refused), verified
    (matched after a migration), deleted (by tombstones, or by a rollback), unchanged
    (held already, the same record) and older (left out, records and tombstones
    alike, because the target holds a newer version).

    A dry run counts what would happen the same way."""

    read: int = 0
    inserted: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: int = 0
    verified: int = 0
    deleted: int = 0
    unchanged: int = 0
    older: int = 0

    @property
    def written(self) -> int:
        """Records a write handled: inserted, updated, skipped, unchanged or older."""
        return self.inserted + self.updated + self.skipped + self.unchanged + self.older

    def add(self, result: WriteResult) -> None:
        self.inserted += len(result.inserted)
        self.updated += len(result.updated)
        self.skipped += len(result.skipped)
        self.rejected += len(result.rejected)
        self.unchanged += len(result.unchanged)
        self.older += len(result.older)

    def merge(self, other: KindCounts) -> None:
        """Add every count of `other` to this one."""
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def to_dict(self, *names: str) -> dict[str, int]:
        """The counts named (every count if none is), by name."""
        counts = asdict(self)
        return {name: counts[name] for name in names or (f.name for f in fields(self))}


class PerKind:
    """A report with a `KindCounts` per kind, as `memories` and `relationships`."""

    memories: KindCounts
    relationships: KindCounts

    def counts(self, kind: str) -> KindCounts:
        return self.memories if kind == MEMORY.name else self.relationships
