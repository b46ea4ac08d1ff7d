"""Import of an export file into a backend, and its dry run (`plan_import`).

Both start with `validate_export`. The import writes nothing unless the whole
file is valid and every relationship end it declares external is already in
the target; then it streams the file in batches through the backend's upserts,
memories first, reporting each written batch to `on_batch` (the migration
journal). The dry run walks the same records and asks the target which ids it
already holds, writing nothing.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memorygraph.backends.base import Backend, NewIdsHook, WriteResult
from memorygraph.cancellation import checkpoint
from memorygraph.canonical import CanonicalRecord, RecordKind
from memorygraph.errors import IntegrityError, InvalidExportError
from memorygraph.exchange.format import KIND_MEMORY, KIND_RELATIONSHIP, RECORD_KINDS
from memorygraph.exchange.reader import (
    CanonicalLine,
    iter_canonical_lines,
    iter_records,
    iter_tombstones,
    require_file,
    unchanged_trailer,
)
from memorygraph.exchange.validate import Problem, ValidationReport, validate_export
from memorygraph.idindex import IdIndex
from memorygraph.models import Memory, Relationship

Progress = Callable[[str, int], None]
OnBatch = Callable[[str, WriteResult], Awaitable[None] | None]
BeforeWrite = Callable[[str, Sequence[str]], Awaitable[None] | None]
#: before_delete(memories, relationships): the records a tombstone batch is about to
#: delete from the target (the relationships include those going with the memories).
BeforeDelete = Callable[[Sequence[Memory], Sequence[Relationship]], None]


def _hook(before_write: BeforeWrite | None, kind: str) -> NewIdsHook | None:
    if before_write is None:
        return None
    return lambda ids: before_write(kind, ids)


@dataclass
class KindCounts:
    """Records of one kind an import inserted (new), updated (replaced) or skipped (present)."""

    inserted: int = 0
    updated: int = 0
    skipped: int = 0

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.skipped

    def add(self, result: WriteResult) -> None:
        self.inserted += len(result.inserted)
        self.updated += len(result.updated)
        self.skipped += len(result.skipped)

    def to_dict(self) -> dict[str, int]:
        return {"inserted": self.inserted, "updated": self.updated, "skipped": self.skipped}


@dataclass
class ImportSummary:
    """What `import_graph` wrote. `conversion` is set when the file was converted first."""

    #: The file imported, or the location of a graph read in place (`import_graph_store`).
    path: Path | str
    skip_duplicates: bool
    memories: KindCounts = field(default_factory=KindCounts)
    relationships: KindCounts = field(default_factory=KindCounts)
    digest: str = ""
    duration_seconds: float = 0.0
    conversion: dict[str, Any] | None = None
    #: Records deleted because the file carries their tombstones, per kind.
    deleted: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RECORD_KINDS, 0))
    #: Tombstones left unapplied (`apply_deletions=False`).
    deletions_kept: int = 0

    @property
    def records_per_second(self) -> float:
        total = self.memories.total + self.relationships.total
        return total / self.duration_seconds if self.duration_seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "path": str(self.path),
            "skip_duplicates": self.skip_duplicates,
            KIND_MEMORY: self.memories.to_dict(),
            KIND_RELATIONSHIP: self.relationships.to_dict(),
            "digest": self.digest,
            "deleted": dict(self.deleted),
            "deletions_kept": self.deletions_kept,
            "duration_seconds": round(self.duration_seconds, 3),
            "records_per_second": round(self.records_per_second, 1),
        }
        if self.conversion is not None:
            data["conversion"] = self.conversion
        return data


@dataclass
class PlanCounts:
    """What an import would do with the records of one kind."""

    insert: int = 0
    update: int = 0
    skip: int = 0
    reject: int = 0

    def to_dict(self) -> dict[str, int]:
        return {
            "insert": self.insert,
            "update": self.update,
            "skip": self.skip,
            "reject": self.reject,
        }


@dataclass
class ImportPlan:
    """The dry run of an import: counts per kind, and whether the import would go ahead.

    `reject` counts records the import refuses: lines that fail their schema
    or repeat an id, and relationships with an end that neither the file nor
    the target holds. The import is all-or-nothing: with any problem or
    rejection, `would_write` is False and it writes nothing.
    """

    #: As `ImportSummary.path`.
    path: Path | str
    skip_duplicates: bool
    validation: ValidationReport
    memories: PlanCounts = field(default_factory=PlanCounts)
    relationships: PlanCounts = field(default_factory=PlanCounts)
    unreadable_lines: int = 0
    rejections: list[Problem] = field(default_factory=list)
    #: Per kind, records the file's tombstones would delete from the target (a memory's
    #: relationships go with it and are not counted here).
    deletions: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RECORD_KINDS, 0))

    def counts(self, kind: str) -> dict[str, int]:
        """The counts for "memory" or "relationship" as insert/update/skip/reject."""
        return (self.memories if kind == KIND_MEMORY else self.relationships).to_dict()

    @property
    def would_write(self) -> bool:
        return self.validation.valid and not (self.memories.reject or self.relationships.reject)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "skip_duplicates": self.skip_duplicates,
            "would_write": self.would_write,
            KIND_MEMORY: self.memories.to_dict(),
            KIND_RELATIONSHIP: self.relationships.to_dict(),
            "unreadable_lines": self.unreadable_lines,
            "rejections": [p.to_dict() for p in self.rejections],
            "deletions": dict(self.deletions),
            "validation": self.validation.to_dict(),
        }


def _checked_lines(path: Path) -> Iterator[CanonicalLine]:
    """The record lines of a file that may be invalid: each one validated, the
    invalid ones left out (as `iter_records` does)."""
    for rl in iter_records(path):
        yield CanonicalLine(rl.line, CanonicalRecord.of(rl.record), rl.external)


def _batches(
    path: Path, size: int, *, valid: bool = True
) -> Iterator[tuple[RecordKind, list[CanonicalLine]]]:
    """Consecutive runs of same-kind record lines, at most `size` long. `valid` says
    the file is proven valid (its lines are then taken as they are)."""
    kind: RecordKind = KIND_MEMORY
    batch: list[CanonicalLine] = []
    for rl in iter_canonical_lines(path) if valid else _checked_lines(path):
        if rl.kind != kind or len(batch) >= size:
            if batch:
                yield kind, batch
            kind, batch = rl.kind, []
        batch.append(rl)
    if batch:
        yield kind, batch


async def _batches_ahead(
    path: Path, size: int
) -> AsyncIterator[tuple[RecordKind, list[CanonicalLine]]]:
    """`_batches`, read in a thread one batch ahead: the next batch is read and decoded
    while the caller writes the current one (the engine and Python both busy)."""
    batches = _batches(path, size)
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
    the file nor the target."""
    missing_total, sample = 0, list[str]()
    with IdIndex() as in_file:
        for kind, batch in _batches(path, size):
            if kind == KIND_MEMORY:
                in_file.add(KIND_MEMORY, [(rl.record.id, rl.line) for rl in batch])
                continue
            ends = {rl.record.data[name] for rl in batch for name in rl.external}
            absent = in_file.missing(KIND_MEMORY, ends)
            absent -= await backend.existing_memory_ids(sorted(absent)) if absent else set()
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


