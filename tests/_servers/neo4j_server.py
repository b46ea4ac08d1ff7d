"""Start a real, throwaway Neo4j 5.26 server for tests, without Docker.

The server is Neo4j's in-process test server (``org.neo4j.test:neo4j-harness``)
run by ``tools/neo4j/Launcher.java`` in its own JVM, with Bolt on a free
loopback port. Its jars come from Maven Central via
``tools/neo4j/build-classpath.sh`` (so Java 17 and Maven must be installed; the
first build downloads ~180 MiB into ~/.m2).

Usage::

    with running_neo4j(tmp_path) as server:
        driver = neo4j.GraphDatabase.driver(server.uri, auth=server.auth)

The process (and its whole process group) is stopped when the ``with`` block
ends, also when the block raised. The database lives in a fresh sub-directory
of ``workdir`` that the server deletes when it stops.
"""

from __future__ import annotations

import collections
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOLS_DIR = REPO_ROOT / "tools" / "neo4j"
LAUNCHER = TOOLS_DIR / "Launcher.java"
BUILD_CLASSPATH = TOOLS_DIR / "build-classpath.sh"
CLASSPATH_FILE = TOOLS_DIR / ".classpath"

DEFAULT_USER = "neo4j"
DEFAULT_PASSWORD = "memorygraph-test"

_PASSWORD_ENV = "MEMORYGRAPH_NEO4J_TEST_PASSWORD"
_TAIL_LINES = 60


@dataclass(frozen=True)
class Neo4jServer:
    uri: str
    user: str | None
    password: str | None
    version: str
    pid: int = 0

    @property
    def auth(self) -> tuple[str, str] | None:
        """``auth=`` value for ``neo4j.GraphDatabase.driver`` (None when auth is off)."""
        if self.user is None or self.password is None:
            return None
        return (self.user, self.password)


def ensure_classpath(timeout: float = 1800.0) -> str:
    """Build ``tools/neo4j/.classpath`` if needed (no-op when up to date); return it."""
    try:
        proc = subprocess.run(
            ["bash", str(BUILD_CLASSPATH)],
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"{BUILD_CLASSPATH} did not finish within {timeout:.0f} s") from exc
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-_TAIL_LINES:])
        raise RuntimeError(f"{BUILD_CLASSPATH} failed with exit code {proc.returncode}:\n{tail}")
    classpath = CLASSPATH_FILE.read_text().strip()
    if not classpath:
        raise RuntimeError(f"{CLASSPATH_FILE} is empty")
    return classpath


def _java_executable() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = Path(java_home) / "bin" / "java"
        if candidate.is_file():
            return str(candidate)
    found = shutil.which("java")
    if found is None:
        raise RuntimeError("no `java` found (set JAVA_HOME or put Java 17+ on PATH)")
    return found


class _OutputReader(threading.Thread):
    """Drains the launcher's merged stdout/stderr, keeping the last lines and
    the key/value lines it prints at startup."""

    def __init__(self, stream: IO[str], log_path: Path) -> None:
        super().__init__(name="neo4j-launcher-output", daemon=True)
        self._stream = stream
        self._log_path = log_path
        self._lock = threading.Lock()
        self._tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
        self.info: dict[str, str] = {}
        self.ready = threading.Event()
        self.eof = threading.Event()

    def run(self) -> None:
        try:
            with open(self._log_path, "a", encoding="utf-8") as log:
                for raw in self._stream:
                    line = raw.rstrip("\n")
                    log.write(line + "\n")
                    log.flush()
                    with self._lock:
                        self._tail.append(line)
                    key, _, value = line.partition(" ")
                    if key in ("BOLT_URI", "NEO4J_VERSION", "AUTH"):
                        self.info[key] = value
                    elif key == "READY":
                        self.ready.set()
        finally:
            self.eof.set()

    def tail(self) -> str:
        with self._lock:
            return "\n".join(self._tail) if self._tail else "(none)"


def _logs_hint(workdir: Path) -> str:
    return (
        f"\n(Neo4j's own logs, if it got that far: {workdir}/<random dir>/neo4j.log and "
        f"{workdir}/<random dir>/logs/debug.log)"
    )


def _stop_process_group(proc: subprocess.Popen[str], grace: float) -> None:
    if proc.poll() is not None:
        return
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    # Closing stdin is the launcher's other stop signal.
    if proc.stdin is not None:
        with suppress(OSError):
            proc.stdin.close()
    try:
        proc.wait(timeout=grace)
        return
    except subprocess.TimeoutExpired:
        pass
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


@contextmanager
def running_neo4j(
    workdir: Path,
    *,
    user: str = DEFAULT_USER,
    password: str | None = DEFAULT_PASSWORD,
    startup_timeout: float = 120.0,
    stop_grace: float = 20.0,
    max_heap: str = "1g",
) -> Iterator[Neo4jServer]:
    """Run a Neo4j 5.26 server for the duration of the ``with`` block.

    With ``password=None`` authentication is disabled (and ``user``/``password``
    of the yielded server are None); otherwise ``user`` (default ``neo4j``) has
    that password. The launcher's output is appended to
    ``workdir / "neo4j-launcher.log"``.
    """
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    classpath = ensure_classpath()

    cmd = [
        _java_executable(),
        f"-Xmx{max_heap}",
        "-XX:+UseSerialGC",
        "-XX:+ExitOnOutOfMemoryError",
        "-Dfile.encoding=UTF-8",
        "-cp",
        classpath,
        str(LAUNCHER),
        "--workdir",
        str(workdir),
    ]
    env = dict(os.environ)
    env.pop("JAVA_TOOL_OPTIONS", None)  # its "Picked up ..." banner would be noise
    if password is not None:
        cmd += ["--user", user, "--password-env", _PASSWORD_ENV]
        env[_PASSWORD_ENV] = password

    log_path = workdir / "neo4j-launcher.log"
    proc = subprocess.Popen(
        cmd,
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        errors="replace",
        start_new_session=True,
    )
    assert proc.stdout is not None  # stdout=PIPE
    reader = _OutputReader(proc.stdout, log_path)
    try:
        reader.start()

        deadline = time.monotonic() + startup_timeout
        while not reader.ready.wait(timeout=0.2):
            if reader.eof.is_set() or proc.poll() is not None:
                reader.eof.wait(timeout=5)
                with suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=5)
                raise RuntimeError(
                    f"Neo4j launcher exited (code {proc.returncode}) before it was ready; "
                    f"last output:\n{reader.tail()}{_logs_hint(workdir)}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"Neo4j launcher was not ready within {startup_timeout:.0f} s; "
                    f"last output:\n{reader.tail()}{_logs_hint(workdir)}"
                )

        uri = reader.info.get("BOLT_URI")
        if not uri:
            raise RuntimeError(f"Neo4j launcher printed no BOLT_URI; last output:\n{reader.tail()}")
        auth_on = reader.info.get("AUTH", "").startswith("enabled")
        yield Neo4jServer(
            uri=uri,
            user=user if auth_on else None,
            password=password if auth_on else None,
            version=reader.info.get("NEO4J_VERSION", "unknown"),
            pid=proc.pid,
        )
    finally:
        try:
            _stop_process_group(proc, stop_grace)
        finally:
            if reader.is_alive():
                reader.join(timeout=10)
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    with suppress(OSError):
                        stream.close()
