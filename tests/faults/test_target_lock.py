"""One migration per target at a time; a crashed owner does not block the target forever,
and a new migration does not start on top of an unfinished one."""

from __future__ import annotations

import asyncio
from pathlib import Path

from memorygraph.config import BackendConfig
from tests.faults.helpers import intents, kill, location_args, run_cli, start, wait_for
from tests.migration.helpers import fill, snapshot


def _args(source: BackendConfig, target: BackendConfig, work: Path) -> list[str]:
    return [
        "migrate",
        *location_args("from", source),
        *location_args("to", target),
        "--workdir",
        str(work),
        "--batch-size",
        "10",
    ]


def test_second_migration_into_a_busy_target_is_refused(tmp_path: Path) -> None:
    source = BackendConfig("sqlite", path=tmp_path / "source.db")
    other = BackendConfig("sqlite", path=tmp_path / "other.db")
    target = BackendConfig("sqlite", path=tmp_path / "target.db")
    asyncio.run(fill(source, n=3000, tricky=False))
    asyncio.run(fill(other, n=30, tricky=True))
    first = start([*_args(source, target, tmp_path / "w1"), "--batch-size", "2"])
    wait_for(first, tmp_path / "w1", lambda j: intents(j) >= 3)
    assert first.poll() is None
    second = run_cli(_args(other, target, tmp_path / "w2"))
    assert second.returncode == 2, second.stderr
    assert "another migration" in second.stderr
    assert str(first.pid) in second.stderr
    assert not list((tmp_path / "w2").glob("*/journal.jsonl"))
    first.communicate(timeout=300)
    assert first.returncode == 0
    assert asyncio.run(snapshot(target)) == asyncio.run(snapshot(source))


def test_crashed_owner_blocks_only_until_its_migration_is_settled(tmp_path: Path) -> None:
    source = BackendConfig("sqlite", path=tmp_path / "source.db")
    other = BackendConfig("sqlite", path=tmp_path / "other.db")
    target = BackendConfig("sqlite", path=tmp_path / "target.db")
    asyncio.run(fill(source, n=400, tricky=False))
    asyncio.run(fill(other, n=30, tricky=True))
    first = start(_args(source, target, tmp_path / "w1"))
    journal = wait_for(first, tmp_path / "w1", lambda j: intents(j) >= 3)
    kill(first)

    refused = run_cli(_args(other, target, tmp_path / "w2"))
    assert refused.returncode == 2, refused.stderr
    assert str(journal) in refused.stderr
    assert "--rollback" in refused.stderr

    undone = run_cli(["migrate", "--rollback", str(journal)])
    assert undone.returncode == 0, undone.stderr
    assert asyncio.run(snapshot(target)) == {}
    later = run_cli(_args(other, target, tmp_path / "w2"))
    assert later.returncode == 0, later.stderr
    assert asyncio.run(snapshot(target)) == asyncio.run(snapshot(other))


def test_rollback_of_one_migration_never_touches_what_another_wrote(tmp_path: Path) -> None:
    # Both migrations carry the same records: the second runs only after the first is undone.
    source = BackendConfig("sqlite", path=tmp_path / "source.db")
    target = BackendConfig("sqlite", path=tmp_path / "target.db")
    asyncio.run(fill(source, n=400, tricky=False))
    first = start(_args(source, target, tmp_path / "w1"))
    journal = wait_for(first, tmp_path / "w1", lambda j: intents(j) >= 3)
    kill(first)
    second = run_cli(_args(source, target, tmp_path / "w2"))
    undone = run_cli(["migrate", "--rollback", str(journal)])
    assert undone.returncode == 0, undone.stderr
    if second.returncode == 0:
        assert asyncio.run(snapshot(target)) == asyncio.run(snapshot(source))
    else:
        assert asyncio.run(snapshot(target)) == {}
