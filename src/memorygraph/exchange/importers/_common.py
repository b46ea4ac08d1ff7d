"""What the importers share: the conversion report, stable ids, and faithful field mapping.

Mapping rules (docs/FORMAT.md, "Importers"): every source field lands in a
memorygraph field or, when there is none, in `context.metadata`, so nothing is
dropped silently; whatever cannot be mapped at all is counted in the report
with a reason and the first few line numbers or ids.
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import orjson
from pydantic import ValidationError

from memorygraph.errors import InvalidRecordError
from memorygraph.exchange.vocabulary import (
    SOURCE_TYPE_PREFIX,
    keep_source_type,
    memory_type_of,
    relationship_type_of,
)
from memorygraph.models import (
    Memory,
    MemoryContext,
    MemoryType,
    Relationship,
    RelationshipType,
    Visibility,
    utc_range_problem,
)

#: uuid5 namespace of every id an importer derives (documented in docs/FORMAT.md).
ID_NAMESPACE: Final = uuid.UUID("5d1c7d3e-8a43-5f0e-9a57-2f4b6c3e9d10")
_MAX_NOTES: Final = 50
_MAX_ID: Final = 512
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_NUL_TEXT: Final = "\\u0000"

#: Report lines (reason texts) that scripts and tests may rely on.
ADJUST_NAIVE_TIME: Final = "timestamps without a time zone, read as UTC"
ADJUST_BIG_INT: Final = "metadata integers beyond 64 bits, kept exactly as decimal text"
ADJUST_NUL: Final = "metadata keys or text with the NUL character, written with \\u0000 as text"
ADJUST_NON_FINITE: Final = "metadata NaN or infinity, kept as text"
ADJUST_LONG_ID: Final = (
    "memory ids longer than 512 characters or with NUL, replaced by a derived id "
    "(original in context.metadata.source_id)"
)
ADJUST_VISIBILITY: Final = "memories without a visibility, given the source's default project"
ADJUST_EVIDENCE: Final = "relationships without evidence_count, given the source's default 1"

_CONTEXT_FIELDS: Final = frozenset(MemoryContext.model_fields) - {"metadata"}
_MEMORY_FIELDS: Final = frozenset(
    {
        "id", "type", "title", "content", "summary", "tags", "importance", "confidence",
        "effectiveness", "usage_count", "created_at", "updated_at", "last_accessed", "context",
    }
)  # fmt: skip
_RELATIONSHIP_PROPS: Final = frozenset(
    {
        "strength", "confidence", "context", "evidence_count", "success_rate",
        "validation_count", "counter_evidence_count", "created_at", "last_validated",
        "valid_from", "valid_until", "recorded_at", "invalidated_by",
    }
)  # fmt: skip
_TIME_FIELDS: Final = frozenset(
    {"created_at", "updated_at", "last_accessed", "last_validated", "valid_from",
     "valid_until", "recorded_at", "timestamp"}
)  # fmt: skip


class Unmappable(Exception):
    """This source record cannot become a memorygraph record; the message says why."""


@dataclass
class ConversionReport:
    """What an importer converted, and what it could not map (reason → count)."""

    source_format: str
    #: The file converted, or the location of a graph read in place.
    source: Path | str
    memories: int = 0
    relationships: int = 0
    unmapped: dict[str, int] = field(default_factory=dict)
    adjusted: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    output: Path | None = None

    def skip(self, reason: str, where: str | None = None, *, count: int = 1) -> None:
        """Count `count` source records that were left out, and why."""
        self.unmapped[reason] = self.unmapped.get(reason, 0) + count
        if where is not None and len(self.notes) < _MAX_NOTES:
            self.notes.append(f"{where}: {reason}")

    def adjust(self, what: str) -> None:
        """Count a value that was kept but moved or read with an assumption."""
        self.adjusted[what] = self.adjusted.get(what, 0) + 1

    @property
    def unmapped_total(self) -> int:
        return sum(self.unmapped.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "source_format": self.source_format,
            "source": str(self.source),
            "memories": self.memories,
            "relationships": self.relationships,
            "unmapped": dict(self.unmapped),
            "unmapped_total": self.unmapped_total,
            "adjusted": dict(self.adjusted),
            "notes": list(self.notes),
            "output": str(self.output) if self.output else None,
        }


def stable_id(*parts: str) -> str:
    """A UUID derived from `parts` only, so converting the same data twice gives the same id."""
    return str(uuid.uuid5(ID_NAMESPACE, orjson.dumps(list(parts)).decode()))


def loads_exact(data: bytes | str) -> Any:
    """JSON as written, with integers of any size kept exactly (orjson turns those beyond
    64 bits into floats) and NaN/Infinity read as floats, as Python's `json` writes them."""
    return json.loads(data, parse_constant=float)


