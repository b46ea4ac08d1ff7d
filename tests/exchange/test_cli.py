"""The export/import/validate commands: parse, call the library, format."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click
import orjson
import pytest
from click.testing import CliRunner, Result

from memorygraph.cli.exchange import register
from memorygraph.errors import InvalidExportError
from tests.exchange.helpers import fill, read_lines, sqlite, write_lines


async def _count(path: Path) -> int:
    async with sqlite(path) as backend:
        return await backend.count_memories()


@pytest.fixture
def cli() -> click.Group:
    group = click.Group("memorygraph")
    register(group)
    return group


def invoke(cli: click.Group, *args: str | Path) -> Result:
    env = {"MEMORY_BACKEND": "sqlite", "MEMORY_SQLITE_PATH": "/nonexistent/never-used.db"}
    return CliRunner().invoke(cli, [str(a) for a in args], env=env)


@pytest.mark.parametrize("command", ["export", "import", "validate"])
def test_help_has_examples(cli: click.Group, command: str) -> None:
    result = invoke(cli, command, "--help")
    assert result.exit_code == 0
    assert "Examples:" in result.output and f"memorygraph {command}" in result.output


def test_export_validate_import_as_json(cli: click.Group, tmp_path: Path) -> None:
    asyncio.run(fill(tmp_path / "src.db", 8))
    out = tmp_path / "g.jsonl.gz"
    result = invoke(cli, "export", out, "--path", tmp_path / "src.db", "--json")
    assert result.exit_code == 0, result.output
    exported = orjson.loads(result.output)
    assert exported["counts"] == {"memory": 8, "relationship": 16} and out.exists()

    result = invoke(cli, "validate", out, "--json")
    assert result.exit_code == 0 and orjson.loads(result.output)["valid"] is True

    result = invoke(cli, "import", out, "--path", tmp_path / "dst.db", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    plan = orjson.loads(result.output)
    assert plan["would_write"] is True and plan["memory"]["insert"] == 8
    assert asyncio.run(_count(tmp_path / "dst.db")) == 0

    result = invoke(cli, "import", out, "--path", tmp_path / "dst.db", "--json")
    assert result.exit_code == 0, result.output
    done = orjson.loads(result.output)
    assert done["memory"]["inserted"] == 8 and done["relationship"]["inserted"] == 16
    assert done["digest"] == exported["digest"]

    result = invoke(cli, "import", out, "--path", tmp_path / "dst.db")
    assert result.exit_code == 0
    assert "memories: 0 inserted, 0 updated, 8 unchanged" in result.output


def test_a_corrupt_export_exits_2_from_validate_import_and_dry_run(
    cli: click.Group, tmp_path: Path
) -> None:
    asyncio.run(fill(tmp_path / "src.db", 3))
    out = tmp_path / "g.jsonl"
    assert invoke(cli, "export", out, "--path", tmp_path / "src.db").exit_code == 0
    lines = read_lines(out)
    write_lines(out, [*lines[:2], b"{broken", *lines[3:]])
    result = invoke(cli, "validate", out)
    assert result.exit_code == 2
    assert "line 3: invalid JSON" in result.output

    result = invoke(cli, "import", out, "--path", tmp_path / "dst.db")
    assert isinstance(result.exception, InvalidExportError)
    assert result.exception.exit_code == 2 and "line 3" in str(result.exception)
    assert asyncio.run(_count(tmp_path / "dst.db")) == 0

    result = invoke(cli, "import", out, "--path", tmp_path / "dst.db", "--dry-run")
    assert result.exit_code == 2 and "would write NOTHING" in result.output


def test_since_needs_a_time_zone(cli: click.Group, tmp_path: Path) -> None:
    result = invoke(cli, "export", tmp_path / "x.jsonl", "--since", "2025-01-01T00:00:00")
    assert result.exit_code == 2 and "no time zone" in result.output


def test_import_other_format_lists_what_was_not_mapped(cli: click.Group, tmp_path: Path) -> None:
    src = tmp_path / "memory.jsonl"
    src.write_bytes(
        b'{"type":"entity","name":"A","entityType":"person","observations":["x"]}\n'
        b'{"type":"relation","from":"A","to":"Nobody","relationType":"knows"}\n'
    )
    result = invoke(cli, "import", src, "--path", tmp_path / "dst.db", "--format", "memory-jsonl")
    assert result.exit_code == 0, result.output
    assert "converted 1 memories and 0 relationships from memory-jsonl" in result.output
    assert "not imported: 1 × relations naming an entity that is not in the file" in result.output
