"""The data model: validation on construction, canonical form, digest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from memorygraph.errors import InvalidRecordError
from memorygraph.models import (
    RELATIONSHIP_FAMILIES,
    Memory,
    MemoryType,
    Relationship,
    RelationshipType,
)

T = datetime(2025, 5, 1, 8, 0, 0, 1, tzinfo=UTC)


def test_thirteen_memory_types_and_35_relationship_types_in_seven_families() -> None:
    assert len(MemoryType) == 13
    assert len(RelationshipType) == 35
    assert len(RELATIONSHIP_FAMILIES) == 7
    assert {t for fam in RELATIONSHIP_FAMILIES.values() for t in fam} == set(RelationshipType)
    assert RELATIONSHIP_FAMILIES["solution"][0] is RelationshipType.SOLVES


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"type": "nonsense", "title": "t"}, "type"),
        ({"type": "task", "title": ""}, "title"),
        ({"type": "task", "title": "t", "id": ""}, "id"),
        ({"type": "task", "title": "t", "importance": 1.5}, "importance"),
        ({"type": "task", "title": "t", "confidence": -0.1}, "confidence"),
        ({"type": "task", "title": "t", "importance": float("nan")}, "importance"),
        ({"type": "task", "title": "t", "created_at": datetime(2025, 1, 1)}, "timezone-aware"),
        ({"type": "task", "title": "t", "content": "a\x00b"}, "NUL"),
        ({"type": "task", "title": "t", "usage_count": -1}, "usage_count"),
        ({"type": "task", "title": "t", "colour": "red"}, "colour"),
        (
            {"type": "task", "title": "t", "context": {"metadata": {"x": float("inf")}}},
            "NaN or infinity",
        ),
        ({"type": "task", "title": "t", "context": {"metadata": {"x": 2**64}}}, "64 bits"),
    ],
)
def test_invalid_memory_fields_are_rejected_with_a_named_problem(
    fields: dict[str, object], problem: str
) -> None:
    with pytest.raises(InvalidRecordError, match=problem) as info:
        Memory(**fields)
    assert "\n" not in str(info.value)


def test_relationship_validation() -> None:
    with pytest.raises(InvalidRecordError, match="type"):
        Relationship(from_id="a", to_id="b", type="LIKES")
    with pytest.raises(InvalidRecordError, match="strength"):
        Relationship(from_id="a", to_id="b", type="SOLVES", strength=2)
    with pytest.raises(InvalidRecordError, match="from_id"):
        Relationship(from_id="", to_id="b", type="SOLVES")


def test_timestamps_are_kept_to_the_microsecond_in_utc() -> None:
    local = datetime(2025, 5, 1, 13, 30, 0, 1, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    m = Memory(type="task", title="t", created_at=local)
    assert m.created_at == T
    assert m.to_dict()["created_at"] == "2025-05-01T08:00:00.000001+00:00"
    assert m.updated_at == m.created_at


def test_digest_is_stable_and_sensitive_to_every_field() -> None:
    m = Memory(id="x", type="task", title="t", created_at=T, tags=["a"])
    same = Memory.parse_json(m.canonical_bytes())
    assert same.digest() == m.digest()
    assert m.changed(tags=["a", "b"]).digest() != m.digest()
    assert m.changed(created_at=T + timedelta(microseconds=1)).digest() != m.digest()
    assert m.changed(summary="").digest() != m.changed(summary=None).digest()


def test_canonical_form_sorts_keys_at_every_depth() -> None:
    m = Memory(
        id="x",
        type="task",
        title="t",
        created_at=T,
        context={"metadata": {"b": 1, "a": {"d": 0, "c": 1}}},
    )
    text = m.canonical_bytes().decode()
    assert text.index('"c"') < text.index('"d"')
    assert text.index('"confidence"') < text.index('"content"') < text.index('"context"')


def test_changed_at_is_the_latest_timestamp() -> None:
    r = Relationship(
        from_id="a", to_id="b", type="SOLVES", created_at=T, last_validated=T + timedelta(days=1)
    )
    assert r.changed_at == T + timedelta(days=1)
    m = Memory(type="task", title="t", created_at=T, updated_at=T + timedelta(hours=1))
    assert m.changed_at == T + timedelta(hours=1)
