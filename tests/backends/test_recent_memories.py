"""Recent memories read from SQLite's index on the change time are exactly what one pass
over every memory (the contract's default) finds: counts, order, ties and projects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from memorygraph.backends.base import Backend
from memorygraph.backends.registry import create_backend
from memorygraph.config import BackendConfig
from memorygraph.models import Memory, MemoryContext


async def test_sqlite_index_answers_like_one_pass_over_every_memory(tmp_path: Path) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    memories = [
        Memory(
            id=f"m{i:03d}",
            type=("problem", "fix", "task")[i % 3],
            title=f"m{i}",
            # Every fourth shares its change time with the one before: ties go by id.
            created_at=start + timedelta(hours=i - i % 4 // 3),
            updated_at=start + timedelta(days=30) if i % 17 == 0 else None,
            context=MemoryContext(project_path=f"/p{i % 2}"),
        )
        for i in range(120)
    ]
    async with create_backend(BackendConfig("sqlite", path=tmp_path / "m.db")) as backend:
        await backend.upsert_memories(memories)
        for since_hours in (0, 50, 119, 24 * 40):
            since = start + timedelta(hours=since_hours)
            for limit, counted in ((1, 1), (4, 7), (7, 4), (50, 30), (50, 500)):
                for project in (None, "/p0", "/p1", "/nowhere"):
                    indexed = await backend.recent_memories(
                        since, limit=limit, counted=counted, project=project
                    )
                    scanned = await Backend.recent_memories(
                        backend, since, limit=limit, counted=counted, project=project
                    )
                    assert indexed == scanned, (since_hours, limit, project)
        newest = await backend.recent_memories(start, limit=3, counted=200)
        assert [m.id for m in newest.newest] == ["m119", "m102", "m085"]
        assert sum(newest.by_type.values()) == 120 and not newest.more
        assert (await backend.recent_memories(start, limit=3, counted=119)).more
