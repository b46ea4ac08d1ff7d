"""Hypothesis strategies for valid records, aimed at what engines get wrong.

Text covers every Unicode plane (no surrogates, no NUL: the model rejects
those), emoji, quotes, backslashes, strings that look like Cypher or SQL, and
a 1 MB string; timestamps carry microseconds in several time zones.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from memorygraph.models import (
    Memory,
    MemoryContext,
    MemoryType,
    Relationship,
    RelationshipType,
    Visibility,
)

TRICKY = [
    "",
    "'; DROP TABLE memories; --",
    "MATCH (n) DETACH DELETE n",
    '"}) RETURN 1 //',
    "back\\slash \\\\ and \\n not a newline",
    'quote\'s "double" `back`',
    "emoji 🧠🔥👩🏽‍💻 and flags 🇳🇿",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 plane 1, 𠀀 plane 2, 󠀁 plane 14",
    "line\nbreak\r\nand\ttab",
    "$param {not: 'a map'}",
    "null",
    "NaN",
]

ONE_MB = "x" * (1024 * 1024)

text = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=40),
    st.sampled_from(TRICKY),
)
big_text = st.one_of(text, st.just(ONE_MB))
ids = st.one_of(
    st.text(
        st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
        min_size=1,
        max_size=36,
    ),
    st.uuids().map(str),
)
zones = st.sampled_from(
    [
        UTC,
        timezone(timedelta(hours=5, minutes=30)),
        timezone(timedelta(hours=-8)),
        timezone(timedelta(hours=14)),
        timezone(timedelta(hours=-3, minutes=-30)),
    ]
)
timestamps = st.datetimes(
    min_value=datetime(1000, 1, 2), max_value=datetime(9998, 12, 30), timezones=zones
)
units = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
counts = st.integers(min_value=0, max_value=2**63 - 1)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    text,
)
json_values: st.SearchStrategy[Any] = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(text, inner, max_size=4)),
    max_leaves=12,
)


@st.composite
def contexts(draw: st.DrawFn) -> MemoryContext:
    return MemoryContext(
        project_path=draw(st.none() | text),
        files_involved=draw(st.lists(text, max_size=3)),
        languages=draw(st.lists(text, max_size=3)),
        frameworks=draw(st.lists(text, max_size=2)),
        technologies=draw(st.lists(text, max_size=2)),
        git_commit=draw(st.none() | text),
        git_branch=draw(st.none() | text),
        working_directory=draw(st.none() | text),
        timestamp=draw(st.none() | timestamps),
        session_id=draw(st.none() | text),
        user_id=draw(st.none() | text),
        tenant_id=draw(st.none() | text),
        team_id=draw(st.none() | text),
        visibility=draw(st.sampled_from(list(Visibility))),
        created_by=draw(st.none() | text),
        metadata=draw(st.dictionaries(text, json_values, max_size=4)),
    )


@st.composite
def memories(draw: st.DrawFn) -> Memory:
    """Any valid Memory."""
    created = draw(timestamps)
    return Memory(
        id=draw(ids),
        type=draw(st.sampled_from(list(MemoryType))),
        title=draw(text.filter(bool) | st.just("t")),
        content=draw(big_text),
        summary=draw(st.none() | text),
        tags=draw(st.lists(text, max_size=5)),
        importance=draw(units),
        confidence=draw(units),
        effectiveness=draw(st.none() | units),
        usage_count=draw(counts),
        created_at=created,
        updated_at=draw(st.none() | timestamps),
        last_accessed=draw(st.none() | timestamps),
        context=draw(st.none() | contexts()),
    )


@st.composite
def relationships(draw: st.DrawFn, ends: list[str]) -> Relationship:
    """Any valid Relationship between two of `ends`."""
    return Relationship(
        id=draw(ids),
        from_id=draw(st.sampled_from(ends)),
        to_id=draw(st.sampled_from(ends)),
        type=draw(st.sampled_from(list(RelationshipType))),
        strength=draw(units),
        confidence=draw(units),
        context=draw(st.none() | big_text),
        description=draw(st.none() | text),
        bidirectional=draw(st.booleans()),
        evidence_count=draw(counts),
        success_rate=draw(st.none() | units),
        validation_count=draw(counts),
        counter_evidence_count=draw(counts),
        created_at=draw(timestamps),
        last_validated=draw(st.none() | timestamps),
        valid_from=draw(st.none() | timestamps),
        valid_until=draw(st.none() | timestamps),
        recorded_at=draw(st.none() | timestamps),
        invalidated_by=draw(st.none() | text),
    )
