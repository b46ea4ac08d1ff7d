"""Connecting a real MCP client to the server, in-process or over stdio."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
from mcp import Client, StdioServerParameters
from mcp.types import CallToolResult

from memorygraph.config import BackendConfig
from memorygraph.mcp_server import ServerSettings, build_server
from memorygraph.mcp_server.app import Profile
from memorygraph.principal import LOCAL, Principal
from memorygraph.store import MemoryStore

MEMORYGRAPH = str(Path(sys.executable).parent / "memorygraph")


@asynccontextmanager
async def in_process(
    config: BackendConfig,
    *,
    profile: Profile = "extended",
    workdir: Path | None = None,
    environment: Mapping[str, str] | None = None,
    principal: Principal = LOCAL,
) -> AsyncIterator[Client]:
    """A client connected in-process to a server on the store `config` names, whose
    tools run for `principal`."""
    settings = ServerSettings(
        profile=profile,
        workdir=workdir or Path(str(config.path or "/tmp")).parent / "migrations",
        environment=dict(environment or {}),
    )
    async with MemoryStore.open(config) as store:
        server = build_server(store.for_principal(principal), settings)
        async with Client(server) as client:
            yield client


def stdio_params(
    *args: str, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> StdioServerParameters:
    """`memorygraph serve ARGS` as an MCP client starts it: a subprocess on stdio."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MEMORY_")}
    environment.update(env or {})
    return StdioServerParameters(
        command=MEMORYGRAPH, args=["serve", *args], env=environment, cwd=cwd
    )


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    """Call `tool`; fail the test unless it succeeded; return its structured content."""
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, f"{tool} failed: {text_of(result)}"
    assert result.structured_content is not None, f"{tool} returned no structured content"
    return result.structured_content


async def call_error(client: Client, tool: str, **arguments: Any) -> str:
    """Call `tool`, expecting a tool error; return its one message."""
    result = await client.call_tool(tool, arguments)
    assert result.is_error, f"{tool} succeeded but should have failed: {text_of(result)}"
    message = text_of(result)
    assert "\n" not in message, f"error of {tool} is not one line: {message!r}"
    assert "Traceback" not in message
    return message


def text_of(result: CallToolResult) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


def result_size(result: CallToolResult) -> int:
    """Characters of the whole result as a client receives it: structured part and text."""
    return len(orjson.dumps(result.model_dump(mode="json", by_alias=True)).decode())
