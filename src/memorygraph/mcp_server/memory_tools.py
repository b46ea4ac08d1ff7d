"""The memory tools: store, read, change, link and find memories.

Names and parameters follow the memorygraph MCP server that agents already know
(`store_memory`, `recall_memories`, …), so their instructions keep working.
"""

from typing import TYPE_CHECKING, Annotated

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, ToolAnnotations

from memorygraph.mcp_server.model_tools import model_tool
from memorygraph.mcp_server.results import lines, tool_errors, tool_result
from memorygraph.ops import inputs
from memorygraph.ops import memories as ops
from memorygraph.ops.views import MemorySummary, MemoryView, RelationshipView

if TYPE_CHECKING:
    from memorygraph.mcp_server.state import ServerState

READ = ToolAnnotations(read_only_hint=True, open_world_hint=False)
# idempotentHint is false unless said: a write stores anew each time.
WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)
CHANGE = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False
)


def _summary_line(m: MemorySummary) -> str:
    return f"[{m.type}] {m.title} (id {m.id})"


def _relationship_line(r: RelationshipView) -> str:
    valid = "" if r.valid else " [invalidated]"
    return f"{r.from_id} -{r.type}-> {r.to_id} (relationship {r.id}){valid}"


def register(server: MCPServer, state: "ServerState") -> None:
    """Add the memory tools to `server`; they use the store `state` holds."""

    @model_tool(server, inputs.StoreMemory, annotations=WRITE)
    async def store_memory(
        request: inputs.StoreMemory,
    ) -> Annotated[CallToolResult, ops.StoredMemory]:
        """Store a new memory (a problem, solution, error, fix, decision, pattern…) and
        return its id. Link it to related memories afterwards with create_relationship."""
        stored = ops.StoredMemory.of(await ops.remember(state.store, request))
        return tool_result(stored, f"stored {_summary_line(stored.memory)}")

    @model_tool(server, inputs.GetMemory, annotations=READ)
    async def get_memory(request: inputs.GetMemory) -> Annotated[CallToolResult, ops.MemoryDetail]:
        """One memory in full. Long content comes in windows: when content_truncated is
        true, call again with content_offset to read on."""
        detail = await ops.get_memory(state.store, request)
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

    @model_tool(server, inputs.UpdateMemory, annotations=CHANGE)
    async def update_memory(
        request: inputs.UpdateMemory,
    ) -> Annotated[CallToolResult, MemoryView]:
        """Change the fields given; the others stay as stored, even if another agent
        changes them at once. With expected_version, refused if the memory changed since."""
        view = MemoryView.of(await ops.update_memory(state.store, request))
        return tool_result(view, f"updated [{view.type}] {view.title} (id {view.id})")

    @model_tool(
        server,
        inputs.DeleteMemory,
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True),
    )
    async def delete_memory(request: inputs.DeleteMemory) -> Annotated[CallToolResult, ops.Deleted]:
        """Delete a memory and its relationships, for good. To retire a link but keep
        its history, use invalidate_relationship."""
        deleted = await ops.delete_memory(state.store, request)
        return tool_result(
            deleted,
            f"deleted memory {deleted.id} and {deleted.relationships_deleted} relationships",
        )

    @model_tool(server, inputs.SearchMemories, annotations=READ)
    async def search_memories(
        request: inputs.SearchMemories,
    ) -> Annotated[CallToolResult, ops.SearchPage]:
        """Find memories by their words, best first, with filters and pages."""
        page = await ops.search_memories(state.store, request)
        text = lines(
            *_nothing_line(page),
            f"{len(page.results)} memories match {request.query!r}"
            + (f" (more from offset {page.page.next_offset})" if page.page.has_more else ""),
            *(
                f"{request.offset + i + 1}. {_summary_line(r.memory)}"
                for i, r in enumerate(page.results)
            ),
        )
        return tool_result(page, text)

    @model_tool(server, inputs.RecallMemories, annotations=READ)
    async def recall_memories(
        request: inputs.RecallMemories,
    ) -> Annotated[CallToolResult, ops.RecallPage]:
        """What is known about something: the best matches and what links to them (a
        matched problem's solution…), each with why it came back. Start here."""
        page = await ops.recall_memories(state.store, request)
        text = lines(
            *_nothing_line(page),
            f"{len(page.results)} memories recalled for {request.query!r}",
            *(
                f"{request.offset + i + 1}. {_summary_line(r.memory)}: {r.reason}"
                for i, r in enumerate(page.results)
            ),
        )
        return tool_result(page, text)

    @model_tool(server, inputs.CreateRelationship, annotations=WRITE)
    async def create_relationship(
        request: inputs.CreateRelationship,
    ) -> Annotated[CallToolResult, RelationshipView]:
        """Link two stored memories with a typed, directed relationship (for example a
        solution SOLVES a problem) and return the relationship."""
        view = RelationshipView.of(await ops.relate(state.store, request))
        return tool_result(view, f"related {_relationship_line(view)}")

    @model_tool(server, inputs.InvalidateRelationship, annotations=CHANGE)
    async def invalidate_relationship(
        request: inputs.InvalidateRelationship,
    ) -> Annotated[CallToolResult, RelationshipView]:
        """Mark a relationship as no longer true (kept as history; get_related_memories
        skips it). To supersede it, create the new one first and pass its id as
        invalidated_by."""
        view = await ops.invalidate_relationship(state.store, request)
        return tool_result(view, f"invalidated {_relationship_line(view)}")

    @model_tool(server, inputs.RelatedMemories, annotations=READ)
    async def get_related_memories(
        request: inputs.RelatedMemories,
    ) -> Annotated[CallToolResult, ops.RelatedPage]:
        """Memories linked to one memory, nearest first, each with the relationship
        that reached it."""
        page = await ops.get_related_memories(state.store, request)
        text = lines(
            f"{len(page.results)} memories related to {request.memory_id}",
            *(
                f"depth {r.depth}: {r.relationship.type} {_summary_line(r.memory)}"
                for r in page.results
            ),
        )
        return tool_result(page, text)

    @model_tool(server, inputs.GetRecentActivity, annotations=READ)
    async def get_recent_activity(
        request: inputs.GetRecentActivity,
    ) -> Annotated[CallToolResult, ops.RecentActivity]:
        """What changed lately: counts per type, the newest memories, and problems nothing
        solves yet. Catch up with it when a session starts."""
        activity = await ops.get_recent_activity(state.store, request)
        days = request.days
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
