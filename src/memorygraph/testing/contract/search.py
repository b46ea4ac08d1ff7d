"""Contract: search and recall return the same ids in the same order on every engine.

A fixed corpus (`search_corpus`) and fixed queries with their expected rankings
(`EXPECTED_RANKINGS`) hold each backend's `search_candidates` and `count_matches`
to the shared ranking: stems, word beginnings, phrases, filters, pages, non-Latin
scripts, query syntax taken as text, an index that follows every write, and
recall's linked memories with their reasons.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from memorygraph.backends.base import Backend
from memorygraph.errors import UsageError
from memorygraph.models import Memory, MemoryType, RelationshipType
from memorygraph.search import SearchFilters
from memorygraph.store import MemoryStore
from memorygraph.testing.contract.base import ContractBase
from memorygraph.testing.contract.records import T0, mem, rel


def search_corpus() -> list[Memory]:
    """A small corpus with a known ranking for every query in EXPECTED_RANKINGS."""
    day = timedelta(days=1)
    return [
        mem("c01", title="Fix flaky redis timeout", content="Raise the pool size and the "
            "socket timeout.", tags=["redis"], importance=0.8),
        mem("c02", title="Redis cluster failover", content="Sentinel promotes a replica.",
            type=MemoryType.PROBLEM, tags=["cache"]),
        mem("c03", title="Postgres slow query", content="Add an index on created_at; the "
            "redis cache was not involved.", type=MemoryType.PROBLEM),
        mem("c04", title="Timeouts when calling the payments API", content="Requests time "
            "out after 30 seconds; fixed by retrying with backoff.", type=MemoryType.ERROR),
        mem("c05", title="Fixing flaky tests", content="Tests that depend on timing are "
            "flaky; freeze the clock.", type=MemoryType.FIX),
        mem("c06", title="Deployment checklist", content="Run migrations before deploying "
            "the new release.", type=MemoryType.WORKFLOW),
        mem("c07", title="Кэш Redis", content="Перезапуск сервера исправил ошибку таймаута.",
            type=MemoryType.GENERAL),
        mem("c08", title="東京のサーバー設定", content="キャッシュの設定を変更した。",
            type=MemoryType.GENERAL),
        mem("c09", title="Ελληνικές σημειώσεις", content="Η βάση δεδομένων είναι αργή.",
            type=MemoryType.GENERAL),
        mem("c10", title="Rocket launch 🚀", content="Shipped it 🎉", type=MemoryType.GENERAL),
        mem("c11", title="'); MATCH (n) DETACH DELETE n; --", content='say "hi" \\ OR 1=1'),
        mem("c12", title="Memory leak in the worker", content="The worker leaks memory when "
            "the queue is empty.", type=MemoryType.PROBLEM, importance=0.9,
            created_at=T0 + 3 * day, context={"project_path": "/srv/worker"}),
        mem("c13", title="Worker memory", content="Leak detection for the queue worker; "
            "timeout after one hour.", created_at=T0 + 3 * day, updated_at=T0 + 5 * day,
            context={"project_path": "/srv/other"}),
        mem("c14", title="Scaling notes", content="Each cluster node holds a shard.",
            type=MemoryType.GENERAL),
        mem("c15", title="Café menu parser", content="Parses the menu.",
            type=MemoryType.CODE_PATTERN),
        mem("c16", title="Retry with exponential backoff", content="Wrap the client call.",
            type=MemoryType.SOLUTION, importance=0.7),
        mem("c17", title="Increase the HTTP client limit", content="No longer advised.",
            type=MemoryType.SOLUTION),
        mem("c18", title="Old gateway workaround", content="Superseded.",
            type=MemoryType.SOLUTION),
    ]  # fmt: skip


#: Query → ids in rank order: every backend must return exactly these.
EXPECTED_RANKINGS: dict[str, list[str]] = {
    "how did we fix the redis timeouts": ["c01", "c04", "c05", "c13", "c02", "c07", "c03"],
    "redis timeout": ["c01", "c04", "c13", "c02", "c07", "c03"],
    "timeouts redi": ["c01", "c04", "c13", "c02", "c07", "c03"],
    "redis": ["c01", "c02", "c07", "c03"],
    "fix": ["c05", "c01", "c04"],
    "flaky tests": ["c05", "c01"],
    "memory worker leak": ["c12", "c13"],
    "cluster": ["c02", "c14"],
    "payments api": ["c04"],
    '"memory leak" worker queue': ["c12"],
    "deploy": ["c06"],
}


async def found_ids(
    store: MemoryStore, query: str, filters: SearchFilters | None = None
) -> list[str]:
    return [h.memory.id for h in await store.search(query, filters=filters, limit=100)]


class SearchContract(ContractBase):
    """Full-text search and recall rank the corpus exactly as the shared scorer does."""

    async def test_search_ranks_the_corpus_identically(self, backend: Backend) -> None:
        await backend.upsert_memories(search_corpus())
        store = MemoryStore(backend)
        for query, expected in EXPECTED_RANKINGS.items():
            assert await found_ids(store, query) == expected, query

    async def test_search_matches_word_forms_by_stem(self, backend: Backend) -> None:
        await backend.upsert_memories(search_corpus())
        store = MemoryStore(backend)
        timeouts = set(await found_ids(store, "timeouts"))
        assert {"c01", "c04"} <= timeouts
        assert set(await found_ids(store, "timeout")) == timeouts
        assert {"c01", "c04", "c05"} <= set(await found_ids(store, "fixed"))
        assert {"c01", "c04", "c05"} <= set(await found_ids(store, "fixing"))

    async def test_search_matches_the_beginning_of_words(self, backend: Backend) -> None:
        await backend.upsert_memories(search_corpus())
        store = MemoryStore(backend)
        assert set(await found_ids(store, "redi")) == {"c01", "c02", "c03", "c07"}
        assert await found_ids(store, "deploym") == ["c06"]
        # Quoted words are exact: no prefix matching.
        assert await found_ids(store, '"deploym"') == []

    async def test_search_ranks_more_matched_words_first(self, backend: Backend) -> None:
        await backend.upsert_memories(search_corpus())
        store = MemoryStore(backend)
        hits = await store.search("redis pool timeout")
        assert hits[0].memory.id == "c01"
        assert set(hits[0].matched) == {"redis", "pool", "timeout"}
        assert all(len(h.matched) < 3 for h in hits[1:])
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        # A title match outranks the same word in the body.
        order = await found_ids(store, "cluster")
        assert order.index("c02") < order.index("c14")

    async def test_search_ignores_stop_words_and_empty_queries(self, backend: Backend) -> None:
        await backend.upsert_memories(search_corpus())
        store = MemoryStore(backend)
        assert await store.search("") == []
        assert await store.search("the and of") == []
        assert await store.search("absentword") == []
        assert await found_ids(store, "the redis") == await found_ids(store, "redis")

    async def test_search_filters(self, backend: Backend) -> None:
        await backend.upsert_memories(search_corpus())
        store = MemoryStore(backend)

        async def only(**kw: Any) -> set[str]:
            return set(await found_ids(store, "redis timeout memory", SearchFilters(**kw)))

        everything = await only()
        assert {"c01", "c02", "c12", "c13"} <= everything
        assert await only(types=(MemoryType.PROBLEM,)) == {"c02", "c03", "c12"}
        assert await only(types=(MemoryType.PROBLEM, MemoryType.ERROR)) == {
            "c02",
            "c03",
            "c04",
            "c12",
        }
        assert await only(tags=("cache",)) == {"c02"}
        assert await only(tags=("cache", "redis")) == {"c01", "c02"}
        assert await only(project="/srv/worker") == {"c12"}
        assert await only(min_importance=0.75) == {"c01", "c12"}
        assert await only(created_after=T0 + timedelta(days=2)) == {"c12", "c13"}
        assert await only(updated_after=T0 + timedelta(days=4)) == {"c13"}
        assert await only(types=(MemoryType.PROBLEM,), min_importance=0.75) == {"c12"}

    async def test_search_pages_do_not_overlap(self, backend: Backend) -> None:
        await backend.upsert_memories(search_corpus())
        store = MemoryStore(backend)
        everything = await found_ids(store, "redis timeout memory fix")
        assert len(everything) >= 7
        pages = [
            [h.memory.id for h in await store.search("redis timeout memory fix", limit=3, offset=o)]
            for o in range(0, len(everything) + 3, 3)
        ]
        assert [i for page in pages for i in page] == everything
        assert pages[-1] == []
        again = await store.search("redis timeout memory fix", limit=3, offset=3)
        assert [h.memory.id for h in again] == pages[1]

    async def test_search_non_latin_scripts_and_emoji(self, backend: Backend) -> None:
        await backend.upsert_memories(search_corpus())
        store = MemoryStore(backend)
        assert await found_ids(store, "кэш") == ["c07"]
        assert await found_ids(store, "таймаут") == ["c07"]  # stem of "таймаута"
        assert await found_ids(store, "東京") == ["c08"]
        assert await found_ids(store, "設定") == ["c08"]
        assert await found_ids(store, "ΣΗΜΕΙΩΣΕΙΣ") == ["c09"]  # case and accents folded
        assert await found_ids(store, "🚀") == ["c10"]
        assert await found_ids(store, "🎉 launch") == ["c10"]
        assert await found_ids(store, "Caf\u00e9") == await found_ids(store, "cafe") == ["c15"]

    async def test_search_phrases(self, backend: Backend) -> None:
        await backend.upsert_memories(search_corpus())
        store = MemoryStore(backend)
        assert await found_ids(store, '"memory leak"') == ["c12"]
        assert await found_ids(store, '"leak memory worker"') == []
        # The phrase is required; other words only rank.
        assert await found_ids(store, '"memory leak" redis') == ["c12"]
        assert set(await found_ids(store, "memory leak")) >= {"c12", "c13"}
        with pytest.raises(UsageError, match="unbalanced double quote"):
            await store.search('"memory leak')

    async def test_search_treats_query_syntax_as_text(self, backend: Backend) -> None:
        await backend.upsert_memories(search_corpus())
        store = MemoryStore(backend)
        for query in [
            "'); MATCH (n) DETACH DELETE n; --",
            '" OR 1=1 --"',
            "title:redis OR *",
            "@_st:{x} | -redis ~y",
            "redis AND NOT cluster",
            "\\ % _ * ( ) [ ] { } ^ : ! ?",
            "redis' OR '1'='1",
        ]:
            await store.search(query)
        assert await found_ids(store, "detach delete match") == ["c11"]
        assert await backend.count_memories() == len(search_corpus())

    async def test_search_index_follows_every_write(self, backend: Backend) -> None:
        await backend.upsert_memories(search_corpus())
        store = MemoryStore(backend)
        await store.update("c06", title="Release checklist", content="tag and publish")
        assert await found_ids(store, "deployment") == []
        assert await found_ids(store, "publish") == ["c06"]
        await store.forget("c01")
        assert "c01" not in await found_ids(store, "redis")
        assert await store.reindex() == len(search_corpus()) - 1
        assert await found_ids(store, "publish") == ["c06"]
        for query, expected in EXPECTED_RANKINGS.items():
            changed = {"c01", "c06"}
            assert await found_ids(store, query) == [i for i in expected if i not in changed]

    async def test_recall_brings_linked_memories_with_reasons(self, backend: Backend) -> None:
        await backend.upsert_memories(search_corpus())
        await backend.upsert_relationships(
            [
                rel("s1", "c16", "c04", type=RelationshipType.SOLVES, strength=0.9),
                rel("s2", "c17", "c04", type=RelationshipType.SOLVES, invalidated_by="c16"),
                rel(
                    "s3",
                    "c18",
                    "c04",
                    type=RelationshipType.ADDRESSES,
                    valid_until=T0 - timedelta(days=1),
                ),
            ]
        )
        store = MemoryStore(backend)
        hits = await store.recall("payments api")
        ids = [h.memory.id for h in hits]
        assert ids[0] == "c04"
        assert "c16" in ids and "c17" not in ids and "c18" not in ids
        linked = hits[ids.index("c16")]
        assert linked.via is not None and linked.via.id == "s1"
        assert "SOLVES" in linked.reason and "c04" in linked.reason
        assert linked.matched == hits[0].matched == ("payments", "api")
        assert hits[0].via is None
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        first, second = (
            await store.recall("payments api", limit=1),
            await store.recall("payments api", limit=1, offset=1),
        )
        assert [h.memory.id for h in first + second] == ids[:2]
        none = await store.recall("payments", filters=SearchFilters(types=(MemoryType.TASK,)))
        assert none == []
