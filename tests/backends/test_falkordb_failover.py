"""FalkorDB behind Redis Sentinel: finding the primary, following a failover, waiting
for a replica before a write counts, and keeping the passwords out of every message.

Each group is a real FalkorDB primary, a replica of it and three Sentinels on
loopback ports (`tests._servers.falkordb_sentinel`); the failover is a SIGKILL
of the primary while a `memorygraph serve` process writes through it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp import Client, stdio_client

from memorygraph.backends.falkordb import FalkorDBBackend
from memorygraph.backends.registry import create_backend
from memorygraph.config import BackendConfig
from memorygraph.errors import (
    BackendConnectionError,
    ConfigurationError,
    MemoryGraphError,
    ReplicationError,
)
from memorygraph.models import Memory, MemoryType
from memorygraph.store import MemoryStore
from tests._servers.falkordb_sentinel import SentinelGroup, sentinel_group
from tests.mcp_server.helpers import MEMORYGRAPH, call, stdio_params

pytestmark = [pytest.mark.falkordb, pytest.mark.slow]

DATA_PASSWORD = "Data-Secret-7391"
SENTINEL_PASSWORD = "Sentinel-Secret-5120"
SECRETS = (DATA_PASSWORD, SENTINEL_PASSWORD)
#: How soon after the primary dies writes must be accepted again.
RECOVERY_LIMIT = 15.0


def with_password(group: SentinelGroup, password: str = SENTINEL_PASSWORD, query: str = "") -> str:
    """The group's sentinel URI carrying the Sentinels' password (and `query`)."""
    return f"sentinel://:{password}@{group.hosts}/{group.uri.rsplit('/', 1)[1]}{query}"


def config_of(group: SentinelGroup, *, query: str = "", graph: str = "failover") -> BackendConfig:
    return BackendConfig(
        "falkordb", uri=with_password(group, query=query), password=DATA_PASSWORD, database=graph
    )


@pytest.fixture(scope="module")
def steady(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelGroup]:
    """A group no test fails over (tests that kill its primary start their own)."""
    with sentinel_group(
        tmp_path_factory.mktemp("sentinel-steady"),
        password=DATA_PASSWORD,
        sentinel_password=SENTINEL_PASSWORD,
    ) as group:
        yield group


@pytest.fixture
def failing(tmp_path: Path) -> Iterator[SentinelGroup]:
    with sentinel_group(
        tmp_path / "group", password=DATA_PASSWORD, sentinel_password=SENTINEL_PASSWORD
    ) as group:
        yield group


def _note(i: int) -> Memory:
    return Memory(id=f"note-{i}", type=MemoryType.GENERAL, title=f"note {i}")


# --- finding the primary, waiting for the replica --------------------------------------


async def test_writes_go_to_the_primary_and_return_once_the_replica_holds_them(
    steady: SentinelGroup,
) -> None:
    import redis

    async with MemoryStore.open(config_of(steady, graph="acknowledged")) as store:
        for i in range(20):
            await store.remember(_note(i))
    # Read on the replica itself: every write that returned is there already.
    replica = redis.Redis(**steady.replica.client_kwargs(), decode_responses=True)
    try:
        reply = replica.execute_command(
            "GRAPH.RO_QUERY", "acknowledged", "MATCH (m:Memory) RETURN count(m)"
        )
    finally:
        replica.close()
    assert reply[1] == [[20]]


async def test_a_write_no_replica_confirms_in_time_is_not_acknowledged(
    steady: SentinelGroup,
) -> None:
    async with MemoryStore.open(config_of(steady, graph="unconfirmed")):
        pass  # the graph and its indexes exist
    # Two replicas asked for, one exists: WAIT runs out and the write does not count.
    config = config_of(steady, query="?min_replicas=2&wait_ms=300", graph="unconfirmed")
    async with MemoryStore.open(config) as store:
        started = time.monotonic()
        with pytest.raises(ReplicationError) as caught:
            await store.remember(_note(1))
        assert time.monotonic() - started < 5
    error = caught.value
    assert error.retryable
    assert "only 1 of 2 replica(s) confirmed it within 300 ms" in str(error)
    assert "not acknowledged" in str(error)


async def test_while_the_replica_is_frozen_a_write_is_not_acknowledged(
    steady: SentinelGroup,
) -> None:
    # By default a write waits for one replica whenever the primary has one online.
    config = config_of(steady, query="?wait_ms=500", graph="frozen")
    async with MemoryStore.open(config) as store:
        await store.remember(_note(1))
        os.kill(steady.replica.pid, signal.SIGSTOP)
        try:
            with pytest.raises(ReplicationError, match="only 0 of 1 replica"):
                await store.remember(_note(2))
        finally:
            os.kill(steady.replica.pid, signal.SIGCONT)
        await store.remember(_note(3))  # the replica is back: writes count again


async def test_a_write_refused_as_readonly_goes_to_the_primary_the_sentinels_name(
    steady: SentinelGroup,
) -> None:
    import redis.asyncio as aioredis
    from falkordb.asyncio.graph import AsyncGraph

    async with MemoryStore.open(config_of(steady, graph="demoted")) as store:
        backend = store.backend
        assert isinstance(backend, FalkorDBBackend)
        # As after a failover the backend has not seen yet: connected to a server that
        # is now a replica (here: the group's replica), which refuses writes (READONLY).
        stale = aioredis.Redis(**steady.replica.client_kwargs(), decode_responses=True)
        assert steady.replica.port is not None
        original = backend._client
        backend._client, backend._graph = stale, AsyncGraph(stale, "demoted")
        backend._primary = ("127.0.0.1", steady.replica.port)
        await store.remember(_note(1))  # refused unrun by the replica, then sent again
        assert backend._primary == ("127.0.0.1", steady.primary.port)
        assert backend._client is not stale
        assert [m.id for m in await backend.get_memories(["note-1"])] == ["note-1"]
        assert original is not None
        await original.aclose()


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        ("sentinel://127.0.0.1:1", "ends in /SERVICE"),
        ("sentinel://127.0.0.1:x/svc", "HOST:PORT"),
        ("sentinel://127.0.0.1:1/svc?min_replicas=-1", "min_replicas"),
        ("http://127.0.0.1:1", "unknown form"),
    ],
)
async def test_a_uri_of_no_accepted_form_gets_one_line_naming_the_forms(
    uri: str, reason: str
) -> None:
    backend = create_backend(BackendConfig("falkordb", uri=uri))
    with pytest.raises(ConfigurationError) as caught:
        await backend.connect()
    message = str(caught.value)
    assert reason in message and "\n" not in message
    assert "sentinel://host:port[,host:port…]/service" in message
    assert caught.value.field == "uri"


# --- credentials -----------------------------------------------------------------------


async def _refusal(config: BackendConfig) -> MemoryGraphError:
    with pytest.raises(MemoryGraphError) as caught:
        async with MemoryStore.open(config):
            pass
    return caught.value


async def test_passwords_never_appear_in_errors(steady: SentinelGroup) -> None:
    service = steady.uri.rsplit("/", 1)[1]
    cases = {
        "wrong Sentinel password": config_of(steady),
        "wrong data password": BackendConfig(
            "falkordb", uri=with_password(steady), password="Wrong-" + DATA_PASSWORD
        ),
        "no Sentinel listening": BackendConfig(
            "falkordb",
            uri=f"sentinel://user:{SENTINEL_PASSWORD}@127.0.0.1:1,127.0.0.1:2/{service}",
            password=DATA_PASSWORD,
        ),
        "unknown service": BackendConfig(
            "falkordb",
            uri=f"sentinel://:{SENTINEL_PASSWORD}@{steady.hosts}/no-such-service",
            password=DATA_PASSWORD,
        ),
    }
    cases["wrong Sentinel password"] = BackendConfig(
        "falkordb",
        uri=with_password(steady, password="Wrong-" + SENTINEL_PASSWORD),
        password=DATA_PASSWORD,
    )
    for what, config in cases.items():
        error = await _refusal(config)
        message = str(error)
        assert isinstance(error, BackendConnectionError), (what, message)
        assert "\n" not in message, (what, message)
        for secret in (*SECRETS, "Wrong-"):
            assert secret not in message, (what, message)
        assert "falkordb at sentinel://" in message, (what, message)


def test_passwords_never_appear_in_the_commands_output_or_logs(
    steady: SentinelGroup, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEMORY_", "FALKORDB_"))}
    env |= {"FALKORDB_PASSWORD": "Wrong-" + DATA_PASSWORD, "MEMORY_LOG_LEVEL": "debug"}
    uri = with_password(steady, password=SENTINEL_PASSWORD)
    done = subprocess.run(
        [MEMORYGRAPH, "stats", "--backend", "falkordb", "--uri", uri],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "falkordb at sentinel://127.0.0.1:" in output
    for secret in SECRETS:
        assert secret not in output


# --- failover ----------------------------------------------------------------------------


async def test_writes_resume_after_the_primary_is_killed_and_none_that_returned_is_lost(
    failing: SentinelGroup, tmp_path: Path
) -> None:
    acknowledged: dict[str, str] = {}  # id → title, for every store_memory that returned
    accepted: list[tuple[float, float]] = []  # (sent, returned) of each of those calls
    refused: list[str] = []
    killed_at: list[float] = []
    stop = asyncio.Event()
    log = tmp_path / "server.log"
    params = stdio_params(
        "--backend", "falkordb", "--uri", with_password(failing), "--database", "failover",
        "--log-level", "debug",
        env={"FALKORDB_PASSWORD": DATA_PASSWORD},
    )  # fmt: skip

    async def writer(client: Client, name: str) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            title = f"{name} write {n}"
            sent = time.monotonic()
            result = await client.call_tool("store_memory", {"type": "general", "title": title})
            if result.is_error:
                refused.append(str(result.content))
                await asyncio.sleep(0.05)
                continue
            assert result.structured_content is not None
            acknowledged[result.structured_content["id"]] = title
            accepted.append((sent, time.monotonic()))

    with log.open("w") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            writers = [asyncio.create_task(writer(client, f"w{i}")) for i in range(3)]
            try:
                while len(acknowledged) < 30:
                    await asyncio.sleep(0.05)
                await asyncio.to_thread(failing.primary.kill)
                killed_at.append(time.monotonic())
                before = len(acknowledged)
                deadline = killed_at[0] + RECOVERY_LIMIT + 5
                # Until 30 writes were accepted after the kill, or the deadline.
                while len(acknowledged) < before + 30 and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
            finally:
                stop.set()
                await asyncio.gather(*writers)
            statistics = await call(client, "get_memory_statistics")

    # Calls sent after the kill, by how long after it they returned.
    after_kill = [done - killed_at[0] for sent, done in accepted if sent > killed_at[0]]
    assert after_kill, f"no write accepted after the primary was killed; refusals: {refused[-3:]}"
    resumed = min(after_kill)
    assert resumed < RECOVERY_LIMIT, f"writes accepted again only after {resumed:.1f}s"
    assert len(after_kill) >= 30
    assert failing.primary_port() == failing.replica.port  # the replica was promoted
    # Every write that returned is on the new primary, read through a fresh connection.
    async with MemoryStore.open(config_of(failing)) as store:
        stored = await store.backend.get_memories(sorted(acknowledged))
    assert {m.id: m.title for m in stored} == acknowledged
    assert statistics["memories"] >= len(acknowledged)
    logged = log.read_text()
    for secret in SECRETS:
        assert secret not in logged
    print(
        f"\n{len(acknowledged)} writes acknowledged, {len(refused)} refused; writes accepted "
        f"again {resumed:.2f}s after the primary was killed"
    )
