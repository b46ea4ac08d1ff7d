"""Contract tests for many agents on one store: no acknowledged write is ever lost.

Every agent window starts its own `memorygraph serve`, so several processes that
change the same memories at once are the normal case. These tests start two and
four real `memorygraph serve` processes on the store `backend_config` names and
drive each with a real MCP client (the `mcp` SDK's, over stdio), all at once:

* writers that change *different* fields of the same memories all keep their
  change, round after round;
* writers that change the *same* field with the `expected_version` they read:
  exactly one wins each round, the others are told of a conflict, and the
  stored value is the winner's;
* writers that store the *same new id* at once: one is stored, the others are
  told the id is taken, and nothing is silently replaced.

After the races the search index and change times must agree with the records.
`BackendContractSuite` includes these tests, so every backend inherits them.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp.types import CallToolResult

from memorygraph.backends.base import Backend
from memorygraph.backends.registry import create_backend, known_to_new_processes
from memorygraph.config import BackendConfig
from memorygraph.models import Memory, MemoryType
from memorygraph.patch import version_of
from memorygraph.store import MemoryStore

#: Memories every writer changes each round, and rounds.
MEMORIES = 20
ROUNDS = 5
#: A word per round and per writer, each a search term of its own, so the search
#: index shows which write it holds.
ROUND_WORDS = ("amber", "birch", "cedar", "dahlia", "ember")
WRITER_WORDS = ("north", "south", "east", "west")
#: The field each writer changes when writers change different fields.
WRITER_FIELDS = ("title", "content", "summary", "tags")


def serve_parameters(config: BackendConfig) -> StdioServerParameters:
    """`memorygraph serve` on `config`'s store, as an MCP client starts it: the installed
    command, the store's location as options, its password in the environment (never
    on a command line)."""
    args = ["-m", "memorygraph", "serve", "--backend", config.backend_type]
    for flag, value in (
        ("--path", config.path),
        ("--uri", config.uri),
        ("--user", config.username),
        ("--database", config.database),
    ):
        if value is not None:
            args += [flag, str(value)]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MEMORY_")}
    password_variable = config.spec.environment.get("password")
    if config.password is not None and password_variable:
        environment[password_variable] = config.password
    # The installed command, as an agent starts it, where there is one beside Python.
    installed = Path(sys.executable).parent / "memorygraph"
    if installed.exists():
        return StdioServerParameters(command=str(installed), args=args[2:], env=environment)
    return StdioServerParameters(command=sys.executable, args=args, env=environment)


def text_of(result: CallToolResult) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    """Call `tool`, fail unless it succeeded, and return its structured content."""
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, f"{tool} failed: {text_of(result)}"
    content: dict[str, Any] | None = result.structured_content
    assert content is not None
    return content


async def call_or_conflict(client: Client, tool: str, **arguments: Any) -> dict[str, Any] | None:
    """Call `tool`; its structured content on success, None when it was refused as a
    conflict. Any other failure fails the test."""
    result = await client.call_tool(tool, arguments)
    if result.is_error:
        message = text_of(result)
        assert "changed since version" in message or "already in use" in message, message
        assert "nothing was written" in message, message
        return None
    content: dict[str, Any] | None = result.structured_content
    assert content is not None
    return content


def seed(i: int) -> Memory:
    return Memory(
        id=f"shared-{i:02d}",
        type=MemoryType.TASK,
        title=f"seed title {i}",
        content=f"seed content {i}",
        tags=["seed"],
    )


class ConcurrentEditsContract:
    """Separate server processes editing one store at once lose no acknowledged write."""

    @pytest.fixture
    async def shared_store(self, backend_config: BackendConfig) -> AsyncIterator[Backend]:
        """The store, opened here for the whole test and seeded: it creates the schema
        before the servers could race to, and owns an embedded engine they join."""
        if not known_to_new_processes(backend_config.backend_type):
            pytest.skip(
                f"backend {backend_config.backend_type} is registered only in this process, "
                "so a memorygraph serve process cannot open it; publish its spec in the "
                "memorygraph.backends entry-point group to run these tests"
            )
        async with create_backend(backend_config) as backend:
            await backend.upsert_memories([seed(i) for i in range(MEMORIES)])
            yield backend

    @staticmethod
    async def _with_writers(
        config: BackendConfig, writers: int, work: Callable[[int, Client], Awaitable[Any]]
    ) -> list[Any]:
        """Start `writers` servers with a client each, then run `work(n, client)` for
        every writer at once; return what each returned."""
        async with AsyncExitStack() as stack:
            clients = [
                await stack.enter_async_context(Client(serve_parameters(config)))
                for _ in range(writers)
            ]
            return list(await asyncio.gather(*(work(n, c) for n, c in enumerate(clients))))

    @pytest.mark.parametrize("writers", [2, 4])
    async def test_writers_of_different_fields_all_keep_their_changes(
        self, shared_store: Backend, backend_config: BackendConfig, writers: int
    ) -> None:
        started = datetime.now(UTC)
        barrier = asyncio.Barrier(writers)

        async def writer(n: int, client: Client) -> int:
            acknowledged = 0
            field = WRITER_FIELDS[n]
            for word in ROUND_WORDS[:ROUNDS]:
                await barrier.wait()  # every round starts together
                for i in range(MEMORIES):
                    value = f"{word} {WRITER_WORDS[n]} {i}"
                    change = {"add_tags": [word]} if field == "tags" else {field: value}
                    view = await call(client, "update_memory", memory_id=seed(i).id, **change)
                    assert view["id"] == seed(i).id
                    acknowledged += 1
            return acknowledged

        acknowledged = await self._with_writers(backend_config, writers, writer)
        assert acknowledged == [ROUNDS * MEMORIES] * writers

        last = ROUND_WORDS[ROUNDS - 1]
        missing: list[str] = []
        for memory in await shared_store.get_memories([seed(i).id for i in range(MEMORIES)]):
            i = int(memory.id.rsplit("-", 1)[1])
            expected = {
                f: f"{last} {WRITER_WORDS[n]} {i}" for n, f in enumerate(WRITER_FIELDS[:writers])
            }
            for field, value in expected.items():
                if field == "tags":
                    if memory.tags != ["seed", *ROUND_WORDS[:ROUNDS]]:
                        missing.append(f"{memory.id}.tags = {memory.tags}")
                elif getattr(memory, field) != value:
                    missing.append(f"{memory.id}.{field} = {getattr(memory, field)!r}")
        assert not missing, f"acknowledged updates lost: {missing}"
        await self._assert_consistent(shared_store, started)

    async def test_writers_of_one_field_with_expected_version_one_wins_each_round(
        self, shared_store: Backend, backend_config: BackendConfig
    ) -> None:
        writers = 4
        barrier = asyncio.Barrier(writers)
        started = datetime.now(UTC)

        async def writer(n: int, client: Client) -> list[list[str | None]]:
            # Per round, per memory: the title this writer stored, or None on a conflict.
            outcomes: list[list[str | None]] = []
            for word in ROUND_WORDS[:ROUNDS]:
                read = [
                    (await call(client, "get_memory", memory_id=seed(i).id))["memory"]["version"]
                    for i in range(MEMORIES)
                ]
                await barrier.wait()  # everyone read the same versions before anyone writes
                round_outcome: list[str | None] = []
                for i in range(MEMORIES):
                    title = f"{word} {WRITER_WORDS[n]} {i}"
                    view = await call_or_conflict(
                        client,
                        "update_memory",
                        memory_id=seed(i).id,
                        title=title,
                        expected_version=read[i],
                    )
                    round_outcome.append(None if view is None else title)
                outcomes.append(round_outcome)
                await barrier.wait()  # the round is over for everyone before the next read
            return outcomes

        outcomes = await self._with_writers(backend_config, writers, writer)
        for r in range(ROUNDS):
            for i in range(MEMORIES):
                winners = [o[r][i] for o in outcomes if o[r][i] is not None]
                assert len(winners) == 1, f"round {r}, memory {i}: {len(winners)} writers won"
        stored = {
            m.id: m for m in await shared_store.get_memories([seed(i).id for i in range(MEMORIES)])
        }
        for i in range(MEMORIES):
            final = [o[ROUNDS - 1][i] for o in outcomes if o[ROUNDS - 1][i] is not None]
            assert stored[seed(i).id].title == final[0]
        await self._assert_consistent(shared_store, started)

    async def test_writers_of_one_field_without_version_leave_the_last_acknowledged(
        self, shared_store: Backend, backend_config: BackendConfig
    ) -> None:
        writers = 2
        barrier = asyncio.Barrier(writers)
        started = datetime.now(UTC)
        rounds: list[dict[str, list[tuple[str, str]]]] = [{} for _ in range(ROUNDS)]

        async def writer(n: int, client: Client) -> None:
            for r, word in enumerate(ROUND_WORDS[:ROUNDS]):
                await barrier.wait()
                for i in range(MEMORIES):
                    title = f"{word} {WRITER_WORDS[n]} {i}"
                    view = await call(client, "update_memory", memory_id=seed(i).id, title=title)
                    rounds[r].setdefault(seed(i).id, []).append((title, view["version"]))
                await barrier.wait()
                if n == 0:
                    await self._assert_last_acknowledged_stays(shared_store, rounds[r])

        await self._with_writers(backend_config, writers, writer)
        await self._assert_consistent(shared_store, started)

    @staticmethod
    async def _assert_last_acknowledged_stays(
        backend: Backend, acknowledged: dict[str, list[tuple[str, str]]]
    ) -> None:
        """Each memory holds one of the titles written to it this round, whole, at the
        very version its writer was told: the write acknowledged last is what stays."""
        for memory in await backend.get_memories(sorted(acknowledged)):
            told = dict(acknowledged[memory.id])
            assert memory.title in told, f"{memory.id} holds {memory.title!r}, never written"
            assert version_of(memory) == told[memory.title], (
                f"{memory.id} is not at the version its last writer was told"
            )

    async def test_writers_of_one_new_id_store_it_once(
        self, shared_store: Backend, backend_config: BackendConfig
    ) -> None:
        writers = 4
        barrier = asyncio.Barrier(writers)

        async def writer(n: int, client: Client) -> list[bool]:
            stored: list[bool] = []
            for r in range(ROUNDS):
                await barrier.wait()
                result = await call_or_conflict(
                    client,
                    "store_memory",
                    type="task",
                    title=f"{ROUND_WORDS[r]} {WRITER_WORDS[n]}",
                    memory_id=f"new-{r}",
                )
                stored.append(result is not None)
            return stored

        outcomes = await self._with_writers(backend_config, writers, writer)
        memories = {
            m.id: m for m in await shared_store.get_memories([f"new-{r}" for r in range(ROUNDS)])
        }
        for r in range(ROUNDS):
            winners = [n for n, o in enumerate(outcomes) if o[r]]
            assert len(winners) == 1, f"round {r}: {len(winners)} writers stored new-{r}"
            assert memories[f"new-{r}"].title == f"{ROUND_WORDS[r]} {WRITER_WORDS[winners[0]]}"

    async def test_an_id_in_use_is_refused_and_replaced_only_when_asked(
        self, shared_store: Backend, backend_config: BackendConfig
    ) -> None:
        async with Client(serve_parameters(backend_config)) as client:
            taken = seed(0).id
            message = text_of(
                await client.call_tool(
                    "store_memory", {"type": "task", "title": "other", "memory_id": taken}
                )
            )
            assert "already in use" in message and "memory_id" in message
            assert (await shared_store.get_memories([taken]))[0].title == seed(0).title
            await call(
                client, "store_memory", type="fix", title="replaced", memory_id=taken, replace=True
            )
        replaced = (await shared_store.get_memories([taken]))[0]
        assert (replaced.title, replaced.type) == ("replaced", MemoryType.FIX)

    @staticmethod
    async def _assert_consistent(backend: Backend, started: datetime) -> None:
        """The search index holds each record's final words and none it lost, every
        changed record's change time is after `started` and `since` finds it, and each
        record reads back at the version its digest gives."""
        store = MemoryStore(backend)
        ids = {seed(i).id for i in range(MEMORIES)}
        memories = {m.id: m for m in await backend.get_memories(sorted(ids))}

        def holds(memory: Memory, words: str) -> bool:
            text = " ".join([memory.title, memory.content, memory.summary or "", *memory.tags])
            return words in text

        for words in [*ROUND_WORDS[:ROUNDS], "seed title", "seed content"]:
            found = {h.memory.id for h in await store.search(f'"{words}"', limit=100)} & ids
            holding = {i for i, m in memories.items() if holds(m, words)}
            assert found == holding, (
                f"search for {words!r} finds {sorted(found - holding)} that no longer hold it "
                f"and misses {sorted(holding - found)}"
            )
        for memory in memories.values():
            assert memory.changed_at > started, f"{memory.id} kept its old change time"
        changed = {m.id async for m in backend.iter_memories(since=started)}
        assert ids <= changed, f"since misses changed memories: {sorted(ids - changed)}"
