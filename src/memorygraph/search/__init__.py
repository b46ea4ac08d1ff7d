"""Search and recall: what a query asks for and what it gives back.

`SearchFilters` narrows a query; `SearchHit` is one ranked text match;
`RecallHit` is one result of recall (a text match, or a memory linked to one,
with the edge that led to it). `MemoryStore.search` and `MemoryStore.recall`
return these, best first, ties broken by id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from memorygraph.models import Memory, MemoryType, Relationship


@dataclass(frozen=True)
class SearchFilters:
    """Conditions every result must meet; an empty filter keeps everything."""

    types: tuple[MemoryType, ...] = ()
    tags: tuple[str, ...] = ()
    project: str | None = None
    min_importance: float | None = None
    created_after: datetime | None = None
    updated_after: datetime | None = None

    def accepts(self, memory: Memory) -> bool:
        """True when `memory` meets every condition."""
        if self.types and memory.type not in self.types:
            return False
        if self.tags and not set(self.tags) & set(memory.tags):
            return False
        if self.project is not None and (
            memory.context is None or memory.context.project_path != self.project
        ):
            return False
        if self.min_importance is not None and memory.importance < self.min_importance:
            return False
        if self.created_after is not None and memory.created_at < self.created_after:
            return False
        return not (self.updated_after is not None and memory.changed_at < self.updated_after)


@dataclass(frozen=True)
class SearchHit:
    """A memory that matched the query text, its score (higher is better) and the
    query terms it matched."""

    memory: Memory
    score: float
    matched: tuple[str, ...] = ()
    #: How relevant the memory is to the query, 0 to 1 (`memorygraph.search.fusion`).
    relevance: float = 0.0


@dataclass(frozen=True)
class RecallHit:
    """One recall result. `via` is None for a direct text match; otherwise the
    relationship that joined this memory to a matched one. `reason` says why, in words."""

    memory: Memory
    score: float
    reason: str
    matched: tuple[str, ...] = ()
    via: Relationship | None = None
    #: How relevant the memory is to the query, 0 to 1; a linked memory's is its match's
    #: scaled down like its score (`memorygraph.search.recall`).
    relevance: float = 0.0
