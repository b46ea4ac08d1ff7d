"""Where an import or a migration sends its batches: into the target, or into a plan.

An import (a migration imports its export the same way) decides per batch what to
write by the rules of `memorygraph.changes`, asking its target read questions
first, and hands what it decided to a sink:

* `BackendSink` writes it through the backend's ordinary operations
  (`Backend.upsert_canonical`, `delete_memories`, `delete_relationships`), telling
  the hooks it was given (a journal) what it is about to create, replace or delete.
* `PlanningSink` writes nothing. It answers the same read questions from the same
  target, makes the decisions the backend's write would make (inserted, updated,
  skipped; a relationship with an end that is neither stored nor written by an
  earlier batch is rejected, where the write would raise), and counts them. It
  needs no more than a read-only store, and takes None for a target that does not
  exist yet, which holds nothing.

Both sinks answer the read questions (`TargetView`) alike, so a plan and the
import it stands for take the same decisions, through the same code.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Collection, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Self

from memorygraph.backends.base import (
    KINDS,
    RELATIONSHIP,
    Backend,
    NewIdsHook,
    WriteResult,
    ends_of,
    touching,
    unique_ids,
    write_report,
)
from memorygraph.backends.spec import BULK_INSERT
from memorygraph.canonical import CanonicalRecord, RecordKind
from memorygraph.idindex import IdIndex
from memorygraph.kinds import KindCounts, PerKind, Record
from memorygraph.models import Memory, Relationship

#: before_write(kind, ids): the ids a batch is about to create, before it is written.
BeforeWrite = Callable[[RecordKind, Sequence[str]], Awaitable[None] | None]
#: before_replace(kind, records): the versions a batch is about to replace, as the
#: store holds them, before anything is written (a journal's before-images).
BeforeReplace = Callable[[RecordKind, Sequence[Memory | Relationship]], Awaitable[None]]
#: before_delete(memories, relationships): the records a tombstone batch is about to
#: delete (the relationships include those going with the memories).
BeforeDelete = Callable[[Sequence[Memory], Sequence[Relationship]], None]


class TargetView:
    """The read questions a change asks of its target before writing. A `target` of
    None stands for a store that does not exist yet: it holds nothing."""

    def __init__(self, target: Backend | None) -> None:
        self.target = target

    async def current(self, kind: RecordKind, ids: Sequence[str]) -> Sequence[Record]:
        """The records of `ids` the target holds, as it holds them."""
        if self.target is None or not ids:
            return []
        return await KINDS[kind].get(self.target, ids)

    async def existing(self, kind: RecordKind, ids: Sequence[str]) -> set[str]:
        """Of `ids`, those the target holds."""
        if self.target is None or not ids:
            return set()
        return await KINDS[kind].existing(self.target, ids)

    async def tombstones_of(self, kind: RecordKind, ids: Sequence[str]) -> dict[str, str]:
        """Of `ids`, those the target deleted and does not hold, with when it did."""
        if self.target is None or not ids:
            return {}
        return await self.target.tombstones_of(kind, ids)

    async def stored_memories(self, ids: Collection[str]) -> set[str]:
        """Of the memory ids `ids`, those a relationship written now may end at."""
        return await self.existing("memory", sorted(ids))


class Sink(TargetView, ABC):
    """Where the batches of an import go (see the module). Use it as a context
    manager (or `close` it): a sink may hold what it remembers on disk."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Let go of what the sink holds; it takes no more batches."""

    def bulk(self) -> AbstractAsyncContextManager[None]:
        """A block inside which batches written as `known_new` may take the engine's
        bulk-insert path (`Backend.bulk_insert`)."""
        return nullcontext()

    @abstractmethod
    async def upsert(
        self,
        kind: RecordKind,
        records: Sequence[CanonicalRecord],
        *,
        skip_existing: bool = False,
        known_new: bool = False,
        replacing: Sequence[Record] = (),
    ) -> WriteResult:
        """Write `records` as `Backend.upsert_canonical` does, and report each id as
        inserted, updated, skipped or rejected. `replacing` are the versions the
        target holds that the write replaces, as the caller read them."""

    @abstractmethod
    async def delete(self, kind: RecordKind, going: Sequence[Record]) -> int:
        """Delete `going`, records the target holds (a memory with every relationship
        touching it), leaving tombstones; return how many relationships went with the
        memories, where that is counted."""


