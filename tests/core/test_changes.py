"""The rules for applying a change, decided without a store: the record's own change
stamp decides, ties break by digest the same way from either side, and a tombstone
deletes only what is not newer than it."""

from __future__ import annotations

from datetime import timedelta

from memorygraph.canonical import CanonicalRecord
from memorygraph.changes import Outcome, Version, decide, deletes
from memorygraph.models import format_timestamp
from memorygraph.testing import mem, rel
from memorygraph.testing.suite import T0


def test_the_records_own_stamp_decides() -> None:
    old = Version.of(mem(1))
    new = Version.of(mem(1, title="edited", updated_at=T0 + timedelta(seconds=1)))
    assert decide(new, old) is Outcome.UPDATE
    assert decide(old, new) is Outcome.OLDER
    assert decide(old, old) is Outcome.UNCHANGED
    assert decide(old, None) is Outcome.CREATE


def test_a_tie_breaks_the_same_way_from_either_side() -> None:
    a, b = Version.of(mem(1, title="a")), Version.of(mem(1, title="b"))
    assert a.changed_at == b.changed_at and a.digest != b.digest
    assert {decide(a, b), decide(b, a)} == {Outcome.UPDATE, Outcome.OLDER}


def test_a_canonical_record_and_its_model_have_one_version() -> None:
    record = rel(1, "m0001", "m0002", recorded_at=T0 + timedelta(days=1))
    assert Version.of(CanonicalRecord.of(record)) == Version.of(record)
    assert Version.of(record).changed_at == format_timestamp(T0 + timedelta(days=1))


def test_a_tombstone_deletes_only_what_is_not_newer() -> None:
    held = Version.of(mem(1))
    at = format_timestamp(T0)
    assert deletes(at, held)  # the same time: the deletion wins
    assert not deletes(format_timestamp(T0 - timedelta(microseconds=1)), held)
    # And a store that deleted the id does not take back a version not newer.
    assert decide(held, None, at) is Outcome.OLDER
    later = Version.of(mem(1, updated_at=T0 + timedelta(microseconds=1)))
    assert decide(later, None, at) is Outcome.CREATE
