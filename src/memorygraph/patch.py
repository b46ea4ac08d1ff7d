"""Field-level changes to a stored memory, and the version a reader compares.

Two agents that change different fields of one memory at the same moment must
both keep their change. A `MemoryPatch` therefore names only the fields it
changes (and the items it adds to or removes from list fields), and the backend
applies it to the record as stored *inside* its own atomic step
(`Backend.update_record`), never to a copy read earlier.

A record's `version` is the start of its digest: it changes with every change
to the record, is the same for equal records on every backend, and is what a
caller hands back as `expected_version` to say "only if nobody changed it since
I read it".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from memorygraph.errors import ConflictError, InvalidRecordError
from memorygraph.models import Memory, MemoryContext, Relationship

#: Hex digits of the digest that make a version: 64 bits, plenty to tell versions apart.
VERSION_LENGTH = 16

#: The fields a patch may set directly (the others are derived, or the record's identity).
SETTABLE: frozenset[str] = frozenset(
    {"type", "title", "content", "summary", "tags", "importance", "confidence", "effectiveness"}
)

_ONE_TICK = timedelta(microseconds=1)


def version_of(record: Memory | Relationship) -> str:
    """The record's version: the first hex digits of its digest."""
    return record.digest()[:VERSION_LENGTH]


def check_version(record: Memory | Relationship, expected: str | None, what: str) -> None:
    """Raise `ConflictError` (nothing written) when `expected` is given and `record` is no
    longer at that version."""
    if expected is None:
        return
    current = version_of(record)
    if current != expected.strip().lower():
        raise ConflictError(
            f"{what} {record.id!r} changed since version {expected} was read (it is now at "
            f"version {current}); nothing was written. Read it again, then retry with "
            "the new version",
            current_version=current,
            field="expected_version",
        )


def later_than(previous: datetime | None, now: datetime) -> datetime:
    """`now`, or one microsecond after `previous` when the clock has not passed it, so a
    record's change time grows with every change (incremental sync compares it)."""
    if previous is not None and now <= previous:
        return previous + _ONE_TICK
    return now


def _merged(items: Sequence[str], add: Iterable[str], remove: Iterable[str]) -> list[str]:
    gone = set(remove)
    kept = [i for i in items if i not in gone]
    kept += [i for i in dict.fromkeys(add) if i not in gone and i not in kept]
    return kept


@dataclass(frozen=True)
class MemoryPatch:
    """What to change in one memory: fields to set, tags and files to add or remove,
    and the project path (kept in its context). Anything not named stays as stored."""

    set: dict[str, Any] = field(default_factory=dict)
    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()
    add_files: tuple[str, ...] = ()
    remove_files: tuple[str, ...] = ()
    project_path: str | None = None

    def __post_init__(self) -> None:
        unknown = sorted(set(self.set) - SETTABLE)
        if unknown:
            raise InvalidRecordError(
                f"{unknown[0]} cannot be changed; change any of {', '.join(sorted(SETTABLE))}",
                field=unknown[0],
            )
        if "tags" in self.set and (self.add_tags or self.remove_tags):
            raise InvalidRecordError(
                "tags are either replaced or added to and removed from, not both; "
                "give the whole list or only the tags to add and remove",
                field="tags",
            )
        if self.empty:
            raise InvalidRecordError("nothing to change; give at least one field to update")

    @property
    def empty(self) -> bool:
        return not (
            self.set
            or self.add_tags
            or self.remove_tags
            or self.add_files
            or self.remove_files
            or self.project_path is not None
        )

    def apply(self, memory: Memory, now: datetime) -> Memory:
        """`memory` with this patch applied and `updated_at` moved past its last change
        (validated; `InvalidRecordError` if the result is not a valid memory)."""
        changes: dict[str, Any] = dict(self.set)
        if self.add_tags or self.remove_tags:
            changes["tags"] = _merged(memory.tags, self.add_tags, self.remove_tags)
        elif "tags" in changes:
            changes["tags"] = list(changes["tags"])
        if self.add_files or self.remove_files or self.project_path is not None:
            context = memory.context or MemoryContext()
            values = context.model_dump()
            if self.add_files or self.remove_files:
                values["files_involved"] = _merged(
                    context.files_involved, self.add_files, self.remove_files
                )
            if self.project_path is not None:
                values["project_path"] = self.project_path
            changes["context"] = values
        changes["updated_at"] = later_than(memory.updated_at, now)
        return memory.changed(**changes)
