"""Which memories search ranks: rare words' matches in full, common words' only when
they could still reach the page, and a very common word's among its newest matches;
the SQLite memory total and match counts are kept until the store changes."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from memorygraph.backends.base import Backend
from memorygraph.config import BackendConfig
from memorygraph.models import Memory, MemoryType
from memorygraph.search import SearchFilters
from memorygraph.search.ranking import (
    Candidate,
    MatchQuery,
    Window,
    ceiling,
    match_any,
    score,
    split_by_frequency,
    unit_query,
)
from memorygraph.search.text import field_texts, parse_query
from memorygraph.store import MemoryStore


def test_split_takes_the_rarest_units_that_fit() -> None:
    assert split_by_frequency([50, 3, 0, 10], budget=20) == ([1, 3], [0])
    assert split_by_frequency([5, 5, 5], budget=10) == ([0, 1], [2])
    assert split_by_frequency([30, 40], budget=20) == ([], [0, 1])
    assert split_by_frequency([0, 0], budget=20) == ([], [])


def test_ceiling_bounds_every_memory_matching_only_those_units() -> None:
    parsed = parse_query("alpha beta zebra")
    df, total = [900, 400, 2], 1000
    texts = ["alpha", "alpha alpha beta", "beta " * 8, "alpha beta " * 20, "Alpha Beta"]
    candidates = [
        Candidate(f"m{i}", *field_texts(t if i % 2 else "", t, None, []))
        for i, t in enumerate(texts)
    ]
    best = max(r.score for r in score(parsed, candidates, df, total))
    assert best <= ceiling(parsed, df, total, [0, 1])
    assert ceiling(parsed, df, total, [0]) < ceiling(parsed, df, total, [0, 1])


def _memory(i: int, text: str) -> Memory:
    return Memory(id=f"m{i:03d}", type=MemoryType.GENERAL, title=f"note {i}", content=text)


class _Counting:
    """Wraps a backend's `search_candidates` to record what was asked."""

    def __init__(self, backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
        self.asked: list[MatchQuery] = []
        inner = backend.search_candidates

        async def search_candidates(
            query: MatchQuery, filters: SearchFilters, limit: int, **scope: Any
        ) -> list[Candidate]:
            self.asked.append(query)
            return await inner(query, filters, limit, **scope)

        monkeypatch.setattr(backend, "search_candidates", search_candidates)


async def test_common_words_are_fetched_only_when_they_could_reach_the_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    memories = [_memory(i, "alpha common words") for i in range(60)]
    memories += [_memory(100 + i, "alpha zebra") for i in range(3)]
    config = BackendConfig("sqlite", path=tmp_path / "m.db")
    async with MemoryStore.open(config) as store:
        await store.backend.upsert_memories(memories)
        everything = [h.memory.id for h in await store.search("alpha zebra", limit=100)]
        assert everything[:3] == ["m100", "m101", "m102"]
        monkeypatch.setattr("memorygraph.store.CANDIDATE_LIMIT", 20)
        counting = _Counting(store.backend, monkeypatch)

        # Three zebra memories fill the page; alpha alone cannot outscore them.
        top = [h.memory.id for h in await store.search("alpha zebra", limit=3)]
        assert top == everything[:3]
        assert len(counting.asked) == 1

        # A longer page needs alpha's best matches too: fetched, by the engine's ranking.
        counting.asked.clear()
        page = [h.memory.id for h in await store.search("alpha zebra", limit=10)]
        assert len(counting.asked) == 2
        assert page[:3] == everything[:3] and len(page) == 10


async def test_sqlite_total_follows_writes_from_any_connection(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    async with MemoryStore.open(BackendConfig("sqlite", path=path)) as store:
        await store.backend.upsert_memories([_memory(1, "alpha")])
        assert await store.backend.search_total() == 1
        await store.backend.upsert_memories([_memory(2, "alpha")])
        assert await store.backend.search_total() == 2
        other = sqlite3.connect(path)
        with other:
            other.execute("DELETE FROM memories WHERE id = 'm001'")
        other.close()
        assert await store.backend.search_total() == 1


async def test_sqlite_match_counts_follow_writes_from_any_connection(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    async with MemoryStore.open(BackendConfig("sqlite", path=path)) as store:
        alpha = [unit_query(u) for u in parse_query("alpha", store.backend.term_spelling).units]
        await store.backend.upsert_memories([_memory(1, "alpha"), _memory(2, "beta")])
        assert await store.backend.count_matches(alpha) == [1]
        await store.backend.upsert_memories([_memory(3, "alpha alphabet")])
        assert await store.backend.count_matches(alpha) == [2]
        other = sqlite3.connect(path)
        with other:
            other.execute("DELETE FROM memories WHERE id = 'm001'")
        other.close()
        assert await store.backend.count_matches(alpha) == [1]


def test_exact_drops_partial_word_alternatives_only() -> None:
    query = MatchQuery(((("tab", False), ("tabc", True)), (("tx", True),)), window=Window(10, 5))
    assert query.exact() == MatchQuery(((("tab", False),), (("tx", True),)), window=Window(10, 5))


def _numbered(i: int, title: str, content: str, **extra: Any) -> Memory:
    return Memory(id=f"m{i:03d}", type=MemoryType.GENERAL, title=title, content=content, **extra)


async def test_sqlite_ranks_only_the_newest_matches_of_a_window(tmp_path: Path) -> None:
    # Written in id order: m000 is the oldest. Every one holds "alpha"; the odd ones
    # hold it in the title too, which ranks them first.
    memories = [
        _numbered(
            i, "alpha note" if i % 2 else "note", "alpha words", tags=["odd" if i % 2 else "even"]
        )
        for i in range(40)
    ]
    config = BackendConfig("sqlite", path=tmp_path / "m.db")
    async with MemoryStore.open(config) as store:
        query = match_any(parse_query("alpha", store.backend.term_spelling).units)
        for memory in memories:
            await store.backend.upsert_memories([memory])
        everything = await store.backend.search_candidates(query, SearchFilters(), 100)
        assert len(everything) == 40

        windowed = replace(query, window=Window(newest=10, keep=4))
        found = await store.backend.search_candidates(windowed, SearchFilters(), 100)
        # The best 4 of the newest 10 (m030–m039): their odd ones, title matches.
        assert sorted(c.id for c in found) == ["m031", "m033", "m035", "m037"]
        by_id = {c.id: c for c in everything}
        assert all(c == by_id[c.id] for c in found)

        # With a filter, the window counts the matches that pass it (the even ones,
        # equal in rank: the oldest of the window first).
        even = SearchFilters(tags=("even",))
        found = await store.backend.search_candidates(windowed, even, 100)
        assert [c.id for c in found] == ["m020", "m022", "m024", "m026"]
        found = await store.backend.search_candidates(
            replace(query, window=Window(newest=3, keep=10)), even, 100
        )
        assert sorted(c.id for c in found) == ["m034", "m036", "m038"]


async def test_a_common_word_is_searched_among_its_newest_matches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    memories = [_numbered(i, f"note {i}", "alpha " * (1 + i % 3)) for i in range(60)]
    memories[5] = _numbered(5, "alpha alpha", "alpha")  # old, and the best match
    config = BackendConfig("sqlite", path=tmp_path / "m.db")
    async with MemoryStore.open(config) as store:
        for memory in memories:
            await store.backend.upsert_memories([memory])
        assert (await store.search("alpha", limit=1))[0].memory.id == "m005"

        monkeypatch.setattr("memorygraph.store.CANDIDATE_LIMIT", 10)
        monkeypatch.setattr("memorygraph.store.COMMON_WINDOW", 30)
        monkeypatch.setattr("memorygraph.store.COMMON_CANDIDATES", 8)
        counting = _Counting(store.backend, monkeypatch)
        hits = await store.search("alpha", limit=5)
        assert [q.window for q in counting.asked] == [Window(30, 8)]
        assert len(hits) == 5
        # Only the newest 30 were ranked: the old best match is not among them.
        assert all(int(h.memory.id[1:]) >= 30 for h in hits)
        assert all(h.matched == ("alpha",) for h in hits)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)

        # The next page ranks the same candidates: no memory comes back twice.
        page = await store.search("alpha", limit=3, offset=5)
        assert len(page) == 3
        assert not {h.memory.id for h in page} & {h.memory.id for h in hits}
        assert page[0].score <= hits[-1].score

        # A page past the kept candidates widens them to offset + limit.
        counting.asked.clear()
        assert len(await store.search("alpha", limit=6, offset=6)) == 6
        assert [q.window for q in counting.asked] == [Window(30, 12)]


def test_every_occurrence_of_a_word_counts_even_side_by_side() -> None:
    parsed = parse_query("redis")
    twice = Candidate("a", *field_texts("", "redis redis cache", None, []))
    once = Candidate("b", *field_texts("", "redis cache cache", None, []))
    apart = Candidate("c", *field_texts("", "redis cache redis", None, []))
    ranked = {r.id: r.score for r in score(parsed, [twice, once, apart], [3], 10)}
    assert ranked["a"] == ranked["c"] > ranked["b"]
