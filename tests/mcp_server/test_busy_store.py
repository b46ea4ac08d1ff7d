"""A store another process keeps locked: the tool error says so, and that a retry may
help; once the lock is gone the same call succeeds."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

from memorygraph.backends.registry import create_backend
from memorygraph.config import BackendConfig
from memorygraph.errors import (
    BackendBusyError,
    BackendConnectionError,
    InvalidRecordError,
    MemoryGraphError,
    NotFoundError,
)
from tests.mcp_server.helpers import call, call_error, in_process


def test_errors_say_whether_a_retry_may_help() -> None:
    assert BackendConnectionError("x").retryable
    assert BackendBusyError("x").retryable
    for permanent in (InvalidRecordError, NotFoundError, MemoryGraphError):
        assert not permanent("x").retryable


async def test_a_write_blocked_by_another_writer_is_a_retryable_tool_error(
    tmp_path: Path,
) -> None:
    config = BackendConfig("sqlite", path=tmp_path / "memory.db")
    async with create_backend(config):
        pass  # create the file
    impatient = replace(config, timeout_seconds=0.2)
    async with in_process(impatient, workdir=tmp_path / "work") as client:
        other = sqlite3.connect(tmp_path / "memory.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            message = await call_error(client, "store_memory", type="task", title="blocked")
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert "locked" in message and message.startswith("unavailable:") and "retry" in message
        stored = await call(client, "store_memory", type="task", title="blocked")
        assert (await call(client, "get_memory", memory_id=stored["id"]))["memory"]["title"] == (
            "blocked"
        )
        assert (await call(client, "get_memory_statistics"))["memories"] == 1