def _proven(
    path: Path, validated: ValidationReport | None, file_sha256: str | None
) -> _Facts:
    """Prove `path` importable: by its sha256 when the writer's is known, else by a
    report `validate_export` gave for it, else by validating it now."""
    if file_sha256 is not None:
        trailer = unchanged_trailer(path, file_sha256)
        return _Facts(
            str(trailer.get("digest", "")),
            int(trailer.get("external_relationships") or 0),
            int(trailer.get("tombstones") or 0),
        )
    report = validated if validated is not None else validate_export(path)
    if not report.valid:
        raise _invalid(path, report)
    return _Facts(report.digest, report.external_relationships, report.tombstones)


async def import_graph(
    path: Path | str,
    backend: Backend,
    *,
    skip_duplicates: bool = True,
    progress: Progress | None = None,
    on_batch: OnBatch | None = None,
    batch_size: int | None = None,
    validated: ValidationReport | None = None,
    file_sha256: str | None = None,
    before_write: BeforeWrite | None = None,
    apply_deletions: bool = True,
    before_delete: BeforeDelete | None = None,
    known_new: bool = False,
) -> ImportSummary:
    """Import the export at `path` into `backend`, all memories first, in batches.

    Validates first: an invalid file raises `InvalidExportError` (with
    `.problems`) and a declared-external end missing from the target raises
    `IntegrityError`, both before anything is written. Records whose id the
    target already holds are skipped (`skip_duplicates`) or replaced.
    `on_batch(kind, write_result)` runs after each batch is written, with the
    ids inserted/updated/skipped; `progress(kind, done)` after each batch.
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
    file's ids (and has checked its external ends).

    After the records, the file's tombstones delete their ids from the target
    (relationships first, then memories with every relationship touching them),
    unless `apply_deletions` is False. `before_delete(memories, relationships)`
    receives each batch's records about to be deleted, before the deletion.
    """
    started = time.perf_counter()
    path = require_file(path)
    facts = await asyncio.to_thread(_proven, path, validated, file_sha256)
    size = batch_size or backend.batch_size
    if facts.external_relationships:
        await _check_external_ends(path, backend, size)
    summary = ImportSummary(path=path, skip_duplicates=skip_duplicates, digest=facts.digest)
    counts = {KIND_MEMORY: summary.memories, KIND_RELATIONSHIP: summary.relationships}
    async for kind, batch in _batches_ahead(path, size):
        result = await backend.upsert_canonical(
            kind,
            [rl.record for rl in batch],
            skip_existing=skip_duplicates,
            before_write=_hook(before_write, kind),
            known_new=known_new,
        )
        counts[kind].add(result)
        await _call(on_batch, kind, result)
        if progress:
            progress(kind, counts[kind].total)
        # A checkpoint per batch: cancellation lands between batches, and a server
        # running this import keeps answering other calls.
        await checkpoint()
    if facts.tombstones:
        if apply_deletions:
            await _apply_tombstones(path, backend, size, summary, before_delete)
        else:
            summary.deletions_kept = facts.tombstones
    summary.duration_seconds = time.perf_counter() - started
    return summary


