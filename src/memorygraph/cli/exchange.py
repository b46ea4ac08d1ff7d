"""Commands that move whole graphs: export, import, validate.

They only parse options, call `memorygraph.ops.exchange`, and format the result;
errors travel to the one boundary in `memorygraph.cli.main`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from memorygraph.cli.common import (
    backend_options,
    config_from_options,
    console,
    emit_json,
    parse_since,
    run,
)
from memorygraph.cli.model_options import Flag, model_options
from memorygraph.cli.progress import ProgressDisplay, show_progress
from memorygraph.errors import InvalidExportError, UsageError
from memorygraph.ops import exchange as ops
from memorygraph.ops.exchange import EXPORT_FORMATS, FORMATS, GRAPH_ENGINES, MEMORYGRAPH
from memorygraph.ops.graph_inputs import ExportMemories, ImportMemories

json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print a JSON report for scripts."
)


@click.command("export")
@model_options(
    ExportMemories,
    path=Flag(name="FILE", argument=True),
    since=Flag(
        convert=parse_since,
        help="Only records written at or after this ISO-8601 time (with a zone), and the "
        "deletions (tombstones) made since: incremental.",
    ),
    format=Flag(
        choices=EXPORT_FORMATS,
        help="memorygraph (lossless), mcp-json (the memorygraph MCP server's JSON export) "
        "or memory-jsonl (the MCP memory server's graph).",
    ),
)
@backend_options()
@json_option
def export_cmd(request: ExportMemories, as_json: bool, **options: Any) -> None:
    """Write the whole graph (or what changed --since) to FILE.

    FILE is JSON Lines, gzip-compressed when its name ends in .gz; the format
    is specified in docs/FORMAT.md. With --format mcp-json or memory-jsonl it
    is another tool's format instead, and the report lists what that format
    cannot carry. The backend is opened read-only and FILE appears only when
    the export is complete.

    \b
    Examples:
      memorygraph export backup.jsonl.gz
      memorygraph export --backend neo4j --uri bolt://localhost:7687 graph.jsonl
      memorygraph export --since 2025-01-31T00:00:00+00:00 changes.jsonl --json
      memorygraph export --format mcp-json back-to-mcp.json
      memorygraph export --format memory-jsonl memory.jsonl
    """
    fmt = request.format
    config = config_from_options(options, read_only=True)
    display = ProgressDisplay(show_progress() and not as_json and fmt == MEMORYGRAPH)

    async def go() -> ops.ExportResult:
        with display.running():
            return await ops.export_memories(
                config, request, progress=display.update if display.enabled else None
            )

    result = run(go())
    if as_json:
        emit_json(result.report)
        return
    if fmt != MEMORYGRAPH:
        console.print(
            f"exported {result.memories} memories and {result.relationships} relationships "
            f"to {result.path} as {fmt} ({result.bytes:,} bytes)",
            highlight=False,
        )
        for reason, count in sorted(result.lost.items()):
            console.print(f"  not carried: {count} × {reason}", highlight=False)
        for note in result.notes:
            console.print(f"  note: {note}", highlight=False)
        return
    rate = (result.memories + result.relationships) / max(result.duration_seconds, 1e-9)
    console.print(
        f"exported {result.memories} memories and {result.relationships} relationships "
        f"to {result.path} ({result.bytes:,} bytes, {rate:,.0f} records/s)",
        highlight=False,
    )
    if result.external_relationships:
        console.print(
            f"{result.external_relationships} relationships point at memories outside this "
            "incremental export; the target must already hold them",
            highlight=False,
        )
    console.print(f"digest {result.digest}", highlight=False)


def _print_conversion(data: dict[str, Any] | None) -> None:
    if data is None:
        return
    console.print(
        f"converted {data['memories']} memories and {data['relationships']} relationships "
        f"from {data['source_format']}",
        highlight=False,
    )
    for reason, count in sorted(data["unmapped"].items()):
        console.print(f"  not imported: {count} × {reason}", highlight=False)
    for reason, count in sorted(data["adjusted"].items()):
        console.print(f"  adjusted: {count} × {reason}", highlight=False)


def _graph_source_options(fn: Any) -> Any:
    options = [
        click.option(
            "--from-graph",
            "from_graph",
            type=click.Choice(GRAPH_ENGINES),
            help="Read the memorygraph MCP server's graph from this server instead of FILE.",
        ),
        click.option("--from-uri", "from_uri", help="That server's URI."),
        click.option("--from-user", "from_user", help="Its user name, if it needs one."),
        click.option(
            "--from-database",
            "from_database",
            help="Its graph (FalkorDB, default memorygraph) or database name.",
        ),
        click.option(
            "--from-ask-password",
            "from_ask_password",
            is_flag=True,
            help="Prompt for its password; else it comes from the environment.",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


@click.command("import")
@model_options(
    ImportMemories,
    path=Flag(name="FILE", argument=True),
    format=Flag(
        choices=("auto", *FORMATS), help="What FILE is; auto-detected from its content by default."
    ),
    skip_duplicates=Flag(name="--skip-duplicates/--no-skip-duplicates"),
)
@_graph_source_options
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the import's copy of FILE and its journal go while it runs "
    "(default ~/.memorygraph/migrations).",
)
@backend_options()
@json_option
def import_cmd(
    request: ImportMemories,
    from_graph: str | None,
    workdir: Path | None,
    as_json: bool,
    **options: Any,
) -> None:
    """Import FILE (or the graph --from-graph names) into the backend, all or nothing.

    FILE may be a memorygraph export, the memorygraph MCP server's JSON export
    (mcp-json) or SQLite database (mcp-sqlite, opened read-only), or the MCP
    memory server's JSONL graph (memory-jsonl). It is validated first; if any
    line is invalid nothing is written (exit 2, as `validate` and --dry-run
    give). Importers list what they
    could not map.

    The import is journaled like a migration, under the backend's migration
    lock: a failure or Ctrl-C rolls it back at once, and an import killed
    outright leaves its journal in --workdir, to settle with `memorygraph
    migrate --rollback JOURNAL` or `--resume JOURNAL`.

    With --from-graph falkordb, neo4j or memgraph (and --from-uri), the graph
    the memorygraph MCP server keeps on that server is read in place,
    read-only, and imported the same way. memorygraph's own backends refuse to
    write into or count such a graph; this is how to copy it into one.

    \b
    Examples:
      memorygraph import backup.jsonl.gz
      memorygraph import --dry-run --json backup.jsonl.gz
      memorygraph import ~/.memorygraph/memory.db --format mcp-sqlite --path new.db
      memorygraph import memory.jsonl --no-skip-duplicates --backend neo4j
      memorygraph import --from-graph falkordb --from-uri redis://localhost:6379 \\
          --backend falkordb --uri redis://localhost:6379 --database memories
    """
    source_options = {
        key[len("from_") :]: value
        for key, value in options.items()
        if key.startswith("from_") and key != "from_graph"
    }
    for key in list(options):
        if key.startswith("from_"):
            del options[key]
    if (request.path is None) == (from_graph is None):
        raise UsageError("give either FILE or --from-graph (with --from-uri), not both or neither")
    source = None
    if from_graph is not None:
        if request.format != "auto":
            raise UsageError("--format names what FILE is; leave it out with --from-graph")
        source = config_from_options(
            {f"from_{k}": v for k, v in source_options.items()} | {"from_backend": from_graph},
            "from",
            read_only=True,
        )
    config = config_from_options(options)
    display = ProgressDisplay(show_progress() and not as_json and not request.dry_run)

    async def go() -> ops.ImportResult:
        with display.running():
            return await ops.import_memories(
                config,
                request,
                graph=source,
                progress=display.update if display.enabled else None,
                workdir=workdir,
            )

    result = run(go())
    if as_json:
        emit_json(result.report)
    else:
        _print_conversion(result.conversion)
    if result.dry_run:
        plan = result.plan
        if not as_json:
            verdict = "would write" if plan.would_write else "would write NOTHING (see below)"
            console.print(f"dry run of {plan.path}: {verdict}", highlight=False)
            for kind, counts in (
                ("memories", plan.memories),
                ("relationships", plan.relationships),
            ):
                console.print(
                    f"  {kind}: {counts.inserted} insert, {counts.updated} update, "
                    f"{counts.unchanged} unchanged, {counts.older} older (kept the "
                    f"target's newer), {counts.skipped} skip (already there), "
                    f"{counts.rejected} reject",
                    highlight=False,
                )
            if any(plan.deleted.values()):
                console.print(
                    f"  deletions (tombstones): {plan.deleted['memory']} memories and "
                    f"{plan.deleted['relationship']} relationships would be deleted",
                    highlight=False,
                )
            problems = plan.validation.problems if plan.validation else []
            for problem in [*problems, *plan.rejections][:20]:
                console.print(f"  {problem}", highlight=False)
        if not result.valid:
            # The same exit code as `validate` and a real import give this file.
            click.get_current_context().exit(InvalidExportError.exit_code)
        if not result.would_write:
            click.get_current_context().exit(1)
        return
    if as_json:
        return
    summary = result.summary
    for label, done in (("memories", summary.memories), ("relationships", summary.relationships)):
        console.print(
            f"{label}: {done.inserted} inserted, {done.updated} updated, "
            f"{done.unchanged} unchanged, {done.older} older (kept the newer held), "
            f"{done.skipped} skipped (already there), {done.deleted} deleted",
            highlight=False,
        )
    console.print(
        f"imported {summary.path} in {summary.duration_seconds:.2f}s "
        f"({summary.records_per_second:,.0f} records/s)",
        highlight=False,
    )


@click.command("validate")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--max-problems",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="List at most this many problems (all are counted).",
)
@json_option
def validate_cmd(file: Path, max_problems: int, as_json: bool) -> None:
    """Check every line of the export FILE; exit 0 if it is valid, 2 if not.

    Checks the header, each record's schema and canonical form, duplicate
    ids, relationship ends, order, and the trailer's counts and digest (a
    missing trailer means the file was cut short). Each problem names its line.

    \b
    Examples:
      memorygraph validate backup.jsonl.gz
      memorygraph validate --json --max-problems 10 backup.jsonl
    """
    report = run(ops.validate_export(file, max_problems=max_problems))
    if as_json:
        emit_json(report.to_dict())
    else:
        headline = (
            report.summary() if report.valid else f"{file} has {report.problem_count} problem(s):"
        )
        console.print(headline, highlight=False)
        for problem in report.problems:
            console.print(f"  {problem}", highlight=False)
        if report.problem_count > len(report.problems):
            console.print(
                f"  … and {report.problem_count - len(report.problems)} more", highlight=False
            )
        for note in report.notes:
            console.print(f"  note: {note}", highlight=False)
    if not report.valid:
        # An invalid file is bad input: the exit code of an import of it.
        click.get_current_context().exit(InvalidExportError.exit_code)


def register(group: click.Group) -> None:
    """Add export, import and validate to the `memorygraph` group."""
    group.add_command(export_cmd)
    group.add_command(import_cmd)
    group.add_command(validate_cmd)
