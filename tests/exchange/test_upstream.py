"""The bridge to the memorygraph MCP server 0.12.4, tested against that server itself.

Its stores are written by its own code (tests/_upstream/driver.py, in its own
virtualenv); files memorygraph writes for it are read back by its own import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest

from memorygraph.exchange.exporters import export_other
from memorygraph.exchange.importers import import_file
from memorygraph.exchange.importers._common import (
    ADJUST_BIG_INT,
    ADJUST_LONG_ID,
    ADJUST_NAIVE_TIME,
    ADJUST_NUL,
    ADJUST_VISIBILITY,
    derived_relationship_id,
    memory_id,
)
from memorygraph.models import Memory, MemoryContext, MemoryType, Relationship, RelationshipType
from tests._upstream.venv import Upstream
from tests.exchange.helpers import sqlite

LONG_ID = "L" * 600
BIG = 2**70
U64 = 2**64 - 1


def _spec() -> dict[str, Any]:
    return {
        "memories": [
            {
                "id": "m1", "type": "solution", "title": "Use Redis", "content": "cache it",
                "tags": ["redis"], "importance": 0.7,
                "context": {
                    "project_path": "/app", "languages": ["python"],
                    "additional_metadata": {"a\x00b": 1, "big": BIG, "u64": U64, "ok": [1, 2]},
                },
            },
            {
                "id": "m2", "type": "problem", "title": "Slow page", "content": "p99 is 3s",
                "created_at": "2024-05-01T10:00:00",  # no zone
            },
            {"id": LONG_ID, "type": "general", "title": "Long id", "content": "x"},
        ],
        "relationships": [
            {"from": "m1", "to": "m2", "type": "SOLVES", "properties": {"strength": 0.9}},
            {"from": "m2", "to": "m1", "type": "RELATED_TO"},
            {"from": "m1", "to": LONG_ID, "type": "RELATED_TO"},
            {"from": "m1", "to": "m2", "type": "SOLVES", "properties": {"strength": 0.2}},
        ],
        "invalidate": [[3, 0]],  # the second SOLVES edge, superseded by the first
    }  # fmt: skip


@pytest.fixture(scope="module")
def upstream_store(upstream: Upstream, tmp_path_factory: pytest.TempPathFactory) -> Any:
    where = tmp_path_factory.mktemp("upstream-store")
    db, doc = where / "memory.db", where / "export.json"
    built = upstream.run("build", db, doc, stdin=_spec())
    return db, doc, built["relationship_ids"]


def _check_values(memories: dict[str, Memory]) -> None:
    m1, m2 = memories["m1"], memories["m2"]
    assert m1.context is not None
    assert m1.context.metadata == {
        "a\\u0000b": 1, "big": str(BIG), "u64": str(U64), "ok": [1, 2]
    }  # fmt: skip
    assert m1.context.project_path == "/app" and m1.context.languages == ["python"]
    assert m1.title == "Use Redis" and m1.importance == 0.7 and m1.tags == ["redis"]
    assert m2.created_at.isoformat() == "2024-05-01T10:00:00+00:00"
    long = memories[memory_id(LONG_ID)]
    assert long.context is not None and long.context.metadata["source_id"] == LONG_ID


async def _all(backend: Any) -> tuple[dict[str, Memory], dict[str, Relationship]]:
    memories = {m.id: m async for m in backend.iter_memories()}
    relationships = {r.id: r async for r in backend.iter_relationships()}
    return memories, relationships


async def test_upstream_sqlite_store_imports_with_every_adjustment_reported(
    upstream_store: Any, tmp_path: Path
) -> None:
    db, _, upstream_ids = upstream_store
    async with sqlite(tmp_path / "t.db") as target:
        summary = await import_file(db, target)
        conv = summary.conversion
        assert conv is not None and conv["unmapped"] == {}
        assert conv["adjusted"][ADJUST_NAIVE_TIME] == 1
        assert conv["adjusted"][ADJUST_BIG_INT] == 2
        assert conv["adjusted"][ADJUST_NUL] == 1
        assert conv["adjusted"][ADJUST_LONG_ID] == 1
        assert summary.memories.inserted == 3 and summary.relationships.inserted == 4
        memories, relationships = await _all(target)
        _check_values(memories)
        # The edge the server's JSON export carries (still valid) gets the plain derived id.
        current = relationships[derived_relationship_id("m1", "SOLVES", "m2")]
        assert current.strength == 0.9 and current.valid_until is None
        superseded = relationships[derived_relationship_id("m1", "SOLVES", "m2", upstream_ids[3])]
        assert superseded.strength == 0.2 and superseded.valid_until is not None
        assert superseded.invalidated_by == current.id
        assert relationships[derived_relationship_id("m1", "RELATED_TO", LONG_ID)].to_id == (
            memory_id(LONG_ID)
        )


async def test_upstream_json_export_imports_with_upstream_defaults_reported(
    upstream_store: Any, tmp_path: Path
) -> None:
    _, doc, _ = upstream_store
    async with sqlite(tmp_path / "t.db") as target:
        summary = await import_file(doc, target)
        conv = summary.conversion
        assert conv is not None and conv["unmapped"] == {}
        assert conv["adjusted"][ADJUST_VISIBILITY] == 1  # the export leaves it out
        assert conv["adjusted"][ADJUST_BIG_INT] == 2 and conv["adjusted"][ADJUST_NUL] == 1
        assert conv["adjusted"][ADJUST_NAIVE_TIME] == 1
        memories, relationships = await _all(target)
        _check_values(memories)
        context = memories["m1"].context
        assert context is not None and context.visibility.value == "project"
        # The export keeps one edge per (from, type, to) and none that was superseded.
        assert len(relationships) == 3


async def test_importing_both_upstream_files_gives_each_relationship_once(
    upstream_store: Any, tmp_path: Path
) -> None:
    db, doc, _ = upstream_store
    async with sqlite(tmp_path / "t.db") as target:
        await import_file(doc, target)
        again = await import_file(db, target)
        # The same memories again, none new. The database keeps a context timestamp
        # that upstream's JSON export leaves out, so m1 may be updated with it.
        assert again.memories.inserted == 0 and again.memories.updated <= 1
        assert again.memories.unchanged + again.memories.older + again.memories.updated == 3
        assert again.relationships.inserted == 1
        assert again.relationships.unchanged + again.relationships.older == 3
        assert await target.count_relationships() == 4


def _graph() -> tuple[list[Memory], list[Relationship]]:
    memories = [
        Memory(
            id=f"mem-{i}",
            type=list(MemoryType)[i % len(MemoryType)],
            title=f"Memory {i} 🧠",
            content=f"line one of {i}\nline two",
            summary=f"summary {i}" if i % 2 else None,
            tags=["redis", f"t{i}"],
            importance=0.25 + i / 100,
            usage_count=i,
            context=MemoryContext(
                project_path="/work/app",
                languages=["python"],
                git_branch="main",
                visibility="team",
                metadata={"n": i, "nested": {"deep": [1, "two"]}},
            )
            if i % 3
            else None,
        )
        for i in range(12)
    ]
    relationships = [
        Relationship(
            id=f"rel-{i}",
            from_id=f"mem-{i}",
            to_id=f"mem-{i + 1}",
            type=list(RelationshipType)[i],
            strength=0.5 + i / 40,
            context=f"because {i}",
            evidence_count=i,
            description="why" if i % 2 else None,
        )
        for i in range(11)
    ]
    return memories, relationships


async def test_mcp_json_export_is_imported_by_upstream_with_everything(
    upstream: Upstream, tmp_path: Path
) -> None:
    memories, relationships = _graph()
    out = tmp_path / "for-upstream.json"
    async with sqlite(tmp_path / "ours.db") as ours:
        await ours.upsert_memories(memories)
        await ours.upsert_relationships(relationships)
        report = await export_other(ours, out, format="mcp-json")
    assert (report.memories, report.relationships) == (12, 11)
    assert report.lost["relationships with description, which the server's import does not read"]
    theirs = upstream.run("import", out, tmp_path / "upstream.db")
    assert theirs["counts"] == {
        "imported_memories": 12, "imported_relationships": 11,
        "skipped_memories": 0, "skipped_relationships": 0,
    }  # fmt: skip
    for memory in memories:
        got = theirs["memories"][memory.id]
        assert (got["title"], got["content"], got["type"]) == (
            memory.title, memory.content, memory.type.value
        )  # fmt: skip
        assert (got["summary"], got["tags"], got["importance"]) == (
            memory.summary, memory.tags, memory.importance
        )  # fmt: skip
        if memory.context is None:
            assert got["context"] is None
        else:
            assert got["context"]["additional_metadata"] == memory.context.metadata
            assert got["context"]["visibility"] == "team"
            assert got["context"]["git_branch"] == "main"
    edges = {(e["from"], e["type"], e["to"]): e["properties"] for e in theirs["relationships"]}
    for rel in relationships:
        props = edges[(rel.from_id, rel.type.value, rel.to_id)]
        assert (props["strength"], props["context"], props["evidence_count"]) == (
            rel.strength, rel.context, rel.evidence_count
        )  # fmt: skip
    # memorygraph's own importer reads the file back without loss.
    async with sqlite(tmp_path / "back.db") as back:
        summary = await import_file(out, back, format="mcp-json")
        assert summary.conversion is not None and summary.conversion["unmapped"] == {}
        got_memories, got_relationships = await _all(back)
    assert {m.id: m.digest() for m in memories} == {k: m.digest() for k, m in got_memories.items()}
    assert {r.id: r.digest() for r in relationships} == {
        k: r.digest() for k, r in got_relationships.items()
    }


#: The JSONL lines of the reference MCP memory server (@modelcontextprotocol/server-memory):
#: its README's Entity and Relation, each written with a "type" discriminator, nothing else.
MEMORY_SERVER_LINE = {
    "oneOf": [
        {
            "type": "object",
            "properties": {
                "type": {"const": "entity"},
                "name": {"type": "string", "minLength": 1},
                "entityType": {"type": "string"},
                "observations": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["type", "name", "entityType", "observations"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {
                "type": {"const": "relation"},
                "from": {"type": "string"},
                "to": {"type": "string"},
                "relationType": {"type": "string"},
            },
            "required": ["type", "from", "to", "relationType"],
            "additionalProperties": False,
        },
    ]
}


async def test_memory_jsonl_export_meets_the_server_schema_and_reads_back(tmp_path: Path) -> None:
    memories, relationships = _graph()
    twin = memories[1].changed(id="mem-twin")  # the same title twice: names must differ
    out = tmp_path / "memory.jsonl"
    async with sqlite(tmp_path / "ours.db") as ours:
        await ours.upsert_memories([*memories, twin])
        await ours.upsert_relationships(relationships)
        report = await export_other(ours, out, format="memory-jsonl")
    assert (report.memories, report.relationships) == (13, 11)
    assert report.lost["memories with tags, which the format cannot carry"] == 13
    lines = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    for line in lines:
        jsonschema.validate(line, MEMORY_SERVER_LINE)
    entities = [line for line in lines if line["type"] == "entity"]
    names = {e["name"] for e in entities}
    assert len(names) == 13
    assert all(r["from"] in names and r["to"] in names for r in lines if r["type"] == "relation")
    assert lines.index(entities[-1]) == len(entities) - 1  # entities before relations

    async with sqlite(tmp_path / "back.db") as back:
        summary = await import_file(out, back)
        assert summary.conversion is not None and summary.conversion["unmapped"] == {}
        got, got_relationships = await _all(back)
    assert sorted((m.title, m.content, m.type) for m in got.values()) == sorted(
        (e["name"], m.content, m.type)
        for e, m in zip(
            entities, sorted([*memories, twin], key=lambda m: (m.created_at, m.id)), strict=True
        )
    )
    by_id = {m.id: m.title for m in got.values()}
    assert sorted(
        (by_id[r.from_id], r.type, by_id[r.to_id]) for r in got_relationships.values()
    ) == (
        sorted(
            (names_of(entities, r.from_id, memories), r.type, names_of(entities, r.to_id, memories))
            for r in relationships
        )
    )


def names_of(entities: list[dict[str, Any]], memory_id: str, memories: list[Memory]) -> str:
    title = next(m.title for m in memories if m.id == memory_id)
    candidates = [e["name"] for e in entities if e["name"] in (title, f"{title} [{memory_id}]")]
    return candidates[-1] if f"{title} [{memory_id}]" in candidates else candidates[0]
