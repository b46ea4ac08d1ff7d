"""Import of an export file into a backend, and its dry run (`import_graph(dry_run=True)`).

The import writes nothing unless the whole file is valid and every relationship
end it declares external is already in the target; then it streams the file in
batches into a `BackendSink` (the backend's upserts), memories first, reporting
each written batch to `on_batch` (the migration journal). The dry run is the same
path with another sink: each batch goes to a `PlanningSink`, which asks the target
the same questions, counts what the write would do and writes nothing.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from memorygraph.backends.base import MEMORY, RELATIONSHIP, Backend, WriteResult, ends_of
from memorygraph.cancellation import checkpoint
from memorygraph.canonical import CanonicalRecord, RecordKind
from memorygraph.changes import delete_batch, write_batch
from memorygraph.errors import IntegrityError, InvalidExportError, UsageError
from memorygraph.exchange.format import KIND_MEMORY, RECORD_KINDS
from memorygraph.exchange.reader import (
    CanonicalLine,
    iter_canonical_lines,
    iter_records,
    iter_tombstones,
    require_file,
    unchanged_trailer,
)
from memorygraph.exchange.validate import Problem, ValidationReport, validate_export
from memorygraph.heap import long_lived_frozen
from memorygraph.idindex import IdIndex
from memorygraph.kinds import KindCounts, PerKind, Progress
from memorygraph.search.text import Spelling
from memorygraph.sinks import (
    BackendSink,
    BeforeDelete,
    BeforeReplace,
    BeforeWrite,
    PlanningSink,
    Sink,
)

OnBatch = Callable[[str, WriteResult], Awaitable[None] | None]


#: The dry run's JSON names its counts as what would happen to the records.
_PLANNED: Final = {
    "insert": "inserted",
    "update": "updated",
    "skip": "skipped",
    "reject": "rejected",
    "unchanged": "unchanged",
    "older": "older",
}
#: Rejections a dry run reports in full (each with its line).
MAX_REJECTIONS: Final = 100


@dataclass
class ImportSummary(PerKind):
    """What `import_graph` wrote, or in a dry run would write. `conversion` is set when
    the file was converted first.

    A dry run also counts `rejected` records: lines that fail their schema or repeat an
    id (`validation`), and relationships with an end that neither the file nor the
    target holds (`rejections`, the first `MAX_REJECTIONS` with their lines). The
    import is all-or-nothing: with any problem or rejection, `would_write` is False.
    """

    #: The file imported, or the location of a graph read in place (`import_graph_store`).
    path: Path | str
    skip_duplicates: bool
    dry_run: bool = False
    memories: KindCounts = field(default_factory=KindCounts)
    relationships: KindCounts = field(default_factory=KindCounts)
    digest: str = ""
    duration_seconds: float = 0.0
    conversion: dict[str, Any] | None = None
    #: Tombstones left unapplied (`apply_deletions=False`).
    deletions_kept: int = 0
    #: The dry run's validation of the file (None when its writer's hash proved it).
    validation: ValidationReport | None = None
    rejections: list[Problem] = field(default_factory=list)

    @property
    def deleted(self) -> dict[str, int]:
        """Per kind, records the file's tombstones deleted (in a dry run: would delete;
        a memory's relationships go with it, counted in a real run only)."""
        return {kind: self.counts(kind).deleted for kind in RECORD_KINDS}

    @property
    def would_write(self) -> bool:
        valid = self.validation is None or self.validation.valid
        return valid and not (self.memories.rejected or self.relationships.rejected)

    @property
    def records_per_second(self) -> float:
        total = self.memories.written + self.relationships.written
        return total / self.duration_seconds if self.duration_seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"path": str(self.path), "skip_duplicates": self.skip_duplicates}
        if self.dry_run:
            data["would_write"] = self.would_write
            for kind in RECORD_KINDS:
                counts = self.counts(kind).to_dict(*_PLANNED.values())
                data[kind] = {key: counts[name] for key, name in _PLANNED.items()}
            data |= {
                "unreadable_lines": self.validation.unreadable_lines if self.validation else 0,
                "rejections": [p.to_dict() for p in self.rejections],
                "deletions": self.deleted,
                "validation": self.validation.to_dict() if self.validation else None,
            }
        else:
            for kind in RECORD_KINDS:
                data[kind] = self.counts(kind).to_dict(
                    "inserted", "updated", "skipped", "unchanged", "older"
                )
            data |= {
                "digest": self.digest,
                "deleted": self.deleted,
                "deletions_kept": self.deletions_kept,
                "duration_seconds": round(self.duration_seconds, 3),
                "records_per_second": round(self.records_per_second, 1),
            }
        if self.conversion is not None:
            data["conversion"] = self.conversion
        return data


