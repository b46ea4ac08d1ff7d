"""A store's vectors: kept current from its memories, and asked for a query's nearest.

`SemanticIndex` joins a backend that declares the `vectors` capability with an
`Embedder` (`memorygraph.search.semantic`). Vectors are derived: the backend
drops a memory's vector whenever the memory is written, and `catch_up`
computes the missing ones in batches (the store calls it after its own
writes, before a query, and in full from `reindex`), so an import, a
migration or another process's writes are embedded without any path of
their own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from memorygraph.backends.base import Backend
from memorygraph.backends.spec import VECTORS
from memorygraph.errors import UsageError
from memorygraph.models import Memory
from memorygraph.principal import Namespaces
from memorygraph.search import SearchFilters, SearchHit, fusion
from memorygraph.search.fusion import (
    VECTOR_POOL,
    SearchSettings,
    blend_scores,
    cosine_relevance,
    fuse,
)
from memorygraph.search.ranking import Ranked
from memorygraph.search.semantic import (
    EMBED_BATCH,
    Embedder,
    embed_memories,
    load_embedder,
    start_query,
)
from memorygraph.search.text import ParsedQuery


class SearchedStore(Protocol):
    """What a hybrid search asks of the store it searches (`memorygraph.store.MemoryStore`):
    its vectors, its lexical ranking and the memories it may read."""

    semantic: SemanticIndex | None

    @property
    def namespaces(self) -> Namespaces | None: ...

    async def lookup_many(self, memory_ids: Sequence[str]) -> list[Memory]: ...

    async def lexical(
        self, parsed: ParsedQuery, filters: SearchFilters, wanted: int
    ) -> tuple[list[Ranked], Callable[[Ranked], float]]: ...


#: Most memories a query embeds before it answers (the rest wait for later queries,
#: a write, or `reindex`): a query never stalls for long behind a bulk import.
QUERY_CATCH_UP = 256
#: Seconds a query trusts the last catch-up that found nothing to embed: asking which
#: memories lack a vector walks every memory on some engines, too slow for each query.
#: Writes through the store embed at once; other processes' writes wait this long.
QUERY_CATCH_UP_EVERY = 2.0


class SemanticIndex:
    """The vectors of one backend's memories, made by one embedder."""

    def __init__(self, backend: Backend, embedder: Embedder) -> None:
        self._backend = backend
        self.embedder = embedder
        self._settled_at: float | None = None

    @property
    def model(self) -> str:
        return self.embedder.name

    async def embed(self, memories: list[Memory]) -> None:
        """Compute and store the vectors of `memories`."""
        if not memories or self._backend.config.read_only:
            return
        vectors = await embed_memories(self.embedder, memories)
        await self._backend.put_vectors(
            self.model, list(zip([m.id for m in memories], vectors, strict=True))
        )

    async def catch_up(self, most: int | None = None) -> int:
        """Embed memories that have no vector yet, in batches, up to `most` (all when
        None); return how many were embedded. A read-only store embeds nothing."""
        if self._backend.config.read_only:
            return 0
        done = 0
        while most is None or done < most:
            size = EMBED_BATCH if most is None else min(EMBED_BATCH, most - done)
            batch = await self._backend.memories_without_vectors(self.model, size)
            if not batch:
                break
            await self.embed(batch)
            done += len(batch)
            if len(batch) < size:
                break
        return done

    async def rebuild(self) -> int:
        """Drop every vector and embed every memory again; return how many."""
        if self._backend.config.read_only:
            return 0
        await self._backend.drop_vectors()
        return await self.catch_up()

    async def prepare(self) -> int | None:
        """Read ahead what the first query needs from the backend (`Backend.hold_vectors`);
        how many vectors it holds, or None when it reads none ahead."""
        return await self._backend.hold_vectors(self.model)

    def start_query(self, query: str) -> asyncio.Future[bytes] | None:
        """The vector of `query`, computed from now on beside the caller's other work
        (None for a blank query, which matches nothing by meaning)."""
        return start_query(self.embedder, query) if query.strip() else None

    async def nearest(
        self, vector: asyncio.Future[bytes] | None, filters: SearchFilters, limit: int
    ) -> list[tuple[str, float]]:
        """The memories most similar to the query whose vector `vector` will be
        (`start_query`), as (id, cosine), best first."""
        if vector is None:
            return []
        try:
            now = time.monotonic()
            stale = self._settled_at is None or now - self._settled_at > QUERY_CATCH_UP_EVERY
            if stale and await self.catch_up(QUERY_CATCH_UP) < QUERY_CATCH_UP:
                self._settled_at = now
            query = await vector
        except BaseException:
            vector.cancel()  # nobody waits for it any more (a no-op once it is done)
            raise
        return await self._backend.vector_search(self.model, query, limit, filters)


