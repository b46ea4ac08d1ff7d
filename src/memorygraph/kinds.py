"""What was done to the records of each kind, and how long work reports its progress.

(What a backend does with each kind, `KINDS` and `KindOps`, is in
`memorygraph.backends.base`, beside the contract whose operations it names.)
`KindCounts` is the one count of what happened to the
records of one kind: an import, its dry run, a migration and a rollback all
report in it. `Progress` is the one progress callback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING

from memorygraph.models import Memory, Relationship

if TYPE_CHECKING:
    from memorygraph.values import WriteResult

#: progress(what, records done, records expected or None): `what` is a record kind
#: (export, import) or a migration phase.
Progress = Callable[[str, int, int | None], None]

Record = Memory | Relationship


@dataclass
class KindCounts:
    """What happened to the records of one kind: read (from a migration's source),
    inserted (new), updated (replaced, by a newer change stamp unless told to replace),
    skipped (already present, when told to skip those), rejected (refused), verified
    (matched after a migration), deleted (by tombstones, or by a rollback), unchanged
    (held already, the same record) and older (left out, records and tombstones
    alike, because the target holds a newer version).

    A dry run counts what would happen the same way."""

    read: int = 0
    inserted: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: int = 0
    verified: int = 0
    deleted: int = 0
    unchanged: int = 0
    older: int = 0

    @property
    def written(self) -> int:
        """Records a write handled: inserted, updated, skipped, unchanged or older."""
        return self.inserted + self.updated + self.skipped + self.unchanged + self.older

    def add(self, result: WriteResult) -> None:
        self.inserted += len(result.inserted)
        self.updated += len(result.updated)
        self.skipped += len(result.skipped)
        self.rejected += len(result.rejected)
        self.unchanged += len(result.unchanged)
        self.older += len(result.older)

    def merge(self, other: KindCounts) -> None:
        """Add every count of `other` to this one."""
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def to_dict(self, *names: str) -> dict[str, int]:
        """The counts named (every count if none is), by name."""
        counts = asdict(self)
        return {name: counts[name] for name in names or (f.name for f in fields(self))}


class PerKind:
    """A report with a `KindCounts` per kind, as `memories` and `relationships`."""

    memories: KindCounts
    relationships: KindCounts

    def counts(self, kind: str) -> KindCounts:
        return self.memories if kind == "memory" else self.relationships
