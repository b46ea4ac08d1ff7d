"""Commands that find memories: `search` (by their words, or also by meaning) and
`recall` (the best matches and what is linked to them, as an agent's `recall_memories`).

Each parses its options, calls `memorygraph.ops`, and prints what it returns."""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table

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
from memorygraph.ops import inputs
from memorygraph.ops import memories as ops
from memorygraph.ops.inputs import MEMORY_TYPES
from memorygraph.ops.results import RecallPage
from memorygraph.search import SearchHit

#: The flags `search` and `recall` share, by the request field each fills.
FINDING_FLAGS = {
    "query": Flag("QUERY", argument=True),
    "memory_types": Flag(
        "--type", choices=MEMORY_TYPES, help="Only this type (any case); repeatable."
    ),
    "project_path": Flag("--project", help="Only memories whose context.project_path is this."),
    "limit": Flag(help="How many results at most."),
    "offset": Flag(help="Skip this many results (paging)."),
}


@click.command()
@model_options(
    inputs.SearchMemories,
    **FINDING_FLAGS,
    tags=Flag("--tag", help="Only memories with this tag; repeat for any of several."),
)
@backend_options()
@json_option
def search(request: inputs.SearchMemories, as_json: bool, **options: Any) -> None:
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
        async with ops.open_store(
            config_from_options(options, read_only=True), search_settings()
        ) as store:
            found = await ops.find_memories(store, request)
            return found, store.relevance_threshold(request.query, found)

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
            _say_nothing_relevant(max(h.relevance for h in found), threshold)
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
@model_options(
    inputs.RecallMemories,
    **FINDING_FLAGS,
)
@backend_options()
@json_option
def recall(request: inputs.RecallMemories, as_json: bool, **options: Any) -> None:
    """What the store knows about QUERY, asked in your own words: the best matches
    and the memories linked to them (a problem's solution, a decision's reasons),
    each with why it was returned. The same as an agent's recall_memories.

    \b
    Examples:
      memorygraph recall "the app dies when many users log in"
      MEMORYGRAPH_SEMANTIC=on memorygraph recall "¿por qué se cae la base de datos?" --json
    """

    async def go() -> RecallPage:
        async with ops.open_store(
            config_from_options(options, read_only=True), search_settings()
        ) as store:
            return await ops.recall_memories(store, request)

    page = run(go())
    if as_json:
        emit_json(page.model_dump(mode="json"))
        return
    if not page.results:
        console.print("no memory matches")
        return
    if page.nothing_relevant:
        _say_nothing_relevant(max(r.relevance for r in page.results), page.relevance_threshold)
    table = Table("score", "rel", "id", "type", "title", "why", header_style="bold")
    for r in page.results:
        m = r.memory
        table.add_row(f"{r.score:.2f}", f"{r.relevance:.2f}", m.id, m.type, m.title, r.reason)
    console.print(table)
    if page.page.has_more:
        console.print(f"more: --offset {page.page.next_offset}", highlight=False)


def _say_nothing_relevant(best: float, threshold: float) -> None:
    console.print(
        f"nothing relevant (best relevance {best:.2f}, threshold {threshold:.2f}); "
        "the closest memories:",
        highlight=False,
    )


def register(group: click.Group) -> None:
    for command in (search, recall):
        group.add_command(command)
