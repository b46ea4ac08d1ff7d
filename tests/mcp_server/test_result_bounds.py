"""No tool result outgrows an agent's context, whatever the store holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from memorygraph.backends.registry import create_backend
from memorygraph.config import BackendConfig
from memorygraph.models import Memory, Relationship
from memorygraph.ops.views import CONTENT_WINDOW, MAX_RESULT_CHARS
from tests.mcp_server.helpers import in_process, result_size, text_of

ONE_MB = "word " * (1024 * 1024 // 5)
N = 10_000


def _memory(i: int) -> Memory:
    big = i % 1000 == 0
    return Memory(
        id=f"m{i:05d}",
        type="general",
        title=("needle " + "t" * 3000) if big else f"needle note {i}",
        content=ONE_MB if big else f"needle content {i}",
        summary=ONE_MB[:100_000] if big else None,
        tags=[f"tag{j}" * 20 for j in range(500)] if big else ["needle"],
        context={"metadata": {f"k{j}": "v" * 500 for j in range(2000)}} if big else None,
    )


@pytest.mark.slow
async def test_no_result_of_any_tool_exceeds_the_bound(tmp_path: Path) -> None:
    config = BackendConfig("sqlite", path=tmp_path / "memory.db")
    async with create_backend(config) as backend:
        for start in range(0, N, 1000):
            await backend.upsert_memories([_memory(i) for i in range(start, start + 1000)])
        await backend.upsert_relationships(
            [
                Relationship(
                    id=f"r{i:05d}" + "x" * 400,
                    from_id="m00000",
                    to_id=f"m{i:05d}",
                    type="RELATED_TO",
                    description=ONE_MB[:50_000],
                )
                for i in range(1, 3000)
            ]
        )
    sizes: dict[str, int] = {}
    async with in_process(config, workdir=tmp_path / "work") as client:
        # Stored through the tool too: a 1 MB memory goes in whole.
        stored = await client.call_tool(
            "store_memory", {"type": "general", "title": "needle big", "content": ONE_MB}
        )
        assert not stored.is_error, text_of(stored)
        calls = {
            "store_memory": {"type": "general", "title": "small"},
            "get_memory": {"memory_id": "m00000"},
            "update_memory": {"memory_id": "m01000", "importance": 0.9},
            "search_memories": {"query": "needle", "limit": 50},
            "recall_memories": {"query": "needle", "limit": 50},
            "get_related_memories": {"memory_id": "m00000", "max_depth": 5, "limit": 50},
            "get_recent_activity": {"days": 30, "limit": 50},
            "get_memory_statistics": {},
            "list_migrations": {},
            "create_relationship": {
                "from_memory_id": "m02000",
                "to_memory_id": "m03000",
                "relationship_type": "SOLVES",
                "description": ONE_MB[:3000],
            },
            "invalidate_relationship": {"relationship_id": "r00001" + "x" * 400},
            "delete_memory": {"memory_id": "m04000"},
        }
        for tool, arguments in calls.items():
            result = await client.call_tool(tool, arguments)
            assert not result.is_error, f"{tool}: {text_of(result)}"
            sizes[tool] = result_size(result)

        detail = await client.call_tool("get_memory", {"memory_id": "m00000"})
        memory = (detail.structured_content or {})["memory"]
        assert memory["content_truncated"] is True
        assert memory["content_length"] == len(ONE_MB)
        assert "content_offset=" in text_of(detail)
        rest = await client.call_tool(
            "get_memory", {"memory_id": "m00000", "content_offset": len(ONE_MB) - 10}
        )
        tail = (rest.structured_content or {})["memory"]
        assert tail["content"] == ONE_MB[-10:] and tail["content_truncated"] is False
        window = await client.call_tool(
            "get_memory", {"memory_id": "m00000", "content_offset": CONTENT_WINDOW}
        )
        assert (window.structured_content or {})["memory"]["content"] == ONE_MB[
            CONTENT_WINDOW : 2 * CONTENT_WINDOW
        ]
    print({tool: f"{size:,}" for tool, size in sizes.items()})
    for tool, size in sizes.items():
        assert size <= MAX_RESULT_CHARS, f"{tool} returned {size:,} characters"
