"""Shared helpers for the migration tests: filling stores, snapshotting them, and a
target whose connection really drops after N write batches."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from memorygraph.backends.base import Backend, StoredPage
from memorygraph.backends.registry import create_backend
from memorygraph.config import BackendConfig
from memorygraph.errors import BackendConnectionError
from memorygraph.models import Memory, Relationship
from memorygraph.sample import EPOCH, sample_memories, sample_relationships
from memorygraph.testing.strategies import ONE_MB, TRICKY

T = TypeVar("T")


def tricky_records() -> tuple[list[Memory], list[Relationship]]:
    """Records that lossy migrations get wrong: odd text, big content, 60 edges on one node."""
    memories = [
        Memory(
            id=f"tricky-{i:02d}",
            type="general",
            title=text or "empty",
            content=text,
            tags=[text, "x"],
            context={"metadata": {"k": text, "nested": [{"deep": [1, 2.5, None, True]}]}},
            created_at=EPOCH,
        )
        for i, text in enumerate(TRICKY)
    ]
    memories.append(
        Memory(id="tricky-big", type="general", title="big", content=ONE_MB, created_at=EPOCH)
    )
    hub = memories[0].id
    relationships = [
        Relationship(
            id=f"tricky-rel-{i:02d}", from_id=hub, to_id=m.id, type="RELATED_TO", created_at=EPOCH
        )
        for i, m in enumerate(memories[1:])
    ]
    return memories, relationships


async def fill(config: BackendConfig, n: int = 60, *, tricky: bool = True) -> None:
    """Write the sample graph of `n` memories (and 2n relationships) into `config`."""
    async with create_backend(config) as backend:
        await backend.upsert_memories(list(sample_memories(n)))
        await backend.upsert_relationships(list(sample_relationships(n)))
        if tricky:
            memories, relationships = tricky_records()
            await backend.upsert_memories(memories)
            await backend.upsert_relationships(relationships)


async def snapshot(config: BackendConfig) -> dict[str, str]:
    """kind:id → digest of every record in a store."""
    async with create_backend(config.read_only_copy()) as backend:
        found = {f"m:{m.id}": m.digest() async for m in backend.iter_memories()}
        found.update({f"r:{r.id}": r.digest() async for r in backend.iter_relationships()})
        return found


def dropping_factory(
    target: BackendConfig, after_batches: int
) -> Callable[[BackendConfig], Backend]:
    """A backend factory whose first target backend closes its real connection after
    `after_batches` relationship write batches, as a dropped network link would."""
    made = {"flaky": False}

    def factory(config: BackendConfig) -> Backend:
        backend = create_backend(config)
        if config != target or made["flaky"]:
            return backend
        made["flaky"] = True
        original, original_page = backend.upsert_canonical, backend._write_stored
        calls = {"n": 0}

        async def drop_after_batches(kind: str) -> None:
            if kind == "relationship":
                calls["n"] += 1
                if calls["n"] > after_batches:
                    await backend.close()
                    raise BackendConnectionError(f"{backend.describe()}: connection dropped (test)")

        async def upsert(kind: str, *args: Any, **kwargs: Any) -> Any:
            await drop_after_batches(kind)
            return await original(kind, *args, **kwargs)  # type: ignore[arg-type]

        async def write_page(page: StoredPage) -> None:
            await drop_after_batches(page.kind)
            await original_page(page)

        backend.upsert_canonical = upsert  # type: ignore[method-assign]
        backend._write_stored = write_page  # type: ignore[method-assign]
        return backend

    return factory


def journal_with_writes(work: Path, at_least: int) -> Path | None:
    """The journal under `work` that announced at least `at_least` write batches."""
    for journal in work.glob("*/journal.jsonl"):
        lines = journal.read_bytes().splitlines()
        if sum(b'"event":"intent"' in line for line in lines) >= at_least:
            return journal
    return None


def kill_mid_import(source: Path, target: Path, work: Path) -> Path:
    """Start `memorygraph migrate` from SQLite `source` to SQLite `target`, SIGKILL it once
    its journal shows a few written batches, and return that journal."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "memorygraph", "migrate", "--from", "sqlite", "--from-path",
         str(source), "--to", "sqlite", "--to-path", str(target), "--workdir", str(work),
         "--batch-size", "10"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    journal = None
    while journal is None and time.monotonic() < deadline and proc.poll() is None:
        journal = journal_with_writes(work, at_least=5)
        time.sleep(0.005)
    assert journal is not None, "the migration ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return journal


def pair_configs(
    request: pytest.FixtureRequest, a: str, b: str
) -> tuple[BackendConfig, BackendConfig]:
    """The source and target configs of the pair (a, b), from the `<kind>_config`
    fixtures (a second SQLite store when both ends are SQLite)."""
    source = request.getfixturevalue(f"{a}_config")
    target = request.getfixturevalue("other_sqlite_config" if a == b else f"{b}_config")
    return source, target


async def loop_delays(work: Awaitable[T], tick: float = 0.010) -> tuple[T, list[float]]:
    """Await `work` while another task on the same loop sleeps `tick` seconds at a time;
    return its result and how late each of those sleeps woke up (seconds)."""
    delays: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        while not done.is_set():
            started = time.perf_counter()
            await asyncio.sleep(tick)
            delays.append(time.perf_counter() - started - tick)

    ticks = asyncio.create_task(ticker())
    try:
        result = await work
    finally:
        done.set()
        await ticks
    return result, delays
