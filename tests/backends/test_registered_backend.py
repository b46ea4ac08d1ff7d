"""A backend added from outside the package: registered with `register_backend` or
published in the entry-point group ``memorygraph.backends``, it passes the packaged
contract suite and is reachable by name from configs and the CLI's --backend."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from memorygraph.backends import catalog
from memorygraph.backends.registry import (
    backend_names,
    create_backend,
    register_backend,
    unregister_backend,
)
from memorygraph.backends.spec import SNAPSHOT_READS, BackendSpec
from memorygraph.backends.sqlite import SQLiteBackend
from memorygraph.cli.main import main
from memorygraph.config import BackendConfig, resolve_config
from memorygraph.errors import ConfigurationError, UnknownBackendError
from memorygraph.testing import BackendContractSuite, mem


class SidecarBackend(SQLiteBackend):
    """A SQLite store under a name and spec of its own."""


SIDECAR = BackendSpec(
    name="sqlite-sidecar",
    backend=SidecarBackend,
    locator="path",
    environment={"path": "SIDECAR_PATH"},
    capabilities=frozenset({SNAPSHOT_READS}),
)


@pytest.fixture
def sidecar() -> Iterator[BackendSpec]:
    register_backend(SIDECAR)
    yield SIDECAR
    unregister_backend(SIDECAR.name)


@pytest.fixture
def backend_config(sidecar: BackendSpec, tmp_path: Path) -> BackendConfig:
    return BackendConfig(sidecar.name, path=tmp_path / "sidecar.db")


class TestRegisteredBackendContract(BackendContractSuite):
    pass


async def test_a_registered_backend_is_reachable_by_name(
    sidecar: BackendSpec, tmp_path: Path
) -> None:
    assert "sqlite-sidecar" in backend_names()
    config = resolve_config("SQLite-Sidecar", environment={"SIDECAR_PATH": str(tmp_path / "s.db")})
    assert (config.backend_type, config.path) == ("sqlite-sidecar", tmp_path / "s.db")
    assert config.describe() == f"sqlite-sidecar at {tmp_path / 's.db'}"
    async with create_backend(config) as backend:
        assert type(backend) is SidecarBackend
        await backend.upsert_memories([mem(1)])
        assert (await backend.health()).backend == "sqlite-sidecar"
    with pytest.raises(ConfigurationError, match=r"sqlite-sidecar needs a path.*SIDECAR_PATH"):
        resolve_config("sqlite-sidecar")


def test_names_are_unique_and_built_ins_stay(sidecar: BackendSpec) -> None:
    with pytest.raises(ConfigurationError, match="already registered"):
        register_backend(BackendSpec(name=sidecar.name, backend=SQLiteBackend, locator="path"))
    with pytest.raises(ConfigurationError, match="built-in"):
        register_backend(BackendSpec(name="sqlite", backend=SidecarBackend, locator="path"))
    unregister_backend(sidecar.name)
    with pytest.raises(UnknownBackendError, match="choose one of: sqlite, falkordb"):
        BackendConfig(sidecar.name)


def test_a_spec_names_only_known_fields_and_capabilities() -> None:
    with pytest.raises(ConfigurationError, match="unknown field"):
        BackendSpec(name="x", backend=SQLiteBackend, locator="path", environment={"user": "X"})
    with pytest.raises(ConfigurationError, match="unknown capabilit"):
        BackendSpec(name="x", backend=SQLiteBackend, locator="path", capabilities={"telepathy"})


def test_the_cli_takes_a_registered_backend(
    sidecar: BackendSpec, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "cli.db"
    args = ["--backend", "sqlite-sidecar", "--path", str(db)]
    assert main(["add", "--type", "fix", "--title", "Pin redis", "--id", "pin", *args]) == 0
    capsys.readouterr()
    assert main(["stats", "--json", *args]) == 0
    assert json.loads(capsys.readouterr().out)["memories"] == 1
    assert main(["health", "--json", *args]) == 0
    assert json.loads(capsys.readouterr().out)["backend"] == "sqlite-sidecar"
    unregister_backend(sidecar.name)
    assert main(["stats", *args]) == 2
    assert "'sqlite-sidecar' is not one of" in capsys.readouterr().err


PLUGIN = """
from memorygraph.backends.spec import BackendSpec
from memorygraph.backends.sqlite import SQLiteBackend


class PluginBackend(SQLiteBackend):
    pass


SPEC = BackendSpec(
    name="sqlite-plugin",
    backend="mg_sidecar_plugin:PluginBackend",
    locator="path",
    install_hint="pip install mg-sidecar-plugin",
    environment={"path": "PLUGIN_PATH"},
)
"""


@pytest.fixture
def installed_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A distribution on sys.path whose entry point publishes the `sqlite-plugin` backend."""
    site = tmp_path / "site"
    info = site / "mg_sidecar_plugin-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mg-sidecar-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[memorygraph.backends]\nsqlite-plugin = mg_sidecar_plugin:SPEC\n"
    )
    (site / "mg_sidecar_plugin.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(site))
    # Discovery happens once per process: let this test's lookups discover again,
    # and forget what they load when it ends.
    monkeypatch.setattr(catalog, "_published", None)
    monkeypatch.setattr(catalog, "_specs", dict(catalog._specs))
    monkeypatch.delitem(sys.modules, "mg_sidecar_plugin", raising=False)
    return tmp_path


def test_an_entry_point_backend_is_found_and_imported_when_named(
    installed_plugin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert backend_names()[-1] == "sqlite-plugin"
    assert "mg_sidecar_plugin" not in sys.modules
    db = installed_plugin / "p.db"
    config = resolve_config("sqlite-plugin", environment={"PLUGIN_PATH": str(db)})
    assert config.spec.install_hint == "pip install mg-sidecar-plugin"
    assert "mg_sidecar_plugin" in sys.modules
    assert type(create_backend(config)).__name__ == "PluginBackend"
    args = ["--backend", "sqlite-plugin", "--path", str(db)]
    for i in ("a", "b"):
        assert main(["add", "--type", "fix", "--title", f"note {i}", "--id", i, *args]) == 0
    capsys.readouterr()
    assert main(["health", "--json", *args]) == 0
    health = json.loads(capsys.readouterr().out)
    assert (health["backend"], health["memory_count"]) == ("sqlite-plugin", 2)


def test_a_capability_the_spec_does_not_declare_skips_its_tests(tmp_path: Path) -> None:
    (tmp_path / "test_undeclared.py").write_text(
        textwrap.dedent(
            """
            import pytest

            from memorygraph.backends.registry import register_backend
            from memorygraph.backends.spec import BackendSpec
            from memorygraph.backends.sqlite import SQLiteBackend
            from memorygraph.config import BackendConfig
            from memorygraph.testing import BackendContractSuite


            class Plain(SQLiteBackend):
                pass


            register_backend(BackendSpec(name="sqlite-plain", backend=Plain, locator="path"))


            @pytest.fixture
            def backend_config(tmp_path):
                return BackendConfig("sqlite-plain", path=tmp_path / "plain.db")


            class TestPlain(BackendContractSuite):
                pass
            """
        )
    )
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:randomly", "-p", "no:cacheprovider",
         "-o", "asyncio_mode=auto", "-k", "snapshot or health", "test_undeclared.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert "1 passed, 1 skipped" in run.stdout, run.stdout + run.stderr
    assert "backend sqlite-plain does not declare capability snapshot_reads" in run.stdout
