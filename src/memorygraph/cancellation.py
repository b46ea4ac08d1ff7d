"""Cancellation points for long loops.

`checkpoint()` yields to the event loop between batches, so other tasks run and a
cancellation lands there. It also honours a cancellation that a client library
swallowed: on Python 3.11, `asyncio.wait_for` (used inside the Redis client)
can drop a `Task.cancel()` that races with a reply, yet the task still counts
the request (`Task.cancelling()`), so the next batch stops instead of the whole
migration running to the end.
"""

from __future__ import annotations

import asyncio


async def checkpoint() -> None:
    """Let other tasks run; raise `CancelledError` if this task was asked to stop."""
    await asyncio.sleep(0)
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError()
