"""What a migration is asked to do and what it reports, all serialisable to JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from memorygraph.config import BackendConfig
from memorygraph.kinds import KindCounts, PerKind
from memorygraph.models import format_timestamp

__all__ = [
    "BackendConfig",
    "KindCounts",
    "MigrationOptions",
    "MigrationResult",
    "Mismatch",
    "PhaseReport",
    "ValidationResult",
    "VerificationResult",
    "VerifyMode",
]


class VerifyMode(StrEnum):
    #: Every record's digest on both sides, by id, plus counts per type.
    FULL = "full"
    #: Every record counted, but digests compared for a deterministic sample only.
    SAMPLE = "sample"
    #: No verification (faster, and less safe).
    NONE = "none"


@dataclass(frozen=True)
class MigrationOptions:
    """How to migrate. The defaults are the safe choice."""

    dry_run: bool = False
    #: Keep every record the target already holds, whatever its change stamp. False
    #: (the default) applies each record and tombstone by change stamp
    #: (`memorygraph.changes`): newer versions replace older ones, in both directions.
    skip_duplicates: bool = False
    verify: VerifyMode = VerifyMode.FULL
    rollback_on_failure: bool = True
    since: datetime | None = None
    #: Carry the source's deletions (its tombstones) to the target; False keeps, in the
    #: target, records the source deleted.
    propagate_deletions: bool = True
    #: With VerifyMode.SAMPLE, compare the digest of one record in this many.
    sample_every: int = 100
    #: Records per import batch (default: the target backend's own batch size).
    batch_size: int | None = None
    #: Where exports and journals go (default: ~/.memorygraph/migrations).
    workdir: Path | None = None
    #: The id of this migration (default: a new random one); names its work directory.
    migration_id: str | None = None
    #: On a whole first run into an empty target (skipping duplicates), copy records
    #: straight from the source, without an export file. False always goes through an
    #: export.
    direct_copy: bool = True

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["since"] = format_timestamp(self.since) if self.since else None
        data["workdir"] = str(self.workdir) if self.workdir else None
        return data


@dataclass
class ValidationResult:
    """Outcome of a pre-flight check: any error stops the migration."""

    valid: bool = True
    errors: list[str] = field(default_factory=list)

    def fail(self, message: str) -> None:
        self.valid = False
        self.errors.append(message)


@dataclass(frozen=True)
class Mismatch:
    """One record that differs between source and target."""

    kind: str  # "memory" | "relationship"
    id: str
    problem: str  # "missing" | "changed" | "deleted" | "count"
    detail: str = ""


@dataclass
class VerificationResult:
    """Source versus target after the import."""

    valid: bool = True
    mode: VerifyMode = VerifyMode.FULL
    source_count: int = 0
    target_count: int = 0
    checked: int = 0
    passed: int = 0
    mismatch_total: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    #: Records the target already held (kept by --skip-duplicates) whose content differs
    #: from the source: what the user asked for, so reported, not a failure.
    kept_differing: int = 0
    #: Records (and deletions) of the source the target holds a newer version of, by
    #: change stamp: what the rules keep, so reported, not a failure.
    target_newer: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class PhaseReport:
    name: str
    status: str = "ok"  # ok | failed | skipped
    records: int = 0
    seconds: float = 0.0
    detail: str = ""


@dataclass
class MigrationResult(PerKind):
    """Everything a user (or script, via `to_dict`) needs to know about one migration."""

    success: bool = False
    dry_run: bool = False
    source: str = ""
    target: str = ""
    #: When the run began, before it read the source (canonical timestamp text): the
    #: `since` of the next incremental run, which then misses nothing written meanwhile.
    started_at: str = ""
    source_stats: dict[str, Any] | None = None
    target_stats: dict[str, Any] | None = None
    #: Per kind: read from the source, and what happened to them (`deleted`: by the
    #: source's tombstones).
    memories: KindCounts = field(default_factory=KindCounts)
    relationships: KindCounts = field(default_factory=KindCounts)
    verification: VerificationResult | None = None
    phases: list[PhaseReport] = field(default_factory=list)
    duration_seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    journal_path: str | None = None
    #: None: nothing needed undoing; True: the target was rolled back; False: rollback failed
    #: or was not asked for (the journal then lets `--rollback` finish it).
    rolled_back: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
