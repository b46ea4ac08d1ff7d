"""The migration journal: an append-only record of every write a migration makes.

One JSON object per line, flushed and fsynced after each line, so that after a
crash the file says, per id, what the target held before the migration wrote
it: nothing (the ids it inserted or was about to) or the record as it was (the
versions it replaced or deleted). Rollback puts exactly that back, leaving no
tombstones; resume continues the import without duplicating.

Lines:
    {"journal": "memorygraph-migration", "version": 1, "migration_id", "created_at",
     "source", "target", "export", "options", "target_was_empty",
     "export_sha256", "started_at", "imported_from"}         header, always first; the
                                                             export's content hash proves
                                                             it unchanged on resume; an
                                                             import of a file names it in
                                                             "imported_from" (its source is
                                                             then {"backend_type": "file"})
    {"event": "snapshot_begin"}                              before-images follow (journals
    {"event": "snapshot", "kind", "records": [...]}          of earlier versions, read by
    {"event": "snapshot_complete"}                           rollback)
    {"event": "intent", "kind", "ids": [...]}               ids absent from the target, about
                                                             to be written (a crash right after
                                                             the write still leaves this line)
    {"event": "replace", "kind", "records": [...]}           before a batch is written: the
                                                             versions it replaces, as the
                                                             target held them
    {"event": "write", "kind", "inserted": [...], "updated": [...]}
    {"event": "delete", "memories": [...], "relationships": [...]}
                                                             records a tombstone is about to
                                                             delete (with the relationships
                                                             going with the memories)
    {"event": "state", "state": "imported" | "committed" | "rolled_back" | "failed"}

Each end is recorded as its backend name and non-secret fields, the path made
absolute and the uri without credentials; resume and rollback resolve both
ends again through `memorygraph.config.resolve_config`, so a password comes from
the environment (or a prompt) exactly as in a fresh run and never enters the file.

Durability: the file is created owner-only, every line is written whole, flushed and
fsynced; a line cut short (a crash, a full disk) is cut off again before anything
else is appended, and a reader ignores a last line without its newline. Nothing is
ever rewritten in place.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from memorygraph import safefiles
from memorygraph.backends.base import KINDS, Backend, KindOps, WriteResult
from memorygraph.canonical import CanonicalRecord
from memorygraph.config import AskPassword, BackendConfig, redact_uri, resolve_config
from memorygraph.errors import JournalWriteError, UsageError
from memorygraph.kinds import KindCounts, PerKind
from memorygraph.models import Memory, Relationship, format_timestamp, utc_now

JOURNAL_NAME = "memorygraph-migration"
JOURNAL_VERSION = 1


#: Header keys every journal has; a journal without one of them cannot be acted on.
HEADER_KEYS = ("migration_id", "source", "target", "export", "options")
#: States after which nothing the journal describes is uncommitted.
FINAL_STATES = ("committed", "rolled_back")


def config_to_dict(config: BackendConfig) -> dict[str, Any]:
    """A backend config without secrets, for the journal: the path absolute."""
    return {
        "backend_type": config.backend_type,
        "path": str(config.path.expanduser().resolve()) if config.path else None,
        "uri": redact_uri(config.uri) if config.uri else None,
        "username": config.username,
        "database": config.database,
    }


def config_from_dict(
    data: dict[str, Any],
    environment: Mapping[str, str] | None = None,
    *,
    role: str | None = None,
    read_only: bool = False,
    ask_password: AskPassword | None = None,
) -> BackendConfig:
    """Resolve a recorded end again, as a fresh run would: its recorded fields over the
    environment's (which supplies the password), or a password asked for."""
    fields = {k: data.get(k) for k in ("path", "uri", "username", "database")}
    return resolve_config(
        str(data.get("backend_type")),
        fields,
        environment,
        role=role,
        read_only=read_only,
        ask_password=ask_password,
    )


