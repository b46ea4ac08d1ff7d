"""The tools memorygraph exchanges files with, installed once per session: the `upstream`
fixture (memorygraphMCP 0.12.4 in its own virtualenv), the `memory_server` fixture
(the reference MCP memory server from npm) and the `inspector_cli` fixture
(the MCP inspector's command line from npm)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests._upstream import inspector
from tests._upstream import memory_server as reference
from tests._upstream.npm import missing_tools
from tests._upstream.venv import Upstream, ensure_venv


@pytest.fixture(scope="session")
def upstream() -> Upstream:
    """Upstream's interpreter; installs it from PyPI on the first use (CI: every run)."""
    python, seconds = ensure_venv()
    if seconds:
        print(f"\ninstalled upstream memorygraphMCP in {seconds:.1f}s")
    return Upstream(python, seconds)


def _installed(
    what: str, package: str, version: str, install: Callable[[], tuple[Path, float]]
) -> Path:
    """`install()`'s script, announcing the first install; skips the test only when
    node or npm is not installed."""
    missing = missing_tools()
    if missing:
        pytest.skip(
            f"{' and '.join(missing)} not found on PATH: {what} ({package}@{version}) needs "
            "Node.js and npm"
        )
    script, seconds = install()
    if seconds:
        print(f"\ninstalled {package}@{version} in {seconds:.1f}s")
    return script


@pytest.fixture(scope="session")
def memory_server() -> Path:
    """The reference memory server's script; installs the pinned version with npm on the
    first use."""
    return _installed(
        "the reference MCP memory server",
        reference.PACKAGE,
        reference.VERSION,
        reference.ensure_installed,
    )


@pytest.fixture(scope="session")
def inspector_cli() -> Path:
    """The MCP inspector's launcher script; installs the pinned version with npm on the
    first use."""
    return _installed(
        "the MCP inspector", inspector.PACKAGE, inspector.VERSION, inspector.ensure_installed
    )
