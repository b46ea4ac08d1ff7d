"""Every tool call passes here: the caller's scope is checked before the tool runs,
and the call is written to the audit log (when the server keeps one) after it ends."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from mcp.types import CallToolResult, InputRequiredResult, TextContent

from memorygraph.mcp_server.access import refusal, scope_of
from memorygraph.mcp_server.audit import Outcome, touched_ids
from memorygraph.mcp_server.faults import Fault
from memorygraph.mcp_server.results import fault_of

if TYPE_CHECKING:
    from mcp.server.mcpserver.tools.tool_manager import ToolManager

    from memorygraph.mcp_server.audit import AuditLog
    from memorygraph.mcp_server.state import ServerState


class GuardedServer(Protocol):
    """What the guard reads of the server whose call it guards (`app.MemoryGraphServer`)."""

    state: ServerState
    admin_tools: frozenset[str]
    audit: AuditLog | None

    @property
    def _tool_manager(self) -> ToolManager: ...


class Refused(Exception):
    """The caller may not run the tool: `fault` is the tool error to answer with."""

    def __init__(self, fault: Fault) -> None:
        super().__init__(fault.text())
        self.fault = fault


@dataclass
class Call:
    """What the guarded tool call returned (set by the caller of `guarded_call`)."""

    result: CallToolResult | InputRequiredResult | None = None


@asynccontextmanager
async def guarded_call(
    server: GuardedServer, name: str, arguments: Mapping[str, Any]
) -> AsyncIterator[Call]:
    """Run a tool call in the body, if the caller holds the tool's scope.

    A missing scope is `Refused` with a `forbidden` fault naming the scope, before
    the tool runs, also for a tool absent from that caller's tool list.
    """
    principal = server.state.principal
    tool = server._tool_manager.get_tool(name)
    scope = scope_of(name, tool.annotations, server.admin_tools) if tool is not None else None
    call = Call()
    outcome: Outcome = "ok"
    error: str | None = None
    try:
        if scope is not None and not principal.may(scope):
            outcome = "forbidden"
            raise Refused(fault_of(refusal(principal, name, scope)))
        yield call
        if isinstance(call.result, CallToolResult) and call.result.is_error:
            outcome, error = "error", _text_of(call.result)
    except Refused as e:
        error = str(e)
        raise
    except BaseException as e:
        outcome, error = "error", type(e).__name__
        raise
    finally:
        if server.audit is not None:
            result = (
                call.result.structured_content if isinstance(call.result, CallToolResult) else None
            )
            namespace = arguments.get("namespace")
            if not isinstance(namespace, str) and principal.namespaces and scope != "read":
                namespace = principal.namespaces[0]  # where the write went
            server.audit.record(
                principal=principal,
                tool=name,
                namespace=namespace if isinstance(namespace, str) else None,
                ids=touched_ids(arguments, result),
                outcome=outcome,
                error=error,
            )


def _text_of(result: CallToolResult) -> str:
    return " ".join(c.text for c in result.content if isinstance(c, TextContent))[:500]
