"""Verification: does the target hold exactly what the source holds?

Full mode streams every source record in id order and looks up the same ids
in the target in batches, comparing digests: a record is *missing* (absent in
the target) or *changed* (digest differs; the differing fields are named).
Lookups go by id, so two engines that order strings differently still agree.
Counts per type are compared when the target started empty and the whole
graph moved. Memory use stays flat: one batch at a time, mismatches capped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from memorygraph.backends.base import Backend
from memorygraph.migration.models import Mismatch, VerificationResult, VerifyMode
from memorygraph.models import Memory, Relationship

R = TypeVar("R", Memory, Relationship)
MAX_REPORTED = 100

Progress = Callable[[str, int, int | None], None]
#: kept(kind, ids) → the ids the import skipped because the target already held them.
Kept = Callable[[str, Sequence[str]], set[str]]


def _differing_fields(a: dict[str, Any], b: dict[str, Any]) -> str:
    names = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
    return "fields differ: " + ", ".join(names)


class _Checker:
    def __init__(self, result: VerificationResult, kept: Kept | None) -> None:
        self.result = result
        self.kept = kept

    def mismatch(self, kind: str, record_id: str, problem: str, detail: str = "") -> None:
        self.result.valid = False
        self.result.mismatch_total += 1
        if len(self.result.mismatches) < MAX_REPORTED:
            self.result.mismatches.append(Mismatch(kind, record_id, problem, detail))

    async def compare(
        self,
        kind: str,
        batch: Sequence[R],
        fetch: Callable[[Sequence[str]], Awaitable[list[R]]],
    ) -> int:
        found = {r.id: r for r in await fetch([r.id for r in batch])}
        differing = [r.id for r in batch if r.id in found and found[r.id].digest() != r.digest()]
        kept = self.kept(kind, differing) if self.kept and differing else set()
        passed = 0
        for record in batch:
            other = found.get(record.id)
            if other is None:
                self.mismatch(kind, record.id, "missing", "not in the target")
            elif record.id in kept:
                self.result.kept_differing += 1
            elif other.digest() != record.digest():
                self.mismatch(
                    kind, record.id, "changed", _differing_fields(record.to_dict(), other.to_dict())
                )
            else:
                passed += 1
        self.result.checked += len(batch)
        self.result.passed += passed
        return passed


async def _batches(
    records: AsyncIterator[R], size: int, every: int
) -> AsyncIterator[tuple[int, list[R]]]:
    """Batches of the records to check (every `every`-th one), with the count read so far."""
    batch: list[R] = []
    seen = 0
    async for record in records:
        if seen % every == 0:
            batch.append(record)
        seen += 1
        if len(batch) >= size:
            yield seen, batch
            batch = []
    yield seen, batch


async def verify(
    source: Backend,
    target: Backend,
    *,
    mode: VerifyMode = VerifyMode.FULL,
    since: datetime | None = None,
    compare_type_counts: bool = True,
    sample_every: int = 100,
    progress: Progress | None = None,
    kept: Kept | None = None,
) -> tuple[VerificationResult, dict[str, int]]:
    """Compare source and target; return the result and the verified count per kind.

    A record that differs but that the import skipped on purpose (`kept`) is
    counted in `kept_differing`, not flagged.
    """
    result = VerificationResult(mode=mode)
    checker = _Checker(result, kept)
    every = 1 if mode is VerifyMode.FULL else max(1, sample_every)
    size = min(source.batch_size, target.batch_size)
    verified = {"memory": 0, "relationship": 0}
    read = 0

    async def run(kind: str, records: AsyncIterator[R], fetch: Any) -> None:
        nonlocal read
        base = read
        async for seen, batch in _batches(records, size, every):
            if batch:
                verified[kind] += await checker.compare(kind, batch, fetch)
            read = base + seen
            if progress:
                progress("verify", read, None)

    await run("memory", source.iter_memories(since=since), target.get_memories)
    await run("relationship", source.iter_relationships(since=since), target.get_relationships)
    result.source_count = read
    result.target_count = await target.count_memories() + await target.count_relationships()

    if compare_type_counts and since is None:
        pairs: list[tuple[str, dict[Any, int], dict[Any, int]]] = [
            (
                "memory",
                await source.count_memories_by_type(),
                await target.count_memories_by_type(),
            ),
            (
                "relationship",
                await source.count_relationships_by_type(),
                await target.count_relationships_by_type(),
            ),
        ]
        for kind, ours, theirs in pairs:
            for type_ in sorted(ours.keys() | theirs.keys()):
                if ours.get(type_, 0) != theirs.get(type_, 0):
                    checker.mismatch(
                        kind,
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
