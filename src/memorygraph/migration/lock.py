"""One migration per target at a time.

A migration, a resume and a rollback each hold the target's lock while they write.
The lock is an `fcntl` lock on a small file: for a store on disk, next to it
(`<path>.migration-lock`); for a server, in `~/.memorygraph/locks/` under a name
derived from its uri and database (so it excludes migrations started on this
host). The kernel releases the lock when its owner exits, however it exits, so a
crashed owner never blocks the target by its lock alone.

The file also says which journal its last owner wrote (with the owner's pid and
host). While that journal is unfinished (neither committed nor rolled back), a
new migration into the target is refused: rolling back the crashed one would
otherwise remove records the new one counts on. Its own resume and
rollback may proceed; so may anything once the journal is settled or gone.

The file is used only if it is a plain file of the user's own with one name
(`safefiles.open_own`, mode 0600): a symbolic link planted at its name is
refused, and the file it points to is never opened.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import socket
from pathlib import Path
from typing import IO, Any

import orjson

from memorygraph import safefiles
from memorygraph.config import DEFAULT_HOME, BackendConfig, redact_uri
from memorygraph.errors import NextStep, TargetBusyError, UsageError


def lock_path(target: BackendConfig, home: Path | None = None) -> Path:
    """Where the lock file of `target` lives."""
    if target.path is not None:
        path = target.path.expanduser().resolve()
        return path.with_name(path.name + ".migration-lock")
    key = f"{target.backend_type}|{redact_uri(target.uri or '')}|{target.database or ''}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return (home or DEFAULT_HOME.expanduser()) / "locks" / f"{digest}.migration-lock"


class TargetLock:
    """Held while a migration (or its resume or rollback) writes to a target."""

    def __init__(self, target: BackendConfig, journal: Path) -> None:
        self.target = target
        self.journal = journal.expanduser().resolve()
        self.path = lock_path(target)
        self._handle: IO[bytes] | None = None

    def acquire(self) -> TargetLock:
        """Take the lock, or raise `TargetBusyError` saying who holds the target."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            # A plain file of our own only: a link or a second name planted here would
            # make the owner's record below overwrite another file.
            handle = safefiles.open_own(self.path, "the migration lock file")
        except OSError as e:
            raise UsageError(
                f"cannot create the lock file {self.path} of {self.target.describe()}: "
                f"{e.strerror}; check that its directory exists and is writable"
            ) from e
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = _read(handle)
            handle.close()
            raise TargetBusyError(
                f"another migration or import (pid {owner.get('pid', '?')} on "
                f"{owner.get('host', '?')}) "
                f"is writing to {self.target.describe()}; wait until it ends"
            ) from None
        owner = _read(handle)
        pending = owner.get("journal")
        if pending and Path(pending) != self.journal and _unfinished(Path(pending)):
            handle.close()
            raise TargetBusyError(
                f"the migration or import recorded in {pending} into {self.target.describe()} is "
                "unfinished and must be settled first",
                next_steps=[NextStep("rollback", str(pending)), NextStep("resume", str(pending))],
            )
        _write(
            handle, {"pid": os.getpid(), "host": socket.gethostname(), "journal": str(self.journal)}
        )
        self._handle = handle
        return self

    def release(self) -> None:
        """Let go; the file keeps naming the journal while that journal is unfinished."""
        handle, self._handle = self._handle, None
        if handle is None:
            return
        try:
            if not _unfinished(self.journal):
                _write(handle, {})
        except OSError:
            pass  # the journal is read again by the next owner anyway
        finally:
            handle.close()

    def __enter__(self) -> TargetLock:
        return self.acquire()

    def __exit__(self, *_: object) -> None:
        self.release()


def _read(handle: IO[bytes]) -> dict[str, Any]:
    handle.seek(0)
    try:
        data = orjson.loads(handle.read() or b"{}")
    except orjson.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def _write(handle: IO[bytes], data: dict[str, Any]) -> None:
    handle.seek(0)
    handle.truncate()
    handle.write(orjson.dumps(data))
    handle.flush()
    os.fsync(handle.fileno())


def _unfinished(journal: Path) -> bool:
    from memorygraph.migration.journal import read_state

    if not journal.is_file():
        return False
    try:
        return not read_state(journal).finished
    except UsageError:
        return False  # not a journal any more: nothing it describes can be acted on
