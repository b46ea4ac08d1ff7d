"""falkordblite passes the contract suite, and keeps every acknowledged write across crashes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from memorygraph.backends import falkordb_process
from memorygraph.backends.falkordblite import FalkorDBLiteBackend, start_server
from memorygraph.backends.registry import create_backend
from memorygraph.config import BackendConfig
from memorygraph.errors import DatabaseFileError
from memorygraph.models import Memory, MemoryContext, MemoryType, Relationship, RelationshipType
from memorygraph.testing import BackendContractSuite, mem

pytestmark = pytest.mark.falkordblite

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def backend_config(falkordblite_config: BackendConfig) -> BackendConfig:
    return falkordblite_config


class TestFalkorDBLiteContract(BackendContractSuite):
    pass


# --- crash safety ------------------------------------------------------------------------


def sample_records(n: int = 600) -> tuple[list[Memory], list[Relationship]]:
    """Deterministic records with the awkward values a round trip can lose."""
    t0 = datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC)
    memories = [
        Memory(
            id=f"crash-{i:05d}" + (" " if i % 7 == 0 else ""),
            type=list(MemoryType)[i % len(MemoryType)],
            title=f"memory {i} 🧠 𠀀 \U000e0001",
            content=("x" * 1_000_000) if i == 3 else f"MATCH (n) DETACH DELETE n // {i}",
            summary=None if i % 2 else "",
            tags=[] if i % 3 else ["a", "ü"],
            importance=(i % 10) / 10 + 1e-17 * (i % 3),
            confidence=0.1 + 0.2,
            effectiveness=None if i % 5 else 1 / 3,
            usage_count=2**63 - 1 if i == 5 else i,
            created_at=t0 - timedelta(microseconds=i),
            context=None
            if i % 4
            else MemoryContext(metadata={"n": i, "f": 2.5e-300, "nested": {"l": [None, True]}}),
        )
        for i in range(n)
    ]
    relationships = [
        Relationship(
            id=f"edge-{i:05d}",
            from_id=memories[i].id,
            to_id=memories[(i * 7 + 1) % n].id,
            type=list(RelationshipType)[i % len(RelationshipType)],
            strength=i / n,
            created_at=t0,
        )
        for i in range(n)
    ]
    return memories, relationships


_CHILD = """
import asyncio, sys
from pathlib import Path
from memorygraph.backends.falkordblite import FalkorDBLiteBackend
from memorygraph.config import BackendConfig
from tests.backends.test_falkordblite import sample_records

