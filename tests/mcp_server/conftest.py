"""Every tool error any test of the MCP server meets has the one structured shape."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from mcp import Client
from mcp.types import CallToolResult

from tests.mcp_server.helpers import fault_of


@pytest.fixture(autouse=True)
def every_tool_error_has_the_one_shape(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Checks each tool error a real client receives in these tests (`fault_of`): the
    client is unchanged, its results are only looked at on the way back."""
    original = Client.call_tool

    async def checked(self: Client, *args: Any, **kwargs: Any) -> CallToolResult:
        result = await original(self, *args, **kwargs)
        if result.is_error:
            fault_of(result)
        return result

    monkeypatch.setattr(Client, "call_tool", checked)
    yield
