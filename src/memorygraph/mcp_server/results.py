"""Tool results and tool errors.

Every tool returns its operation's pydantic model as structured content plus a
short text rendering for clients that show text. Library errors become tool
errors (`isError`) of the one shape of `faults.py`: a code, the parameter at
fault, the library's reason and, where the library cannot know it, the next step
in tool terms. The server keeps serving after any error.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, ParamSpec

from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel

from memorygraph.errors import (
    BackendConnectionError,
    ConfigurationError,
    ConflictError,
    MemoryGraphError,
    NextStep,
    NotFoundError,
    UsageError,
)
from memorygraph.mcp_server.faults import Fault, code_of

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


#: What to do next, by code, when nothing more particular applies.
_LAST_STEP: dict[str, str] = {
    "conflict": "read it again with get_memory, then retry with what you read",
    "forbidden": "use a connection whose scopes allow this",
    "cancelled": "call it again to start over",
    "unavailable": "retry in a moment",
}


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


def fault_of(error: MemoryGraphError) -> Fault:
    """A library error as a tool error's fault: its code, the parameter at fault, the
    library's reason, and the next step in tool terms where one applies."""
    steps = [tool_words(step) for step in error.next_steps]
    if isinstance(error, ConflictError) and error.field in _CONFLICT_STEP:
        steps.append(_CONFLICT_STEP[error.field])
    if not steps:
        steps += [step for kind, step in _NEXT_STEP if isinstance(error, kind)][:1]
    if not steps and isinstance(error, UsageError):
        steps.append(f"correct {error.field or 'the arguments'} and call again")
    code = code_of(error)
    if not steps:
        steps.append(_LAST_STEP.get(code, "retry; if it fails again, check the server's log"))
    reason = error.problem.splitlines()[0] if error.problem else type(error).__name__
    return Fault(
        code=code,
        reason=reason,
        field=error.field,
        next_step="; ".join(steps),
        retryable=error.retryable,
    )


def error_message(error: MemoryGraphError) -> str:
    """The one line a tool error says for `error` (its fault as text)."""
    return fault_of(error).text()


def tool_errors(
    fn: Callable[P, Awaitable[CallToolResult]],
) -> Callable[P, Awaitable[CallToolResult]]:
    """Turn the library's errors raised by `fn` into tool errors (`isError`) of the one
    shape (`memorygraph.mcp_server.faults`)."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> CallToolResult:
        try:
            return await fn(*args, **kwargs)
        except MemoryGraphError as e:
            fault = fault_of(e)
            log.info("%s failed: %s (%s)", fn.__name__, fault.code, type(e).__name__)
            return fault.result()

    return wrapper


def lines(*parts: Any) -> str:
    """Join the non-empty parts with newlines."""
    return "\n".join(str(p) for p in parts if p not in (None, ""))
