"""Fixtures of the browser tests: the graph library installed once with npm, one
headless Chromium for the session (its cookies cleared before each test), closed
at the end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from tests._upstream import frontend
from tests._upstream.npm import missing_tools
from tests.ui.browser import missing_browser, start_browser


@pytest.fixture(scope="session")
def graph_library() -> Path:
    """The pinned cytoscape build inside the package; installs it on the first use."""
    missing = missing_tools()
    if missing:
        pytest.skip(
            f"{' and '.join(missing)} not found on PATH: the pages' graph library needs npm"
        )
    path, seconds = frontend.ensure_installed()
    if seconds:
        print(f"\ninstalled {frontend.PACKAGE}@{frontend.VERSION} in {seconds:.1f}s")
    return path


@pytest.fixture(scope="session")
def chromium(graph_library: Path) -> Iterator[WebDriver]:
    missing = missing_browser()
    if missing:
        pytest.skip(
            f"{', '.join(missing)} not installed: the browser tests need Debian's chromium and "
            "chromium-driver (.ci/run installs them)"
        )
    driver = start_browser()
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def browser(chromium: WebDriver) -> WebDriver:
    """The session's browser with no cookie and an empty console log."""
    chromium.execute_cdp_cmd("Network.clearBrowserCookies", {})
    chromium.get("about:blank")
    chromium.get_log("browser")
    return chromium
