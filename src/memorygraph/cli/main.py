"""The `memorygraph` command: the one place errors become messages and exit codes.

Exit codes: 0 success, 1 the operation failed, 2 bad usage or configuration,
130 interrupted. No traceback reaches the user unless --debug is given.
"""

from __future__ import annotations

import importlib
import sys
import traceback
from collections.abc import Sequence
from typing import Any

import click
from rich.text import Text

from memorygraph.cli.common import err_console, error_text, scrub
from memorygraph.cli.startup import collection_paused
from memorygraph.errors import MemoryGraphError
from memorygraph.version import __version__

#: Each command and the module of `memorygraph.cli` that defines it (and registers it).
COMMAND_MODULES = {
    **dict.fromkeys(["add", "get", "update", "relate", "related", "forget"], "memories"),
    **dict.fromkeys(["search", "recall"], "finding"),
    **dict.fromkeys(["stats", "health"], "status"),
    **dict.fromkeys(["export", "import", "validate"], "exchange"),
    "migrate": "migrate",
    "serve": "serve",
    "token": "token",
    "reindex": "reindex",
    "demo": "demo",
    "ui": "ui",
}


class LazyGroup(click.Group):
    """A group that imports a command's module only when that command is asked for:
    `memorygraph serve` then starts without loading migration, export or token code.
    `commands` (every command, for help and references) loads them all."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._loaded: set[str] = set()
        self._commands: dict[str, click.Command] = {}
        super().__init__(*args, **kwargs)

    @property  # type: ignore[override]
    def commands(self) -> dict[str, click.Command]:
        for module in sorted(set(COMMAND_MODULES.values())):
            self._load(module)
        return self._commands

    @commands.setter
    def commands(self, value: dict[str, click.Command]) -> None:
        self._commands = dict(value)

    def _load(self, module: str) -> None:
        if module not in self._loaded:
            self._loaded.add(module)
            with collection_paused():
                command_module = importlib.import_module(f"memorygraph.cli.{module}")
            command_module.register(self)

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        name = name or cmd.name
        assert name is not None
        self._commands[name] = cmd

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMAND_MODULES.get(cmd_name)
        if module is not None:
            self._load(module)
        return self._commands.get(cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMAND_MODULES)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="memorygraph")
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
def cli(debug: bool) -> None:
    """memorygraph: a graph memory store for AI coding agents.

    \b
    Examples:
      memorygraph add --type solution --title "Pin redis to 7.2"
      memorygraph search redis
      memorygraph --debug stats --backend sqlite --path ./memory.db

    The backend comes from --backend/--path/--uri or from the environment
    (MEMORY_BACKEND, MEMORY_SQLITE_PATH, NEO4J_URI, …; see docs/CLI.md).
    """


def _fail(message: str, code: int) -> int:
    err_console.print(
        Text.assemble(("error:", "bold red"), " ", message), highlight=False, soft_wrap=True
    )
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code instead of raising."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        rv = cli.main(args=args, prog_name="memorygraph", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as e:
        click.echo(e.ctx.get_help() if e.ctx else str(e))
        return 2
    except click.UsageError as e:
        where = (
            f"memorygraph {e.ctx.command_path.split(' ', 1)[1]}"
            if e.ctx and " " in (e.ctx.command_path)
            else "memorygraph"
        )
        return _fail(f"{e.format_message()} (see `{where} --help`)", 2)
    except click.ClickException as e:
        return _fail(e.format_message(), e.exit_code)
    except click.exceptions.Abort:
        return _fail("aborted", 130)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except MemoryGraphError as e:
        if debug:
            # Engine drivers quote URIs (with their credentials) in their own messages.
            sys.stderr.write(scrub(traceback.format_exc()))
        return _fail(error_text(e), e.exit_code)
    return rv if isinstance(rv, int) else 0


def entry() -> None:
    """The command as installed before `memorygraph.cli.entry` (kept for scripts that
    still name this one)."""
    sys.exit(main())
