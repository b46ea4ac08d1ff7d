"""Short garbage-collector pauses while a long operation runs beside other work.

A migration allocates millions of small containers (each record's decoded
values). CPython's cyclic collector then runs full passes, and a full pass walks
every tracked object in the process, holding the GIL: 30–50 ms on this code's
heap, during which no other coroutine (an MCP server's other tool calls) runs.
`gc.freeze()` moves the objects alive at the start, which the operation never
frees, out of those passes; full passes then only walk what the operation
itself keeps. The objects are handed back to the collector when the last such
operation ends.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_active = 0


@contextmanager
def long_lived_frozen() -> Iterator[None]:
    """Keep the objects alive now out of full collections until the block (and every
    other such block running at the same time) ends. Nothing is freed or kept longer
    than it would be otherwise, except cyclic garbage made of those objects, which is
    collected once the last block ends."""
    global _active
    with _lock:
        if _active == 0:
            gc.freeze()
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0:
                gc.unfreeze()
