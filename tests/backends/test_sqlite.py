"""SQLite passes the contract suite, plus what only a file-backed store can get wrong."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from memorygraph.backends.sqlite import SQLiteBackend
from memorygraph.config import BackendConfig
from memorygraph.errors import DatabaseFileError
from memorygraph.models import MemoryType, RelationshipType
from memorygraph.testing import BackendContractSuite, mem, rel


@pytest.fixture
def backend_config(tmp_path: Path) -> BackendConfig:
    return BackendConfig("sqlite", path=tmp_path / "memory.db")


class TestSQLiteContract(BackendContractSuite):
    pass


async def _write_two(path: Path) -> None:
    async with SQLiteBackend(BackendConfig("sqlite", path=path)) as b:
        await b.upsert_memories([mem(1), mem(2)])


def _open(path: Path, read_only: bool = False) -> SQLiteBackend:
    return SQLiteBackend(BackendConfig("sqlite", path=path, read_only=read_only))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"this is a text file, not a database\n" * 200, "not a usable memorygraph database"),
        (b"SQLite format 3\x00" + b"\xff" * 4000, "not a usable memorygraph database"),
    ],
)
async def test_non_database_file_is_refused_unchanged(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(content)
    with pytest.raises(DatabaseFileError, match=message):
        await _open(path).connect()
    assert path.read_bytes() == content


async def test_foreign_sqlite_database_is_refused_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE users(name TEXT)")
    before = path.read_bytes()
    with pytest.raises(DatabaseFileError, match="not a memorygraph one"):
        await _open(path).connect()
    assert path.read_bytes() == before


async def test_corrupt_database_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "memory.db"
    await _write_two(path)
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\x13" * (4096 - 100)  # smash the schema page after the header
    path.write_bytes(bytes(data))
    with pytest.raises(DatabaseFileError):
        backend = _open(path)
        await backend.connect()
        await backend.count_memories()


async def test_missing_directory_is_named_and_nothing_is_created(tmp_path: Path) -> None:
    path = tmp_path / "absent" / "memory.db"
    with pytest.raises(DatabaseFileError, match="does not exist"):
        await _open(path).connect()
    assert not path.parent.exists()


async def test_read_only_file_is_refused_for_writing_but_readable(tmp_path: Path) -> None:
    path = tmp_path / "memory.db"
    await _write_two(path)
    path.chmod(0o444)
    before = path.read_bytes()
    with pytest.raises(DatabaseFileError, match="read-only"):
        await _open(path).connect()
    backend = _open(path, read_only=True)
    await backend.connect()
    assert await backend.count_memories() == 2
    await backend.close()
    assert path.read_bytes() == before


def _strip_change_times(path: Path) -> None:
    """Make `path` look like a store written before change times and tombstones."""
    conn = sqlite3.connect(path)
    conn.executescript(
        "DROP INDEX memories_written_at; DROP INDEX relationships_written_at;"
        "ALTER TABLE memories DROP COLUMN written_at;"
        "ALTER TABLE relationships DROP COLUMN written_at;"
        "DROP TABLE tombstones;"
    )
    conn.close()


async def test_a_store_without_change_times_gets_them_on_its_first_writable_open(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    await _write_two(path)
    _strip_change_times(path)
    t0 = mem(1).created_at
    async with _open(path, read_only=True) as old:
        # Read-only, it cannot be upgraded: `since` compares the records' own times.
        assert [m.id async for m in old.iter_memories(since=t0)] == ["m0001", "m0002"]
        assert [t async for t in old.iter_tombstones("memory")] == []
    async with _open(path) as upgraded:
        assert [m.id async for m in upgraded.iter_memories(since=t0)] == ["m0001", "m0002"]
        await upgraded.delete_memories(["m0002"])
        assert [t.id async for t in upgraded.iter_tombstones("memory")] == ["m0002"]
    columns = {r[1] for r in sqlite3.connect(path).execute("PRAGMA table_info(memories)")}
    assert "written_at" in columns


async def test_counts_follow_writes_from_this_and_any_other_connection(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    async with _open(path) as b:
        await b.upsert_memories([mem(1), mem(2, type=MemoryType.PROBLEM)])
        await b.upsert_relationships([rel(1, "m0001", "m0002")])
        assert await b.count_memories() == 2
        assert await b.count_memories_by_type() == {MemoryType.SOLUTION: 1, MemoryType.PROBLEM: 1}
        assert await b.count_relationships_by_type() == {RelationshipType.SOLVES: 1}

        await b.upsert_memories([mem(3)])
        assert await b.count_memories() == 3
        assert await b.count_memories_by_type() == {MemoryType.SOLUTION: 2, MemoryType.PROBLEM: 1}

        other = sqlite3.connect(path)
        with other:
            other.execute("PRAGMA foreign_keys = ON")
            other.execute("DELETE FROM relationships")
            other.execute("DELETE FROM memories WHERE id = 'm0001'")
        other.close()
        assert await b.count_memories() == 2
        assert await b.count_relationships() == 0
        assert await b.count_relationships_by_type() == {}
        assert await b.count_memories_by_type() == {MemoryType.SOLUTION: 1, MemoryType.PROBLEM: 1}
