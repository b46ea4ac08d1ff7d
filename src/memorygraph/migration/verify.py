"""Verification: does the target hold exactly what the source holds?

Full mode streams every source record in id order and looks up the same ids
in the target in batches, comparing digests: a record is *missing* (absent in
the target) or *changed* (digest differs; the differing fields are named).
Lookups go by id, so two engines that order strings differently still agree
(two stores of one backend read the target in order, looking up only what that
misses; two SQLite files first compare themselves in SQL, see `verify`).
Counts per type are compared when the target started empty and the whole
graph moved. Memory use stays flat: one batch at a time, mismatches capped.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from contextlib import aclosing, nullcontext
from datetime import datetime
from typing import Any

from memorygraph.backends.base import KINDS, Backend, RecordKind, Tombstone, grouped
from memorygraph.cancellation import checkpoint
from memorygraph.canonical import CanonicalRecord
from memorygraph.changes import Version, deletes, left_out
from memorygraph.kinds import Progress
from memorygraph.migration.digest_log import DigestLog
from memorygraph.migration.models import Mismatch, VerificationResult, VerifyMode
from memorygraph.migration.page_verifier import PagesChecked
from memorygraph.threads import read_ahead

MAX_REPORTED = 100
#: Target digests read ahead of the source's batches that a verification holds at most.
_MAX_WAITING = 100_000

#: kept(kind, ids) → the ids the import skipped because the target already held them.
Kept = Callable[[str, Sequence[str]], set[str]]


def _differing_fields(a: dict[str, Any], b: dict[str, Any]) -> str:
    names = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
    return "fields differ: " + ", ".join(names)


class _Checker:
    def __init__(
        self,
        source: Backend,
        target: Backend,
        result: VerificationResult,
        kept: Kept | None,
        by_stamp: bool = False,
    ) -> None:
        self.source, self.target = source, target
        self.result = result
        self.kept = kept
        self.by_stamp = by_stamp

    async def left_out_by_target(self, kind: RecordKind, ids: Sequence[str]) -> set[str]:
        """Of `ids`, absent from the target, those it rightly does not hold by change
        stamp: it deleted them (or a relationship's end) after the source's version."""
        if not self.by_stamp or not ids:
            return set()
        ours = await KINDS[kind].get(self.source, ids)
        return await left_out(self.target, kind, [CanonicalRecord.of(r) for r in ours])

    async def newer_in_target(self, kind: RecordKind, ids: Sequence[str]) -> set[str]:
        """Of `ids`, held differently by both ends, those the target holds a newer
        version of (`memorygraph.changes`): what an import by change stamp keeps."""
        if not self.by_stamp or not ids:
            return set()
        get = KINDS[kind].get
        ours = {r.id: Version.of(r) for r in await get(self.source, ids)}
        theirs = {r.id: Version.of(r) for r in await get(self.target, ids)}
        return {i for i in ids if i in ours and i in theirs and theirs[i] > ours[i]}

    def mismatch(self, kind: str, record_id: str, problem: str, detail: str = "") -> bool:
        """Count a mismatch; True if it is among those reported in full."""
        self.result.valid = False
        self.result.mismatch_total += 1
        if len(self.result.mismatches) < MAX_REPORTED:
            self.result.mismatches.append(Mismatch(kind, record_id, problem, detail))
            return True
        return False

    async def compare(
        self,
        kind: RecordKind,
        batch: Sequence[tuple[str, str]],
        stream: _TargetStream | None = None,
        lookup: Awaitable[dict[str, str]] | None = None,
    ) -> int:
        """Check one batch of (id, source digest); return how many matched. With
        `stream`, the target's digests come from reading it in order, and only ids
        not found there are looked up; `lookup` is their lookup already under way."""
        if stream is not None:
            theirs = await stream.take([i for i, _ in batch])
        elif lookup is not None:
            theirs = await lookup
        else:
            theirs = await self.target.digests(kind, [i for i, _ in batch])
        differing = [i for i, d in batch if i in theirs and theirs[i] != d]
        if differing:
            # A quick digest may see a difference only in how the engine typed a
            # value; the records read through the model decide.
            theirs.update(await self.target.model_digests(kind, differing))
            ours = await self.source.model_digests(kind, differing)
            batch = [(i, ours.get(i, d)) for i, d in batch]
            differing = [i for i, d in batch if i in theirs and theirs[i] != d]
        kept = self.kept(kind, differing) if self.kept and differing else set()
        newer = await self.newer_in_target(kind, [i for i in differing if i not in kept])
        newer |= await self.left_out_by_target(kind, [i for i, _ in batch if i not in theirs])
        passed = 0
        for record_id, digest in batch:
            if record_id in newer:
                self.result.target_newer += 1
            elif record_id not in theirs:
                self.mismatch(kind, record_id, "missing", "not in the target")
            elif theirs[record_id] == digest:
                passed += 1
            elif record_id in kept:
                self.result.kept_differing += 1
            elif self.mismatch(kind, record_id, "changed"):
                await self._explain(kind, record_id)
        self.result.checked += len(batch)
        self.result.passed += passed
        return passed

    async def _explain(self, kind: RecordKind, record_id: str) -> None:
        # Only reported mismatches are fetched whole, to name the fields that differ.
        get = KINDS[kind].get
        ours = await get(self.source, [record_id])
        theirs = await get(self.target, [record_id])
        if ours and theirs:
            last = self.result.mismatches[-1]
            self.result.mismatches[-1] = Mismatch(
                last.kind,
                last.id,
                last.problem,
                _differing_fields(ours[0].to_dict(), theirs[0].to_dict()),
            )


async def _check_deleted(
    checker: _Checker, kind: RecordKind, size: int, since: datetime | None
) -> None:
    """Flag each id the source deleted (at or after `since`) that the target still
    holds; by change stamp, a record newer than the deletion is rightly kept."""

    async def flush(tombstones: list[Tombstone]) -> None:
        ids = [t.id for t in tombstones]
        held = await KINDS[kind].existing(checker.target, ids)
        newer: set[str] = set()
        if held and checker.by_stamp:
            when = {t.id: t.deleted_at for t in tombstones}
            found = await KINDS[kind].get(checker.target, sorted(held))
            newer = {r.id for r in found if not deletes(when[r.id], Version.of(r))}
        checker.result.target_newer += len(newer)
        for record_id in sorted(held - newer):
            checker.mismatch(
                kind, record_id, "deleted", "deleted in the source, held by the target"
            )
        checker.result.checked += len(ids)

    tombstones = checker.source.iter_tombstones(kind, since=since)
    async for batch in grouped(tombstones, size):
        await flush(batch)
        await checkpoint()


class _TargetStream:
    """The target's (id, digest) pairs read in its own id order, matched to source
    batches: where both ends order ids alike (two stores of one backend) a batch is
    found in the pages read ahead, without a lookup per id. Correct whatever the
    orders: an id not met by then is looked up, and pairs read early wait."""

    def __init__(self, target: Backend, kind: RecordKind, size: int) -> None:
        self.target, self.kind = target, kind
        self.pages = read_ahead(target.digest_pages(kind, batch_size=size))
        self.waiting: dict[str, str] = {}
        self.last: str | None = None
        self.done = False

    async def take(self, ids: Sequence[str]) -> dict[str, str]:
        bound = max(ids)
        while not self.done and (self.last is None or self.last < bound):
            page = await anext(self.pages, None)
            if page is None or len(self.waiting) > _MAX_WAITING:
                # The end, or a target holding many records the source has not (or
                # ordering ids otherwise): lookups from here on.
                self.done = True
                self.waiting.clear()
                break
            self.waiting.update(page)
            self.last = page[-1][0]
        found = {i: d for i in ids if (d := self.waiting.pop(i, None)) is not None}
        unmet = [i for i in ids if i not in found]
        if unmet:
            found.update(await self.target.digests(self.kind, unmet))
        return found

    async def aclose(self) -> None:
        await self.pages.aclose()


Looked = tuple[list[tuple[str, str]], int, "asyncio.Future[dict[str, str]] | None"]


async def _looked_up(
    target: Backend, kind: RecordKind, batches: AsyncIterator[tuple[list[tuple[str, str]], int]]
) -> AsyncGenerator[Looked, None]:
    """Each batch of `_batches`, with the lookup of its ids in the target under way: the
    next batch's lookup starts before this one is handed on, so the engine answers it
    while this process compares."""
    pending: Looked | None = None
    try:
        async for batch, count in batches:
            ids = [i for i, _ in batch]
            lookup: asyncio.Future[dict[str, str]] | None = (
                asyncio.ensure_future(target.digests(kind, ids)) if ids else None
            )
            previous, pending = pending, (batch, count, lookup)
            if previous is not None:
                yield previous
        if pending is not None:
            last, pending = pending, None
            yield last
    finally:
        unwanted = pending[2] if pending is not None else None
        if unwanted is not None and not unwanted.done():  # stopped early
            unwanted.cancel()
            await asyncio.gather(unwanted, return_exceptions=True)


async def _unlooked(
    batches: AsyncIterator[tuple[list[tuple[str, str]], int]],
) -> AsyncGenerator[Looked, None]:
    """`_batches` with no lookup under way (the target is read in order instead)."""
    async for batch, count in batches:
        yield batch, count, None


async def _listed(pairs: list[tuple[str, str]], size: int) -> AsyncIterator[list[tuple[str, str]]]:
    """`pairs` in pages of `size`."""
    for start in range(0, len(pairs), size):
        yield pairs[start : start + size]


async def _batches(
    pages: AsyncIterator[list[tuple[str, str]]], every: int
) -> AsyncIterator[tuple[list[tuple[str, str]], int]]:
    """Each page of (id, digest) pairs with one in `every` kept, and the number read."""
    n = 0
    async for page in pages:
        kept = page if every == 1 else [p for k, p in enumerate(page, n) if k % every == 0]
        n += len(page)
        yield kept, len(page)


async def verify(
    source: Backend,
    target: Backend,
    *,
    mode: VerifyMode = VerifyMode.FULL,
    since: datetime | None = None,
    deletions: bool = False,
    compare_type_counts: bool = True,
    sample_every: int = 100,
    progress: Progress | None = None,
    kept: Kept | None = None,
    by_stamp: bool = False,
    recorded: DigestLog | None = None,
    during_copy: PagesChecked | None = None,
) -> tuple[VerificationResult, dict[str, int]]:
    """Compare source and target; return the result and the verified count per kind.

    Two stores that can compare themselves wholesale (`Backend.matches_store`) and
    are equal need nothing more. Otherwise digests are streamed from the source in
    its own order and found in the target one batch at a time: by id, or between
    two stores of one backend from the target read in its own order. A record that
    differs but that the import skipped on purpose (`kept`) is counted in
    `kept_differing`, not flagged. With `by_stamp` (an import by change stamp), a
    record the target holds a newer version of is counted in `target_newer`, not
    flagged: the target holds what the rules of `memorygraph.changes` chose.
    `since` narrows what is judged to the source's changes from then on: the records
    written and (with `deletions`) the ids deleted at or after it, the change set an
    incremental run carried. With `deletions`, every id the source deleted must be
    absent from the target too (or, by change stamp, held in a newer version).
    `recorded` holds the digests of every source record as a copy read them within the
    same snapshot of the source as this verification: in full mode the target is
    compared against them, and the source is not read a second time. `during_copy`
    is what a worker found comparing the target against those digests page by page
    as the copy wrote them (`memorygraph.migration.page_verifier`): the records it
    matched are verified, and only those it did not are compared here.
    """
    result = VerificationResult(mode=mode)
    if mode is VerifyMode.FULL and since is None and compare_type_counts:
        # Two stores that can compare themselves wholesale (two SQLite files): equal,
        # and that is the whole answer; otherwise record by record, below.
        same = await target.matches_store(source, deletions=deletions)
        if same is not None:
            total = sum(same.values())
            result.checked = result.passed = total
            result.source_count = result.target_count = total
            if progress:
                progress("verify", total, None)
            return result, {kind: same.get(kind, 0) for kind in KINDS}
    checker = _Checker(source, target, result, kept, by_stamp)
    every = 1 if mode is VerifyMode.FULL else max(1, sample_every)
    size = min(source.batch_size, target.batch_size)
    verified: dict[str, int] = dict.fromkeys(KINDS, 0)
    read = 0

    in_order = (
        mode is VerifyMode.FULL and since is None and source.config.spec is target.config.spec
    )
    from_log = recorded is not None and mode is VerifyMode.FULL and since is None
    for kind in KINDS:
        # The source reads its next batch while the target looks this one up.
        if from_log and during_copy is not None:
            matched = during_copy.matched.get(kind, 0)
            result.checked += matched
            result.passed += matched
            verified[kind] += matched
            read += matched
            pages = _listed(during_copy.unmatched.get(kind, []), size)
        elif from_log and recorded is not None:
            pages = recorded.pages(kind)
        else:
            pages = source.digest_pages(kind, since=since, batch_size=size)
        batches = read_ahead(_batches(pages, every))
        stream = _TargetStream(target, kind, size) if in_order else None
        looked = _looked_up(target, kind, batches) if stream is None else None
        async with (
            aclosing(batches),
            aclosing(stream) if stream else nullcontext(),
            aclosing(looked) if looked else nullcontext(),
        ):
            async for batch, count, lookup in looked or _unlooked(batches):
                if batch:
                    verified[kind] += await checker.compare(kind, batch, stream, lookup)
                read += count
                await checkpoint()
                if progress:
                    progress("verify", read, None)
    if deletions:
        for kind in KINDS:
            await _check_deleted(checker, kind, size, since)
    result.source_count = read
    result.target_count = sum([await ops.count(target) for ops in KINDS.values()])

    if compare_type_counts and since is None:
        for name, ops in KINDS.items():
            ours, theirs = await ops.count_by_type(source), await ops.count_by_type(target)
            for type_ in sorted(ours.keys() | theirs.keys()):
                if ours.get(type_, 0) != theirs.get(type_, 0):
                    checker.mismatch(
                        name,
                        str(type_),
                        "count",
                        f"source has {ours.get(type_, 0)}, target has {theirs.get(type_, 0)}",
                    )
    if not result.valid:
        result.errors.append(
            f"{result.mismatch_total} difference(s) between source and target"
            + (
                f" (first: {result.mismatches[0].kind} {result.mismatches[0].id!r} "
                f"{result.mismatches[0].problem})"
                if result.mismatches
                else ""
            )
        )
    return result, verified
