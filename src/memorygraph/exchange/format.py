"""The memorygraph exchange format: constants, line encoding, file I/O, digest.

Specified in docs/FORMAT.md. In short: UTF-8 JSON Lines, gzip when the name
ends in ``.gz``; line 1 is the header, then one line per memory, then one per
relationship, then the trailer with counts and an order-independent digest.

Everything here is streaming: a reader holds one line at a time (at most
`MAX_LINE_BYTES`), a writer holds none.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final, cast

import orjson

from memorygraph.backends.base import Tombstone
from memorygraph.models import Memory, Relationship

FORMAT_NAME: Final = "memorygraph-export"
#: The version this code writes; it reads every 1.x.
FORMAT_MAJOR: Final = 1
FORMAT_MINOR: Final = 1
FORMAT_VERSION: Final = f"{FORMAT_MAJOR}.{FORMAT_MINOR}"
DIGEST_ALGORITHM: Final = "sha256-sum-mod-2^256"

KIND_HEADER: Final = "header"
KIND_MEMORY: Final = "memory"
KIND_RELATIONSHIP: Final = "relationship"
KIND_TRAILER: Final = "trailer"
#: Since 1.1: a deletion in the source (see `memorygraph.backends.base.Tombstone`).
KIND_TOMBSTONE: Final = "tombstone"
#: The first minor with tombstone lines.
TOMBSTONE_MINOR: Final = 1
RECORD_KINDS: Final = (KIND_MEMORY, KIND_RELATIONSHIP)
#: The values a relationship line may list under "external".
EXTERNAL_ENDS: Final = ("from_id", "to_id")

#: A longer line is reported, skipped in chunks, and never held in memory whole.
MAX_LINE_BYTES: Final = 64 * 1024 * 1024
_GZIP_MAGIC: Final = b"\x1f\x8b"
_MOD: Final = 1 << 256
_READ_CHUNK: Final = 1 << 20


class UnsupportedVersionError(ValueError):
    """The file's major format version is not one this reader understands."""


def parse_version(value: Any) -> tuple[int, int]:
    """``"1.0"`` → ``(1, 0)``; raise `ValueError` for anything not MAJOR.MINOR."""
    if not isinstance(value, str):
        raise ValueError(f"format_version must be a string like {FORMAT_VERSION!r}")
    major, dot, minor = value.partition(".")
    if not (dot and major.isdigit() and minor.isdigit() and major.isascii() and minor.isascii()):
        raise ValueError(f"format_version {value!r} is not MAJOR.MINOR (e.g. {FORMAT_VERSION!r})")
    return int(major), int(minor)


def check_version(value: Any) -> tuple[int, int]:
    """Parse `value` and refuse an unknown major version with a message saying what we read."""
    major, minor = parse_version(value)
    if major != FORMAT_MAJOR:
        raise UnsupportedVersionError(
            f"format version {value} is not supported: this reader reads "
            f"{FORMAT_MAJOR}.x files; use a memorygraph release that reads {major}.x"
        )
    return major, minor


class DigestSum:
    """Order-independent digest of a set of records, in constant memory.

    Each record contributes its own digest (sha256 of its canonical form, see
    `memorygraph.models`) read as a 256-bit unsigned integer; the file digest is
    their sum modulo 2**256, as 64 hex digits. A sum (unlike XOR) does not
    cancel when a line is duplicated.
    """

    __slots__ = ("_total",)

    def __init__(self) -> None:
        self._total = 0

    def add_hex(self, record_digest: str) -> None:
        self._total = (self._total + int(record_digest, 16)) % _MOD

    def add(self, record: Memory | Relationship) -> None:
        self.add_hex(record.digest())

    def add_canonical(self, canonical: bytes) -> None:
        """Add a record given its `canonical_bytes()` (what `digest()` hashes), computed once."""
        self.add_hex(hashlib.sha256(canonical).hexdigest())

    def hexdigest(self) -> str:
        return f"{self._total:064x}"


def _dumps(obj: Any) -> bytes:
    # Insertion order, so "kind" comes first and a reader can tell a line at a glance.
    return orjson.dumps(obj) + b"\n"


def encode_header(header: dict[str, Any]) -> bytes:
    return _dumps({"kind": KIND_HEADER, **header})


def encode_trailer(trailer: dict[str, Any]) -> bytes:
    return _dumps({"kind": KIND_TRAILER, **trailer})


def encode_record(kind: str, canonical: bytes, external: Sequence[str] = ()) -> bytes:
    """One record line of `kind` ("memory" or "relationship") holding `canonical`, a
    record's canonical bytes, and the ends declared external.

    The record object is written in canonical form, so an export of the same
    records is the same bytes whatever backend it came from.
    """
    tail = b',"external":' + orjson.dumps(list(external)) + b"}\n" if external else b"}\n"
    return b'{"kind":"' + kind.encode() + b'","record":' + canonical + tail


def encode_tombstone(tombstone: Tombstone) -> bytes:
    """One tombstone line: ``{"kind":"tombstone","tombstone":{deleted_at, id, kind}}``."""
    return _dumps({"kind": KIND_TOMBSTONE, "tombstone": tombstone.to_dict()})


def is_gzip_name(path: Path) -> bool:
    return path.name.lower().endswith(".gz")


class _GzipWriter(gzip.GzipFile):
    """A GzipFile that also closes the file it writes into."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        super().__init__(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6)

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._raw.close()


def gzip_writer(raw: IO[bytes]) -> IO[bytes]:
    """A stream compressing into `raw` (reproducible gzip: no name, mtime 0); closing it
    closes `raw`."""
    return cast(IO[bytes], _GzipWriter(raw))


def open_for_read(path: Path) -> IO[bytes]:
    """A binary stream over the decompressed bytes of `path` (gzip recognised by magic)."""
    raw = path.open("rb")
    if raw.peek(2)[:2] == _GZIP_MAGIC:
        return cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb"))
    return raw


@dataclass(frozen=True, slots=True)
class RawLine:
    """One physical line: `data` without its newline, or `error` when it could not be read.

    `terminated` is False for a last line with no newline (a cut-short file).
    `too_long` lines have `data` None and were skipped without being held.
    """

    number: int
    data: bytes | None
    terminated: bool = True
    too_long: bool = False
    error: str | None = None


def iter_lines(stream: IO[bytes], max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[RawLine]:
    """The lines of `stream`, numbered from 1, holding at most `max_line_bytes` at a time.

    A damaged compressed stream ends the iteration with one `RawLine` whose
    `error` says what happened.
    """
    number = 0
    try:
        while True:
            line = stream.readline(max_line_bytes + 1)
            if not line:
                return
            number += 1
            if line.endswith(b"\n"):
                yield RawLine(number, line[:-1])
                continue
            if len(line) <= max_line_bytes:
                yield RawLine(number, line, terminated=False)
                return
            # Longer than the limit: drop the rest of it chunk by chunk.
            while True:
                rest = stream.readline(_READ_CHUNK)
                if not rest or rest.endswith(b"\n"):
                    break
            yield RawLine(number, None, terminated=bool(rest), too_long=True)
            if not rest:
                return
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as e:
        yield RawLine(
            number + 1,
            None,
            error=f"the compressed data is damaged or cut short ({e}); "
            "export the graph again or restore the file",
        )