def _checked_lines(path: Path) -> Iterator[CanonicalLine]:
    """The record lines of a file that may be invalid: each one validated, the
    invalid ones left out (as `iter_records` does)."""
    for rl in iter_records(path):
        yield CanonicalLine(rl.line, CanonicalRecord.of(rl.record), rl.external)


def _batches(
    path: Path, size: int, *, valid: bool = True, derive: Spelling | None = None
) -> Iterator[tuple[RecordKind, list[CanonicalLine]]]:
    """Consecutive runs of same-kind record lines, at most `size` long. `valid` says
    the file is proven valid (its lines are then taken as they are); `derive` derives
    each memory's search fields (`CanonicalRecord.search_fields`) in that spelling
    before its batch is handed on."""
    kind: RecordKind = KIND_MEMORY
    batch: list[CanonicalLine] = []
    for rl in iter_canonical_lines(path) if valid else _checked_lines(path):
        if rl.kind != kind or len(batch) >= size:
            if batch:
                yield kind, _derived(batch, derive) if derive and kind == KIND_MEMORY else batch
            kind, batch = rl.kind, []
        batch.append(rl)
    if batch:
        yield kind, _derived(batch, derive) if derive and kind == KIND_MEMORY else batch


def _derived(batch: list[CanonicalLine], spelling: Spelling) -> list[CanonicalLine]:
    for rl in batch:
        rl.record.search_fields(spelling)
    return batch


async def _batches_ahead(
    path: Path, size: int, *, valid: bool = True, derive: Spelling | None = None
) -> AsyncIterator[tuple[RecordKind, list[CanonicalLine]]]:
    """`_batches`, read in a thread one batch ahead: the next batch is read, decoded
    and (`derive`) given its search fields while the caller writes the current one
    (the engine and Python both busy)."""
    batches = _batches(path, size, valid=valid, derive=derive)
    ahead = asyncio.ensure_future(asyncio.to_thread(next, batches, None))
    try:
        while (batch := await ahead) is not None:
            ahead = asyncio.ensure_future(asyncio.to_thread(next, batches, None))
            yield batch
    finally:
        if not ahead.done():
            ahead.cancel()
            # The thread finishes its batch; wait for it so the file closes after it.
            with suppress(asyncio.CancelledError, Exception):
                await asyncio.shield(ahead)


def _invalid(path: Path, report: ValidationReport) -> InvalidExportError:
    first = report.problems[0] if report.problems else "?"
    return InvalidExportError(
        f"{path} is not a valid export ({report.problem_count} problem(s); first: {first}); "
        "nothing was written; validate the file to list them all",
        list(report.problems),
    )


async def _check_external_ends(path: Path, backend: Backend, size: int) -> None:
    """Raise `IntegrityError` (before any write) if a declared-external end is in neither
    the file nor the target, and the target did not delete it."""
    missing_total, sample = 0, list[str]()
    with IdIndex() as in_file:
        for kind, batch in _batches(path, size):
            if kind == KIND_MEMORY:
                in_file.add(KIND_MEMORY, [(rl.record.id, rl.line) for rl in batch])
                continue
            ends = {rl.record.data[name] for rl in batch for name in rl.external}
            absent = in_file.missing(KIND_MEMORY, ends)
            absent -= await backend.existing_memory_ids(sorted(absent)) if absent else set()
            # An end the target deleted is no gap: the rules leave its edges out as older.
            if absent:
                absent -= (await backend.tombstones_of(KIND_MEMORY, sorted(absent))).keys()
            missing_total += len(absent)
            sample += sorted(absent)[: 3 - len(sample)]
    if missing_total:
        raise IntegrityError(
            f"{missing_total} relationship end(s) the export declares external are not in "
            f"{backend.describe()} ({', '.join(map(repr, sample))}); nothing was written. "
            "Import the export those memories are in first, or a full export"
        )


