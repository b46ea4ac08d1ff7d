"""Operations on memories and relationships.

Each function takes an open `MemoryStore` (`open_store`) and does one thing. Most
return a pydantic model with bounded size that an adapter (the MCP server, a
script) can serialize as is; the record operations (`remember`, `memory`,
`forget`, `relate`, `related_pages`, `find_memories`, `reindex`) return whole
records, unbounded, for an adapter that shows them in full (the CLI). Types are
named as strings, in any case. Errors are the library's own
(`memorygraph.errors`), worded in terms of the operation's parameters; adapters
add their own next steps.

The types adapters name (`MemoryStore`, `Direction`, `Neighbour`, `Health`) and the
backend names they offer as choices (`backend_names`, `loaded_specs`) are
re-exported here, so an adapter needs nothing below this layer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from memorygraph.backends.base import Direction as Direction
from memorygraph.backends.base import Health as Health
from memorygraph.backends.base import Neighbour as Neighbour
from memorygraph.backends.registry import backend_names as backend_names
from memorygraph.backends.registry import create_backend
from memorygraph.backends.registry import loaded_specs as loaded_specs
from memorygraph.config import BackendConfig
from memorygraph.errors import ConflictError, ForbiddenError, InvalidRecordError, NotFoundError
from memorygraph.models import (
    Memory,
    MemoryContext,
    MemoryType,
    MetadataValueError,
    Relationship,
    RelationshipType,
    format_timestamp,
    utc_now,
)
from memorygraph.ops.inputs import (
    CreateRelationship,
    DeleteMemory,
    GetMemory,
    GetRecentActivity,
    InvalidateRelationship,
    RecallMemories,
    RelatedMemories,
    SearchMemories,
    StoreMemory,
    UpdateMemory,
    parse,
)
from memorygraph.ops.views import MemorySummary, MemoryView, RelationshipView, is_valid
from memorygraph.patch import MemoryPatch as MemoryPatch
from memorygraph.patch import later_than
from memorygraph.patch import version_of as version_of
from memorygraph.search import SearchFilters, SearchHit
from memorygraph.search.fusion import SearchSettings as SearchSettings
from memorygraph.search.fusion import nothing_relevant as nothing_relevant
from memorygraph.store import MemoryStore as MemoryStore

#: Relationships listed with a memory by `get_memory`; the rest via `get_related_memories`.
RELATIONSHIPS_WITH_MEMORY = 10
#: Memories a multi-hop `get_related_memories` visits at most, whatever the depth.
MAX_VISITED = 2_000
#: Neighbours listed per memory in recall's neighbourhood summary.
NEIGHBOURHOOD_TITLES = 3


class Page(BaseModel):
    """Where a page sits in its list."""

    limit: int
    offset: int
    has_more: bool
    next_offset: int | None = Field(
        default=None, description="Pass this as offset to read the next page."
    )


def _page(limit: int, offset: int, has_more: bool) -> Page:
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


class SearchResult(BaseModel):
    memory: MemorySummary
    score: float
    relevance: float = Field(description=_RELEVANCE)
    matched: list[str]


class SearchPage(BaseModel):
    query: str
    nothing_relevant: bool = Field(description=_NOTHING)
    relevance_threshold: float
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
    relevance_threshold: float
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


# --- the store ------------------------------------------------------------------------


def open_store(
    config: BackendConfig, settings: SearchSettings | None = None
) -> AbstractAsyncContextManager[MemoryStore]:
    """Connect to the store `config` names (`async with`); it closes on exit. `settings`
    choose lexical (the default) or hybrid search and the relevance threshold."""
    return MemoryStore.open(config, settings)


async def check_health(config: BackendConfig) -> Health:
    """Whether the engine `config` names answers, with its version and counts."""
    async with create_backend(config) as backend:
        return await backend.health()


async def load_records(
    store: MemoryStore, memories: Iterable[Memory], relationships: Iterable[Relationship]
) -> None:
    """Write whole records as they are (ids, times and all): every memory, then every
    relationship, replacing records with the same ids. Needs the "admin" scope and
    every namespace: the records keep the namespaces they name."""
    store.principal.require("admin", "load records")
    if store.namespaces is not None:
        raise ForbiddenError(
            f"{store.principal.name!r} may not load records: they keep the namespaces they "
            "name, and it does not hold every namespace; nothing was written"
        )
    await store.load_records(list(memories), list(relationships))


async def reindex(store: MemoryStore) -> int:
    """Rebuild the search index from the stored memories; return how many were indexed."""
    return await store.reindex()


# --- single memories -----------------------------------------------------------------


async def remember(
    store: MemoryStore, request: StoreMemory | None = None, /, **fields: Any
) -> Memory:
    """Store a new memory and return it whole (`StoreMemory`: the model or its fields).
    A `memory_id` in use is a `ConflictError` (nothing written) unless `replace`, which
    replaces that memory whole. It goes to `namespace` (one the store's principal
    holds) or the principal's first."""
    r = parse(StoreMemory, request, **fields)
    record: dict[str, Any] = {
        "type": parse_memory_type(r.type, "type"),
        "title": r.title,
        "content": r.content,
        "summary": r.summary,
        "tags": list(r.tags or ()),
        "importance": r.importance,
        "confidence": r.confidence,
    }
    ctx = dict(r.context or {})
    if r.project_path is not None:
        ctx["project_path"] = r.project_path
    if ctx:
        record["context"] = _context(ctx)
    if r.memory_id is not None:
        record["id"] = r.memory_id
    try:
        return await store.remember(replace=r.replace, namespace=r.namespace, **record)
    except ConflictError as e:
        raise ConflictError(
            f"memory id {r.memory_id!r} is already in use; nothing was written. Omit the id "
            "for a new one, update that memory, or replace it explicitly",
            current_version=e.current_version,
            field="memory_id",
        ) from e


