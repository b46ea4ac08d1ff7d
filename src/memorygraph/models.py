"""The data model: `Memory`, `Relationship`, their enums, canonical form and digest.

Every record is validated on construction. Each has one *canonical form*
(JSON with sorted keys, UTC timestamps with microseconds, no NaN) and a
*digest* (sha256 of that form). Verification, duplicate detection and the
export checksum all use `canonical_bytes` / `digest` and nothing else, so two
records are "the same" exactly when their digests are equal.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Self

import orjson
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    model_validator,
)
from pydantic import ValidationError as PydanticValidationError

from memorygraph.errors import InvalidRecordError

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_MAX_METADATA_DEPTH = 32


class MemoryType(StrEnum):
    """The kinds of memory that users' existing data carries."""

    TASK = "task"
    CODE_PATTERN = "code_pattern"
    PROBLEM = "problem"
    SOLUTION = "solution"
    PROJECT = "project"
    TECHNOLOGY = "technology"
    ERROR = "error"
    FIX = "fix"
    COMMAND = "command"
    FILE_CONTEXT = "file_context"
    WORKFLOW = "workflow"
    GENERAL = "general"
    CONVERSATION = "conversation"


class RelationshipType(StrEnum):
    """The 35 relationship types, in seven families (see `RELATIONSHIP_FAMILIES`)."""

    # causal
    CAUSES = "CAUSES"
    TRIGGERS = "TRIGGERS"
    LEADS_TO = "LEADS_TO"
    PREVENTS = "PREVENTS"
    BREAKS = "BREAKS"
    # solution
    SOLVES = "SOLVES"
    ADDRESSES = "ADDRESSES"
    ALTERNATIVE_TO = "ALTERNATIVE_TO"
    IMPROVES = "IMPROVES"
    REPLACES = "REPLACES"
    # context
    OCCURS_IN = "OCCURS_IN"
    APPLIES_TO = "APPLIES_TO"
    WORKS_WITH = "WORKS_WITH"
    REQUIRES = "REQUIRES"
    USED_IN = "USED_IN"
    # learning
    BUILDS_ON = "BUILDS_ON"
    CONTRADICTS = "CONTRADICTS"
    CONFIRMS = "CONFIRMS"
    GENERALIZES = "GENERALIZES"
    SPECIALIZES = "SPECIALIZES"
    # similarity
    SIMILAR_TO = "SIMILAR_TO"
    VARIANT_OF = "VARIANT_OF"
    RELATED_TO = "RELATED_TO"
    ANALOGY_TO = "ANALOGY_TO"
    OPPOSITE_OF = "OPPOSITE_OF"
    # workflow
    FOLLOWS = "FOLLOWS"
    DEPENDS_ON = "DEPENDS_ON"
    ENABLES = "ENABLES"
    BLOCKS = "BLOCKS"
    PARALLEL_TO = "PARALLEL_TO"
    # quality
    EFFECTIVE_FOR = "EFFECTIVE_FOR"
    INEFFECTIVE_FOR = "INEFFECTIVE_FOR"
    PREFERRED_OVER = "PREFERRED_OVER"
    DEPRECATED_BY = "DEPRECATED_BY"
    VALIDATED_BY = "VALIDATED_BY"


RELATIONSHIP_FAMILIES: dict[str, tuple[RelationshipType, ...]] = {
    family: tuple(list(RelationshipType)[i * 5 : i * 5 + 5])
    for i, family in enumerate(
        ["causal", "solution", "context", "learning", "similarity", "workflow", "quality"]
    )
}


class Visibility(StrEnum):
    PRIVATE = "private"
    PROJECT = "project"
    TEAM = "team"
    PUBLIC = "public"


