"""A migration from a password-protected FalkorDB, killed mid-import, resumed or rolled
back with the password only in the environment: both ends are resolved from the
journal exactly as a fresh run resolves them, and the password is written nowhere."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from memorygraph.backends.falkordb_process import FalkorDBProcess
from memorygraph.config import BackendConfig
from tests._servers.fixtures import FALKORDB_TEST_PASSWORD, _delete_falkordb_graph
from tests.faults.helpers import clean_env, intents, kill, location_args, run_cli, start, wait_for
from tests.migration.helpers import fill, snapshot


@pytest.fixture
def protected_target(falkordb_server: FalkorDBProcess) -> Iterator[BackendConfig]:
    graph = f"target-{uuid.uuid4().hex[:12]}"
    yield BackendConfig(
        "falkordb", uri=falkordb_server.uri, password=falkordb_server.password, database=graph
    )
    _delete_falkordb_graph(falkordb_server, graph)


def _killed(
    tmp_path: Path, source: BackendConfig, target: BackendConfig
) -> tuple[Path, dict[str, str]]:
    asyncio.run(fill(source, n=400, tricky=False))
    env = clean_env({"FALKORDB_PASSWORD": FALKORDB_TEST_PASSWORD})
    work = tmp_path / "work"
    proc = start(
        [
            "migrate",
            *location_args("from", source),
            *location_args("to", target),
            "--workdir",
            str(work),
            "--batch-size",
            "5",
        ],
        env=env,
    )
    journal = wait_for(proc, work, lambda j: intents(j) >= 10)
    kill(proc)
    assert FALKORDB_TEST_PASSWORD.encode() not in journal.read_bytes()
    return journal, env


@pytest.mark.slow
def test_resume_from_a_protected_source_with_the_password_in_the_environment(
    tmp_path: Path, falkordb_config: BackendConfig
) -> None:
    target = BackendConfig("sqlite", path=tmp_path / "target.db")
    journal, env = _killed(tmp_path, falkordb_config, target)
    resumed = run_cli(["migrate", "--resume", str(journal)], env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert "verified" in resumed.stdout
    assert FALKORDB_TEST_PASSWORD not in resumed.stdout + resumed.stderr
    assert asyncio.run(snapshot(target)) == asyncio.run(snapshot(falkordb_config))


@pytest.mark.slow
def test_rollback_into_a_protected_target_with_the_password_in_the_environment(
    tmp_path: Path, falkordb_config: BackendConfig, protected_target: BackendConfig
) -> None:
    journal, env = _killed(tmp_path, falkordb_config, protected_target)
    assert asyncio.run(snapshot(protected_target)) != {}
    without = run_cli(["migrate", "--rollback", str(journal)], env=clean_env())
    assert without.returncode != 0
    assert FALKORDB_TEST_PASSWORD not in without.stdout + without.stderr
    undone = run_cli(["migrate", "--rollback", str(journal)], env=env)
    assert undone.returncode == 0, undone.stderr
    assert FALKORDB_TEST_PASSWORD not in undone.stdout + undone.stderr
    assert asyncio.run(snapshot(replace(protected_target))) == {}
