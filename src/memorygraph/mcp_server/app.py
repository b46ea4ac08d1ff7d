"""Building the MCP server for one open store.

The caller opens the store (so a bad path or an unreachable engine fails before
the server speaks) and passes it in with the settings; `build_server` registers
the tools of the chosen profile:

core      the memory tools (the default: a small tool list in the agent's context)
extended  the memory tools, plus migration, export and import
"""

import logging
from collections.abc import Callable
from typing import Any

from mcp.server.auth.provider import TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.types import CallToolResult, Icon, InputRequiredResult, Tool, ToolAnnotations
from pydantic import BaseModel, ValidationError

from memorygraph.mcp_server import memory_tools
from memorygraph.mcp_server.access import scope_of
from memorygraph.mcp_server.audit import AuditLog
from memorygraph.mcp_server.faults import Fault, no_such_tool, unexpected_fault, validation_fault
from memorygraph.mcp_server.guard import Refused, guarded_call
from memorygraph.mcp_server.limits import Limits, check_arguments
from memorygraph.mcp_server.result_schemas import (
    result_model,
    returning_plain_result,
    shallow_schema,
)
from memorygraph.mcp_server.state import PROFILES as PROFILES
from memorygraph.mcp_server.state import Profile as Profile
from memorygraph.mcp_server.state import ServerSettings as ServerSettings
from memorygraph.mcp_server.state import ServerState as ServerState
from memorygraph.mcp_server.transport import stdio_streams
from memorygraph.ops.memories import MemoryStore
from memorygraph.version import __version__

log = logging.getLogger("memorygraph.mcp")

INSTRUCTIONS = """\
memorygraph is your long-term memory: problems, solutions, errors, fixes, decisions and
patterns, joined by typed relationships. Start with recall_memories when you need to
remember something; after solving a problem, store_memory the solution and link it with
create_relationship (solution SOLVES problem). Lists come in pages (limit, offset)."""


class MemoryGraphServer(MCPServer):
    """The SDK's server, answering every call: arguments are checked against the tool's
    parameters and the `limits` before any work, and every tool error has the one shape
    of `faults.py`. `state` is what its tools share (set by `build_server`)."""

    state: ServerState
    #: The tools only a principal with the admin scope sees and calls.
    admin_tools: frozenset[str] = frozenset()
    audit: AuditLog | None = None
    limits: Limits

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: The result model each tool's handler declares, by tool name.
        self.result_models: dict[str, type[BaseModel]] = {}

    def add_tool(
        self,
        fn: Callable[..., Any],
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        annotations: ToolAnnotations | None = None,
        icons: list[Icon] | None = None,
        meta: dict[str, Any] | None = None,
        structured_output: bool | None = None,
    ) -> None:
        """The SDK's `add_tool`; a handler declaring its result model
        (``-> Annotated[CallToolResult, Model]``) gets that model's shallow schema
        as its output schema (`result_schemas`)."""
        model = result_model(fn)
        super().add_tool(
            returning_plain_result(fn) if model is not None else fn,
            name=name,
            title=title,
            description=description,
            annotations=annotations,
            icons=icons,
            meta=meta,
            structured_output=structured_output,
        )
        if model is not None:
            self.result_models[name or fn.__name__] = model

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context | None = None
    ) -> CallToolResult | InputRequiredResult:
        try:
            async with guarded_call(self, name, arguments) as call:
                call.result = await self._answer(name, arguments, context)
        except Refused as e:
            return e.fault.result()
        assert call.result is not None
        return call.result

    async def _answer(
        self, name: str, arguments: dict[str, Any], context: Context | None
    ) -> CallToolResult | InputRequiredResult:
        """The tool's answer to a call the caller may make, or the fault that stops it."""
        tool = self._tool_manager.get_tool(name)
        if tool is None:
            return no_such_tool(name).result()
        fault = unknown_arguments(name, arguments, tool.parameters) or check_arguments(
            arguments, self.limits
        )
        if fault is not None:
            log.info("%s refused: %s (parameter %s)", name, fault.code, fault.field)
            return fault.result()
        try:
            return await super().call_tool(name, arguments, context)
        except UnexpectedToolError as e:
            log.error("tool %s failed unexpectedly: %s", name, type(e.__cause__).__name__)
            return unexpected_fault(name, e.__cause__ or e).result()
        except ToolError as e:
            if isinstance(e.__cause__, ValidationError):
                return validation_fault(e.__cause__, name).result()
            return Fault(
                code="invalid_argument",
                reason=str(e),
                next_step=f"correct the arguments as the input schema of {name} says",
            ).result()

    async def run_stdio_async(self) -> None:
        """Serve over stdin and stdout, answering every line (see `transport.py`)."""
        lowlevel = self._lowlevel_server
        async with (
            self.state.reading_ahead(),
            stdio_streams(self.limits) as (read_stream, write_stream),
        ):
            await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())

    async def list_tools(self) -> list[Tool]:
        """The tools, with schemas an agent reads on every session kept to what it needs
        (`slim_input`), and each result one level deep (`result_schemas`)."""
        return [
            tool.model_copy(
                update={
                    "input_schema": slim_input(tool.input_schema),
                    "output_schema": shallow_schema(self.result_models[tool.name])
                    if tool.name in self.result_models
                    else None,
                }
            )
            for tool in await super().list_tools()
            if self.state.principal.may(scope_of(tool.name, tool.annotations, self.admin_tools))
        ]


