"""The scanning search path (Memgraph's) ranks exactly like the full-text indexes.

Run on real engines by turning their full-text index off: the scan must find
what the index finds, so the contract rankings hold for it too.
"""

from __future__ import annotations

from typing import Any

import pytest

from memorygraph.backends.registry import create_backend
from memorygraph.config import BackendConfig
from memorygraph.search.ranking import MatchQuery
from memorygraph.store import MemoryStore
from memorygraph.testing import EXPECTED_RANKINGS, found_ids, search_corpus


def _no_index(self: Any, query: MatchQuery) -> None:
    return None


@pytest.mark.parametrize(
    "config_fixture",
    [pytest.param("falkordb_config", marks=pytest.mark.falkordb),
     pytest.param("neo4j_config", marks=pytest.mark.neo4j)],
)  # fmt: skip
async def test_scanning_finds_and_ranks_like_the_index(
    config_fixture: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    config: BackendConfig = request.getfixturevalue(config_fixture)
    async with create_backend(config) as backend:
        await backend.upsert_memories(search_corpus())
        store = MemoryStore(backend)
        indexed = {q: await found_ids(store, q) for q in [*EXPECTED_RANKINGS, "redi", "🚀", "東京"]}
        monkeypatch.setattr(type(backend), "fulltext_source", _no_index)
        for query, expected in indexed.items():
            assert await found_ids(store, query) == expected, query
        for query, expected in EXPECTED_RANKINGS.items():
            assert await found_ids(store, query) == expected, query
