"""The rules for applying a change to a store, written once.

A change is a record written somewhere (a new or edited memory or relationship)
or a tombstone (a record deleted somewhere). Whatever carries it (an import, an
import with deletions, a `since` migration, a resume), it is applied here, by
these rules:

* Each record's own change stamp decides (`Memory.changed_at`,
  `Relationship.changed_at`: the record's time, which travels with it; never the
  store-local write stamp that `since` selects by).
* A record replaces the version the store holds only if it is newer: a later
  change stamp, or the same stamp and the greater digest (ties break the same
  way in every store). The same digest is `unchanged`; anything else is `older`
  and left out.
* A tombstone deletes the record the store holds only if that record is not
  newer than the deletion (its change stamp at or before `deleted_at`); a newer
  record stays, and the tombstone counts as `older`.
* A record the store does not hold is created, unless the store deleted that id
  at or after the record's change stamp (its own tombstone is newer): then it is
  `older` too.
* A relationship whose end the store deleted (and does not hold again, nor
  receive in the same change set) is `older`: an edge does not outlive its end,
  and the end's tombstone, sent the other way, deletes it there too.

So applying the same changes in any order, or twice, leaves the same store, and
two stores that send each other their changes in any order end equal.

The functions here decide per batch, given the incoming records or tombstones
and what the store holds now (`decide`, `deletes`), and hand the decision to a
sink (`write_batch`, `delete_batch`; `memorygraph.sinks`): the target's ordinary
backend operations write it, or a plan counts it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from memorygraph.backends.base import Backend, Tombstone, WriteResult, ends_of, touching
from memorygraph.canonical import CanonicalRecord, RecordKind
from memorygraph.kinds import Record
from memorygraph.models import format_timestamp
from memorygraph.sinks import Sink, TargetView


class Outcome(StrEnum):
    """What applying one incoming record to a store does."""

    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    OLDER = "older"


@dataclass(frozen=True, order=True)
class Version:
    """A record's change stamp (canonical timestamp text) and digest: ordered so that
    the newer of two versions of one record is the greater."""

    changed_at: str
    digest: str

    @classmethod
    def of(cls, record: CanonicalRecord | Record) -> Version:
        if isinstance(record, CanonicalRecord):
            return cls(record.changed_at, hashlib.sha256(record.raw).hexdigest())
        return cls(format_timestamp(record.changed_at), record.digest())


def decide(incoming: Version, held: Version | None, deleted_at: str | None = None) -> Outcome:
    """What a store holding `held` (None: nothing; `deleted_at`: when it deleted that
    id, if it did) does with an `incoming` version of the same record."""
    if held is None:
        if deleted_at is not None and incoming.changed_at <= deleted_at:
            return Outcome.OLDER
        return Outcome.CREATE
    if incoming.digest == held.digest:
        return Outcome.UNCHANGED
    return Outcome.UPDATE if incoming > held else Outcome.OLDER


def deletes(deleted_at: str, held: Version) -> bool:
    """True when a tombstone of `deleted_at` deletes the `held` record: it is not newer."""
    return held.changed_at <= deleted_at


async def write_batch(
    sink: Sink,
    kind: RecordKind,
    records: Sequence[CanonicalRecord],
    *,
    skip_existing: bool = False,
    known_new: bool = False,
) -> WriteResult:
    """Send to `sink` what of `records` the rules say to write (see the module), and
    report each id as inserted, updated, unchanged or older (or, as the sink
    reports, skipped or rejected).

    `skip_existing` keeps every record the target holds, whatever its stamp (the
    explicit choice to never touch existing records); `known_new` says the target
    holds none of the ids (nothing to compare)."""
    if known_new or skip_existing or not records:
        return await sink.upsert(kind, records, skip_existing=skip_existing, known_new=known_new)
    ids = [r.id for r in records]
    current = {r.id: r for r in await sink.current(kind, ids)}
    absent = [i for i in ids if i not in current]
    buried = await sink.tombstones_of(kind, absent)
    chosen: list[CanonicalRecord] = []
    unchanged: list[str] = []
    older: list[str] = []
    for record in records:
        prior = current.get(record.id)
        outcome = decide(
            Version.of(record), Version.of(prior) if prior else None, buried.get(record.id)
        )
        if outcome is Outcome.UNCHANGED:
            unchanged.append(record.id)
        elif outcome is Outcome.OLDER:
            older.append(record.id)
        else:
            chosen.append(record)
    if kind == "relationship" and chosen:
        orphans = await _ends_deleted(sink, chosen)
        older += [r.id for r in chosen if r.id in orphans]
        chosen = [r for r in chosen if r.id not in orphans]
    result = WriteResult()
    if chosen:
        replacing = [current[r.id] for r in chosen if r.id in current]
        result = await sink.upsert(kind, chosen, replacing=replacing)
    result.unchanged, result.older = unchanged, older
    return result


async def _ends_deleted(view: TargetView, relationships: Sequence[CanonicalRecord]) -> set[str]:
    """The ids of `relationships` with an end the target deleted and a relationship
    written now may not end at (`TargetView.stored_memories`)."""
    ends = ends_of(relationships)
    absent = ends - await view.stored_memories(ends)
    return touching(relationships, (await view.tombstones_of("memory", sorted(absent))).keys())


async def left_out(
    backend: Backend, kind: RecordKind, records: Sequence[CanonicalRecord]
) -> set[str]:
    """Of `records`, which the store does not hold, the ids the rules leave out: the
    store deleted the id at or after the record's stamp, or (a relationship) deleted
    one of its ends. What a verification accepts as absent."""
    if not records:
        return set()
    view = TargetView(backend)
    buried = await view.tombstones_of(kind, [r.id for r in records])
    out = {r.id for r in records if decide(Version.of(r), None, buried.get(r.id)) is Outcome.OLDER}
    if kind == "relationship":
        out |= await _ends_deleted(view, [r for r in records if r.id not in out])
    return out


@dataclass
class Deleted:
    """What one tombstone batch did: ids deleted, and ids kept as newer (`older`
    counts the tombstones), and the relationships that went with deleted memories."""

    ids: list[str] = field(default_factory=list)
    older: list[str] = field(default_factory=list)
    with_memories: int = 0


async def delete_batch(sink: Sink, kind: RecordKind, tombstones: Sequence[Tombstone]) -> Deleted:
    """Apply a batch of tombstones of `kind` through `sink`: delete each record the
    target holds that is not newer than its tombstone (a memory with every
    relationship touching it)."""
    when = {t.id: t.deleted_at for t in tombstones}
    done = Deleted()
    going: list[Record] = []
    for record in await sink.current(kind, list(when)):
        if deletes(when[record.id], Version.of(record)):
            going.append(record)
        else:
            done.older.append(record.id)
    done.ids = [r.id for r in going]
    if going:
        done.with_memories = await sink.delete(kind, going)
    return done
