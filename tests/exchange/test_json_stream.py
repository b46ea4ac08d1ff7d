"""The MCP server's JSON export is read as a stream: the same store in any layout or
read size, and a document broken half-way refused in one line with nothing written."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from memorygraph.errors import InvalidExportError
from memorygraph.exchange.importers import ConversionReport, import_file
from memorygraph.exchange.importers import mcp_json as mcp_json_importer
from memorygraph.exchange.importers.json_stream import (
    JsonStreamError,
    NotAnObjectError,
    StreamedArray,
    members,
)
from tests.exchange.helpers import sqlite
from tests.exchange.test_importers import _mcp_doc, _mcp_memory
from tests.faults.helpers import run_command

EXPORT_DATE = "2025-02-01T00:00:00+00:00"


def _large_doc(n: int = 1500) -> dict[str, Any]:
    """More records than one batch, with repeats, records without a time, odd values."""
    memories = [
        _mcp_memory(i % (n - 100), created_at=None if i % 7 == 0 else EXPORT_DATE) for i in range(n)
    ]
    memories[3]["context"]["additional_metadata"] = {
        "nan": float("nan"), "inf": float("-inf"), "big": 2**70, "pi": 3.141592653589793,
    }  # fmt: skip
    relationships = [
        {
            "from_memory_id": f"mem-{(i * 7) % n}",
            "to_memory_id": f"mem-{(i * 13 + 1) % n}",
            "type": ("SOLVES", "FIXES", "CAUSES")[i % 3],
            "properties": {"strength": (i % 10) / 10},
        }
        for i in range(2 * n)
    ]
    doc = _mcp_doc()
    doc.update(memories=memories, relationships=relationships, memory_count=n)
    return doc


def _layouts(doc: dict[str, Any]) -> dict[str, str]:
    """The same document written in the layouts a reader must all take."""
    head = {k: v for k, v in doc.items() if k not in ("memories", "relationships", "export_date")}
    relationships_first = {
        "relationships": doc["relationships"],
        **head,
        "memories": doc["memories"],
        "export_date": doc["export_date"],
    }
    return {
        "as the server writes it": json.dumps(doc, indent=2),
        "on one line": json.dumps(doc, separators=(",", ":")),
        "relationships first, export date last": json.dumps(relationships_first),
        "with a byte order mark": "\ufeff" + json.dumps(doc, ensure_ascii=False),
    }


async def _store(path: Path, db: Path, chunk: int | None) -> tuple[Any, dict[str, Any]]:
    report = ConversionReport(source_format="mcp-json", source=path)
    out = db.with_suffix(".jsonl")

    from memorygraph.exchange.export import ExportWriter

    writer = ExportWriter(out, source={"backend": "mcp-json"}, incremental=False)
    mcp_json_importer.convert(path, lambda: writer, report, chunk=chunk)
    writer.finish()
    async with sqlite(db) as target:
        await import_file(out, target)
        memories = {m.id: m.digest() async for m in target.iter_memories()}
        relationships = {r.id: r.digest() async for r in target.iter_relationships()}
    summary = report.to_dict()
    summary["notes"] = sorted(summary["notes"])
    return (memories, relationships), summary


async def test_every_layout_and_read_size_gives_the_same_store(tmp_path: Path) -> None:
    doc = _large_doc()
    stores = []
    for n, (layout, text) in enumerate(_layouts(doc).items()):
        path = tmp_path / f"{n}.json"
        path.write_text(text, encoding="utf-8")
        for chunk in (None, 7):
            store, report = await _store(path, tmp_path / f"{n}-{chunk}.db", chunk)
            stores.append((layout, chunk, store, report))
    (_, _, first, first_report) = stores[0]
    memories, relationships = first
    assert len(memories) == 1400 and len(relationships) > 1000
    assert first_report["unmapped"]["relationships whose ends are not memories of the file"] > 0
    assert first_report["unmapped"]["memories repeating an earlier id (first kept)"] == 100
    for layout, chunk, store, report in stores[1:]:
        assert store == first, (layout, chunk)
        assert report["unmapped"] == first_report["unmapped"], (layout, chunk)
        assert report["adjusted"] == first_report["adjusted"], (layout, chunk)


async def test_values_read_as_a_whole_read_gives_them(tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    text = json.dumps(_large_doc(), indent=1)
    path.write_text(text, encoding="utf-8")
    whole = json.loads(text, parse_constant=float)
    got: dict[str, Any] = {}
    for key, value in members(path, frozenset({"memories", "relationships"}), chunk=3):
        got[key] = list(value) if isinstance(value, StreamedArray) else value
    # NaN is not equal to itself: compare the text each gives back.
    assert json.dumps(got) == json.dumps(whole)
    assert got["memories"][3]["context"]["additional_metadata"]["big"] == 2**70


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": 1', "Expecting ',' delimiter: line 1 column 8 (char 7)"),
        ('{"a": [1, 2,]}', "Expecting value: line 1 column 13 (char 12)"),
        ('{"a": 1}\n x', "Extra data: line 2 column 2 (char 10)"),
        ("{'a': 1}", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
        ('\n\n{"a" 1}', "Expecting ':' delimiter: line 3 column 6 (char 7)"),
    ],
)
def test_faults_are_placed_as_a_whole_read_places_them(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(json.JSONDecodeError) as whole:
        json.loads(text)
    place = str(whole.value).rsplit(": ", 1)[1]
    for chunk in (1, 2, 1 << 20):
        with pytest.raises(JsonStreamError, match=re.escape(message)) as streamed:
            list(members(path, frozenset({"a"}), chunk=chunk))
        assert str(streamed.value).endswith(place)


def test_a_document_that_is_not_an_object_is_told_apart(tmp_path: Path) -> None:
    path = tmp_path / "list.json"
    path.write_text("[1, 2]")
    with pytest.raises(NotAnObjectError):
        list(members(path, frozenset()))


def _broken(tmp_path: Path) -> Path:
    """A large export cut inside a relationship, after thousands of good records."""
    text = json.dumps(_large_doc(), indent=2)
    cut = text.index('"relationships"') + 300_000
    path = tmp_path / "broken.json"
    path.write_text(text[:cut] + "}, ]}")
    return path


async def test_a_document_broken_half_way_writes_nothing(tmp_path: Path) -> None:
    path = _broken(tmp_path)
    async with sqlite(tmp_path / "t.db") as target:
        await target.upsert_memories([_existing()])
        with pytest.raises(InvalidExportError) as caught:
            await import_file(path, target, format="mcp-json")
        assert await target.count_memories() == 1
        assert await target.count_relationships() == 0
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path} is not valid JSON (")
    assert message.endswith("); is it an MCP JSON export?")
    assert not list(tmp_path.glob("*.partial")) and not list(tmp_path.glob(".*.partial"))


def test_the_command_refuses_a_broken_document_in_one_line(tmp_path: Path) -> None:
    path = _broken(tmp_path)
    db = tmp_path / "t.db"
    done = run_command("import", path, "--format", "mcp-json", "--backend", "sqlite", "--path", db)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "is not valid JSON" in lines[0], done.stderr
    assert "Traceback" not in done.stderr


def _existing() -> Any:
    from memorygraph.models import Memory, MemoryType

    return Memory(id="kept", type=MemoryType.GENERAL, title="held before", content="x")
