"""What the command does while it starts: imports with the garbage collector paused.

Apart from `memorygraph.cli` itself so that the commands can use it too without
importing the package that starts them.
"""

from __future__ import annotations

import gc
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
