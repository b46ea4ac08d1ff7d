"""Commands on single memories: add, get, update, search, relate, related, forget.

Each parses its options, calls `memorygraph.ops`, and prints what it returns."""

from __future__ import annotations

import sys
from typing import Any

import click
import orjson
from rich.table import Column, Table
from rich.text import Text

from memorygraph.cli.common import (
    backend_options,
    config_from_options,
    console,
    emit_json,
    run,
    search_settings,
)
from memorygraph.models import Memory, MemoryType, Relationship, RelationshipType
from memorygraph.ops import memories as ops
from memorygraph.ops.memories import Direction, Neighbour, version_of
from memorygraph.search import SearchHit

MEMORY_TYPES = [t.value for t in MemoryType]
RELATIONSHIP_TYPES = [t.value for t in RelationshipType]
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


def _memory_table(memories: list[Memory]) -> Table:
    table = Table("id", "type", "title", "tags", header_style="bold")
    for m in memories:
        table.add_row(m.id, m.type.value, m.title, ", ".join(m.tags))
    return table


@click.command()
@click.option(
    "--type", "memory_type", type=click.Choice(MEMORY_TYPES, case_sensitive=False), required=True
)
@click.option("--title", required=True, help="One line that says what this memory is.")
@click.option("--content", default="", help="The full text.")
@click.option("--summary", help="A short summary.")
@click.option("--tag", "tags", multiple=True, help="A tag; repeat for several.")
@click.option("--importance", type=float, default=0.5, show_default=True, help="0..1")
@click.option("--id", "memory_id", help="An id of your own (default: a new UUID).")
@click.option(
    "--replace", is_flag=True, help="Replace the memory stored under --id, whole (else refused)."
)
@click.option(
    "--namespace",
    help="The namespace to store it in (kept as context.tenant_id; default: the default one).",
)
@backend_options()
@json_option
def add(
    memory_type: str,
    title: str,
    content: str,
    summary: str | None,
    tags: tuple[str, ...],
    importance: float,
    memory_id: str | None,
    replace: bool,
    namespace: str | None,
    as_json: bool,
    **options: Any,
) -> None:
    """Remember something. An --id already in use is refused (exit 3) unless --replace.

    \b
    Examples:
      memorygraph add --type solution --title "Pin redis to 7.2" --tag redis
      memorygraph add --type problem --title "Idle clients dropped" --content "…" --json
      memorygraph add --type fix --title "Pin redis 7.2.4" --id fix --replace
      memorygraph add --type decision --title "Use Postgres 16" --namespace team-a
    """

    async def go() -> Memory:
        async with ops.open_store(config_from_options(options), search_settings()) as store:
            return await ops.remember(
                store,
                type=memory_type,
                title=title,
                content=content,
                summary=summary,
                tags=tags,
                importance=importance,
                memory_id=memory_id or None,
                replace=replace,
                namespace=namespace,
            )

    stored = run(go())
    if as_json:
        emit_json(stored.to_dict())
    else:
        console.print(
            Text.assemble(f"remembered {stored.type.value} ", (stored.id, "bold")),
            highlight=False,
        )


@click.command()
@click.argument("memory_id")
@backend_options()
@json_option
def get(memory_id: str, as_json: bool, **options: Any) -> None:
    """Show one memory.

    \b
    Example:
      memorygraph get 3f2c…  --json
    """

    async def go() -> Memory:
        async with ops.open_store(config_from_options(options, read_only=True)) as store:
            return await ops.memory(store, memory_id)

    memory = run(go())
    _show(memory, as_json)


def _show(memory: Memory, as_json: bool) -> None:
    """A memory as JSON or as a table, with its version first."""
    shown = {"version": version_of(memory), **memory.to_dict()}
    if as_json:
        emit_json(shown)
        return
    table = Table(show_header=False, box=None)
    for key, value in shown.items():
        if value not in (None, [], {}):
            table.add_row(Text(key, style="bold"), str(value))
    console.print(table)


