"""What each verb on memories takes: one pydantic model per verb, written once.

A model here is the only place a verb's parameters are spelled. The operations in
`memorygraph.ops.memories` take it; the MCP server turns its fields into a tool's
parameters (`memorygraph.mcp_server.model_tools`) and the command line into options
and arguments (`memorygraph.cli.model_options`). A field added here therefore shows
up in the tool's schema, on the command line and in Python at once.

Field names are the MCP tool's parameter names, which agents already know; the
descriptions are what an agent reads. How a field is spelled on the command line
(a shorter flag, a positional argument, other help words) is the command line's own
business and lives there.

The `parse_*` helpers read the names of types and directions the models carry as
text (any case) and refuse an unknown one with the list of known ones.

`parse` builds a model from keyword arguments and turns pydantic's complaint into the
library's `InvalidRecordError`, naming the parameter, so Python callers meet the
same one-line errors as the adapters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from memorygraph.backends.base import Direction
from memorygraph.errors import InvalidRecordError
from memorygraph.models import MemoryType, RelationshipType
from memorygraph.ops.views import MAX_PAGE

MEMORY_TYPES: tuple[str, ...] = tuple(t.value for t in MemoryType)
RELATIONSHIP_TYPES: tuple[str, ...] = tuple(t.value for t in RelationshipType)
DIRECTIONS: tuple[str, ...] = tuple(d.value for d in Direction)
#: The deepest walk `get_related_memories` takes.
MAX_DEPTH = 5


class VerbInput(BaseModel):
    """The parameters of one verb. Unknown names are refused, so a misspelt keyword
    is an error instead of a silently ignored value."""

    model_config = ConfigDict(extra="forbid", frozen=True)


M = TypeVar("M", bound=VerbInput)


def parse(model: type[M], given: M | None = None, /, **fields: Any) -> M:
    """`given` itself, or the model built from `fields`; a field that does not fit is an
    `InvalidRecordError` naming the parameter and saying what it must be."""
    if given is not None:
        if fields:
            raise TypeError("pass the input model or its fields, not both")
        return given
    try:
        return model(**fields)
    except ValidationError as e:
        raise invalid_input(e) from e


def invalid_input(error: ValidationError) -> InvalidRecordError:
    """The first problem pydantic found, as a one-line `InvalidRecordError` on its field."""
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "input"
    reason = first["msg"]
    if first["type"] == "extra_forbidden":
        reason = "is not a parameter of this operation"
        return InvalidRecordError(f"{where} {reason}; check its spelling", field=where)
    return InvalidRecordError(f"invalid {where}: {reason}", field=where)


# --- names of types and directions, in any case ---------------------------------------


def parse_direction(name: str) -> Direction:
    """The direction called `name` (any case), or `InvalidRecordError`."""
    try:
        return Direction(name.strip().lower())
    except ValueError:
        raise InvalidRecordError(
            f"direction {name!r} is not a direction; use outgoing, incoming or both"
        ) from None


def parse_relationship_type(name: str) -> RelationshipType:
    """The relationship type called `name` (any case), or `InvalidRecordError` listing them."""
    try:
        return RelationshipType(name.strip().upper())
    except ValueError:
        choices = ", ".join(t.value for t in RelationshipType)
        raise InvalidRecordError(
            f"relationship_type {name!r} is not a relationship type; use one of: {choices}"
        ) from None


def parse_memory_type(name: str, field: str = "memory_types") -> MemoryType:
    """The memory type called `name` (any case), or `InvalidRecordError` listing them."""
    try:
        return MemoryType(name.strip().lower())
    except ValueError:
        choices = ", ".join(t.value for t in MemoryType)
        raise InvalidRecordError(
            f"{field}: {name!r} is not a memory type; use one of: {choices}"
        ) from None


def parse_memory_types(names: Sequence[str] | None) -> tuple[MemoryType, ...]:
    """The memory types named (any case), or `InvalidRecordError` listing them."""
    return tuple(parse_memory_type(name) for name in names or ())


# --- the parts several verbs share -------------------------------------------------------

MemoryId = Annotated[str, Field(min_length=1)]
Unit = Field(ge=0.0, le=1.0)
Limit = Annotated[int, Field(ge=1, le=MAX_PAGE)]
Offset = Annotated[int, Field(ge=0, description="A page's next_offset.")]
ExpectedVersion = Annotated[
    str | None, Field(description="Only if still at this version (from get_memory).")
]
Project = Annotated[str | None, Field(description="The project it belongs to.")]


# --- the verbs ------------------------------------------------------------------------


class StoreMemory(VerbInput):
    """Store a new memory."""

    type: Annotated[str, Field(description="problem, solution, error, fix, task, …")]
    title: Annotated[str, Field(min_length=1, description="One line: what this memory is.")]
    content: Annotated[str, Field(description="The full text.")] = ""
    summary: Annotated[str | None, Field(description="A short summary.")] = None
    tags: Annotated[list[str] | None, Field(description="Tags to find it by.")] = None
    importance: Annotated[float, Unit, Field(description="How much this matters.")] = 0.5
    confidence: Annotated[float, Unit] = 0.8
    project_path: Project = None
    context: Annotated[
        dict[str, Any] | None,
        Field(description="More context: files_involved, languages, git_branch, metadata…"),
    ] = None
    memory_id: Annotated[str | None, Field(description="An id of your own.")] = None
    replace: Annotated[bool, Field(description="Replace memory_id's memory.")] = False
    namespace: Annotated[
        str | None,
        Field(description="Namespace to store in; default: your first."),
    ] = None


class GetMemory(VerbInput):
    """Read one memory."""

    memory_id: MemoryId
    include_relationships: Annotated[
        bool, Field(description="Also list its first relationships.")
    ] = True
    content_offset: Annotated[
        int, Field(ge=0, description="Read the content from this character on.")
    ] = 0


class UpdateMemory(VerbInput):
    """Change some fields of a stored memory; the others stay as stored."""

    memory_id: MemoryId
    title: Annotated[str | None, Field(min_length=1)] = None
    content: str | None = None
    summary: str | None = None
    type: str | None = None
    tags: Annotated[list[str] | None, Field(description="Replaces the tags.")] = None
    add_tags: list[str] | None = None
    remove_tags: list[str] | None = None
    add_files: Annotated[list[str] | None, Field(description="To files_involved.")] = None
    remove_files: list[str] | None = None
    importance: Annotated[float | None, Unit] = None
    confidence: Annotated[float | None, Unit] = None
    effectiveness: Annotated[float | None, Unit] = None
    project_path: str | None = None
    expected_version: ExpectedVersion = None


class DeleteMemory(VerbInput):
    """Delete a memory and every relationship touching it."""

    memory_id: MemoryId
    expected_version: ExpectedVersion = None


class CreateRelationship(VerbInput):
    """Join two stored memories with a typed, directed relationship."""

    from_memory_id: Annotated[str, Field(min_length=1)]
    to_memory_id: Annotated[str, Field(min_length=1)]
    relationship_type: Annotated[
        str, Field(description="SOLVES, CAUSES, ADDRESSES, DEPENDS_ON, RELATED_TO, …")
    ]
    strength: Annotated[float, Unit] = 0.5
    confidence: Annotated[float, Unit] = 0.8
    description: Annotated[str | None, Field(description="Why they are related.")] = None
    context: Annotated[str | None, Field(description="Where this holds.")] = None


class Filters(VerbInput):
    """The filters a search and a recall share."""

    memory_types: Annotated[list[str] | None, Field(description="Only these memory types.")] = None
    project_path: Annotated[str | None, Field(description="Only this project.")] = None


class SearchMemories(Filters):
    """Find memories by their words."""

    query: Annotated[str, Field(description='Words to look for; "quotes" for a phrase.')]
    tags: Annotated[
        list[str] | None, Field(description="Only memories with any of these tags.")
    ] = None
    min_importance: Annotated[
        float | None, Unit, Field(description="Only at least this important.")
    ] = None
    limit: Limit = 20
    offset: Offset = 0


class RecallMemories(Filters):
    """What is known about something, in the asker's words."""

    query: Annotated[str, Field(description="What you want to remember, in your words.")]
    limit: Limit = 10
    offset: Offset = 0


class RelatedMemories(VerbInput):
    """Memories linked to one memory."""

    memory_id: MemoryId
    relationship_types: Annotated[
        list[str] | None, Field(description="Only these relationship types.")
    ] = None
    max_depth: Annotated[int, Field(ge=1, le=MAX_DEPTH, description="Hops to follow.")] = 1
    direction: Annotated[str, Field(description="outgoing, incoming or both.")] = "both"
    include_invalidated: bool = False
    limit: Limit = 20
    offset: Offset = 0


class InvalidateRelationship(VerbInput):
    """Close a relationship, keeping it as history."""

    relationship_id: Annotated[str, Field(min_length=1, description="The relationship's id.")]
    invalidated_by: Annotated[
        str | None,
        Field(description="What replaced it: a memory or relationship id, or a reason."),
    ] = None
    valid_until: Annotated[
        AwareDatetime | None, Field(description="When it stopped holding; default: now.")
    ] = None


class GetRecentActivity(VerbInput):
    """What changed lately."""

    days: Annotated[int, Field(ge=1, le=3650, description="How far back to look.")] = 7
    project: Annotated[str | None, Field(description="Only this project path.")] = None
    limit: Limit = 20
