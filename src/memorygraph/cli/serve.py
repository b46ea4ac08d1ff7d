"""`memorygraph serve`: the MCP server over stdio, for AI coding agents."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.text import Text

from memorygraph.cli.common import (
    backend_options,
    config_from_options,
    err_console,
    error_text,
    run,
    search_settings,
)
from memorygraph.cli.serve_http import HTTP_KEYS, http_options, http_settings, run_http
from memorygraph.config import DEFAULT_HOME
from memorygraph.mcp_server import PROFILES, Limits, ServerSettings, build_server
from memorygraph.ops.memories import open_store

if TYPE_CHECKING:
    from memorygraph.ops.migrations import MigrationDesk

LOG_LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

#: What writing to a client that went away raises: its end of our stdout is closed.
CLIENT_GONE = (BrokenPipeError, ConnectionResetError)


@click.command()
@backend_options()
@click.option(
    "--transport",
    type=click.Choice(["stdio", "http"], case_sensitive=False),
    default="stdio",
    show_default=True,
    help="stdio: for one agent that starts the server; http: MCP streamable HTTP at /mcp, "
    "for a team.",
)
@http_options
@click.option(
    "--profile",
    type=click.Choice(PROFILES, case_sensitive=False),
    envvar="MEMORY_TOOL_PROFILE",
    default="core",
    show_default=True,
    help="core: the memory tools; extended: also migration, export and import "
    "(env MEMORY_TOOL_PROFILE).",
)
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="MEMORY_MIGRATIONS_DIR",
    help="Where migration journals go (default ~/.memorygraph/migrations; "
    "env MEMORY_MIGRATIONS_DIR).",
)
@click.option(
    "--log-level",
    type=click.Choice(LOG_LEVELS, case_sensitive=False),
    envvar="MEMORY_LOG_LEVEL",
    default="WARNING",
    show_default=True,
    help="Log to stderr from this level on (env MEMORY_LOG_LEVEL).",
)
@click.option(
    "--limit",
    "limits",
    multiple=True,
    metavar="NAME=VALUE",
    envvar="MEMORY_LIMITS",
    help="Change one limit on a request, e.g. max_content_chars=200000 (repeatable; "
    "env MEMORY_LIMITS, space-separated). The limits and their defaults: docs/MCP.md.",
)
def serve(
    transport: str,
    profile: str,
    workdir: Path | None,
    log_level: str,
    limits: tuple[str, ...],
    **options: Any,
) -> None:
    """Run the MCP server over stdio, for an AI coding agent to start, or over HTTP,
    for a team's agents to share (see docs/TEAM.md).

    Stdout carries only protocol messages; logs go to stderr and never hold a
    password. The store is chosen like every other command's (flags or
    environment) and opened before the server answers, so a bad path fails here.
    The server exits 0 when the client closes stdin, or goes away altogether; a
    migration that this stops is rolled back first, and one line on stderr says so
    (or, if it could not be, how to settle its journal).

    Over HTTP the server is stateless, so several processes can serve one store;
    it checks every request's bearer token (--tokens, --jwt-…) before any tool
    runs, shows each caller the tools its scopes allow, and stops on SIGTERM after
    the calls in flight. Without authentication it listens on loopback only.

    \b
    Examples:
      claude mcp add memorygraph -- memorygraph serve
      memorygraph serve --path ~/.memorygraph/memory.db --profile extended
      memorygraph serve --limit max_content_chars=200000 --limit max_tags=20
      MEMORY_BACKEND=neo4j NEO4J_URI=bolt://127.0.0.1:7687 NEO4J_PASSWORD=… memorygraph serve
      memorygraph serve --transport http --port 8765 --tokens tokens.json --audit-log audit.jsonl
      memorygraph serve --transport http --host 0.0.0.0 --jwt-jwks-url https://idp/jwks.json \\
          --jwt-audience memorygraph
    """
    if options.get("ask_password"):
        raise click.UsageError(
            "serve talks the protocol on stdin, so it cannot prompt; put the password in "
            "the environment (for example NEO4J_PASSWORD) instead of --ask-password"
        )
    http = http_settings(options) if transport.lower() == "http" else None
    if http is None and any(options.get(key) for key in HTTP_KEYS if key not in ("host", "port")):
        raise click.UsageError("--tokens, --jwt-… and --audit-log need --transport http")
    config = config_from_options(options)
    level = log_level.upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = ServerSettings(
        profile=ServerSettings.profile_named(profile),
        workdir=(workdir or DEFAULT_HOME.expanduser() / "migrations").expanduser().resolve(),
        environment=dict(os.environ),
        log_level=level,  # type: ignore[arg-type]
        limits=Limits.parse(limits),
    )

    if http is not None:
        run(run_http(config, settings, http))
        return

    async def go() -> None:
        async with open_store(config, search_settings()) as store:
            server = build_server(store, settings)
            why = "the client closed the connection"
            try:
                await server.run_stdio_async()
            except* CLIENT_GONE:
                why = "the client went away"
            # Every task has ended by now: a migration the client's departure cancelled
            # has been rolled back, or has kept its journal.
            desk = server.state.desk_in_use
            farewell = stopped_migrations(desk) if desk is not None else ""
            if farewell:
                err_console.print(Text(f"memorygraph serve: {why}; {farewell}"), highlight=False)

    run(go())


def stopped_migrations(desk: MigrationDesk) -> str:
    """One line on the migrations the client's departure stopped, each with
    the state its target was left in and, when it was not rolled back, the commands
    that settle its journal; empty when none was running."""
    said = [
        f"migration {migration_id} into {error.result.target if error.result else '?'} "
        f"was stopped: {error_text(error)}"
        for migration_id, error in desk.stopped.items()
    ]
    return "; ".join(said)


def register(group: click.Group) -> None:
    group.add_command(serve)