@dataclass
class JournalState:
    """What a journal file says, read back in one streaming pass (ids are not held)."""

    header: dict[str, Any]
    path: Path = field(default_factory=Path)
    snapshot_complete: bool = False
    state: str = "importing"

    @property
    def export_path(self) -> Path:
        return Path(self.header["export"])

    @property
    def copied_directly(self) -> bool:
        """True when the run copied the source's records as stored, writing no export."""
        return bool(self.header.get("direct_copy", False))

    @property
    def imported_from(self) -> str | None:
        """What an import of a file (or a graph read in place) read, or None for a
        migration: an import has no source store to resolve, only its export."""
        value = self.header.get("imported_from")
        return str(value) if value else None

    @property
    def finished(self) -> bool:
        """True when nothing the journal describes is left uncommitted."""
        return self.state in FINAL_STATES

    def target_config(
        self,
        environment: Mapping[str, str] | None = None,
        ask_password: AskPassword | None = None,
    ) -> BackendConfig:
        return config_from_dict(
            self.header["target"], environment, role="the target", ask_password=ask_password
        )

    def source_config(
        self,
        environment: Mapping[str, str] | None = None,
        ask_password: AskPassword | None = None,
    ) -> BackendConfig:
        return config_from_dict(
            self.header["source"],
            environment,
            role="the source",
            read_only=True,
            ask_password=ask_password,
        )


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
        source: BackendConfig | None,
        target: BackendConfig,
        export_path: Path,
        options: dict[str, Any],
        target_was_empty: bool,
        export_sha256: str | None = None,
        direct_copy: bool = False,
        started_at: str | None = None,
        imported_from: str | None = None,
    ) -> Journal:
        """Start the journal at `path`, a new file (mode 0600; a link there is refused).

        An import of a file has no source store (`source` None): `imported_from` names
        what it read, and its export in the work directory is all a resume needs."""
        handle = safefiles.create(path, "the migration journal", field="workdir")
        journal = cls(path, handle)
        journal._append(
            {
                "journal": JOURNAL_NAME,
                "version": JOURNAL_VERSION,
                "migration_id": migration_id,
                "created_at": format_timestamp(utc_now()),
                "source": (
                    config_to_dict(source)
                    if source is not None
                    else {"backend_type": "file", "path": imported_from}
                ),
                "target": config_to_dict(target),
                "export": str(export_path),
                "options": options,
                "target_was_empty": target_was_empty,
                "export_sha256": export_sha256,
                "direct_copy": direct_copy,
                "started_at": started_at,
                "imported_from": imported_from,
            }
        )
        return journal

    @classmethod
    def reopen(cls, path: Path) -> Journal:
        """Open for appending; a last line cut short by a crash is cut off first.

        A symbolic link at `path` is refused: the journal is written only where it is."""
        handle = safefiles.open_existing(path, "the migration journal")
        data_end = _complete_length(handle)
        if data_end != os.fstat(handle.fileno()).st_size:
            handle.truncate(data_end)
            os.fsync(handle.fileno())
        handle.seek(0, os.SEEK_END)
        return cls(path, handle)

    def _append(self, event: dict[str, Any]) -> None:
        line = orjson.dumps(event) + b"\n"
        handle = self._handle
        good = handle.tell()
        try:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
        except OSError as e:
            # Take back the part of the line that reached the file, so the journal
            # stays a sequence of whole lines (and the space is given back).
            try:
                handle.seek(good)
                handle.truncate(good)
                os.fsync(handle.fileno())
            except OSError:
                pass  # the reader ignores a last line without its newline
            raise JournalWriteError(
                f"cannot write the migration journal {self.path}: {e.strerror or e}"
                + ("; the disk is full, free space there" if e.errno == 28 else "")
            ) from e

    def snapshot_begin(self) -> None:
        self._append({"event": "snapshot_begin"})

    def snapshot(self, kind: str, records: Sequence[Memory | Relationship]) -> None:
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

    def record_replace(self, kind: str, records: Sequence[Memory | Relationship]) -> None:
        """Before a batch is written: the versions of the records it replaces, as the
        target holds them (what a rollback puts back)."""
        if records:
            self._append(
                {"event": "replace", "kind": kind, "records": [r.to_dict() for r in records]}
            )

    def record_delete(
        self, memories: Sequence[Memory], relationships: Sequence[Relationship]
    ) -> None:
        """Before a tombstone batch deletes them: the records as the target holds them."""
        if memories or relationships:
            self._append(
                {
                    "event": "delete",
                    "memories": [m.to_dict() for m in memories],
                    "relationships": [r.to_dict() for r in relationships],
                }
            )

    def set_state(self, state: str) -> None:
        self._append({"event": "state", "state": state})

    def close(self) -> None:
        # Every line was fsynced already: a failed close loses nothing.
        with suppress(OSError):
            self._handle.close()


def _complete_length(handle: IO[bytes]) -> int:
    """The length of the file up to and including its last newline."""
    size = handle.seek(0, os.SEEK_END)
    position = size
    while position > 0:
        step = min(65536, position)
        handle.seek(position - step)
        chunk = handle.read(step)
        newline = chunk.rfind(b"\n")
        if newline >= 0:
            return position - step + newline + 1
        position -= step
    return 0


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
                event = orjson.loads(line)
            except orjson.JSONDecodeError as e:
                if number == 1:
                    raise UsageError(
                        f"{path} is not a memorygraph migration journal; give the "
                        "journal.jsonl file in the migration's work directory"
                    ) from e
                raise UsageError(
                    f"journal {path} line {number} is not JSON; it is damaged and cannot be used"
                ) from e
            if not isinstance(event, dict):
                raise UsageError(f"journal {path} line {number} is not an event; it is damaged")
            yield event


def written_counts(path: Path) -> dict[str, int]:
    """What the journal's batches wrote into the target, per kind: records inserted and
    records overwritten ("memories_inserted", "relationships_updated", …), read in one
    streaming pass; `UsageError` when the file is not a journal."""
    counts = {f"{kind}_{how}": 0 for kind in ("memories", "relationships") for how in _WRITTEN}
    for event in _events(path):
        if event.get("event") != "write":
            continue
        kind = "memories" if event.get("kind") == "memory" else "relationships"
        for how in _WRITTEN:
            counts[f"{kind}_{how}"] += len(event.get(how) or ())
    return counts


