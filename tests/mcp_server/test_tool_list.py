"""The tool list as an agent sees it: names, schemas, annotations and profiles."""

from __future__ import annotations

from pathlib import Path

import orjson

from memorygraph.config import BackendConfig
from tests.mcp_server.helpers import in_process

MEMORY_TOOLS = {
    "store_memory",
    "get_memory",
    "update_memory",
    "delete_memory",
    "search_memories",
    "recall_memories",
    "create_relationship",
    "invalidate_relationship",
    "get_related_memories",
    "get_recent_activity",
    "get_memory_statistics",
}
MIGRATION_TOOLS = {
    "validate_migration",
    "migrate_database",
    "list_migrations",
    "rollback_migration",
    "resume_migration",
    "export_memories",
    "import_memories",
}
READ_ONLY = {
    "get_memory",
    "search_memories",
    "recall_memories",
    "get_related_memories",
    "get_recent_activity",
    "get_memory_statistics",
    "validate_migration",
    "list_migrations",
}
DESTRUCTIVE = {
    "delete_memory",
    "update_memory",
    "invalidate_relationship",
    "migrate_database",
    "rollback_migration",
    "resume_migration",
}
#: What the default tool list may cost an agent's context, in tokens (4 characters each).
CORE_TOKEN_BUDGET = 3_000


def _config(tmp_path: Path) -> BackendConfig:
    return BackendConfig("sqlite", path=tmp_path / "memory.db")


async def test_core_profile_lists_the_memory_tools_only(tmp_path: Path) -> None:
    async with in_process(_config(tmp_path), profile="core") as client:
        tools = (await client.list_tools()).tools
    assert {t.name for t in tools} == MEMORY_TOOLS
    listing = orjson.dumps(
        [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]
    )
    tokens = len(listing) / 4
    print(f"core tool list: {len(tools)} tools, {len(listing)} characters, ~{tokens:.0f} tokens")
    assert tokens <= CORE_TOKEN_BUDGET, f"the core tool list costs ~{tokens:.0f} tokens"


async def test_extended_profile_adds_migration_and_exchange_tools(tmp_path: Path) -> None:
    async with in_process(_config(tmp_path), profile="extended") as client:
        tools = (await client.list_tools()).tools
    assert {t.name for t in tools} == MEMORY_TOOLS | MIGRATION_TOOLS


async def test_every_tool_has_described_schemas_and_annotations(tmp_path: Path) -> None:
    async with in_process(_config(tmp_path), profile="extended") as client:
        tools = (await client.list_tools()).tools
    for tool in tools:
        assert tool.description and len(tool.description) > 20, tool.name
        assert tool.input_schema["type"] == "object", tool.name
        assert tool.output_schema is not None, f"{tool.name} has no output schema"
        assert tool.output_schema["type"] == "object", tool.name
        assert tool.output_schema.get("properties"), tool.name
        annotations = tool.annotations
        assert annotations is not None, tool.name
        assert annotations.read_only_hint is (tool.name in READ_ONLY), tool.name
        if tool.name in DESTRUCTIVE:
            assert annotations.destructive_hint is True, tool.name
        for name, prop in tool.input_schema.get("properties", {}).items():
            assert prop.get("type") or prop.get("anyOf") or prop.get("$ref"), (tool.name, name)
    limits = {
        t.name: t.input_schema["properties"]["limit"]
        for t in tools
        if "limit" in t.input_schema.get("properties", {})
    }
    assert set(limits) >= {"search_memories", "recall_memories", "get_related_memories"}
    for name, limit in limits.items():
        assert limit["maximum"] == 50 and limit["minimum"] == 1, name
        assert "default" in limit, name


async def test_the_guide_documents_every_tool(tmp_path: Path) -> None:
    guide = (Path(__file__).parents[2] / "docs" / "MCP.md").read_text()
    async with in_process(_config(tmp_path), profile="extended") as client:
        names = {t.name for t in (await client.list_tools()).tools}
    undocumented = {n for n in names if f"| `{n}` |" not in guide}
    assert not undocumented, f"docs/MCP.md lacks {sorted(undocumented)}"
    for name in MEMORY_TOOLS:
        assert f"### {name}\n" in guide, f"docs/MCP.md has no example for {name}"
