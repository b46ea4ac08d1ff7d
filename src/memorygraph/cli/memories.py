"""Commands on single memories: add, get, update, relate, related, forget.

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
    json_option,
    run,
    search_settings,
)
from memorygraph.cli.model_options import Flag, model_options
from memorygraph.models import Memory, Relationship
from memorygraph.ops import inputs
from memorygraph.ops import memories as ops
from memorygraph.ops.inputs import DIRECTIONS, MEMORY_TYPES, RELATIONSHIP_TYPES
from memorygraph.ops.memories import Neighbour, version_of

EXPECTED_VERSION = Flag(help="Only if it is still at this version (from `get`); exit 3 otherwise.")


def _memory_table(memories: list[Memory]) -> Table:
    table = Table("id", "type", "title", "tags", header_style="bold")
    for m in memories:
        table.add_row(m.id, m.type.value, m.title, ", ".join(m.tags))
    return table


@click.command()
@model_options(
    inputs.StoreMemory,
    type=Flag(choices=MEMORY_TYPES, help="What kind of memory this is (any case)."),
    tags=Flag("--tag", help="A tag; repeat for several."),
    confidence=Flag(help="How sure you are of it."),
    project_path=Flag("--project"),
    context=Flag(help="More context as a JSON object: files_involved, languages, git_branch…"),
    memory_id=Flag("--id", help="An id of your own (default: a new UUID)."),
    replace=Flag(help="Replace the memory stored under --id, whole (else refused)."),
)
@backend_options()
@json_option
def add(request: inputs.StoreMemory, as_json: bool, **options: Any) -> None:
    """Remember something. An --id already in use is refused (exit 3) unless --replace.

    \b
    Examples:
      memorygraph add --type solution --title "Pin redis to 7.2" --tag redis
      memorygraph add --type problem --title "Idle clients dropped" --content "…" --json
      memorygraph add --type fix --title "Pin redis 7.2.4" --id fix --replace
      memorygraph add --type decision --title "Use Postgres 16" --namespace team-a
      memorygraph add --type fix --title "Retry on EAGAIN" --context '{"git_branch": "main"}'
    """

    async def go() -> Memory:
        async with ops.open_store(config_from_options(options), search_settings()) as store:
            return await ops.remember(store, request)

    stored = run(go())
    if as_json:
        emit_json(stored.to_dict())
    else:
        console.print(
            Text.assemble(f"remembered {stored.type.value} ", (stored.id, "bold")),
            highlight=False,
        )


@click.command()
@model_options(
    inputs.GetMemory,
    memory_id=Flag(argument=True),
    include_relationships=Flag(cli=False),
    content_offset=Flag(cli=False),
)
@backend_options()
@json_option
def get(request: inputs.GetMemory, as_json: bool, **options: Any) -> None:
    """Show one memory.

    \b
    Example:
      memorygraph get 3f2c…  --json
    """

    async def go() -> Memory:
        async with ops.open_store(config_from_options(options, read_only=True)) as store:
            return await ops.memory(store, request.memory_id)

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
@model_options(
    inputs.UpdateMemory,
    memory_id=Flag(argument=True),
    title=Flag(help="A new title."),
    content=Flag(help="New content."),
    summary=Flag(help="A new summary."),
    type=Flag(choices=MEMORY_TYPES, help="A new memory type."),
    tags=Flag("--tag", help="Replaces the tags; repeat for several."),
    add_tags=Flag("--add-tag", help="A tag to add; repeat for several."),
    remove_tags=Flag("--remove-tag", help="A tag to remove; repeatable."),
    add_files=Flag("--add-file", help="A file to add to files_involved; repeatable."),
    remove_files=Flag("--remove-file", help="A file to remove from files_involved; repeatable."),
    importance=Flag(help="How much this matters."),
    confidence=Flag(help="How sure you are of it."),
    effectiveness=Flag(help="How well it worked."),
    project_path=Flag("--project", help="A new project path (context.project_path)."),
    expected_version=EXPECTED_VERSION,
)
@backend_options()
@json_option
def update(request: inputs.UpdateMemory, as_json: bool, **options: Any) -> None:
    """Change some fields of a memory; the others stay as stored, even when another
    process changes them at the same time.

    \b
    Examples:
      memorygraph update 3f2c… --title "Pin redis to 7.2.4" --add-tag redis
      memorygraph update 3f2c… --remove-tag draft --add-file src/cache.py
      memorygraph update 3f2c… --importance 0.9 --expected-version 9a1f0c2e4b6d8a10
    """

    async def go() -> Memory:
        async with ops.open_store(config_from_options(options), search_settings()) as store:
            return await ops.update_memory(store, request)

    _show(run(go()), as_json)


@click.command()
@model_options(
    inputs.CreateRelationship,
    from_memory_id=Flag("FROM_ID", argument=True),
    to_memory_id=Flag("TO_ID", argument=True),
    relationship_type=Flag("TYPE", argument=True, choices=RELATIONSHIP_TYPES),
    strength=Flag(help="How strong the link is."),
    confidence=Flag(help="How sure you are of it."),
)
@backend_options()
@json_option
def relate(request: inputs.CreateRelationship, as_json: bool, **options: Any) -> None:
    """Join two memories: FROM_ID —TYPE→ TO_ID.

    TYPE is a relationship type in any case (SOLVES, CAUSES, DEPENDS_ON, RELATED_TO, …);
    an unknown one is refused with the whole list.

    \b
    Example:
      memorygraph relate FIX_ID BUG_ID SOLVES --strength 0.9
    """

    async def go() -> Relationship:
        async with ops.open_store(config_from_options(options)) as store:
            return await ops.relate(store, request)

    rel = run(go())
    if as_json:
        emit_json(rel.to_dict())
    else:
        console.print(
            Text.assemble(
                f"related {rel.from_id} -{rel.type.value}-> {rel.to_id} as ", (rel.id, "bold")
            ),
            highlight=False,
        )


@click.command()
@model_options(
    inputs.RelatedMemories,
    memory_id=Flag(argument=True),
    relationship_types=Flag(
        "--type",
        choices=RELATIONSHIP_TYPES,
        help="Only relationships of this type (any case); repeatable.",
    ),
    direction=Flag(choices=DIRECTIONS),
    max_depth=Flag(cli=False),
    include_invalidated=Flag(cli=False),
    limit=Flag(cli=False),
    offset=Flag(cli=False),
)
@backend_options()
@json_option
def related(request: inputs.RelatedMemories, as_json: bool, **options: Any) -> None:
    """List every memory one relationship away from MEMORY_ID (no cap).

    \b
    Example:
      memorygraph related BUG_ID --direction incoming --type SOLVES
    """

    # Printed page by page as it is read: a memory may have millions of relationships.
    async def go() -> None:
        async with ops.open_store(config_from_options(options, read_only=True)) as store:
            # A missing memory fails here, before anything is printed.
            pages = await ops.related_pages(store, request)
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
@model_options(
    inputs.DeleteMemory,
    memory_id=Flag(argument=True),
    expected_version=EXPECTED_VERSION,
)
@backend_options()
@json_option
def forget(request: inputs.DeleteMemory, as_json: bool, **options: Any) -> None:
    """Delete a memory and its relationships.

    \b
    Examples:
      memorygraph forget 3f2c…
      memorygraph forget 3f2c… --expected-version 9a1f0c2e4b6d8a10 --json
    """

    async def go() -> ops.Deleted:
        async with ops.open_store(config_from_options(options)) as store:
            return await ops.delete_memory(store, request)

    deleted = run(go())
    if as_json:
        emit_json(deleted.model_dump())
    else:
        console.print(
            Text(f"forgot {deleted.id} and its {deleted.relationships_deleted} relationships")
        )


def register(group: click.Group) -> None:
    for command in (add, get, update, relate, related, forget):
        group.add_command(command)
