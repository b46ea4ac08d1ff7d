"""Importers on files written to the documented layouts, well-formed and not."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

from memorygraph.errors import InvalidExportError, UsageError
from memorygraph.exchange import validate_export
from memorygraph.exchange.importers import (
    convert_to_export,
    detect_format,
    import_file,
)
from memorygraph.exchange.importers._common import ID_NAMESPACE, derived_relationship_id
from memorygraph.exchange.importers.memory_jsonl import entity_id
from memorygraph.models import MemoryType, RelationshipType
from tests.exchange.helpers import export_sample, fill, sqlite

# --- the MCP server's JSON export ------------------------------------------------------


def _mcp_memory(i: int, **kw: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": f"mem-{i}",
        "type": "solution",
        "title": f"Title {i}",
        "content": f"Content {i} 🧠",
        "summary": None,
        "tags": ["redis", f"t{i}"],
        "importance": 0.7,
        "confidence": 0.9,
        "created_at": "2025-01-02T03:04:05.123456+00:00",
        "updated_at": "2025-01-03T03:04:05.654321",  # naive: the server used utcnow()
        "context": {
            "project_path": "/work/app",
            "files_involved": ["a.py"],
            "languages": ["python"],
            "frameworks": [],
            "technologies": ["redis"],
            "additional_metadata": {"ticket": 42, "nested": {"ok": True}},
        },
    }
    doc.update(kw)
    return doc


def _mcp_doc() -> dict[str, Any]:
    memories = [
        _mcp_memory(1),
        _mcp_memory(2, type="decision", context=None),  # not a memorygraph type
        _mcp_memory(3, title="", relationships={"solves": ["x"]}),  # extra field, no title
        _mcp_memory(4, created_at="yesterday"),  # cannot be mapped
        _mcp_memory(1, title="duplicate of 1"),
        "not an object",
    ]
    relationships = [
        {"from_memory_id": "mem-1", "to_memory_id": "mem-2", "type": "SOLVES",
         "properties": {"strength": 0.9, "confidence": 0.7, "context": "in prod",
                        "evidence_count": 3}},
        {"from_memory_id": "mem-2", "to_memory_id": "mem-3", "type": "FIXES",
         "properties": {"strength": 0.4}},
        {"from_memory_id": "mem-1", "to_memory_id": "mem-404", "type": "CAUSES",
         "properties": {}},
        {"from_memory_id": "mem-1", "to_memory_id": "mem-2", "type": "SOLVES",
         "properties": {"strength": 0.1}},  # same ends and type: same derived id
        {"to_memory_id": "mem-2", "type": "SOLVES"},
    ]  # fmt: skip
    return {
        "format_version": "2.0",
        "export_version": "0.12.4",
        "export_date": "2025-02-01T00:00:00+00:00",
        "backend_type": "sqlite",
        "memory_count": 6,
        "relationship_count": 5,
        "memories": memories,
        "relationships": relationships,
    }


async def test_mcp_json_import_maps_fields_and_reports_the_rest(tmp_path: Path) -> None:
    src = tmp_path / "export.json"
    src.write_bytes(orjson.dumps(_mcp_doc(), option=orjson.OPT_INDENT_2))
    assert detect_format(src) == "mcp-json"
    async with sqlite(tmp_path / "t.db") as target:
        summary = await import_file(src, target)
        assert summary.memories.inserted == 3 and summary.relationships.inserted == 2
        conv = summary.conversion
        assert conv is not None and conv["source_format"] == "mcp-json"
        assert conv["unmapped"]["memories that are not valid"] == 1
        assert conv["unmapped"]["memories repeating an earlier id (first kept)"] == 1
        assert conv["unmapped"]["memory entries that are not JSON objects"] == 1
        assert conv["unmapped"]["relationships whose ends are not memories of the file"] == 1
        assert conv["unmapped"]["relationships that are not valid"] == 1
        assert (
            conv["unmapped"]["relationships repeating an earlier one (same id or ends and type)"]
            == 1
        )
        assert conv["adjusted"]["timestamps without a time zone, read as UTC"] >= 3

        m1 = await target.get_memory("mem-1")
        assert m1 is not None and m1.context is not None
        assert m1.title == "Title 1" and m1.content == "Content 1 🧠"
        assert m1.context.project_path == "/work/app"
        assert m1.context.metadata == {"ticket": 42, "nested": {"ok": True}}
        assert m1.updated_at is not None and m1.updated_at.isoformat().endswith("+00:00")
        assert m1.created_at.microsecond == 123456
        m2 = await target.get_memory("mem-2")
        assert m2 is not None and m2.type is MemoryType.GENERAL
        assert m2.context is not None and m2.context.metadata["source_type"] == "decision"
        m3 = await target.get_memory("mem-3")
        assert m3 is not None and m3.title == "(untitled)"
        assert m3.context is not None
        assert m3.context.metadata["source_fields"] == {"relationships": {"solves": ["x"]}}

        rel_id = str(uuid.uuid5(ID_NAMESPACE, '["mcp-relationship","mem-1","SOLVES","mem-2"]'))
        rel = await target.get_relationship(rel_id)
        assert rel is not None and rel.strength == 0.9 and rel.evidence_count == 3
        assert rel.context == "in prod"
        assert rel.created_at.isoformat() == "2025-02-01T00:00:00+00:00"  # the export date
        fixes = [n.relationship for n in await target.neighbours("mem-3")]
        assert fixes[0].type is RelationshipType.RELATED_TO
        assert fixes[0].description == 'source type: "FIXES"'

        again = await import_file(src, target)  # idempotent: stable ids
        assert again.memories.unchanged == 3 and again.relationships.unchanged == 2
        assert again.memories.inserted == again.relationships.inserted == 0


def test_mcp_json_conversion_is_deterministic_and_valid(tmp_path: Path) -> None:
    src = tmp_path / "export.json"
    src.write_bytes(orjson.dumps(_mcp_doc()))
    a = convert_to_export(src, tmp_path / "a.jsonl")
    b = convert_to_export(src, tmp_path / "b.jsonl", format="mcp-json")
    assert validate_export(tmp_path / "a.jsonl").valid
    assert a.memories == 3 and a.to_dict()["unmapped_total"] == b.unmapped_total
    body = [x for x in (tmp_path / "a.jsonl").read_bytes().split(b"\n")[1:-2]]
    assert body == (tmp_path / "b.jsonl").read_bytes().split(b"\n")[1:-2]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"format_version": "2.0", "memories": [', "not valid JSON"),
        (b'{"format_version": "2.0", "memories": {}}', 'no "memories" list'),
        (b'[{"id": 1}]', 'no "memories" list'),
    ],
)
async def test_malformed_mcp_json_is_refused(tmp_path: Path, content: bytes, message: str) -> None:
    src = tmp_path / "bad.json"
    src.write_bytes(content)
    async with sqlite(tmp_path / "t.db") as target:
        with pytest.raises(InvalidExportError, match=message):
            await import_file(src, target, format="mcp-json")
        assert await target.count_memories() == 0
    assert not (tmp_path / "bad.json.partial").exists()


# --- the MCP server's SQLite database --------------------------------------------------

_SERVER_SCHEMA = """
CREATE TABLE nodes (id TEXT PRIMARY KEY, label TEXT NOT NULL, properties TEXT NOT NULL,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE relationships (id TEXT PRIMARY KEY, from_id TEXT NOT NULL, to_id TEXT NOT NULL,
    rel_type TEXT NOT NULL, properties TEXT NOT NULL,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, valid_from TIMESTAMP,
    valid_until TIMESTAMP, recorded_at TIMESTAMP, invalidated_by TEXT);
"""


def _server_db(path: Path) -> None:
    def node(i: int, **kw: Any) -> dict[str, Any]:
        props: dict[str, Any] = {
            "id": f"n{i}", "type": "problem", "title": f"Problem {i}", "content": "slow",
            "tags": ["perf"], "importance": 0.6, "confidence": 0.8, "usage_count": 2,
            "created_at": "2025-01-01T10:00:00.000001+00:00",
            "updated_at": "2025-01-01T11:00:00+00:00",
            "context_project_path": "/p", "context_languages": ["go"],
            "context_additional_metadata": '{"k": [1, 2]}',
            "context_timestamp": "2025-01-01T10:00:00",
        }  # fmt: skip
        props.update(kw)
        return props

    with sqlite3.connect(path) as conn:
        conn.executescript(_SERVER_SCHEMA)
        rows = [
            ("n1", "Memory", orjson.dumps(node(1)).decode()),
            ("n2", "Memory", orjson.dumps(node(2, type="fix", summary="s")).decode()),
            ("n3", "Memory", "{not json"),
            ("n4", "Entity", "{}"),
            ("n5", "Memory", orjson.dumps(node(5, importance=7)).decode()),
        ]
        conn.executemany("INSERT INTO nodes(id, label, properties) VALUES (?, ?, ?)", rows)
        rel_props = {
            "id": "e1", "strength": 0.8, "confidence": 0.6, "context": "when cold",
            "evidence_count": 4, "created_at": "2025-01-05T00:00:00.5+00:00",
            "last_validated": "2025-01-06T00:00:00+00:00",
            "valid_from": "2025-01-05T00:00:00+00:00",
            "recorded_at": "2025-01-05T00:00:01+00:00", "weight": 3,
        }  # fmt: skip
        conn.executemany(
            "INSERT INTO relationships(id, from_id, to_id, rel_type, properties, valid_from, "
            "valid_until, recorded_at, invalidated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                ("e1", "n2", "n1", "SOLVES", orjson.dumps(rel_props).decode(),
                 "2025-01-05T00:00:00+00:00", "2025-03-01T00:00:00+00:00",
                 "2025-01-05T00:00:01+00:00", "e2"),
                ("e2", "n1", "n3", "CAUSES", "{}", None, None, None, None),
                ("e3", "n1", "n2", "ANNOYS", "[]", None, None, None, None),
            ],
        )  # fmt: skip


async def test_mcp_sqlite_import_is_read_only_and_faithful(tmp_path: Path) -> None:
    src = tmp_path / "memory.db"
    _server_db(src)
    before = src.read_bytes()
    assert detect_format(src) == "mcp-sqlite"
    async with sqlite(tmp_path / "t.db") as target:
        summary = await import_file(src, target)
        conv = summary.conversion
        assert conv is not None
        assert summary.memories.inserted == 2 and summary.relationships.inserted == 1
        assert conv["unmapped"]["memory nodes whose properties are not JSON"] == 1
        assert conv["unmapped"]["nodes labelled 'Entity' (not memories)"] == 1
        assert conv["unmapped"]["memory nodes that are not valid"] == 1
        assert conv["unmapped"]["relationships whose properties are not a JSON object"] == 1
        assert conv["unmapped"]["relationships whose ends are not memories of the database"] == 1
        assert (
            conv["unmapped"][
                "relationship property 'weight' has no memorygraph field (value dropped)"
            ]
            == 1
        )
        n1 = await target.get_memory("n1")
        assert n1 is not None and n1.context is not None
        assert n1.context.languages == ["go"] and n1.context.metadata == {"k": [1, 2]}
        assert n1.context.timestamp is not None and n1.context.timestamp.tzinfo is not None
        assert n1.created_at.microsecond == 1 and n1.usage_count == 2
        # The server's JSON export has no relationship ids: both importers derive them.
        assert await target.get_relationship("e1") is None
        e1 = await target.get_relationship(derived_relationship_id("n2", "SOLVES", "n1"))
        assert e1 is not None
        assert (e1.from_id, e1.to_id, e1.type) == ("n2", "n1", RelationshipType.SOLVES)
        assert e1.valid_until is not None and e1.valid_until.month == 3  # the column wins
        assert e1.invalidated_by == derived_relationship_id("n1", "CAUSES", "n3")
        assert e1.evidence_count == 4
        assert e1.created_at.microsecond == 500000
    assert src.read_bytes() == before


@pytest.mark.parametrize("kind", ["no tables", "not sqlite", "ours"])
async def test_mcp_sqlite_refuses_other_databases(tmp_path: Path, kind: str) -> None:
    src = tmp_path / "x.db"
    if kind == "no tables":
        with sqlite3.connect(src) as conn:
            conn.execute("CREATE TABLE nodes(id TEXT)")
        message = "no table"
    elif kind == "not sqlite":
        src.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
        message = "cannot be read as SQLite|no table"
    else:
        await fill(src, 2)
        message = "is a memorygraph database"
    async with sqlite(tmp_path / "t.db") as target:
        with pytest.raises(InvalidExportError, match=message):
            await import_file(src, target, format="mcp-sqlite")
        assert await target.count_memories() == 0


# --- the reference memory server's JSONL -----------------------------------------------


def _jsonl(path: Path, objects: list[Any]) -> Path:
    path.write_bytes(
        b"\n".join(o if isinstance(o, bytes) else orjson.dumps(o) for o in objects) + b"\n"
    )
    return path


async def test_memory_jsonl_import(tmp_path: Path) -> None:
    src = _jsonl(
        tmp_path / "memory.jsonl",
        [
            {"type": "entity", "name": "Redis", "entityType": "technology",
             "observations": ["in-memory store", "used for caching"]},
            {"type": "entity", "name": "Alice", "entityType": "person",
             "observations": ["likes Go", "line one\nline two"]},
            {"type": "relation", "from": "Alice", "to": "Redis", "relationType": "works with"},
            {"type": "relation", "from": "Alice", "to": "Redis", "relationType": "admires"},
            {"type": "relation", "from": "Alice", "to": "Bob", "relationType": "knows"},
            {"type": "entity", "name": "Redis", "entityType": "technology",
             "observations": ["used for caching", "single threaded"]},
            b"{not json",
            {"type": "something"},
            {"type": "entity", "name": "", "entityType": "x", "observations": []},
            {"type": "relation", "from": "Alice", "to": "Redis", "relationType": "admires"},
        ],
    )  # fmt: skip
    assert detect_format(src) == "memory-jsonl"
    async with sqlite(tmp_path / "t.db") as target:
        summary = await import_file(src, target)
        conv = summary.conversion
        assert conv is not None
        assert summary.memories.inserted == 2 and summary.relationships.inserted == 2
        assert conv["unmapped"] == {
            "lines that are not JSON": 1,
            'lines that are neither "entity" nor "relation"': 1,
            "entities without a usable name": 1,
            "relations naming an entity that is not in the file": 1,
            "relations repeated in the file (first kept)": 1,
        }
        assert conv["adjusted"]["entities repeated in the file, merged into one"] == 1
        redis = await target.get_memory(entity_id("Redis"))
        assert redis is not None and redis.type is MemoryType.TECHNOLOGY
        assert redis.content == "in-memory store\nused for caching\nsingle threaded"
        alice = await target.get_memory(entity_id("Alice"))
        assert alice is not None and alice.type is MemoryType.GENERAL and alice.context
        assert alice.context.metadata["entity_type"] == "person"
        assert alice.context.metadata["observations"] == ["likes Go", "line one\nline two"]
        edges = {
            n.relationship.type: n.relationship.description
            for n in await target.neighbours(entity_id("Alice"))
        }
        assert edges == {
            RelationshipType.WORKS_WITH: 'source type: "works with"',
            RelationshipType.RELATED_TO: 'source type: "admires"',
        }
        again = await import_file(src, target)
        assert again.memories.unchanged == 2 and again.relationships.unchanged == 2


async def test_memory_jsonl_with_nothing_usable_is_refused(tmp_path: Path) -> None:
    src = _jsonl(tmp_path / "m.jsonl", [{"type": "relation", "from": "a", "to": "b"}])
    async with sqlite(tmp_path / "t.db") as target:
        plan = await import_file(src, target, dry_run=True)
        assert plan.conversion is not None and plan.conversion["unmapped_total"] == 1
        assert plan.memories.inserted == 0
    empty = _jsonl(tmp_path / "e.jsonl", [{"type": "entity", "name": "", "observations": []}])
    (tmp_path / "e2.jsonl").write_bytes(b"")
    with pytest.raises(UsageError, match="cannot tell the format"):
        detect_format(tmp_path / "e2.jsonl")
    report = convert_to_export(empty, tmp_path / "out.jsonl", format="memory-jsonl")
    assert report.memories == 0 and report.unmapped_total == 1


# --- detection -------------------------------------------------------------------------


async def test_detect_format_of_each_kind(tmp_path: Path) -> None:
    export = await export_sample(tmp_path, "e.jsonl.gz", n=2)
    assert detect_format(export) == "memorygraph"
    single_line = tmp_path / "one.json"
    single_line.write_bytes(orjson.dumps(_mcp_doc()))
    assert detect_format(single_line) == "mcp-json"
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    with pytest.raises(UsageError, match="name its format") as refused:
        detect_format(text)
    assert refused.value.field == "format"
    with pytest.raises(UsageError, match="unknown format"):
        convert_to_export(single_line, tmp_path / "o.jsonl", format="csv")
    with pytest.raises(UsageError, match="already a memorygraph export"):
        convert_to_export(export, tmp_path / "o.jsonl")


async def test_import_file_passes_memorygraph_exports_straight_through(tmp_path: Path) -> None:
    export = await export_sample(tmp_path, n=3)
    async with sqlite(tmp_path / "t.db") as target:
        summary = await import_file(export, target)
        assert summary.conversion is None and summary.memories.inserted == 3
