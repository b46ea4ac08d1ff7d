"""Recall hands its caller the neighbourhoods it read whole, and only those."""

from __future__ import annotations

from pathlib import Path

from memorygraph.backends.base import Neighbour
from memorygraph.config import BackendConfig
from memorygraph.search.recall import LINKS_PER_MATCH
from memorygraph.store import MemoryStore


async def test_recall_reports_the_neighbourhoods_it_read_whole(tmp_path: Path) -> None:
    async with MemoryStore.open(BackendConfig("sqlite", path=tmp_path / "m.db")) as store:
        quiet = await store.remember(type="problem", title="walrus quiet")
        busy = await store.remember(type="problem", title="walrus busy")
        alone = await store.remember(type="problem", title="walrus alone")
        fix = await store.remember(type="solution", title="a fix")
        await store.relate(fix.id, quiet.id, "SOLVES")
        for i in range(LINKS_PER_MATCH):
            other = await store.remember(type="general", title=f"note {i}")
            await store.relate(other.id, busy.id, "RELATED_TO")
        whole: dict[str, list[Neighbour]] = {}
        hits = await store.recall("walrus", whole_neighbourhoods=whole)
        assert {quiet.id, busy.id, alone.id} <= {h.memory.id for h in hits}
        # Read whole: fewer than the recall's limit, so every neighbour.
        assert set(whole) == {quiet.id, alone.id}
        for memory_id, near in whole.items():
            assert near == await store.neighbours(memory_id)
        assert [n.memory.id for n in whole[quiet.id]] == [fix.id]
        assert whole[alone.id] == []
        # Without the dict, the same ranking.
        assert [h.memory.id for h in await store.recall("walrus")] == [h.memory.id for h in hits]
