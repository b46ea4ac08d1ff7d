"""Validation of an export file before anything is imported from it.

One streaming pass checks the schema of every line, the header (first line,
known format, readable version), the order (memories before relationships,
nothing after the trailer), duplicate ids, relationship ends that are neither
memories of the file nor declared external, and the trailer's counts and
digest; a missing trailer means the file was cut short. Memory use is one
line plus an on-disk id index (see `_ids`), whatever the file's size.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from memorygraph.errors import InvalidRecordError
from memorygraph.exchange.format import (
    DIGEST_ALGORITHM,
    FORMAT_MINOR,
    FORMAT_NAME,
    FORMAT_VERSION,
    KIND_HEADER,
    KIND_MEMORY,
    KIND_RELATIONSHIP,
    KIND_TOMBSTONE,
    KIND_TRAILER,
    MAX_LINE_BYTES,
    RECORD_KINDS,
    TOMBSTONE_MINOR,
    DigestSum,
    UnsupportedVersionError,
    check_version,
    encode_record,
    encode_tombstone,
    iter_lines,
    open_for_read,
)
from memorygraph.exchange.reader import (
    RecordLine,
    parse_record,
    parse_tombstone,
    require_file,
)
from memorygraph.idindex import IdIndex
from memorygraph.models import Relationship

_BATCH = 2000


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file; `line` is 1-based (None: the file as a whole)."""

    line: int | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "message": self.message}

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line is not None else self.message


def _zero() -> dict[str, int]:
    return dict.fromkeys(RECORD_KINDS, 0)


@dataclass
class ValidationReport:
    """The outcome of `validate_export`. The file is importable exactly when `valid`.

    `problems` holds the first `max_problems`; `problem_count` counts all.
    `counts` are record lines per kind; `invalid_records` those that failed
    their schema or repeat an id; `digest` is computed over the valid records.
    """

    path: Path
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    format_version: str | None = None
    header: dict[str, Any] | None = None
    trailer: dict[str, Any] | None = None
    counts: dict[str, int] = field(default_factory=_zero)
    invalid_records: dict[str, int] = field(default_factory=_zero)
    dangling_relationships: int = 0
    external_relationships: int = 0
    #: Tombstone lines (format 1.1 and later): deletions the import carries out.
    tombstones: int = 0
    unreadable_lines: int = 0
    ignored_lines: int = 0
    lines: int = 0
    digest: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.problem_count == 0

    @property
    def memories(self) -> int:
        """Memory lines in the file (valid or not)."""
        return self.counts[KIND_MEMORY]

    @property
    def relationships(self) -> int:
        """Relationship lines in the file (valid or not)."""
        return self.counts[KIND_RELATIONSHIP]

    def summary(self) -> str:
        """One line: valid with counts, or the number of problems and the first one."""
        if self.valid:
            return (
                f"{self.path} is valid: {self.counts[KIND_MEMORY]} memories, "
                f"{self.counts[KIND_RELATIONSHIP]} relationships"
            )
        first = self.problems[0] if self.problems else "?"
        return f"{self.path} has {self.problem_count} problem(s); first: {first}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "valid": self.valid,
            "problem_count": self.problem_count,
            "problems": [p.to_dict() for p in self.problems],
            "format_version": self.format_version,
            "header": self.header,
            "trailer": self.trailer,
            "counts": dict(self.counts),
            "invalid_records": dict(self.invalid_records),
            "dangling_relationships": self.dangling_relationships,
            "external_relationships": self.external_relationships,
            "tombstones": self.tombstones,
            "unreadable_lines": self.unreadable_lines,
            "ignored_lines": self.ignored_lines,
            "lines": self.lines,
            "digest": self.digest,
            "notes": list(self.notes),
        }


class _Stop(Exception):
    """The rest of the file cannot be read meaningfully (not ours, unknown major)."""


_PROGRESS_EVERY = 5000


