"""A backend's own worker thread, for engines whose client blocks (SQLite).

`on_worker_thread` decorates a backend class: every coroutine method the class
defines then runs on one thread owned by the backend instance, which has an
event loop of its own. The caller's event loop stays free while a statement
runs (a server keeps answering other calls during a migration), and because the
worker runs one method at a time in call order, the engine sees the same
serial sequence of calls as before. A method called from another method of the
same backend runs directly on the worker, without a second hop.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
C = TypeVar("C", bound=type)

#: Methods that manage the worker itself and stay on the caller's loop.
_KEEP_ON_CALLER = {"close", "__aenter__", "__aexit__"}


class WorkerThread:
    """One daemon thread running an event loop, started on first use."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def _ensure(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name=self._name, daemon=True)
            thread.start()
            self._loop, self._thread = loop, thread
        return self._loop

    def on_worker(self) -> bool:
        """True when the calling code already runs on this worker."""
        return self._thread is not None and threading.current_thread() is self._thread

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the worker and wait for it without blocking the caller's loop."""
        if self.on_worker():
            return await coro
        future = asyncio.run_coroutine_threadsafe(coro, self._ensure())
        return await asyncio.wrap_future(future)

    async def run_to_completion(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the worker after the work already queued there, waiting without
        blocking the caller's loop; `fn` always completes, even if the caller is
        cancelled meanwhile (then this waits for it, and the cancellation goes on).
        For closing a connection: SQLite may write back its whole WAL then."""
        loop = self._loop
        if loop is None or self.on_worker():
            return fn()

        async def call() -> T:
            return fn()

        future = asyncio.run_coroutine_threadsafe(call(), loop)
        try:
            return await asyncio.shield(asyncio.wrap_future(future))
        except asyncio.CancelledError:
            future.result()
            raise

    def stop(self) -> None:
        """Stop the worker's loop and thread (after the work already queued)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        self._loop = self._thread = None
        loop.call_soon_threadsafe(loop.stop)
        if thread is not threading.current_thread():
            thread.join()
        loop.close()


def _offloaded(method: Callable[..., Coroutine[Any, Any, T]]) -> Callable[..., Any]:
    @functools.wraps(method)
    async def run_on_worker(self: Any, *args: Any, **kwargs: Any) -> T:
        worker: WorkerThread = self.worker
        return await worker.run(method(self, *args, **kwargs))

    return run_on_worker


def on_worker_thread(cls: C) -> C:
    """Make every coroutine method `cls` defines run on the instance's `worker`
    (a `WorkerThread` the class provides as an attribute or property)."""
    for name, member in list(vars(cls).items()):
        if name in _KEEP_ON_CALLER or not inspect.iscoroutinefunction(member):
            continue
        setattr(cls, name, _offloaded(member))
    return cls