async def memory(store: MemoryStore, memory_id: str) -> Memory:
    """The whole memory with this id, or `NotFoundError`."""
    return await store.get(memory_id)


def _context(data: dict[str, Any]) -> MemoryContext:
    try:
        return MemoryContext.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ["context", *first["loc"]]
        cause = first.get("ctx", {}).get("error")
        reason = first["msg"]
        if isinstance(cause, MetadataValueError):
            where += cause.path
            reason = str(cause)
        path = ".".join(str(p) for p in where)
        raise InvalidRecordError(f"invalid {path}: {reason}", field=path) from e


async def _memory(store: MemoryStore, memory_id: str, field: str = "memory_id") -> Memory:
    found = await store.lookup(memory_id)
    if found is None:
        raise NotFoundError(f"{field} {memory_id!r} is not a stored memory", field=field)
    return found


async def get_memory(
    store: MemoryStore, request: GetMemory | None = None, /, **fields: Any
) -> MemoryDetail:
    """One memory (a window of its content), with its first relationships."""
    r = parse(GetMemory, request, **fields)
    memory = await _memory(store, r.memory_id)
    if r.content_offset > len(memory.content):
        raise InvalidRecordError(
            f"content_offset {r.content_offset} is past the end of the content "
            f"({len(memory.content)} characters)",
            field="content_offset",
        )
    detail = MemoryDetail(memory=MemoryView.of(memory, r.content_offset))
    if r.include_relationships:
        near = await store.neighbours(r.memory_id, limit=RELATIONSHIPS_WITH_MEMORY + 1)
        detail.relationships = [
            RelationshipView.of(n.relationship) for n in near[:RELATIONSHIPS_WITH_MEMORY]
        ]
        detail.relationships_more = len(near) > RELATIONSHIPS_WITH_MEMORY
    return detail


def patch_of(request: UpdateMemory) -> MemoryPatch:
    """The patch an update describes: fields to set (None means unchanged), tags and
    files to add or remove, the project path."""
    changes = {
        "title": request.title,
        "content": request.content,
        "summary": request.summary,
        "type": request.type.lower() if request.type else None,
        "tags": request.tags,
        "importance": request.importance,
        "confidence": request.confidence,
        "effectiveness": request.effectiveness,
    }
    return MemoryPatch(
        set={k: v for k, v in changes.items() if v is not None},
        add_tags=tuple(request.add_tags or ()),
        remove_tags=tuple(request.remove_tags or ()),
        add_files=tuple(request.add_files or ()),
        remove_files=tuple(request.remove_files or ()),
        project_path=request.project_path,
    )


async def update_memory(
    store: MemoryStore, request: UpdateMemory | None = None, /, **fields: Any
) -> Memory:
    """Change only the fields given (None means unchanged), add or remove tags and
    files, in one atomic step; return the memory as stored. With `expected_version`,
    only if the memory is still at that version (else `ConflictError`)."""
    r = parse(UpdateMemory, request, **fields)
    try:
        return await store.update(r.memory_id, patch_of(r), expected_version=r.expected_version)
    except NotFoundError as e:
        raise NotFoundError(
            f"memory_id {r.memory_id!r} is not a stored memory; nothing was changed",
            next_steps=e.next_steps,
            field="memory_id",
        ) from e


async def delete_memory(
    store: MemoryStore, request: DeleteMemory | None = None, /, **fields: Any
) -> Deleted:
    """Delete a memory and every relationship touching it (with `expected_version`, only
    if the memory is still at that version, else `ConflictError`)."""
    r = parse(DeleteMemory, request, **fields)
    await _memory(store, r.memory_id)
    touching = len(await store.neighbours(r.memory_id))
    try:
        await store.forget(r.memory_id, expected_version=r.expected_version)
    except NotFoundError as e:
        raise NotFoundError(
            f"memory_id {r.memory_id!r} is not a stored memory; nothing was deleted",
            next_steps=e.next_steps,
            field="memory_id",
        ) from e
    return Deleted(id=r.memory_id, deleted=True, relationships_deleted=touching)


