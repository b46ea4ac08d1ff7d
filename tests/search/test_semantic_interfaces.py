"""Hybrid search through the interfaces people use: the MCP server over stdio and over
HTTP, and the CLI, each searching by meaning when `MEMORYGRAPH_SEMANTIC=on` says so,
and the servers reading a store's vectors ahead of the first search."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.stdio import stdio_client

from memorygraph.config import BackendConfig
from memorygraph.models import Memory, MemoryType
from memorygraph.search.fusion import CROSS_LANGUAGE_THRESHOLD, SearchSettings
from memorygraph.search.semantic import extra_installed
from memorygraph.store import MemoryStore
from tests.http.helpers import clean_env, http_client, running_server
from tests.mcp_server.helpers import MEMORYGRAPH, call, stdio_params

pytestmark = pytest.mark.skipif(not extra_installed(), reason="needs memorygraph[semantic]")

#: Shares no word with the memory it asks about ("Connection pool exhausted under load"),
#: and is in another language: its answer passes the lower threshold of such questions.
QUESTION = "la base de datos se queda sin conexiones cuando hay mucho tráfico"
NOTES = [
    ("pool", "problem", "Connection pool exhausted under load",
     "Postgres ran out of pooled connections when traffic spiked on Black Friday."),
    ("oom", "problem", "Celery worker OOM-killed",
     "The kernel killed image workers that prefetched sixteen tasks each."),
    ("css", "general", "Buttons use the primary colour token",
     "Every button takes its background from the design system's primary token."),
]  # fmt: skip
READ_AHEAD = f"read ahead {len(NOTES)} vectors for search"


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A store of `NOTES` with their vectors."""
    path = tmp_path / "memory.db"

    async def fill() -> None:
        config = BackendConfig("sqlite", path=path)
        async with MemoryStore.open(config, SearchSettings(semantic=True)) as opened:
            for memory_id, kind, title, content in NOTES:
                await opened.remember(
                    Memory(id=memory_id, type=MemoryType(kind), title=title, content=content)
                )

    asyncio.run(fill())
    return path


def _ids(page: dict[str, Any]) -> list[str]:
    return [r["memory"]["id"] for r in page["results"]]


async def _ask(client: Client) -> tuple[dict[str, Any], dict[str, Any]]:
    found = await call(client, "search_memories", query=QUESTION, limit=2)
    recalled = await call(client, "recall_memories", query=QUESTION, limit=2)
    return found, recalled


def _assert_answered_across_languages(found: dict[str, Any], recalled: dict[str, Any]) -> None:
    for page in (found, recalled):
        assert page["relevance_threshold"] == CROSS_LANGUAGE_THRESHOLD
        assert not page["nothing_relevant"]


def _wait_for(text: str, log: Path, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while text not in log.read_text(errors="replace"):
        assert time.monotonic() < deadline, f"{text!r} never logged: {log.read_text()}"
        time.sleep(0.05)


@pytest.mark.parametrize("semantic", ["on", "off"])
async def test_the_stdio_server_searches_by_meaning_when_the_environment_says(
    store: Path, tmp_path: Path, semantic: str
) -> None:
    log = tmp_path / "serve.log"
    args = ("--backend", "sqlite", "--path", str(store), "--log-level", "INFO")
    params = stdio_params(*args, env={"MEMORYGRAPH_SEMANTIC": semantic})
    with log.open("w") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            found, recalled = await _ask(client)
            if semantic == "on":
                _wait_for(READ_AHEAD, log)
    if semantic == "on":
        assert _ids(found)[0] == "pool" and _ids(recalled)[0] == "pool"
        _assert_answered_across_languages(found, recalled)
    else:
        assert "pool" not in _ids(found) and "pool" not in _ids(recalled)
        assert recalled["nothing_relevant"]
        assert "read ahead" not in log.read_text()


@pytest.mark.parametrize("semantic", ["on", "off"])
async def test_the_http_server_searches_by_meaning_when_the_environment_says(
    store: Path, tmp_path: Path, semantic: str
) -> None:
    args = ("--backend", "sqlite", "--path", str(store), "--log-level", "info")
    with running_server(tmp_path, *args, env={"MEMORYGRAPH_SEMANTIC": semantic}) as server:
        if semantic == "on":
            # Read before any call: the first search finds them held.
            _wait_for(READ_AHEAD, server.log)
        async with http_client(server.url) as client:
            found, recalled = await _ask(client)
    if semantic == "on":
        assert _ids(found)[0] == "pool" and _ids(recalled)[0] == "pool"
        _assert_answered_across_languages(found, recalled)
    else:
        assert "pool" not in _ids(found) and recalled["nothing_relevant"]


@pytest.mark.parametrize("semantic", ["on", "off"])
def test_the_cli_searches_and_recalls_by_meaning_when_the_environment_says(
    store: Path, semantic: str
) -> None:
    env = clean_env({"MEMORYGRAPH_SEMANTIC": semantic})
    answers = {}
    for command in ("search", "recall"):
        done = subprocess.run(
            [MEMORYGRAPH, command, QUESTION, "--path", str(store), "--limit", "2", "--json"],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        answers[command] = json.loads(done.stdout)
    found = [hit["id"] for hit in answers["search"]]
    recalled = _ids(answers["recall"])
    if semantic == "on":
        assert found[0] == "pool" and recalled[0] == "pool"
        assert not answers["recall"]["nothing_relevant"]
        assert answers["recall"]["relevance_threshold"] == CROSS_LANGUAGE_THRESHOLD
    else:
        assert "pool" not in found and "pool" not in recalled
        assert answers["recall"]["nothing_relevant"]
