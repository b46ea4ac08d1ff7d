"""The one way memorygraph creates files: exclusively, never through a symbolic link,
owner-only whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from memorygraph import safefiles
from memorygraph.config import BackendConfig
from memorygraph.errors import UnsafeFileError, UsageError

PRECIOUS = b"not yours to write\n"


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    path = tmp_path / "victim"
    path.write_bytes(PRECIOUS)
    return path


@pytest.fixture
def open_umask() -> Iterator[None]:
    """Let the umask take nothing away, so the modes seen are the ones the code asked for."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_create_refuses_a_link_and_an_existing_file(tmp_path: Path, victim: Path) -> None:
    link = tmp_path / "out"
    link.symlink_to(victim)
    with pytest.raises(UnsafeFileError, match="remove the link or choose another path"):
        safefiles.create(link, "the export", field="path")
    plain = tmp_path / "plain"
    plain.write_bytes(PRECIOUS)
    with pytest.raises(UsageError, match="already exists"):
        safefiles.create(plain, "the journal")
    assert victim.read_bytes() == PRECIOUS and plain.read_bytes() == PRECIOUS


def test_create_replaces_a_stale_plain_file_privately(tmp_path: Path, open_umask: None) -> None:
    stale = tmp_path / ".out.partial"
    stale.write_bytes(b"left by a killed run")
    stale.chmod(0o666)
    with safefiles.create(stale, "the partial file", replace_stale=True) as out:
        out.write(b"new")
    assert stale.read_bytes() == b"new" and _mode(stale) == 0o600


def test_open_own_refuses_links_and_second_names(tmp_path: Path, victim: Path) -> None:
    link = tmp_path / "lock"
    link.symlink_to(victim)
    with pytest.raises(UnsafeFileError, match="symbolic link"):
        safefiles.open_own(link, "the lock file")
    second = tmp_path / "second"
    os.link(victim, second)
    with pytest.raises(UnsafeFileError, match="single name"):
        safefiles.open_own(second, "the lock file")
    assert victim.read_bytes() == PRECIOUS


def test_open_own_creates_or_reuses_a_private_file(tmp_path: Path, open_umask: None) -> None:
    path = tmp_path / "lock"
    with safefiles.open_own(path, "the lock file") as handle:
        handle.write(b"held")
    path.chmod(0o644)
    with safefiles.open_own(path, "the lock file") as handle:
        assert handle.read() == b"held"
    assert _mode(path) == 0o600


def test_make_private_dir_is_0700_and_refuses_a_link(tmp_path: Path) -> None:
    previous = os.umask(0o077 | 0o200)  # a umask that would take the owner's write bit too
    try:
        safefiles.make_private_dir(tmp_path / "a" / "work", "the working directory")
    finally:
        os.umask(previous)
    assert _mode(tmp_path / "a" / "work") == 0o700
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "link").symlink_to(elsewhere)
    with pytest.raises(UnsafeFileError, match="symbolic link"):
        safefiles.make_private_dir(tmp_path / "link", "the working directory")


def test_write_atomic_replaces_a_file_and_refuses_a_link(
    tmp_path: Path, victim: Path, open_umask: None
) -> None:
    state = tmp_path / "falkordb.json"
    state.write_bytes(b"old")
    safefiles.write_atomic(state, b"new", "the state file")
    assert state.read_bytes() == b"new" and _mode(state) == 0o600
    link = tmp_path / "linked.json"
    link.symlink_to(victim)
    with pytest.raises(UnsafeFileError, match="symbolic link"):
        safefiles.write_atomic(link, b"secret", "the state file")
    assert victim.read_bytes() == PRECIOUS
    assert sorted(p.name for p in tmp_path.iterdir()) == ["falkordb.json", "linked.json", "victim"]


def test_a_store_is_the_same_under_a_hard_link(tmp_path: Path) -> None:
    original = tmp_path / "memory.db"
    original.write_bytes(b"")
    os.link(original, tmp_path / "alias.db")
    source = BackendConfig("sqlite", path=original)
    assert source.same_location(BackendConfig("sqlite", path=tmp_path / "alias.db"))
    assert not source.same_location(BackendConfig("sqlite", path=tmp_path / "other.db"))
