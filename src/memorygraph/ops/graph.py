"""A memory's neighbourhood as a graph: the memories within a few relationships of it
and the relationships between them, for a page that draws them.

The walk is breadth-first from the memory, follows relationships both ways (valid
and invalidated alike: a drawing shows history too), stays inside the principal's
namespaces (the store's reads do) and stops at `max_nodes` memories, saying so.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from memorygraph.errors import InvalidRecordError, NotFoundError
from memorygraph.ops.views import MemorySummary, RelationshipView
from memorygraph.store import MemoryStore

#: The deepest neighbourhood a page may ask for.
MAX_GRAPH_DEPTH = 3
#: Memories one neighbourhood holds at most, whatever its depth.
MAX_GRAPH_NODES = 300
#: Relationships read per memory on the walk (a hub's further ones are left out).
EDGES_PER_NODE = 100


class GraphNode(BaseModel):
    memory: MemorySummary
    depth: int = Field(description="Relationships between this memory and the centre.")


class Neighbourhood(BaseModel):
    """The memories within `depth` relationships of `centre`, nearest first, and the
    relationships the walk crossed (each once)."""

    centre: str
    depth: int
    nodes: list[GraphNode]
    edges: list[RelationshipView]
    truncated: bool = Field(
        default=False,
        description=f"The walk stopped at {MAX_GRAPH_NODES} memories or left out "
        f"relationships past {EDGES_PER_NODE} of one memory.",
    )


async def neighbourhood(
    store: MemoryStore,
    memory_id: str,
    *,
    depth: int = 1,
    max_nodes: int = MAX_GRAPH_NODES,
) -> Neighbourhood:
    """The memories up to `depth` (1 to `MAX_GRAPH_DEPTH`) relationships from `memory_id`
    and the relationships between them that the walk reads; `NotFoundError` when
    the memory is not one the store's principal may see."""
    if not 1 <= depth <= MAX_GRAPH_DEPTH:
        raise InvalidRecordError(
            f"depth must be between 1 and {MAX_GRAPH_DEPTH}, not {depth}", field="depth"
        )
    centre = await store.lookup(memory_id)
    if centre is None:
        raise NotFoundError(f"memory_id {memory_id!r} is not a stored memory", field="memory_id")
    nodes = [GraphNode(memory=MemorySummary.of(centre), depth=0)]
    seen = {memory_id}
    edges: dict[str, RelationshipView] = {}
    frontier = [memory_id]
    truncated = False
    for level in range(1, depth + 1):
        reached: list[str] = []
        for current in frontier:
            near = await store.neighbours(current, limit=EDGES_PER_NODE + 1)
            if len(near) > EDGES_PER_NODE:
                truncated = True
                near = near[:EDGES_PER_NODE]
            for n in near:
                if n.memory.id not in seen:
                    if len(seen) >= max_nodes:
                        truncated = True
                        continue
                    seen.add(n.memory.id)
                    reached.append(n.memory.id)
                    nodes.append(GraphNode(memory=MemorySummary.of(n.memory), depth=level))
                edges.setdefault(n.relationship.id, RelationshipView.of(n.relationship))
        frontier = reached
        if not frontier:
            break
    return Neighbourhood(
        centre=memory_id, depth=depth, nodes=nodes, edges=list(edges.values()), truncated=truncated
    )
