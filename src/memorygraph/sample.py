"""A deterministic sample memory graph, for the demo, benchmarks and tests.

`sample_memories(n)` and `sample_relationships(n)` stream records so that a
graph of any size can be written in constant memory; the same seed gives the
same graph byte for byte.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from memorygraph.models import (
    Memory,
    MemoryContext,
    MemoryType,
    Relationship,
    RelationshipType,
)

EPOCH = datetime(2025, 1, 6, 9, 30, 0, 250000, tzinfo=UTC)

_TOPICS = ["redis", "postgres", "pytest", "docker", "kafka", "react", "rust", "terraform"]
_VERBS = ["timeout", "flaky test", "memory leak", "slow query", "race", "upgrade", "deadlock"]
_LANGS = ["python", "typescript", "go", "rust", "sql"]


def memory_id(i: int) -> str:
    return f"mem-{i:08d}"


def sample_memories(n: int, seed: int = 7) -> Iterator[Memory]:
    """`n` varied memories with ids mem-00000000…, every field exercised."""
    rng = random.Random(seed)
    types = list(MemoryType)
    for i in range(n):
        topic, verb = rng.choice(_TOPICS), rng.choice(_VERBS)
        created = EPOCH + timedelta(minutes=i, microseconds=rng.randrange(1_000_000))
        yield Memory(
            id=memory_id(i),
            type=types[i % len(types)],
            title=f"{topic} {verb} #{i}",
            content=f"When {topic} hits a {verb}, check the logs first. Case {i}: "
            + "détails ünïcode ✓ " * rng.randrange(1, 4),
            summary=f"{topic} {verb}" if i % 3 else None,
            tags=[topic, verb.replace(" ", "-")],
            importance=round(rng.random(), 3),
            confidence=round(rng.random(), 3),
            effectiveness=round(rng.random(), 3) if i % 2 else None,
            usage_count=rng.randrange(50),
            created_at=created,
            updated_at=created + timedelta(hours=rng.randrange(48)),
            context=MemoryContext(
                project_path=f"/home/dev/{topic}-service",
                files_involved=[f"src/{topic}/client.py"],
                languages=[rng.choice(_LANGS)],
                git_branch="main",
                metadata={"ticket": f"OPS-{i}", "scores": [1, 2.5, None], "nested": {"ok": True}},
            )
            if i % 4 != 3
            else None,
        )


def sample_relationships(n: int, seed: int = 7) -> Iterator[Relationship]:
    """`2n` relationships among the `n` sample memories (none dangling), ids rel-…"""
    rng = random.Random(seed + 1)
    types = list(RelationshipType)
    for j in range(2 * n if n > 1 else 0):
        a = j // 2
        b = (a + 1 + rng.randrange(n - 1)) % n
        created = EPOCH + timedelta(minutes=a, seconds=30 + j % 2)
        yield Relationship(
            id=f"rel-{j:08d}",
            from_id=memory_id(a),
            to_id=memory_id(b),
            type=types[j % len(types)],
            strength=round(rng.random(), 3),
            confidence=round(rng.random(), 3),
            description=f"observed in case {a}" if j % 3 == 0 else None,
            evidence_count=rng.randrange(10),
            created_at=created,
            valid_from=created,
            recorded_at=created,
        )
