"""Verifying a copy's pages in a worker process while the copy goes on.

A copy into an empty target keeps the digest of every source record it reads
(`DigestLog`); verification then reads each record back from the target and
compares. Reading back and digesting is CPU work, up to a third of a migration
into a graph engine, and in one process it would wait for the copy to end.
`PageVerifier` hands each page to a worker process (``python -m
memorygraph.migration.page_verifier``) once the target has acknowledged it. The
worker, with a read-only connection of its own to the target, looks the page's
records up and compares their digests while this process copies the next pages.
What it cannot match (missing or differing: normally nothing) comes back at the
end for the verification to judge in full, as it judges every record otherwise
(`verify(..., during_copy=...)`).

Checking a page once it is written is as strong as checking after the copy: the
copy writes into a target that held nothing (under the migration's lock), writes
each id once and never changes a record it wrote, so each record is checked in
the state the copy leaves it in. What the copy could leave beyond its pages is
caught by the counts, which verification still compares at the end.

Nothing depends on the worker: if it cannot start, connect or keep up (it dies,
or finds too many records it cannot match), `finish` says so (None) and the
verification reads everything itself, as it would without one.
"""

from __future__ import annotations

import asyncio
import contextlib
import pickle
import queue
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from typing import IO, Any

from memorygraph.config import BackendConfig
from memorygraph.values import RECORD_KINDS, RecordKind

#: Records a copy must move before its pages are verified in a worker, which takes a
#: fraction of a second to start and connect.
VERIFY_ASIDE = 20_000
#: Records the worker may fail to match before it gives up: the verification then
#: reads everything itself (and reports the differences in full).
MAX_UNMATCHED = 10_000
#: Pages handed over and not yet sent to the worker: the copy waits beyond these.
_QUEUED_PAGES = 8

Pairs = list[tuple[str, str]]


@dataclass
class PagesChecked:
    """What a worker checked: per kind, how many records matched their source digest,
    and the (id, source digest) of those that did not (missing or differing)."""

    matched: dict[str, int] = field(default_factory=dict)
    unmatched: dict[str, Pairs] = field(default_factory=dict)


class PageVerifier:
    """The worker process checking a copy's written pages against a target."""

    def __init__(self, target: BackendConfig, max_unmatched: int | None = None) -> None:
        self._worker = subprocess.Popen(
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # its own failures only mean "verify here"
        )
        self._pages: queue.Queue[tuple[RecordKind, Pairs] | None] = queue.Queue(_QUEUED_PAGES)
        self._answer: PagesChecked | None = None
        self._stopped = threading.Event()  # the sender ended: pages are no longer taken
        # Pipes are written by a thread of their own, so a page handed over never
        # waits for the worker while fewer than `_QUEUED_PAGES` are queued.
        limit = MAX_UNMATCHED if max_unmatched is None else max_unmatched
        self._sender = threading.Thread(
            target=self._send_all, args=((target.read_only_copy(), limit),), daemon=True
        )
        self._sender.start()

    async def written(self, kind: RecordKind, pairs: Pairs) -> None:
        """Hand over a page the target has acknowledged: (id, source digest) pairs."""
        try:
            self._pages.put_nowait((kind, pairs))
        except queue.Full:
            await asyncio.to_thread(self._put, (kind, pairs))

    async def finish(self) -> PagesChecked | None:
        """Wait until the worker has checked every page handed over; what it found, or
        None when it could not check them all."""
        await asyncio.to_thread(self._put, None)
        await asyncio.to_thread(self._sender.join)
        self.close()
        return self._answer

    def _put(self, item: tuple[RecordKind, Pairs] | None) -> None:
        """Queue `item` for the sender, unless the sender has ended."""
        while not self._stopped.is_set():
            with contextlib.suppress(queue.Full):
                self._pages.put(item, timeout=0.1)
                return

    def close(self) -> None:
        """Stop the worker (pages not yet checked are dropped)."""
        worker = self._worker
        if worker.poll() is None:
            worker.kill()
        worker.wait()
        with contextlib.suppress(queue.Full):
            self._pages.put_nowait(None)  # a sender still waiting for pages ends
        self._sender.join()
        for pipe in (worker.stdin, worker.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()

    def _send_all(self, setup: tuple[BackendConfig, int]) -> None:
        stdin, stdout = self._worker.stdin, self._worker.stdout
        assert stdin is not None and stdout is not None
        try:
            _send(stdin, setup)
            while (page := self._pages.get()) is not None:
                _send(stdin, page)
            _send(stdin, None)
            answer = _receive(stdout)
            if answer is not None:
                matched, unmatched = answer
                self._answer = PagesChecked(matched, unmatched)
        except Exception:
            self._answer = None
        finally:
            self._stopped.set()


def _send(pipe: IO[bytes], value: object) -> None:
    frame = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    pipe.write(len(frame).to_bytes(8, "little"))
    pipe.write(frame)
    pipe.flush()


def _receive(pipe: IO[bytes]) -> Any:
    """The next value `_send` wrote to `pipe`; `EOFError` at its end."""
    head = pipe.read(8)
    size = int.from_bytes(head, "little") if len(head) == 8 else -1
    frame = pipe.read(size) if size >= 0 else b""
    if size < 0 or len(frame) < size:
        raise EOFError("the page verifier's pipe closed")
    return pickle.loads(frame)


# --- the worker ----------------------------------------------------------------------


async def _check(requests: IO[bytes]) -> PagesChecked | None:
    """Check every page read from `requests` against the target named first; None when
    more records than the limit sent with it do not match."""
    from memorygraph.backends.registry import create_backend

    config, limit = await asyncio.to_thread(_receive, requests)
    checked = PagesChecked(
        matched=dict.fromkeys(RECORD_KINDS, 0), unmatched={k: [] for k in RECORD_KINDS}
    )
    unmatched = 0
    async with create_backend(config) as target:
        # The next page is read and its lookup started while this one's is compared.
        page = await asyncio.to_thread(_receive, requests)
        lookup = asyncio.ensure_future(target.digests(*_ids(page))) if page else None
        while page is not None and lookup is not None:
            following = await asyncio.to_thread(_receive, requests)
            ahead = asyncio.ensure_future(target.digests(*_ids(following))) if following else None
            kind, pairs = page
            theirs = await lookup
            missed = [(i, d) for i, d in pairs if theirs.get(i) != d]
            checked.matched[kind] += len(pairs) - len(missed)
            checked.unmatched[kind] += missed
            unmatched += len(missed)
            if unmatched > limit:
                if ahead is not None:
                    ahead.cancel()
                return None
            page, lookup = following, ahead
    return checked


def _ids(page: tuple[RecordKind, Pairs]) -> tuple[RecordKind, list[str]]:
    kind, pairs = page
    return kind, [i for i, _ in pairs]


def serve(requests: IO[bytes], replies: IO[bytes]) -> None:
    """The worker: a target's config and the most records it may fail to match, then
    pages until None; answers with the fields of `PagesChecked` (plain values, whatever
    module name this runs under), or None."""
    checked = asyncio.run(_check(requests))
    _send(replies, None if checked is None else (checked.matched, checked.unmatched))


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
