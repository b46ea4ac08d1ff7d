"""`MemoryStore`: the user-facing API over any backend.

async with MemoryStore.open(BackendConfig("sqlite", path="memory.db")) as store:
    fix = await store.remember(type="solution", title="Pin redis to 7.2")
    bug = await store.remember(type="problem", title="Redis 7.4 drops idle clients")
    await store.relate(fix.id, bug.id, "SOLVES")
    print(await store.search("redis timeouts"))

Every operation runs for the store's `principal` (`memorygraph.principal`):
reads see only its namespaces (the backend filters in its query, so another
namespace's memory is exactly a missing one), writes need its "write" scope and
go to one of its namespaces, and `for_principal` gives the same store for another.

The module is a little over 500 lines because it is the one front door: every verb
on memories, once, each a few lines over the backend's domain operations, with the
namespace and scope checks beside the verb they guard. Split up, a reader would
look in several files for the store's API and for the rule a verb applies.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from memorygraph.backends.base import Backend, Direction, Neighbour, RecentChanges, missing_ends
from memorygraph.backends.registry import create_backend
from memorygraph.config import BackendConfig
from memorygraph.errors import (
    ConflictError,
    NextStep,
    NotFoundError,
    UnreadableRecordError,
    UsageError,
)
from memorygraph.models import (
    Memory,
    MemoryContext,
    Relationship,
    RelationshipType,
    utc_now,
)
from memorygraph.patch import MemoryPatch, check_version
from memorygraph.principal import LOCAL, Namespaces, Principal, namespace_of
from memorygraph.search import RecallHit, SearchFilters, SearchHit
from memorygraph.search import recall as recalling
from memorygraph.search.fusion import SearchSettings, weight_share
from memorygraph.search.hybrid import hybrid_search, semantic_index
from memorygraph.search.ranking import (
    CANDIDATE_LIMIT,
    COMMON_CANDIDATES,
    COMMON_WINDOW,
    Candidate,
    Ranked,
    Scorer,
    Window,
    ceiling,
    idfs,
    match_any,
    retrieval_query,
    split_by_frequency,
    unit_query,
)
from memorygraph.search.semantic import memory_text
from memorygraph.search.text import ParsedQuery, language, parse_query


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

    def __init__(
        self,
        backend: Backend,
        principal: Principal = LOCAL,
        settings: SearchSettings | None = None,
    ) -> None:
        self.backend = backend
        #: Who this store's operations run for (see `memorygraph.principal`).
        self.principal = principal
        self.settings = settings or SearchSettings()
        #: The store's vectors, when the `semantic` extra is installed, the backend keeps
        #: vectors and `settings` does not turn them off; else None (lexical search).
        self.semantic = semantic_index(backend, self.settings)

    def for_principal(self, principal: Principal) -> MemoryStore:
        """The same store, with every operation run for `principal`."""
        return MemoryStore(self.backend, principal, self.settings)

    @classmethod
    @asynccontextmanager
    async def open(
        cls, config: BackendConfig, settings: SearchSettings | None = None
    ) -> AsyncIterator[MemoryStore]:
        """Connect to the backend `config` names; close it on exit."""
        async with create_backend(config) as backend:
            yield cls(backend, settings=settings)

    @property
    def namespaces(self) -> Namespaces | None:
        """What this store's reads see (None: every namespace)."""
        return self.principal.reads

    @property
    def config(self) -> BackendConfig:
        """The configuration of the backend this store writes to."""
        return self.backend.config

    def describe(self) -> str:
        """Where this store keeps its records, in words fit for a user (no credentials)."""
        return self.backend.describe()

    async def load_records(
        self, memories: Sequence[Memory], relationships: Sequence[Relationship]
    ) -> None:
        """Write whole records as they are (ids, times and namespaces kept): every memory,
        then every relationship, replacing records with the same ids. The caller checks
        that this store's principal may do so."""
        await self.backend.upsert_memories(memories)
        await self.backend.upsert_relationships(relationships)

    def _visible(self, memory: Memory) -> bool:
        reads = self.principal.reads
        return reads is None or reads.sees(memory)

    def _owned(self, memory: Memory, namespace: str | None) -> Memory:
        """`memory` as this principal writes it: in `namespace` (or the principal's
        first), created by the principal unless it is the local user."""
        target = self.principal.write_namespace(namespace)
        stamp: dict[str, Any] = {}
        if target is not None:
            stamp["tenant_id"] = target
        if self.principal != LOCAL:
            stamp["created_by"] = self.principal.name
        if not stamp:
            return memory
        context = memory.context or MemoryContext()
        return memory.changed(context={**context.model_dump(), **stamp})

    async def remember(
        self,
        memory: Memory | None = None,
        *,
        replace: bool = False,
        namespace: str | None = None,
        **fields: Any,
    ) -> Memory:
        """Store `memory` (or one built from `fields`) as a new memory and return it.

        An id already in use is a `ConflictError` (nothing written), decided in one
        atomic step so two writers of one new id never both succeed; with `replace`
        the stored memory of that id is replaced whole instead (unless it is in a
        namespace this principal does not hold: then the id is in use).

        It goes to `namespace` (which the principal must hold) or the principal's
        first namespace; for the local user, without `namespace`, to whatever its
        context's `tenant_id` says (the default namespace when none).
        """
        self.principal.require("write", "store memories")
        record = self._owned(memory if memory is not None else Memory(**fields), namespace)
        if replace and self.namespaces is not None:
            held = await self.backend.existing_memory_ids([record.id])
            if held and await self.lookup(record.id) is None:
                raise ConflictError(
                    f"memory id {record.id!r} is already in use; nothing was written. "
                    "Choose another id",
                    field="id",
                )
        if replace:
            await self.backend.upsert_memories([record])
        else:
            await self.backend.insert_new("memory", record)
        if self.semantic is not None:
            await self.semantic.embed([record])
        return record

    async def lookup(self, memory_id: str) -> Memory | None:
        """The memory with this id, or None (also for one in a namespace not held)."""
        return await self.backend.get_memory(memory_id, namespaces=self.namespaces)

    async def lookup_many(self, memory_ids: Sequence[str]) -> list[Memory]:
        """The stored memories among `memory_ids` the principal may read, in no order."""
        return await self.backend.get_memories(list(memory_ids), namespaces=self.namespaces)

    async def get(self, memory_id: str) -> Memory:
        """The memory with this id, or `NotFoundError`."""
        found = await self.lookup(memory_id)
        if found is None:
            raise NotFoundError(f"no memory with id {memory_id!r}", next_steps=[NextStep("search")])
        return found

    def _held(self, memory: Memory) -> None:
        """Raise `NotFoundError` (caught and worded by the caller) for a memory in a
        namespace this principal does not hold: inside a write's atomic step."""
        if not self._visible(memory):
            raise NotFoundError(f"memory {memory.id!r} is not stored", field="id")

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
        self.principal.require("write", "change memories")
        patch = patch if patch is not None else MemoryPatch(set=changes)

        def change(current: Memory) -> Memory:
            self._held(current)
            check_version(current, expected_version, "memory")
            return patch.apply(current, utc_now())

        try:
            updated = await self.backend.update_record("memory", memory_id, change)
        except NotFoundError as e:
            raise self._missing(memory_id, "nothing was changed") from e
        if self.semantic is not None:
            await self.semantic.embed([updated])
        return updated

    async def forget(self, memory_id: str, *, expected_version: str | None = None) -> None:
        """Delete a memory and its relationships, or `NotFoundError` if there is none.
        With `expected_version`, only if nobody changed it since (else `ConflictError`)."""
        self.principal.require("write", "delete memories")

        def check(current: Memory) -> None:
            self._held(current)
            check_version(current, expected_version, "memory")

        try:
            await self.backend.delete_record("memory", memory_id, check)
        except NotFoundError as e:
            raise self._missing(memory_id, "nothing was deleted") from e
        except UnreadableRecordError as e:
            # Its namespace cannot be read either: only the local user may delete it blind.
            blind = expected_version is None and self.namespaces is None
            if not blind or e.record_id != memory_id:
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
        """Join two stored memories of one namespace with a typed relationship and return
        it. An `id` in `fields` that is already in use is a `ConflictError` unless
        `replace`; an end in another namespace is refused (`UsageError`)."""
        self.principal.require("write", "relate memories")
        relationship = Relationship(from_id=from_id, to_id=to_id, type=type, **fields)
        found = await self.backend.get_memories([from_id, to_id], namespaces=self.namespaces)
        ends = {m.id: m for m in found}
        unseen = {i for i in (from_id, to_id) if i not in ends}
        if unseen:
            raise missing_ends(unseen)
        spaces = {namespace_of(m) for m in ends.values()}
        if len(spaces) > 1:
            raise UsageError(
                f"memories {from_id!r} and {to_id!r} are in different namespaces "
                f"({namespace_of(ends[from_id])}, {namespace_of(ends[to_id])}); a relationship "
                "joins two memories of one namespace. Nothing was written",
                field="to_id",
            )
        if replace and self.namespaces is not None:
            held = await self.backend.get_relationship(relationship.id)
            if held is not None and not await self._relationship_held(held):
                raise ConflictError(
                    f"relationship id {relationship.id!r} is already in use; nothing was "
                    "written. Choose another id",
                    field="id",
                )
        if replace:
            await self.backend.upsert_relationships([relationship])
        else:
            await self.backend.insert_new("relationship", relationship)
        return relationship

    async def _relationship_held(self, relationship: Relationship) -> bool:
        ends = [relationship.from_id, relationship.to_id]
        seen = await self.backend.get_memories(ends, namespaces=self.namespaces)
        return {m.id for m in seen} == set(ends)

    async def relationship(self, relationship_id: str) -> Relationship | None:
        """The relationship with this id, or None (also for one whose ends are in a
        namespace this principal does not hold)."""
        found = await self.backend.get_relationship(relationship_id)
        if found is None or not await self._relationship_held(found):
            return None
        return found

    async def update_relationship(
        self, relationship_id: str, change: Callable[[Relationship], Relationship]
    ) -> Relationship:
        """Apply `change` to the stored relationship in one atomic step and return the
        result; `NotFoundError` when there is none this principal may see."""
        self.principal.require("write", "change relationships")
        if await self.relationship(relationship_id) is None:
            raise NotFoundError(f"relationship {relationship_id!r} is not stored", field="id")
        return await self.backend.update_record("relationship", relationship_id, change)

    async def neighbours(
        self,
        memory_id: str,
        *,
        direction: Direction = Direction.BOTH,
        types: Iterable[RelationshipType] | None = None,
        limit: int | None = None,
    ) -> list[Neighbour]:
        """The memories one relationship away that this principal may see (none when
        `memory_id` is not one it may see)."""
        return await self.backend.neighbours(
            memory_id, direction=direction, types=types, limit=limit, namespaces=self.namespaces
        )

    async def neighbours_of(
        self,
        memory_ids: Sequence[str],
        *,
        direction: Direction = Direction.BOTH,
        types: Iterable[RelationshipType] | None = None,
        limit: int | None = None,
    ) -> dict[str, list[Neighbour]]:
        """`neighbours` of each of `memory_ids`, by id, asked of the engine at once."""
        return await self.backend.neighbours_of(
            memory_ids, direction=direction, types=types, limit=limit, namespaces=self.namespaces
        )

    async def recent(
        self, since: datetime, *, limit: int, counted: int, project: str | None = None
    ) -> RecentChanges:
        """The memories this principal may see changed at or after `since`, of `project`
        when given: the `limit` newest and the types of the `counted` newest."""
        return await self.backend.recent_memories(
            since, limit=limit, counted=counted, project=project, namespaces=self.namespaces
        )

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
        return await self.neighbours(memory_id, direction=direction, types=types, limit=limit)

    async def iter_related(
        self,
        memory_id: str,
        *,
        direction: Direction = Direction.BOTH,
        types: Iterable[RelationshipType] | None = None,
    ) -> AsyncIterator[list[Neighbour]]:
        """Every memory one relationship away, in pages (for memories with very many)."""
        await self.get(memory_id)
        pages = self.backend.iter_neighbours(
            memory_id, direction=direction, types=types, namespaces=self.namespaces
        )
        async for page in pages:
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
        "quoted phrases" must appear. See `memorygraph.search.ranking`. With
        vectors (`semantic`), memories similar in meaning are fused in
        (`memorygraph.search.fusion`). Every hit carries its relevance (0 to 1).
        """
        if limit < 0 or offset < 0:
            raise UsageError("limit and offset must be zero or more")
        parsed = parse_query(query, self.backend.term_spelling)
        if limit == 0:
            return []
        filters = filters or SearchFilters()
        if self.semantic is not None and not parsed.phrases:
            return await hybrid_search(self, query, parsed, filters, limit, offset)
        ranked, share = await self.lexical(parsed, filters, offset + limit)
        page = ranked[offset : offset + limit]
        found = {m.id: m for m in await self.lookup_many([r.id for r in page])}
        return [SearchHit(found[r.id], r.score, r.matched, share(r)) for r in page if r.id in found]

    async def lexical(
        self, parsed: ParsedQuery, filters: SearchFilters, wanted: int
    ) -> tuple[list[Ranked], Callable[[Ranked], float]]:
        """The lexical ranking of `parsed` (at least its first `wanted`), and the
        relevance of a ranked memory: the share of the query's weight it matched."""
        if not parsed.units:
            return [], lambda r: 0.0
        df = await self.backend.count_matches(
            [unit_query(u) for u in parsed.units], namespaces=self.namespaces
        )
        if not any(df):
            return [], lambda r: 0.0
        total = await self.backend.search_total(namespaces=self.namespaces)
        scorer = Scorer(parsed, df, total)
        candidates = await self._candidates(parsed, df, scorer, filters, wanted)
        ranked = scorer.rank(candidates)
        weights = dict(zip((u.text for u in parsed.units), idfs(parsed, df, total), strict=True))
        whole = sum(weights.values())
        return ranked, lambda r: weight_share(sum(weights.get(t, 0.0) for t in r.matched), whole)

    def relevance_threshold(self, query: str, hits: Sequence[SearchHit | RecallHit]) -> float:
        """The relevance below which `hits`, a page of this store's results for `query`,
        are "nothing relevant". With vectors it is lower when the query is in another
        language than the most relevant hit (`fusion.CROSS_LANGUAGE_THRESHOLD`)."""
        hybrid = self.semantic is not None
        best = max(hits, key=lambda h: h.relevance, default=None)
        across = (
            hybrid and best is not None and language(query) != language(memory_text(best.memory))
        )
        return self.settings.threshold_for(hybrid, across)

    async def _candidates(
        self,
        parsed: ParsedQuery,
        df: list[int],
        scorer: Scorer,
        filters: SearchFilters,
        wanted: int,
    ) -> list[Candidate]:
        """The memories to rank for the first `wanted` results (see
        `memorygraph.search.ranking`: rare words first, common words only if they can
        still reach the page). `scorer` scores the rare words' matches, and keeps those
        scores for the ranking of every candidate."""
        budget = max(CANDIDATE_LIMIT, wanted)
        if parsed.phrases:
            phrases = retrieval_query(parsed)
            assert phrases is not None
            return await self.backend.search_candidates(
                phrases, filters, budget, namespaces=self.namespaces
            )
        rare, common = split_by_frequency(df, budget)
        found: dict[str, Candidate] = {}
        if rare:
            query = match_any(parsed.units[i] for i in rare)
            rare_found = await self.backend.search_candidates(
                query, filters, budget, namespaces=self.namespaces
            )
            found = {c.id: c for c in rare_found}
        if common:
            ranked = scorer.score(list(found.values()))
            threshold = ranked[wanted - 1].score if len(ranked) >= wanted else 0.0
            if ceiling(parsed, df, scorer.total, common) >= threshold:
                query = match_any(parsed.units[i] for i in common)
                if sum(df[i] for i in common) > COMMON_WINDOW:
                    # Too many matches to rank them all: an engine that would have to
                    # may rank the newest (see `MatchQuery.window`).
                    keep = max(COMMON_CANDIDATES, wanted)
                    query = replace(query, window=Window(COMMON_WINDOW, keep))
                common_found = await self.backend.search_candidates(
                    query, filters, budget, namespaces=self.namespaces
                )
                for c in common_found:
                    found.setdefault(c.id, c)
        return list(found.values())

    async def recall(
        self,
        query: str,
        *,
        filters: SearchFilters | None = None,
        limit: int = 10,
        offset: int = 0,
        whole_neighbourhoods: dict[str, list[Neighbour]] | None = None,
    ) -> list[RecallHit]:
        """The best text matches for `query`, then the memories linked to them, ranked.

        Weights, what is followed and why recall is read-only:
        `memorygraph.search.recall`. `whole_neighbourhoods`, when given, receives the
        memories whose neighbours the recall read in full (what `neighbours` without a
        limit returns), by id, for a caller that describes them.
        """
        filters = filters or SearchFilters()
        hits = await self.search(
            query, filters=filters, limit=max(recalling.MATCH_POOL, offset + limit)
        )
        seeds = [hit.memory.id for hit in hits[: recalling.SEED_MATCHES]]
        found = await self.neighbours_of(seeds, limit=recalling.LINKS_PER_MATCH)
        links = [found[memory_id] for memory_id in seeds]
        if whole_neighbourhoods is not None:
            whole_neighbourhoods.update(
                (memory_id, near)
                for memory_id, near in found.items()
                if len(near) < recalling.LINKS_PER_MATCH
            )
        ranked = recalling.rank(hits, links, filters, utc_now())
        return ranked[offset : offset + limit]

    async def reindex(self) -> int:
        """Rebuild the search index from the stored memories; return how many were indexed.

        Needed once for a store written before ranked search existed (search
        says so); writes keep the index current from then on. Needs the "admin"
        scope: it rewrites every namespace's index.
        """
        self.principal.require("admin", "rebuild the search index")
        done = await self.backend.rebuild_search_index()
        if self.semantic is not None:
            await self.semantic.rebuild()
        return done

    async def prepare_search(self) -> int | None:
        """Read ahead what this store's first search needs, while other calls go on: the
        vectors, on a backend that holds them in memory. How many vectors it holds, or
        None when nothing is read ahead (a lexical store, or an engine with a vector
        index of its own). Searching works the same without it, only the first search
        is slower."""
        return None if self.semantic is None else await self.semantic.prepare()

    async def embed_missing(self) -> int:
        """Compute the vectors memories lack (after an import or a migration into this
        store); return how many. Nothing without vectors."""
        return 0 if self.semantic is None else await self.semantic.catch_up()

    async def stats(self) -> StoreStats:
        """Counts of what this principal may see, overall and per type, and the
        engine's version."""
        b, ns = self.backend, self.namespaces
        by_type = await b.count_memories_by_type(namespaces=ns)
        edges_by_type = await b.count_relationships_by_type(namespaces=ns)
        return StoreStats(
            backend=b.name,
            location=b.describe(),
            engine_version=await b.engine_version(),
            memories=await b.count_memories(namespaces=ns),
            relationships=await b.count_relationships(namespaces=ns),
            memories_by_type={t.value: n for t, n in by_type.items()},
            relationships_by_type={t.value: n for t, n in edges_by_type.items()},
        )


@asynccontextmanager
async def records_backend(
    target: MemoryStore | Backend | BackendConfig,
) -> AsyncIterator[Backend]:
    """The backend an export, an import or a migration moves whole records through: an
    open store's own (its connection, its locks, its migration lock), a backend given
    open, or one opened for a configuration and closed on exit.

    Those pipelines work below the verbs, on canonical records in bulk, so they take the
    backend itself; this is the one place that hands it out of a store."""
    if isinstance(target, MemoryStore):
        yield target.backend
    elif isinstance(target, Backend):
        yield target
    else:
        async with create_backend(target) as backend:
            yield backend
