"""Verification finds every kind of difference, by id and digest, on real stores."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from memorygraph.backends.base import Backend
from memorygraph.backends.registry import create_backend
from memorygraph.config import BackendConfig
from memorygraph.migration.digest_log import DigestLog
from memorygraph.migration.models import VerifyMode
from memorygraph.migration.verify import verify
from memorygraph.models import Memory
from tests.migration.helpers import fill


@pytest.fixture
async def pair(tmp_path: Path):  # type: ignore[no-untyped-def]
    a = BackendConfig("sqlite", path=tmp_path / "a.db")
    b = BackendConfig("sqlite", path=tmp_path / "b.db")
    await fill(a, n=30)
    await fill(b, n=30)
    async with create_backend(a) as source, create_backend(b) as target:
        yield source, target


async def test_matching_data_passes(pair: tuple[Backend, Backend]) -> None:
    result, verified = await verify(*pair)
    assert result.valid and result.mismatch_total == 0
    assert verified == {"memory": 43, "relationship": 72}
    assert result.checked == result.passed == 115


async def test_missing_memory(pair: tuple[Backend, Backend]) -> None:
    source, target = pair
    await target.delete_memories(["mem-00000007"])
    result, _ = await verify(source, target)
    problems = {(m.kind, m.id, m.problem) for m in result.mismatches}
    assert ("memory", "mem-00000007", "missing") in problems
    assert ("relationship", "rel-00000014", "missing") in problems  # its edges went too
    assert not result.valid


async def test_changed_field_in_one_memory(pair: tuple[Backend, Backend]) -> None:
    source, target = pair
    m = await target.get_memory("mem-00000004")
    assert m is not None
    await target.upsert_memories([m.changed(importance=0.123)])
    result, _ = await verify(source, target, compare_type_counts=False)
    assert [(x.id, x.problem, x.detail) for x in result.mismatches] == [
        ("mem-00000004", "changed", "fields differ: importance")
    ]


async def test_missing_relationship_and_changed_end(pair: tuple[Backend, Backend]) -> None:
    source, target = pair
    await target.delete_relationships(["rel-00000003"])
    r = await target.get_relationship("rel-00000005")
    assert r is not None
    await target.upsert_relationships([r.changed(to_id="mem-00000029")])
    result, _ = await verify(source, target)
    got = {(x.id, x.problem) for x in result.mismatches}
    assert ("rel-00000003", "missing") in got
    assert ("rel-00000005", "changed") in got
    detail = next(x.detail for x in result.mismatches if x.id == "rel-00000005")
    assert "to_id" in detail


async def test_mismatched_counts_per_type(pair: tuple[Backend, Backend]) -> None:
    source, target = pair
    m = await target.get_memory("mem-00000001")
    assert m is not None
    await target.upsert_memories([m.changed(id="extra")])
    result, _ = await verify(source, target)
    assert [(x.problem, x.id) for x in result.mismatches] == [("count", m.type.value)]
    lenient, _ = await verify(source, target, compare_type_counts=False)
    assert lenient.valid


async def test_sample_mode_checks_a_fraction(pair: tuple[Backend, Backend]) -> None:
    result, _ = await verify(*pair, mode=VerifyMode.SAMPLE, sample_every=10)
    assert result.valid
    assert result.checked == 5 + 8  # every tenth of 43 memories and 72 relationships


async def test_records_kept_on_purpose_are_counted_not_flagged(
    pair: tuple[Backend, Backend],
) -> None:
    source, target = pair
    m = await target.get_memory("mem-00000004")
    assert m is not None
    await target.upsert_memories([m.changed(title="the target's own version")])

    def kept(kind: str, ids: object) -> set[str]:
        return {"mem-00000004"} if kind == "memory" else set()

    result, _ = await verify(source, target, kept=kept)
    assert result.valid and result.kept_differing == 1
    strict, _ = await verify(source, target)
    assert not strict.valid


async def test_two_sqlite_stores_holding_the_same_records_compare_wholesale(
    pair: tuple[Backend, Backend],
) -> None:
    source, target = pair
    assert await target.matches_store(source, deletions=True) == {
        "memory": 43,
        "relationship": 72,
    }


def _edit(config: BackendConfig, sql: str) -> None:
    assert config.path is not None
    with sqlite3.connect(config.path) as conn:
        assert conn.execute(sql).rowcount == 1


@pytest.mark.parametrize("change", ["doc", "type", "ends", "extra", "tombstone"])
async def test_any_difference_leaves_the_comparison_to_each_record(
    pair: tuple[Backend, Backend], change: str
) -> None:
    source, target = pair
    if change == "doc":  # the same values, other bytes
        _edit(
            target.config,
            "UPDATE memories SET doc = replace(doc, '\"importance\":', '\"importance\": ') "
            "WHERE id = 'mem-00000004'",
        )
    elif change == "type":
        _edit(
            target.config,
            "UPDATE memories SET type = CASE type WHEN 'task' THEN 'general' ELSE 'task' END "
            "WHERE id = 'mem-00000005'",
        )
    elif change == "ends":
        _edit(
            target.config,
            "UPDATE relationships SET to_id = CASE to_id WHEN 'mem-00000001' "
            "THEN 'mem-00000002' ELSE 'mem-00000001' END WHERE id = 'rel-00000003'",
        )
    elif change == "extra":
        await target.upsert_memories([Memory(id="only-here", type="task", title="extra")])
    else:  # the source says it deleted a memory the target holds
        _edit(
            source.config,
            "INSERT INTO tombstones(kind, id, deleted_at) "
            "VALUES ('memory', 'mem-00000002', '2025-01-01T00:00:00.000000+00:00')",
        )
        assert await target.matches_store(source, deletions=False) is not None
    assert await target.matches_store(source, deletions=True) is None


async def test_digests_recorded_from_the_source_stand_in_for_reading_it(
    pair: tuple[Backend, Backend], tmp_path: Path
) -> None:
    # The source's digests as a copy read them: the target is compared against these,
    # and every difference is still found.
    source, target = pair
    log = DigestLog(tmp_path)
    for kind in ("memory", "relationship"):
        async for page in source.iter_canonical(kind, batch_size=7):
            log.add(kind, page)
    try:
        # Record by record (no wholesale comparison), against the log, not the source:
        # a change the source took after the log was written is not seen.
        s = await source.get_memory("mem-00000009")
        assert s is not None
        await source.upsert_memories([s.changed(title="later")])
        result, verified = await verify(source, target, recorded=log, compare_type_counts=False)
        assert result.valid and verified == {"memory": 43, "relationship": 72}
        assert not (await verify(source, target, compare_type_counts=False))[0].valid
        m = await target.get_memory("mem-00000004")
        assert m is not None
        await target.upsert_memories([m.changed(importance=0.123)])
        await target.delete_relationships(["rel-00000003"])
        result, _ = await verify(source, target, recorded=log, compare_type_counts=False)
        got = {(x.id, x.problem) for x in result.mismatches}
        assert got >= {("mem-00000004", "changed"), ("rel-00000003", "missing")}
        assert not result.valid
    finally:
        log.close()
