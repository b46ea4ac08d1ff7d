"""`memorygraph serve --transport http` with static tokens and HS256 JSON Web Tokens,
driven by the SDK's streamable-HTTP client, raw HTTP requests and the npm inspector:
who may connect, which tools each caller sees, and what a read-only caller may do."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import jwt
import orjson
import pytest

from tests._upstream.inspector import run_cli
from tests.http.helpers import (
    MEMORYGRAPH,
    HttpServer,
    clean_env,
    create_token,
    http_client,
    running_server,
)
from tests.mcp_server.helpers import call, call_error
from tests.mcp_server.test_tool_list import MIGRATION_TOOLS as ADMIN_TOOLS

SECRET = "hs256-test-secret-that-is-long-enough-for-sha256"
AUDIENCE = "memorygraph-tests"
ISSUER = "https://idp.example.test"

READ_TOOLS = {
    "get_memory",
    "get_memory_statistics",
    "get_recent_activity",
    "get_related_memories",
    "recall_memories",
    "search_memories",
}
WRITE_TOOLS = {
    "create_relationship",
    "delete_memory",
    "invalidate_relationship",
    "store_memory",
    "update_memory",
}


def hs256(
    sub: str = "carol",
    *,
    scope: str = "memory:read memory:write",
    namespaces: list[str] | None = None,
    aud: str | list[str] = AUDIENCE,
    iss: str = ISSUER,
    expires_in: int = 300,
    secret: str = SECRET,
) -> str:
    claims = {
        "sub": sub,
        "aud": aud,
        "iss": iss,
        "exp": int(time.time()) + expires_in,
        "scope": scope,
        "namespaces": namespaces if namespaces is not None else ["team-a"],
    }
    return jwt.encode(claims, secret, algorithm="HS256")


@dataclass
class Team:
    server: HttpServer
    tokens: Path
    audit: Path
    read: str
    write: str
    admin: str
    revoked: str


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    tmp = tmp_path_factory.mktemp("http-auth")
    tokens = tmp / "tokens.json"
    ns = ("--namespace", "team-a")
    read = create_token(tokens, "reader", *ns, "--scope", "read")
    write = create_token(tokens, "writer", *ns, "--scope", "read", "--scope", "write")
    admin = create_token(
        tokens, "admin", *ns, "--scope", "read", "--scope", "write", "--scope", "admin"
    )
    revoked = create_token(tokens, "leaver", *ns, "--scope", "read", "--scope", "write")
    subprocess.run(
        [MEMORYGRAPH, "token", "revoke", "leaver", "--tokens", str(tokens)],
        check=True,
        capture_output=True,
        env=clean_env(),
    )
    audit = tmp / "audit.jsonl"
    with running_server(
        tmp,
        "--path",
        str(tmp / "memory.db"),
        "--profile",
        "extended",
        "--workdir",
        str(tmp / "migrations"),
        "--tokens",
        str(tokens),
        "--jwt-secret-env",
        "TEAM_JWT_SECRET",
        "--jwt-audience",
        AUDIENCE,
        "--jwt-issuer",
        ISSUER,
        "--audit-log",
        str(audit),
        env={"TEAM_JWT_SECRET": SECRET},
    ) as server:
        yield Team(server, tokens, audit, read, write, admin, revoked)
        assert server.stop() == 0
        assert SECRET not in server.stderr()


def tool_call(name: str, **arguments: object) -> bytes:
    return orjson.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": name, "arguments": arguments},
        }
    )


def post(url: str, body: bytes, authorization: str | None) -> httpx2.Response:
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    if authorization is not None:
        headers["Authorization"] = authorization
    return httpx2.post(url, content=body, headers=headers, timeout=30.0)


def test_token_file_keeps_only_hashes_owner_only(team: Team) -> None:
    assert team.tokens.stat().st_mode & 0o777 == 0o600
    text = team.tokens.read_text()
    for token in (team.read, team.write, team.admin, team.revoked):
        assert token not in text
    listed = subprocess.run(
        [MEMORYGRAPH, "token", "list", "--tokens", str(team.tokens), "--json"],
        check=True,
        capture_output=True,
        text=True,
        env=clean_env(),
    )
    assert {e["principal"] for e in orjson.loads(listed.stdout)} == {"reader", "writer", "admin"}
    assert "sha256" not in listed.stdout


@pytest.mark.parametrize(
    "credential",
    [
        "none",
        "basic",
        "garbage",
        "revoked",
        "expired jwt",
        "wrong audience",
        "wrong issuer",
        "wrong secret",
        "unsigned jwt",
    ],
)
def test_bad_credentials_get_401_before_any_tool_runs(team: Team, credential: str) -> None:
    bearer = {
        "none": None,
        "basic": "Basic d3JpdGVyOnNlY3JldA==",
        "garbage": "Bearer not-a-token",
        "revoked": f"Bearer {team.revoked}",
        "expired jwt": f"Bearer {hs256(expires_in=-120)}",
        "wrong audience": f"Bearer {hs256(aud='another-service')}",
        "wrong issuer": f"Bearer {hs256(iss='https://elsewhere.test')}",
        "wrong secret": f"Bearer {hs256(secret='x' * 48)}",
        "unsigned jwt": "Bearer "
        + jwt.encode(
            {
                "sub": "carol",
                "aud": AUDIENCE,
                "iss": ISSUER,
                "exp": int(time.time()) + 300,
                "scope": "memory:write",
                "namespaces": ["team-a"],
            },
            None,
            algorithm="none",
        ),
    }[credential]
    lines_before = team.audit.read_text().count("\n") if team.audit.exists() else 0
    response = post(
        team.server.url, tool_call("store_memory", type="problem", title="intruder"), bearer
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    # No tool ran: nothing audited, nothing stored.
    assert (team.audit.read_text().count("\n") if team.audit.exists() else 0) == lines_before
    ok = post(
        team.server.url, tool_call("search_memories", query="intruder"), f"Bearer {team.read}"
    )
    assert ok.status_code == 200 and '"results":[]' in ok.text


async def test_tools_listed_per_scope(team: Team) -> None:
    seen = {}
    for name, token in [
        ("read", team.read),
        ("write", team.write),
        ("admin", team.admin),
        ("jwt write", hs256()),
        ("jwt admin", hs256(scope="memory:read memory:write memory:admin")),
    ]:
        async with http_client(team.server.url, token) as client:
            seen[name] = {t.name for t in (await client.list_tools()).tools}
    assert seen["read"] == READ_TOOLS
    assert seen["write"] == seen["jwt write"] == READ_TOOLS | WRITE_TOOLS
    assert seen["admin"] == seen["jwt admin"] == READ_TOOLS | WRITE_TOOLS | ADMIN_TOOLS
    assert not ADMIN_TOOLS & seen["write"]


async def test_read_only_token_is_refused_on_writes(team: Team) -> None:
    async with http_client(team.server.url, team.write) as writer:
        kept = await call(writer, "store_memory", type="problem", title="Kept by the writer")
    async with http_client(team.server.url, team.read) as reader:
        before = await call(reader, "get_memory_statistics")
        refused = await call_error(reader, "store_memory", type="problem", title="Not stored")
        assert "memory:write" in refused
        assert "memory:write" in await call_error(reader, "delete_memory", memory_id=kept["id"])
        assert "memory:write" in await call_error(
            reader, "update_memory", memory_id=kept["id"], title="Changed"
        )
        assert await call(reader, "get_memory_statistics") == before
        still = await call(reader, "get_memory", memory_id=kept["id"])
        assert still["memory"]["title"] == "Kept by the writer"
        assert (await call(reader, "search_memories", query="stored"))["results"] == []


async def test_admin_tools_callable_only_with_admin(team: Team, tmp_path: Path) -> None:
    export = tmp_path / "team.json"
    async with http_client(team.server.url, team.write) as writer:
        message = await call_error(writer, "export_memories", path=str(export))
        assert "memory:admin" in message and message.startswith("forbidden:")
    assert not export.exists()
    async with http_client(team.server.url, team.admin) as admin:
        exported = await call(admin, "export_memories", path=str(export))
        assert exported["memories"] >= 0
    assert export.exists()


def test_inspector_cli_over_http(team: Team, inspector_cli: Path, tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.json"
    listed = run_cli(
        inspector_cli, team.server.url, "--method", "tools/list", token=team.read, catalog=catalog
    )
    assert listed.returncode == 0, listed.stderr
    assert {t["name"] for t in orjson.loads(listed.stdout)["tools"]} == READ_TOOLS

    def store(title: str, token: str) -> subprocess.CompletedProcess[str]:
        return run_cli(
            inspector_cli,
            team.server.url,
            *("--method", "tools/call", "--tool-name", "store_memory"),
            *("--tool-arg", "type=solution", f"title={title}"),
            token=token,
            catalog=catalog,
        )

    stored = store("Stored by the inspector", team.write)
    assert stored.returncode == 0, stored.stderr
    assert orjson.loads(stored.stdout)["structuredContent"]["memory"]["title"] == (
        "Stored by the inspector"
    )
    refused = store("Not stored", team.read)
    assert refused.returncode != 0 and "store_memory" in refused.stdout + refused.stderr

    for token in ("not-a-token", team.revoked, hs256(expires_in=-60), None):
        denied = run_cli(
            inspector_cli, team.server.url, "--method", "tools/list", token=token, catalog=catalog
        )
        assert denied.returncode != 0
        assert "auth" in (denied.stdout + denied.stderr).lower()
    assert team.read not in catalog.read_text() if catalog.exists() else True
