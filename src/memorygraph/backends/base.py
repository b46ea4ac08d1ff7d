"""The backend contract: domain operations every storage engine provides.

A backend subclasses `Backend` and implements the abstract primitives
(`_write_canonical`, `_page_memories`, …). The public operations that carry
policy (duplicate skipping, write reports, endpoint checks, streaming) are
written once here, on top of those primitives, so every engine behaves the
same and the contract suite (`memorygraph.testing`) can hold them all to it.
What a backend declares about itself (how it is located, its environment
variables, its capabilities) is its `BackendSpec` (`memorygraph.backends.spec`).

Rules every implementation keeps:

* Records go in and come out as `Memory` / `Relationship`; any encoding the
  engine needs (JSON text for nested values, text timestamps) stays inside
  the backend's own module.
* Writes are batched: one engine round trip per batch, never per record.
* Iteration is streaming and in ascending id order (the engine's own string
  order), page by page, so memory use does not grow with the graph.
* `since` selects records whose `changed_at` is at or after the timestamp.
* A backend opened with `config.read_only` refuses every write.
* A read given `namespaces` (a `memorygraph.principal.Namespaces`) sees only the
  memories in those namespaces, and only the relationships whose ends both are;
  the engine filters in its own query. None sees everything.
* Engine failures surface as `BackendConnectionError` / `BackendOperationError`
  (from `memorygraph.errors`), with the location but never the password.

The module runs past 500 lines because the contract is one abstract class, read top to
bottom by whoever writes a backend: its sections (lifecycle, writes, single records
several writers change, copying a store, reads, change times, search, vectors, the
graph) each put the policy beside the primitives it rests on. The helpers that need
no backend live in `memorygraph.backends.batches`.
"""

from __future__ import annotations

import heapq
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import aclosing, asynccontextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from types import TracebackType
from typing import Any, ClassVar, Self, TypeVar

# The batch helpers, re-exported so that engine modules name them here.
from memorygraph.backends.batches import ends_of as ends_of
from memorygraph.backends.batches import grouped as grouped
from memorygraph.backends.batches import in_project as in_project
from memorygraph.backends.batches import missing_ends as missing_ends
from memorygraph.backends.batches import paginate as paginate
from memorygraph.backends.batches import paginate_pages as paginate_pages
from memorygraph.backends.batches import touching as touching
from memorygraph.backends.batches import unique_ids as unique_ids
from memorygraph.backends.batches import write_report as write_report
from memorygraph.backends.spec import BULK_INSERT, COPIES_OWN_STORES
from memorygraph.cancellation import checkpoint
from memorygraph.canonical import CanonicalRecord
from memorygraph.config import BackendConfig
from memorygraph.errors import (
    ConflictError,
    IntegrityError,
    MemoryGraphError,
    NotFoundError,
    UsageError,
)
from memorygraph.models import (
    Memory,
    MemoryType,
    Relationship,
    RelationshipType,
    format_timestamp,
)
from memorygraph.principal import Namespaces
from memorygraph.search import SearchFilters
from memorygraph.search.ranking import Candidate, MatchQuery
from memorygraph.search.text import HEX, Spelling
from memorygraph.threads import read_ahead

# The value types backends return, re-exported so that engine modules name them here.
from memorygraph.values import RECORD_KINDS as RECORD_KINDS
from memorygraph.values import Direction as Direction
from memorygraph.values import Health as Health
from memorygraph.values import Neighbour as Neighbour
from memorygraph.values import RecentChanges as RecentChanges
from memorygraph.values import RecordKind as RecordKind
from memorygraph.values import Tombstone as Tombstone
from memorygraph.values import WriteResult as WriteResult

#: A record of either kind, as the single-record writes take and return it.
Record = TypeVar("Record", Memory, Relationship)

#: Receives the ids a write is about to insert, before it writes (see `upsert_memories`);
#: it may be a coroutine function (a journal that writes in a thread), which is awaited.
NewIdsHook = Callable[[Sequence[str]], Awaitable[None] | None]


async def _announce(hook: NewIdsHook | None, ids: Sequence[str]) -> None:
    if hook is not None:
        outcome = hook(ids)
        if outcome is not None:
            await outcome


@dataclass(frozen=True)
class StoredPage:
    """Records of one kind exactly as a store keeps them, each validated as it was
    read: what `Backend.copy_store` moves between two stores of one backend. `rows`
    is in the backend's own shape; only that backend reads it."""

    kind: RecordKind
    ids: list[str]
    rows: Any