def fit_json(value: Any, report: ConversionReport, depth: int = 0) -> Any:
    """`value` in the form memorygraph's metadata can hold, each change counted.

    Integers beyond 64 bits become their exact decimal text; NUL characters in
    keys or text become the six characters ``\\u0000``; NaN and infinity become
    text. Raises `Unmappable` when that is not enough (two keys that become one,
    or nesting deeper than metadata allows).
    """
    if depth > 32:
        raise Unmappable("metadata is nested deeper than 32 levels")
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        if _INT64_MIN <= value <= _INT64_MAX:
            return value
        report.adjust(ADJUST_BIG_INT)
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        report.adjust(ADJUST_NON_FINITE)
        return str(value)
    if isinstance(value, str):
        if "\x00" in value:
            report.adjust(ADJUST_NUL)
            return value.replace("\x00", _NUL_TEXT)
        return value
    if isinstance(value, list):
        return [fit_json(item, report, depth + 1) for item in value]
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            new_key = fit_json(str(key), report, depth + 1)
            if new_key in out:
                raise Unmappable(f"metadata keys {key!r} and {new_key!r} would become one")
            out[new_key] = fit_json(item, report, depth + 1)
        return out
    return str(value)


def memory_id(value: str, report: ConversionReport | None = None) -> str:
    """The memorygraph id of a source memory id: itself when it fits (at most 512
    characters, no NUL), else a UUID derived from it (counted when `report` is given)."""
    if 0 < len(value) <= _MAX_ID and "\x00" not in value:
        return value
    if report is not None:
        report.adjust(ADJUST_LONG_ID)
    return stable_id("mcp-memory-id", value)


def parse_time(value: Any, report: ConversionReport, what: str) -> datetime | None:
    """A timezone-aware timestamp from ISO text (naive text is read as UTC, and counted)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        text = value.strip()
        try:
            moment = datetime.fromisoformat(
                text.replace("Z", "+00:00") if text.endswith("Z") else text
            )
        except ValueError:
            raise Unmappable(f"{what} {value!r} is not an ISO-8601 timestamp") from None
    else:
        raise Unmappable(f"{what} {value!r} is not a timestamp")
    if moment.tzinfo is None or moment.utcoffset() is None:
        report.adjust(ADJUST_NAIVE_TIME)
        moment = moment.replace(tzinfo=UTC)
    if utc_range_problem(moment) is not None:
        raise Unmappable(f"{what} outside the years 1..9999 in UTC")
    return moment


def memory_type(value: Any, report: ConversionReport) -> tuple[MemoryType, str | None]:
    """The MemoryType for `value` (GENERAL when none fits), and the source's text whenever
    it is not exactly that type's value, for the caller to keep."""
    text = str(value) if value is not None else ""
    mtype = memory_type_of(text)
    if mtype is None:
        report.adjust("memory types not in memorygraph, stored as general (original in metadata)")
        return MemoryType.GENERAL, text
    if text != mtype.value:
        report.adjust("memory types spelled otherwise, mapped to memorygraph's (original kept)")
        return mtype, text
    return mtype, None


def relationship_type(value: Any, report: ConversionReport) -> tuple[RelationshipType, str | None]:
    """The RelationshipType for `value` (RELATED_TO when none fits), and the source's text
    whenever it is not exactly that type's value, for the caller to keep
    (`vocabulary.keep_source_type`)."""
    text = str(value) if value is not None else ""
    rtype = relationship_type_of(text)
    if rtype is None:
        report.adjust("relationship types not in memorygraph, stored as RELATED_TO")
        return RelationshipType.RELATED_TO, text
    if text != rtype.value:
        report.adjust(
            "relationship types spelled otherwise, mapped to memorygraph's (original kept)"
        )
        return rtype, text
    return rtype, None


def _maybe_json(value: Any) -> Any:
    # The MCP server stores nested context values as JSON text in flat properties.
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return loads_exact(value)
        except ValueError:
            return value
    return value


def _context(
    raw: dict[str, Any], extra: dict[str, Any], report: ConversionReport
) -> MemoryContext | None:
    fields: dict[str, Any] = {}
    metadata: dict[str, Any] = {}
    unknown: dict[str, Any] = {}
    for key, value in raw.items():
        value = _maybe_json(value)
        if value is None:
            continue
        if key in ("additional_metadata", "metadata"):
            if isinstance(value, dict):
                metadata.update(fit_json(value, report))
            else:
                unknown[key] = value
        elif key == "timestamp":
            fields[key] = parse_time(value, report, "context.timestamp")
        elif key == "visibility" and value not in {v.value for v in Visibility}:
            unknown[key] = value
            report.adjust("context visibility values not in memorygraph (kept in metadata)")
        elif key in _CONTEXT_FIELDS:
            fields[key] = value
        else:
            unknown[key] = value
    if unknown:
        metadata["source_context_fields"] = fit_json(unknown, report)
        report.adjust("source context fields kept in context.metadata")
    metadata.update(fit_json(extra, report))
    if not fields and not metadata:
        return None
    if raw and "visibility" not in fields and "visibility" not in unknown:
        # The source's own model reads a context without visibility as "project".
        fields["visibility"] = Visibility.PROJECT
        report.adjust(ADJUST_VISIBILITY)
    try:
        return MemoryContext(**fields, metadata=metadata)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise Unmappable(f"context.{where}: {first['msg']}") from None


