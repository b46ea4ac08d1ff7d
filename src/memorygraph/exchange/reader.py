"""Reading record lines: the one parser that validation, planning and import share."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from memorygraph.backends.base import RECORD_KINDS, Tombstone
from memorygraph.errors import InvalidRecordError, UsageError
from memorygraph.exchange.format import (
    EXTERNAL_ENDS,
    KIND_MEMORY,
    KIND_RELATIONSHIP,
    KIND_TOMBSTONE,
    iter_lines,
    open_for_read,
)
from memorygraph.models import Memory, Relationship, format_timestamp


@dataclass(frozen=True, slots=True)
class RecordLine:
    """A record line that parsed: its line number, record, and declared external ends."""

    line: int
    record: Memory | Relationship
    external: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return KIND_MEMORY if isinstance(self.record, Memory) else KIND_RELATIONSHIP


def require_file(path: Path | str) -> Path:
    """`path` as a Path, or a `UsageError` saying it is not a readable file."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{path} does not exist or is not a file; check the path")
    return path


def parse_record(kind: str, obj: dict[str, Any], line: int) -> RecordLine:
    """Validate one decoded memory/relationship line, or raise `InvalidRecordError`."""
    record = obj.get("record")
    if not isinstance(record, dict):
        raise InvalidRecordError(f'a {kind} line needs "record": a JSON object')
    external = obj.get("external", [])
    if kind == KIND_MEMORY:
        if "external" in obj:
            raise InvalidRecordError('"external" is only allowed on relationship lines')
        return RecordLine(line, Memory.parse(record))
    if (
        not isinstance(external, list)
        or any(e not in EXTERNAL_ENDS for e in external)
        or len(set(external)) != len(external)
    ):
        raise InvalidRecordError('"external" must be a list naming "from_id" and/or "to_id" once')
    return RecordLine(line, Relationship.parse(record), tuple(external))


def iter_records(path: Path | str) -> Iterator[RecordLine]:
    """Every record line of `path` that parses, in file order; anything else is skipped.

    Use on a file `validate_export` accepted (import) or to count what would
    be written (dry run); it does not report problems.
    """
    with open_for_read(Path(path)) as stream:
        for raw in iter_lines(stream):
            if raw.data is None:
                continue
            try:
                obj = orjson.loads(raw.data)
            except orjson.JSONDecodeError:
                continue
            if not isinstance(obj, dict):
                continue
            kind = obj.get("kind")
            if kind not in (KIND_MEMORY, KIND_RELATIONSHIP):
                continue
            try:
                yield parse_record(kind, obj, raw.number)
            except InvalidRecordError:
                continue


def parse_tombstone(obj: dict[str, Any]) -> Tombstone:
    """Validate one decoded tombstone line, or raise `InvalidRecordError`."""
    body = obj.get("tombstone")
    if not isinstance(body, dict) or set(body) != {"deleted_at", "id", "kind"}:
        raise InvalidRecordError(
            'a tombstone line needs "tombstone": {"deleted_at", "id", "kind"} and nothing else'
        )
    kind, record_id, deleted_at = body["kind"], body["id"], body["deleted_at"]
    if kind not in RECORD_KINDS:
        raise InvalidRecordError('a tombstone\'s "kind" is "memory" or "relationship"')
    if not isinstance(record_id, str) or not record_id or "\x00" in record_id:
        raise InvalidRecordError("a tombstone's id must be a non-empty string without NUL")
    try:
        when = datetime.fromisoformat(deleted_at) if isinstance(deleted_at, str) else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is None or format_timestamp(when) != deleted_at:
        raise InvalidRecordError(
            "a tombstone's deleted_at must be a canonical timestamp "
            "(UTC, microseconds, e.g. 2025-03-01T12:00:00.123456+00:00)"
        )
    return Tombstone(kind, record_id, deleted_at)


def iter_tombstones(path: Path | str) -> Iterator[Tombstone]:
    """Every tombstone line of `path` that parses, in file order (see `iter_records`)."""
    with open_for_read(Path(path)) as stream:
        for raw in iter_lines(stream):
            if raw.data is None or b'"tombstone"' not in raw.data:
                continue
            try:
                obj = orjson.loads(raw.data)
            except orjson.JSONDecodeError:
                continue
            if not isinstance(obj, dict) or obj.get("kind") != KIND_TOMBSTONE:
                continue
            try:
                yield parse_tombstone(obj)
            except InvalidRecordError:
                continue
