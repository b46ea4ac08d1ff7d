"""`memorygraph demo`: build a small sample memory graph and show it."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from memorygraph.cli.common import console, run
from memorygraph.config import BackendConfig, BackendType
from memorygraph.sample import sample_memories, sample_relationships
from memorygraph.store import MemoryStore, StoreStats


@click.command()
@click.option(
    "--dir",
    "workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".demo"),
    show_default=True,
    help="Where the demo's databases go (created if missing).",
)
@click.option("--memories", type=click.IntRange(2, 100_000), default=200, show_default=True)
def demo(workdir: Path, memories: int) -> None:
    """Create a sample memory graph in SQLite and show it.

    \b
    Example:
      memorygraph demo --dir /tmp/mg-demo --memories 500
    """
    workdir.mkdir(parents=True, exist_ok=True)
    sqlite = BackendConfig(BackendType.SQLITE, path=workdir / "memory.db")

    async def go() -> StoreStats:
        async with MemoryStore.open(sqlite) as store:
            await store.backend.upsert_memories(list(sample_memories(memories)))
            await store.backend.upsert_relationships(list(sample_relationships(memories)))
            first = await store.search("redis", limit=3)
            table = Table("id", "type", "title", title="search: redis", header_style="bold")
            for m in first:
                table.add_row(m.id, m.type.value, m.title)
            console.print(table)
            return await store.stats()

    stats = run(go())
    console.print(
        f"sample graph in {stats.location}: {stats.memories} memories, "
        f"{stats.relationships} relationships",
        highlight=False,
    )


def register(group: click.Group) -> None:
    group.add_command(demo)
