"""The pages the team server serves at /ui, behind its tokens: no page or answer
without one, a token's scopes and namespaces holding exactly as over MCP."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx2
import jwt
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from memorygraph.config import BackendConfig
from memorygraph.ops import memories as ops
from memorygraph.store import MemoryStore
from tests.http.helpers import clean_env, create_token
from tests.mcp_server.helpers import MEMORYGRAPH
from tests.migration.helpers import fill
from tests.ui.browser import console_errors, screenshot, team_server, wait_for, wait_until
from tests.ui.test_migrations_page import fail_half_way


async def write_teams(config: BackendConfig) -> dict[str, str]:
    async with MemoryStore.open(config) as store:
        ids = {}
        for team in ("team-a", "team-b"):
            problem = await ops.remember(
                store,
                type="problem",
                title=f"{team} deploys stall on the lockfile",
                namespace=team,
            )
            fix = await ops.remember(
                store, type="fix", title=f"{team} regenerates the lockfile", namespace=team
            )
            await ops.relate(
                store, from_memory_id=fix.id, to_memory_id=problem.id, relationship_type="SOLVES"
            )
            ids[team] = problem.id
        await ops.remember(
            store, type="general", title="secret roadmap of team-a", namespace="team-a"
        )
        return ids


def sign_in(browser: WebDriver, base: str, token: str) -> None:
    browser.execute_cdp_cmd("Network.clearBrowserCookies", {})
    browser.get(base + "login")
    wait_for(browser, "#token").send_keys(token + "\n")
    wait_until(browser, "document.body.dataset.ready === 'yes' && document.body.dataset.page")


def fetch(browser: WebDriver, path: str, method: str = "GET", body: Any = None) -> list[Any]:
    """[status, JSON body] of a request the page makes (with its cookie)."""
    result: list[Any] = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "const init = {method: arguments[1], headers: {'Content-Type': 'application/json'}};"
        "if (arguments[2] !== null) init.body = JSON.stringify(arguments[2]);"
        "fetch(arguments[0], init).then(r => r.json().then(b => done([r.status, b])));",
        path,
        method,
        body,
    )
    return result


def search_titles(browser: WebDriver, base: str, words: str) -> list[str]:
    browser.get(base + "?q=" + words.replace(" ", "+"))
    WebDriverWait(browser, 15).until(
        lambda d: (
            d.find_element(By.ID, "search-summary").text
            or d.find_element(By.ID, "error").is_displayed()
        )
    )
    return [a.text for a in browser.find_elements(By.CSS_SELECTOR, "#results li a")]


def test_tokens_scopes_and_namespaces_hold_on_the_pages(browser: WebDriver, tmp_path: Path) -> None:
    store, work, tokens = tmp_path / "memory.db", tmp_path / "work", tmp_path / "tokens.json"
    config = BackendConfig("sqlite", path=store)
    ids = asyncio.run(write_teams(config))
    asyncio.run(fill(BackendConfig("sqlite", path=tmp_path / "other.db"), n=30, tricky=False))
    asyncio.run(
        fail_half_way(
            BackendConfig("sqlite", path=tmp_path / "other.db"),
            BackendConfig("sqlite", path=tmp_path / "failing.db"),
            work,
        )
    )
    journal = next(work.glob("*/journal.jsonl"))
    held = journal.read_bytes()
    reader = create_token(tokens, "reader-a", "--namespace", "team-a", "--scope", "read")
    admin_a = create_token(tokens, "admin-a", "--namespace", "team-a", "--scope", "admin")
    reader_b = create_token(tokens, "reader-b", "--namespace", "team-b", "--scope", "read")

    secret = "a secret of at least thirty-two bytes for HS256"
    jwt_options = ("--jwt-secret-env", "UI_JWT_SECRET", "--jwt-audience", "memorygraph")
    with team_server(
        tmp_path, store, work, "--tokens", str(tokens), *jwt_options,
        env={"UI_JWT_SECRET": secret},
    ) as server:  # fmt: skip
        # No token: no page, no answer.
        browser.get(server.base)
        wait_for(browser, "#login-form")
        assert browser.current_url.endswith("/ui/login")
        assert browser.find_elements(By.ID, "search-form") == []
        for path in ("api/search?q=lockfile", f"api/memories/{ids['team-a']}", "api/migrations"):
            answer = httpx2.get(server.base + path)
            assert answer.status_code == 401, path
            assert answer.json()["error"]["code"] == "forbidden"
            assert "lockfile" not in answer.text
        wait_for(browser, "#token").send_keys("mgt_not-a-token\n")
        refusal = wait_for(browser, "#error")
        assert "not accepted" in refusal.text
        screenshot(browser, "sign-in-refused")

        # A read-only token of team a: reads team a, may not roll back.
        sign_in(browser, server.base, reader)
        assert "reader-a" in browser.find_element(By.ID, "who").text
        assert reader not in str(browser.execute_script("return document.cookie"))
        assert set(search_titles(browser, server.base, "lockfile")) == {
            "team-a deploys stall on the lockfile",
            "team-a regenerates the lockfile",
        }
        browser.get(server.base + "migrations")
        assert "admin scope" in wait_for(browser, "#error").text
        assert browser.find_elements(By.CSS_SELECTOR, "button.rollback") == []
        status, body = fetch(
            browser, f"api/migrations/{journal.parent.name}/rollback", "POST", {"confirm": True}
        )
        assert (status, body["error"]["code"]) == (403, "forbidden")
        assert journal.read_bytes() == held, "the refused rollback wrote nothing"
        screenshot(browser, "read-only-migrations")

        # An admin of team a sees the journal, but a rollback moves every namespace.
        sign_in(browser, server.base, admin_a)
        browser.get(server.base + "migrations")
        wait_for(browser, f"#migrations tr[data-id='{journal.parent.name}']")
        assert browser.find_elements(By.CSS_SELECTOR, "button.rollback") == []
        status, body = fetch(
            browser, f"api/migrations/{journal.parent.name}/rollback", "POST", {"confirm": True}
        )
        assert (status, body["error"]["code"]) == (403, "forbidden")
        assert "holds only team-a" in body["error"]["reason"]
        assert journal.read_bytes() == held

        # Team b: nothing of team a, by search, by id, by its graph or in the counts.
        sign_in(browser, server.base, reader_b)
        assert set(search_titles(browser, server.base, "lockfile roadmap")) == {
            "team-b deploys stall on the lockfile",
            "team-b regenerates the lockfile",
        }
        browser.get(server.base + f"memory?id={ids['team-a']}")
        assert "not_found" in wait_for(browser, "#error").text
        assert browser.find_element(By.ID, "m-title").text == ""
        status, _ = fetch(browser, f"api/memories/{ids['team-a']}/neighbourhood?depth=2")
        assert status == 404
        status, stats = fetch(browser, "api/stats")
        assert (status, stats["memories"], stats["relationships"]) == (200, 2, 1)
        browser.get(server.base + f"memory?id={ids['team-b']}")
        count = wait_until(browser, "document.getElementById('graph-count').dataset.nodes")
        assert int(count) == 2
        screenshot(browser, "team-b-memory")

        # A token from an identity provider signs in the same way.
        claims = {
            "sub": "carol",
            "aud": "memorygraph",
            "exp": int(time.time()) + 300,
            "scope": "memory:read",
            "namespaces": ["team-a"],
        }
        sign_in(browser, server.base, jwt.encode(claims, secret, algorithm="HS256"))
        assert "carol (read) in team-a" in browser.find_element(By.ID, "who").text
        assert "team-a deploys stall on the lockfile" in search_titles(
            browser, server.base, "lockfile"
        )

        # A revoked token stops working at once, cookie or not.
        sign_in(browser, server.base, reader_b)
        subprocess.run(
            [MEMORYGRAPH, "token", "revoke", "reader-b", "--tokens", str(tokens)],
            check=True,
            capture_output=True,
            env=clean_env(),
        )
        browser.get(server.base + "stats")
        wait_for(browser, "#login-form")
        assert fetch(browser, "api/stats")[0] == 401
        sign_in(browser, server.base, reader)

        # Signing out forgets the token.
        browser.find_element(By.ID, "sign-out").click()
        wait_for(browser, "#login-form")
        assert fetch(browser, "api/stats")[0] == 401
        # The refusals above are logged as failed loads; nothing was refused by the policy.
        assert not [e for e in console_errors(browser) if "Content Security Policy" in e]
