"""Tombstones in the export format (1.1): written by export, checked by validation,
applied by import (or kept with `apply_deletions=False`); 1.0 files still read."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import click
import orjson
import pytest

from memorygraph.cli.exchange import register
from memorygraph.exchange import export_graph, import_graph, validate_export
from tests.exchange.helpers import fill, sqlite
from tests.exchange.test_cli import invoke


@pytest.fixture
def cli() -> click.Group:
    group = click.Group("memorygraph")
    register(group)
    return group


async def _source_with_deletions(tmp_path: Path) -> tuple[Path, Path]:
    """A source that deleted one memory (and its edges) and one relationship, and a
    copy of it made before the deletions."""
    memories, relationships = await fill(tmp_path / "s.db", 10)
    async with sqlite(tmp_path / "s.db") as source:
        await export_graph(source, tmp_path / "full.jsonl")
    async with sqlite(tmp_path / "copy.db") as copy:
        await import_graph(tmp_path / "full.jsonl", copy)
    async with sqlite(tmp_path / "s.db") as source:
        assert await source.delete_memories([memories[0].id]) == 1
        lone = next(r for r in relationships if memories[0].id not in (r.from_id, r.to_id))
        assert await source.delete_relationships([lone.id]) == 1
        await export_graph(source, tmp_path / "after.jsonl")
    return tmp_path / "after.jsonl", tmp_path / "copy.db"


def _lines(path: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


async def test_export_writes_tombstones_and_import_applies_them(tmp_path: Path) -> None:
    path, copy = await _source_with_deletions(tmp_path)
    lines = _lines(path)
    tombstones = [line["tombstone"] for line in lines if line["kind"] == "tombstone"]
    kinds = sorted(t["kind"] for t in tombstones)  # type: ignore[index]
    assert kinds.count("memory") == 1 and kinds.count("relationship") >= 2
    assert lines[-1]["tombstones"] == len(tombstones)
    assert lines[0]["format_version"] == "1.1"
    report = validate_export(path)
    assert report.valid, report.problems
    assert report.tombstones == len(tombstones)

    async with sqlite(copy) as target:
        summary = await import_graph(path, target, skip_duplicates=False)
        assert summary.deleted["memory"] == 1
        assert summary.deleted["relationship"] == len(tombstones) - 1
        async with sqlite(tmp_path / "s.db") as source:
            assert await source.count_memories() == await target.count_memories()
            assert await source.count_relationships() == await target.count_relationships()


def test_import_keep_deletions_ignores_tombstones(tmp_path: Path, cli: click.Group) -> None:
    path, copy = asyncio.run(_source_with_deletions(tmp_path))

    async def counts() -> tuple[int, int]:
        async with sqlite(copy) as target:
            return await target.count_memories(), await target.count_relationships()

    before = asyncio.run(counts())
    result = invoke(cli, "import", path, "--keep-deletions", "--path", copy, "--json")
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.output)["deletions_kept"] >= 3
    assert asyncio.run(counts()) == before
    result = invoke(cli, "import", path, "--path", copy, "--json")
    assert result.exit_code == 0, result.output
    assert asyncio.run(counts()) != before


async def test_a_tombstone_line_changed_after_export_is_reported(tmp_path: Path) -> None:
    path, _ = await _source_with_deletions(tmp_path)
    raw = path.read_bytes().splitlines()
    at = next(i for i, line in enumerate(raw) if b'"kind":"tombstone"' in line)
    raw[at] = raw[at].replace(b'"kind":"memory"', b'"kind": "memory"', 1)
    raw[at] = raw[at].replace(b'"kind":"relationship"', b'"kind": "relationship"', 1)
    path.write_bytes(b"\n".join(raw) + b"\n")
    report = validate_export(path)
    assert [p.line for p in report.problems] == [at + 1]
    assert "not in canonical form" in report.problems[0].message


async def test_a_lost_tombstone_line_is_reported(tmp_path: Path) -> None:
    path, _ = await _source_with_deletions(tmp_path)
    raw = [line for line in path.read_bytes().splitlines() if b'"kind":"tombstone"' not in line]
    path.write_bytes(b"\n".join(raw) + b"\n")
    report = validate_export(path)
    assert any("tombstones but the file has 0" in p.message for p in report.problems)


async def test_a_version_1_0_file_still_imports(tmp_path: Path) -> None:
    await fill(tmp_path / "s.db", 5)
    async with sqlite(tmp_path / "s.db") as source:
        await export_graph(source, tmp_path / "new.jsonl")
    raw = tmp_path.joinpath("new.jsonl").read_bytes().splitlines()
    header = orjson.loads(raw[0])
    header["format_version"] = "1.0"
    raw[0] = orjson.dumps(header)
    trailer = orjson.loads(raw[-1])
    del trailer["tombstones"]
    trailer["header_digest"] = hashlib.sha256(raw[0]).hexdigest()
    raw[-1] = orjson.dumps(trailer)
    old = tmp_path / "old.jsonl"
    old.write_bytes(b"\n".join(raw) + b"\n")
    report = validate_export(old)
    assert report.valid, report.problems
    async with sqlite(tmp_path / "t.db") as target:
        summary = await import_graph(old, target)
        assert summary.memories.inserted == 5
    # In a 1.0 file a tombstone line is an unknown kind.
    raw.insert(-1, b'{"kind":"tombstone","tombstone":{}}')
    old.write_bytes(b"\n".join(raw) + b"\n")
    assert any("unknown kind 'tombstone'" in p.message for p in validate_export(old).problems)


async def test_the_dry_run_counts_the_deletions(tmp_path: Path) -> None:
    path, copy = await _source_with_deletions(tmp_path)
    async with sqlite(copy) as target:
        plan = await import_graph(path, target, dry_run=True)
        assert plan.deleted["memory"] == 1 and plan.deleted["relationship"] >= 1
        assert plan.to_dict()["deletions"] == plan.deleted
        kept = await import_graph(path, target, apply_deletions=False, dry_run=True)
        assert kept.deleted == {"memory": 0, "relationship": 0}
        assert await target.count_memories() == 10
