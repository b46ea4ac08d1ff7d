"""What an export to another tool's format wrote and could not carry: `OtherExportReport`,
which every writer fills in (apart from the package, which imports the writers)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class OtherExportReport:
    """What an export to another tool's format wrote, and what it could not carry."""

    format: str
    path: Path
    memories: int = 0
    relationships: int = 0
    lost: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    bytes: int = 0
    duration_seconds: float = 0.0

    def lose(self, reason: str, count: int = 1) -> None:
        """Count records that carry something the format cannot keep."""
        if count:
            self.lost[reason] = self.lost.get(reason, 0) + count

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "path": str(self.path),
            "counts": {"memory": self.memories, "relationship": self.relationships},
            "lost": dict(self.lost),
            "notes": list(self.notes),
            "bytes": self.bytes,
            "duration_seconds": round(self.duration_seconds, 3),
        }