#: Receives each page's kind and ids before `copy_store` writes it, and its outcome after.
PageHook = Callable[[RecordKind, Sequence[str]], Awaitable[None]]
PageDone = Callable[[RecordKind, "WriteResult"], Awaitable[None]]
#: Receives each page of canonical records `copy_store` read, before it is written.
ReadHook = Callable[[RecordKind, Sequence[CanonicalRecord]], None]


class Backend(ABC):
    """One storage engine behind the memorygraph contract. Use as `async with`."""

    #: Records per engine round trip for bulk work (export, import, verification).
    batch_size: ClassVar[int] = 1000

    def __init__(self, config: BackendConfig) -> None:
        self.config = config.validate()

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def name(self) -> str:
        """The backend's name, as the registry knows it (its config names it)."""
        return self.config.backend_type

    @property
    def term_spelling(self) -> Spelling:
        """How this store's full-text index spells the search terms
        (`memorygraph.search.text.Spelling`): queries are parsed, and memories'
        search fields written, in it. `HEX` unless the engine keeps them as they are."""
        return HEX

    def describe(self) -> str:
        return self.config.describe()

    # --- lifecycle -------------------------------------------------------------

    @abstractmethod
    async def connect(self) -> None:
        """Open the connection and create schema/indexes (unless read-only). Idempotent."""

    @abstractmethod
    async def close(self) -> None:
        """Release every resource. Safe to call twice or after a failed connect."""

    @abstractmethod
    async def engine_version(self) -> str:
        """The engine's own version string."""

    @asynccontextmanager
    async def read_snapshot(self) -> AsyncIterator[None]:
        """Inside this block, every read sees the store as it was when the block began.

        Engines that cannot hold one snapshot across statements read each page
        as it is at that moment (see docs/BACKENDS.md); this default does that.
        Nesting is allowed: the outermost block's snapshot holds.
        """
        yield

    @asynccontextmanager
    async def bulk_insert(self) -> AsyncIterator[None]:
        """Inside this block, batches of records known new (`upsert_canonical` with
        `known_new`) may be written through the engine's bulk-insert path, when the
        backend's spec declares the `bulk_insert` capability; the writes stay batch by
        batch (each whole when its call returns, announced to `before_write` first) and
        store exactly what the ordinary writes store. This default changes nothing."""
        yield

    def connection_warnings(self) -> list[str]:
        """What a user should know about this connection before writing through it."""
        return []

    async def health(self) -> Health:
        """Connection state, version and counts; never raises for an engine failure."""
        try:
            return Health(
                backend=self.name,
                location=self.describe(),
                connected=True,
                engine_version=await self.engine_version(),
                memory_count=await self.count_memories(),
                relationship_count=await self.count_relationships(),
            )
        except MemoryGraphError as e:
            return Health(self.name, self.describe(), connected=False, error=str(e))

    # --- writes ----------------------------------------------------------------

    def _require_writable(self) -> None:
        if self.config.read_only:
            raise UsageError(f"{self.describe()} is opened read-only; nothing was written")

    async def upsert_memories(
        self,
        memories: Sequence[Memory],
        *,
        skip_existing: bool = False,
        before_write: NewIdsHook | None = None,
    ) -> WriteResult:
        """Write a batch of memories. Existing ids are replaced, or skipped with `skip_existing`.

        `before_write(ids)` is called with the ids about to be inserted (absent from
        the store) before anything is written: a journal hook that survives a crash.
        """
        records = [CanonicalRecord.of(m) for m in memories]
        return await self.upsert_canonical(
            "memory", records, skip_existing=skip_existing, before_write=before_write
        )

    async def upsert_relationships(
        self,
        relationships: Sequence[Relationship],
        *,
        skip_existing: bool = False,
        before_write: NewIdsHook | None = None,
    ) -> WriteResult:
        """Write a batch of relationships; both ends must exist (else `IntegrityError`).

        `before_write` as for `upsert_memories`.
        """
        records = [CanonicalRecord.of(r) for r in relationships]
        return await self.upsert_canonical(
            "relationship", records, skip_existing=skip_existing, before_write=before_write
        )

    async def upsert_canonical(
        self,
        kind: RecordKind,
        records: Sequence[CanonicalRecord],
        *,
        skip_existing: bool = False,
        before_write: NewIdsHook | None = None,
        known_new: bool = False,
    ) -> WriteResult:
        """`upsert_memories` / `upsert_relationships` for records already in canonical form
        (what an import and a migration write: nothing is rebuilt or validated again).

        `known_new` says the caller knows none of the ids is stored yet and every
        relationship's ends are (a migration into a target that started empty, from
        an export whose ids are unique and whose memories come first): the store is
        then not asked, which halves the statements of a bulk load.
        """
        self._require_writable()
        ids = unique_ids(records)
        existing = await KINDS[kind].existing(self, ids) if ids and not known_new else set()
        todo = [r for r in records if not (skip_existing and r.id in existing)]
        if todo and kind == "relationship" and not known_new:
            await self._require_ends(todo)
        if todo:
            await _announce(before_write, [i for i in ids if i not in existing])
            await self._write_canonical(kind, todo, {i for i in ids if i not in existing})
        return write_report(ids, existing, skip_existing)

    async def _require_ends(self, relationships: Sequence[CanonicalRecord]) -> None:
        """Raise `IntegrityError` if an end of `relationships` is not a stored memory."""
        ends = ends_of(relationships)
        missing = ends - await self.existing_memory_ids(sorted(ends)) if ends else set()
        if missing:
            raise missing_ends(missing)

    # --- single records that several writers may change at once ------------------

    async def insert_new(self, kind: RecordKind, record: Memory | Relationship) -> None:
        """Create `record`, or raise `ConflictError` when its id is already stored.

        The check and the write are one atomic step of the engine, so when two
        writers create the same new id at the same moment exactly one succeeds.
        A relationship's ends must be stored memories (else `IntegrityError`).
        """
        self._require_writable()
        canonical = CanonicalRecord.of(record)
        if kind == "relationship":
            await self._require_ends([canonical])
        if not await self._insert_new(kind, canonical):
            if not await KINDS[kind].existing(self, [record.id]):
                raise IntegrityError(
                    f"relationship {record.id!r} lost an end while it was written; "
                    "nothing was written. Check that both memories are stored"
                )
            raise ConflictError(
                f"{kind} id {record.id!r} is already in use; nothing was written. Choose "
                "another id, change the stored one, or replace it explicitly",
                field="id",
            )

    async def update_record(
        self, kind: RecordKind, record_id: str, change: Callable[[Record], Record]
    ) -> Record:
        """Apply `change` to the record as stored now and store its result, as one atomic
        step: no other write to that record can fall between the read and the write, so
        changes to different fields by concurrent writers all survive. `change` may raise
        (`ConflictError` when the record is not at the version the caller expects); then
        nothing is written. The result keeps the record's id (and a relationship its ends)
        and is returned as stored. `NotFoundError` when no such record is stored.
        """
        self._require_writable()
        written: list[Record] = []

        def checked(current: Record) -> CanonicalRecord:
            updated = change(current)
            same_ends = not isinstance(current, Relationship) or (
                isinstance(updated, Relationship)
                and (updated.from_id, updated.to_id) == (current.from_id, current.to_id)
            )
            if updated.id != current.id or not same_ends:
                raise UsageError(f"a change may not move {kind} {current.id!r}")
            written[:] = [updated]
            return CanonicalRecord.of(updated)

        stored = await self._update_atomically(kind, record_id, checked)
        if stored is None:
            raise NotFoundError(f"{kind} {record_id!r} is not stored", field="id")
        return written[0]

    async def delete_record(
        self, kind: RecordKind, record_id: str, check: Callable[[Record], None]
    ) -> None:
        """Delete one record (a memory with its relationships), leaving tombstones as
        `delete_memories` does, after `check` accepted it as stored at that moment, in
        one atomic step: `check` raises (`ConflictError`) to refuse, and then nothing is
        deleted. `NotFoundError` when no such record is stored."""
        self._require_writable()
        if not await self._delete_atomically(kind, record_id, check):
            raise NotFoundError(f"{kind} {record_id!r} is not stored", field="id")

    @abstractmethod
    async def _insert_new(self, kind: RecordKind, record: CanonicalRecord) -> bool:
        """Create `record` unless its id is stored, as one atomic step; False (nothing
        written) when it was, or when a relationship's end is gone."""

    @abstractmethod
    async def _update_atomically(
        self, kind: RecordKind, record_id: str, change: Callable[[Any], CanonicalRecord]
    ) -> CanonicalRecord | None:
        """Read the record, call `change` on it and write what it returns (search fields
        and change time included) with no other write to the record in between; retry
        when another writer got in first. None when the record is not stored. An
        exception from `change` writes nothing and propagates."""

    @abstractmethod
    async def _delete_atomically(
        self, kind: RecordKind, record_id: str, check: Callable[[Any], None]
    ) -> bool:
        """Call `check` on the record as stored and, unless it raised, delete it as
        `delete_memories` / `delete_relationships` would, with no other write to it in
        between. False when the record is not stored."""

    # --- copying a whole store of the same backend ---------------------------------

    #: Records per page of a copy as stored (`_copy_as_stored`): one transaction each.
    copy_page_size: ClassVar[int] = 5_000

    def copies_from(self, source: Backend) -> bool:
        """True when `copy_store` takes `source`'s records as that store keeps them:
        both are stores of this backend, and it declares `COPIES_OWN_STORES`."""
        spec = self.config.spec
        return spec.has(COPIES_OWN_STORES) and source.config.spec is spec

    async def copy_store(
        self,
        source: Backend,
        *,
        before_write: PageHook,
        on_page: PageDone,
        page_size: int | None = None,
        on_read: ReadHook | None = None,
    ) -> None:
        """Copy every record of `source` into this store, memories first, a page (one
        write) at a time, each record validated once as it is read.

        The caller promises that this store holds none of the ids (it was empty, and
        is held under a lock) and keeps `source` in one read snapshot. `before_write`
        is awaited with a page's ids before the page is written, `on_page` with what
        was inserted after; the next page is read while this one is written. Pages
        move as `source` stores them when this store `copies_from` it, else as
        canonical records written like a first import into an empty store; then
        `on_read` is called with each page of records as read, before it is written.
        """
        self._require_writable()
        bulk = self.bulk_insert() if self.config.spec.has(BULK_INSERT) else nullcontext()
        async with bulk:
            if self.copies_from(source):
                await self._copy_as_stored(source, page_size, before_write, on_page)
                return
            size = page_size or self.batch_size
            for kind in RECORD_KINDS:
                canonical = read_ahead(
                    source.iter_canonical(kind, batch_size=size, search_fields=True)
                )
                async with aclosing(canonical) as records:
                    async for batch in records:
                        if on_read is not None:
                            on_read(kind, batch)
                        written = await self.upsert_canonical(
                            kind, batch, known_new=True, before_write=partial(before_write, kind)
                        )
                        await on_page(kind, written)
                        await checkpoint()

    async def _copy_as_stored(
        self, source: Backend, page_size: int | None, before_write: PageHook, on_page: PageDone
    ) -> None:
        size = page_size or self.copy_page_size
        for kind in RECORD_KINDS:
            async with aclosing(read_ahead(source.stored_pages(kind, size))) as pages:
                async for page in pages:
                    await before_write(kind, page.ids)
                    await self._write_stored(page)
                    await on_page(kind, WriteResult(inserted=page.ids))
                    await checkpoint()

    def stored_pages(self, kind: RecordKind, size: int) -> AsyncIterator[StoredPage]:
        """Every record of `kind` in pages of `size`, as this store keeps them (backends
        declaring `COPIES_OWN_STORES` only)."""
        raise NotImplementedError(f"{self.name} does not copy stores as stored")

    async def _write_stored(self, page: StoredPage) -> None:
        """Insert a page another store of this backend read (none of its ids is here)."""
        raise NotImplementedError(f"{self.name} does not copy stores as stored")

    @abstractmethod
    async def _write_canonical(
        self, kind: RecordKind, records: Sequence[CanonicalRecord], new_ids: set[str]
    ) -> None:
        """Insert or wholly replace each record (ids unique within the batch; a
        relationship's ends exist). `new_ids` are those the store did not hold before
        this call: an engine may skip looking for an old version of them."""

    @abstractmethod
    async def delete_memories(self, ids: Sequence[str]) -> int:
        """Delete these memories and every relationship touching them, leaving a tombstone
        for each record deleted; return memories deleted."""

    @abstractmethod
    async def delete_relationships(self, ids: Sequence[str]) -> int:
        """Delete these relationships, leaving a tombstone for each; return how many existed."""

    @abstractmethod
    async def purge_memories(self, ids: Sequence[str]) -> int:
        """Remove these memories and every relationship touching them as if they had
        never been written: no tombstone is left, and a tombstone the store kept from
        an earlier deletion of one of these ids counts again. What a rollback uses to
        take back records a migration inserted; return memories removed."""

    @abstractmethod
    async def purge_relationships(self, ids: Sequence[str]) -> int:
        """Remove these relationships leaving no tombstone (as `purge_memories`);
        return how many existed."""

    @abstractmethod
    async def clear(self) -> None:
        """Delete every memory, relationship and tombstone (schema stays): a reset,
        which leaves no tombstones behind (migrate in full after it)."""

    # --- reads -----------------------------------------------------------------

    @abstractmethod
    async def get_memories(
        self, ids: Sequence[str], *, namespaces: Namespaces | None = None
    ) -> list[Memory]:
        """The memories with these ids that exist (in `namespaces`), in any order."""

    @abstractmethod
    async def get_relationships(self, ids: Sequence[str]) -> list[Relationship]:
        """The relationships with these ids that exist, in any order."""

    async def get_memory(
        self, memory_id: str, *, namespaces: Namespaces | None = None
    ) -> Memory | None:
        found = await self.get_memories([memory_id], namespaces=namespaces)
        return found[0] if found else None

    async def get_relationship(self, relationship_id: str) -> Relationship | None:
        found = await self.get_relationships([relationship_id])
        return found[0] if found else None

    @abstractmethod
    async def existing_memory_ids(self, ids: Sequence[str]) -> set[str]:
        """The subset of `ids` stored as memories."""

    @abstractmethod
    async def existing_relationship_ids(self, ids: Sequence[str]) -> set[str]:
        """The subset of `ids` stored as relationships."""

    @abstractmethod
    async def _page_memories(
        self,
        after: str | None,
        limit: int,
        since: datetime | None,
        namespaces: Namespaces | None = None,
    ) -> list[Memory]:
        """Up to `limit` memories with id > `after` (all if None), ascending id."""

    @abstractmethod
    async def _page_relationships(
        self,
        after: str | None,
        limit: int,
        since: datetime | None,
        namespaces: Namespaces | None = None,
    ) -> list[Relationship]:
        """Up to `limit` relationships with id > `after`, ascending id."""

    async def iter_memories(
        self,
        *,
        since: datetime | None = None,
        batch_size: int | None = None,
        namespaces: Namespaces | None = None,
    ) -> AsyncIterator[Memory]:
        """Every memory (changed at or after `since`), ascending id, streamed page by page."""
        pages = paginate(
            lambda after, size: self._page_memories(after, size, since, namespaces),
            lambda memory: memory.id,
            batch_size or self.batch_size,
        )
        async for memory in pages:
            yield memory

    async def iter_relationships(
        self,
        *,
        since: datetime | None = None,
        batch_size: int | None = None,
        namespaces: Namespaces | None = None,
    ) -> AsyncIterator[Relationship]:
        """Every relationship (changed at or after `since`), ascending id, streamed."""
        pages = paginate(
            lambda after, size: self._page_relationships(after, size, since, namespaces),
            lambda relationship: relationship.id,
            batch_size or self.batch_size,
        )
        async for relationship in pages:
            yield relationship

    async def digests(self, kind: RecordKind, ids: Sequence[str]) -> dict[str, str]:
        """id → `digest()` of each stored record of `kind` among `ids`.

        An engine may compute these without building the records (from the
        canonical bytes it keeps, or the stored values serialised directly). Such a
        digest never reports two different records as equal, but may report a
        difference where the engine hands a value back in another type (an
        integral float as an int); `model_digests` is then the judge.
        """
        return await self.model_digests(kind, ids)

    async def model_digests(self, kind: RecordKind, ids: Sequence[str]) -> dict[str, str]:
        """id → `digest()` of each stored record among `ids`, read through the model."""
        return {r.id: r.digest() for r in await KINDS[kind].get(self, ids)}

    async def iter_canonical(
        self,
        kind: RecordKind,
        *,
        since: datetime | None = None,
        batch_size: int | None = None,
        search_fields: bool = False,
        namespaces: Namespaces | None = None,
    ) -> AsyncIterator[list[CanonicalRecord]]:
        """Every record of `kind` (changed at or after `since`, in `namespaces`) in
        canonical form, in pages, in the order of `iter_memories`. Engines that keep
        canonical bytes override this to read them instead of building models. With
        `search_fields`, a store that keeps each memory's search fields current hands
        them along (`CanonicalRecord.search_fields`): a copy then need not derive them
        again."""
        if namespaces is not None and kind == "memory":
            memories = self.iter_memories(since=since, batch_size=batch_size, namespaces=namespaces)
            async for page in grouped(memories, batch_size or self.batch_size):
                yield [CanonicalRecord.of(memory) for memory in page]
            return
        if namespaces is not None:
            edges = self.iter_relationships(
                since=since, batch_size=batch_size, namespaces=namespaces
            )
            async for edge_page in grouped(edges, batch_size or self.batch_size):
                yield [CanonicalRecord.of(edge) for edge in edge_page]
            return
        records = KINDS[kind].iterate(self, since, batch_size)
        async for group in grouped(records, batch_size or self.batch_size):
            yield [CanonicalRecord.of(record) for record in group]

    async def iter_digests(
        self, kind: RecordKind, *, since: datetime | None = None, batch_size: int | None = None
    ) -> AsyncIterator[tuple[str, str]]:
        """(id, digest) of every record of `kind`, in the order of `iter_memories`."""
        async for record in KINDS[kind].iterate(self, since, batch_size):
            yield record.id, record.digest()

    async def digest_pages(
        self, kind: RecordKind, *, since: datetime | None = None, batch_size: int | None = None
    ) -> AsyncIterator[list[tuple[str, str]]]:
        """`iter_digests` a page at a time (what a verification compares batch by batch);
        engines that read pages anyway override it to hand them on whole."""
        pairs = self.iter_digests(kind, since=since, batch_size=batch_size)
        async for page in grouped(pairs, batch_size or self.batch_size):
            yield page

    async def matches_store(
        self, source: Backend, *, deletions: bool
    ) -> dict[RecordKind, int] | None:
        """The number of records of each kind, when this store can tell wholesale that
        it holds exactly the records `source` holds now: the same ids, each record the
        same canonical bytes and type (and ends), and (with `deletions`) none of the ids
        `source` deleted. None when it cannot tell or they differ: the caller then
        compares record by record, which also says how they differ. This default
        cannot tell."""
        return None

    # --- change times and tombstones ---------------------------------------------
    #
    # Every write stamps each record it writes with the store's own clock (its
    # change time, kept beside the record and never part of it or its digest);
    # `since` compares that stamp, whatever field changed. Deletions leave a
    # `Tombstone` stamped the same way.

    @abstractmethod
    async def _page_tombstones(
        self, kind: RecordKind, after: str | None, limit: int, since: datetime | None
    ) -> list[Tombstone]:
        """Up to `limit` tombstones of `kind` with id > `after` (all if None), deleted at
        or after `since`, ascending id; ids the store holds again are left out."""

    async def iter_tombstones(
        self, kind: RecordKind, *, since: datetime | None = None, batch_size: int | None = None
    ) -> AsyncIterator[Tombstone]:
        """Every tombstone of `kind` (deleted at or after `since`), ascending id, streamed."""
        pages = paginate(
            lambda after, size: self._page_tombstones(kind, after, size, since),
            lambda tombstone: tombstone.id,
            batch_size or self.batch_size,
        )
        async for tombstone in pages:
            yield tombstone

    async def tombstones_of(self, kind: RecordKind, ids: Sequence[str]) -> dict[str, str]:
        """id → when it was deleted, for each of `ids` this store deleted and does not
        hold again. This default reads every tombstone; engines look the ids up."""
        wanted = set(ids)
        return {t.id: t.deleted_at async for t in self.iter_tombstones(kind) if t.id in wanted}

    @abstractmethod
    async def count_memories(self, *, namespaces: Namespaces | None = None) -> int: ...

    @abstractmethod
    async def count_relationships(self, *, namespaces: Namespaces | None = None) -> int: ...

    @abstractmethod
    async def count_memories_by_type(
        self, *, namespaces: Namespaces | None = None
    ) -> dict[MemoryType, int]:
        """Memory count per type; types with no memories are left out."""

    @abstractmethod
    async def count_relationships_by_type(
        self, *, namespaces: Namespaces | None = None
    ) -> dict[RelationshipType, int]:
        """Relationship count per type; types with none are left out."""

    async def recent_memories(
        self,
        since: datetime,
        *,
        limit: int,
        counted: int,
        project: str | None = None,
        namespaces: Namespaces | None = None,
    ) -> RecentChanges:
        """The memories changed at or after `since` (by their own change time), of the
        project `project` when given and in `namespaces` (None: every one), newest
        first (ties: the greater id first): the `limit` newest, and the types of the
        `counted` newest.

        By default one pass over what was written since `since` (a superset: a record
        is written no earlier than it changed); an engine with an index on the change
        time walks it from the newest and stops at `counted`."""
        stamp = format_timestamp(since)
        keep = max(limit, counted)
        newest: list[tuple[str, str, Memory]] = []
        for_more = 0
        async for m in self.iter_memories(since=since, namespaces=namespaces):
            changed = format_timestamp(m.changed_at)
            if changed < stamp or not in_project(m, project):
                continue
            for_more += 1
            entry = (changed, m.id, m)
            if len(newest) < keep:
                heapq.heappush(newest, entry)
            elif entry[:2] > newest[0][:2]:
                heapq.heapreplace(newest, entry)
        ordered = [m for _, _, m in sorted(newest, key=lambda e: e[:2], reverse=True)]
        by_type: dict[MemoryType, int] = {}
        for m in ordered[:counted]:
            by_type[m.type] = by_type.get(m.type, 0) + 1
        return RecentChanges(by_type, ordered[:limit], more=for_more > counted)

    # --- search (see memorygraph.search.ranking for how these combine) -------------

    @abstractmethod
    async def search_candidates(
        self,
        query: MatchQuery,
        filters: SearchFilters,
        limit: int,
        *,
        namespaces: Namespaces | None = None,
    ) -> list[Candidate]:
        """Up to `limit` memories matching `query` and `filters` (in `namespaces`), by the
        engine's full-text index, best first by the engine's own relevance (ties by id),
        with their indexed fields (`memorygraph.search.text.field_texts`). When fewer than
        `limit` match, every match comes back (the order then does not matter)."""

    @abstractmethod
    async def count_matches(
        self, queries: Sequence[MatchQuery], *, namespaces: Namespaces | None = None
    ) -> list[int]:
        """For each query, how many memories (in `namespaces`) match it, no other filter:
        document frequencies. Counted within the namespaces, so that a score says nothing
        of what other namespaces hold."""

    async def search_total(self, *, namespaces: Namespaces | None = None) -> int:
        """How many memories (in `namespaces`) the search index covers (the N of the
        ranking's idf).

        The memory count by default; an engine may answer it more cheaply."""
        return await self.count_memories(namespaces=namespaces)

    @abstractmethod
    async def rebuild_search_index(self) -> int:
        """Create the full-text index if missing and recompute every memory's indexed
        fields (for stores written before search existed); return memories indexed."""

    # --- vectors (capability `vectors`; see memorygraph.search.semantic) ----------------
    # Derived data like the search terms: a memory's vector is dropped when the memory
    # is written again or deleted, never exported, and rebuilt by the store.

    async def memories_without_vectors(self, model: str, limit: int) -> list[Memory]:
        """Up to `limit` memories that hold no vector of `model` (in id order)."""
        raise self._no_vectors()

    async def put_vectors(self, model: str, vectors: Sequence[tuple[str, bytes]]) -> None:
        """Store each memory's vector (`model`'s float32 bytes); ids no longer stored are
        skipped."""
        raise self._no_vectors()

    async def drop_vectors(self) -> None:
        """Forget every stored vector (they are rebuilt from the memories)."""
        raise self._no_vectors()

    async def vector_search(
        self,
        model: str,
        vector: bytes,
        limit: int,
        filters: SearchFilters | None = None,
    ) -> list[tuple[str, float]]:
        """The `limit` memories most similar to `vector` among those holding a vector of
        `model`, as (id, cosine similarity), best first, ties by id. `filters` may be
        applied by the engine; the caller checks them again on the memories."""
        raise self._no_vectors()

    async def hold_vectors(self, model: str) -> int | None:
        """Have the vectors of `model` ready for `vector_search`, for an engine that holds
        them in this process's memory (one without a vector index): they are read now,
        while this backend answers other calls, instead of at the first search. Returns
        how many are held, or None when there is nothing to read ahead (the default:
        an engine with an index of its own)."""
        return None

    def _no_vectors(self) -> UsageError:
        return UsageError(f"{self.name} does not keep vectors; search is lexical there")

    @abstractmethod
    async def neighbours(
        self,
        memory_id: str,
        *,
        direction: Direction = Direction.BOTH,
        types: Iterable[RelationshipType] | None = None,
        limit: int | None = None,
        after: str | None = None,
        namespaces: Namespaces | None = None,
    ) -> list[Neighbour]:
        """Memories one edge away, with the edge, ordered by relationship id. No truncation
        unless `limit` is given; with `after`, only relationships whose id sorts after it.
        With `namespaces`, nothing unless `memory_id` is in them, and only neighbours in
        them: a walk never leaves them."""

    async def neighbours_of(
        self,
        memory_ids: Sequence[str],
        *,
        direction: Direction = Direction.BOTH,
        types: Iterable[RelationshipType] | None = None,
        limit: int | None = None,
        namespaces: Namespaces | None = None,
    ) -> dict[str, list[Neighbour]]:
        """`neighbours` of each of `memory_ids` (each up to `limit`), by id, in one call:
        an engine whose calls cost a round trip answers them together."""
        wanted = list(types) if types is not None else None
        return {
            memory_id: await self.neighbours(
                memory_id, direction=direction, types=wanted, limit=limit, namespaces=namespaces
            )
            for memory_id in dict.fromkeys(memory_ids)
        }

    async def iter_neighbours(
        self,
        memory_id: str,
        *,
        direction: Direction = Direction.BOTH,
        types: Iterable[RelationshipType] | None = None,
        page: int = 1000,
        namespaces: Namespaces | None = None,
    ) -> AsyncIterator[list[Neighbour]]:
        """Every neighbour, in pages of `page` in relationship id order: memory stays flat."""
        wanted = list(types) if types is not None else None
        after: str | None = None
        while True:
            batch = await self.neighbours(
                memory_id,
                direction=direction,
                types=wanted,
                limit=page,
                after=after,
                namespaces=namespaces,
            )
            if batch:
                yield batch
            if len(batch) < page:
                return
            after = batch[-1].relationship.id


