"""The audit log of `memorygraph serve --transport http --audit-log FILE`: one JSON line
per tool call, naming who called what on which records and how it ended, never a
token or a secret."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import orjson

from tests.http.helpers import create_token, http_client, running_server
from tests.mcp_server.helpers import call, call_error

SECRET = "audit-test-secret-of-enough-length-for-hs256"


async def test_one_line_per_call_and_no_secret(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.json"
    writer = create_token(tokens, "erin", "--namespace", "team-a", "--scope", "read",
                          "--scope", "write")  # fmt: skip
    reader = create_token(tokens, "frank", "--namespace", "team-a", "--scope", "read")
    bearer = jwt.encode(
        {"sub": "gina", "aud": "mg", "exp": int(time.time()) + 300,
         "scope": "memory:read memory:write", "namespaces": ["team-a"]},
        SECRET,
        algorithm="HS256",
    )  # fmt: skip
    audit = tmp_path / "audit.jsonl"
    with running_server(
        tmp_path,
        "--path", str(tmp_path / "memory.db"),
        "--tokens", str(tokens),
        "--jwt-secret-env", "AUDIT_SECRET",
        "--jwt-audience", "mg",
        "--audit-log", str(audit),
        env={"AUDIT_SECRET": SECRET},
    ) as server:  # fmt: skip
        async with http_client(server.url, writer) as client:
            a = await call(client, "store_memory", type="problem", title="Slow build",
                           content="password=hunter2 in the log")  # fmt: skip
            b = await call(client, "store_memory", type="solution", title="Cache deps")
            rel = await call(client, "create_relationship", from_memory_id=b["id"],
                             to_memory_id=a["id"], relationship_type="SOLVES")  # fmt: skip
            found = await call(client, "search_memories", query="build")
            await call_error(client, "get_memory", memory_id="no-such-memory")
        async with http_client(server.url, reader) as client:
            await call_error(client, "delete_memory", memory_id=a["id"])
        async with http_client(server.url, bearer) as client:
            await call(client, "get_memory", memory_id=a["id"])
        assert server.stop() == 0
        logged = server.stderr()

    text = audit.read_text()
    assert audit.stat().st_mode & 0o777 == 0o600
    lines = [orjson.loads(line) for line in text.splitlines()]
    assert [(e["principal"], e["tool"], e["outcome"]) for e in lines] == [
        ("erin", "store_memory", "ok"),
        ("erin", "store_memory", "ok"),
        ("erin", "create_relationship", "ok"),
        ("erin", "search_memories", "ok"),
        ("erin", "get_memory", "error"),
        ("frank", "delete_memory", "forbidden"),
        ("gina", "get_memory", "ok"),
    ]
    assert lines[0]["ids"] == [a["id"]] and lines[0]["namespace"] == "team-a"
    assert set(lines[2]["ids"]) == {a["id"], b["id"], rel["id"]}
    assert lines[3]["ids"] == [r["memory"]["id"] for r in found["results"]]
    assert lines[3]["namespace"] is None and lines[3]["namespaces"] == ["team-a"]
    assert lines[4]["ids"] == ["no-such-memory"] and "not a stored memory" in lines[4]["error"]
    assert lines[5]["ids"] == [a["id"]]
    for entry in lines:
        assert {"time", "principal", "tool", "namespace", "ids", "outcome"} <= entry.keys()
    for secret in (writer, reader, bearer, SECRET, "hunter2", writer.split("_")[-1]):
        assert secret not in text
        assert secret not in logged
