"""The `memorygraph` command: the one place errors become messages and exit codes.

Exit codes: 0 success, 1 the operation failed, 2 bad usage or configuration,
130 interrupted. No traceback reaches the user unless --debug is given.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence

import click
from rich.text import Text

from memorygraph import __version__
from memorygraph.cli import demo, exchange, memories, migrate, reindex, serve, status, token, ui
from memorygraph.cli.common import err_console, error_text, scrub
from memorygraph.errors import MemoryGraphError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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


for module in (memories, status, exchange, migrate, serve, token, reindex, demo, ui):
    module.register(cli)


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
    sys.exit(main())
