"""Tool errors in one shape.

Every tool error the server returns (`isError`) carries the same object, as
structured content under "error" and as its one text line:

    {"error": {"code": "not_found", "field": "memory_id", "reason": "…",
               "next_step": "…", "retryable": false}}
    not_found: … (parameter memory_id); next step …

`code` is one of `CODES` and never changes meaning; `field` is the argument at
fault as a path (`context.metadata.n`), or null; `next_step` says what to do in
the words of the tools. docs/MCP.md lists the codes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Final, Literal

from mcp.types import CallToolResult, TextContent
from pydantic import ValidationError

from memorygraph.errors import (
    BackendBusyError,
    BackendConnectionError,
    ConflictError,
    ForbiddenError,
    MemoryGraphError,
    MigrationInterrupted,
    NotFoundError,
    TargetBusyError,
    TooLargeError,
    UsageError,
)

Code = Literal[
    "invalid_argument",
    "too_large",
    "not_found",
    "conflict",
    "forbidden",
    "unavailable",
    "cancelled",
    "failed",
    "internal",
]

#: Every code, and what it tells the caller.
CODES: Final[dict[Code, str]] = {
    "invalid_argument": "an argument is missing, unknown, of the wrong type or out of range",
    "too_large": "an argument or the whole request is over a limit (the reason names it)",
    "not_found": "no memory, relationship, migration or tool has that id or name",
    "conflict": "the record changed since it was read, or its id is taken",
    "forbidden": "the caller's scopes do not allow the operation",
    "unavailable": "the engine or the target is unreachable or busy; retrying may help",
    "cancelled": "the operation was stopped before it finished",
    "failed": "a valid request failed while running",
    "internal": "a fault in the server itself",
}


@dataclass(frozen=True)
class Fault:
    """What went wrong with one request, in the shape every tool error carries."""

    code: Code
    reason: str
    next_step: str
    field: str | None = None
    retryable: bool = False

    def text(self) -> str:
        """The fault as one line: code, field, reason, next step."""
        where = f" (parameter {self.field})" if self.field else ""
        step = f"; {self.next_step}"
        again = " (retrying may help)" if self.retryable and "retry" not in step else ""
        return f"{self.code}: {self.reason}{where}{step}{again}"

    def structured(self) -> dict[str, Any]:
        """The fault as the structured content of a tool error."""
        return {"error": asdict(self)}

    def result(self) -> CallToolResult:
        """The tool error (`isError`) carrying this fault."""
        return CallToolResult(
            content=[TextContent(type="text", text=self.text())],
            structured_content=self.structured(),
            is_error=True,
        )


def no_such_tool(name: str) -> Fault:
    """The fault for a call of a tool the caller's tool list does not have."""
    return Fault(
        code="not_found",
        field="name",
        reason=f"no tool is named {name!r}",
        next_step="call one of the tools that tools/list names",
    )


def code_of(error: MemoryGraphError) -> Code:
    """The stable code for a library error."""
    kinds: list[tuple[type[MemoryGraphError], Code]] = [
        (TooLargeError, "too_large"),
        (NotFoundError, "not_found"),
        (ConflictError, "conflict"),
        (ForbiddenError, "forbidden"),
        (MigrationInterrupted, "cancelled"),
        ((BackendConnectionError), "unavailable"),
        (BackendBusyError, "unavailable"),
        (TargetBusyError, "unavailable"),
        (UsageError, "invalid_argument"),
    ]
    for kind, code in kinds:
        if isinstance(error, kind):
            return code
    return "failed"


def validation_fault(error: ValidationError, tool: str) -> Fault:
    """The arguments of `tool` that failed its schema: the first one's path as the field,
    every one's path and reason in the reason."""
    problems = []
    for item in error.errors():
        path = ".".join(str(p) for p in item["loc"]) or "arguments"
        problems.append((path, item["msg"]))
    return Fault(
        code="invalid_argument",
        field=problems[0][0] if problems else None,
        reason="; ".join(f"{path}: {message}" for path, message in problems),
        next_step=f"correct the arguments as the input schema of {tool} says, then call again",
    )


def unexpected_fault(tool: str, error: BaseException) -> Fault:
    """A failure the server did not expect: named by its kind only (its message may
    quote the caller's data)."""
    return Fault(
        code="internal",
        reason=f"{tool} failed unexpectedly ({type(error).__name__})",
        next_step="retry once; if it fails again, report it with the server's log",
        retryable=True,
    )
