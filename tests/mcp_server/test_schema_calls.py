"""An agent that knows only the core tool list can make its typical calls: each call is
valid by the listed input schema alone, succeeds, and its result validates against the
listed output schema (the client checks that on every call)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from memorygraph.config import BackendConfig
from tests.mcp_server.helpers import in_process

#: A session as an agent works: store a problem and its fix, link them, find them again,
#: read, change, catch up and clean up. "<problem>" and "<fix>" stand for the ids stored,
#: "<link>" for the relationship's id.
TYPICAL_CALLS: list[tuple[str, dict[str, Any]]] = [
    (
        "store_memory",
        {
            "type": "problem",
            "title": "pytest hangs on CI after the asyncio upgrade",
            "content": "The suite stops after test_stream; no output for 10 minutes.",
            "tags": ["ci", "pytest", "asyncio"],
            "importance": 0.8,
            "project_path": "/src/app",
            "context": {"files_involved": ["tests/test_stream.py"], "languages": ["python"]},
            "memory_id": "<problem>",
        },
    ),
    (
        "store_memory",
        {
            "type": "solution",
            "title": "Close the event loop in the stream fixture",
            "content": "Use an async fixture with yield and close the loop after it.",
            "summary": "async fixture closes the loop",
            "memory_id": "<fix>",
        },
    ),
    (
        "create_relationship",
        {
            "from_memory_id": "<fix>",
            "to_memory_id": "<problem>",
            "relationship_type": "SOLVES",
            "strength": 0.9,
            "description": "closing the loop ends the hang",
        },
    ),
    ("recall_memories", {"query": "pytest hangs on CI"}),
    ("recall_memories", {"query": "event loop", "memory_types": ["solution"], "limit": 5}),
    ("search_memories", {"query": "asyncio", "tags": ["ci"], "project_path": "/src/app"}),
    ("search_memories", {"query": '"event loop"', "min_importance": 0.1, "offset": 0}),
    ("get_memory", {"memory_id": "<problem>"}),
    ("get_memory", {"memory_id": "<fix>", "include_relationships": False, "content_offset": 4}),
    ("get_related_memories", {"memory_id": "<problem>", "direction": "incoming"}),
    (
        "get_related_memories",
        {"memory_id": "<fix>", "relationship_types": ["SOLVES"], "max_depth": 2},
    ),
    (
        "update_memory",
        {"memory_id": "<fix>", "add_tags": ["fixture"], "importance": 0.9, "add_files": ["c.py"]},
    ),
    ("invalidate_relationship", {"relationship_id": "<link>", "invalidated_by": "<fix>"}),
    ("get_recent_activity", {"days": 7, "limit": 5}),
    ("get_recent_activity", {"project": "/src/app"}),
    ("get_memory_statistics", {}),
    ("delete_memory", {"memory_id": "<problem>"}),
]


def _with_ids(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str) and value.startswith("<"):
        return ids.get(value, value.strip("<>") + "-id")
    if isinstance(value, dict):
        return {k: _with_ids(v, ids) for k, v in value.items()}
    return value


async def test_typical_calls_succeed_from_the_listed_schemas_alone(tmp_path: Path) -> None:
    config = BackendConfig("sqlite", path=tmp_path / "memory.db")
    async with in_process(config, profile="core") as client:
        schemas = {t.name: t.input_schema for t in (await client.list_tools()).tools}
        assert {name for name, _ in TYPICAL_CALLS} == set(schemas), "a core tool is not used"
        ids: dict[str, str] = {}
        for tool, arguments in TYPICAL_CALLS:
            arguments = _with_ids(arguments, ids)
            problems = [
                e.message for e in Draft202012Validator(schemas[tool]).iter_errors(arguments)
            ]
            assert not problems, (tool, problems)
            result = await client.call_tool(tool, arguments)
            assert not result.is_error, (tool, result.content)
            assert result.structured_content is not None
            if tool == "create_relationship":
                ids["<link>"] = result.structured_content["id"]
        recalled = await client.call_tool("recall_memories", {"query": "event loop fixture"})
        assert recalled.structured_content is not None
        assert [r["memory"]["id"] for r in recalled.structured_content["results"]] == ["fix-id"]


async def test_the_schemas_refuse_what_the_server_refuses(tmp_path: Path) -> None:
    config = BackendConfig("sqlite", path=tmp_path / "memory.db")
    async with in_process(config, profile="core") as client:
        schemas = {t.name: t.input_schema for t in (await client.list_tools()).tools}
        wrong = [
            ("store_memory", {"type": "task"}),
            ("store_memory", {"type": "task", "title": "t", "importance": 1.5}),
            ("search_memories", {"query": "x", "limit": 51}),
            ("get_related_memories", {"memory_id": "m", "max_depth": 6}),
            ("get_memory", {"memory_id": ""}),
        ]
        for tool, arguments in wrong:
            assert list(Draft202012Validator(schemas[tool]).iter_errors(arguments)), tool
            assert (await client.call_tool(tool, arguments)).is_error, tool
