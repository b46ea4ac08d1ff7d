"""No password in any output, --debug tracebacks included; a migration's work directory
and the exports and journals in it are readable by their owner only, even after a crash."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from memorygraph.config import BackendConfig
from tests._servers.fixtures import BoltServer
from tests.faults.helpers import run_command
from tests.migration.helpers import fill

SECRET = "Hunter2-s3cret-pw"


@pytest.mark.neo4j
@pytest.mark.parametrize(
    "uri",
    [
        "bolt://neo4j:{pw}@{host}",  # wrong password in the uri
        "bolt+x://neo4j:{pw}@{host}",  # a scheme the driver refuses, quoting the uri
        "bolt://neo4j:{pw}@127.0.0.1:1",  # nothing listens there
    ],
)
def test_debug_tracebacks_carry_no_password(neo4j_server: BoltServer, uri: str) -> None:
    host = urlsplit(neo4j_server.uri).netloc.rsplit("@", 1)[-1]
    for env in ({}, {"NEO4J_PASSWORD": SECRET}):
        done = run_command(
            "--debug", "stats", "--backend", "neo4j", "--uri", uri.format(pw=SECRET, host=host),
            env=env,
        )  # fmt: skip
        assert done.returncode != 0
        assert "Traceback" in done.stderr  # --debug shows it...
        assert SECRET not in done.stdout + done.stderr  # ...without the password


def _private(workdir: Path) -> None:
    dirs = [p for p in workdir.iterdir() if p.is_dir()]
    assert dirs, "the migration left no work directory"
    for directory in dirs:
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
        files = [p for p in directory.rglob("*") if p.is_file()]
        assert files
        for path in files:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def _kill_migration_when(tmp_path: Path, ready: Callable[[Path], bool], *extra: str) -> Path:
    source = tmp_path / "source.db"
    asyncio.run(fill(BackendConfig("sqlite", path=source), n=3000, tricky=False))
    work = tmp_path / "work"
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "memorygraph", "migrate",
            "--from", "sqlite", "--from-path", str(source),
            "--to", "sqlite", "--to-path", str(tmp_path / "target.db"),
            "--workdir", str(work), "--batch-size", "10", *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None and not ready(work):
        time.sleep(0.002)
    assert proc.poll() is None, "the migration ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return work


def test_a_crash_during_export_leaves_nothing_readable_by_others(tmp_path: Path) -> None:
    work = _kill_migration_when(
        tmp_path, lambda w: any(w.glob("*/.export.jsonl.partial")), "--via-export"
    )
    _private(work)


@pytest.mark.parametrize("how", [(), ("--via-export",)], ids=["copy", "import"])
def test_a_crash_during_import_leaves_nothing_readable_by_others(
    tmp_path: Path, how: tuple[str, ...]
) -> None:
    def importing(w: Path) -> bool:
        return any(b'"event":"write"' in j.read_bytes() for j in w.glob("*/journal.jsonl"))

    work = _kill_migration_when(tmp_path, importing, *how)
    _private(work)


def test_an_export_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    db = tmp_path / "memory.db"
    asyncio.run(fill(BackendConfig("sqlite", path=db), n=5, tricky=False))
    out = tmp_path / "backup.jsonl.gz"
    done = run_command("export", out, "--backend", "sqlite", "--path", db)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
