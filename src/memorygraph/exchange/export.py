"""Streaming export of a whole graph (or the part changed since a time) to one file."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from memorygraph import safefiles
from memorygraph.backends.base import RECORD_KINDS, Backend, Tombstone
from memorygraph.cancellation import checkpoint
from memorygraph.canonical import CanonicalRecord, RecordKind
from memorygraph.config import BackendConfig
from memorygraph.errors import InvalidRecordError, OperationError, UsageError
from memorygraph.exchange.format import (
    DIGEST_ALGORITHM,
    EXTERNAL_ENDS,
    FORMAT_NAME,
    FORMAT_VERSION,
    KIND_MEMORY,
    KIND_RELATIONSHIP,
    MAX_LINE_BYTES,
    DigestSum,
    encode_header,
    encode_record,
    encode_tombstone,
    encode_trailer,
    gzip_writer,
    is_gzip_name,
)
from memorygraph.heap import long_lived_frozen
from memorygraph.idindex import IdIndex
from memorygraph.kinds import Progress
from memorygraph.models import (
    Memory,
    Relationship,
    format_timestamp,
    utc_now,
    utc_range_problem,
)
from memorygraph.principal import Namespaces
from memorygraph.version import __version__


@dataclass
class ExportSummary:
    """What an export wrote. `external_relationships` counts lines with declared external ends."""

    path: Path
    memories: int
    relationships: int
    external_relationships: int
    digest: str
    #: Tombstone lines: deletions (at or after `since`) the file carries.
    tombstones: int
    bytes: int
    incremental: bool
    since: datetime | None
    duration_seconds: float
    #: sha256 (hex) of the file's content as written (before any compression): a
    #: reader that finds the same knows the file is the one this writer made.
    file_sha256: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "counts": {KIND_MEMORY: self.memories, KIND_RELATIONSHIP: self.relationships},
            "external_relationships": self.external_relationships,
            "tombstones": self.tombstones,
            "digest": self.digest,
            "digest_algorithm": DIGEST_ALGORITHM,
            "bytes": self.bytes,
            "incremental": self.incremental,
            "since": format_timestamp(self.since) if self.since else None,
            "duration_seconds": round(self.duration_seconds, 3),
        }


def refuse_own_store(config: BackendConfig, path: Path) -> None:
    """`UsageError` if writing `path` would replace (part of) the store at `config`."""
    store = config.path
    if store is None or not config.spec.uses_path:
        return
    store = store.expanduser().resolve()
    target = path.expanduser().resolve()
    sidecar = target.parent == store.parent and target.name.startswith(store.name + "-")
    if target == store or store in target.parents or sidecar:
        raise UsageError(
            f"{path} is part of the store it exports ({config.describe()}); "
            "write the export to another file"
        )


def _check_line(kind: str, record_id: str, line: bytes) -> None:
    # A reader takes lines of at most MAX_LINE_BYTES plus their newline.
    if len(line) > MAX_LINE_BYTES + 1:
        raise InvalidRecordError(
            f"{kind} {record_id!r} needs a {len(line) - 1:,}-byte line, more than the export "
            f"format's limit of {MAX_LINE_BYTES:,} bytes; shorten its content and export again"
        )


def _check_since(since: datetime | None) -> None:
    if since is not None and (since.tzinfo is None or since.utcoffset() is None):
        raise UsageError("since must be timezone-aware, e.g. 2025-01-31T00:00:00+00:00")
    problem = utc_range_problem(since) if since is not None else None
    if problem is not None:
        raise UsageError(f"since {problem}")


class ExportWriter:
    """Writes one export file: memories, then relationships, then `finish()` adds the trailer.

    The file appears at `path` only when `finish()` succeeds (it is written
    beside it under a temporary name and renamed); if the block is left by an
    exception the partial file is removed. Both names are refused if they are
    symbolic links (`safefiles`), and the export is readable by its owner only.
    Relationship ends that are not memories of this file are declared external
    on their line.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        source: dict[str, Any],
        since: datetime | None = None,
        incremental: bool | None = None,
    ) -> None:
        _check_since(since)
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise UsageError(
                f"directory {self.path.parent} does not exist; create it or choose another path"
            )
        self._partial = self.path.with_name(f".{self.path.name}.partial")
        safefiles.refuse_link(self.path, "the export")
        raw = safefiles.create(self._partial, "the export's partial file", replace_stale=True)
        # Compression is decided by the final name, not the partial one.
        self._out: IO[bytes] | None = gzip_writer(raw) if is_gzip_name(self.path) else raw
        self._since = since
        self._incremental = since is not None if incremental is None else incremental
        self._digest = DigestSum()
        self._file_hash = hashlib.sha256()
        self._counts = {KIND_MEMORY: 0, KIND_RELATIONSHIP: 0}
        self._external = 0
        self._tombstones = 0
        self._line = 1
        self._started = time.perf_counter()
        self._ids = IdIndex()
        header = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "tool_version": __version__,
            "source": source,
            "created_at": format_timestamp(utc_now()),
            "incremental": self._incremental,
            "since": format_timestamp(since) if since else None,
        }
        header_line = encode_header(header)
        self._header_digest = hashlib.sha256(header_line[:-1]).hexdigest()
        self._write(header_line)

    def __enter__(self) -> ExportWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._out is not None:
            self.abort()

    def _write(self, data: bytes) -> None:
        assert self._out is not None, "the export is already finished"
        self._out.write(data)
        self._file_hash.update(data)

    def _add_ids(self, kind: str, ids: list[tuple[str, int]]) -> None:
        duplicates = self._ids.add(kind, ids)
        if duplicates:
            record_id, _, _ = duplicates[0]
            raise OperationError(
                f"the source yielded {kind} id {record_id!r} twice; "
                "check the source backend's integrity and export again"
            )

    def write_memories(self, memories: Sequence[Memory]) -> None:
        """Append a batch of memories (all memories come before any relationship)."""
        self.write_canonical(KIND_MEMORY, [CanonicalRecord.of(m) for m in memories])

    def write_relationships(self, relationships: Sequence[Relationship]) -> None:
        """Append a batch of relationships, declaring ends not in this file as external."""
        self.write_canonical(KIND_RELATIONSHIP, [CanonicalRecord.of(r) for r in relationships])

    def write_canonical(self, kind: RecordKind, records: Sequence[CanonicalRecord]) -> None:
        """Append a batch of valid records of `kind` as their canonical bytes.

        The file stays valid as it grows: memories before relationships, no id twice,
        relationship ends that are not memories of the file declared external. So
        what this writer finishes needs no second reading to be trusted.
        """
        if kind == KIND_MEMORY and self._counts[KIND_RELATIONSHIP]:
            raise OperationError("memories must be written before relationships")
        missing: set[str] = set()
        if kind == KIND_RELATIONSHIP:
            missing = self._ids.missing(
                KIND_MEMORY, [r.data[end] for r in records for end in EXTERNAL_ENDS]
            )
        ids = []
        lines = []
        for record in records:
            external = [end for end in EXTERNAL_ENDS if missing and record.data[end] in missing]
            line = encode_record(kind, record.raw, external)
            _check_line(kind, record.id, line)
            lines.append(line)
            self._digest.add_canonical(record.raw)
            self._external += bool(external)
            self._line += 1
            ids.append((record.id, self._line))
        self._write(b"".join(lines))
        self._add_ids(kind, ids)
        self._counts[kind] += len(records)

    def write_tombstones(self, tombstones: Sequence[Tombstone]) -> None:
        """Append a batch of tombstones (after every record)."""
        for tombstone in tombstones:
            self._write(encode_tombstone(tombstone))
            self._line += 1
        self._tombstones += len(tombstones)

    def finish(self) -> ExportSummary:
        """Write the trailer, close, and move the file into place."""
        self._write(
            encode_trailer(
                {
                    "counts": dict(self._counts),
                    "digest": self._digest.hexdigest(),
                    "digest_algorithm": DIGEST_ALGORITHM,
                    "external_relationships": self._external,
                    "header_digest": self._header_digest,
                    "tombstones": self._tombstones,
                }
            )
        )
        assert self._out is not None
        self._out.close()
        self._out = None
        self._ids.close()
        os.replace(self._partial, self.path)
        return ExportSummary(
            path=self.path,
            memories=self._counts[KIND_MEMORY],
            relationships=self._counts[KIND_RELATIONSHIP],
            external_relationships=self._external,
            tombstones=self._tombstones,
            digest=self._digest.hexdigest(),
            bytes=self.path.stat().st_size,
            incremental=self._incremental,
            since=self._since,
            duration_seconds=time.perf_counter() - self._started,
            file_sha256=self._file_hash.hexdigest(),
        )

    def abort(self) -> None:
        """Close and delete the partial file; `path` is left as it was."""
        if self._out is not None:
            self._out.close()
            self._out = None
        self._ids.close()
        self._partial.unlink(missing_ok=True)


