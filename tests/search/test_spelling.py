"""An SQLite store keeps its search terms as they are; one written with hex terms keeps
those, answers the same, and a copy of it keeps its terms as they are."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from memorygraph.config import BackendConfig
from memorygraph.models import Memory, MemoryType
from memorygraph.ops import migrations
from memorygraph.ops.migrations import MigrationOptions
from memorygraph.search.text import HEX, PLAIN, to_hex
from memorygraph.store import MemoryStore

NOTES = [
    ("Deployment failed", "The Redis cache timed out under load during the deploy."),
    ("Кэш сервера", "Сервер не отвечает после обновления кэша."),
    ("東京のサーバー", "デプロイの後でキャッシュが遅い 🚀"),
    ("Cold cache", "Caching warms up slowly after every deployment."),
]
QUESTIONS = ["deploy cache", "deploym", '"cache timed out"', "кэш", "東京", "🚀", "caching"]


def _memories() -> list[Memory]:
    return [
        Memory(id=f"m{i}", type=MemoryType.GENERAL, title=title, content=content)
        for i, (title, content) in enumerate(NOTES)
    ]


def _rows(path: Path) -> tuple[str, list[str]]:
    """The store's terms version and every search row's title and body."""
    with sqlite3.connect(path) as conn:
        (version,) = conn.execute("SELECT value FROM mg_meta WHERE key = 'search_index'").fetchone()
        rows = conn.execute("SELECT title, body FROM memories_search ORDER BY rowid").fetchall()
    conn.close()
    return version, [field for row in rows for field in row]


def _as_written_with_hex_terms(path: Path) -> None:
    """Turn `path` into the store an earlier memorygraph wrote: hex terms, version 1."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT rowid, title, body FROM memories_search").fetchall()
        conn.execute("DELETE FROM memories_search")
        conn.executemany(
            "INSERT INTO memories_search(rowid, title, body) VALUES (?, ?, ?)",
            [(r, to_hex(t), to_hex(b)) for r, t, b in rows],
        )
        conn.execute("UPDATE mg_meta SET value = '1' WHERE key = 'search_index'")
    conn.close()


async def _answers(path: Path) -> list[list[str]]:
    async with MemoryStore.open(BackendConfig("sqlite", path=path)) as store:
        return [[h.memory.id for h in await store.search(q, limit=5)] for q in QUESTIONS]


def _spelled(fields: list[str], marks: str) -> bool:
    return all(token[0] in marks for field in fields for token in field.split())


async def test_a_new_store_keeps_its_terms_as_they_are(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    async with MemoryStore.open(BackendConfig("sqlite", path=path)) as store:
        assert store.backend.term_spelling is PLAIN
        await store.backend.upsert_memories(_memories())
    version, fields = _rows(path)
    assert version == "2"
    assert _spelled(fields, PLAIN.stem_mark + PLAIN.raw_mark)
    assert f"{PLAIN.stem_mark}кэш" in fields[2].split()
    answers = await _answers(path)
    assert answers[0][:1] == ["m0"] and answers[4] == ["m2"] and answers[5] == ["m2"]


async def test_a_store_with_hex_terms_keeps_them_and_answers_the_same(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    async with MemoryStore.open(BackendConfig("sqlite", path=path)) as store:
        await store.backend.upsert_memories(_memories()[:3])
    _as_written_with_hex_terms(path)
    before = await _answers(path)
    async with MemoryStore.open(BackendConfig("sqlite", path=path)) as store:
        assert store.backend.term_spelling is HEX
        await store.backend.upsert_memories(_memories()[3:])
        await store.reindex()
    version, fields = _rows(path)
    assert version == "1"
    assert _spelled(fields, HEX.stem_mark + HEX.raw_mark)
    fresh = tmp_path / "fresh.db"
    async with MemoryStore.open(BackendConfig("sqlite", path=fresh)) as store:
        await store.backend.upsert_memories(_memories())
    assert await _answers(path) == await _answers(fresh)
    assert before != await _answers(path)  # the memory written later is found too


async def test_a_copy_of_a_store_with_hex_terms_keeps_them_as_they_are(tmp_path: Path) -> None:
    path, copy = tmp_path / "old.db", tmp_path / "copy.db"
    async with MemoryStore.open(BackendConfig("sqlite", path=path)) as store:
        await store.backend.upsert_memories(_memories())
    _as_written_with_hex_terms(path)
    options = MigrationOptions(workdir=tmp_path / "work")
    source, target = BackendConfig("sqlite", path=path), BackendConfig("sqlite", path=copy)
    await migrations.migrate(source, target, options)
    version, fields = _rows(copy)
    assert version == "2"
    assert _spelled(fields, PLAIN.stem_mark + PLAIN.raw_mark)
    assert await _answers(copy) == await _answers(path)
    assert _rows(path)[0] == "1"  # the source is never written


async def test_reindexing_a_store_from_before_ranked_search_makes_its_table_anew(
    tmp_path: Path,
) -> None:
    path, fresh = tmp_path / "m.db", tmp_path / "fresh.db"
    async with MemoryStore.open(BackendConfig("sqlite", path=path)) as store:
        await store.backend.upsert_memories(_memories())
    # As an earlier release left a store it opened before it was reindexed: a table
    # whose tokenizer splits at the marks, and no terms version.
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE memories_search")
        conn.execute(
            "CREATE VIRTUAL TABLE memories_search USING fts5(title, body, tokenize='ascii')"
        )
        conn.execute("DELETE FROM mg_meta WHERE key = 'search_index'")
    conn.close()
    async with MemoryStore.open(BackendConfig("sqlite", path=path)) as store:
        assert store.backend.term_spelling is PLAIN
        await store.reindex()
    with sqlite3.connect(path) as conn:
        (table,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'memories_search'")
    conn.close()
    assert "tokenchars" in table[0]
    assert _rows(path)[0] == "2"
    async with MemoryStore.open(BackendConfig("sqlite", path=fresh)) as store:
        await store.backend.upsert_memories(_memories())
    assert await _answers(path) == await _answers(fresh)
