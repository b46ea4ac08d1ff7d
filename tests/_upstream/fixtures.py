"""The `upstream` fixture: memorygraphMCP 0.12.4 in its own virtualenv, once per session."""

from __future__ import annotations

import pytest

from tests._upstream.venv import Upstream, ensure_venv


@pytest.fixture(scope="session")
def upstream() -> Upstream:
    """Upstream's interpreter; installs it from PyPI on the first use (CI: every run)."""
    python, seconds = ensure_venv()
    if seconds:
        print(f"\ninstalled upstream memorygraphMCP in {seconds:.1f}s")
    return Upstream(python, seconds)
