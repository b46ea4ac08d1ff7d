"""The migrations page of the HTTP server's pages (on loopback, for the local user): a
real migration run through the server's tool and a failed one left with its journal
both listed with their counts; the failed one rolled back from the page, another
resumed from it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from memorygraph.config import BackendConfig
from memorygraph.errors import MigrationError
from memorygraph.migration.journal import written_counts
from memorygraph.migration.manager import MigrationManager
from memorygraph.migration.models import MigrationOptions
from tests.http.helpers import http_client
from tests.mcp_server.helpers import call
from tests.migration.helpers import dropping_factory, fill, snapshot
from tests.ui.browser import console_errors, screenshot, team_server, wait_for


def sqlite(path: Path) -> BackendConfig:
    return BackendConfig("sqlite", path=path)


def counts_of(row: WebElement) -> dict[str, int]:
    return {
        str(item.get_attribute("data-name")): int(str(item.get_attribute("data-value")))
        for item in row.find_elements(By.CSS_SELECTOR, "ul.counts li")
    }


T = TypeVar("T")
#: The page draws its table again after an action; an element read in between is stale.
REDRAWN = (StaleElementReferenceException,)


def steady(read: Callable[[], T]) -> T:
    """`read()`, asked again while the table it reads is being drawn again."""
    for _ in range(20):
        try:
            return read()
        except REDRAWN:
            time.sleep(0.1)
    return read()


def row_of(browser: WebDriver, migration_id: str) -> WebElement:
    return wait_for(browser, f"#migrations tr[data-id='{migration_id}']")


async def migrate_through_the_server(url: str, target: Path) -> dict[str, object]:
    async with http_client(url) as client:
        where = {"path": str(target)}
        await call(
            client, "migrate_database", target_backend="sqlite", target_config=where, dry_run=True
        )
        return await call(client, "migrate_database", target_backend="sqlite", target_config=where)


async def fail_half_way(source: BackendConfig, target: BackendConfig, work: Path) -> None:
    """A migration whose target connection drops after one batch, its journal kept."""
    manager = MigrationManager(backend_factory=dropping_factory(target, after_batches=1))
    with pytest.raises(MigrationError):
        await manager.migrate(
            source, target, MigrationOptions(workdir=work, rollback_on_failure=False, batch_size=20)
        )


def test_a_migration_and_a_rollback_are_listed_with_their_counts(
    browser: WebDriver, tmp_path: Path
) -> None:
    source, work = sqlite(tmp_path / "memory.db"), tmp_path / "work"
    asyncio.run(fill(source, n=30, tricky=False))
    with team_server(tmp_path, tmp_path / "memory.db", work, "--profile", "extended") as server:
        mcp_url = server.base.replace("/ui/", "/mcp")
        report = asyncio.run(migrate_through_the_server(mcp_url, tmp_path / "copy.db"))
        assert report["success"] is True
        committed = str(report["migration_id"])

        failing = sqlite(tmp_path / "failing.db")
        asyncio.run(fail_half_way(source, failing, work))
        journal = next(work.glob("*/journal.jsonl"))
        failed = journal.parent.name
        written = written_counts(journal)
        assert written["memories_inserted"] == 30, "one batch of memories reached the target"

        browser.get(server.base + "migrations")
        row = row_of(browser, committed)
        assert row.get_attribute("data-state") == "committed"
        counts = counts_of(row)
        assert counts["memories_read"] == 30 and counts["memories_inserted"] == 30
        assert counts["relationships_read"] == 60 and counts["relationships_inserted"] == 60
        assert counts["memories_verified"] + counts["relationships_verified"] == 90
        assert "passed: 90 of 90" in row.text

        row = row_of(browser, failed)
        assert row.get_attribute("data-state") != "rolled_back"
        assert counts_of(row) == {name: n for name, n in written.items() if n}
        assert row_of(browser, committed).find_elements(By.CSS_SELECTOR, "button.rollback") == []
        screenshot(browser, "migrations-before-rollback")
        row.find_element(By.CSS_SELECTOR, "button.rollback").click()
        wait_for(browser, "#confirm-rollback[open]")
        assert failed in browser.find_element(By.ID, "confirm-id").text
        browser.find_element(By.ID, "confirm-yes").click()

        WebDriverWait(browser, 20, ignored_exceptions=REDRAWN).until(
            lambda d: row_of(d, failed).get_attribute("data-state") == "rolled_back"
        )
        counts = steady(lambda: counts_of(row_of(browser, failed)))
        assert counts["deleted_memories"] == written["memories_inserted"]
        assert counts["deleted_relationships"] == written["relationships_inserted"]
        assert asyncio.run(snapshot(failing)) == {}, "the rollback removed what was written"
        assert steady(lambda: row_of(browser, committed).get_attribute("data-state")) == (
            "committed"
        )
        browser.execute_script("window.scrollTo(0, 0)")
        screenshot(browser, "migrations")

        # Another interrupted one, resumed from the page instead.
        unfinished = sqlite(tmp_path / "unfinished.db")
        asyncio.run(fail_half_way(source, unfinished, work))
        journal = next(j for j in work.glob("*/journal.jsonl") if j.parent.name != failed)
        browser.refresh()
        row_of(browser, journal.parent.name).find_element(By.CSS_SELECTOR, "button.resume").click()
        wait_for(browser, "#confirm-rollback[open]")
        assert browser.find_element(By.ID, "confirm-yes").text == "Resume"
        browser.find_element(By.ID, "confirm-yes").click()
        WebDriverWait(browser, 30, ignored_exceptions=REDRAWN).until(
            lambda d: row_of(d, journal.parent.name).get_attribute("data-state") == "committed"
        )
        resumed = steady(
            lambda: (
                row_of(browser, journal.parent.name).text,
                row_of(browser, journal.parent.name).find_elements(By.CSS_SELECTOR, "button"),
            )
        )
        assert "passed: 90 of 90" in resumed[0]
        assert resumed[1] == []
        assert asyncio.run(snapshot(unfinished)) == asyncio.run(snapshot(source))
        assert console_errors(browser) == []
