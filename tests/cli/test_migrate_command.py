"""`memorygraph migrate`: help, dry run, verbose, JSON, bad arguments, exit codes."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import pytest

from memorygraph.cli.main import main
from memorygraph.config import BackendConfig
from memorygraph.errors import MigrationError
from memorygraph.migration.manager import MigrationManager
from memorygraph.migration.models import MigrationOptions
from tests.migration.helpers import dropping_factory, fill, snapshot


@pytest.fixture
async def paths(tmp_path: Path) -> dict[str, str]:
    source = tmp_path / "source.db"
    await fill(BackendConfig("sqlite", path=source), n=20, tricky=False)
    return {
        "source": str(source),
        "target": str(tmp_path / "target.db"),
        "work": str(tmp_path / "work"),
    }


def migrate(
    capsys: pytest.CaptureFixture[str], p: dict[str, str], *extra: str
) -> tuple[int, str, str]:
    args = [
        "migrate",
        "--from",
        "sqlite",
        "--from-path",
        p["source"],
        "--to",
        "sqlite",
        "--to-path",
        p["target"],
        "--workdir",
        p["work"],
        *extra,
    ]
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_help_lists_flags_and_examples(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--help"]) == 0
    out = capsys.readouterr().out
    for flag in [
        "--from",
        "--from-path",
        "--from-uri",
        "--to",
        "--to-path",
        "--to-uri",
        "--dry-run",
        "--verbose",
        "--skip-duplicates",
        "--no-skip-duplicates",
        "--no-verify",
        "--since",
        "--json",
        "--rollback",
        "--resume",
        "Examples:",
        "Exit codes",
    ]:
        assert flag in out, flag


def test_dry_run_reports_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], paths: dict[str, str]
) -> None:
    code, out, _ = migrate(capsys, paths, "--dry-run")
    assert code == 0
    assert "dry run" in out and "would go to" in out and "nothing was written" in out
    assert not Path(paths["target"]).exists()


def test_migration_report_and_json(
    capsys: pytest.CaptureFixture[str], paths: dict[str, str]
) -> None:
    code, out, _ = migrate(capsys, paths, "--verbose")
    assert code == 0
    assert "migrated 20 memories and 40 relationships" in out
    assert "verified 60 of 60 records (full)" in out
    assert "compatibility: sqlite → sqlite" in out  # verbose shows phase details
    code, out, _ = migrate(capsys, paths, "--json")
    report = json.loads(out)
    assert code == 0 and report["success"] is True
    assert report["memories"]["unchanged"] == 20  # already there from the first run
    assert report["verification"]["valid"] is True


def test_source_file_is_never_written(
    capsys: pytest.CaptureFixture[str], paths: dict[str, str]
) -> None:
    before = hashlib.sha256(Path(paths["source"]).read_bytes()).hexdigest()
    assert migrate(capsys, paths)[0] == 0
    assert hashlib.sha256(Path(paths["source"]).read_bytes()).hexdigest() == before
    source = BackendConfig("sqlite", path=Path(paths["source"]))
    target = BackendConfig("sqlite", path=Path(paths["target"]))
    assert asyncio.run(snapshot(source)) == asyncio.run(snapshot(target))


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["migrate", "--from", "sqlite", "--from-path", "x.db"], "Missing option '--to'"),
        (["migrate", "--from", "oracle", "--to", "sqlite"], "'oracle' is not one of"),
        (["migrate", "--to", "cassandra"], "'cassandra' is not one of"),
        (["migrate", "--to", "neo4j", "--from-path", "x.db"], "the target needs a uri"),
        (["migrate", "--to", "sqlite", "--since", "yesterday"], "not an ISO-8601 timestamp"),
        (["migrate", "--to", "sqlite", "--since", "2025-01-01T00:00:00"], "no time zone"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    needle: str,
) -> None:
    monkeypatch.delenv("NEO4J_URI", raising=False)
    assert main(args) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0], lines


def test_same_store_and_missing_source_exit_2(
    capsys: pytest.CaptureFixture[str], paths: dict[str, str], tmp_path: Path
) -> None:
    same = dict(paths, target=paths["source"])
    code, _, err = migrate(capsys, same)
    assert code == 2 and "same store" in err
    missing = dict(paths, source=str(tmp_path / "absent.db"))
    code, _, err = migrate(capsys, missing)
    assert code == 2 and "no database" in err


def test_unreachable_source_exits_1_and_says_nothing_was_written(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = main(
        [
            "migrate",
            "--from",
            "falkordb",
            "--from-uri",
            "redis://127.0.0.1:9",
            "--to",
            "sqlite",
            "--to-path",
            str(tmp_path / "t.db"),
            "--workdir",
            str(tmp_path / "w"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert len(err.splitlines()) == 1  # no tables of zeros before the error
    assert "before anything was written" in err
    assert not (tmp_path / "t.db").exists()


def test_rollback_flag_undoes_a_failed_migration(
    capsys: pytest.CaptureFixture[str], paths: dict[str, str]
) -> None:
    source = BackendConfig("sqlite", path=Path(paths["source"]))
    target = BackendConfig("sqlite", path=Path(paths["target"]))
    asyncio.run(fill(target, n=3, tricky=False))
    before = asyncio.run(snapshot(target))
    manager = MigrationManager(backend_factory=dropping_factory(target, after_batches=1))
    options = MigrationOptions(
        workdir=Path(paths["work"]), rollback_on_failure=False, batch_size=10
    )
    with pytest.raises(MigrationError) as info:
        asyncio.run(manager.migrate(source, target, options))
    journal = info.value.result.journal_path
    assert asyncio.run(snapshot(target)) != before
    assert main(["migrate", "--rollback", journal, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["rolled_back"] is True and report["deleted_memories"] == 17
    assert asyncio.run(snapshot(target)) == before
    assert main(["migrate", "--rollback", str(Path(paths["work"]) / "absent.jsonl")]) == 2
    assert "cannot read journal" in capsys.readouterr().err


@pytest.mark.parametrize("as_json", [False, True])
def test_unreachable_target_prints_one_line_and_no_tables(
    capsys: pytest.CaptureFixture[str], paths: dict[str, str], tmp_path: Path, as_json: bool
) -> None:
    args = [
        "migrate", "--from", "sqlite", "--from-path", paths["source"],
        "--to", "neo4j", "--to-uri", "bolt://127.0.0.1:9", "--workdir", paths["work"],
    ]  # fmt: skip
    code = main([*args, "--json"] if as_json else args)
    out, err = capsys.readouterr()
    assert code == 1
    assert len(err.splitlines()) == 1
    assert err.startswith("error: migration failed before anything was written: cannot connect")
    if as_json:
        report = json.loads(out)
        assert report["success"] is False and report["journal_path"] is None
        assert report["errors"] and "cannot connect" in report["errors"][0]
    else:
        assert out == ""


def test_help_says_the_target_is_required_and_has_no_default(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["migrate", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    to_help = out.split("--to [", 1)[1].split("--to-path", 1)[0]
    assert "(required)" in to_help and "MEMORY_BACKEND" not in to_help
    assert "$MEMORY_BACKEND" in out.split("--from [", 1)[1].split("--from-path", 1)[0]
    source = str(tmp_path / "s.db")
    assert main(["migrate", "--from", "sqlite", "--from-path", source]) == 2
    assert "Missing option '--to'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flags", "mode"),
    [((), "full"), (("--sample-every", "7"), "sample"), (("--no-verify",), "none")],
)
def test_verification_is_full_sampled_or_skipped(
    capsys: pytest.CaptureFixture[str], paths: dict[str, str], flags: tuple[str, ...], mode: str
) -> None:
    code, out, _ = migrate(capsys, paths, "--json", *flags)
    assert code == 0
    verification = json.loads(out)["verification"]
    assert (verification["mode"] if verification else "none") == mode
