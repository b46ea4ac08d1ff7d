"""Records carried as their canonical bytes, validated once where they enter the process.

A migration reads each record from the source, writes it to the export, reads
it back, writes it to the target and hashes both sides. Rebuilding a `Memory`
(pydantic) and its canonical JSON at every step cost more than all the engine
work together. A `CanonicalRecord` is the record as the canonical bytes that
`Memory.canonical_bytes()` would produce, plus those bytes decoded to plain
values (`data`, equal to `record.to_dict()`): what every step needs, and what
a store that keeps canonical bytes (SQLite) or an export line already holds.

Where a record enters the process it is validated once (`parse`); bytes that
were already proven (a line of an export this process wrote and whose file
digest still matches) are taken as they are (`trusted`). Nothing downstream
validates again: the bytes written and hashed are the bytes that came in.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson

from memorygraph.errors import InvalidRecordError
from memorygraph.models import Memory, Relationship
from memorygraph.search.text import HEX, Spelling, field_texts
from memorygraph.values import RecordKind as RecordKind  # re-exported: records name it

MODELS: dict[str, type[Memory] | type[Relationship]] = {
    "memory": Memory,
    "relationship": Relationship,
}
#: The timestamps whose latest is a record's change time (`Memory.changed_at`,
#: `Relationship.changed_at`). Canonical timestamps are fixed-width UTC text, so the
#: latest is the greatest string.
_CHANGE_STAMPS: dict[str, tuple[str, ...]] = {
    "memory": ("created_at", "updated_at"),
    "relationship": ("created_at", "last_validated", "recorded_at"),
}


@dataclass(frozen=True, slots=True)
class CanonicalRecord:
    """One valid record: its canonical bytes (`raw`) and their decoded values (`data`)."""

    kind: RecordKind
    raw: bytes
    data: dict[str, Any]
    _search: tuple[Spelling, str, str] | None = field(default=None, compare=False, repr=False)

    def search_fields(self, spelling: Spelling = HEX) -> tuple[str, str]:
        """A memory's (title field, body field) as a backend of `spelling` indexes them
        (`field_texts`), derived on the first call and kept: an import derives them
        ahead, in the thread that reads the next batch, while a store writes this one.
        Fields kept in another spelling are spelled again, not derived again."""
        if self._search is None:
            d = self.data
            fields = field_texts(d["title"], d["content"], d["summary"], d["tags"], spelling)
            object.__setattr__(self, "_search", (spelling, *fields))  # a cache, not the value
            return fields
        held, title, body = self._search
        if held is spelling:
            return title, body
        return spelling.field(title, held), spelling.field(body, held)

    @property
    def id(self) -> str:
        record_id: str = self.data["id"]
        return record_id

    @property
    def changed_at(self) -> str:
        """`changed_at` of the record, as canonical timestamp text."""
        stamps: list[str] = [self.data[name] for name in _CHANGE_STAMPS[self.kind]]
        return max(s for s in stamps if s is not None)

    def digest(self) -> str:
        """sha256 (hex) of the canonical bytes: the same as the record's `digest()`."""
        return hashlib.sha256(self.raw).hexdigest()

    @classmethod
    def of(cls, record: Memory | Relationship) -> CanonicalRecord:
        """The canonical form of a validated model."""
        data = record.to_dict()
        kind: RecordKind = "memory" if isinstance(record, Memory) else "relationship"
        return cls(kind, orjson.dumps(data, option=orjson.OPT_SORT_KEYS), data)

    @classmethod
    def parse(
        cls, kind: RecordKind, raw: bytes, search: tuple[Spelling, str, str] | None = None
    ) -> CanonicalRecord:
        """Validate `raw`, the canonical JSON of a record of `kind` as a store keeps it.

        Raises `InvalidRecordError` when it is not a valid record. The bytes are
        kept as they are: a store that keeps canonical bytes wrote them canonical.
        `search` is a memory's search fields as that store keeps them current, after
        their spelling.
        """
        MODELS[kind].parse_json(raw)
        return cls(kind, raw, orjson.loads(raw), search)

    @classmethod
    def trusted(cls, kind: RecordKind, raw: bytes) -> CanonicalRecord:
        """Bytes already proven valid and canonical (see the module's docstring)."""
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as e:
            raise InvalidRecordError(f"a {kind} is not valid JSON: {e}") from e
        return cls(kind, raw, data)
