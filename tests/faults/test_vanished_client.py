"""An MCP client that goes away while `migrate_database` runs over stdio (its window
closed, the agent killed): the server rolls the migration back, says so in one line
on stderr, and exits 0. When the rollback cannot reach the target, the journal is
kept in state "failed" and the line gives the commands that settle it.

The test process is the client: closing its ends of the server's pipes is what the
kernel does when a client dies."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import orjson
import pytest

from memorygraph.backends import falkordb_process
from memorygraph.backends.falkordb_process import FalkorDBProcess
from memorygraph.config import BackendConfig
from tests.faults.helpers import clean_env, events, intents, journal_in, run_cli
from tests.mcp_server.helpers import MEMORYGRAPH
from tests.migration.helpers import fill, snapshot

MEMORIES = 12_000  # 36,000 records: several pages, so the client leaves mid-copy


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("vanished-client") / "memory.db"
    asyncio.run(fill(BackendConfig("sqlite", path=path), n=MEMORIES, tricky=False))
    return path


def _send(stdin: IO[bytes], message: dict[str, object]) -> None:
    stdin.write(orjson.dumps(message) + b"\n")
    stdin.flush()


def _serve_and_migrate(
    source: Path, workdir: Path, target: dict[str, object], stderr: IO[bytes]
) -> subprocess.Popen[bytes]:
    """`memorygraph serve` with a migration of `source` into `target` under way."""
    args = ["serve", "--path", str(source), "--profile", "extended", "--workdir", str(workdir)]
    proc = subprocess.Popen(
        [MEMORYGRAPH, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        env=clean_env(),
    )
    assert proc.stdin is not None and proc.stdout is not None
    _send(
        proc.stdin,
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "test", "version": "1"},
            },
        },
    )
    assert orjson.loads(proc.stdout.readline())["id"] == 1
    _send(proc.stdin, {"jsonrpc": "2.0", "method": "notifications/initialized"})
    _send(
        proc.stdin,
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {
                "name": "migrate_database",
                "arguments": {"confirm": True, **target},
                "_meta": {"progressToken": "p"},
            },
        },
    )
    return proc


def _wait_for_writes(proc: subprocess.Popen[bytes], workdir: Path) -> Path:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        journal = journal_in(workdir)
        if journal is not None and intents(journal) >= 2:
            return journal
        assert proc.poll() is None, "the server ended before the migration wrote"
        time.sleep(0.005)
    raise AssertionError("the migration never wrote")


def _leave(proc: subprocess.Popen[bytes], how: str) -> bytes:
    """The client goes away as `how` says; what it read from stdout after that."""
    assert proc.stdin is not None and proc.stdout is not None
    read = b""
    if how == "stdin closed":  # a client that hangs up but still listens
        proc.stdin.close()
        read = proc.stdout.read()
        proc.stdout.close()
    else:  # killed: both at once
        proc.stdout.close()
        proc.stdin.close()
    proc.wait(timeout=120)
    return read


@pytest.mark.parametrize("how", ["stdin closed", "killed"])
def test_a_vanished_client_ends_the_server_quietly_with_the_migration_rolled_back(
    tmp_path: Path, source: Path, how: str
) -> None:
    workdir = tmp_path / "migrations"
    target = BackendConfig("sqlite", path=tmp_path / "copy.db")
    log = tmp_path / "stderr.log"
    with log.open("wb") as stderr:
        proc = _serve_and_migrate(
            source,
            workdir,
            {"target_backend": "sqlite", "target_config": {"path": str(target.path)}},
            stderr,
        )
        _wait_for_writes(proc, workdir)
        read = _leave(proc, how)
    said = log.read_text()
    assert proc.returncode == 0, said
    assert len(said.splitlines()) == 1, said
    assert "Traceback" not in said and "Error" not in said, said
    assert "was stopped: interrupted; the target was rolled back" in said, said
    if how == "stdin closed":
        replies = [orjson.loads(line) for line in read.splitlines()]
        assert replies[-1]["id"] == 2 and "error" in replies[-1]
    assert journal_in(workdir) is None  # rolled back: nothing left to settle
    assert asyncio.run(snapshot(target)) == {}


@pytest.fixture
def falkordb_target(tmp_path: Path) -> Iterator[FalkorDBProcess]:
    server = falkordb_process.start(tmp_path / "falkordb", durable=True, write_state=False)
    try:
        yield server
    finally:
        os.kill(server.pid, signal.SIGCONT)  # a test that stopped it may have failed
        server.stop()


def test_a_rollback_that_cannot_reach_the_target_keeps_the_journal_and_says_how_to_settle_it(
    tmp_path: Path, source: Path, falkordb_target: FalkorDBProcess
) -> None:
    workdir = tmp_path / "migrations"
    target = BackendConfig("falkordb", uri=falkordb_target.uri, database="copy")
    log = tmp_path / "stderr.log"
    with log.open("wb") as stderr:
        proc = _serve_and_migrate(
            source,
            workdir,
            {
                "target_backend": "falkordb",
                "target_config": {"uri": target.uri, "database": "copy"},
            },
            stderr,
        )
        journal = _wait_for_writes(proc, workdir)
        # The engine stops answering (but keeps its data), then the client goes away.
        os.kill(falkordb_target.pid, signal.SIGSTOP)
        _leave(proc, "killed")
    said = log.read_text()
    assert proc.returncode == 0, said
    assert len(said.splitlines()) == 1, said
    assert "Traceback" not in said, said
    assert "the target was NOT rolled back" in said, said
    command = f"`memorygraph migrate --rollback {journal}`"
    assert command in said, said
    assert f"`memorygraph migrate --resume {journal}`" in said, said
    states = [e["state"] for e in events(journal) if e.get("event") == "state"]
    assert states[-1] == "failed"

    # Once the engine answers again, the command the line gave undoes the migration.
    os.kill(falkordb_target.pid, signal.SIGCONT)
    undone = run_cli(["migrate", "--rollback", str(journal)])
    assert undone.returncode == 0, undone.stderr
    assert asyncio.run(snapshot(target)) == {}
