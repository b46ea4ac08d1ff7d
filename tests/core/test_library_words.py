"""The library speaks in its own terms: no string outside the CLI names one of the
CLI's flags or commands; each adapter words the library's next steps its own way."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import click
import pytest

import memorygraph
from memorygraph.cli.common import command_words, error_text
from memorygraph.cli.main import cli
from memorygraph.errors import MigrationError, NextStep, TargetBusyError
from memorygraph.mcp_server.results import error_message, tool_words

SOURCE = Path(memorygraph.__file__).parent
FLAG = re.compile(r"--[a-z][a-z-]+")
COMMAND = re.compile(r"`memorygraph ([a-z-]+)")
#: Modules that build another program's command line, whose flags are that program's.
OTHER_PROGRAMS = {
    "backends/falkordb_process.py": "the falkordb server's own command line",
    "testing/concurrency.py": "the command line of the serve processes its tests start",
}


def _cli_words() -> tuple[set[str], set[str]]:
    flags = {"--help", "--version"}
    commands: set[str] = set()

    def walk(command: click.Command) -> None:
        for param in command.params:
            flags.update(o for o in (*param.opts, *param.secondary_opts) if o.startswith("--"))
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                commands.add(name)
                walk(sub)

    walk(cli)
    return flags, commands


def _library_strings() -> list[tuple[str, int, str]]:
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        relative = path.relative_to(SOURCE).as_posix()
        if relative.startswith("cli/") or relative in OTHER_PROGRAMS:
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.append((relative, node.lineno, node.value))
    return found


def test_no_library_string_names_a_cli_flag_or_command() -> None:
    flags, commands = _cli_words()
    assert {"--rollback", "--from-graph", "--keep-deletions"} <= flags
    assert {"migrate", "import", "reindex", "validate"} <= commands
    offending = [
        f"{where}:{line}: {text!r}"
        for where, line, text in _library_strings()
        if set(FLAG.findall(text)) & flags or set(COMMAND.findall(text)) & commands
    ]
    assert not offending, "\n".join(offending)


def test_the_check_finds_a_flag_in_a_message() -> None:
    flags, commands = _cli_words()
    text = "undo it with `memorygraph migrate --rollback J`"
    assert set(FLAG.findall(text)) & flags and set(COMMAND.findall(text)) & commands


@pytest.mark.parametrize(
    ("step", "cli_says", "tool_says"),
    [
        (
            NextStep("rollback", "/w/ab12/journal.jsonl"),
            "`memorygraph migrate --rollback /w/ab12/journal.jsonl`",
            "rollback_migration (migration_id 'ab12')",
        ),
        (
            NextStep("resume", "/w/ab12/journal.jsonl"),
            "`memorygraph migrate --resume /w/ab12/journal.jsonl`",
            "resume_migration (migration_id 'ab12')",
        ),
        (
            NextStep("import_graph", "neo4j"),
            "`memorygraph import --from-graph neo4j --from-uri URI`",
            "target_config",
        ),
        (NextStep("reindex", "x.db"), "`memorygraph reindex`", "MemoryStore.reindex"),
        (NextStep("search"), "`memorygraph search`", "search_memories"),
        (
            NextStep("forget", "a b"),
            "`memorygraph forget 'a b'`",
            "delete_memory (memory_id 'a b')",
        ),
    ],
)
def test_each_adapter_words_a_next_step_its_own_way(
    step: NextStep, cli_says: str, tool_says: str
) -> None:
    error = MigrationError("the migration failed", next_steps=[step])
    assert "--" not in str(error) and "`memorygraph" not in str(error)
    assert cli_says in command_words(step) and cli_says in error_text(error)
    assert tool_says in tool_words(step) and tool_says in error_message(error)
    assert "--" not in error_message(error)


def test_an_unfinished_migration_is_settled_by_either_step() -> None:
    journal = "/w/ab12/journal.jsonl"
    error = TargetBusyError(
        "unfinished", next_steps=[NextStep("rollback", journal), NextStep("resume", journal)]
    )
    assert error_text(error) == (
        f"unfinished; undo it with `memorygraph migrate --rollback {journal}` "
        f"or finish it with `memorygraph migrate --resume {journal}`"
    )
    assert error.problem == "unfinished"
