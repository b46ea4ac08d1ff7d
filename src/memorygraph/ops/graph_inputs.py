"""What the verbs on a whole graph take: export and import, one pydantic model each.

As for the verbs on memories (`memorygraph.ops.inputs`), a model here is the only
place these verbs' parameters are spelled: `memorygraph.ops.exchange` takes it, and
the MCP tools and the `export` and `import` commands are made from its fields.
Where the data lives (the store, a graph an import reads in place, the import's
work directory) is not a parameter of the verb: each adapter says it its own way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator, Field

from memorygraph.ops.inputs import VerbInput


def _file(value: Any) -> Any:
    """A file's path with ``~`` expanded and made absolute; an empty one is refused."""
    if isinstance(value, str):
        if not value.strip():
            raise ValueError("the path is empty; give the file's path")
        value = Path(value)
    if isinstance(value, Path):
        return value.expanduser().resolve()
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
