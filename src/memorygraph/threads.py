"""Running blocking work off the event loop.

Whole-file passes (validating an export) and per-batch work (parsing a batch of
lines, writing one) run in threads, so that an event loop keeps serving other
tasks (an MCP server's other calls) while a migration runs. Their progress
callbacks are brought back onto the loop with `on_loop`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import ParamSpec

P = ParamSpec("P")


def on_loop(callback: Callable[P, None]) -> Callable[P, None]:
    """`callback`, made safe to call from any thread: a call from another thread is
    run on the event loop that is running now (the caller's), in order."""
    loop = asyncio.get_running_loop()
    owner = threading.get_ident()

    def call(*args: P.args, **kwargs: P.kwargs) -> None:
        if threading.get_ident() == owner:
            callback(*args, **kwargs)
        else:
            loop.call_soon_threadsafe(lambda: callback(*args, **kwargs))

    return call
