"""The CLI: help with examples, output formats, one-line errors and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from memorygraph.cli.main import main


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "memory.db"
    monkeypatch.setenv("MEMORY_BACKEND", "sqlite")
    monkeypatch.setenv("MEMORY_SQLITE_PATH", str(path))
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "command", ["add", "get", "search", "relate", "related", "forget", "stats", "health", "demo"]
)
def test_every_command_has_help_with_an_example(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    code, out, _ = run(capsys, command, "--help")
    assert code == 0
    assert "Example" in out
    assert "memorygraph " + command in out


def test_add_get_search_relate_related_forget(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "add", "--type", "solution", "--title", "Pin redis", "--id", "fix", "--json"
    )
    assert code == 0 and json.loads(out)["id"] == "fix"
    assert run(capsys, "add", "--type", "problem", "--title", "Redis drops", "--id", "bug")[0] == 0
    code, out, _ = run(capsys, "relate", "fix", "bug", "solves", "--json")
    assert code == 0 and json.loads(out)["type"] == "SOLVES"
    code, out, _ = run(capsys, "search", "redis", "--json")
    assert {m["id"] for m in json.loads(out)} == {"fix", "bug"}
    code, out, _ = run(capsys, "related", "bug", "--json")
    assert [n["memory"]["id"] for n in json.loads(out)] == ["fix"]
    code, out, _ = run(capsys, "get", "bug", "--json")
    assert json.loads(out)["title"] == "Redis drops"
    code, out, _ = run(capsys, "stats", "--json")
    stats = json.loads(out)
    assert (stats["memories"], stats["relationships"]) == (2, 1)
    assert run(capsys, "forget", "fix")[0] == 0
    code, out, _ = run(capsys, "stats", "--json")
    assert (json.loads(out)["memories"], json.loads(out)["relationships"]) == (1, 0)


def one_line_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["stats", "--backend", "mongodb"], 2, "'mongodb' is not one of"),
        (["stats", "--backend", "neo4j"], 2, "neo4j needs a uri"),
        (["add", "--type", "solution"], 2, "Missing option '--title'"),
        (["add", "--type", "task", "--title", "t", "--importance", "3"], 2, "importance"),
        (["get", "absent"], 1, "no memory with id 'absent'"),
        (["relate", "a", "b", "SOLVES"], 1, "TO_ID 'b' is not a stored memory"),
    ],
)
def test_bad_input_gives_one_line_and_exit_code(
    db: Path, capsys: pytest.CaptureFixture[str], args: list[str], code: int, needle: str
) -> None:
    if args[0] in ("get", "relate"):
        assert run(capsys, "add", "--type", "task", "--title", "t", "--id", "a")[0] == 0
    got, _, err = run(capsys, *args)
    assert got == code
    assert needle in one_line_error(err)


def test_no_partial_write_on_failed_relate(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "add", "--type", "task", "--title", "t", "--id", "a")
    before = db.read_bytes()
    assert run(capsys, "relate", "a", "missing", "SOLVES")[0] == 1
    _, out, _ = run(capsys, "stats", "--json")
    assert json.loads(out)["relationships"] == 0
    assert len(db.read_bytes()) == len(before)


@pytest.mark.parametrize(
    ("setup", "needle"),
    [
        ("text", "not a usable memorygraph database"),
        ("missing-dir", "does not exist"),
        ("read-only", "read-only"),
    ],
)
def test_unusable_database_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], setup: str, needle: str
) -> None:
    path = tmp_path / "memory.db"
    if setup == "text":
        path.write_text("hello\n" * 100)
    elif setup == "missing-dir":
        path = tmp_path / "nowhere" / "memory.db"
    else:
        assert main(["add", "--type", "task", "--title", "t", "--path", str(path)]) == 0
        path.chmod(0o444)
    before = path.read_bytes() if path.exists() else None
    code, _, err = run(capsys, "add", "--type", "task", "--title", "x", "--path", str(path))
    assert code == 2
    assert needle in one_line_error(err)
    assert (path.read_bytes() if path.exists() else None) == before


@pytest.mark.parametrize(
    ("backend", "uri"),
    [("neo4j", "bolt://u:pw-in-uri@127.0.0.1:1"), ("falkordb", "redis://u:pw-in-uri@127.0.0.1:1")],
)
@pytest.mark.parametrize("command", ["stats", "health"])
def test_password_never_printed(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    backend: str,
    uri: str,
    command: str,
) -> None:
    monkeypatch.setenv("NEO4J_PASSWORD", "hunter2-secret")
    monkeypatch.setenv("FALKORDB_PASSWORD", "hunter2-secret")
    code, out, err = run(capsys, command, "--backend", backend, "--uri", uri, "--json")
    assert code in (1, 2)
    assert "hunter2-secret" not in out + err and "pw-in-uri" not in out + err
    code, out, err = run(
        capsys,
        "migrate",
        "--from",
        backend,
        "--from-uri",
        uri,
        "--to",
        "sqlite",
        "--to-path",
        "/nonexistent-dir/x.db",
        "--json",
    )
    assert code in (1, 2)
    assert "hunter2-secret" not in out + err and "pw-in-uri" not in out + err


def test_demo_builds_and_shows_a_sample_graph(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "demo", "--dir", str(tmp_path), "--memories", "30")
    assert code == 0
    assert "30 memories, 60 relationships" in out
    assert "4. an agent asks `memorygraph serve` (11 tools, over stdio)" in out
    assert "matched redis" in out


def test_an_error_about_one_input_names_its_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    unknown = tmp_path / "notes.txt"
    unknown.write_text("just some notes\n")
    db = tmp_path / "memory.db"
    assert main(["import", str(unknown), "--path", str(db)]) == 2
    err = capsys.readouterr().err
    assert "cannot tell the format" in err and "(--format)" in err


def test_relationship_types_are_case_insensitive_everywhere_and_forget_reports_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "memory.db")
    assert main(["add", "--type", "problem", "--title", "p", "--id", "p", "--path", db]) == 0
    assert main(["add", "--type", "fix", "--title", "f", "--id", "f", "--path", db]) == 0
    assert main(["relate", "f", "p", "solves", "--path", db]) == 0
    capsys.readouterr()
    assert main(["related", "p", "--type", "solves", "--json", "--path", db]) == 0
    related = json.loads(capsys.readouterr().out)
    assert [n["relationship"]["type"] for n in related] == ["SOLVES"]
    assert main(["forget", "f", "--json", "--path", db]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "id": "f",
        "deleted": True,
        "relationships_deleted": 1,
    }


def test_every_command_that_reports_has_json_and_the_guide_says_which() -> None:
    from memorygraph.cli.main import cli

    without = {
        name
        for name, command in cli.commands.items()
        if not any("--json" in p.opts for p in command.params)
    }
    assert without == {"demo", "serve", "token", "ui"}
    guide = (Path(__file__).parents[2] / "docs" / "CLI.md").read_text()
    assert "most commands that report have\n`--json`" in guide


def test_memory_types_are_case_insensitive_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "memory.db")
    assert main(["add", "--type", "SOLUTION", "--title", "pin redis", "--path", db]) == 0
    capsys.readouterr()
    assert main(["search", "redis", "--type", "Solution", "--json", "--path", db]) == 0
    assert [h["type"] for h in json.loads(capsys.readouterr().out)] == ["solution"]


def test_each_command_is_loaded_from_the_module_that_defines_it() -> None:
    from memorygraph.cli.main import COMMAND_MODULES, cli

    assert sorted(cli.commands) == sorted(COMMAND_MODULES)
    for name, command in cli.commands.items():
        assert command.callback is not None
        assert command.callback.__module__ == f"memorygraph.cli.{COMMAND_MODULES[name]}"


#: Starts `memorygraph serve`'s command and a core server on a store, then prints which
#: of the modules a stdio server of the core profile has no use for were loaded.
_SERVE_IMPORTS = """
import asyncio, sys
from pathlib import Path
import click
from memorygraph.cli.main import cli
assert cli.get_command(click.Context(cli), "serve") is not None
from memorygraph.config import BackendConfig
from memorygraph.mcp_server import build_server
from memorygraph.ops.memories import open_store

async def main():
    async with open_store(BackendConfig("sqlite", path=Path(sys.argv[1]))) as store:
        assert build_server(store).state.store is store

asyncio.run(main())
unused = (
    "memorygraph.migration", "memorygraph.exchange", "memorygraph.ops.migrations",
    "memorygraph.ops.exchange", "memorygraph.mcp_server.migration_tools",
    "memorygraph.mcp_server.http", "memorygraph.jwt_tokens", "memorygraph.tokens", "jwt",
    "snowballstemmer", "numpy", "memorygraph.cli.migrate", "memorygraph.cli.exchange",
    "memorygraph.cli.demo", "memorygraph.cli.token", "memorygraph.cli.memories",
)
print(sorted(m for m in sys.modules if m.startswith(unused)))
"""


def test_a_stdio_server_starts_without_loading_what_its_tools_do_not_use(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _SERVE_IMPORTS, str(tmp_path / "memory.db")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