@click.command()
@click.argument("memory_id")
@click.option("--title", help="A new title.")
@click.option("--content", help="New content.")
@click.option("--summary", help="A new summary.")
@click.option(
    "--type", "memory_type", type=click.Choice(MEMORY_TYPES, case_sensitive=False),
    help="A new type.",
)  # fmt: skip
@click.option("--importance", type=click.FloatRange(0, 1), help="0..1")
@click.option("--confidence", type=click.FloatRange(0, 1), help="0..1")
@click.option("--effectiveness", type=click.FloatRange(0, 1), help="0..1")
@click.option("--add-tag", "add_tags", multiple=True, help="A tag to add; repeat for several.")
@click.option("--remove-tag", "remove_tags", multiple=True, help="A tag to remove; repeatable.")
@click.option("--add-file", "add_files", multiple=True, help="A file to add to files_involved.")
@click.option("--remove-file", "remove_files", multiple=True, help="A file to remove.")
@click.option("--project", "project_path", help="A new project path (context.project_path).")
@click.option(
    "--expected-version",
    help="Change it only if it is still at this version (from `get`); exit 3 otherwise.",
)
@backend_options()
@json_option
def update(
    memory_id: str,
    title: str | None,
    content: str | None,
    summary: str | None,
    memory_type: str | None,
    importance: float | None,
    confidence: float | None,
    effectiveness: float | None,
    add_tags: tuple[str, ...],
    remove_tags: tuple[str, ...],
    add_files: tuple[str, ...],
    remove_files: tuple[str, ...],
    project_path: str | None,
    expected_version: str | None,
    as_json: bool,
    **options: Any,
) -> None:
    """Change some fields of a memory; the others stay as stored, even when another
    process changes them at the same time.

    \b
    Examples:
      memorygraph update 3f2c… --title "Pin redis to 7.2.4" --add-tag redis
      memorygraph update 3f2c… --remove-tag draft --add-file src/cache.py
      memorygraph update 3f2c… --importance 0.9 --expected-version 9a1f0c2e4b6d8a10
    """
    patch = ops.patch_of(
        title=title,
        content=content,
        summary=summary,
        type=memory_type.lower() if memory_type else None,
        importance=importance,
        confidence=confidence,
        effectiveness=effectiveness,
        add_tags=add_tags,
        remove_tags=remove_tags,
        add_files=add_files,
        remove_files=remove_files,
        project_path=project_path,
    )

    async def go() -> Memory:
        async with ops.open_store(config_from_options(options), search_settings()) as store:
            return await ops.change(store, memory_id, patch, expected_version=expected_version)

    _show(run(go()), as_json)


@click.command()
@click.argument("query")
@click.option(
    "--type",
    "memory_types",
    type=click.Choice(MEMORY_TYPES, case_sensitive=False),
    multiple=True,
    help="Only this type (any case); repeat for several.",
)
@click.option(
    "--tag", "tags", multiple=True, help="Only memories with this tag; repeat for any of several."
)
@click.option("--project", help="Only memories whose context.project_path is this.")
@click.option("--min-importance", type=click.FloatRange(0, 1), help="Only at least this important.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option(
    "--offset",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Skip this many results (paging).",
)
@backend_options()
@json_option
def search(
    query: str,
    memory_types: tuple[str, ...],
    tags: tuple[str, ...],
    project: str | None,
    min_importance: float | None,
    limit: int,
    offset: int,
    as_json: bool,
    **options: Any,
) -> None:
    """Find memories matching QUERY, best first.

    Any word may match; memories matching more words, rarer words and words in
    the title rank first. Words match other forms of themselves (timeouts,
    timeout) and longer words they begin (redi → redis); "quoted phrases" must
    appear as written. Query syntax and ranking: docs/CLI.md#search.

    \b
    Examples:
      memorygraph search "how did we fix the redis timeouts"
      memorygraph search '"connection pool" postgres' --type solution --limit 5 --json
    """

    async def go() -> tuple[list[SearchHit], float]:
        where = ops.filters(
            memory_types=memory_types,
            tags=tags,
            project_path=project,
            min_importance=min_importance,
        )
        async with ops.open_store(
            config_from_options(options, read_only=True), search_settings()
        ) as store:
            found = await ops.find_memories(store, query, where=where, limit=limit, offset=offset)
            return found, store.relevance_threshold

    found, threshold = run(go())
    nothing = ops.nothing_relevant([h.relevance for h in found], threshold)
    if as_json:
        emit_json(
            [
                {
                    **h.memory.to_dict(),
                    "score": h.score,
                    "relevance": h.relevance,
                    "matched": list(h.matched),
                }
                for h in found
            ]
        )
    elif found:
        if nothing:
            console.print(
                f"nothing relevant (best relevance {max(h.relevance for h in found):.2f}, "
                f"threshold {threshold:.2f}); the closest memories:",
                highlight=False,
            )
        table = Table("score", "rel", "id", "type", "title", "matched", header_style="bold")
        for h in found:
            m = h.memory
            table.add_row(
                f"{h.score:.2f}",
                f"{h.relevance:.2f}",
                m.id,
                m.type.value,
                m.title,
                ", ".join(h.matched),
            )
        console.print(table)
    else:
        console.print("no memory matches")