def format_timestamp(value: datetime) -> str:
    """The one textual form of a timestamp: UTC, ISO-8601, always microseconds.

    Fixed width for years 1..9999, so the strings sort in time order; backends
    that store timestamps as text may compare them directly.
    """
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def utc_range_problem(value: datetime) -> str | None:
    """Why `value` cannot be stored (it leaves the years 1..9999 in UTC), or None."""
    if 1 < value.year < 9999:
        return None  # the fast path: an offset moves a time by less than a day
    try:
        value.astimezone(UTC)
    except (OverflowError, ValueError):
        return (
            f"{value.isoformat()} falls outside the years 1..9999 once converted to UTC; "
            "use a time at least a day inside that range"
        )
    return None


def _check_utc_range(value: datetime) -> datetime:
    problem = utc_range_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _check_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text may not contain the NUL character (U+0000)")
    return value


class MetadataValueError(ValueError):
    """A metadata value no backend can keep exactly; `path` is where it sits under
    `metadata` (keys and list indexes), so a caller can name the field."""

    def __init__(self, message: str, path: tuple[str | int, ...]) -> None:
        super().__init__(message)
        self.path = path


def _check_json_value(value: Any, depth: int = 0, path: tuple[str | int, ...] = ()) -> None:
    """Reject what no backend can keep exactly: NaN/inf, NUL, ints beyond 64 bits."""
    if depth > _MAX_METADATA_DEPTH:
        raise MetadataValueError(
            f"metadata is nested deeper than {_MAX_METADATA_DEPTH} levels", path
        )
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise MetadataValueError("metadata may not contain NaN or infinity", path)
    elif isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise MetadataValueError("metadata integers must fit in 64 bits", path)
    elif isinstance(value, str):
        _check_text_at(value, path)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text_at(key, (*path, key))
            _check_json_value(item, depth + 1, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_json_value(item, depth + 1, (*path, index))
    else:
        raise MetadataValueError(
            f"metadata values must be JSON values, not {type(value).__name__}", path
        )


def _check_text_at(value: str, path: tuple[str | int, ...]) -> None:
    try:
        _check_text(value)
    except ValueError as e:
        raise MetadataValueError(str(e), path) from e


def _check_metadata(value: dict[str, Any]) -> dict[str, Any]:
    _check_json_value(value)
    return value


# Validation runs in pydantic's core (no Python call per field): that is most of
# the cost of reading a record back, and a migration reads each one several times.
# The one exception is the UTC range check, one comparison for all but the first
# and last year.
Timestamp = Annotated[
    AwareDatetime,
    AfterValidator(_check_utc_range),
    PlainSerializer(format_timestamp, return_type=str, when_used="json"),
]
_NO_NUL = r"^[^\x00]*$"
Text = Annotated[str, Field(pattern=_NO_NUL)]
Id = Annotated[str, Field(min_length=1, max_length=512, pattern=_NO_NUL)]
Unit = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0, le=_INT64_MAX)]
# Checked by one walk in Python: pydantic's JsonValue costs far more per record.
Metadata = Annotated[dict[str, Any], AfterValidator(_check_metadata)]


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


class _Record(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_default=True, use_enum_values=False
    )

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except PydanticValidationError as e:
            raise InvalidRecordError(_describe(type(self).__name__, e)) from e

    # Tell pydantic this __init__ only wraps its own: otherwise every model_validate*
    # call would run it and validate each record twice.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    @classmethod
    def parse(cls, data: Any) -> Self:
        """Validate `data` (a mapping) into a record, or raise `InvalidRecordError`."""
        try:
            return cls.model_validate(data)
        except PydanticValidationError as e:
            raise InvalidRecordError(_describe(cls.__name__, e)) from e

    @classmethod
    def parse_json(cls, data: bytes | str) -> Self:
        """Validate a JSON document into a record, or raise `InvalidRecordError`."""
        try:
            return cls.model_validate_json(data)
        except PydanticValidationError as e:
            raise InvalidRecordError(_describe(cls.__name__, e)) from e

    def to_dict(self) -> dict[str, Any]:
        """The record as plain JSON-compatible values (timestamps as canonical text)."""
        return self.model_dump(mode="json")

    def canonical_bytes(self) -> bytes:
        """The canonical form: JSON, sorted keys, canonical timestamps, UTF-8."""
        return orjson.dumps(self.to_dict(), option=orjson.OPT_SORT_KEYS)

    def digest(self) -> str:
        """sha256 (hex) of the canonical form."""
        return hashlib.sha256(self.canonical_bytes()).hexdigest()

    def changed(self, **changes: Any) -> Self:
        """A validated copy with `changes` applied."""
        return type(self).parse({**self.model_dump(), **changes})