def memory_from_mcp(
    obj: dict[str, Any], report: ConversionReport, *, default_time: datetime, where: str
) -> Memory:
    """A Memory from the MCP memory server's shape (nested `context` or flat `context_*` keys).

    Raises `Unmappable` when the object cannot be a valid memory.
    """
    raw_context: dict[str, Any] = {}
    nested = obj.get("context")
    if isinstance(nested, dict):
        raw_context.update(nested)
    elif nested is not None:
        raw_context["context"] = nested
    extra: dict[str, Any] = {}
    for key, value in obj.items():
        if key.startswith("context_"):
            raw_context[key[len("context_") :]] = value
        elif key not in _MEMORY_FIELDS:
            extra[key] = value
    original_type: str | None = None
    mtype, original_type = memory_type(obj.get("type"), report)
    meta: dict[str, Any] = {}
    if original_type is not None:
        meta["source_type"] = original_type
    if extra:
        meta["source_fields"] = extra
        report.adjust("source memory fields kept in context.metadata")
    source_id = obj.get("id")
    if not isinstance(source_id, str) or not source_id:
        new_id = stable_id(
            "mcp-memory", json.dumps(obj, sort_keys=True, default=str, ensure_ascii=False)
        )
        report.adjust("memories without an id, given one derived from their content")
    else:
        new_id = memory_id(source_id, report)
        if new_id != source_id:
            meta["source_id"] = fit_json(source_id, report)
    title = obj.get("title")
    if not isinstance(title, str) or not title.strip():
        title = "(untitled)"
        report.adjust("memories without a title, titled (untitled)")
    created = parse_time(obj.get("created_at"), report, "created_at") or default_time
    try:
        return Memory(
            id=new_id,
            type=mtype,
            title=title,
            content=obj.get("content") or "",
            summary=obj.get("summary"),
            tags=obj.get("tags") or [],
            importance=obj.get("importance", 0.5),
            confidence=obj.get("confidence", 0.8),
            effectiveness=obj.get("effectiveness"),
            usage_count=obj.get("usage_count") or 0,
            created_at=created,
            updated_at=parse_time(obj.get("updated_at"), report, "updated_at"),
            last_accessed=parse_time(obj.get("last_accessed"), report, "last_accessed"),
            context=_context(raw_context, meta, report),
        )
    except InvalidRecordError as e:
        raise Unmappable(str(e)) from None


def relationship_from_mcp(
    obj: dict[str, Any],
    props: dict[str, Any],
    report: ConversionReport,
    *,
    default_time: datetime,
) -> Relationship:
    """A Relationship from the MCP server's shape: ends and type in `obj`, values in `props`.

    Without an id, the id is derived from (from, original type, to), so
    re-importing the same file is idempotent.
    """
    start = obj.get("from_memory_id", obj.get("from_id"))
    end = obj.get("to_memory_id", obj.get("to_id"))
    if not isinstance(start, str) or not isinstance(end, str) or not start or not end:
        raise Unmappable("relationship without from/to memory ids")
    raw_type = obj.get("type", obj.get("rel_type"))
    rtype, original = relationship_type(raw_type, report)
    description = obj.get("description", props.get("description"))
    if original is not None:
        description = keep_source_type(original, description)
    elif isinstance(description, str) and description.startswith(SOURCE_TYPE_PREFIX):
        # Kept as well, so that the exporter cannot read this description as a kept type.
        description = keep_source_type(rtype.value, description)
    rel_id = obj.get("id") or props.get("id")
    if not isinstance(rel_id, str) or not rel_id:
        rel_id = derived_relationship_id(start, str(raw_type), end)
    values: dict[str, Any] = {}
    for key in _RELATIONSHIP_PROPS:
        value = props.get(key)
        if value is None:
            continue
        values[key] = parse_time(value, report, key) if key in _TIME_FIELDS else value
    if "created_at" not in values:
        values["created_at"] = default_time
        report.adjust("relationships without a creation time, given the file's date")
    if "evidence_count" not in values:
        values["evidence_count"] = 1
        report.adjust(ADJUST_EVIDENCE)
    for name in sorted(set(props) - _RELATIONSHIP_PROPS - {"id", "description", "bidirectional"}):
        # A Relationship has no free-form map: such values are dropped, but counted by name.
        report.skip(f"relationship property {name!r} has no memorygraph field (value dropped)")
    try:
        return Relationship(
            id=rel_id,
            from_id=memory_id(start),
            to_id=memory_id(end),
            type=rtype,
            description=description,
            bidirectional=bool(obj.get("bidirectional", props.get("bidirectional", False))),
            **values,
        )
    except InvalidRecordError as e:
        raise Unmappable(str(e)) from None


def derived_relationship_id(start: str, rel_type: str, end: str, *extra: str) -> str:
    """The id of a relationship whose source has none (or whose source ids are not shared
    by all of its files): from its ends and type, in the source's own ids."""
    return stable_id("mcp-relationship", start, rel_type, end, *extra)


def file_time(path: Path) -> datetime:
    """The file's modification time: the stable stand-in for records with no timestamp."""
    return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