async def _call(on_batch: OnBatch | None, kind: str, result: WriteResult) -> None:
    if on_batch is None:
        return
    outcome = on_batch(kind, result)
    if inspect.isawaitable(outcome):
        await outcome


@dataclass(frozen=True)
class _Facts:
    """What an import needs to know of a file it may trust."""

    digest: str
    external_relationships: int
    tombstones: int
    #: The validation that proved the file (None when its writer's hash did).
    validation: ValidationReport | None = None

    @property
    def valid(self) -> bool:
        return self.validation is None or self.validation.valid


def _proven(
    path: Path, validated: ValidationReport | None, file_sha256: str | None, dry_run: bool
) -> _Facts:
    """Prove `path` importable: by its sha256 when the writer's is known, else by a
    report `validate_export` gave for it, else by validating it now. A dry run takes
    an invalid file too (its facts then carry the report)."""
    if file_sha256 is not None:
        trailer = unchanged_trailer(path, file_sha256)
        return _Facts(
            str(trailer.get("digest", "")),
            int(trailer.get("external_relationships") or 0),
            int(trailer.get("tombstones") or 0),
        )
    report = validated if validated is not None else validate_export(path)
    if not report.valid and not dry_run:
        raise _invalid(path, report)
    return _Facts(report.digest, report.external_relationships, report.tombstones, report)


async def import_graph(
    path: Path | str,
    backend: Backend | None,
    *,
    skip_duplicates: bool = False,
    progress: Progress | None = None,
    on_batch: OnBatch | None = None,
    batch_size: int | None = None,
    validated: ValidationReport | None = None,
    file_sha256: str | None = None,
    before_write: BeforeWrite | None = None,
    apply_deletions: bool = True,
    before_delete: BeforeDelete | None = None,
    known_new: bool = False,
    dry_run: bool = False,
    before_replace: BeforeReplace | None = None,
) -> ImportSummary:
    """Import the export at `path` into `backend`, all memories first, in batches.

    Validates first: an invalid file raises `InvalidExportError` (with
    `.problems`) and a declared-external end missing from the target raises
    `IntegrityError`, both before anything is written. Each record and tombstone is
    applied by the rules of `memorygraph.changes`: a record replaces only an older
    version of itself, a tombstone deletes only a record not newer than it
    (`skip_duplicates` instead keeps every record the target holds).
    `before_replace(kind, records)` receives the versions a batch is about to
    replace, before it is written.
    `on_batch(kind, write_result)` runs after each batch is written, with the
    ids inserted/updated/skipped; `progress(kind, done, None)` after each batch.
    `validated` is a report `validate_export` already gave for this same,
    unchanged file; `file_sha256` is what `ExportWriter` reported for a file this
    process wrote (the migration's own export): the file is then proven by one
    hashing pass instead of a validation. `before_write(kind, ids)` receives the
    ids each batch is about to insert, before it is written (the migration
    journals them there, so that a crash between a write and its `on_batch`
    still leaves a record of it).

    Records go to the backend as the canonical bytes the file holds: a valid file's
    lines are canonical, so nothing is rebuilt or validated again. `known_new` is
    `Backend.upsert_canonical`'s: the caller knows the target holds none of the
    file's ids (and has checked its external ends). The records then go through the
    engine's bulk-insert path where the backend declares one (`BULK_INSERT`).

    After the records, the file's tombstones delete their ids from the target
    (relationships first, then memories with every relationship touching them),
    unless `apply_deletions` is False. `before_delete(memories, relationships)`
    receives each batch's records about to be deleted, before the deletion.

    `dry_run` takes the same steps into a `PlanningSink` instead of the backend: the
    summary counts what would be inserted, updated, skipped, rejected and deleted,
    and nothing is written, announced or journaled (nor `on_batch` called). It
    reports instead of raising: an invalid file's valid lines are counted (its
    problems are in `validation`), and a relationship whose end is neither in the
    file nor in the target is rejected. `backend` None stands for a target that does
    not exist yet, which holds nothing (a dry run need not create it).
    """
    started = time.perf_counter()
    path = require_file(path)
    if backend is None and not dry_run:
        raise UsageError("an import needs a target; only a dry run can do without one")
    facts = await asyncio.to_thread(_proven, path, validated, file_sha256, dry_run)
    size = batch_size or (backend or Backend).batch_size
    if facts.external_relationships and backend is not None and not dry_run:
        await _check_external_ends(path, backend, size)
    summary = ImportSummary(
        path=path,
        skip_duplicates=skip_duplicates,
        dry_run=dry_run,
        digest=facts.digest,
        validation=facts.validation if dry_run else None,
    )
    if summary.validation is not None:
        for kind in RECORD_KINDS:  # lines that fail their schema or repeat an id
            summary.counts(kind).rejected = summary.validation.invalid_records[kind]
    sink: Sink
    if dry_run or backend is None:
        sink = PlanningSink(backend)
    else:
        sink = BackendSink(
            backend,
            before_write=before_write,
            before_replace=before_replace,
            before_delete=before_delete,
        )
    with sink:
        async with AsyncExitStack() as stack:
            stack.enter_context(long_lived_frozen())
            # An invalid file (only a dry run reads one) may repeat an id; the
            # validation counted the repeats, and only an id's first line is planned.
            first_lines = None if facts.valid else stack.enter_context(IdIndex())
            if known_new:
                await stack.enter_async_context(sink.bulk())
            spelling = None if dry_run or backend is None else backend.term_spelling
            batches = _batches_ahead(path, size, valid=facts.valid, derive=spelling)
            async for kind, batch in batches:
                if first_lines is not None:
                    batch = _first_lines(kind, batch, first_lines)
                result = await write_batch(
                    sink,
                    kind,
                    [rl.record for rl in batch],
                    skip_existing=skip_duplicates,
                    known_new=known_new,
                )
                if result.rejected:
                    await _report_rejections(sink, batch, result, summary)
                if not dry_run:
                    await _call(on_batch, kind, result)
                summary.counts(kind).add(result)
                if progress:
                    progress(kind, summary.counts(kind).written, None)
                # A checkpoint per batch: cancellation lands between batches, and a
                # server running this import keeps answering other calls.
                await checkpoint()
        if facts.tombstones:
            if not apply_deletions:
                summary.deletions_kept = facts.tombstones
            else:
                await _apply_tombstones(path, sink, size, summary)
    summary.duration_seconds = time.perf_counter() - started
    return summary


