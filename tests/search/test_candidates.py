"""Which memories search ranks: rare words' matches in full, common words' only when
they could still reach the page; the SQLite memory total is cached until a write."""

from __future__ import annotations

import sqlite3
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
    ceiling,
    score,
    split_by_frequency,
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
