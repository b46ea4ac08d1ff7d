"""An in-memory backend built on the abstract contract alone: `ToyBackend`.

It subclasses `memorygraph.backends.base.Backend` and keeps every record in Python
dicts, to show what the contract asks of an engine and that a backend this small,
registered by its "module:Class" string, is usable from the command line, an MCP
client and a migration, and passes the packaged contract suite.

Where the records live: the command line opens a fresh backend for every command,
and the suite opens several backends on one store to test persistence, so the
records cannot live in the backend object. They live in `STORES`, a module-level
dict keyed by the store's resolved `config.path`: every backend of this process
opened on one path shares one `_Store`, which outlives them until `forget_stores()`
drops it. A writable connect also creates a small file at the path, so the store
"exists" where path-based code looks for it (a migration's dry run plans against an
empty target when its path holds nothing). Another process sees the file but none
of the records: the store is this process's only, so it declares no capability that
would need more (no snapshot reads, bulk insert, copies as stored, or vectors).

Every operation runs without awaiting anything between its read and its write, so
on the one event loop that reaches `STORES` each is one atomic step: that is all
`_insert_new`, `_update_atomically` and `_delete_atomically` need.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

from memorygraph.backends.base import (
    KINDS,
    Backend,
    Direction,
    Neighbour,
    RecordKind,
    Tombstone,
)
from memorygraph.canonical import CanonicalRecord
from memorygraph.config import BackendConfig
from memorygraph.errors import BackendConnectionError, DatabaseFileError
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
from memorygraph.search.text import field_texts

ENGINE_VERSION = "toy-memory 1"
#: What the file at a store's path says: the records are not in it.
MARKER = "memorygraph toy store: its records live in the memory of the process that wrote them\n"


@dataclass
class _Entry:
    """One stored record, with what the store keeps beside it."""

    record: Any  # Memory or Relationship, as the kind's table says
    #: The store's clock when it was last written (what `since` compares).
    written: str
    #: A memory's indexed (title, body) fields; None for a relationship.
    terms: tuple[str, str] | None = None


@dataclass
class _Store:
    """Everything one store holds: records by kind and id, and tombstones."""

    records: dict[RecordKind, dict[str, _Entry]] = field(
        default_factory=lambda: {"memory": {}, "relationship": {}}
    )
    #: kind → id → deletion time; kept while the id is held again (a purge of the
    #: later record makes it count again), left out of reads until then.
    tombstones: dict[RecordKind, dict[str, str]] = field(
        default_factory=lambda: {"memory": {}, "relationship": {}}
    )

    @property
    def memories(self) -> dict[str, _Entry]:
        return self.records["memory"]

    @property
    def relationships(self) -> dict[str, _Entry]:
        return self.records["relationship"]


#: Every store of this process, by its resolved path (see the module's docstring).
STORES: dict[Path, _Store] = {}


def forget_stores() -> None:
    """Drop every store of this process (a test's clean-up: nothing else frees them)."""
    STORES.clear()


def _now() -> str:
    return format_timestamp(datetime.now(UTC))


def _after_key(ids: Iterable[str], after: str | None) -> list[str]:
    """`ids` in ascending order, those greater than `after` only (all when None)."""
    return sorted(i for i in ids if after is None or i > after)


def _matches(query: MatchQuery, terms: tuple[str, str]) -> bool:
    """Whether a memory's indexed fields meet `query`: a token is a whole indexed token,
    a prefix the start of one, as the engines' own full-text conditions read them."""
    tokens = set(terms[0].split()) | set(terms[1].split())

    def group_met(group: tuple[tuple[str, bool], ...]) -> bool:
        return any(
            any(t.startswith(token) for t in tokens) if prefix else token in tokens
            for token, prefix in group
        )

    met = (group_met(g) for g in query.groups)
    return all(met) if query.require_all else any(met)


class ToyBackend(Backend):
    """A store in this process's memory, one per path (see the module's docstring)."""

    def __init__(self, config: BackendConfig) -> None:
        super().__init__(config)
        self._store: _Store | None = None

    # --- lifecycle ---------------------------------------------------------------

    @property
    def path(self) -> Path:
        assert self.config.path is not None, "the toy spec locates stores by path"
        return Path(self.config.path).expanduser().resolve()

    async def connect(self) -> None:
        if self._store is not None:
            return
        path = self.path
        if not path.parent.is_dir():
            raise DatabaseFileError(
                f"directory {path.parent} does not exist; create it or choose another path"
            )
        if not path.exists():
            if self.config.read_only:
                raise DatabaseFileError(f"no store at {path}; check the path")
            path.write_text(MARKER)
        self._store = STORES.setdefault(path, _Store())

    async def close(self) -> None:
        self._store = None

    async def engine_version(self) -> str:
        return ENGINE_VERSION

    @property
    def store(self) -> _Store:
        if self._store is None:
            raise BackendConnectionError(f"{self.describe()} is not connected")
        return self._store

    # --- writes ------------------------------------------------------------------

    def _put(self, kind: RecordKind, records: Iterable[CanonicalRecord]) -> None:
        """Insert or wholly replace each record, stamped now."""
        table = self.store.records[kind]
        stamp = _now()
        for r in records:
            record = KINDS[kind].parse(r.data)
            terms = r.search_fields() if kind == "memory" else None
            table[r.id] = _Entry(record, stamp, terms)

    async def _write_canonical(
        self, kind: RecordKind, records: Sequence[CanonicalRecord], new_ids: set[str]
    ) -> None:
        self._put(kind, records)

    async def _insert_new(self, kind: RecordKind, record: CanonicalRecord) -> bool:
        store = self.store
        if record.id in store.records[kind]:
            return False
        if (
            kind == "relationship"
            and not {
                record.data["from_id"],
                record.data["to_id"],
            }
            <= store.memories.keys()
        ):
            return False
        self._put(kind, [record])
        return True

    async def _update_atomically(
        self, kind: RecordKind, record_id: str, change: Callable[[Any], CanonicalRecord]
    ) -> CanonicalRecord | None:
        entry = self.store.records[kind].get(record_id)
        if entry is None:
            return None
        updated = change(entry.record)
        self._put(kind, [updated])
        return updated

    async def _delete_atomically(
        self, kind: RecordKind, record_id: str, check: Callable[[Any], None]
    ) -> bool:
        entry = self.store.records[kind].get(record_id)
        if entry is None:
            return False
        check(entry.record)
        self._remove(kind, [record_id], tombstones=True)
        return True

    def _remove(self, kind: RecordKind, ids: Sequence[str], *, tombstones: bool) -> int:
        """Remove these records (a memory with every relationship touching it), each
        leaving a tombstone when `tombstones`; return how many of `ids` were held."""
        self._require_writable()
        store = self.store
        table = store.records[kind]
        gone = [i for i in dict.fromkeys(ids) if i in table]
        removed: dict[RecordKind, list[str]] = {kind: gone}
        if kind == "memory":
            ends = set(gone)
            removed["relationship"] = [
                i
                for i, e in store.relationships.items()
                if e.record.from_id in ends or e.record.to_id in ends
            ]
        stamp = _now()
        for removed_kind, removed_ids in removed.items():
            for i in removed_ids:
                del store.records[removed_kind][i]
                if tombstones:
                    store.tombstones[removed_kind][i] = stamp
        return len(gone)

    async def delete_memories(self, ids: Sequence[str]) -> int:
        return self._remove("memory", ids, tombstones=True)

    async def delete_relationships(self, ids: Sequence[str]) -> int:
        return self._remove("relationship", ids, tombstones=True)

    async def purge_memories(self, ids: Sequence[str]) -> int:
        return self._remove("memory", ids, tombstones=False)

    async def purge_relationships(self, ids: Sequence[str]) -> int:
        return self._remove("relationship", ids, tombstones=False)

    async def clear(self) -> None:
        self._require_writable()
        store = self.store
        for kind in ("memory", "relationship"):
            store.records[kind].clear()
            store.tombstones[kind].clear()

    # --- reads -------------------------------------------------------------------

    def _visible_memories(self, namespaces: Namespaces | None) -> Iterator[tuple[str, _Entry]]:
        for i, e in self.store.memories.items():
            if namespaces is None or namespaces.sees(e.record):
                yield i, e

    def _sees_relationship(self, entry: _Entry, namespaces: Namespaces | None) -> bool:
        if namespaces is None:
            return True
        memories = self.store.memories
        return all(
            end in memories and namespaces.sees(memories[end].record)
            for end in (entry.record.from_id, entry.record.to_id)
        )

    async def get_memories(
        self, ids: Sequence[str], *, namespaces: Namespaces | None = None
    ) -> list[Memory]:
        memories = self.store.memories
        found = (memories[i].record for i in dict.fromkeys(ids) if i in memories)
        return [m for m in found if namespaces is None or namespaces.sees(m)]

    async def get_relationships(self, ids: Sequence[str]) -> list[Relationship]:
        table = self.store.relationships
        return [table[i].record for i in dict.fromkeys(ids) if i in table]

    async def existing_memory_ids(self, ids: Sequence[str]) -> set[str]:
        return set(ids) & self.store.memories.keys()

    async def existing_relationship_ids(self, ids: Sequence[str]) -> set[str]:
        return set(ids) & self.store.relationships.keys()

    def _page(
        self,
        kind: RecordKind,
        after: str | None,
        limit: int,
        since: datetime | None,
        keep: Callable[[_Entry], bool],
    ) -> list[Any]:
        table = self.store.records[kind]
        stamp = format_timestamp(since) if since is not None else None
        page = []
        for i in _after_key(table, after):
            entry = table[i]
            if (stamp is None or entry.written >= stamp) and keep(entry):
                page.append(entry.record)
                if len(page) >= limit:
                    break
        return page

    async def _page_memories(
        self,
        after: str | None,
        limit: int,
        since: datetime | None,
        namespaces: Namespaces | None = None,
    ) -> list[Memory]:
        return self._page(
            "memory",
            after,
            limit,
            since,
            lambda e: namespaces is None or namespaces.sees(e.record),
        )

    async def _page_relationships(
        self,
        after: str | None,
        limit: int,
        since: datetime | None,
        namespaces: Namespaces | None = None,
    ) -> list[Relationship]:
        return self._page(
            "relationship", after, limit, since, lambda e: self._sees_relationship(e, namespaces)
        )

    async def _page_tombstones(
        self, kind: RecordKind, after: str | None, limit: int, since: datetime | None
    ) -> list[Tombstone]:
        held = self.store.records[kind]
        deleted = self.store.tombstones[kind]
        stamp = format_timestamp(since) if since is not None else None
        ids = (
            i
            for i in _after_key(deleted, after)
            if i not in held and (stamp is None or deleted[i] >= stamp)
        )
        return [Tombstone(kind, i, deleted[i]) for i in islice(ids, limit)]

    async def count_memories(self, *, namespaces: Namespaces | None = None) -> int:
        return sum(1 for _ in self._visible_memories(namespaces))

    async def count_relationships(self, *, namespaces: Namespaces | None = None) -> int:
        return sum(
            1 for e in self.store.relationships.values() if self._sees_relationship(e, namespaces)
        )

    async def count_memories_by_type(
        self, *, namespaces: Namespaces | None = None
    ) -> dict[MemoryType, int]:
        counts: dict[MemoryType, int] = {}
        for _, e in self._visible_memories(namespaces):
            counts[e.record.type] = counts.get(e.record.type, 0) + 1
        return counts

    async def count_relationships_by_type(
        self, *, namespaces: Namespaces | None = None
    ) -> dict[RelationshipType, int]:
        counts: dict[RelationshipType, int] = {}
        for e in self.store.relationships.values():
            if self._sees_relationship(e, namespaces):
                counts[e.record.type] = counts.get(e.record.type, 0) + 1
        return counts

    # --- search: a scan of every memory's indexed fields ----------------------------

    async def search_candidates(
        self,
        query: MatchQuery,
        filters: SearchFilters,
        limit: int,
        *,
        namespaces: Namespaces | None = None,
    ) -> list[Candidate]:
        # No relevance of its own: every match ties, so the first `limit` by id come
        # back, as from the engines that match by scanning. The shared scorer ranks them.
        found = []
        for i, e in sorted(self._visible_memories(namespaces)):
            assert e.terms is not None
            if _matches(query, e.terms) and filters.accepts(e.record):
                found.append(Candidate(i, *e.terms))
                if len(found) >= limit:
                    break
        return found

    async def count_matches(
        self, queries: Sequence[MatchQuery], *, namespaces: Namespaces | None = None
    ) -> list[int]:
        terms = [e.terms for _, e in self._visible_memories(namespaces) if e.terms is not None]
        return [sum(1 for t in terms if _matches(q, t)) for q in queries]

    async def rebuild_search_index(self) -> int:
        self._require_writable()
        memories = self.store.memories.values()
        for e in memories:
            m = e.record
            e.terms = field_texts(m.title, m.content, m.summary, m.tags)
        return len(memories)

    # --- the graph ------------------------------------------------------------------

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
        memories = self.store.memories
        start = memories.get(memory_id)
        if start is None or (namespaces is not None and not namespaces.sees(start.record)):
            return []
        wanted = set(types) if types is not None else None
        outgoing = direction in (Direction.OUTGOING, Direction.BOTH)
        incoming = direction in (Direction.INCOMING, Direction.BOTH)
        table = self.store.relationships
        found: list[Neighbour] = []
        for i in _after_key(table, after):
            r: Relationship = table[i].record
            if wanted is not None and r.type not in wanted:
                continue
            # A self-loop is one neighbour, whichever way it is walked.
            if outgoing and r.from_id == memory_id:
                other = r.to_id
            elif incoming and r.to_id == memory_id:
                other = r.from_id
            else:
                continue
            neighbour = memories[other].record
            if namespaces is not None and not namespaces.sees(neighbour):
                continue
            found.append(Neighbour(r, neighbour))
            if limit is not None and len(found) >= limit:
                break
        return found
