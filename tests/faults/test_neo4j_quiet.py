"""A migration into and out of Neo4j prints what memorygraph says and nothing the
driver says: the server's notifications (performance hints, deprecations,
"no such label yet") are for the people who write our Cypher, not for its users."""

from __future__ import annotations

import asyncio
from pathlib import Path

from memorygraph.config import BackendConfig
from tests.faults.helpers import clean_env, location_args, run_cli
from tests.migration.helpers import fill, snapshot


def _env(config: BackendConfig) -> dict[str, str]:
    return clean_env({"NEO4J_PASSWORD": config.password or ""})


def test_a_migration_through_neo4j_shows_no_driver_notifications(
    tmp_path: Path, neo4j_config: BackendConfig
) -> None:
    source = BackendConfig("sqlite", path=tmp_path / "source.db")
    back = BackendConfig("sqlite", path=tmp_path / "back.db")
    asyncio.run(fill(source, n=60))
    user = ["--to-user", neo4j_config.username or "neo4j"]
    work = ["--workdir", str(tmp_path / "work")]
    runs = [
        ["migrate", *location_args("from", source), *location_args("to", neo4j_config), *user],
        # Again, so every record is found where it was: a second kind of statement.
        [
            "migrate",
            *location_args("from", source),
            *location_args("to", neo4j_config),
            *user,
            "--no-skip-duplicates",
        ],
        [
            "migrate",
            *location_args("from", neo4j_config),
            "--from-user",
            neo4j_config.username or "neo4j",
            *location_args("to", back),
        ],
        [
            "export",
            str(tmp_path / "out.jsonl"),
            "--backend",
            "neo4j",
            "--uri",
            neo4j_config.uri or "",
            "--user",
            neo4j_config.username or "neo4j",
        ],
    ]
    for args in runs:
        if args[0] == "migrate":
            args = [*args, *work]
        done = run_cli(args, env=_env(neo4j_config))
        assert done.returncode == 0, done.stderr
        for text in (done.stderr, done.stdout):
            assert "GqlStatusObject" not in text, text
            assert "notification" not in text.lower(), text
            assert "Received" not in text, text
    assert asyncio.run(snapshot(back)) == asyncio.run(snapshot(source))