async def main():
    backend = FalkorDBLiteBackend(BackendConfig("falkordblite", path=Path(sys.argv[1])))
    await backend.connect()
    memories, relationships = sample_records()
    for start in range(0, len(memories), 200):
        await backend.upsert_memories(memories[start:start + 200])
    await backend.upsert_relationships(relationships)
    print("WRITTEN", backend._process.pid, flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


def _write_in_child_then_sigkill(directory: Path) -> int:
    """Run a child Python that writes `sample_records` and SIGKILL it once they returned.

    Returns the PID of the FalkorDB server the child started (still running).
    """
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(directory)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.startswith("WRITTEN"), f"child failed: {line}{child.stderr.read()}"  # type: ignore[union-attr]
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    return int(line.split()[1])


async def _assert_all_present(directory: Path) -> None:
    memories, relationships = sample_records()
    config = BackendConfig("falkordblite", path=directory)
    async with create_backend(config) as backend:
        assert await backend.count_memories() == len(memories)
        assert await backend.count_relationships() == len(relationships)
        stored = {m.id: m.digest() async for m in backend.iter_memories()}
        edges = {r.id: r.digest() async for r in backend.iter_relationships()}
    assert stored == {m.id: m.digest() for m in memories}
    assert edges == {r.id: r.digest() for r in relationships}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[-1].split()[0] != "Z"


@pytest.mark.slow
async def test_writes_survive_sigkill_of_owner_and_server(tmp_path: Path) -> None:
    directory = tmp_path / "store"
    server_pid = _write_in_child_then_sigkill(directory)
    os.kill(server_pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while _pid_alive(server_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _pid_alive(server_pid)
    await _assert_all_present(directory)  # a fresh server replays the append-only file
    assert falkordb_process.read_state(directory) is None, "close left a server running"


@pytest.mark.slow
async def test_orphaned_server_of_a_killed_owner_is_adopted(tmp_path: Path) -> None:
    directory = tmp_path / "store"
    server_pid = _write_in_child_then_sigkill(directory)
    try:
        assert _pid_alive(server_pid), "the server should outlive its killed owner"
        adopted = falkordb_process.read_state(directory)
        assert adopted is not None and adopted.pid == server_pid
        await _assert_all_present(directory)
        assert not _pid_alive(server_pid), "the adopting owner should stop it on close"
    finally:
        if _pid_alive(server_pid):
            os.kill(server_pid, signal.SIGKILL)


# --- lifecycle ----------------------------------------------------------------------------


async def test_close_stops_the_server_and_reopen_keeps_data(tmp_path: Path) -> None:
    config = BackendConfig("falkordblite", path=tmp_path / "store")
    async with FalkorDBLiteBackend(config) as backend:
        await backend.upsert_memories([mem(1)])
        assert backend._process is not None
        pid = backend._process.pid
        assert (await backend.engine_version()).startswith("FalkorDB ")
    assert not _pid_alive(pid)
    assert not (tmp_path / "store" / falkordb_process.STATE_FILE).exists()
    async with FalkorDBLiteBackend(config) as backend:
        assert await backend.get_memory("m0001") == mem(1)


async def test_second_backend_on_the_directory_is_a_guest(tmp_path: Path) -> None:
    config = BackendConfig("falkordblite", path=tmp_path / "store")
    async with FalkorDBLiteBackend(config) as owner:
        await owner.upsert_memories([mem(1)])
        async with FalkorDBLiteBackend(config.read_only_copy()) as guest:
            assert guest._process is None
            assert await guest.get_memory("m0001") == mem(1)
        # The guest's close must not stop the owner's server.
        await owner.upsert_memories([mem(2)])
        assert await owner.count_memories() == 2


async def test_stale_state_with_a_recycled_pid_is_not_adopted(tmp_path: Path) -> None:
    directory = tmp_path / "store"
    config = BackendConfig("falkordblite", path=directory)
    async with FalkorDBLiteBackend(config) as backend:
        await backend.upsert_memories([mem(1)])
    # A crashed owner's state file whose PID now belongs to an unrelated process (us).
    (directory / falkordb_process.STATE_FILE).write_text(
        json.dumps({"pid": os.getpid(), "port": 1, "password": "x"})
    )
    async with FalkorDBLiteBackend(config) as backend:
        assert backend._process is not None and backend._process.pid != os.getpid()
        assert await backend.get_memory("m0001") == mem(1)


async def test_a_server_whose_owner_died_before_recording_it_is_stopped_at_the_next_open(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "store"
    config = BackendConfig("falkordblite", path=directory)
    async with FalkorDBLiteBackend(config) as backend:
        await backend.upsert_memories([mem(1)])
    # An owner killed between starting its server and writing the state file: the
    # server runs on the store's files, and nobody knows its password.
    unrecorded = start_server(directory, write_state=False)
    try:
        async with FalkorDBLiteBackend(config) as backend:
            assert backend._process is not None and backend._process.pid != unrecorded.pid
            assert not unrecorded.is_alive(), "a second server was started beside it"
            assert await backend.get_memory("m0001") == mem(1)
    finally:
        unrecorded.stop(timeout=2.0)


async def test_foreign_directory_is_refused_untouched(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    config = BackendConfig("falkordblite", path=tmp_path)
    with pytest.raises(DatabaseFileError, match="not a falkordblite store"):
        await FalkorDBLiteBackend(config).connect()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


async def test_missing_parent_and_read_only_missing_store_are_refused(tmp_path: Path) -> None:
    missing = tmp_path / "absent" / "store"
    with pytest.raises(DatabaseFileError, match="does not exist"):
        await FalkorDBLiteBackend(BackendConfig("falkordblite", path=missing)).connect()
    ro = BackendConfig("falkordblite", path=tmp_path / "store", read_only=True)
    with pytest.raises(DatabaseFileError, match="does not exist"):
        await FalkorDBLiteBackend(ro).connect()
    assert not (tmp_path / "absent").exists() and not (tmp_path / "store").exists()


async def test_long_directory_paths_fall_back_to_a_password_protected_port(
    tmp_path: Path,
) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.parent.mkdir()
    config = BackendConfig("falkordblite", path=deep)
    async with FalkorDBLiteBackend(config) as backend:
        assert backend._process is not None
        assert backend._process.unix_socket is None and backend._process.port
        assert backend._process.password
        await backend.upsert_memories([mem(1)])
    async with FalkorDBLiteBackend(config) as backend:
        assert await backend.get_memory("m0001") == mem(1)