def semantic_index(backend: Backend, settings: SearchSettings) -> SemanticIndex | None:
    """The vectors of `backend`'s store when `settings` asks for them, else None (a
    lexical store). Asking on a backend that does not declare `vectors`, or without
    the `semantic` extra installed, is a `UsageError` naming what to do."""
    if not settings.semantic:
        return None
    if not backend.config.spec.has(VECTORS):
        raise UsageError(
            f"{backend.name} does not keep vectors; turn semantic search off for this store"
        )
    embedder = load_embedder()
    if embedder is None:
        raise UsageError("semantic search needs the semantic extra; install memorygraph[semantic]")
    return SemanticIndex(backend, embedder)


async def hybrid_search(
    store: SearchedStore,
    query: str,
    parsed: ParsedQuery,
    filters: SearchFilters,
    limit: int,
    offset: int,
) -> list[SearchHit]:
    """`store.search` with vectors: the lexical and the vector rankings fused
    (`memorygraph.search.fusion`), each hit with its cosine relevance."""
    assert store.semantic is not None
    wanted = offset + limit
    pool = max(VECTOR_POOL, wanted)
    # Filters and namespaces are checked on the memories (the fetch below reads only the
    # principal's namespaces), so ask for more when they may drop some.
    unfiltered = filters == SearchFilters() and store.namespaces is None
    reach = pool if unfiltered else pool * 4
    # The vector ranking runs beside the lexical one: the model embeds the query in a
    # thread of its own, and the engine is asked for the nearest while the lexical
    # ranking scores its candidates here.
    near_task = asyncio.ensure_future(
        store.semantic.nearest(store.semantic.start_query(query), filters, reach)
    )
    try:
        ranked, _ = await store.lexical(parsed, filters, pool)
        near = await near_task
    except BaseException:
        near_task.cancel()
        raise
    lexical = {r.id: r for r in ranked[:pool]}
    # A lexical match outside the vector pool is at most as similar as the pool's last.
    floor = cosine_relevance(near[-1][1]) if near else 0.0
    relevance = {i: cosine_relevance(c) for i, c in near}
    if fusion.FUSION == "rrf":
        fused = fuse(list(lexical), [i for i, _ in near])
    else:
        fused = blend_scores({i: r.score for i, r in lexical.items()}, relevance, floor)
    hits: list[SearchHit] = []
    # Memories are read a page at a time, in fused order, until the page is full: most
    # of the fused ids are never shown.
    for start in range(0, len(fused), wanted):
        chunk = fused[start : start + wanted]
        seen = await store.lookup_many([i for i, _ in chunk])
        memories = {m.id: m for m in seen}
        for memory_id, fused_score in chunk:
            memory = memories.get(memory_id)
            if memory is None or (memory_id not in lexical and not filters.accepts(memory)):
                continue
            match = lexical.get(memory_id)
            hits.append(
                SearchHit(
                    memory,
                    fused_score,
                    match.matched if match else (),
                    relevance.get(memory_id, floor),
                )
            )
            if len(hits) >= wanted:
                return hits[offset:wanted]
    return hits[offset:wanted]
