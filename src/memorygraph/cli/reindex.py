"""`memorygraph reindex`: rebuild the search index of a store."""

from __future__ import annotations

import time
from typing import Any

import click

from memorygraph.cli.common import (
    backend_options,
    config_from_options,
    console,
    emit_json,
    run,
    search_settings,
)
from memorygraph.ops import memories as ops


@click.command()
@backend_options()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def reindex(as_json: bool, **options: Any) -> None:
    """Rebuild the search index from the stored memories.

    Needed once for a store written before ranked search existed (search says
    so); every write keeps the index current after that. Safe to run again.

    \b
    Examples:
      memorygraph reindex --backend sqlite --path ./memory.db
      memorygraph reindex --backend neo4j --uri bolt://127.0.0.1:7687 --json
    """

    async def go() -> tuple[int, str]:
        async with ops.open_store(config_from_options(options), search_settings()) as store:
            return await ops.reindex(store), store.describe()

    started = time.monotonic()
    count, location = run(go())
    seconds = time.monotonic() - started
    if as_json:
        emit_json({"location": location, "indexed": count, "seconds": round(seconds, 3)})
    else:
        console.print(f"indexed {count} memories in {location} ({seconds:.1f}s)", highlight=False)


def register(group: click.Group) -> None:
    group.add_command(reindex)
