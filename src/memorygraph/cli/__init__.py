"""The `memorygraph` command line.

`entry()` is the installed command. The commands themselves live one module each,
loaded on demand by `memorygraph.cli.main`.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collection_paused() -> Iterator[None]:
    """Run a block of imports with the cyclic garbage collector paused, then move
    everything they built into the collector's permanent generation.

    Imports build hundreds of thousands of long-lived objects (the MCP SDK's and our
    pydantic models) and almost no garbage; with the collector running, each full
    pass walks them all again (about 5% of `memorygraph serve`'s start). Frozen,
    they are skipped by every later pass too. The collector's previous state is
    restored afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


def entry() -> None:
    """Run the CLI with the process's arguments and exit with its code."""
    try:
        with collection_paused():
            from memorygraph.cli.main import main
    except KeyboardInterrupt:
        # Ctrl-C while the CLI was still loading: nothing has run yet.
        sys.stderr.write("error: interrupted before anything ran\n")
        sys.exit(130)
    sys.exit(main())