# The two record kinds and the backend operations for each: code that treats both kinds
# alike (an import, verification, a rollback, a snapshot) looks the operation up here
# instead of branching on the kind.


@dataclass(frozen=True)
class KindOps:
    """One record kind: its name, model, plural, and the backend operations for it."""

    name: RecordKind
    model: type[Memory] | type[Relationship]
    plural: str
    get: Callable[[Backend, Sequence[str]], Awaitable[Sequence[Memory | Relationship]]]
    existing: Callable[[Backend, Sequence[str]], Awaitable[set[str]]]
    #: Deletes; returns how many records of this kind existed (a memory takes its
    #: relationships with it, which it does not count).
    delete: Callable[[Backend, Sequence[str]], Awaitable[int]]
    #: Removes without leaving tombstones (a rollback's undo); returns as `delete`.
    purge: Callable[[Backend, Sequence[str]], Awaitable[int]]
    #: Every record (changed at or after `since`), streamed in pages of `batch_size`.
    iterate: Callable[[Backend, datetime | None, int | None], AsyncIterator[Memory | Relationship]]
    count: Callable[[Backend], Awaitable[int]]
    count_by_type: Callable[[Backend], Awaitable[dict[Any, int]]]

    def parse(self, data: dict[str, Any]) -> Memory | Relationship:
        return self.model.parse(data)


