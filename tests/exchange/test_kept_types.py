"""Types an importer maps onto memorygraph's come back from the exporter of the same format,
unless the record's type was changed after the import."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from memorygraph.exchange.exporters import export_other
from memorygraph.exchange.importers import import_file
from memorygraph.exchange.importers.memory_jsonl import entity_id
from memorygraph.models import MemoryType, RelationshipType
from tests.exchange.helpers import sqlite


def _mcp_json_doc() -> dict[str, Any]:
    def memory(i: int, mtype: str) -> dict[str, Any]:
        return {"id": f"m{i}", "type": mtype, "title": f"T{i}", "content": f"c{i}",
                "created_at": "2025-01-01T00:00:00+00:00"}  # fmt: skip

    def relation(start: int, end: int, rtype: str, description: str | None) -> dict[str, Any]:
        props = {"strength": 0.5, "created_at": "2025-01-01T00:00:00+00:00"}
        if description is not None:
            props["description"] = description
        return {"from_memory_id": f"m{start}", "to_memory_id": f"m{end}", "type": rtype,
                "properties": props}  # fmt: skip

    return {
        "format_version": "2.0", "export_date": "2025-02-01T00:00:00+00:00",
        "memories": [memory(1, "decision"), memory(2, "Solution"), memory(3, "problem")],
        "relationships": [
            relation(1, 2, "FIXES", "because\nit does"),
            relation(2, 3, "works with", None),
            relation(3, 1, "SOLVES", "plain"),
            relation(1, 3, "depends-on", 'source type: "looks like a kept type"'),
            relation(3, 2, "SOLVES", 'source type: "SOLVES"'),
        ],
    }  # fmt: skip


async def test_mcp_json_types_and_descriptions_come_back(tmp_path: Path) -> None:
    doc = _mcp_json_doc()
    src = tmp_path / "in.json"
    src.write_bytes(orjson.dumps(doc))
    out = tmp_path / "out.json"
    async with sqlite(tmp_path / "t.db") as store:
        await import_file(src, store, format="mcp-json")
        m1 = await store.get_memory("m1")
        assert m1 is not None and m1.type is MemoryType.GENERAL
        report = await export_other(store, out, format="mcp-json")
    back = orjson.loads(out.read_bytes())
    assert {m["id"]: m["type"] for m in back["memories"]} == {
        m["id"]: m["type"] for m in doc["memories"]
    }
    for memory in back["memories"]:
        assert "source_type" not in memory.get("context", {}).get("additional_metadata", {})

    def edges(document: dict[str, Any]) -> set[tuple[str, str, str, str | None]]:
        return {
            (r["from_memory_id"], r["type"], r["to_memory_id"], r["properties"].get("description"))
            for r in document["relationships"]
        }

    assert edges(back) == edges(doc)
    foreign = "written with their source's type, which is not one the server defines"
    assert report.lost[f"memories {foreign} (its import may refuse them)"] == 2
    assert report.lost[f"relationships {foreign} (its import may refuse them)"] == 3
    assert report.lost["relationships with description, which the server's import does not read"]

    again = tmp_path / "again.json"
    async with sqlite(tmp_path / "again.db") as store:
        await import_file(out, store, format="mcp-json")
        await export_other(store, again, format="mcp-json")
    assert edges(orjson.loads(again.read_bytes())) == edges(doc)


async def test_a_type_changed_after_the_import_is_written_as_changed(tmp_path: Path) -> None:
    src = tmp_path / "memory.jsonl"
    src.write_bytes(
        b'{"type":"entity","name":"A","entityType":"person","observations":["a"]}\n'
        b'{"type":"entity","name":"B","entityType":"Technology","observations":["b"]}\n'
        b'{"type":"relation","from":"A","to":"B","relationType":"relates_to"}\n'
        b'{"type":"relation","from":"B","to":"A","relationType":"works with"}'
    )
    out = tmp_path / "out.jsonl"
    async with sqlite(tmp_path / "t.db") as store:
        await import_file(src, store, format="memory-jsonl")
        await export_other(store, out, format="memory-jsonl")
        assert out.read_bytes() == src.read_bytes() + b"\n"

        a, b = await store.get_memory(entity_id("A")), await store.get_memory(entity_id("B"))
        assert a is not None and b is not None
        await store.upsert_memories(
            [a.changed(type=MemoryType.PROBLEM), b.changed(type=MemoryType.TECHNOLOGY)],
        )
        [ab] = [
            n.relationship for n in await store.neighbours(a.id) if n.relationship.from_id == a.id
        ]
        await store.upsert_relationships([ab.changed(type=RelationshipType.SOLVES)])
        await export_other(store, out, format="memory-jsonl")
    lines = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert [(e.get("entityType"), e.get("relationType")) for e in lines] == [
        ("problem", None),  # changed: the kept "person" no longer fits
        ("Technology", None),  # unchanged: still the kept spelling
        (None, "SOLVES"),
        (None, "works with"),
    ]
