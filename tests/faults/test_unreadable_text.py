"""A record another program left unreadable in a SQLite store (bytes that are not
UTF-8, or a JSON escape of a lone surrogate) stops `export` and `migrate` with one
line that names the record by id, never quotes its text, and says what to do; the
command it prints clears the way."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from pathlib import Path

import pytest

from memorygraph.backends.registry import create_backend
from memorygraph.config import BackendConfig
from memorygraph.models import Memory, Relationship
from tests.faults.helpers import location_args, run_cli
from tests.migration.helpers import fill, snapshot

SECRET = "the launch codes are 0000"


async def _store(config: BackendConfig) -> None:
    await fill(config, n=40, tricky=False)
    async with create_backend(config) as backend:
        await backend.upsert_memories(
            [
                Memory(id="broken", type="general", title="t", content=SECRET),
                Memory(id="whole", type="general", title="u"),
            ]
        )
        await backend.upsert_relationships(
            [
                Relationship(
                    id="broken-edge",
                    from_id="whole",
                    to_id="broken",
                    type="RELATED_TO",
                    context=SECRET,
                )
            ]
        )


def _spoil(db: Path, table: str, record_id: str, how: str) -> None:
    """What another program might write: the secret's text made unreadable."""
    with sqlite3.connect(db) as conn:
        (doc,) = conn.execute(f"SELECT doc FROM {table} WHERE id = ?", (record_id,)).fetchone()
        assert SECRET in doc
        if how == "not utf-8":
            spoiled = doc.encode().replace(b"launch", b"l\xff\xfench")
            conn.execute(
                f"UPDATE {table} SET doc = CAST(? AS TEXT) WHERE id = ?", (spoiled, record_id)
            )
        else:  # a JSON escape of half a UTF-16 pair
            spoiled_text = doc.replace("launch", "l\\ud800nch")
            conn.execute(f"UPDATE {table} SET doc = ? WHERE id = ?", (spoiled_text, record_id))


def _commands(source: BackendConfig, tmp_path: Path) -> dict[str, list[str]]:
    migrate = [
        "migrate",
        *location_args("from", source),
        "--workdir",
        str(tmp_path / "work"),
    ]
    return {
        "export": [
            "export",
            str(tmp_path / "out.jsonl"),
            "--backend",
            "sqlite",
            "--path",
            str(source.path),
        ],
        "migrate": [*migrate, "--to", "sqlite", "--to-path", str(tmp_path / "target.db")],
        "migrate via export": [
            *migrate,
            "--to",
            "sqlite",
            "--to-path",
            str(tmp_path / "target2.db"),
            "--via-export",
        ],
    }


def _error_line(done_stderr: str) -> str:
    lines = [line for line in done_stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, done_stderr
    return lines[0]


@pytest.mark.parametrize("how", ["not utf-8", "lone surrogate"])
def test_an_unreadable_memory_is_named_by_id_and_its_text_never_shown(
    tmp_path: Path, how: str
) -> None:
    source = BackendConfig("sqlite", path=tmp_path / "source.db")
    asyncio.run(_store(source))
    _spoil(tmp_path / "source.db", "memories", "broken", how)
    for name, args in _commands(source, tmp_path).items():
        done = run_cli(args)
        assert done.returncode != 0, (name, done.stdout)
        assert "Traceback" not in done.stderr, (name, done.stderr)
        for secret in ("launch", "codes", "0000"):
            assert secret not in done.stdout + done.stderr, (name, secret)
        line = _error_line(done.stderr)
        assert "memory 'broken'" in line, (name, line)
        assert "UTF-8" in line if how == "not utf-8" else "surrogate" in line, (name, line)
        assert "`memorygraph forget broken`" in line, (name, line)
        if name == "export":
            assert done.stderr.strip() == line
            assert not (tmp_path / "out.jsonl").exists()
    target = BackendConfig("sqlite", path=tmp_path / "target.db")
    assert asyncio.run(snapshot(target)) == {}  # rolled back

    # The command the line gives clears the way: the rest exports and migrates.
    command = re.search(r"`memorygraph (forget [^`]+)`", line)
    assert command is not None
    forgot = run_cli([*command.group(1).split(), "--backend", "sqlite", "--path", str(source.path)])
    assert forgot.returncode == 0, forgot.stderr
    for name, args in _commands(source, tmp_path).items():
        done = run_cli(args)
        assert done.returncode == 0, (name, done.stderr)
    assert asyncio.run(snapshot(target)) == asyncio.run(snapshot(source))


@pytest.mark.parametrize("how", ["not utf-8", "lone surrogate"])
def test_an_unreadable_relationship_is_named_by_id(tmp_path: Path, how: str) -> None:
    source = BackendConfig("sqlite", path=tmp_path / "source.db")
    asyncio.run(_store(source))
    _spoil(tmp_path / "source.db", "relationships", "broken-edge", how)
    for name, args in _commands(source, tmp_path).items():
        done = run_cli(args)
        assert done.returncode != 0, (name, done.stdout)
        for secret in ("launch", "codes", "0000"):
            assert secret not in done.stdout + done.stderr, (name, secret)
        line = _error_line(done.stderr)
        assert "relationship 'broken-edge'" in line, (name, line)
        assert "delete that row" in line, (name, line)