MEMORY = KindOps(
    "memory",
    Memory,
    "memories",
    get=lambda b, ids: b.get_memories(ids),
    existing=lambda b, ids: b.existing_memory_ids(ids),
    delete=lambda b, ids: b.delete_memories(ids),
    purge=lambda b, ids: b.purge_memories(ids),
    iterate=lambda b, since, size: b.iter_memories(since=since, batch_size=size),
    count=lambda b: b.count_memories(),
    count_by_type=lambda b: b.count_memories_by_type(),
)
RELATIONSHIP = KindOps(
    "relationship",
    Relationship,
    "relationships",
    get=lambda b, ids: b.get_relationships(ids),
    existing=lambda b, ids: b.existing_relationship_ids(ids),
    delete=lambda b, ids: b.delete_relationships(ids),
    purge=lambda b, ids: b.purge_relationships(ids),
    iterate=lambda b, since, size: b.iter_relationships(since=since, batch_size=size),
    count=lambda b: b.count_relationships(),
    count_by_type=lambda b: b.count_relationships_by_type(),
)
#: Both kinds, memories first: the order records are written in (a relationship's
#: ends must exist); deletions go the other way round.
KINDS: dict[RecordKind, KindOps] = {MEMORY.name: MEMORY, RELATIONSHIP.name: RELATIONSHIP}
