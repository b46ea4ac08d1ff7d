"""Hostile input gets an answer: each line sent raw to the installed `memorygraph serve`,
and each call made through the SDK's client, is answered within 5 s with the documented
code and field, and the server answers the next call."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from memorygraph.config import BackendConfig
from memorygraph.errors import ConfigurationError
from memorygraph.mcp_server import Limits
from tests.mcp_server.helpers import MEMORYGRAPH, fault_of, in_process, stdio_params

ANSWER_WITHIN = 5.0
MB10 = 10 * 2**20


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


@dataclass(frozen=True)
class Case:
    name: str
    tool: str
    arguments: dict[str, Any]
    code: str
    field: str
    #: The limit the reason names, for too_large.
    limit: str = ""
    #: How the SDK's client can send it: over stdio and in process, only in process (it
    #: cannot serialize a lone surrogate to JSON), or not at all (its serializer stops
    #: at a depth of its own, a little under 300).
    sdk: str = "both"


TASK = {"type": "task", "title": "t"}
CASES = [
    Case("lone surrogate", "store_memory", {**TASK, "title": "ok \ud800"}, "invalid_argument",
         "title", sdk="in_process"),
    Case("metadata 300 levels deep", "store_memory", {**TASK, "context": {"metadata": nested(300)}},
         "too_large", "context.metadata", "max_depth", sdk="none"),
    Case("metadata 120 levels deep", "store_memory", {**TASK, "context": {"metadata": nested(120)}},
         "too_large", "context.metadata", "max_metadata_depth"),
    Case("metadata 33 levels deep", "store_memory", {**TASK, "context": {"metadata": nested(33)}},
         "too_large", "context.metadata", "max_metadata_depth"),
    Case("metadata of 100,000 characters", "store_memory",
         {**TASK, "context": {"metadata": {"k": ["x" * 1000] * 100}}},
         "too_large", "context.metadata", "max_metadata_chars"),
    Case("metadata integer 2^70", "store_memory", {**TASK, "context": {"metadata": {"n": 2**70}}},
         "invalid_argument", "context.metadata.n"),
    Case("NUL in a metadata key", "store_memory",
         {**TASK, "context": {"metadata": {"a\x00b": 1}}}, "invalid_argument",
         "context.metadata.a\x00b"),
    Case("10 MB title", "store_memory", {**TASK, "title": "x" * MB10}, "too_large", "title",
         "max_request_bytes"),
    Case("10 MB content", "store_memory", {**TASK, "content": "y" * MB10}, "too_large",
         "content", "max_request_bytes"),
    Case("10 MB query", "search_memories", {"query": "z" * MB10}, "too_large", "query",
         "max_request_bytes"),
    Case("5,000-character title", "store_memory", {**TASK, "title": "x" * 5000}, "too_large",
         "title", "max_title_chars"),
    Case("3,000-character query", "recall_memories", {"query": "q " * 1500}, "too_large",
         "query", "max_query_chars"),
    Case("100,000 tags", "store_memory", {**TASK, "tags": ["t"] * 100_000}, "too_large", "tags",
         "max_tags"),
    Case("an unknown argument", "store_memory", {**TASK, "colour": "red"}, "invalid_argument",
         "colour"),
    Case("a memory related to itself", "create_relationship",
         {"from_memory_id": "m1", "to_memory_id": "m1", "relationship_type": "SOLVES"},
         "invalid_argument", "to_memory_id"),
    Case("an unknown tool", "forget_everything", {}, "not_found", "name"),
]  # fmt: skip


def check(case: Case, fault: dict[str, Any]) -> None:
    assert (fault["code"], fault["field"]) == (case.code, case.field), (case.name, fault)
    assert case.limit in fault["reason"], (case.name, fault)


class RawServer:
    """The installed command on stdio, spoken to line by line without any MCP library."""

    def __init__(self, db: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MEMORY_")}
        self.process = subprocess.Popen(
            [MEMORYGRAPH, "serve", "--path", str(db)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self.lines: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.next_id = 0

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def send(self, line: bytes) -> dict[str, Any]:
        """Send one line; the answer, which must come within ANSWER_WITHIN seconds."""
        assert self.process.stdin is not None
        self.process.stdin.write(line + b"\n")
        self.process.stdin.flush()
        answer: dict[str, Any] = json.loads(self.lines.get(timeout=ANSWER_WITHIN))
        return answer

    def request(self, method: str, params: dict[str, Any]) -> tuple[int, bytes]:
        self.next_id += 1
        message = {"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}
        return self.next_id, json.dumps(message).encode()

    def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        number, line = self.request("tools/call", {"name": tool, "arguments": arguments})
        answer = self.send(line)
        assert answer["id"] == number, answer
        result: dict[str, Any] = answer["result"]
        return result

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        assert self.process.wait(timeout=30) == 0


def raw_fault(result: dict[str, Any]) -> dict[str, Any]:
    """The fault of a raw tool error, checked like the SDK's (same shape, same text)."""
    assert result["isError"] is True, result
    fault: dict[str, Any] = result["structuredContent"]["error"]
    assert result["content"][0]["text"].startswith(f"{fault['code']}: {fault['reason']}")
    return fault


