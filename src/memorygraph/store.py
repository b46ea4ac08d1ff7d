"""`MemoryStore`: the user-facing API over any backend.

async with MemoryStore.open(BackendConfig("sqlite", path="memory.db")) as store:
    fix = await store.remember(type="solution", title="Pin redis to 7.2")
    bug = await store.remember(type="problem", title="Redis 7.4 drops idle clients")
    await store.relate(fix.id, bug.id, "SOLVES")
    print(await store.search("redis timeouts"))
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from memorygraph.backends.base import Backend, Direction, Neighbour
from memorygraph.backends.registry import create_backend
from memorygraph.config import BackendConfig
from memorygraph.errors import NextStep, NotFoundError, UnreadableRecordError, UsageError
from memorygraph.models import (
    Memory,
    Relationship,
    RelationshipType,
    utc_now,
)
from memorygraph.patch import MemoryPatch, check_version
from memorygraph.principal import LOCAL, Principal
from memorygraph.search import RecallHit, SearchFilters, SearchHit
from memorygraph.search import recall as recalling
from memorygraph.search.ranking import (
    CANDIDATE_LIMIT,
    Candidate,
    ceiling,
    match_any,
    retrieval_query,
    score,
    split_by_frequency,
    unit_query,
    with_feedback,
)
from memorygraph.search.text import ParsedQuery, parse_query


@dataclass
class StoreStats:
    """Counts of a store, overall and per type."""

    backend: str
    location: str
    engine_version: str
    memories: int
    relationships: int
    memories_by_type: dict[str, int] = field(default_factory=dict)
    relationships_by_type: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


class MemoryStore:
    """Remember, relate, find and forget memories on one backend."""

    def __init__(self, backend: Backend, principal: Principal = LOCAL) -> None:
        self.backend = backend
        #: Who this store's operations run for (see `memorygraph.principal`).
        self.principal = principal

    def for_principal(self, principal: Principal) -> MemoryStore:
        """The same store, with every operation run for `principal`."""
        return MemoryStore(self.backend, principal)

    @classmethod
    @asynccontextmanager
    async def open(cls, config: BackendConfig) -> AsyncIterator[MemoryStore]:
        """Connect to the backend `config` names; close it on exit."""
        async with create_backend(config) as backend:
            yield cls(backend)

    async def remember(
        self, memory: Memory | None = None, *, replace: bool = False, **fields: Any
    ) -> Memory:
        """Store `memory` (or one built from `fields`) as a new memory and return it.

        An id already in use is a `ConflictError` (nothing written), decided in one
        atomic step so two writers of one new id never both succeed; with `replace`
        the stored memory of that id is replaced whole instead.
        """
        record = memory if memory is not None else Memory(**fields)
        if replace:
            await self.backend.upsert_memories([record])
        else:
            await self.backend.insert_new("memory", record)
        return record

    async def get(self, memory_id: str) -> Memory:
        """The memory with this id, or `NotFoundError`."""
        found = await self.backend.get_memory(memory_id)
        if found is None:
            raise NotFoundError(f"no memory with id {memory_id!r}", next_steps=[NextStep("search")])
        return found

    async def update(
        self,
        memory_id: str,
        patch: MemoryPatch | None = None,
        *,
        expected_version: str | None = None,
        **changes: Any,
    ) -> Memory:
        """Change only the fields `patch` (or `changes`) names, in one atomic step on the
        memory as stored, stamping `updated_at`; return the memory as stored.

        Concurrent updates of other fields all survive. With `expected_version` (a
        `version_of` the memory as the caller read it) the update is refused with
        `ConflictError` if anyone changed the memory since; nothing is written then.
        """
        patch = patch if patch is not None else MemoryPatch(set=changes)

        def change(current: Memory) -> Memory:
            check_version(current, expected_version, "memory")
            return patch.apply(current, utc_now())

        try:
            return await self.backend.update_record("memory", memory_id, change)
        except NotFoundError as e:
            raise self._missing(memory_id, "nothing was changed") from e

    async def forget(self, memory_id: str, *, expected_version: str | None = None) -> None:
        """Delete a memory and its relationships, or `NotFoundError` if there is none.
        With `expected_version`, only if nobody changed it since (else `ConflictError`)."""
        try:
            await self.backend.delete_record(
                "memory", memory_id, lambda m: check_version(m, expected_version, "memory")
            )
        except NotFoundError as e:
            raise self._missing(memory_id, "nothing was deleted") from e
        except UnreadableRecordError as e:
            if expected_version is not None or e.record_id != memory_id:
                raise
            # Another program left it unreadable: with no version to compare, deleting
            # it is the remedy its error names.
            if not await self.backend.delete_memories([memory_id]):
                raise self._missing(memory_id, "nothing was deleted") from e

    @staticmethod
    def _missing(memory_id: str, outcome: str) -> NotFoundError:
        return NotFoundError(
            f"no memory with id {memory_id!r}; {outcome}", next_steps=[NextStep("search")]
        )

    async def relate(
        self,
        from_id: str,
        to_id: str,
        type: RelationshipType | str,
        *,
        replace: bool = False,
        **fields: Any,
    ) -> Relationship:
        """Join two stored memories with a typed relationship and return it. An `id` in
        `fields` that is already in use is a `ConflictError` unless `replace`."""
        relationship = Relationship(from_id=from_id, to_id=to_id, type=type, **fields)
        if replace:
            await self.backend.upsert_relationships([relationship])
        else:
            await self.backend.insert_new("relationship", relationship)
        return relationship

    async def related(
        self,
        memory_id: str,
        *,
        direction: Direction = Direction.BOTH,
        types: Iterable[RelationshipType] | None = None,
        limit: int | None = None,
    ) -> list[Neighbour]:
        """Every memory one relationship away (no cap unless `limit`)."""
        await self.get(memory_id)
        return await self.backend.neighbours(
            memory_id, direction=direction, types=types, limit=limit
        )

    async def iter_related(
        self,
        memory_id: str,
        *,
        direction: Direction = Direction.BOTH,
        types: Iterable[RelationshipType] | None = None,
    ) -> AsyncIterator[list[Neighbour]]:
        """Every memory one relationship away, in pages (for memories with very many)."""
        await self.get(memory_id)
        async for page in self.backend.iter_neighbours(memory_id, direction=direction, types=types):
            yield page

    async def search(
        self,
        query: str,
        *,
        filters: SearchFilters | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> list[SearchHit]:
        """Memories matching `query` that pass `filters`, best first, ties by id.

        Any word may match (more matched words, rarer words and title matches
        rank higher); words match by stem and as the beginning of longer words;
        "quoted phrases" must appear. See `memorygraph.search.ranking`.
        """
        if limit < 0 or offset < 0:
            raise UsageError("limit and offset must be zero or more")
        parsed = parse_query(query)
        if not parsed.units or limit == 0:
            return []
        filters = filters or SearchFilters()
        df = await self.backend.count_matches([unit_query(u) for u in parsed.units])
        if not any(df):
            return []
        total = await self.backend.search_total()
        candidates = await self._candidates(parsed, df, total, filters, offset + limit)
        ranked = with_feedback(parsed, score(parsed, candidates, df, total), candidates)
        page = ranked[offset : offset + limit]
        found = {m.id: m for m in await self.backend.get_memories([r.id for r in page])}
        return [SearchHit(found[r.id], r.score, r.matched) for r in page if r.id in found]

    async def _candidates(
        self,
        parsed: ParsedQuery,
        df: list[int],
        total: int,
        filters: SearchFilters,
        wanted: int,
    ) -> list[Candidate]:
        """The memories to rank for the first `wanted` results (see
        `memorygraph.search.ranking`: rare words first, common words only if they can
        still reach the page)."""
        budget = max(CANDIDATE_LIMIT, wanted)
        if parsed.phrases:
            phrases = retrieval_query(parsed)
            assert phrases is not None
            return await self.backend.search_candidates(phrases, filters, budget)
        rare, common = split_by_frequency(df, budget)
        found: dict[str, Candidate] = {}
        if rare:
            query = match_any(parsed.units[i] for i in rare)
            found = {c.id: c for c in await self.backend.search_candidates(query, filters, budget)}
        if common:
            ranked = score(parsed, list(found.values()), df, total)
            threshold = ranked[wanted - 1].score if len(ranked) >= wanted else 0.0
            if ceiling(parsed, df, total, common) >= threshold:
                query = match_any(parsed.units[i] for i in common)
                for c in await self.backend.search_candidates(query, filters, budget):
                    found.setdefault(c.id, c)
        return list(found.values())

    async def recall(
        self,
        query: str,
        *,
        filters: SearchFilters | None = None,
        limit: int = 10,
        offset: int = 0,
    ) -> list[RecallHit]:
        """The best text matches for `query`, then the memories linked to them, ranked.

        Weights, what is followed and why recall is read-only:
        `memorygraph.search.recall`.
        """
        filters = filters or SearchFilters()
        hits = await self.search(
            query, filters=filters, limit=max(recalling.MATCH_POOL, offset + limit)
        )
        links = [
            await self.backend.neighbours(hit.memory.id, limit=recalling.LINKS_PER_MATCH)
            for hit in hits[: recalling.SEED_MATCHES]
        ]
        ranked = recalling.rank(hits, links, filters, utc_now())
        return ranked[offset : offset + limit]

    async def reindex(self) -> int:
        """Rebuild the search index from the stored memories; return how many were indexed.

        Needed once for a store written before ranked search existed (search
        says so); writes keep the index current from then on.
        """
        return await self.backend.rebuild_search_index()

    async def stats(self) -> StoreStats:
        """Counts, overall and per type, and the engine's version."""
        b = self.backend
        return StoreStats(
            backend=b.name,
            location=b.describe(),
            engine_version=await b.engine_version(),
            memories=await b.count_memories(),
            relationships=await b.count_relationships(),
            memories_by_type={t.value: n for t, n in (await b.count_memories_by_type()).items()},
            relationships_by_type={
                t.value: n for t, n in (await b.count_relationships_by_type()).items()
            },
        )
