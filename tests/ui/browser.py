"""A real headless browser (Debian's Chromium through its chromedriver, driven by
selenium) and the servers the pages are tested on: `memorygraph ui` and the team
server, each the installed command in a child process, stopped after the test."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests.http.helpers import clean_env, free_port
from tests.mcp_server.helpers import MEMORYGRAPH

ROOT = Path(__file__).resolve().parents[2]
#: Where the screenshots the tests take go (docs/UI.md shows them).
SCREENSHOTS = ROOT / "docs" / "ui"
#: Seconds a page gets to show what a test waits for.
WAIT = 15.0

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def missing_browser() -> list[str]:
    """The programs the browser tests need that are not installed."""
    return [p for p in (CHROMIUM, CHROMEDRIVER) if shutil.which(p) is None]


def start_browser() -> WebDriver:
    """Headless Chromium, with its console log kept (CSP violations show there)."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,1000",
        "--no-first-run",
        "--disable-extensions",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def wait_for(driver: WebDriver, css: str, timeout: float = WAIT) -> WebElement:
    """The first element matching `css` once it is displayed."""

    def shown(d: WebDriver) -> WebElement | bool:
        for found in d.find_elements(By.CSS_SELECTOR, css):
            if found.is_displayed():
                return found
        return False

    # An element found while the page draws that part again goes stale: look again.
    wait = WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,))
    element: WebElement = wait.until(shown)
    return element


def wait_until(driver: WebDriver, script: str, timeout: float = WAIT) -> Any:
    """What `script` (a JavaScript expression) returns once it is truthy."""
    return WebDriverWait(driver, timeout).until(lambda d: d.execute_script(f"return {script}"))


def console_errors(driver: WebDriver) -> list[str]:
    """The browser console's errors since the last call (CSP refusals among them)."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def screenshot(driver: WebDriver, name: str) -> Path:
    """Save what the browser shows as docs/ui/NAME.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


@dataclass
class Server:
    """A running server process, where its pages are, and what it logged."""

    process: subprocess.Popen[bytes]
    base: str
    log: Path

    def stderr(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def serving(
    tmp_path: Path,
    args: list[str],
    ready: str,
    base_path: str,
    env: dict[str, str] | None = None,
) -> Iterator[Server]:
    """`memorygraph ARGS --port FREE` (with `env` added to a clean environment), once its
    stderr says `ready`; stopped with SIGTERM (then killed) after."""
    port = free_port()
    log = tmp_path / f"server-{port}.log"
    with log.open("wb") as err:
        process = subprocess.Popen(
            [MEMORYGRAPH, *args, "--port", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=clean_env(env),
        )
    server = Server(process, f"http://127.0.0.1:{port}{base_path}", log)
    deadline = time.monotonic() + 60
    try:
        while ready not in server.stderr():
            if process.poll() is not None:
                raise AssertionError(f"the server exited {process.returncode}: {server.stderr()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"the server did not start: {server.stderr()}")
            time.sleep(0.05)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def ui_server(tmp_path: Path, store: Path, workdir: Path) -> Any:
    """`memorygraph ui` over the SQLite store at `store`."""
    args = ["ui", "--path", str(store), "--workdir", str(workdir), "--no-browser"]
    return serving(tmp_path, args, "memorygraph ui: serving", "/")


def team_server(
    tmp_path: Path, store: Path, workdir: Path, *options: str, env: dict[str, str] | None = None
) -> Any:
    """`memorygraph serve --transport http` over `store`, its pages at /ui/."""
    args = [
        "serve",
        "--transport",
        "http",
        "--path",
        str(store),
        "--workdir",
        str(workdir),
        *options,
    ]
    return serving(tmp_path, args, "MCP over HTTP at", "/ui/", env)