class BackendSink(Sink):
    """Writes into the target. `before_write`, `before_replace` and `before_delete`
    (a journal) hear of each batch's new ids, replaced versions and deleted records
    before the batch is written."""

    target: Backend

    def __init__(
        self,
        target: Backend,
        *,
        before_write: BeforeWrite | None = None,
        before_replace: BeforeReplace | None = None,
        before_delete: BeforeDelete | None = None,
    ) -> None:
        super().__init__(target)
        self._before_write = before_write
        self._before_replace = before_replace
        self._before_delete = before_delete

    def bulk(self) -> AbstractAsyncContextManager[None]:
        if self.target.config.spec.has(BULK_INSERT):
            return self.target.bulk_insert()
        return nullcontext()

    async def upsert(
        self,
        kind: RecordKind,
        records: Sequence[CanonicalRecord],
        *,
        skip_existing: bool = False,
        known_new: bool = False,
        replacing: Sequence[Record] = (),
    ) -> WriteResult:
        if replacing and self._before_replace is not None:
            await self._before_replace(kind, replacing)
        return await self.target.upsert_canonical(
            kind,
            records,
            skip_existing=skip_existing,
            before_write=self._new_ids_hook(kind),
            known_new=known_new,
        )

    def _new_ids_hook(self, kind: RecordKind) -> NewIdsHook | None:
        before_write = self._before_write
        if before_write is None:
            return None
        return lambda ids: before_write(kind, ids)

    async def delete(self, kind: RecordKind, going: Sequence[Record]) -> int:
        ops = KINDS[kind]
        with_memories = 0
        if ops is RELATIONSHIP:
            if self._before_delete is not None:
                self._before_delete([], [r for r in going if isinstance(r, Relationship)])
        else:
            edges: dict[str, Relationship] = {}
            for memory in going:
                async for page in self.target.iter_neighbours(memory.id):
                    edges.update((n.relationship.id, n.relationship) for n in page)
            if self._before_delete is not None:
                self._before_delete(
                    [m for m in going if isinstance(m, Memory)], list(edges.values())
                )
            with_memories = len(edges)
        await ops.delete(self.target, [r.id for r in going])
        return with_memories


class PlanningSink(Sink, PerKind):
    """Writes nothing: decides each batch as the backend's write would and counts it
    per kind (`counts(kind)`: inserted, updated, skipped, rejected, deleted).

    It remembers, on disk so memory stays flat, the memories earlier batches would
    have written: a relationship may end at one of them."""

    def __init__(self, target: Backend | None) -> None:
        super().__init__(target)
        self.memories = KindCounts()
        self.relationships = KindCounts()
        self._planned = IdIndex()

    def close(self) -> None:
        self._planned.close()

    async def stored_memories(self, ids: Collection[str]) -> set[str]:
        planned = set(ids) - self._planned.missing("memory", ids)
        return planned | await super().stored_memories(set(ids) - planned)

    async def upsert(
        self,
        kind: RecordKind,
        records: Sequence[CanonicalRecord],
        *,
        skip_existing: bool = False,
        known_new: bool = False,
        replacing: Sequence[Record] = (),
    ) -> WriteResult:
        ids = unique_ids(records)
        existing = await self.existing(kind, ids) if not known_new else set()
        todo = [r for r in records if not (skip_existing and r.id in existing)]
        rejected: set[str] = set()
        if todo and kind == "relationship" and not known_new:
            ends = ends_of(todo)
            rejected = touching(todo, ends - await self.stored_memories(ends))
        result = write_report(ids, existing, skip_existing, rejected)
        if kind == "memory":
            self._planned.add(kind, [(i, 0) for i in ids])
        self.counts(kind).add(result)
        return result

    async def delete(self, kind: RecordKind, going: Sequence[Record]) -> int:
        # The relationships a memory would take with it are not counted: finding them
        # would walk the target's edges for a number the plan does not report.
        self.counts(kind).deleted += len(going)
        return 0