async def _apply_tombstones(
    path: Path,
    backend: Backend,
    size: int,
    summary: ImportSummary,
    before_delete: BeforeDelete | None,
) -> None:
    for kind in (KIND_RELATIONSHIP, KIND_MEMORY):
        ids = (t.id for t in iter_tombstones(path) if t.kind == kind)
        while batch := [i for _, i in zip(range(size), ids, strict=False)]:
            if kind == KIND_RELATIONSHIP:
                found_r = await backend.get_relationships(batch)
                if before_delete is not None and found_r:
                    before_delete([], found_r)
                summary.deleted[kind] += await backend.delete_relationships(batch)
            else:
                found_m = await backend.get_memories(batch)
                edges: dict[str, Relationship] = {}
                for memory in found_m:
                    async for page in backend.iter_neighbours(memory.id):
                        edges.update((n.relationship.id, n.relationship) for n in page)
                if before_delete is not None and found_m:
                    before_delete(found_m, list(edges.values()))
                summary.deleted[kind] += await backend.delete_memories(batch)
                summary.deleted[KIND_RELATIONSHIP] += len(edges)
            await checkpoint()


_EMPTY_BATCH = 1000


async def plan_import(
    path: Path | str,
    backend: Backend | None,
    *,
    skip_duplicates: bool = True,
    apply_deletions: bool = True,
) -> ImportPlan:
    """The dry run of `import_graph`: what would be inserted, updated, skipped or rejected.

    `backend` None stands for a target that does not exist yet (so holds nothing):
    a dry run need not create it.

    Runs the same validation, then asks `backend` which ids it already holds
    and whether each relationship end is in the file or the target. Writes
    nothing, and reports an invalid file instead of raising.
    """
    path = require_file(path)
    report = validate_export(path)
    plan = ImportPlan(
        path=path,
        skip_duplicates=skip_duplicates,
        validation=report,
        unreadable_lines=report.unreadable_lines,
    )
    counts = {KIND_MEMORY: plan.memories, KIND_RELATIONSHIP: plan.relationships}
    for kind in RECORD_KINDS:
        counts[kind].reject = report.invalid_records[kind]
    with IdIndex() as in_file:
        size = backend.batch_size if backend else _EMPTY_BATCH
        for kind, batch in _batches(path, size, valid=report.valid):
            duplicates = {
                line for _, line, _ in in_file.add(kind, [(rl.record.id, rl.line) for rl in batch])
            }
            batch = [rl for rl in batch if rl.line not in duplicates]  # counted as invalid
            ids = [rl.record.id for rl in batch]
            present: set[str] = set()
            if kind == KIND_MEMORY:
                if backend is not None:
                    present = await backend.existing_memory_ids(ids)
            else:
                if backend is not None:
                    present = await backend.existing_relationship_ids(ids)
                ends = {e for rl in batch for e in _ends(rl.record)}
                absent = in_file.missing(KIND_MEMORY, ends)
                if absent and backend is not None:
                    absent -= await backend.existing_memory_ids(sorted(absent))
                kept = []
                for rl in batch:
                    lost = [e for e in _ends(rl.record) if e in absent]
                    if lost:
                        counts[kind].reject += 1
                        if len(plan.rejections) < 100:
                            plan.rejections.append(
                                Problem(
                                    rl.line,
                                    f"relationship {rl.record.id!r}: end {lost[0]!r} is neither in "
                                    "the file nor in the target",
                                )
                            )
                    else:
                        kept.append(rl)
                batch = kept
            for rl in batch:
                if rl.record.id not in present:
                    counts[kind].insert += 1
                elif skip_duplicates:
                    counts[kind].skip += 1
                else:
                    counts[kind].update += 1
    if backend is not None and apply_deletions and report.tombstones:
        await _plan_deletions(path, backend, plan)
    return plan


async def _plan_deletions(path: Path, backend: Backend, plan: ImportPlan) -> None:
    for kind in RECORD_KINDS:
        exists = (
            backend.existing_memory_ids
            if kind == KIND_MEMORY
            else backend.existing_relationship_ids
        )
        ids = (t.id for t in iter_tombstones(path) if t.kind == kind)
        while batch := [i for _, i in zip(range(backend.batch_size), ids, strict=False)]:
            plan.deletions[kind] += len(await exists(batch))


def _ends(record: CanonicalRecord) -> tuple[str, ...]:
    if record.kind == KIND_RELATIONSHIP:
        return (record.data["from_id"], record.data["to_id"])
    return ()
