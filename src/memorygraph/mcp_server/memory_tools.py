"""The memory tools: store, read, change, link and find memories.

Names and parameters follow the memorygraph MCP server that agents already know
(`store_memory`, `recall_memories`, …), so their instructions keep working.
"""

from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from memorygraph.mcp_server.results import lines, tool_errors, tool_result
from memorygraph.ops import memories as ops
from memorygraph.ops.views import MAX_PAGE, MemorySummary, RelationshipView

if TYPE_CHECKING:
    from memorygraph.mcp_server.state import ServerState

READ = ToolAnnotations(read_only_hint=True, open_world_hint=False)
# idempotentHint is false unless said: a write stores anew each time.
WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)
CHANGE = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False
)

MemoryId = Annotated[str, Field(min_length=1)]
Limit = Annotated[int, Field(ge=1, le=MAX_PAGE)]
Offset = Annotated[int, Field(ge=0, description="A page's next_offset.")]
Types = Annotated[
    list[str] | None,
    Field(description="Only these memory types."),
]
Tags = Annotated[list[str] | None, Field(description="Only memories with any of these tags.")]
ExpectedVersion = Annotated[
    str | None,
    Field(description="Only if still at this version (from get_memory)."),
]
Importance = Annotated[float, Field(ge=0.0, le=1.0, description="How much this matters.")]


def _summary_line(m: MemorySummary) -> str:
    return f"[{m.type}] {m.title} (id {m.id})"


def _relationship_line(r: RelationshipView) -> str:
    valid = "" if r.valid else " [invalidated]"
    return f"{r.from_id} -{r.type}-> {r.to_id} (relationship {r.id}){valid}"


