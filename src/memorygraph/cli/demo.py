"""`memorygraph demo`: a sample memory graph in SQLite, migrated to FalkorDB embedded,
then recalled by an agent through `memorygraph serve`."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import click
from mcp import Client, StdioServerParameters
from rich.table import Table
from rich.text import Text

from memorygraph.cli.common import console, run
from memorygraph.cli.migrate import show_report
from memorygraph.cli.progress import ProgressDisplay, show_progress
from memorygraph.config import DEFAULT_BACKEND, BackendConfig
from memorygraph.errors import MemoryGraphError
from memorygraph.ops import memories as ops
from memorygraph.ops import migrations
from memorygraph.ops.migrations import MigrationOptions, MigrationResult
from memorygraph.sample import sample_memories, sample_relationships

#: The stores on this machine the demo can migrate into: every backend located by a
#: path, the default backend (where the sample is built) last.
LOCAL_TARGETS = [
    *(s.name for s in ops.loaded_specs() if s.uses_path and s.name != DEFAULT_BACKEND),
    DEFAULT_BACKEND,
]


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
    type=click.Choice(LOCAL_TARGETS),
    default=LOCAL_TARGETS[0],
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
    source = BackendConfig(DEFAULT_BACKEND, path=workdir / "memory.db")
    copy = "copy.db" if target_kind == DEFAULT_BACKEND else target_kind
    target = BackendConfig(target_kind, path=workdir / copy)
    display = ProgressDisplay(enabled=show_progress())

    async def go() -> MigrationResult:
        async with ops.open_store(source) as store:
            await ops.load_records(store, sample_memories(memories), sample_relationships(memories))
            stats = await ops.get_memory_statistics(store)
        console.print(
            f"1. built a sample graph in {stats.location}: {stats.memories} memories, "
            f"{stats.relationships} relationships",
            highlight=False,
        )
        console.print(f"2. migrating it to {target.describe()}, with full verification:")
        with display.running():
            result = await migrations.migrate(
                source,
                target,
                MigrationOptions(workdir=workdir / "migrations"),
                progress=display.update,
            )
        show_report(result, as_json=False, verbose=False)
        async with ops.open_store(target.read_only_copy()) as store:
            hits = await ops.find_memories(store, query="redis timeout", limit=3)
            found = [hit.memory for hit in hits]
            pages = await ops.related_pages(store, memory_id="mem-00000000")
            hub = [n async for page in pages for n in page]
        table = Table("id", "type", "title", header_style="bold")
        for m in found:
            table.add_row(m.id, m.type.value, m.title)
        console.print("3. searching the migrated graph for 'redis timeout':")
        console.print(table)
        console.print(
            f"   mem-00000000 has {len(hub)} neighbours in {target.backend_type}",
            highlight=False,
        )
        await _ask_as_an_agent(source)
        return result

    run(go())


AGENT_QUESTION = "how did we fix the redis timeouts"


async def _ask_as_an_agent(store: BackendConfig) -> None:
    """Start `memorygraph serve` on the store as an MCP client would (a subprocess on
    stdio) and ask it what an agent asks."""
    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "memorygraph", "serve", "--path", str(store.path)],
        env={k: v for k, v in os.environ.items() if not k.startswith("MEMORY_")},
    )
    async with Client(server) as client:
        tools = (await client.list_tools()).tools
        result = await client.call_tool("recall_memories", {"query": AGENT_QUESTION, "limit": 5})
    if result.is_error or result.structured_content is None:
        raise MemoryGraphError(f"the MCP server could not recall: {result.content}")
    console.print(
        Text(
            f"4. an agent asks `memorygraph serve` ({len(tools)} tools, over stdio): "
            f"recall_memories({AGENT_QUESTION!r})"
        )
    )
    table = Table("id", "type", "title", "why", header_style="bold")
    for hit in result.structured_content["results"]:
        memory = hit["memory"]
        table.add_row(memory["id"], memory["type"], memory["title"], hit["reason"])
    console.print(table)


def register(group: click.Group) -> None:
    group.add_command(demo)
