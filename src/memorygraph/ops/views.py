"""Bounded views of records: what a tool result or a script is shown.

A stored memory may hold a megabyte of content, thousands of tags or a deep
metadata tree. An agent's context cannot take that, so every view here has a
fixed budget: long text is cut with a visible marker, long lists are cut with a
count of what was left out, and the full content is read in windows
(`content_offset`). The budgets are chosen so that a page of the largest list
(`MAX_PAGE` items) stays well under `MAX_RESULT_CHARS`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from memorygraph.models import Memory, Relationship, format_timestamp, utc_now
from memorygraph.patch import version_of

#: Upper bound on one serialized result, structured part and text together
#: (about 20,000 tokens at 4 characters per token).
MAX_RESULT_CHARS = 80_000
#: The most items one page of any list holds.
MAX_PAGE = 50
#: Characters of content in one full view; read the rest with `content_offset`.
CONTENT_WINDOW = 12_000
#: Characters of any other text field in a full view, and of previews in lists.
FULL_TEXT = 2_000
PREVIEW_TEXT = 240
#: Items of a list (tags, files…) and keys of a mapping that a view keeps.
FULL_ITEMS = 50
PREVIEW_ITEMS = 10
#: Characters of a memory's context (metadata included) in a full view, as JSON.
CONTEXT_TEXT = 8_000

TRUNCATION_MARK = "…[truncated]"


def clip_text(text: str, limit: int) -> str:
    """`text`, or its first `limit` characters followed by `TRUNCATION_MARK`."""
    return text if len(text) <= limit else text[:limit] + TRUNCATION_MARK


def clip_value(value: Any, text: int, items: int, depth: int = 0) -> Any:
    """A JSON value with every string cut to `text` characters and every list or
    mapping to `items` entries (a cut list ends with a marker string; a cut
    mapping gains the key "…" with the number of keys left out)."""
    if isinstance(value, str):
        return clip_text(value, text)
    if depth >= 8 and isinstance(value, list | dict):
        return TRUNCATION_MARK
    if isinstance(value, list):
        kept = [clip_value(v, text, items, depth + 1) for v in value[:items]]
        if len(value) > items:
            kept.append(f"{TRUNCATION_MARK} {len(value) - items} more")
        return kept
    if isinstance(value, dict):
        keys = list(value)[:items]
        clipped = {clip_text(k, text): clip_value(value[k], text, items, depth + 1) for k in keys}
        if len(value) > items:
            clipped["…"] = f"{len(value) - items} more keys"
        return clipped
    return value


def _stamp(value: Any) -> str | None:
    return format_timestamp(value) if value is not None else None


class RelationshipView(BaseModel):
    """A relationship as shown to an agent (descriptions cut to a preview)."""

    id: str
    type: str
    from_id: str
    to_id: str
    strength: float
    confidence: float
    description: str | None = None
    context: str | None = None
    bidirectional: bool = False
    created_at: str
    valid_from: str | None = None
    valid_until: str | None = None
    invalidated_by: str | None = None
    valid: bool = Field(description="False once the relationship was invalidated.")
    version: str

    @classmethod
    def of(cls, r: Relationship, text: int = PREVIEW_TEXT) -> RelationshipView:
        return cls(
            id=clip_text(r.id, text),
            type=r.type.value,
            from_id=r.from_id,
            to_id=r.to_id,
            strength=r.strength,
            confidence=r.confidence,
            description=clip_text(r.description, text) if r.description else None,
            context=clip_text(r.context, text) if r.context else None,
            bidirectional=r.bidirectional,
            created_at=format_timestamp(r.created_at),
            valid_from=_stamp(r.valid_from),
            valid_until=_stamp(r.valid_until),
            invalidated_by=clip_text(r.invalidated_by, text) if r.invalidated_by else None,
            valid=is_valid(r),
            version=version_of(r),
        )


def is_valid(r: Relationship) -> bool:
    """False when the relationship was invalidated (by a `valid_until` or `invalidated_by`)."""
    if r.invalidated_by:
        return False
    return r.valid_until is None or r.valid_until > utc_now()


def summary_title(m: Memory) -> str:
    """The title a memory has in a list (`MemorySummary.title`)."""
    return clip_text(m.title, PREVIEW_TEXT)


class MemorySummary(BaseModel):
    """A memory in a list: title, a preview of its text, tags and scores."""

    id: str
    type: str
    title: str
    preview: str = Field(description="The summary, or the start of the content.")
    tags: list[str]
    importance: float
    confidence: float
    project: str | None = None
    created_at: str
    updated_at: str
    version: str

    @classmethod
    def of(cls, m: Memory) -> MemorySummary:
        text = m.summary or m.content
        project = m.context.project_path if m.context else None
        return cls(
            id=m.id,
            type=m.type.value,
            title=summary_title(m),
            preview=clip_text(" ".join(text.split()), PREVIEW_TEXT),
            tags=clip_value(m.tags, 60, PREVIEW_ITEMS),
            importance=m.importance,
            confidence=m.confidence,
            project=clip_text(project, PREVIEW_TEXT) if project else None,
            created_at=format_timestamp(m.created_at),
            updated_at=format_timestamp(m.changed_at),
            version=version_of(m),
        )


class MemoryView(BaseModel):
    """A whole memory, within budget: `content` is one window of at most
    `CONTENT_WINDOW` characters starting at `content_offset`."""

    id: str
    type: str
    title: str
    content: str
    content_offset: int
    content_length: int = Field(description="Characters of the whole content.")
    content_truncated: bool = Field(
        description="True when more content follows; read it with a larger content_offset."
    )
    summary: str | None = None
    tags: list[str]
    importance: float
    confidence: float
    effectiveness: float | None = None
    usage_count: int
    created_at: str
    updated_at: str
    last_accessed: str | None = None
    context: dict[str, Any] | None = None
    version: str

    @classmethod
    def of(cls, m: Memory, content_offset: int = 0) -> MemoryView:
        window = m.content[content_offset : content_offset + CONTENT_WINDOW]
        context = None
        if m.context is not None:
            context = clip_value(m.context.model_dump(mode="json"), FULL_TEXT, FULL_ITEMS)
            if len(str(context)) > CONTEXT_TEXT:
                context = clip_value(context, PREVIEW_TEXT, PREVIEW_ITEMS)
        return cls(
            id=m.id,
            type=m.type.value,
            title=clip_text(m.title, FULL_TEXT),
            content=window,
            content_offset=content_offset,
            content_length=len(m.content),
            content_truncated=content_offset + len(window) < len(m.content),
            summary=clip_text(m.summary, FULL_TEXT) if m.summary else None,
            tags=clip_value(m.tags, 100, FULL_ITEMS),
            importance=m.importance,
            confidence=m.confidence,
            effectiveness=m.effectiveness,
            usage_count=m.usage_count,
            created_at=format_timestamp(m.created_at),
            updated_at=format_timestamp(m.changed_at),
            last_accessed=_stamp(m.last_accessed),
            context=context,
            version=version_of(m),
        )