def register(server: MCPServer, state: "ServerState") -> None:
    """Add the memory tools to `server`; they use the store `state` holds."""

    @server.tool(annotations=WRITE)
    @tool_errors
    async def store_memory(
        type: Annotated[str, Field(description="problem, solution, error, fix, task, …")],
        title: Annotated[str, Field(min_length=1, description="One line: what this memory is.")],
        content: Annotated[str, Field(description="The full text.")] = "",
        summary: Annotated[str | None, Field(description="A short summary.")] = None,
        tags: Annotated[list[str] | None, Field(description="Tags to find it by.")] = None,
        importance: Importance = 0.5,
        confidence: Annotated[float, Field(ge=0.0, le=1.0)] = 0.8,
        project_path: Annotated[str | None, Field(description="The project it belongs to.")] = None,
        context: Annotated[
            dict[str, Any] | None,
            Field(description="More context: files_involved, languages, git_branch, metadata…"),
        ] = None,
        memory_id: Annotated[str | None, Field(description="An id of your own.")] = None,
        replace: Annotated[bool, Field(description="Replace memory_id's memory.")] = False,
        namespace: Annotated[
            str | None, Field(description="Namespace to store in; default: your first.")
        ] = None,
    ) -> Annotated[CallToolResult, ops.StoredMemory]:
        """Store a new memory (a problem, solution, error, fix, decision, pattern…) and
        return its id. Link it to related memories afterwards with create_relationship."""
        stored = await ops.store_memory(
            state.store,
            type=type,
            title=title,
            content=content,
            summary=summary,
            tags=tags or (),
            importance=importance,
            confidence=confidence,
            project_path=project_path,
            context=context,
            memory_id=memory_id,
            replace=replace,
            namespace=namespace,
        )
        return tool_result(stored, f"stored {_summary_line(stored.memory)}")

    @server.tool(annotations=READ)
    @tool_errors
    async def get_memory(
        memory_id: MemoryId,
        include_relationships: Annotated[
            bool, Field(description="Also list its first relationships.")
        ] = True,
        content_offset: Annotated[
            int, Field(ge=0, description="Read the content from this character on.")
        ] = 0,
    ) -> Annotated[CallToolResult, ops.MemoryDetail]:
        """One memory in full. Long content comes in windows: when content_truncated is
        true, call again with content_offset to read on."""
        detail = await ops.get_memory(
            state.store,
            memory_id,
            include_relationships=include_relationships,
            content_offset=content_offset,
        )
        m = detail.memory
        more = (
            f"[content {m.content_offset}–{m.content_offset + len(m.content)} of "
            f"{m.content_length} characters; call get_memory with content_offset="
            f"{m.content_offset + len(m.content)} for more]"
            if m.content_truncated
            else ""
        )
        text = lines(
            f"[{m.type}] {m.title} (id {m.id})",
            f"tags: {', '.join(m.tags)}" if m.tags else "",
            m.content,
            more,
            *(_relationship_line(r) for r in detail.relationships),
        )
        return tool_result(detail, text)

    @server.tool(annotations=CHANGE)
    @tool_errors
    async def update_memory(
        memory_id: MemoryId,
        title: Annotated[str | None, Field(min_length=1)] = None,
        content: str | None = None,
        summary: str | None = None,
        tags: Annotated[list[str] | None, Field(description="Replaces the tags.")] = None,
        add_tags: list[str] | None = None,
        remove_tags: list[str] | None = None,
        add_files: Annotated[list[str] | None, Field(description="To files_involved.")] = None,
        remove_files: list[str] | None = None,
        importance: Annotated[float | None, Field(ge=0.0, le=1.0)] = None,
        confidence: Annotated[float | None, Field(ge=0.0, le=1.0)] = None,
        effectiveness: Annotated[float | None, Field(ge=0.0, le=1.0)] = None,
        project_path: str | None = None,
        expected_version: ExpectedVersion = None,
    ) -> Annotated[CallToolResult, ops.MemoryView]:
        """Change the fields given; the others stay as stored, even if another agent
        changes them at once. With expected_version, refused if the memory changed since."""
        view = await ops.update_memory(
            state.store,
            memory_id,
            expected_version=expected_version,
            add_tags=add_tags or (),
            remove_tags=remove_tags or (),
            add_files=add_files or (),
            remove_files=remove_files or (),
            title=title,
            content=content,
            summary=summary,
            tags=tags,
            importance=importance,
            confidence=confidence,
            effectiveness=effectiveness,
            project_path=project_path,
        )
        return tool_result(view, f"updated [{view.type}] {view.title} (id {view.id})")

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True))
    @tool_errors
    async def delete_memory(
        memory_id: MemoryId, expected_version: ExpectedVersion = None
    ) -> Annotated[CallToolResult, ops.Deleted]:
        """Delete a memory and its relationships, for good. To retire a link but keep
        its history, use invalidate_relationship."""
        deleted = await ops.delete_memory(state.store, memory_id, expected_version=expected_version)
        return tool_result(
            deleted,
            f"deleted memory {memory_id} and {deleted.relationships_deleted} relationships",
        )

    @server.tool(annotations=READ)
    @tool_errors
    async def search_memories(
        query: Annotated[str, Field(description='Words to look for; "quotes" for a phrase.')],
        memory_types: Types = None,
        tags: Tags = None,
        project_path: Annotated[str | None, Field(description="Only this project.")] = None,
        min_importance: Annotated[float | None, Field(ge=0.0, le=1.0)] = None,
        limit: Limit = 20,
        offset: Offset = 0,
    ) -> Annotated[CallToolResult, ops.SearchPage]:
        """Find memories by their words, best first, with filters and pages."""
        page = await ops.search_memories(
            state.store,
            query,
            where=ops.filters(
                memory_types=memory_types,
                tags=tags,
                project_path=project_path,
                min_importance=min_importance,
            ),
            limit=limit,
            offset=offset,
        )
        text = lines(
            *_nothing_line(page),
            f"{len(page.results)} memories match {query!r}"
            + (f" (more from offset {page.page.next_offset})" if page.page.has_more else ""),
            *(f"{offset + i + 1}. {_summary_line(r.memory)}" for i, r in enumerate(page.results)),
        )
        return tool_result(page, text)

    @server.tool(annotations=READ)
    @tool_errors
    async def recall_memories(
        query: Annotated[str, Field(description="What you want to remember, in your words.")],
        memory_types: Types = None,
        project_path: Annotated[str | None, Field(description="Only this project.")] = None,
        limit: Annotated[int, Field(ge=1, le=MAX_PAGE)] = 10,
        offset: Offset = 0,
    ) -> Annotated[CallToolResult, ops.RecallPage]:
        """What is known about something: the best matches and what links to them (a
        matched problem's solution…), each with why it came back. Start here."""
        page = await ops.recall_memories(
            state.store,
            query,
            where=ops.filters(memory_types=memory_types, project_path=project_path),
            limit=limit,
            offset=offset,
        )
        text = lines(
            *_nothing_line(page),
            f"{len(page.results)} memories recalled for {query!r}",
            *(
                f"{offset + i + 1}. {_summary_line(r.memory)}: {r.reason}"
                for i, r in enumerate(page.results)
            ),
        )
        return tool_result(page, text)

    @server.tool(annotations=WRITE)
    @tool_errors
    async def create_relationship(
        from_memory_id: MemoryId,
        to_memory_id: MemoryId,
        relationship_type: Annotated[
            str, Field(description="SOLVES, CAUSES, ADDRESSES, DEPENDS_ON, RELATED_TO, …")
        ],
        strength: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5,
        confidence: Annotated[float, Field(ge=0.0, le=1.0)] = 0.8,
        description: Annotated[str | None, Field(description="Why they are related.")] = None,
        context: Annotated[str | None, Field(description="Where this holds.")] = None,
    ) -> Annotated[CallToolResult, RelationshipView]:
        """Link two stored memories with a typed, directed relationship (for example a
        solution SOLVES a problem) and return the relationship."""
        view = await ops.create_relationship(
            state.store,
            from_memory_id=from_memory_id,
            to_memory_id=to_memory_id,
            relationship_type=relationship_type,
            strength=strength,
            confidence=confidence,
            description=description,
            context=context,
        )
        return tool_result(view, f"related {_relationship_line(view)}")

    @server.tool(annotations=CHANGE)
    @tool_errors
    async def invalidate_relationship(
        relationship_id: Annotated[str, Field(min_length=1, description="The relationship's id.")],
        invalidated_by: Annotated[
            str | None,
            Field(description="What replaced it: a memory or relationship id, or a reason."),
        ] = None,
    ) -> Annotated[CallToolResult, RelationshipView]:
        """Mark a relationship as no longer true (kept as history; get_related_memories
        skips it). To supersede it, create the new one first and pass its id as
        invalidated_by."""
        view = await ops.invalidate_relationship(
            state.store, relationship_id, invalidated_by=invalidated_by
        )
        return tool_result(view, f"invalidated {_relationship_line(view)}")

    @server.tool(annotations=READ)
    @tool_errors
    async def get_related_memories(
        memory_id: MemoryId,
        relationship_types: Annotated[
            list[str] | None, Field(description="Only these relationship types.")
        ] = None,
        max_depth: Annotated[int, Field(ge=1, le=5, description="Hops to follow.")] = 1,
        direction: Annotated[str, Field(description="outgoing, incoming or both.")] = "both",
        include_invalidated: bool = False,
        limit: Limit = 20,
        offset: Offset = 0,
    ) -> Annotated[CallToolResult, ops.RelatedPage]:
        """Memories linked to one memory, nearest first, each with the relationship
        that reached it."""
        page = await ops.get_related_memories(
            state.store,
            memory_id,
            relationship_types=relationship_types,
            direction=direction,
            max_depth=max_depth,
            include_invalidated=include_invalidated,
            limit=limit,
            offset=offset,
        )
        text = lines(
            f"{len(page.results)} memories related to {memory_id}",
            *(
                f"depth {r.depth}: {r.relationship.type} {_summary_line(r.memory)}"
                for r in page.results
            ),
        )
        return tool_result(page, text)

    @server.tool(annotations=READ)
    @tool_errors
    async def get_recent_activity(
        days: Annotated[int, Field(ge=1, le=3650, description="How far back to look.")] = 7,
        project: Annotated[str | None, Field(description="Only this project path.")] = None,
        limit: Limit = 20,
    ) -> Annotated[CallToolResult, ops.RecentActivity]:
        """What changed lately: counts per type, the newest memories, and problems nothing
        solves yet. Catch up with it when a session starts."""
        activity = await ops.get_recent_activity(
            state.store, days=days, project=project, limit=limit
        )
        text = lines(
            f"{activity.total} memories changed in the last {days} days",
            *(_summary_line(m) for m in activity.memories),
            "unresolved: " + "; ".join(m.title for m in activity.unresolved_problems)
            if activity.unresolved_problems
            else "",
        )
        return tool_result(activity, text)

    @server.tool(annotations=READ)
    @tool_errors
    async def get_memory_statistics() -> Annotated[CallToolResult, ops.Statistics]:
        """How many memories and relationships the store holds, per type."""
        stats = await ops.get_memory_statistics(state.store)
        return tool_result(
            stats,
            f"{stats.memories} memories and {stats.relationships} relationships in "
            f"{stats.location} ({stats.engine_version})",
        )


def _nothing_line(page: ops.SearchPage | ops.RecallPage) -> list[str]:
    """The first line of a result with nothing relevant: say so before any result."""
    if not page.nothing_relevant:
        return []
    return [
        f"Nothing relevant: no memory reaches relevance {page.relevance_threshold:.2f}; "
        "the store holds nothing about this (any results below are only the closest)."
    ]