_WRITTEN = ("inserted", "updated")


def read_state(path: Path) -> JournalState:
    """Read a journal's header and outcome, or `UsageError` if it is not one."""
    events = _events(path)
    header = next(events, None)
    if not header or header.get("journal") != JOURNAL_NAME:
        raise UsageError(
            f"{path} is not a memorygraph migration journal; give the journal.jsonl file "
            "in the migration's work directory"
        )
    if header.get("version") != JOURNAL_VERSION:
        raise UsageError(
            f"journal {path} has version {header.get('version')}; this memorygraph reads "
            f"version {JOURNAL_VERSION}"
        )
    missing = [k for k in HEADER_KEYS if k not in header]
    missing += [
        f"{end}.backend_type"
        for end in ("source", "target")
        if (end in header and not isinstance(header[end], dict))
        or (isinstance(header.get(end), dict) and not header[end].get("backend_type"))
    ]
    if missing:
        raise UsageError(
            f"journal {path} is damaged: its header lacks {', '.join(missing)}; it cannot be "
            "acted on (the target holds what the migration wrote until it is cleaned by hand)"
        )
    state = JournalState(header, path=path)
    for event in events:
        kind = event.get("event")
        if kind == "snapshot_begin":
            state.snapshot_complete = False
        elif kind == "snapshot_complete":
            state.snapshot_complete = True
        elif kind == "state":
            state.state = str(event.get("state"))
    return state


@dataclass
class RollbackReport(PerKind):
    """What a rollback did, per kind: `deleted` what the migration inserted, put back
    as `updated` the records it overwrote and as `inserted` those its tombstones
    deleted."""

    memories: KindCounts = field(default_factory=KindCounts)
    relationships: KindCounts = field(default_factory=KindCounts)
    #: True when the journal was rolled back already and nothing was done again.
    already: bool = False

    def to_dict(self) -> dict[str, int | bool]:
        m, r = self.memories, self.relationships
        return {
            "deleted_memories": m.deleted,
            "deleted_relationships": r.deleted,
            "restored_memories": m.updated,
            "restored_relationships": r.updated,
            "undeleted_memories": m.inserted,
            "undeleted_relationships": r.inserted,
            "already": self.already,
        }


def _lines_backwards(path: Path) -> Iterator[dict[str, Any]]:
    """The journal's events after its header, last first (lines are batches: their
    offsets are few, the lines are read one at a time)."""
    try:
        handle = path.open("rb")
    except OSError as e:
        raise UsageError(f"cannot read journal {path}: {e.strerror}; check the path") from e
    with handle:
        offsets: list[int] = []
        position = 0
        for line in handle:
            if not line.endswith(b"\n"):
                break  # a line cut short by a crash was never acted on
            offsets.append(position)
            position += len(line)
        for offset in reversed(offsets[1:]):
            handle.seek(offset)
            event = orjson.loads(handle.readline())
            if isinstance(event, dict):
                yield event


async def undo(path: Path, target: Backend) -> RollbackReport:
    """Put back, for every id the journal names, what the target held before the
    migration: nothing (the id was inserted, or announced as about to be) or the
    record as it was (a before-image of a record replaced or deleted).

    The journal's events are undone last first, so an id written twice ends as it
    was before the first write. Inserted records are removed without leaving
    tombstones (`Backend.purge_memories`), so the rolled-back store holds, and
    exports, exactly what it did before; records are restored as they were, change
    stamps included. Streams the journal one event at a time. Safe to run twice:
    removing an absent id and restoring an identical record are no-ops.
    """
    report = RollbackReport()
    for event in _lines_backwards(path):
        name = event.get("event")
        if name in ("write", "intent"):
            ids = list(event.get("inserted" if name == "write" else "ids") or [])
            kind = event.get("kind")
            if ids and kind in KINDS:
                await _purge(target, KINDS[kind], ids, report)
        elif name in ("replace", "snapshot") and event.get("kind") in KINDS:
            ops = KINDS[event["kind"]]
            report.counts(ops.name).updated += await _restore(target, ops, event["records"])
        elif name == "delete":
            # Memories first, so that each relationship finds its ends.
            for ops in KINDS.values():
                if event.get(ops.plural):
                    report.counts(ops.name).inserted += await _restore(
                        target, ops, event[ops.plural]
                    )
    return report


async def _purge(target: Backend, ops: KindOps, ids: list[str], report: RollbackReport) -> None:
    """Remove `ids` of one kind, counting the relationships a memory takes with it."""
    if ops.name == "relationship":
        report.relationships.deleted += await ops.purge(target, ids)
        return
    before = await target.count_relationships()
    report.memories.deleted += await ops.purge(target, ids)
    report.relationships.deleted += max(0, before - await target.count_relationships())


async def _restore(target: Backend, ops: KindOps, records: list[dict[str, Any]]) -> int:
    """Write back records as the journal holds them; return how many."""
    await target.upsert_canonical(ops.name, [CanonicalRecord.of(ops.parse(r)) for r in records])
    return len(records)
