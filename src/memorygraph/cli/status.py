"""Commands about a whole store: stats and health."""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table
from rich.text import Text

from memorygraph.cli.common import backend_options, config_from_options, console, emit_json, run
from memorygraph.ops import memories as ops
from memorygraph.ops.memories import Health


@click.command()
@backend_options()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def stats(as_json: bool, **options: Any) -> None:
    """Count memories and relationships, overall and per type.

    \b
    Examples:
      memorygraph stats
      memorygraph stats --backend neo4j --uri bolt://127.0.0.1:7687 --json
    """

    async def go() -> ops.Statistics:
        async with ops.open_store(config_from_options(options, read_only=True)) as store:
            return await ops.get_memory_statistics(store)

    result = run(go())
    if as_json:
        emit_json(result.model_dump(mode="json"))
        return
    console.print(
        Text.assemble(
            (result.location, "bold"),
            f" ({result.engine_version}): "
            f"{result.memories} memories, {result.relationships} relationships",
        ),
        highlight=False,
    )
    table = Table("kind", "type", "count", header_style="bold")
    for kind, counts in (
        ("memory", result.memories_by_type),
        ("relationship", result.relationships_by_type),
    ):
        for name, n in sorted(counts.items()):
            table.add_row(kind, name, str(n))
    if table.row_count:
        console.print(table)


@click.command()
@backend_options()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def health(as_json: bool, **options: Any) -> None:
    """Check that a backend answers; exit 1 if it does not.

    \b
    Examples:
      memorygraph health --backend falkordb --uri redis://127.0.0.1:6379
      memorygraph health --json
    """

    result: Health = run(ops.check_health(config_from_options(options, read_only=True)))
    if as_json:
        emit_json(result.to_dict())
    elif result.connected:
        console.print(
            Text.assemble(
                ("ok", "green"),
                f" {result.location}: {result.engine_version}, "
                f"{result.memory_count} memories, {result.relationship_count} relationships",
            ),
            highlight=False,
        )
    else:
        console.print(
            Text.assemble(("unhealthy", "red"), f" {result.location}: {result.error}"),
            highlight=False,
        )
    if not result.connected:
        raise click.exceptions.Exit(1)


def register(group: click.Group) -> None:
    group.add_command(stats)
    group.add_command(health)
