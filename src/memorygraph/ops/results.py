"""What the operations on memories return: bounded pydantic models.

Each serializes as is into a tool's structured result or a page's JSON; lists are
capped and long text comes in windows (`memorygraph.ops.views`), so no result can
flood an agent's context.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from memorygraph.models import Memory
from memorygraph.ops.views import MemorySummary, MemoryView, RelationshipView

#: Memories a multi-hop `get_related_memories` visits at most, whatever the depth.
MAX_VISITED = 2_000


class Page(BaseModel):
    """Where a page sits in its list."""

    limit: int
    offset: int
    has_more: bool
    next_offset: int | None = Field(
        default=None, description="Pass this as offset to read the next page."
    )


def page_of(limit: int, offset: int, has_more: bool) -> Page:
    return Page(
        limit=limit,
        offset=offset,
        has_more=has_more,
        next_offset=offset + limit if has_more else None,
    )


class StoredMemory(BaseModel):
    id: str
    memory: MemorySummary

    @classmethod
    def of(cls, memory: Memory) -> StoredMemory:
        return cls(id=memory.id, memory=MemorySummary.of(memory))


class MemoryDetail(BaseModel):
    memory: MemoryView
    relationships: list[RelationshipView] = Field(
        default_factory=list,
        description="The first relationships of this memory, by id.",
    )
    relationships_more: bool = Field(
        default=False, description="More relationships exist; list them with get_related_memories."
    )


class Deleted(BaseModel):
    id: str
    deleted: bool
    relationships_deleted: int


_RELEVANCE = "How relevant the memory is to the query, 0 (not at all) to 1."
_NOTHING = (
    "True when no result reaches the relevance threshold: the store holds nothing "
    "about this; the results are only the closest it has."
)
_THRESHOLD = (
    "The relevance a result must reach for this page to hold an answer; lower when "
    "the query is in another language than its best match."
)


class SearchResult(BaseModel):
    memory: MemorySummary
    score: float
    relevance: float = Field(description=_RELEVANCE)
    matched: list[str]


class SearchPage(BaseModel):
    query: str
    nothing_relevant: bool = Field(description=_NOTHING)
    relevance_threshold: float = Field(description=_THRESHOLD)
    results: list[SearchResult]
    page: Page


class NeighbourhoodSummary(BaseModel):
    """How a memory is linked: counts per relationship type, and a few neighbours' titles."""

    relationships: dict[str, int]
    examples: list[str]


class RecallResult(BaseModel):
    memory: MemorySummary
    score: float
    relevance: float = Field(description=_RELEVANCE)
    reason: str = Field(description="Why this memory was returned.")
    matched: list[str]
    via: RelationshipView | None = Field(
        default=None, description="The relationship that led here from a matched memory."
    )
    neighbourhood: NeighbourhoodSummary


class RecallPage(BaseModel):
    query: str
    nothing_relevant: bool = Field(description=_NOTHING)
    relevance_threshold: float = Field(description=_THRESHOLD)
    results: list[RecallResult]
    page: Page


class RelatedMemory(BaseModel):
    memory: MemorySummary
    relationship: RelationshipView
    depth: int
    direction: str = Field(description="outgoing or incoming, seen from the nearer memory.")


class RelatedPage(BaseModel):
    memory_id: str
    max_depth: int
    results: list[RelatedMemory]
    page: Page
    truncated: bool = Field(
        default=False, description=f"The walk stopped after visiting {MAX_VISITED} memories."
    )


#: Recent activity counts the newest this many changed memories, no more: the count
#: reads one index entry and one row per memory, so it stops here to stay fast.
RECENT_COUNTED = 500


class RecentActivity(BaseModel):
    days: int
    since: str
    project: str | None
    total: int = Field(description=f"Memories changed, counted up to {RECENT_COUNTED:,}.")
    more: bool = Field(
        description=f"More than {RECENT_COUNTED:,} changed: counts are of the newest."
    )
    by_type: dict[str, int]
    memories: list[MemorySummary] = Field(description="The most recently changed, newest first.")
    unresolved_problems: list[MemorySummary] = Field(
        description="Listed problems and errors that no relationship SOLVES or ADDRESSES."
    )


class Statistics(BaseModel):
    backend: str
    location: str
    engine_version: str
    memories: int
    relationships: int
    memories_by_type: dict[str, int]
    relationships_by_type: dict[str, int]