async def _write_kind(
    backend: Backend,
    writer: ExportWriter,
    kind: RecordKind,
    since: datetime | None,
    progress: Progress | None,
    namespaces: Namespaces | None = None,
) -> None:
    """Write every record of `kind`, a page at a time, reporting `progress(kind, done, None)`."""
    done = 0
    async for page in backend.iter_canonical(kind, since=since, namespaces=namespaces):
        await asyncio.to_thread(writer.write_canonical, kind, page)  # off the loop
        done += len(page)
        if progress:
            progress(kind, done, None)
        await checkpoint()
    if progress and not done:
        progress(kind, 0, None)


async def export_graph(
    backend: Backend,
    path: Path | str,
    *,
    since: datetime | None = None,
    progress: Progress | None = None,
    namespaces: Namespaces | None = None,
) -> ExportSummary:
    """Stream every memory and relationship of `backend` (changed at or after `since`) to `path`.

    With `namespaces`, only the memories in them and the relationships between
    those, and no tombstones (a deletion names no namespace).

    Memory use is constant: records are read page by page in ascending id
    order and written as they arrive. `progress(kind, done, None)` is called after
    each batch with kind "memory" or "relationship". `path` appears only once
    the export is complete. An incremental export declares relationship ends
    that are not in the file as external (see docs/FORMAT.md).
    """
    _check_since(since)
    refuse_own_store(backend.config, Path(path))
    source = {"backend": backend.name, "engine_version": await backend.engine_version()}
    size = backend.batch_size
    async with backend.read_snapshot():
        with long_lived_frozen():
            return await _export(backend, path, source, since, size, progress, namespaces)


async def _export(
    backend: Backend,
    path: Path | str,
    source: dict[str, Any],
    since: datetime | None,
    size: int,
    progress: Progress | None,
    namespaces: Namespaces | None,
) -> ExportSummary:
    with ExportWriter(path, source=source, since=since) as writer:
        for kind in RECORD_KINDS:
            await _write_kind(backend, writer, kind, since, progress, namespaces)
        for kind in RECORD_KINDS if namespaces is None else ():
            batch: list[Tombstone] = []
            async for tombstone in backend.iter_tombstones(kind, since=since):
                batch.append(tombstone)
                if len(batch) >= size:
                    writer.write_tombstones(batch)
                    batch = []
            writer.write_tombstones(batch)
        return writer.finish()
