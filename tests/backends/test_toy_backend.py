"""A backend defined here and registered by a "module:Class" string is usable like a
built-in one, with no other file touched: from the command line, from an MCP client,
as a migration's target, and under the packaged contract suite.

(The class stores in SQLite: the contract asks for full-text candidates, tombstones,
atomic single-record changes and namespaces, more than a few lines of an in-memory
class would honestly hold.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from memorygraph.backends.registry import register_backend, unregister_backend
from memorygraph.backends.spec import BackendSpec
from memorygraph.backends.sqlite import SQLiteBackend
from memorygraph.cli.main import main
from memorygraph.config import BackendConfig
from memorygraph.ops import migrations
from memorygraph.ops.migrations import MigrationOptions
from memorygraph.store import MemoryStore
from memorygraph.testing import BackendContractSuite, mem
from tests.mcp_server.helpers import call, in_process


class ToyBackend(SQLiteBackend):
    """A backend of this test module's own, known only by the string naming it."""


TOY = BackendSpec(
    name="toy",
    backend=f"{__name__}:ToyBackend",
    locator="path",
    environment={"path": "TOY_PATH"},
)


@pytest.fixture
def toy() -> Iterator[BackendSpec]:
    register_backend(TOY)
    yield TOY
    unregister_backend(TOY.name)


@pytest.fixture
def backend_config(toy: BackendSpec, tmp_path: Path) -> BackendConfig:
    return BackendConfig(toy.name, path=tmp_path / "toy.db")


class TestToyContract(BackendContractSuite):
    pass


def test_the_class_is_imported_from_its_string(backend_config: BackendConfig) -> None:
    from memorygraph.backends.registry import create_backend

    assert isinstance(TOY.backend, str)
    assert type(create_backend(backend_config)) is ToyBackend


def test_the_command_line_uses_it(
    backend_config: BackendConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--backend", "toy", "--path", str(backend_config.path)]
    assert main(["add", "--type", "fix", "--title", "Pin redis", "--id", "pin", *args]) == 0
    capsys.readouterr()
    assert main(["search", "redis", "--json", *args]) == 0
    assert "pin" in capsys.readouterr().out
    assert main(["health", "--json", *args]) == 0
    assert json.loads(capsys.readouterr().out)["backend"] == "toy"


async def test_an_mcp_client_uses_it(backend_config: BackendConfig) -> None:
    async with in_process(backend_config) as client:
        stored = await call(client, "store_memory", type="fix", title="Pin the toy's redis")
        found = await call(client, "search_memories", query="toy redis")
    assert stored["id"] in json.dumps(found)
    async with MemoryStore.open(backend_config) as store:
        assert (await store.get(stored["id"])).title == "Pin the toy's redis"


async def test_a_migration_moves_a_graph_into_it(
    backend_config: BackendConfig, tmp_path: Path
) -> None:
    source = BackendConfig("sqlite", path=tmp_path / "source.db")
    async with MemoryStore.open(source) as store:
        await store.backend.upsert_memories([mem(i) for i in range(5)])
    result = await migrations.migrate(
        source, backend_config, MigrationOptions(workdir=tmp_path / "work")
    )
    assert result.success
    async with MemoryStore.open(backend_config) as store:
        assert await store.backend.count_memories() == 5
