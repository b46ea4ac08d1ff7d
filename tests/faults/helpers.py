"""Running the real `memorygraph` command in child processes, as a user would, and
stopping migrations at chosen moments read from the journal they write."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import orjson

from memorygraph.config import BackendConfig


def location_args(prefix: str, config: BackendConfig) -> list[str]:
    """`--from …`/`--to …` options for `config` (never its password)."""
    args = [f"--{prefix}", config.backend_type]
    if config.path is not None:
        args += [f"--{prefix}-path", str(config.path)]
    if config.uri:
        args += [f"--{prefix}-uri", config.uri]
    if config.database:
        args += [f"--{prefix}-database", config.database]
    return args


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test's environment without any memorygraph backend variable, plus `extra`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MEMORY_", "FALKORDB", "NEO4J_", "MEMGRAPH_"))
    }
    env.update(extra or {})
    return env


def _hear_ctrl_c() -> None:
    # A shell starts a background job with SIGINT ignored, and children inherit
    # that; Python then installs no KeyboardInterrupt handler and a Ctrl-C sent
    # by a test would be lost. The command must hear Ctrl-C as a user's would.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(
    args: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    """`memorygraph ARGS` as a user's terminal starts it: Ctrl-C reaches it."""
    return subprocess.Popen(
        [sys.executable, "-m", "memorygraph", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(env) if env is not None else clean_env(),
        cwd=cwd,
        preexec_fn=_hear_ctrl_c,
    )


def run_cli(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "memorygraph", *args],
        capture_output=True,
        text=True,
        env=dict(env) if env is not None else clean_env(),
        cwd=cwd,
        timeout=timeout,
    )


def journal_in(work: Path) -> Path | None:
    found = sorted(work.glob("*/journal.jsonl"))
    return found[0] if found else None


def events(journal: Path) -> list[dict[str, object]]:
    out = []
    try:
        data = journal.read_bytes()
    except FileNotFoundError:
        return []  # removed by its migration as it ended
    for line in data.splitlines():
        try:
            out.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            break
    return out


def intents(journal: Path) -> int:
    return sum(e.get("event") == "intent" for e in events(journal))


def has_state(journal: Path, state: str) -> bool:
    return any(e.get("event") == "state" and e.get("state") == state for e in events(journal))


def wait_for(
    proc: subprocess.Popen[bytes],
    work: Path,
    ready: Callable[[Path], bool],
    *,
    timeout: float = 120,
) -> Path:
    """Poll until the journal in `work` satisfies `ready`; fail if the process ends first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        journal = journal_in(work)
        if journal is not None and ready(journal):
            return journal
        if proc.poll() is not None:
            _out, err = proc.communicate()
            raise AssertionError(
                f"the migration ended (exit {proc.returncode}) before the moment came: "
                f"{err.decode()[-2000:]}"
            )
        time.sleep(0.002)
    proc.kill()
    raise AssertionError("the moment never came")


def kill(proc: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> tuple[int, str]:
    os.kill(proc.pid, sig)
    _, err = proc.communicate(timeout=300)
    return proc.returncode, err.decode()


def cut_after_last_intent(journal: Path) -> None:
    """Remove the last `write` line and all after it: the journal a crash leaves between
    the target's commit of a batch and the append of that batch's `write` line."""
    lines = journal.read_bytes().splitlines(keepends=True)
    if b'"event":"intent"' in lines[-1]:
        return  # the kill itself landed there: the next batch was announced, not recorded
    last = max(i for i, line in enumerate(lines) if b'"event":"write"' in line)
    assert b'"event":"intent"' in lines[last - 1]
    journal.write_bytes(b"".join(lines[:last]))


def run_command(
    *args: str | Path, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """`python -m memorygraph ARGS` with a clean MEMORY_* environment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("MEMORY_")}
    base.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "memorygraph", *map(str, args)],
        capture_output=True,
        text=True,
        env=base,
        timeout=timeout,
    )
