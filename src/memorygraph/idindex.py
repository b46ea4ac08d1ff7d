"""A set of ids that lives on disk, so memory use does not grow with the file.

Validation, export and migration must know which ids they have seen (duplicates,
relationship ends). A Python set of 300,000 ids costs ~35 MB; this index is a
private temporary SQLite database (``sqlite3.connect("")``) whose page cache
is bounded, so RAM stays flat and the answers stay exact (no hashing).
Callers work in batches; every call is one or a few statements.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Final

_CHUNK: Final = 500  # below SQLITE_MAX_VARIABLE_NUMBER on every SQLite in use
_CACHE_KIB: Final = 4096


class IdIndex:
    """Ids per kind with the line each was first seen on. Use as a context manager."""

    def __init__(self) -> None:
        # "" = a private on-disk temporary database, deleted on close; it spills
        # to disk only beyond the cache size.
        # One user at a time, but not always the same thread: batches are encoded and
        # validated in worker threads so the event loop stays free.
        self._db = sqlite3.connect("", isolation_level=None, check_same_thread=False)
        self._db.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.execute(
            "CREATE TABLE ids (kind TEXT NOT NULL, id TEXT NOT NULL, line INTEGER NOT NULL, "
            "PRIMARY KEY (kind, id)) WITHOUT ROWID"
        )
        self._db.execute("BEGIN")

    def __enter__(self) -> IdIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def _lookup(self, kind: str, ids: Sequence[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            found.update(
                self._db.execute(
                    f"SELECT id, line FROM ids WHERE kind = ? AND id IN ({marks})", (kind, *chunk)
                ).fetchall()
            )
        return found

    def add(self, kind: str, items: Sequence[tuple[str, int]]) -> list[tuple[str, int, int]]:
        """Add (id, line) pairs; return the duplicates as (id, line, first_line).

        A duplicate is an id already in the index or earlier in `items`; it is
        not added again, so `first_line` always names the first occurrence.
        """
        if not items:
            return []
        first: dict[str, int] = {}
        duplicates: list[tuple[str, int, int]] = []
        earlier = self._lookup(kind, list(dict.fromkeys(i for i, _ in items)))
        for record_id, line in items:
            seen = earlier.get(record_id, first.get(record_id))
            if seen is not None:
                duplicates.append((record_id, line, seen))
            else:
                first[record_id] = line
        self._db.executemany(
            "INSERT INTO ids (kind, id, line) VALUES (?, ?, ?)",
            [(kind, i, line) for i, line in first.items()],
        )
        return duplicates

    def lines(self, kind: str, ids: Iterable[str]) -> dict[str, int]:
        """id → the line it was added with, for the ids (of `kind`) in the index."""
        return self._lookup(kind, list(dict.fromkeys(ids)))

    def missing(self, kind: str, ids: Iterable[str]) -> set[str]:
        """The ids (of `kind`) that are not in the index."""
        wanted = list(dict.fromkeys(ids))
        return set(wanted) - self._lookup(kind, wanted).keys()
