"""The pages of `memorygraph ui` in a real headless browser: search, a memory, its
graph walked by clicking a drawn memory, activity and statistics, and text that
tries to run script shown as text."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from memorygraph.config import BackendConfig
from memorygraph.ops import memories as ops
from memorygraph.store import MemoryStore
from tests.ui.browser import (
    console_errors,
    screenshot,
    ui_server,
    wait_for,
    wait_until,
)

#: (id, type, title) of a small incident's memories, and how they are related.
INCIDENT = [
    ("redis-idle", "problem", "Redis drops idle clients after the upgrade"),
    ("pin-redis", "solution", "Pin redis to 7.2 until the client library catches up"),
    ("keepalive", "fix", "Set tcp-keepalive to 60 seconds"),
    ("reset-error", "error", "ConnectionResetError in the queue worker"),
    ("redis-tech", "technology", "Redis"),
    ("cache-policy", "workflow", "Upgrade caches one minor version at a time"),
    ("old-fix", "fix", "Restart the worker every hour"),
]
LINKS = [
    ("pin-redis", "redis-idle", "SOLVES"),
    ("keepalive", "redis-idle", "ADDRESSES"),
    ("reset-error", "redis-idle", "LEADS_TO"),
    ("redis-idle", "redis-tech", "OCCURS_IN"),
    ("pin-redis", "cache-policy", "DEPENDS_ON"),
    ("keepalive", "old-fix", "REPLACES"),
]


def sqlite(path: Path) -> BackendConfig:
    return BackendConfig("sqlite", path=path)


async def write_incident(config: BackendConfig) -> None:
    async with MemoryStore.open(config) as store:
        for memory_id, kind, title in INCIDENT:
            await ops.remember(
                store, type=kind, title=title, content=f"{title}.", memory_id=memory_id
            )
        for i in range(40):
            await ops.remember(store, type="general", title=f"Unrelated note {i}", content="x")
        for from_id, to_id, kind in LINKS:
            await ops.relate(
                store, from_memory_id=from_id, to_memory_id=to_id, relationship_type=kind
            )
        invalidated = await ops.relate(
            store,
            from_memory_id="old-fix",
            to_memory_id="reset-error",
            relationship_type="ADDRESSES",
        )
        await ops.invalidate_relationship(
            store, relationship_id=invalidated.id, invalidated_by="keepalive"
        )


async def library_count(config: BackendConfig, memory_id: str, depth: int) -> int:
    """How many memories the library finds within `depth` relationships, the memory
    itself included, counted by its own walk (`get_related_memories`)."""
    found, offset = 0, 0
    async with MemoryStore.open(config) as store:
        while True:
            page = await ops.get_related_memories(
                store,
                memory_id=memory_id,
                max_depth=depth,
                include_invalidated=True,
                offset=offset,
                limit=50,
            )
            found += len(page.results)
            if page.page.next_offset is None:
                return 1 + found
            offset = page.page.next_offset


def drawn_nodes(driver: WebDriver) -> int:
    count: int = wait_until(driver, "document.getElementById('graph-count').dataset.nodes")
    assert int(count) == driver.execute_script("return window.memorygraphGraph.nodes().length")
    return int(count)


def click_drawn(driver: WebDriver, memory_id: str) -> None:
    """Click, with the mouse, where the graph drew `memory_id`."""
    wait_until(driver, "window.memorygraphGraph && window.memorygraphGraph.nodes().length > 1")
    # The layout settles before the first frame; ask where the node is on the canvas.
    x, y = driver.execute_script(
        "const p = window.memorygraphGraph.getElementById(arguments[0]).renderedPosition();"
        "return [p.x, p.y];",
        memory_id,
    )
    canvas = driver.find_element(By.ID, "graph")
    width, height = canvas.size["width"], canvas.size["height"]
    ActionChains(driver).move_to_element_with_offset(
        canvas, int(x - width / 2), int(y - height / 2)
    ).click().perform()


def test_search_open_a_memory_and_walk_its_graph(browser: WebDriver, tmp_path: Path) -> None:
    config = sqlite(tmp_path / "memory.db")
    asyncio.run(write_incident(config))
    with ui_server(tmp_path, tmp_path / "memory.db", tmp_path / "work") as server:
        browser.get(server.base)
        box = wait_for(browser, "#q")
        box.send_keys("redis idle clients\n")
        first = wait_for(browser, "#results li.result a")
        assert first.text == "Redis drops idle clients after the upgrade"
        screenshot(browser, "search")
        first.click()

        wait_until(browser, "document.getElementById('m-title').textContent")
        assert browser.find_element(By.ID, "m-title").text == INCIDENT[0][2]
        invalid = browser.find_elements(By.CSS_SELECTOR, "#m-relationships tr.invalid")
        assert invalid == [], "the problem's own relationships are all valid"
        expected = asyncio.run(library_count(config, "redis-idle", 2))
        assert drawn_nodes(browser) == expected
        assert expected > 1 + 4, "two hops reach past the direct neighbours"
        listed = browser.find_elements(By.CSS_SELECTOR, "#graph-nodes li")
        assert len(listed) == expected - 1
        browser.execute_script("document.getElementById('m-title').scrollIntoView()")
        screenshot(browser, "memory-graph")

        click_drawn(browser, "pin-redis")
        WebDriverWait(browser, 15).until(
            lambda d: parse_qs(urlsplit(d.current_url).query).get("id") == ["pin-redis"]
        )
        wait_until(browser, "document.getElementById('m-title').textContent")
        assert browser.find_element(By.ID, "m-title").text == INCIDENT[1][2]
        assert drawn_nodes(browser) == asyncio.run(library_count(config, "pin-redis", 2))

        Select(browser.find_element(By.ID, "depth")).select_by_visible_text("1")
        assert drawn_nodes(browser) == asyncio.run(library_count(config, "pin-redis", 1))

        browser.get(server.base + "activity")
        wait_for(browser, "#timeline li")
        assert len(browser.find_elements(By.CSS_SELECTOR, "#timeline li")) == 47
        screenshot(browser, "activity")
        browser.get(server.base + "stats")
        summary = wait_for(browser, "#stats-summary")
        WebDriverWait(browser, 15).until(lambda d: "47 memories" in summary.text)
        screenshot(browser, "stats")
        errors = console_errors(browser)
        print("\n".join(errors))
        assert errors == []


HOSTILE = [
    "<script>window.__injected = 'script'</script>",
    '<img src="x" onerror="window.__injected = \'img\'">',
    "<a href=\"javascript:window.__injected='link'\">open me</a>",
    "\u202etxt.exe hostile right-to-left override",
    '"><svg onload="window.__injected=\'svg\'">',
]


async def write_hostile(config: BackendConfig) -> list[str]:
    async with MemoryStore.open(config) as store:
        ids = []
        for i, text in enumerate(HOSTILE):
            stored = await ops.remember(
                store,
                type="general",
                title=f"hostile {text}",
                content=f"hostile body {text}",
                summary=text,
                tags=[text[:60]],
                memory_id=f"hostile-{i}",
            )
            ids.append(stored.id)
        big = await ops.remember(
            store,
            type="general",
            title="hostile megabyte",
            content=("<script>window.__injected='big'</script>" * 26_000)[:1_000_000],
            memory_id="hostile-big",
        )
        ids.append(big.id)
        for other in ids[1:]:
            await ops.relate(
                store,
                from_memory_id=ids[0],
                to_memory_id=other,
                relationship_type="RELATED_TO",
                description=HOSTILE[1],
            )
        return ids


def test_hostile_text_is_shown_as_text_and_runs_nothing(browser: WebDriver, tmp_path: Path) -> None:
    config = sqlite(tmp_path / "memory.db")
    ids = asyncio.run(write_hostile(config))
    with ui_server(tmp_path, tmp_path / "memory.db", tmp_path / "work") as server:
        browser.get(server.base + "?q=hostile")
        wait_for(browser, "#results li.result")
        WebDriverWait(browser, 15).until(
            lambda d: len(d.find_elements(By.CSS_SELECTOR, "#results li.result")) == len(ids)
        )
        titles = {a.text for a in browser.find_elements(By.CSS_SELECTOR, "#results li a")}
        for text in HOSTILE[:3]:
            assert f"hostile {text}" in titles, "the markup shows as the text it is"
        # The page may run script of its own: the marker is readable, and unset.
        assert browser.execute_script("return typeof window.__injected") == "undefined"
        screenshot(browser, "hostile-search")

        for memory_id in ids:
            browser.get(server.base + f"memory?id={memory_id}")
            wait_until(browser, "document.getElementById('m-title').textContent")
            wait_until(browser, "document.getElementById('graph-count').dataset.nodes")
            assert browser.execute_script("return typeof window.__injected") == "undefined"
            assert browser.find_elements(By.CSS_SELECTOR, "main img, main svg, main script") == []
        big_content = browser.find_element(By.ID, "m-content").get_attribute("textContent")
        assert big_content is not None and big_content.startswith("<script>")
        assert browser.find_element(By.ID, "m-more").is_displayed()

        browser.get(server.base + "memory?id=hostile-0")
        wait_until(browser, "document.getElementById('graph-count').dataset.nodes")
        assert browser.find_element(By.ID, "m-title").text == f"hostile {HOSTILE[0]}"
        screenshot(browser, "hostile-memory")
        assert browser.execute_script("return typeof window.__injected") == "undefined"
        assert console_errors(browser) == []


async def write_hub(config: BackendConfig, spokes: int) -> None:
    async with MemoryStore.open(config) as store:
        await ops.remember(store, type="technology", title="PostgreSQL", memory_id="hub")
        for i in range(spokes):
            await ops.remember(store, type="fix", title=f"tuning {i}", memory_id=f"s{i:02d}")
            await ops.relate(
                store,
                from_memory_id=f"s{i:02d}",
                to_memory_id="hub",
                relationship_type="APPLIES_TO",
            )


def test_a_memorys_relationships_come_in_pages(browser: WebDriver, tmp_path: Path) -> None:
    config = sqlite(tmp_path / "memory.db")
    asyncio.run(write_hub(config, 62))
    with ui_server(tmp_path, tmp_path / "memory.db", tmp_path / "work") as server:
        browser.get(server.base + "memory?id=hub")
        more = wait_for(browser, "#m-relationships-more")
        rows = "#m-relationships tr"
        assert len(browser.find_elements(By.CSS_SELECTOR, rows)) == 10
        for shown in (50, 62):
            more.click()
            WebDriverWait(browser, 15).until(
                lambda d, n=shown: len(d.find_elements(By.CSS_SELECTOR, rows)) == n
            )
        assert not more.is_displayed()
        linked = {a.text for a in browser.find_elements(By.CSS_SELECTOR, f"{rows} a")}
        assert linked == {f"s{i:02d}" for i in range(62)}
        assert drawn_nodes(browser) == asyncio.run(library_count(config, "hub", 2))
