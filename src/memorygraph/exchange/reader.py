"""Reading record lines: the one parser that validation, planning and import share."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from memorygraph.backends.base import RECORD_KINDS, Tombstone
from memorygraph.canonical import CanonicalRecord, RecordKind
from memorygraph.errors import InvalidExportError, InvalidRecordError, UsageError
from memorygraph.exchange.format import (
    EXTERNAL_ENDS,
    KIND_MEMORY,
    KIND_RELATIONSHIP,
    KIND_TOMBSTONE,
    KIND_TRAILER,
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


@dataclass(frozen=True, slots=True)
class CanonicalLine:
    """A record line of a file already proven valid, as its canonical record."""

    line: int
    record: CanonicalRecord
    external: tuple[str, ...] = ()

    @property
    def kind(self) -> RecordKind:
        return self.record.kind


_MEMORY_PREFIX = b'{"kind":"memory","record":'
_RELATIONSHIP_PREFIX = b'{"kind":"relationship","record":'
_EXTERNAL = b',"external":'
_HASH_CHUNK = 1 << 20
#: Enough of the file's end to hold its trailer line whole.
_TRAILER_TAIL = 64 * 1024


def iter_canonical_lines(path: Path | str) -> Iterator[CanonicalLine]:
    """The record lines of a file that `validate_export` accepted, or that this process
    wrote and whose file digest still matches, in file order.

    Every record line of such a file is canonical (docs/FORMAT.md), so the record's
    bytes are sliced out of the line as they are and decoded once, without the model.
    Other lines are skipped.
    """
    with open_for_read(Path(path)) as stream:
        for raw in iter_lines(stream):
            data = raw.data
            if data is None:
                continue
            kind: RecordKind
            if data.startswith(_MEMORY_PREFIX):
                kind, body = KIND_MEMORY, data[len(_MEMORY_PREFIX) : -1]
            elif data.startswith(_RELATIONSHIP_PREFIX):
                kind, body = KIND_RELATIONSHIP, data[len(_RELATIONSHIP_PREFIX) : -1]
            else:
                continue
            external: tuple[str, ...] = ()
            if body.endswith(b"]"):  # a record ends in "}", a list of external ends in "]"
                cut = body.rindex(_EXTERNAL)
                external = tuple(orjson.loads(body[cut + len(_EXTERNAL) :]))
                body = body[:cut]
            yield CanonicalLine(raw.number, CanonicalRecord.trusted(kind, body), external)


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


def unchanged_trailer(path: Path | str, file_sha256: str) -> dict[str, Any]:
    """The trailer of the export at `path` when its content still hashes to `file_sha256`
    (what `ExportWriter` reported when it wrote it); `InvalidExportError` otherwise.

    One hashing pass instead of a validation: a file that is byte for byte the one
    a writer produced is as valid as it was when written.
    """
    digest = hashlib.sha256()
    last = b""
    with open_for_read(require_file(path)) as stream:
        while chunk := stream.read(_HASH_CHUNK):
            digest.update(chunk)
            last = (last + chunk)[-_TRAILER_TAIL:]
    if digest.hexdigest() != file_sha256:
        raise InvalidExportError(
            f"{path} changed after it was written (its sha256 differs); nothing was written "
            "from it. Export the source again",
            [],
        )
    trailer = orjson.loads(last.rstrip(b"\n").rpartition(b"\n")[2])
    if not isinstance(trailer, dict) or trailer.get("kind") != KIND_TRAILER:
        raise InvalidExportError(f"{path} ends without its trailer; export the source again", [])
    return trailer