# --- relationships -------------------------------------------------------------------


async def relate(
    store: MemoryStore, request: CreateRelationship | None = None, /, **fields: Any
) -> Relationship:
    """Join two stored memories with a typed, directed relationship and return it whole.
    An end that is not stored is a `NotFoundError` naming it, and a memory is not
    related to itself (`InvalidRecordError`)."""
    r = parse(CreateRelationship, request, **fields)
    kind = parse_relationship_type(r.relationship_type)
    _not_to_itself(r.from_memory_id, r.to_memory_id, "to_memory_id")
    await _memory(store, r.from_memory_id, "from_memory_id")
    await _memory(store, r.to_memory_id, "to_memory_id")
    return await store.relate(
        r.from_memory_id,
        r.to_memory_id,
        kind,
        strength=r.strength,
        confidence=r.confidence,
        description=r.description,
        context=r.context,
    )


def _not_to_itself(from_id: str, to_id: str, field: str) -> None:
    """Refuse a relationship from a memory to itself: none of the relationship types
    means anything between a memory and itself, and such a link only adds noise to
    every walk of the graph (imports still carry one that another program wrote)."""
    if from_id == to_id:
        raise InvalidRecordError(
            f"a memory cannot be related to itself ({from_id!r} is both ends); "
            "relate it to another memory",
            field=field,
        )


async def related_pages(
    store: MemoryStore, request: RelatedMemories | None = None, /, **fields: Any
) -> AsyncIterator[list[Neighbour]]:
    """Every memory one relationship away, in pages as the store reads them (no cap: a
    memory may have millions; `limit`, `offset` and `max_depth` do not apply). A missing
    memory fails here, before any page."""
    r = parse(RelatedMemories, request, **fields)
    await store.get(r.memory_id)
    types = [parse_relationship_type(t) for t in r.relationship_types or ()] or None
    return store.iter_related(r.memory_id, direction=parse_direction(r.direction), types=types)


def parse_direction(name: str) -> Direction:
    """The direction called `name` (any case), or `InvalidRecordError`."""
    try:
        return Direction(name.strip().lower())
    except ValueError:
        raise InvalidRecordError(
            f"direction {name!r} is not a direction; use outgoing, incoming or both"
        ) from None


def parse_relationship_type(name: str) -> RelationshipType:
    """The relationship type called `name` (any case), or `InvalidRecordError` listing them."""
    try:
        return RelationshipType(name.strip().upper())
    except ValueError:
        choices = ", ".join(t.value for t in RelationshipType)
        raise InvalidRecordError(
            f"relationship_type {name!r} is not a relationship type; use one of: {choices}"
        ) from None


def parse_memory_type(name: str, field: str = "memory_types") -> MemoryType:
    """The memory type called `name` (any case), or `InvalidRecordError` listing them."""
    try:
        return MemoryType(name.strip().lower())
    except ValueError:
        choices = ", ".join(t.value for t in MemoryType)
        raise InvalidRecordError(
            f"{field}: {name!r} is not a memory type; use one of: {choices}"
        ) from None


def parse_memory_types(names: Sequence[str] | None) -> tuple[MemoryType, ...]:
    """The memory types named (any case), or `InvalidRecordError` listing them."""
    return tuple(parse_memory_type(name) for name in names or ())


async def invalidate_relationship(
    store: MemoryStore, request: InvalidateRelationship | None = None, /, **fields: Any
) -> RelationshipView:
    """Close a relationship instead of deleting it: it stays in the graph as history.

    `valid_until` defaults to now; `invalidated_by` names what replaced it (a
    memory or relationship id, or a reason). `recorded_at` is stamped with the
    time of this change, so incremental migrations carry it.
    """
    r = parse(InvalidateRelationship, request, **fields)
    relationship_id, invalidated_by, valid_until = (
        r.relationship_id,
        r.invalidated_by,
        r.valid_until,
    )

    def close(current: Relationship) -> Relationship:
        now = later_than(current.changed_at, utc_now())
        return current.changed(
            valid_until=valid_until or now, invalidated_by=invalidated_by, recorded_at=now
        )

    try:
        closed = await store.update_relationship(relationship_id, close)
    except NotFoundError as e:
        raise NotFoundError(
            f"relationship_id {relationship_id!r} is not a stored relationship"
        ) from e
    return RelationshipView.of(closed)