@click.command()
@click.argument("from_id")
@click.argument("to_id")
@click.argument("relationship_type", type=click.Choice(RELATIONSHIP_TYPES, case_sensitive=False))
@click.option("--strength", type=float, default=0.5, show_default=True, help="0..1")
@click.option("--description", help="Why these two are related.")
@backend_options()
@json_option
def relate(
    from_id: str,
    to_id: str,
    relationship_type: str,
    strength: float,
    description: str | None,
    as_json: bool,
    **options: Any,
) -> None:
    """Join two memories: FROM_ID —TYPE→ TO_ID.

    \b
    Example:
      memorygraph relate FIX_ID BUG_ID SOLVES --strength 0.9
    """

    async def go() -> Relationship:
        async with ops.open_store(config_from_options(options)) as store:
            return await ops.relate(
                store,
                from_id,
                to_id,
                relationship_type,
                strength=strength,
                description=description,
            )

    rel = run(go())
    if as_json:
        emit_json(rel.to_dict())
    else:
        console.print(
            Text.assemble(f"related {from_id} -{rel.type.value}-> {to_id} as ", (rel.id, "bold")),
            highlight=False,
        )


@click.command()
@click.argument("memory_id")
@click.option(
    "--direction",
    type=click.Choice([d.value for d in Direction]),
    default="both",
    show_default=True,
)
@click.option(
    "--type",
    "types",
    multiple=True,
    type=click.Choice(RELATIONSHIP_TYPES, case_sensitive=False),
    help="Only relationships of this type (any case); repeat for several.",
)
@backend_options()
@json_option
def related(
    memory_id: str, direction: str, types: tuple[str, ...], as_json: bool, **options: Any
) -> None:
    """List every memory one relationship away from MEMORY_ID (no cap).

    \b
    Example:
      memorygraph related BUG_ID --direction incoming --type SOLVES
    """

    # Printed page by page as it is read: a memory may have millions of relationships.
    async def go() -> None:
        async with ops.open_store(config_from_options(options, read_only=True)) as store:
            # A missing memory fails here, before anything is printed.
            pages = await ops.related_pages(
                store, memory_id, direction=direction, relationship_types=types
            )
            first = True
            if as_json:
                sys.stdout.write("[")
            async for page in pages:
                if as_json:
                    _write_json_items(page, first)
                else:
                    console.print(_neighbour_table(page, header=first))
                first = False
            if as_json:
                sys.stdout.write("\n]\n" if not first else "]\n")
            elif first:
                console.print(_neighbour_table([], header=True))

    run(go())


def _neighbour_table(page: list[Neighbour], *, header: bool) -> Table:
    table = Table(
        Column("relationship", min_width=12),
        Column("type", min_width=14),
        Column("from", min_width=12),
        Column("to", min_width=12),
        "title",
        header_style="bold",
        show_header=header,
    )
    for n in page:
        r = n.relationship
        table.add_row(r.id, r.type.value, r.from_id, r.to_id, n.memory.title)
    return table


def _write_json_items(page: list[Neighbour], first: bool) -> None:
    for i, n in enumerate(page):
        item = {"relationship": n.relationship.to_dict(), "memory": n.memory.to_dict()}
        text = orjson.dumps(item, option=orjson.OPT_INDENT_2).decode().replace("\n", "\n  ")
        sys.stdout.write(("\n  " if first and i == 0 else ",\n  ") + text)


@click.command()
@click.argument("memory_id")
@click.option(
    "--expected-version",
    help="Delete it only if it is still at this version (from `get`); exit 3 otherwise.",
)
@backend_options()
@json_option
def forget(memory_id: str, expected_version: str | None, as_json: bool, **options: Any) -> None:
    """Delete a memory and its relationships.

    \b
    Examples:
      memorygraph forget 3f2c…
      memorygraph forget 3f2c… --expected-version 9a1f0c2e4b6d8a10 --json
    """

    async def go() -> None:
        async with ops.open_store(config_from_options(options)) as store:
            await ops.forget(store, memory_id, expected_version=expected_version)

    run(go())
    if as_json:
        emit_json({"id": memory_id, "deleted": True})
    else:
        console.print(Text(f"forgot {memory_id}"))


def register(group: click.Group) -> None:
    for command in (add, get, update, search, relate, related, forget):
        group.add_command(command)