@pytest.fixture
def raw(tmp_path: Path) -> Any:
    server = RawServer(tmp_path / "memory.db")
    _, hello = server.request(
        "initialize",
        {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "raw", "version": "1"},
        },
    )
    # The first answer waits for the server to start, which may take a while on a busy machine.
    assert server.process.stdin is not None
    server.process.stdin.write(hello + b"\n")
    server.process.stdin.flush()
    assert "result" in json.loads(server.lines.get(timeout=60))
    server.process.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
    yield server
    server.close()


def answers_the_next_call(server: RawServer) -> None:
    stats = server.call("get_memory_statistics", {})
    assert stats["isError"] is False and stats["structuredContent"]["memories"] == 0


def test_each_hostile_line_sent_raw_is_answered_and_the_server_serves_on(raw: RawServer) -> None:
    for case in CASES:
        check(case, raw_fault(raw.call(case.tool, case.arguments)))
        answers_the_next_call(raw)


def test_bytes_that_are_not_utf8_are_refused_naming_the_field(raw: RawServer) -> None:
    _, line = raw.request(
        "tools/call", {"name": "store_memory", "arguments": {**TASK, "title": "TITLE"}}
    )
    fault = raw_fault(raw.send(line.replace(b"TITLE", b"a\xff\xfeb"))["result"])
    assert (fault["code"], fault["field"]) == ("invalid_argument", "title")
    assert "UTF-8" in fault["reason"]
    answers_the_next_call(raw)


def test_a_line_that_is_not_json_gets_a_parse_error(raw: RawServer) -> None:
    for line in (b"this is not json", b'{"jsonrpc": "2.0", "id": 7, "method": '):
        answer = raw.send(line)
        assert answer["error"]["code"] == -32700, answer
        assert answer["error"]["data"]["error"]["code"] == "invalid_argument"
        answers_the_next_call(raw)


def test_an_oversized_line_of_another_request_is_a_json_rpc_error(raw: RawServer) -> None:
    number, line = raw.request("prompts/get", {"name": "x" * MB10})
    answer = raw.send(line)
    assert answer["id"] == number and answer["error"]["data"]["error"]["code"] == "too_large"
    answers_the_next_call(raw)


async def test_each_hostile_call_through_the_sdk_client_over_stdio(tmp_path: Path) -> None:
    async with Client(stdio_params("--path", str(tmp_path / "memory.db"))) as client:
        for case in CASES:
            if case.sdk != "both":
                continue
            result = await asyncio.wait_for(
                client.call_tool(case.tool, case.arguments), ANSWER_WITHIN
            )
            check(case, fault_of(result))
            stats = await asyncio.wait_for(client.call_tool("get_memory_statistics", {}), 5)
            assert not stats.is_error


#: In process nothing is serialized, so no request has a size and no nesting reaches the
#: transport: the argument's own limit answers instead.
IN_PROCESS_LIMIT = {
    ("max_request_bytes", "title"): "max_title_chars",
    ("max_request_bytes", "content"): "max_content_chars",
    ("max_request_bytes", "query"): "max_query_chars",
    ("max_depth", "context.metadata"): "max_metadata_depth",
}


async def test_each_hostile_call_through_the_sdk_client_in_process(tmp_path: Path) -> None:
    async with in_process(BackendConfig("sqlite", path=tmp_path / "memory.db")) as client:
        for case in CASES:
            if case.sdk == "none":
                continue
            result = await asyncio.wait_for(
                client.call_tool(case.tool, case.arguments), ANSWER_WITHIN
            )
            limit = IN_PROCESS_LIMIT.get((case.limit, case.field), case.limit)
            check(Case(case.name, case.tool, {}, case.code, case.field, limit), fault_of(result))
            stats = await client.call_tool("get_memory_statistics", {})
            assert not stats.is_error and stats.structured_content
            assert stats.structured_content["memories"] == 0


def test_limits_are_configurable_and_a_wrong_one_is_named() -> None:
    assert Limits.parse(["max_tags=5", "max_title_chars = 2_000"]) == Limits(
        max_tags=5, max_title_chars=2000
    )
    with pytest.raises(ConfigurationError, match="max_tags"):
        Limits.parse(["max_tag=5"])
    with pytest.raises(ConfigurationError, match="max_tags must be a whole number"):
        Limits.parse(["max_tags=none"])


async def test_a_changed_limit_is_enforced_over_stdio(tmp_path: Path) -> None:
    params = stdio_params("--path", str(tmp_path / "memory.db"), "--limit", "max_tags=2")
    async with Client(params) as client:
        result = await client.call_tool("store_memory", {**TASK, "tags": ["a", "b", "c"]})
        fault = fault_of(result)
        assert (fault["code"], fault["field"]) == ("too_large", "tags")
        assert "max_tags = 2" in fault["reason"]
        assert not (await client.call_tool("store_memory", {**TASK, "tags": ["a", "b"]})).is_error
