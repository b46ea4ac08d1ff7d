"""Fixtures the migration pair tests share: two SQLite stores, so that a pair of
kinds names its two ends by fixture (`<kind>_config`, `other_sqlite_config`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from memorygraph.config import BackendConfig


@pytest.fixture
def sqlite_config(tmp_path: Path) -> BackendConfig:
    return BackendConfig("sqlite", path=tmp_path / "one.db")


@pytest.fixture
def other_sqlite_config(tmp_path: Path) -> BackendConfig:
    return BackendConfig("sqlite", path=tmp_path / "two.db")