def _first_lines(
    kind: RecordKind, batch: list[CanonicalLine], seen: IdIndex
) -> list[CanonicalLine]:
    """The lines of `batch` whose id no earlier line had (`seen` holds those)."""
    repeated = {line for _, line, _ in seen.add(kind, [(rl.record.id, rl.line) for rl in batch])}
    return [rl for rl in batch if rl.line not in repeated]


async def _report_rejections(
    sink: Sink, batch: list[CanonicalLine], result: WriteResult, summary: ImportSummary
) -> None:
    """Add the relationships of `batch` the sink rejected to `summary.rejections`
    (up to `MAX_REJECTIONS` in all), each with its line and the end it lacks."""
    rejected = set(result.rejected)
    reported = [rl for rl in batch if rl.record.id in rejected]
    reported = reported[: MAX_REJECTIONS - len(summary.rejections)]
    ends = ends_of(rl.record for rl in reported)
    lost = ends - await sink.stored_memories(ends)
    for rl in reported:
        end = next(rl.record.data[e] for e in ("from_id", "to_id") if rl.record.data[e] in lost)
        summary.rejections.append(
            Problem(
                rl.line,
                f"relationship {rl.record.id!r}: end {end!r} is neither in the file nor "
                "in the target",
            )
        )


async def _apply_tombstones(path: Path, sink: Sink, size: int, summary: ImportSummary) -> None:
    """Apply the file's tombstones (`changes.delete_batch`): each deletes the record the
    target holds unless that record is newer; a plan counts what would go."""
    for ops in (RELATIONSHIP, MEMORY):
        counts = summary.counts(ops.name)
        tombstones = (t for t in iter_tombstones(path) if t.kind == ops.name)
        while batch := [t for _, t in zip(range(size), tombstones, strict=False)]:
            done = await delete_batch(sink, ops.name, batch)
            counts.deleted += len(done.ids)
            counts.older += len(done.older)
            summary.relationships.deleted += done.with_memories
            await checkpoint()
