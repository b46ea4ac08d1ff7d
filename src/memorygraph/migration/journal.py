"""The migration journal: an append-only record of every write a migration makes.

One JSON object per line, flushed and fsynced after each line, so that after a
crash the file says exactly which ids the migration inserted (and, when it
overwrote records, what they were before). Rollback deletes those ids and puts
the old versions back; resume continues the import without duplicating.

Lines:
    {"journal": "memorygraph-migration", "version": 1, "migration_id", "created_at",
     "source", "target", "export", "options", "target_was_empty"}   header, always first
    {"event": "snapshot_begin"}                              before-images follow
    {"event": "snapshot", "kind", "records": [...]}          records about to be overwritten
    {"event": "snapshot_complete"}
    {"event": "intent", "kind", "ids": [...]}               ids absent from the target, about
                                                             to be written (a crash right after
                                                             the write still leaves this line)
    {"event": "write", "kind", "inserted": [...], "updated": [...]}
    {"event": "state", "state": "imported" | "committed" | "rolled_back" | "failed"}

The target is described without its password; resume asks for it again.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from memorygraph.backends.base import Backend, WriteResult
from memorygraph.config import BackendConfig, BackendType, redact_uri
from memorygraph.errors import UsageError
from memorygraph.models import Memory, Relationship, format_timestamp, utc_now

JOURNAL_NAME = "memorygraph-migration"
JOURNAL_VERSION = 1


def config_to_dict(config: BackendConfig) -> dict[str, Any]:
    """A backend config without secrets, for the journal."""
    return {
        "backend_type": config.backend_type.value,
        "path": str(config.path) if config.path else None,
        "uri": redact_uri(config.uri) if config.uri else None,
        "username": config.username,
        "database": config.database,
    }


def config_from_dict(data: dict[str, Any], password: str | None = None) -> BackendConfig:
    return BackendConfig(
        BackendType.parse(data["backend_type"]),
        path=Path(data["path"]) if data.get("path") else None,
        uri=data.get("uri"),
        username=data.get("username"),
        password=password,
        database=data.get("database"),
    )


@dataclass
class JournalState:
    """What a journal file says, read back in one streaming pass (ids are not held)."""

    header: dict[str, Any]
    snapshot_complete: bool = False
    state: str = "importing"
    inserted: dict[str, int] = field(default_factory=lambda: {"memory": 0, "relationship": 0})

    @property
    def export_path(self) -> Path:
        return Path(self.header["export"])

    def target_config(self, password: str | None = None) -> BackendConfig:
        return config_from_dict(self.header["target"], password)

    def source_config(self, password: str | None = None) -> BackendConfig:
        return config_from_dict(self.header["source"], password).read_only_copy()


class Journal:
    """Appends events to a journal file, durably."""

    def __init__(self, path: Path, handle: IO[bytes]) -> None:
        self.path = path
        self._handle = handle

    @classmethod
    def create(
        cls,
        path: Path,
        *,
        migration_id: str,
        source: BackendConfig,
        target: BackendConfig,
        export_path: Path,
        options: dict[str, Any],
        target_was_empty: bool,
    ) -> Journal:
        journal = cls(path, path.open("xb"))
        journal._append(
            {
                "journal": JOURNAL_NAME,
                "version": JOURNAL_VERSION,
                "migration_id": migration_id,
                "created_at": format_timestamp(utc_now()),
                "source": config_to_dict(source),
                "target": config_to_dict(target),
                "export": str(export_path),
                "options": options,
                "target_was_empty": target_was_empty,
            }
        )
        return journal

    @classmethod
    def reopen(cls, path: Path) -> Journal:
        return cls(path, path.open("ab"))

    def _append(self, event: dict[str, Any]) -> None:
        self._handle.write(orjson.dumps(event) + b"\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def snapshot_begin(self) -> None:
        self._append({"event": "snapshot_begin"})

    def snapshot(self, kind: str, records: Sequence[Memory] | Sequence[Relationship]) -> None:
        if records:
            self._append(
                {"event": "snapshot", "kind": kind, "records": [r.to_dict() for r in records]}
            )

    def snapshot_complete(self) -> None:
        self._append({"event": "snapshot_complete"})

    def record_intent(self, kind: str, new_ids: Sequence[str]) -> None:
        """Before a batch is written: the ids in it that the target does not hold yet."""
        if new_ids:
            self._append({"event": "intent", "kind": kind, "ids": list(new_ids)})

    def record_write(self, kind: str, result: WriteResult) -> None:
        if result.inserted or result.updated:
            self._append(
                {
                    "event": "write",
                    "kind": kind,
                    "inserted": result.inserted,
                    "updated": result.updated,
                }
            )

    def set_state(self, state: str) -> None:
        self._append({"event": "state", "state": state})

    def close(self) -> None:
        self._handle.close()


def _events(path: Path) -> Iterator[dict[str, Any]]:
    try:
        handle = path.open("rb")
    except OSError as e:
        raise UsageError(f"cannot read journal {path}: {e.strerror}; check the path") from e
    with handle:
        for number, line in enumerate(handle, 1):
            if not line.endswith(b"\n"):
                return  # a line cut short by a crash was never acted on
            try:
                yield orjson.loads(line)
            except orjson.JSONDecodeError as e:
                raise UsageError(
                    f"journal {path} line {number} is not JSON; it is damaged and cannot be used"
                ) from e


def read_state(path: Path) -> JournalState:
    """Read a journal's header and outcome, or `UsageError` if it is not one."""
    events = _events(path)
    header = next(events, None)
    if not header or header.get("journal") != JOURNAL_NAME:
        raise UsageError(f"{path} is not a memorygraph migration journal")
    if header.get("version") != JOURNAL_VERSION:
        raise UsageError(
            f"journal {path} has version {header.get('version')}; this memorygraph reads "
            f"version {JOURNAL_VERSION}"
        )
    state = JournalState(header)
    for event in events:
        kind = event.get("event")
        if kind == "snapshot_begin":
            state.snapshot_complete = False
        elif kind == "snapshot_complete":
            state.snapshot_complete = True
        elif kind == "write":
            state.inserted[event["kind"]] += len(event["inserted"])
        elif kind == "state":
            state.state = event["state"]
    return state


