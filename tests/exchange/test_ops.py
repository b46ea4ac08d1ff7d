"""`memorygraph.ops.exchange`, the export and import both adapters call, on SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest

from memorygraph.config import BackendConfig
from memorygraph.errors import InvalidRecordError, UsageError
from memorygraph.ops import exchange
from memorygraph.ops.graph_inputs import ExportMemories
from tests.migration.helpers import fill, snapshot


def _sqlite(path: Path) -> BackendConfig:
    return BackendConfig("sqlite", path=path)


async def test_an_export_reports_each_phase_against_its_total(tmp_path: Path) -> None:
    source = _sqlite(tmp_path / "memory.db")
    await fill(source, n=40)
    seen: list[tuple[str, int, int | None]] = []
    result = await exchange.export_memories(
        source.read_only_copy(),
        path=tmp_path / "out.jsonl",
        progress=lambda phase, done, total: seen.append((phase, done, total)),
    )
    last = {phase: (done, total) for phase, done, total in seen}
    assert last == {
        "export memories": (result.memories, result.memories),
        "export relationships": (result.relationships, result.relationships),
    }
    assert result.bytes == (tmp_path / "out.jsonl").stat().st_size
    assert result.report["counts"] == {
        "memory": result.memories,
        "relationship": result.relationships,
    }


async def test_a_dry_run_into_a_store_not_yet_there_creates_nothing(tmp_path: Path) -> None:
    source = _sqlite(tmp_path / "memory.db")
    await fill(source, n=20)
    exported = await exchange.export_memories(source, path=tmp_path / "out.jsonl")
    target = tmp_path / "new.db"
    plan = await exchange.import_memories(
        _sqlite(target), path=tmp_path / "out.jsonl", dry_run=True
    )
    assert plan.would_write is True and plan.valid
    assert plan.plan.memories.inserted == exported.memories
    assert plan.report["conversion"] is None
    assert not target.exists()
    done = await exchange.import_memories(_sqlite(target), path=tmp_path / "out.jsonl")
    assert done.summary.memories.inserted == exported.memories
    assert await snapshot(_sqlite(target)) == await snapshot(source)


async def test_an_import_takes_a_file_or_a_graph(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no file to import") as missing:
        await exchange.import_memories(_sqlite(tmp_path / "m.db"))
    assert missing.value.field == "path"
    graph = BackendConfig("falkordb", uri="redis://127.0.0.1:1")
    with pytest.raises(UsageError, match="either a file or a graph"):
        await exchange.import_memories(_sqlite(tmp_path / "m.db"), path=tmp_path, graph=graph)
    assert not (tmp_path / "m.db").exists()


async def test_export_and_import_take_their_model_or_its_fields(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _sqlite(tmp_path / "source.db")
    await fill(source, n=5, tricky=False)
    monkeypatch.chdir(tmp_path)
    request = ExportMemories(path="a.jsonl", format="memorygraph")
    assert request.path == tmp_path.resolve() / "a.jsonl"
    by_model = await exchange.export_memories(source, request)
    by_fields = await exchange.export_memories(source, path=tmp_path / "b.jsonl")
    assert by_model.digest == by_fields.digest
    with pytest.raises(InvalidRecordError, match="path"):
        await exchange.export_memories(source, path="  ")
    with pytest.raises(InvalidRecordError, match="formt is not a parameter"):
        await exchange.import_memories(source, path=tmp_path / "a.jsonl", formt="auto")
