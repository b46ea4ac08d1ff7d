"""The digests of what a copy read from its source, kept for the verification after it.

A copy reads every source record once (validated, as canonical bytes); a digest
of those bytes is what verification would compute by reading the source again.
Inside one read snapshot of the source (held from the copy through verification)
both reads see the same records, so verification may compare the target against
these digests instead. They are kept in an anonymous temporary file in the run's
private work directory, a page per line, so memory use stays flat.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import orjson

from memorygraph.canonical import CanonicalRecord, RecordKind


class DigestLog:
    """(id, digest) pages of each kind, in the order they were added."""

    def __init__(self, directory: Path) -> None:
        # Anonymous: removed by the system when closed, whatever ends the run.
        self._file = tempfile.TemporaryFile(dir=directory)  # noqa: SIM115 (kept open: closed by close())
        self.counts: dict[str, int] = {}

    def add(self, kind: RecordKind, records: Sequence[CanonicalRecord]) -> list[tuple[str, str]]:
        """Keep the id and digest of each record of one page, in order; return them."""
        page = [(r.id, r.digest()) for r in records]
        self._file.write(orjson.dumps([kind, page]) + b"\n")
        self.counts[kind] = self.counts.get(kind, 0) + len(page)
        return page

    async def pages(self, kind: RecordKind) -> AsyncIterator[list[tuple[str, str]]]:
        """The pages of `kind`, in the order they were added."""
        self._file.flush()
        self._file.seek(0)
        for line in self._file:
            logged, page = orjson.loads(line)
            if logged == kind:
                yield [(record_id, digest) for record_id, digest in page]

    def close(self) -> None:
        self._file.close()