def slim_input(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` without what repeats or says nothing: the titles pydantic adds, and for
    an optional parameter the `null` alternative and its `null` default (leaving it out
    means the same)."""
    slimmed: dict[str, Any] = _untitled(schema)
    for name, prop in slimmed.get("properties", {}).items():
        prop = _without_null(prop)
        if prop.get("additionalProperties") is True:  # what an object allows anyway
            prop = {k: v for k, v in prop.items() if k != "additionalProperties"}
        slimmed["properties"][name] = prop
    return slimmed


def _untitled(node: Any, names: bool = False) -> Any:
    if isinstance(node, list):
        return [_untitled(item) for item in node]
    if not isinstance(node, dict):
        return node
    if names:  # a map of property or definition names to schemas: keep every name
        return {key: _untitled(value) for key, value in node.items()}
    return {
        key: _untitled(value, names=key in ("properties", "$defs"))
        for key, value in node.items()
        if not (key == "title" and isinstance(value, str))
    }


def _without_null(prop: dict[str, Any]) -> dict[str, Any]:
    """An optional field's schema without its `null` alternative and `null` default."""
    options = prop.get("anyOf")
    if not isinstance(options, list):
        return prop
    kept = [o for o in options if o != {"type": "null"}]
    if len(kept) != 1 or len(kept) == len(options):
        return prop
    merged = {k: v for k, v in prop.items() if k != "anyOf" and not (k == "default" and v is None)}
    return {**kept[0], **merged}


def unknown_arguments(tool: str, arguments: dict[str, Any], schema: dict[str, Any]) -> Fault | None:
    """A fault naming the arguments `tool`'s input schema does not have, if any."""
    known = schema.get("properties", {})
    unknown = sorted(name for name in arguments if name not in known)
    if not unknown:
        return None
    return Fault(
        code="invalid_argument",
        field=unknown[0],
        reason=f"{tool} has no argument {', '.join(repr(n) for n in unknown)}",
        next_step=f"leave it out; {tool} takes {', '.join(known) or 'no arguments'}",
    )


def build_server(
    store: MemoryStore,
    settings: ServerSettings | None = None,
    *,
    auth: AuthSettings | None = None,
    token_verifier: TokenVerifier | None = None,
) -> MemoryGraphServer:
    """An MCP server whose tools work on `store` (which the caller keeps open); with
    `auth` and `token_verifier`, each request's bearer token is checked before any tool
    runs, and the tools run for the token's principal."""
    settings = settings or ServerSettings()
    server = MemoryGraphServer(
        name="memorygraph",
        version=__version__,
        instructions=INSTRUCTIONS,
        log_level=settings.log_level,
        auth=auth,
        token_verifier=token_verifier,
    )
    state = ServerState(store, settings)
    server.state = state
    server.limits = settings.limits
    memory_tools.register(server, state)
    if settings.profile == "extended":
        from memorygraph.mcp_server import migration_tools

        before = {tool.name for tool in server._tool_manager.list_tools()}
        migration_tools.register(server, state)
        server.admin_tools = frozenset(
            tool.name for tool in server._tool_manager.list_tools() if tool.name not in before
        )
    return server