_FRIENDLY = {
    "string_pattern_mismatch": "text may not contain the NUL character (U+0000)",
    "timezone_aware": "timestamp must be timezone-aware (add an offset such as +00:00)",
}


def _describe(kind: str, error: PydanticValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or kind
    message = _FRIENDLY.get(first["type"], first["msg"]).removeprefix("Value error, ")
    extra = f" (and {error.error_count() - 1} more problems)" if error.error_count() > 1 else ""
    return f"invalid {kind}: {where}: {message}{extra}"


class MemoryContext(BaseModel):
    """Where and by whom a memory was made."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    project_path: Text | None = None
    files_involved: list[Text] = Field(default_factory=list)
    languages: list[Text] = Field(default_factory=list)
    frameworks: list[Text] = Field(default_factory=list)
    technologies: list[Text] = Field(default_factory=list)
    git_commit: Text | None = None
    git_branch: Text | None = None
    working_directory: Text | None = None
    timestamp: Timestamp | None = None
    session_id: Text | None = None
    user_id: Text | None = None
    tenant_id: Text | None = None
    team_id: Text | None = None
    visibility: Visibility = Visibility.PRIVATE
    created_by: Text | None = None
    metadata: Metadata = Field(default_factory=dict)


class Memory(_Record):
    """One memory: a solution, problem, decision, pattern…"""

    id: Id = Field(default_factory=new_id)
    type: MemoryType
    title: Annotated[Text, Field(min_length=1)]
    content: Text = ""
    summary: Text | None = None
    tags: list[Text] = Field(default_factory=list)
    importance: Unit = 0.5
    confidence: Unit = 0.8
    effectiveness: Unit | None = None
    usage_count: Count = 0
    created_at: Timestamp = Field(default_factory=utc_now)
    updated_at: Timestamp | None = None
    last_accessed: Timestamp | None = None
    context: MemoryContext | None = None

    @model_validator(mode="after")
    def _default_updated_at(self) -> Self:
        if self.updated_at is None:
            object.__setattr__(self, "updated_at", self.created_at)
        return self

    @property
    def changed_at(self) -> datetime:
        """When this memory last changed: what incremental sync (`since`) compares."""
        assert self.updated_at is not None
        return max(self.created_at, self.updated_at)


class Relationship(_Record):
    """A typed, directed edge between two memories, with evidence and validity."""

    id: Id = Field(default_factory=new_id)
    from_id: Id
    to_id: Id
    type: RelationshipType
    strength: Unit = 0.5
    confidence: Unit = 0.8
    context: Text | None = None
    description: Text | None = None
    bidirectional: bool = False
    evidence_count: Count = 0
    success_rate: Unit | None = None
    validation_count: Count = 0
    counter_evidence_count: Count = 0
    created_at: Timestamp = Field(default_factory=utc_now)
    last_validated: Timestamp | None = None
    valid_from: Timestamp | None = None
    valid_until: Timestamp | None = None
    recorded_at: Timestamp | None = None
    invalidated_by: Text | None = None

    @property
    def changed_at(self) -> datetime:
        """When this relationship last changed: what incremental sync compares."""
        stamps = [self.created_at, self.last_validated, self.recorded_at]
        return max(s for s in stamps if s is not None)
