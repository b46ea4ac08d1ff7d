"""Creating the files memorygraph writes, without following a link planted at their names.

Every file and directory the tool creates goes through here: an export and its
partial file (in every format), a migration's work directory, journal and lock,
an embedded FalkorDB's lock and state file. Each is

- created exclusively (``O_CREAT | O_EXCL``), or, for a lock that outlives its
  owner, opened only if it is a plain file of the user's own with one name;
- opened without following a symbolic link at its name (``O_NOFOLLOW``);
- readable by its owner only: files 0600, directories 0700, whatever the umask.

A symbolic link at one of those names is refused with an `UnsafeFileError`
that names it and says what to do; the file it points to is never opened. A file
that replaces another whole (an export, a state file) is written under a name of
its own in the same directory and renamed over the old one: a rename replaces a
link, it never writes through it.

Only the last component of a path is guarded: the directories above it are the
user's choice (a home directory may well be a link).
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from contextlib import suppress
from pathlib import Path
from typing import IO

from memorygraph.errors import UnsafeFileError, UsageError

FILE_MODE = 0o600
DIR_MODE = 0o700

_NEW = os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


#: The usual other way out, after "remove the link": the user names the file.
CHOOSE_ANOTHER = "choose another path"


def _or(first: str, other: str) -> str:
    return f"{first} or {other}" if other else first


def _link_error(path: Path, what: str, other: str, field: str | None) -> UnsafeFileError:
    return UnsafeFileError(
        f"{what} {path} is a symbolic link, which memorygraph does not write through; "
        + _or("remove the link", other),
        field=field,
    )


def refuse_link(
    path: Path, what: str, *, other: str = CHOOSE_ANOTHER, field: str | None = None
) -> None:
    """Raise `UnsafeFileError` if `path` itself is a symbolic link (dangling or not).

    `what` names the file for the message ("the export"); `other` is the other way
    out after removing the link, empty when the user cannot choose the name.
    """
    if path.is_symlink():
        raise _link_error(path, what, other, field)


def create(
    path: Path,
    what: str,
    *,
    replace_stale: bool = False,
    other: str = CHOOSE_ANOTHER,
    field: str | None = None,
) -> IO[bytes]:
    """A new, empty file at `path`, mode 0600, open for writing in binary.

    The file is created by this call (never an existing one reopened) and a link at
    `path` is refused. With `replace_stale`, a plain file already there (left by a
    run that was killed) is removed first; without it, any existing name is refused.
    """
    for attempt in range(2):
        try:
            fd = os.open(path, os.O_WRONLY | _NEW, FILE_MODE)
            break
        except FileExistsError:
            refuse_link(path, what, other=other, field=field)
            if not replace_stale or attempt:
                raise UsageError(
                    f"{what} {path} already exists; " + _or("remove it", other), field=field
                ) from None
            path.unlink()  # a plain file: the partial output of a run that was killed
    os.fchmod(fd, FILE_MODE)  # the umask may have taken bits away, never add them
    return os.fdopen(fd, "wb")


def open_own(path: Path, what: str, *, other: str = "", field: str | None = None) -> IO[bytes]:
    """`path` open for reading and writing in binary, created (mode 0600) if absent.

    For a file that outlives its writer, such as a lock. An existing one is used
    only if it is a plain file, owned by this user, with no other name (so it
    cannot be another file reached through a hard link); its mode is set to 0600.
    """
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise _link_error(path, what, other, field) from None
        raise
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1 or info.st_uid != os.geteuid():
        os.close(fd)
        raise UnsafeFileError(
            f"{what} {path} is not a plain file of this user's own with a single name; "
            + _or("remove it", other),
            field=field,
        )
    if stat.S_IMODE(info.st_mode) != FILE_MODE:
        os.fchmod(fd, FILE_MODE)
    return os.fdopen(fd, "r+b")


def append_own(path: Path, what: str, *, field: str | None = None) -> int:
    """A descriptor appending to `path`, created (mode 0600) if absent; for a log that
    several processes write a line at a time. An existing file must be a plain file
    of this user's own with one name, like `open_own` asks."""
    with open_own(path, what, field=field):
        pass  # creates it, or checks the one that is there
    try:
        return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise _link_error(path, what, "", field) from None
        raise


def open_existing(path: Path, what: str, *, field: str | None = None) -> IO[bytes]:
    """The existing file `path`, open for reading and writing in binary; a link is refused."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise _link_error(path, what, "give the file it points to", field) from None
        raise
    return os.fdopen(fd, "r+b")


def make_private_dir(
    path: Path, what: str, *, other: str = CHOOSE_ANOTHER, field: str | None = None
) -> None:
    """Create the directory `path` (mode 0700) and any missing parents (default mode).

    `path` itself must not exist: a directory already there, or a link, is refused.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.mkdir(path, DIR_MODE)
    except FileExistsError:
        refuse_link(path, what, other=other, field=field)
        raise UsageError(
            f"{what} {path} already exists; " + (other or "remove it"), field=field
        ) from None
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        os.fchmod(fd, DIR_MODE)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes, what: str, *, field: str | None = None) -> None:
    """Replace `path` with a file holding `data` (mode 0600), all at once.

    The bytes go to a new file of a random name in the same directory, are synced,
    and the file is renamed over `path`; a reader sees the old file or the new one.
    A link at `path` is refused rather than replaced.
    """
    refuse_link(path, what, field=field)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # 0600, O_EXCL
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(temporary)
        raise
