"""Running blocking work off the event loop.

Whole-file passes (validating an export) and per-batch work (parsing a batch of
lines, writing one) run in threads, so that an event loop keeps serving other
tasks (an MCP server's other calls) while a migration runs. Their progress
callbacks are brought back onto the loop with `on_loop`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import suppress
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


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


async def read_ahead(items: AsyncIterator[T]) -> AsyncGenerator[T, None]:
    """The items of `items`, the next one fetched while the caller works on this one.

    For pipelines whose two ends run on different threads (a source's worker and a
    target's): reading page k+1 overlaps writing or comparing page k. A caller that
    stops early should close this generator (`contextlib.aclosing`), which cancels
    the fetch still under way.
    """
    end = object()
    ahead: asyncio.Future[Any] = asyncio.ensure_future(anext(items, end))
    try:
        while (item := await ahead) is not end:
            ahead = asyncio.ensure_future(anext(items, end))
            yield item
    finally:
        if not ahead.done():
            ahead.cancel()
            with suppress(asyncio.CancelledError):
                await ahead
