"""A backend defined here and registered by a "module:Class" string is usable like a
built-in one, with no other file touched: from the command line, from an MCP client,
as a migration's target, and under the packaged contract suite.

The class (`tests.backends.toy_memory.ToyBackend`) keeps its records in this process's
memory, one store per path, and declares no optional capability: the suite's mixins
for those are skipped."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from memorygraph.backends.registry import register_backend, unregister_backend
from memorygraph.backends.spec import BackendSpec
from memorygraph.cli.main import main
from memorygraph.config import BackendConfig
from memorygraph.errors import DatabaseFileError
from memorygraph.ops import migrations
from memorygraph.ops.migrations import MigrationOptions
from memorygraph.store import MemoryStore
from memorygraph.testing import BackendContractSuite, mem
from tests.backends import toy_memory
from tests.mcp_server.helpers import call, in_process

TOY = BackendSpec(
    name="toy",
    backend="tests.backends.toy_memory:ToyBackend",
    locator="path",
    environment={"path": "TOY_PATH"},
)


@pytest.fixture
def toy() -> Iterator[BackendSpec]:
    register_backend(TOY)
    yield TOY
    unregister_backend(TOY.name)
    # Nothing else frees a toy store: it lives in this process until dropped.
    toy_memory.forget_stores()


@pytest.fixture
def backend_config(toy: BackendSpec, tmp_path: Path) -> BackendConfig:
    return BackendConfig(toy.name, path=tmp_path / "toy.db")


class TestToyContract(BackendContractSuite):
    pass


def test_the_class_is_imported_from_its_string(backend_config: BackendConfig) -> None:
    from memorygraph.backends.registry import create_backend

    assert isinstance(TOY.backend, str)
    assert type(create_backend(backend_config)) is toy_memory.ToyBackend


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


async def test_each_path_is_a_store_of_its_own_marked_by_a_file(
    backend_config: BackendConfig, tmp_path: Path
) -> None:
    other = BackendConfig("toy", path=tmp_path / "other.db")
    with pytest.raises(DatabaseFileError, match="no store"):
        async with MemoryStore.open(other.read_only_copy()):
            pass
    async with MemoryStore.open(backend_config) as store:
        await store.backend.upsert_memories([mem(1)])
    async with MemoryStore.open(other) as store:
        assert await store.backend.count_memories() == 0
    async with MemoryStore.open(backend_config.read_only_copy()) as store:
        assert await store.backend.count_memories() == 1
    assert backend_config.path is not None and backend_config.path.read_text() == toy_memory.MARKER
