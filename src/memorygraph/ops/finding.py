"""Operations that find memories: search, recall, recent activity and the store's
statistics.

Each takes an open `MemoryStore` and its verb's input model (or the model's fields as
keywords) and returns a bounded result (`memorygraph.ops.results`), except
`find_memories`, which returns whole records for an adapter that prints them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from memorygraph.backends.base import Direction, Neighbour
from memorygraph.models import MemoryType, RelationshipType, format_timestamp, utc_now
from memorygraph.ops.inputs import (
    GetRecentActivity,
    RecallMemories,
    SearchMemories,
    parse,
    parse_memory_types,
)
from memorygraph.ops.results import (
    RECENT_COUNTED,
    NeighbourhoodSummary,
    RecallPage,
    RecallResult,
    RecentActivity,
    SearchPage,
    SearchResult,
    Statistics,
    page_of,
)
from memorygraph.ops.views import MemorySummary, RelationshipView, summary_title
from memorygraph.search import SearchFilters, SearchHit
from memorygraph.search.fusion import nothing_relevant
from memorygraph.store import MemoryStore

#: Neighbours listed per memory in recall's neighbourhood summary…
NEIGHBOURHOOD_TITLES = 3
#: …and the most it reads (and counts by type) per memory.
NEIGHBOURHOOD_READ = 50
#: The types recent activity lists as unresolved when nothing solves or addresses them.
_PROBLEM_TYPES = frozenset({MemoryType.PROBLEM.value, MemoryType.ERROR.value})


def filters(request: SearchMemories | RecallMemories) -> SearchFilters:
    """The `SearchFilters` a search or a recall asks for (types by name, any case)."""
    return SearchFilters(
        types=parse_memory_types(request.memory_types),
        tags=tuple(getattr(request, "tags", None) or ()),
        project=request.project_path,
        min_importance=getattr(request, "min_importance", None),
    )


async def search_memories(
    store: MemoryStore, request: SearchMemories | None = None, /, **fields: Any
) -> SearchPage:
    """Memories matching the words of `query`, best first, one page."""
    r = parse(SearchMemories, request, **fields)
    hits = await _search(store, r, one_more=True)
    threshold = store.relevance_threshold(r.query, hits[: r.limit])
    return SearchPage(
        query=r.query,
        nothing_relevant=nothing_relevant([h.relevance for h in hits[: r.limit]], threshold),
        relevance_threshold=threshold,
        results=[
            SearchResult(
                memory=MemorySummary.of(h.memory),
                score=h.score,
                relevance=h.relevance,
                matched=list(h.matched),
            )
            for h in hits[: r.limit]
        ],
        page=page_of(r.limit, r.offset, len(hits) > r.limit),
    )


async def find_memories(
    store: MemoryStore, request: SearchMemories | None = None, /, **fields: Any
) -> list[SearchHit]:
    """Memories matching the words of `query`, best first, whole (one page of them)."""
    return await _search(store, parse(SearchMemories, request, **fields), one_more=False)


async def _search(store: MemoryStore, r: SearchMemories, *, one_more: bool) -> list[SearchHit]:
    """The page of hits `r` asks for; with `one_more`, one hit past it, which tells
    whether a next page exists."""
    limit = r.limit + 1 if one_more else r.limit
    return await store.search(r.query, filters=filters(r), limit=limit, offset=r.offset)


async def recall_memories(
    store: MemoryStore, request: RecallMemories | None = None, /, **fields: Any
) -> RecallPage:
    """The best matches for a natural-language query and what is linked to them, each
    with why it was returned and a summary of its neighbourhood."""
    r = parse(RecallMemories, request, **fields)
    limit, offset = r.limit, r.offset
    whole: dict[str, list[Neighbour]] = {}
    hits = await store.recall(
        r.query, filters=filters(r), limit=limit + 1, offset=offset, whole_neighbourhoods=whole
    )
    # Recall read some neighbourhoods whole already; the rest are read together.
    unread = [h.memory.id for h in hits[:limit] if h.memory.id not in whole]
    whole.update(await store.neighbours_of(unread, limit=NEIGHBOURHOOD_READ))
    results = [
        RecallResult(
            memory=MemorySummary.of(h.memory),
            score=h.score,
            relevance=h.relevance,
            reason=h.reason,
            matched=list(h.matched),
            via=RelationshipView.of(h.via) if h.via is not None else None,
            neighbourhood=_neighbourhood(whole[h.memory.id]),
        )
        for h in hits[:limit]
    ]
    threshold = store.relevance_threshold(r.query, hits[:limit])
    return RecallPage(
        query=r.query,
        nothing_relevant=nothing_relevant([x.relevance for x in results], threshold),
        relevance_threshold=threshold,
        results=results,
        page=page_of(limit, offset, len(hits) > limit),
    )


def _neighbourhood(near: list[Neighbour]) -> NeighbourhoodSummary:
    """A memory's first neighbours (`near`, up to `NEIGHBOURHOOD_READ`) by type, with a
    few titles."""
    counts: dict[str, int] = {}
    for n in near:
        counts[n.relationship.type.value] = counts.get(n.relationship.type.value, 0) + 1
    # The title alone: a whole summary would compute each memory's version for nothing.
    examples = [
        f"{n.relationship.type.value} {summary_title(n.memory)}"
        for n in near[:NEIGHBOURHOOD_TITLES]
    ]
    return NeighbourhoodSummary(relationships=counts, examples=examples)


async def get_recent_activity(
    store: MemoryStore, request: GetRecentActivity | None = None, /, **fields: Any
) -> RecentActivity:
    """What changed in the last `days` days (optionally in one project): counts per type,
    the newest memories, and the listed problems that nothing solves yet."""
    r = parse(GetRecentActivity, request, **fields)
    days, project, limit = r.days, r.project, r.limit
    since = utc_now() - timedelta(days=days)
    changes = await store.recent(since, limit=limit, counted=RECENT_COUNTED, project=project)
    # Each memory is summarized once: an unresolved problem is listed twice, alike.
    recent = [MemorySummary.of(m) for m in changes.newest]
    problems = [s for s in recent if s.type in _PROBLEM_TYPES]
    fixes = await store.neighbours_of(
        [s.id for s in problems],
        direction=Direction.INCOMING,
        types=[RelationshipType.SOLVES, RelationshipType.ADDRESSES],
        limit=1,
    )
    unresolved = [s for s in problems if not fixes[s.id]]
    return RecentActivity(
        days=days,
        since=format_timestamp(since),
        project=project,
        total=sum(changes.by_type.values()),
        more=changes.more,
        by_type={t.value: n for t, n in changes.by_type.items()},
        memories=recent,
        unresolved_problems=unresolved,
    )


async def get_memory_statistics(store: MemoryStore) -> Statistics:
    """Counts of the store, overall and per type, and the engine's version."""
    stats = await store.stats()
    return Statistics(**stats.to_dict())
