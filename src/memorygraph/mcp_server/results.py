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
from pathlib import Path
from typing import Any, ParamSpec

from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel

from memorygraph.errors import (
    BackendConnectionError,
    ConfigurationError,
    ConflictError,
    MemoryGraphError,
    NextStep,
    NotFoundError,
)

log = logging.getLogger("memorygraph.mcp")

P = ParamSpec("P")

#: What to do about a conflict, by the parameter it is about.
_CONFLICT_STEP = {
    "memory_id": "change that memory with update_memory, or store it with replace true",
    "expected_version": "read it again with get_memory, then retry with its version",
}

#: What to do next, by kind of error, in the words of the tools.
_NEXT_STEP: list[tuple[type[MemoryGraphError], str]] = [
    (NotFoundError, "find ids with search_memories or recall_memories"),
    (ConfigurationError, "check target_backend and target_config"),
    (BackendConnectionError, "check that the engine is running and reachable, then retry"),
]


def tool_words(step: NextStep) -> str:
    """A next step as the tool call that takes it (a migration by the id its journal
    sits under), or as what to do outside this server when no tool does it."""
    migration = Path(step.subject).parent.name
    return {
        "rollback": f"undo it with rollback_migration (migration_id {migration!r})",
        "resume": f"finish it with resume_migration (migration_id {migration!r})",
        "rollback_then_migrate": f"undo it with rollback_migration (migration_id "
        f"{migration!r}) and migrate again",
        "import_graph": "if the memorygraph MCP server wrote it, copy it into another store "
        f"by importing it from the {step.subject} graph outside this server; otherwise "
        "choose another graph or database in target_config",
        "reindex": "rebuild its search index once, outside this server (MemoryStore.reindex)",
        "search": "find ids with search_memories or recall_memories",
        "forget": "fix it in the program that wrote it, or delete it with delete_memory "
        f"(memory_id {step.subject!r})",
    }[step.action]


def tool_result(model: BaseModel, text: str) -> CallToolResult:
    """`model` as structured content, with `text` as its rendering."""
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=model.model_dump(mode="json"),
    )


def error_message(error: MemoryGraphError) -> str:
    """The library's message plus a next step in tool terms, where one applies, and
    whether calling again may help."""
    message = error.worded(tool_words).splitlines()[0] if str(error) else type(error).__name__
    if error.field:
        message = f"{message} (parameter {error.field})"
    if isinstance(error, ConflictError) and error.field in _CONFLICT_STEP:
        message = f"{message}; {_CONFLICT_STEP[error.field]}"
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