async def get_related_memories(
    store: MemoryStore, request: RelatedMemories | None = None, /, **fields: Any
) -> RelatedPage:
    """Memories up to `max_depth` relationships away, nearest first, each with the edge
    that reached it (breadth-first; each memory listed once)."""
    r = parse(RelatedMemories, request, **fields)
    memory_id, max_depth, limit, offset = r.memory_id, r.max_depth, r.limit, r.offset
    await _memory(store, memory_id)
    types = [parse_relationship_type(t) for t in r.relationship_types or ()] or None
    way = parse_direction(r.direction)
    include_invalidated = r.include_invalidated
    seen = {memory_id}
    frontier = [memory_id]
    found: list[RelatedMemory] = []
    wanted = offset + limit + 1
    truncated = False
    for depth in range(1, max_depth + 1):
        next_frontier: list[str] = []
        for current in frontier:
            for n in await store.neighbours(current, direction=way, types=types):
                if not include_invalidated and not is_valid(n.relationship):
                    continue
                if n.memory.id in seen:
                    continue
                seen.add(n.memory.id)
                next_frontier.append(n.memory.id)
                found.append(_related(n, current, depth))
                if len(seen) >= MAX_VISITED:
                    truncated = True
                    break
            if truncated or len(found) >= wanted:
                break
        if truncated or len(found) >= wanted or not next_frontier:
            break
        frontier = next_frontier
    return RelatedPage(
        memory_id=memory_id,
        max_depth=max_depth,
        results=found[offset : offset + limit],
        page=_page(limit, offset, len(found) > offset + limit),
        truncated=truncated,
    )


def _related(n: Neighbour, nearer: str, depth: int) -> RelatedMemory:
    return RelatedMemory(
        memory=MemorySummary.of(n.memory),
        relationship=RelationshipView.of(n.relationship),
        depth=depth,
        direction="outgoing" if n.relationship.from_id == nearer else "incoming",
    )


# --- finding ---------------------------------------------------------------------------


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
    hits = await store.search(r.query, filters=filters(r), limit=r.limit + 1, offset=r.offset)
    threshold = store.relevance_threshold
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
        page=_page(r.limit, r.offset, len(hits) > r.limit),
    )


async def find_memories(
    store: MemoryStore, request: SearchMemories | None = None, /, **fields: Any
) -> list[SearchHit]:
    """Memories matching the words of `query`, best first, whole (one page of them)."""
    r = parse(SearchMemories, request, **fields)
    return await store.search(r.query, filters=filters(r), limit=r.limit, offset=r.offset)


async def recall_memories(
    store: MemoryStore, request: RecallMemories | None = None, /, **fields: Any
) -> RecallPage:
    """The best matches for a natural-language query and what is linked to them, each
    with why it was returned and a summary of its neighbourhood."""
    r = parse(RecallMemories, request, **fields)
    limit, offset = r.limit, r.offset
    hits = await store.recall(r.query, filters=filters(r), limit=limit + 1, offset=offset)
    results = []
    for h in hits[:limit]:
        results.append(
            RecallResult(
                memory=MemorySummary.of(h.memory),
                score=h.score,
                relevance=h.relevance,
                reason=h.reason,
                matched=list(h.matched),
                via=RelationshipView.of(h.via) if h.via is not None else None,
                neighbourhood=await _neighbourhood(store, h.memory.id),
            )
        )
    threshold = store.relevance_threshold
    return RecallPage(
        query=r.query,
        nothing_relevant=nothing_relevant([x.relevance for x in results], threshold),
        relevance_threshold=threshold,
        results=results,
        page=_page(limit, offset, len(hits) > limit),
    )


async def _neighbourhood(store: MemoryStore, memory_id: str) -> NeighbourhoodSummary:
    near = await store.neighbours(memory_id, limit=50)
    counts: dict[str, int] = {}
    for n in near:
        counts[n.relationship.type.value] = counts.get(n.relationship.type.value, 0) + 1
    examples = [
        f"{n.relationship.type.value} {MemorySummary.of(n.memory).title}"
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
    recent = changes.newest
    unresolved = []
    for m in recent:
        if m.type in (MemoryType.PROBLEM, MemoryType.ERROR):
            fixes = await store.neighbours(
                m.id,
                direction=Direction.INCOMING,
                types=[RelationshipType.SOLVES, RelationshipType.ADDRESSES],
                limit=1,
            )
            if not fixes:
                unresolved.append(MemorySummary.of(m))
    return RecentActivity(
        days=days,
        since=format_timestamp(since),
        project=project,
        total=sum(changes.by_type.values()),
        more=changes.more,
        by_type={t.value: n for t, n in changes.by_type.items()},
        memories=[MemorySummary.of(m) for m in recent],
        unresolved_problems=unresolved,
    )


async def get_memory_statistics(store: MemoryStore) -> Statistics:
    """Counts of the store, overall and per type, and the engine's version."""
    stats = await store.stats()
    return Statistics(**stats.to_dict())