class _Validator:
    def __init__(
        self,
        report: ValidationReport,
        ids: IdIndex,
        max_problems: int,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.report = report
        self.progress = progress
        self.ids = ids
        self.max_problems = max_problems
        self.digest = DigestSum()
        self.file_minor = FORMAT_MINOR
        self.header_line: int | None = None
        self.header_digest: str | None = None
        self.trailer_line: int | None = None
        self.first_relationship_line: int | None = None
        self.first_tombstone_line: int | None = None
        self.memory_batch: list[tuple[str, int]] = []
        self.relationship_batch: list[RecordLine] = []

    def problem(self, line: int | None, message: str) -> None:
        self.report.problem_count += 1
        if len(self.report.problems) < self.max_problems:
            self.report.problems.append(Problem(line, message))

    # --- the pass --------------------------------------------------------------

    def run(self, stream: IO[bytes]) -> None:
        last = 0
        try:
            for raw in iter_lines(stream):
                last = raw.number
                if self.progress is not None and last % _PROGRESS_EVERY == 0:
                    self.progress(last)
                if raw.error is not None:
                    self.problem(raw.number, raw.error)
                    break
                if raw.too_long:
                    self.report.unreadable_lines += 1
                    self.problem(
                        raw.number,
                        f"line is longer than {MAX_LINE_BYTES} bytes; no valid export has one",
                    )
                    continue
                assert raw.data is not None
                if not raw.terminated:
                    self.problem(
                        raw.number,
                        "the last line has no newline: the file was cut short; export it again",
                    )
                self.line(raw.number, raw.data)
            self.flush_memories()
            self.flush_relationships()
        except _Stop:
            pass
        self.report.lines = last
        self.finish(last)

    def line(self, number: int, data: bytes) -> None:
        if not data.strip():
            self.report.unreadable_lines += 1
            self.problem(number, "blank line; every line must be one JSON object")
            return
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError as e:
            self.report.unreadable_lines += 1
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as u:
                self.problem(number, f"invalid UTF-8 at byte {u.start} of the line")
            else:
                self.problem(number, f"invalid JSON: {e}")
            return
        if not isinstance(obj, dict):
            self.report.unreadable_lines += 1
            self.problem(number, f"a line must be a JSON object, not {type(obj).__name__}")
            return
        kind = obj.get("kind")
        if kind == KIND_HEADER:
            self.header(number, obj, data)
            return
        if self.trailer_line is not None and kind != KIND_TRAILER:
            self.problem(number, f"a line after the trailer (line {self.trailer_line})")
        if kind in RECORD_KINDS and self.first_tombstone_line is not None:
            self.problem(
                number,
                f"a {kind} after the first tombstone (line {self.first_tombstone_line}); "
                "tombstones come after every record",
            )
        if kind == KIND_MEMORY:
            self.memory(number, obj, data)
        elif kind == KIND_RELATIONSHIP:
            self.relationship(number, obj, data)
        elif kind == KIND_TRAILER:
            if self.trailer_line is not None:
                self.problem(number, f"a second trailer (the first is on line {self.trailer_line})")
            else:
                self.trailer_line = number
                self.report.trailer = obj
        elif kind == KIND_TOMBSTONE and self.file_minor >= TOMBSTONE_MINOR:
            self.tombstone(number, obj, data)
        elif self.file_minor > FORMAT_MINOR and isinstance(kind, str):
            # A newer minor may add line kinds; older readers skip them (docs/FORMAT.md).
            self.report.ignored_lines += 1
        else:
            self.report.unreadable_lines += 1
            self.problem(
                number,
                f"unknown kind {kind!r}; expected header, memory, relationship"
                + (", tombstone" if self.file_minor >= TOMBSTONE_MINOR else "")
                + " or trailer",
            )

    def header(self, number: int, obj: dict[str, Any], data: bytes) -> None:
        if number != 1:
            where = f" (the first is on line {self.header_line})" if self.header_line else ""
            self.problem(number, f"a header on line {number}: it must be line 1, once{where}")
            return
        self.header_line = 1
        self.header_digest = hashlib.sha256(data).hexdigest()
        self.report.header = obj
        if obj.get("format") != FORMAT_NAME:
            self.problem(1, f"format is {obj.get('format')!r}, not {FORMAT_NAME!r}")
            raise _Stop
        try:
            _, self.file_minor = check_version(obj.get("format_version"))
        except UnsupportedVersionError as e:
            self.problem(1, str(e))
            raise _Stop from None
        except ValueError as e:
            self.problem(1, str(e))
            raise _Stop from None
        self.report.format_version = obj["format_version"]
        if self.file_minor > FORMAT_MINOR:
            self.report.notes.append(
                f"written by format {obj['format_version']}, newer than this reader's "
                f"{FORMAT_VERSION}; unknown keys and line kinds were ignored"
            )
        if not isinstance(obj.get("incremental"), bool):
            self.problem(1, 'header "incremental" must be true or false')
        since = obj.get("since")
        if since is not None and not isinstance(since, str):
            self.problem(1, 'header "since" must be a timestamp string or null')
        if not isinstance(obj.get("created_at"), str):
            self.problem(1, 'header "created_at" must be a timestamp string')

    def parse(self, kind: str, number: int, obj: dict[str, Any], data: bytes) -> RecordLine | None:
        self.report.counts[kind] += 1
        try:
            parsed = parse_record(kind, obj, number)
        except InvalidRecordError as e:
            self.report.invalid_records[kind] += 1
            self.problem(number, str(e))
            return None
        canonical = parsed.record.canonical_bytes()
        self.digest.add_canonical(canonical)
        # Every byte of a record line is fixed by its record (docs/FORMAT.md), so an
        # edit that parses to the same values (1.0 written as 1e0) is still caught.
        expected = encode_record(kind, canonical, parsed.external)[:-1]
        if self.file_minor > FORMAT_MINOR:
            # A newer minor may append keys after the record; the record bytes stay fixed.
            exact = data.startswith(expected[: len(expected) - len(expected_tail(parsed))])
        else:
            exact = data == expected
        if not exact:
            self.report.invalid_records[kind] += 1
            self.problem(
                number,
                "the line is not in canonical form (sorted keys, canonical timestamps, "
                "compact JSON); it was changed after export",
            )
            return None
        return parsed

    def memory(self, number: int, obj: dict[str, Any], data: bytes) -> None:
        if self.first_relationship_line is not None:
            self.problem(
                number,
                "a memory after the first relationship "
                f"(line {self.first_relationship_line}); memories must all come first",
            )
        parsed = self.parse(KIND_MEMORY, number, obj, data)
        if parsed is not None:
            self.memory_batch.append((parsed.record.id, number))
            if len(self.memory_batch) >= _BATCH:
                self.flush_memories()

    def relationship(self, number: int, obj: dict[str, Any], data: bytes) -> None:
        if self.first_relationship_line is None:
            self.first_relationship_line = number
        parsed = self.parse(KIND_RELATIONSHIP, number, obj, data)
        if parsed is not None:
            self.report.external_relationships += bool(parsed.external)
            self.relationship_batch.append(parsed)
            if len(self.relationship_batch) >= _BATCH:
                self.flush_relationships()

    def tombstone(self, number: int, obj: dict[str, Any], data: bytes) -> None:
        if self.first_tombstone_line is None:
            self.first_tombstone_line = number
            self.flush_relationships()  # every record id is indexed before the first one
        self.report.tombstones += 1
        try:
            tombstone = parse_tombstone(obj)
        except InvalidRecordError as e:
            self.problem(number, str(e))
            return
        expected = encode_tombstone(tombstone)[:-1]
        newer = self.file_minor > FORMAT_MINOR  # may append keys after "tombstone"
        exact = data.startswith(expected[:-1]) if newer else data == expected
        if not exact:
            self.problem(
                number,
                "the tombstone line is not in canonical form (sorted keys, compact JSON); "
                "it was changed after export",
            )
        elif not self.ids.missing(tombstone.kind, [tombstone.id]):
            self.problem(
                number,
                f"tombstone of {tombstone.kind} {tombstone.id!r}, which this file also holds "
                "as a record; a record is either deleted or exported, not both",
            )

    def flush_memories(self) -> None:
        for record_id, number, first in self.ids.add(KIND_MEMORY, self.memory_batch):
            self.report.invalid_records[KIND_MEMORY] += 1
            self.problem(number, f"duplicate memory id {record_id!r} (first on line {first})")
        self.memory_batch = []

    def flush_relationships(self) -> None:
        # Ends are checked against every memory before them; memories come first.
        self.flush_memories()
        batch = self.relationship_batch
        self.relationship_batch = []
        duplicates = self.ids.add(KIND_RELATIONSHIP, [(p.record.id, p.line) for p in batch])
        for record_id, number, first in duplicates:
            self.report.invalid_records[KIND_RELATIONSHIP] += 1
            self.problem(number, f"duplicate relationship id {record_id!r} (first on line {first})")
        ends = [end for p in batch for name, end in _ends(p.record) if name not in p.external]
        missing = self.ids.missing(KIND_MEMORY, ends)
        for p in batch:
            absent = [(n, e) for n, e in _ends(p.record) if n not in p.external and e in missing]
            if absent:
                self.report.dangling_relationships += 1
                what = " and ".join(f"{n} {e!r}" for n, e in absent)
                self.problem(
                    p.line,
                    f"relationship {p.record.id!r}: {what} is not a memory in this file "
                    'and not declared "external"',
                )

    # --- the end ---------------------------------------------------------------

    def finish(self, last: int) -> None:
        report = self.report
        report.digest = self.digest.hexdigest()
        if last == 0:
            self.problem(None, "the file is empty; an export has a header, records and a trailer")
            return
        if self.header_line is None and report.header is None:
            self.problem(
                1,
                'the header is missing: line 1 must be {"kind": "header", ...}; '
                "is this a memorygraph export?",
            )
        if report.header is not None and report.format_version is None:
            return  # not ours or unreadable version: nothing else is meaningful
        trailer = report.trailer
        if trailer is None:
            self.problem(
                last + 1,
                f"no trailer: the file ends at line {last}, so it was cut short; export it again",
            )
            return
        assert self.trailer_line is not None
        where = self.trailer_line
        counts = trailer.get("counts")
        counts_ok = False
        if not isinstance(counts, dict) or any(
            not isinstance(counts.get(k), int) for k in RECORD_KINDS
        ):
            self.problem(where, 'trailer "counts" must map "memory" and "relationship" to numbers')
        else:
            counts_ok = True
            for kind in RECORD_KINDS:
                if counts[kind] != report.counts[kind]:
                    counts_ok = False
                    self.problem(
                        where,
                        f"the trailer counts {counts[kind]} {kind} lines but the file has "
                        f"{report.counts[kind]}: lines were lost or added",
                    )
        external = trailer.get("external_relationships")
        if external != report.external_relationships:
            self.problem(
                where,
                f"the trailer counts {external!r} relationships with external ends but the "
                f"file has {report.external_relationships}",
            )
        if self.file_minor >= TOMBSTONE_MINOR and trailer.get("tombstones") != report.tombstones:
            self.problem(
                where,
                f"the trailer counts {trailer.get('tombstones')!r} tombstones but the file has "
                f"{report.tombstones}: lines were lost or added",
            )
        if self.header_digest is not None and trailer.get("header_digest") != self.header_digest:
            self.problem(where, "the header does not match the trailer's header_digest: edited?")
        if trailer.get("digest_algorithm") != DIGEST_ALGORITHM:
            self.problem(
                where,
                f"unknown digest algorithm {trailer.get('digest_algorithm')!r}; "
                f"this reader knows {DIGEST_ALGORITHM!r}",
            )
        elif not isinstance(trailer.get("digest"), str):
            self.problem(where, 'trailer "digest" must be 64 lowercase hex digits')
        elif (
            counts_ok
            and not any(report.invalid_records.values())
            and trailer["digest"] != report.digest
        ):
            self.problem(
                where,
                f"digest mismatch: the records were changed after export "
                f"(trailer {trailer['digest']}, records {report.digest})",
            )


def expected_tail(parsed: RecordLine) -> bytes:
    """The bytes after the record object on a canonical line (without the newline)."""
    return (
        b',"external":' + orjson.dumps(list(parsed.external)) if parsed.external else b""
    ) + b"}"


def _ends(r: Relationship | Any) -> tuple[tuple[str, str], tuple[str, str]]:
    return (("from_id", r.from_id), ("to_id", r.to_id))


def validate_export(
    path: Path | str,
    *,
    max_problems: int = 100,
    progress: Callable[[int], None] | None = None,
) -> ValidationReport:
    """Check every line of the export at `path`; never raises for a damaged file.

    Returns a `ValidationReport` whose `problems` (at most `max_problems`,
    each with a line number) say what is wrong; `problem_count` counts all of
    them. Raises `UsageError` only when `path` is not a readable file.
    `progress(lines)` is called every few thousand lines with the count so far.
    """
    path = require_file(path)
    report = ValidationReport(path=path)
    with IdIndex() as ids, open_for_read(path) as stream:
        _Validator(report, ids, max(0, max_problems), progress).run(stream)
    return report
