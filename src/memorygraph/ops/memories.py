"""Operations on memories and relationships.

Each function takes an open `MemoryStore` (`open_store`) and does one thing. Most
return a pydantic model with bounded size that an adapter (the MCP server, a
script) can serialize as is; the record operations (`remember`, `memory`,
`forget`, `relate`, `related_pages`, `find_memories`, `reindex`) return whole
records, unbounded, for an adapter that shows them in full (the CLI). Types are
named as strings, in any case. Errors are the library's own
(`memorygraph.errors`), worded in terms of the operation's parameters; adapters
add their own next steps.

This module is the adapters' one door to the operations on memories: the finding
operations (`memorygraph.ops.finding`), the result models (`memorygraph.ops.results`),
the types adapters name (`MemoryStore`, `Direction`, `Neighbour`, `Health`) and the
backend names they offer as choices (`backend_names`, `loaded_specs`) are
re-exported here, so an adapter needs nothing below this layer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager
from typing import Any

from pydantic import ValidationError

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
    MetadataValueError,
    Relationship,
    utc_now,
)
from memorygraph.ops.finding import filters as filters
from memorygraph.ops.finding import find_memories as find_memories
from memorygraph.ops.finding import get_memory_statistics as get_memory_statistics
from memorygraph.ops.finding import get_recent_activity as get_recent_activity
from memorygraph.ops.finding import recall_memories as recall_memories
from memorygraph.ops.finding import search_memories as search_memories
from memorygraph.ops.inputs import (
    CreateRelationship,
    DeleteMemory,
    GetMemory,
    InvalidateRelationship,
    RelatedMemories,
    StoreMemory,
    UpdateMemory,
    parse,
    parse_direction,
    parse_memory_type,
    parse_relationship_type,
)
from memorygraph.ops.results import MAX_VISITED, page_of
from memorygraph.ops.results import Deleted as Deleted
from memorygraph.ops.results import MemoryDetail as MemoryDetail
from memorygraph.ops.results import Page as Page
from memorygraph.ops.results import RecallPage as RecallPage
from memorygraph.ops.results import RecallResult as RecallResult
from memorygraph.ops.results import RecentActivity as RecentActivity
from memorygraph.ops.results import RelatedMemory as RelatedMemory
from memorygraph.ops.results import RelatedPage as RelatedPage
from memorygraph.ops.results import SearchPage as SearchPage
from memorygraph.ops.results import SearchResult as SearchResult
from memorygraph.ops.results import Statistics as Statistics
from memorygraph.ops.results import StoredMemory as StoredMemory
from memorygraph.ops.views import MemorySummary, MemoryView, RelationshipView, is_valid
from memorygraph.patch import MemoryPatch as MemoryPatch
from memorygraph.patch import later_than
from memorygraph.patch import version_of as version_of
from memorygraph.search.fusion import SearchSettings as SearchSettings
from memorygraph.search.fusion import nothing_relevant as nothing_relevant
from memorygraph.store import MemoryStore as MemoryStore

#: Relationships listed with a memory by `get_memory`; the rest via `get_related_memories`.
RELATIONSHIPS_WITH_MEMORY = 10


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
    # Not read first: a memory another program left unreadable can still be deleted.
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
        page=page_of(limit, offset, len(found) > offset + limit),
        truncated=truncated,
    )


def _related(n: Neighbour, nearer: str, depth: int) -> RelatedMemory:
    return RelatedMemory(
        memory=MemorySummary.of(n.memory),
        relationship=RelationshipView.of(n.relationship),
        depth=depth,
        direction="outgoing" if n.relationship.from_id == nearer else "incoming",
    )
