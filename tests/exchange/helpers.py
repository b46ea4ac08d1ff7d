"""Shared builders for the exchange tests: a sample graph and file surgery."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import orjson

from memorygraph.backends.sqlite import SQLiteBackend
from memorygraph.config import BackendConfig
from memorygraph.exchange import export_graph
from memorygraph.models import (
    Memory,
    MemoryContext,
    MemoryType,
    Relationship,
    RelationshipType,
    Visibility,
)

T0 = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
TRICKY = [
    "plain",
    "emoji 🧠🔥👩🏽‍💻",
    "line\nbreak\r\nand\ttab",
    'quote\'s "double" \\ backslash',
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 plane 1, 𠀀 plane 2",
    "'; DROP TABLE memories; --",
]


def sqlite(path: Path, read_only: bool = False) -> SQLiteBackend:
    return SQLiteBackend(BackendConfig("sqlite", path=path, read_only=read_only))


def sample_memories(n: int = 30) -> list[Memory]:
    out = []
    for i in range(n):
        context = None
        if i % 3 == 0:
            context = MemoryContext(
                project_path=f"/src/project-{i}",
                files_involved=["a.py", TRICKY[i % len(TRICKY)]],
                languages=["python"],
                timestamp=T0 + timedelta(seconds=i),
                visibility=list(Visibility)[i % 4],
                metadata={"n": i, "nested": {"list": [1, 2.5, None, True, "x"]}, "big": 2**62},
            )
        out.append(
            Memory(
                id=f"m{i:04d}",
                type=list(MemoryType)[i % len(MemoryType)],
                title=f"memory {i} {TRICKY[i % len(TRICKY)]}",
                content=TRICKY[(i + 1) % len(TRICKY)] * (i + 1),
                summary=None if i % 2 else f"summary {i}",
                tags=[f"t{i % 5}", "shared"],
                importance=(i % 11) / 10,
                effectiveness=None if i % 4 else 0.25,
                usage_count=i * 1000,
                created_at=T0 + timedelta(minutes=i),
                updated_at=(T0 + timedelta(minutes=i, seconds=7)).astimezone(
                    timezone(timedelta(hours=5, minutes=30))
                ),
                last_accessed=None if i % 5 else T0 + timedelta(days=i),
                context=context,
            )
        )
    return out


def sample_relationships(memories: list[Memory], per_memory: int = 2) -> list[Relationship]:
    out = []
    n = len(memories)
    for i in range(n * per_memory):
        out.append(
            Relationship(
                id=f"r{i:05d}",
                from_id=memories[i % n].id,
                to_id=memories[(i * 7 + 3) % n].id,
                type=list(RelationshipType)[i % len(RelationshipType)],
                strength=(i % 10) / 10,
                context=None if i % 3 else TRICKY[i % len(TRICKY)],
                description=None if i % 2 else f"edge {i}",
                bidirectional=bool(i % 2),
                evidence_count=i,
                success_rate=None if i % 5 else 0.5,
                created_at=T0 + timedelta(seconds=i),
                last_validated=None if i % 4 else T0 + timedelta(hours=i),
                valid_from=T0 if i % 2 else None,
                valid_until=None if i % 6 else T0 + timedelta(days=365),
                recorded_at=T0 + timedelta(seconds=i) if i % 3 == 0 else None,
                invalidated_by=None if i % 6 else f"r{i + 1:05d}",
            )
        )
    return out


async def fill(
    path: Path, n: int = 30, per_memory: int = 2
) -> tuple[list[Memory], list[Relationship]]:
    memories = sample_memories(n)
    relationships = sample_relationships(memories, per_memory)
    async with sqlite(path) as backend:
        await backend.upsert_memories(memories)
        await backend.upsert_relationships(relationships)
    return memories, relationships


async def export_sample(tmp_path: Path, name: str = "export.jsonl", n: int = 30) -> Path:
    """A valid export of the sample graph; returns its path."""
    db = tmp_path / f"source-{name}.db"
    await fill(db, n)
    async with sqlite(db) as backend:
        await export_graph(backend, tmp_path / name)
    return tmp_path / name


def read_lines(path: Path) -> list[bytes]:
    data = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
    return data.split(b"\n")[:-1]


def write_lines(path: Path, lines: list[bytes], *, final_newline: bool = True) -> Path:
    path.write_bytes(b"\n".join(lines) + (b"\n" if final_newline else b""))
    return path


def record_section(path: Path) -> list[bytes]:
    return read_lines(path)[1:-1]


def trailer(path: Path) -> dict[str, object]:
    out: dict[str, object] = orjson.loads(read_lines(path)[-1])
    return out
