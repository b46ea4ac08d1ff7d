"""Tool results and tool errors.

Every tool returns its operation's pydantic model as structured content plus a
short text rendering for clients that show text. Library errors become tool
errors (`isError`) with the library's one-line message and, where the library
cannot know it, the next step in tool terms. The server keeps serving after any
error.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec

from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel

from memorygraph.errors import (
    BackendConnectionError,
    ConfigurationError,
    MemoryGraphError,
    NotFoundError,
)

log = logging.getLogger("memorygraph.mcp")

P = ParamSpec("P")

#: What to do next, by kind of error, in the words of the tools.
_NEXT_STEP: list[tuple[type[MemoryGraphError], str]] = [
    (NotFoundError, "find ids with search_memories or recall_memories"),
    (ConfigurationError, "check target_backend and target_config"),
    (BackendConnectionError, "check that the engine is running and reachable, then retry"),
]


def tool_result(model: BaseModel, text: str) -> CallToolResult:
    """`model` as structured content, with `text` as its rendering."""
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=model.model_dump(mode="json"),
    )


def error_message(error: MemoryGraphError) -> str:
    """The library's message plus a next step in tool terms, where one applies, and
    whether calling again may help."""
    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    if error.field:
        message = f"{message} (parameter {error.field})"
    for kind, step in _NEXT_STEP:
        if isinstance(error, kind) and step not in message:
            message = f"{message}; {step}"
            break
    if error.retryable and "retry" not in message:
        message = f"{message} (retrying may help)"
    return message


def tool_errors(
    fn: Callable[P, Awaitable[CallToolResult]],
) -> Callable[P, Awaitable[CallToolResult]]:
    """Turn the library's errors raised by `fn` into tool errors (`isError`)."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> CallToolResult:
        try:
            return await fn(*args, **kwargs)
        except MemoryGraphError as e:
            raise ToolError(error_message(e)) from e

    return wrapper


def lines(*parts: Any) -> str:
    """Join the non-empty parts with newlines."""
    return "\n".join(str(p) for p in parts if p not in (None, ""))
