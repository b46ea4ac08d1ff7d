"""Value types that more than one layer uses, graph-neutral: what a write did to each id
(`WriteResult`), a memory next to another (`Neighbour`), what a deletion leaves
(`Tombstone`), a store's health and recent changes, and the names of the record kinds.

Backends return them, and search, the store, the exchange format and the migration
read them; none of them says anything about any engine, so this module sits at the
bottom and imports only the records it speaks of.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Literal, Self

from memorygraph.models import Memory, MemoryType, Relationship

#: The two kinds of record, by the names every layer uses for them.
RecordKind = Literal["memory", "relationship"]

RECORD_KINDS: tuple[RecordKind, ...] = ("memory", "relationship")


@dataclass(frozen=True)
class Tombstone:
    """What a deletion leaves behind: which record went, and when.

    Deleting a memory leaves one for it and one for every relationship deleted
    with it. A store keeps them beside its records (never counted, iterated or
    searched as records) so that an incremental migration or export can carry
    the deletion. A record written again under the same id outlives its
    tombstone: stores report only tombstones of ids they do not hold.
    """

    kind: RecordKind
    id: str
    #: Canonical timestamp text of the deletion (the store's clock).
    deleted_at: str

    def to_dict(self) -> dict[str, str]:
        return {"deleted_at": self.deleted_at, "id": self.id, "kind": self.kind}


class Direction(StrEnum):
    OUTGOING = "outgoing"
    INCOMING = "incoming"
    BOTH = "both"


@dataclass(frozen=True)
class Neighbour:
    """A memory next to the one asked about, and the edge that joins them."""

    relationship: Relationship
    memory: Memory


@dataclass
class Health:
    """What `Backend.health()` reports. On failure `connected` is False and `error` says why."""

    backend: str
    location: str
    connected: bool
    engine_version: str | None = None
    memory_count: int | None = None
    relationship_count: int | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class WriteResult:
    """Which ids a batched write inserted (new), updated (replaced) or skipped (already
    present); a dry run also names the relationships it rejected (an end stored nowhere).
    A write decided by change stamp also names those it found `unchanged` or `older`."""

    inserted: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    #: Written by change stamp (`memorygraph.changes`): held already, the same record.
    unchanged: list[str] = field(default_factory=list)
    #: Written by change stamp: left out because the store holds a newer version.
    older: list[str] = field(default_factory=list)

    def __iadd__(self, other: WriteResult) -> Self:
        self.inserted += other.inserted
        self.updated += other.updated
        self.skipped += other.skipped
        self.rejected += other.rejected
        self.unchanged += other.unchanged
        self.older += other.older
        return self


@dataclass(frozen=True)
class RecentChanges:
    """The memories whose own change time (`Memory.changed_at`) is in a window: how many
    of each type among the newest counted (all of them unless `more`), and the newest
    few, newest first (ties: the greater id first)."""

    by_type: dict[MemoryType, int]
    newest: list[Memory]
    more: bool = False
