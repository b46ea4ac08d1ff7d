"""How full the disk under a store is: for telling a full disk from other failures
after an engine (a FalkorDB server writing its log, SQLite) gave up on a write."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

#: Below this much free space a disk counts as full: no engine can commit to it.
FULL_BELOW = 1 << 20


def free_bytes(path: Path) -> int | None:
    """Free space on the disk holding `path` (or its nearest existing parent); None when
    it cannot be told."""
    for place in (path, *path.parents):
        try:
            return shutil.disk_usage(place).free
        except OSError:
            continue
    return None


def is_full(path: Path) -> bool:
    """True when the disk holding `path` has less than `FULL_BELOW` bytes free."""
    free = free_bytes(path)
    return free is not None and free < FULL_BELOW


def is_no_space(error: BaseException) -> bool:
    """True when `error` is the operating system saying a disk (or quota) is full."""
    return isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT)