@dataclass
class RollbackReport:
    deleted_memories: int = 0
    deleted_relationships: int = 0
    restored_memories: int = 0
    restored_relationships: int = 0

    def to_dict(self) -> dict[str, int]:
        return self.__dict__.copy()


async def undo(path: Path, target: Backend) -> RollbackReport:
    """Delete every id the journal says was inserted, then restore the before-images.

    Streams the journal, so memory use does not grow with the migration. Safe to
    run twice: deleting an absent id and restoring an identical record are no-ops.
    """
    report = RollbackReport()
    for event in _events(path):
        if event.get("event") == "write" and event["inserted"]:
            if event["kind"] == "relationship":
                report.deleted_relationships += await target.delete_relationships(event["inserted"])
            else:
                report.deleted_memories += await target.delete_memories(event["inserted"])
    # Before-images go back only from the last complete snapshot (an interrupted
    # snapshot was taken again before any write).
    snapshot: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []
    for event in _events(path):
        kind = event.get("event")
        if kind == "snapshot_begin":
            pending = []
        elif kind == "snapshot":
            pending.append(event)
        elif kind == "snapshot_complete":
            snapshot = pending
    for event in (e for e in snapshot if e["kind"] == "memory"):
        memories = [Memory.parse(r) for r in event["records"]]
        await target.upsert_memories(memories)
        report.restored_memories += len(memories)
    for event in (e for e in snapshot if e["kind"] == "relationship"):
        relationships = [Relationship.parse(r) for r in event["records"]]
        await target.upsert_relationships(relationships)
        report.restored_relationships += len(relationships)
    return report
