"""The single-document JSON export of the memorygraph MCP server (format_version "2.0").

Layout: one JSON object with `format_version`, `export_version`,
`export_date`, `backend_type`, `memory_count`, `relationship_count`,
`memories` (objects with nested `context`) and `relationships`
(`from_memory_id`, `to_memory_id`, `type`, `properties`{...}, no id).
The document is streamed (`json_stream`): its memories and relationships are
read, converted and written one batch at a time, with integers kept exactly
(the server writes them with Python's `json`, of any size), and the ids seen
so far kept on disk (`IdIndex`), so memory stays flat in the file's size.
Relationship ids are derived from (from, type, to) exactly as the `mcp-sqlite`
importer derives them, so importing both files of the same store gives each
relationship once.

A relationship's ends must be memories of the file, so relationships are
read once every memory is known: in the same pass when the document lists
them after the memories (as the server writes it), else in a second pass.
The export date, every record's fallback time, is read before the first
record: from the members ahead of the arrays, else by a first pass.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from memorygraph.errors import InvalidExportError
from memorygraph.exchange.export import ExportWriter
from memorygraph.exchange.importers._common import (
    ConversionReport,
    Unmappable,
    file_time,
    memory_from_mcp,
    parse_time,
    relationship_from_mcp,
)
from memorygraph.exchange.importers.json_stream import (
    JsonStreamError,
    NotAnObjectError,
    StreamedArray,
    members,
)
from memorygraph.idindex import IdIndex
from memorygraph.models import Memory, Relationship

NAME = "mcp-json"
MEMORIES: Final = "memories"
RELATIONSHIPS: Final = "relationships"
_ARRAYS: Final = frozenset({MEMORIES, RELATIONSHIPS})
_BATCH: Final = 1000
#: A record converted, or the reason and place it was left out.
_Entry = tuple[int, Memory | Relationship | tuple[str, str]]


@dataclass
class _Document:
    """What the passes learned about the document besides its records."""

    scalars: dict[str, Any] = field(default_factory=dict)
    memory_entries: int | None = None  # None: no "memories" list (yet)
    relationship_entries: int = 0
    relationships_deferred: bool = False


def _read(path: Path, *, chunk: int | None) -> Generator[tuple[str, Any], None, None]:
    options = {} if chunk is None else {"chunk": chunk}
    return members(path, _ARRAYS, **options)


@contextmanager
def _faults_named(path: Path) -> Iterator[None]:
    """The document's faults, wherever they are met (also inside an array being read),
    as one `InvalidExportError`."""
    try:
        yield
    except (JsonStreamError, UnicodeDecodeError, RecursionError) as e:
        raise InvalidExportError(
            f"{path} is not valid JSON ({e}); is it an MCP JSON export?"
        ) from None
    except NotAnObjectError:
        raise _no_memories(path) from None


def _no_memories(path: Path) -> InvalidExportError:
    return InvalidExportError(
        f'{path} has no "memories" list at the top level; it is not an MCP JSON export'
    )


def _scalars(path: Path, chunk: int | None) -> dict[str, Any]:
    """The members that are not the two arrays: those ahead of the arrays when the export
    date is among them (one read of the document's head), else all of them (one pass)."""
    scalars: dict[str, Any] = {}
    reader = _read(path, chunk=chunk)
    for key, value in reader:
        if isinstance(value, StreamedArray):
            if "export_date" in scalars:
                reader.close()
                return scalars
            continue
        scalars[key] = value
    return scalars


def convert(
    path: Path, writer_for: Any, report: ConversionReport, *, chunk: int | None = None
) -> None:
    """Write the memories, then the relationships, of the MCP JSON export at `path`
    (`chunk`: characters read at a time, for tests)."""
    with _faults_named(path):
        _convert(path, writer_for, report, chunk)


def _convert(path: Path, writer_for: Any, report: ConversionReport, chunk: int | None) -> None:
    doc = _Document(scalars=_scalars(path, chunk))
    try:
        export_date = doc.scalars.get("export_date")
        default_time = parse_time(export_date, report, "export_date") or file_time(path)
    except Unmappable:
        default_time = file_time(path)
    source_note = len(report.notes)
    report.notes.append("")  # the source's description, once every member is read
    writer: ExportWriter = writer_for()
    with IdIndex() as seen:
        convert_records = _Converter(writer, seen, report, default_time)
        for key, value in _read(path, chunk=chunk):
            if key == MEMORIES:
                if not isinstance(value, StreamedArray) or doc.memory_entries is not None:
                    raise _no_memories(path)
                convert_records.memories(value)
                doc.memory_entries = value.count
            elif key == RELATIONSHIPS:
                _relationships_member(doc, value, convert_records, report)
            else:
                doc.scalars[key] = value
        if doc.memory_entries is None:
            raise _no_memories(path)
        if doc.relationships_deferred:
            # The relationships came before the memories: read them again, now that
            # every memory is known.
            for key, value in _read(path, chunk=chunk):
                if key == RELATIONSHIPS and isinstance(value, StreamedArray):
                    convert_records.relationships(value)
    scalars = doc.scalars
    report.notes[source_note] = (
        f"source: format_version {scalars.get('format_version')!r}, export_version "
        f"{scalars.get('export_version')!r}, backend {scalars.get('backend_type')!r}, "
        f"{scalars.get('memory_count')!r} memories and {scalars.get('relationship_count')!r} "
        "relationships declared"
    )
    for name, declared, found in (
        ("memory_count", scalars.get("memory_count"), doc.memory_entries),
        ("relationship_count", scalars.get("relationship_count"), doc.relationship_entries),
    ):
        if isinstance(declared, int) and declared != found:
            report.notes.append(f"the document declares {name} {declared} but holds {found}")
    report.memories, report.relationships = convert_records.counts()


def _relationships_member(
    doc: _Document, value: Any, convert_records: _Converter, report: ConversionReport
) -> None:
    if not isinstance(value, StreamedArray):
        if value:
            report.skip('"relationships" that is not a list')
        return
    if doc.memory_entries is None:
        value.drain()  # read again once the memories are known
        doc.relationships_deferred = True
    else:
        convert_records.relationships(value)
    doc.relationship_entries = value.count


class _Converter:
    """Converts and writes records batch by batch, remembering the ids written."""

    def __init__(
        self, writer: ExportWriter, seen: IdIndex, report: ConversionReport, default_time: datetime
    ) -> None:
        self._writer = writer
        self._seen = seen
        self._report = report
        self._default_time = default_time
        self._memories = 0
        self._relationships = 0

    def counts(self) -> tuple[int, int]:
        """Memories and relationships written."""
        return self._memories, self._relationships

    def memories(self, items: StreamedArray) -> None:
        batch: list[_Entry] = []
        for i, obj in enumerate(items):
            batch.append((i, self._memory(i, obj)))
            if len(batch) >= _BATCH:
                self._write_memories(batch)
                batch = []
        self._write_memories(batch)

    def relationships(self, items: StreamedArray) -> None:
        batch: list[_Entry] = []
        for i, obj in enumerate(items):
            batch.append((i, self._relationship(i, obj)))
            if len(batch) >= _BATCH:
                self._write_relationships(batch)
                batch = []
        self._write_relationships(batch)

    def _memory(self, i: int, obj: Any) -> Memory | tuple[str, str]:
        where = f"memories[{i}]"
        if not isinstance(obj, dict):
            return "memory entries that are not JSON objects", where
        try:
            return memory_from_mcp(obj, self._report, default_time=self._default_time, where=where)
        except Unmappable as e:
            return "memories that are not valid", f"{where}: {e}"

    def _relationship(self, i: int, obj: Any) -> Relationship | tuple[str, str]:
        where = f"relationships[{i}]"
        if not isinstance(obj, dict):
            return "relationship entries that are not JSON objects", where
        props = obj.get("properties") or {}
        if not isinstance(props, dict):
            return "relationships whose properties are not an object", where
        try:
            return relationship_from_mcp(obj, props, self._report, default_time=self._default_time)
        except Unmappable as e:
            return "relationships that are not valid", f"{where}: {e}"

    def _write_memories(self, batch: list[_Entry]) -> None:
        records = [(r.id, i) for i, r in batch if isinstance(r, Memory)]
        repeated = {line for _, line, _ in self._seen.add(MEMORIES, records)}
        kept: list[Memory] = []
        for i, entry in batch:
            if isinstance(entry, tuple):
                self._report.skip(*entry)
            elif i in repeated:
                self._report.skip("memories repeating an earlier id (first kept)", f"memories[{i}]")
            else:
                assert isinstance(entry, Memory)
                kept.append(entry)
        self._writer.write_memories(kept)
        self._memories += len(kept)

    def _write_relationships(self, batch: list[_Entry]) -> None:
        rels = [(i, r) for i, r in batch if isinstance(r, Relationship)]
        missing = self._seen.missing(MEMORIES, [e for _, r in rels for e in (r.from_id, r.to_id)])
        ended = [(r.id, i) for i, r in rels if r.from_id not in missing and r.to_id not in missing]
        ends_known = {i for _, i in ended}
        repeated = {line for _, line, _ in self._seen.add(RELATIONSHIPS, ended)}
        kept: list[Relationship] = []
        for i, entry in batch:
            where = f"relationships[{i}]"
            if isinstance(entry, tuple):
                self._report.skip(*entry)
            elif i not in ends_known:
                self._report.skip("relationships whose ends are not memories of the file", where)
            elif i in repeated:
                self._report.skip(
                    "relationships repeating an earlier one (same id or ends and type)", where
                )
            else:
                assert isinstance(entry, Relationship)
                kept.append(entry)
        self._writer.write_relationships(kept)
        self._relationships += len(kept)
