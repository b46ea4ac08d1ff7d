"""Streaming export of a whole graph (or the part changed since a time) to one file."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any, TypeVar

import memorygraph
from memorygraph.backends.base import RECORD_KINDS, Backend, Tombstone
from memorygraph.cancellation import checkpoint
from memorygraph.errors import InvalidRecordError, OperationError, UsageError
from memorygraph.exchange.format import (
    DIGEST_ALGORITHM,
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
    is_gzip_name,
    open_for_write,
)
from memorygraph.idindex import IdIndex
from memorygraph.models import (
    Memory,
    Relationship,
    format_timestamp,
    utc_now,
    utc_range_problem,
)

Progress = Callable[[str, int], None]


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


def _refuse_own_store(backend: Backend, path: Path) -> None:
    """`UsageError` if writing `path` would replace (part of) the store `backend` reads."""
    store = backend.config.path
    if store is None or not backend.config.spec.uses_path:
        return
    store = store.expanduser().resolve()
    target = path.expanduser().resolve()
    sidecar = target.parent == store.parent and target.name.startswith(store.name + "-")
    if target == store or store in target.parents or sidecar:
        raise UsageError(
            f"{path} is part of the store it exports ({backend.describe()}); "
            "write the export to another file"
        )


def _check_line(record: Memory | Relationship, line: bytes) -> None:
    # A reader takes lines of at most MAX_LINE_BYTES plus their newline.
    if len(line) > MAX_LINE_BYTES + 1:
        kind = KIND_MEMORY if isinstance(record, Memory) else KIND_RELATIONSHIP
        raise InvalidRecordError(
            f"{kind} {record.id!r} needs a {len(line) - 1:,}-byte line, more than the export "
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
    exception the partial file is removed. Relationship ends that are not
    memories of this file are declared external on their line.
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
        self._since = since
        self._incremental = since is not None if incremental is None else incremental
        self._digest = DigestSum()
        self._counts = {KIND_MEMORY: 0, KIND_RELATIONSHIP: 0}
        self._external = 0
        self._tombstones = 0
        self._line = 1
        self._started = time.perf_counter()
        self._ids = IdIndex()
        compress = is_gzip_name(self.path)  # decided by the final name, not the partial one
        self._out: IO[bytes] | None = open_for_write(self._partial, compress=compress)
        header = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "tool_version": memorygraph.__version__,
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
        if self._counts[KIND_RELATIONSHIP]:
            raise OperationError("memories must be written before relationships")
        ids = []
        for memory in memories:
            canonical = memory.canonical_bytes()
            line = encode_record(memory, canonical)
            _check_line(memory, line)
            self._write(line)
            self._digest.add_canonical(canonical)
            ids.append((memory.id, self._line + 1))
            self._line += 1
        self._add_ids(KIND_MEMORY, ids)
        self._counts[KIND_MEMORY] += len(memories)

    def write_relationships(self, relationships: Sequence[Relationship]) -> None:
        """Append a batch of relationships, declaring ends not in this file as external."""
        missing = self._ids.missing(
            KIND_MEMORY, [end for r in relationships for end in (r.from_id, r.to_id)]
        )
        ids = []
        for rel in relationships:
            external = [
                name
                for name, end in (("from_id", rel.from_id), ("to_id", rel.to_id))
                if end in missing
            ]
            canonical = rel.canonical_bytes()
            line = encode_record(rel, canonical, external)
            _check_line(rel, line)
            self._write(line)
            self._digest.add_canonical(canonical)
            self._external += bool(external)
            ids.append((rel.id, self._line + 1))
            self._line += 1
        self._add_ids(KIND_RELATIONSHIP, ids)
        self._counts[KIND_RELATIONSHIP] += len(relationships)

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
        )

    def abort(self) -> None:
        """Close and delete the partial file; `path` is left as it was."""
        if self._out is not None:
            self._out.close()
            self._out = None
        self._ids.close()
        self._partial.unlink(missing_ok=True)


R = TypeVar("R", Memory, Relationship)


async def _write_all(
    records: AsyncIterator[R],
    write: Callable[[Sequence[R]], None],
    size: int,
    kind: str,
    progress: Progress | None,
) -> None:
    """Write `records` in batches of `size`, reporting `progress(kind, done)` per batch."""
    batch: list[R] = []
    done = 0
    async for record in records:
        batch.append(record)
        if len(batch) >= size:
            await asyncio.to_thread(write, batch)  # encoding and writing, off the loop
            done += len(batch)
            batch = []
            if progress:
                progress(kind, done)
            await checkpoint()
    await asyncio.to_thread(write, batch)
    if progress:
        progress(kind, done + len(batch))


async def export_graph(
    backend: Backend,
    path: Path | str,
    *,
    since: datetime | None = None,
    progress: Progress | None = None,
) -> ExportSummary:
    """Stream every memory and relationship of `backend` (changed at or after `since`) to `path`.

    Memory use is constant: records are read page by page in ascending id
    order and written as they arrive. `progress(kind, done)` is called after
    each batch with kind "memory" or "relationship". `path` appears only once
    the export is complete. An incremental export declares relationship ends
    that are not in the file as external (see docs/FORMAT.md).
    """
    _check_since(since)
    _refuse_own_store(backend, Path(path))
    source = {"backend": backend.name, "engine_version": await backend.engine_version()}
    size = backend.batch_size
    async with backend.read_snapshot():
        return await _export(backend, path, source, since, size, progress)


async def _export(
    backend: Backend,
    path: Path | str,
    source: dict[str, Any],
    since: datetime | None,
    size: int,
    progress: Progress | None,
) -> ExportSummary:
    with ExportWriter(path, source=source, since=since) as writer:
        await _write_all(
            backend.iter_memories(since=since), writer.write_memories, size, KIND_MEMORY, progress
        )
        await _write_all(
            backend.iter_relationships(since=since),
            writer.write_relationships,
            size,
            KIND_RELATIONSHIP,
            progress,
        )
        for kind in RECORD_KINDS:
            batch: list[Tombstone] = []
            async for tombstone in backend.iter_tombstones(kind, since=since):
                batch.append(tombstone)
                if len(batch) >= size:
                    writer.write_tombstones(batch)
                    batch = []
            writer.write_tombstones(batch)
        return writer.finish()
