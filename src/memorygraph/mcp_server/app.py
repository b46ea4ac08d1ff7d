"""Building the MCP server for one open store.

The caller opens the store (so a bad path or an unreachable engine fails before
the server speaks) and passes it in with the settings; `build_server` registers
the tools of the chosen profile:

core      the memory tools (the default: a small tool list in the agent's context)
extended  the memory tools, plus migration, export and import
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from mcp.server.auth.provider import TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, InputRequiredResult, Tool
from pydantic import ValidationError

from memorygraph import __version__
from memorygraph.config import DEFAULT_HOME
from memorygraph.errors import ConfigurationError
from memorygraph.mcp_server import memory_tools, migration_tools
from memorygraph.mcp_server.access import request_principal, scope_of
from memorygraph.mcp_server.audit import AuditLog
from memorygraph.mcp_server.guard import guarded_call
from memorygraph.ops.memories import MemoryStore
from memorygraph.ops.migrations import MigrationDesk
from memorygraph.principal import Principal

Profile = Literal["core", "extended"]
PROFILES: Final[tuple[Profile, ...]] = ("core", "extended")

INSTRUCTIONS = """\
memorygraph is your long-term memory: problems, solutions, errors, fixes, decisions and
patterns, joined by typed relationships. Start with recall_memories when you need to
remember something; after solving a problem, store_memory the solution and link it with
create_relationship (solution SOLVES problem). Lists come in pages (limit, offset)."""


@dataclass(frozen=True)
class ServerSettings:
    """How the server runs. `environment` is the process environment, read once at the
    edge: migration targets take their passwords from it."""

    profile: Profile = "core"
    workdir: Path = field(default_factory=lambda: DEFAULT_HOME.expanduser() / "migrations")
    environment: Mapping[str, str] = field(default_factory=dict)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "WARNING"

    @staticmethod
    def profile_named(name: str) -> Profile:
        """The profile called `name`, or `ConfigurationError` naming the choices."""
        for profile in PROFILES:
            if name.strip().lower() == profile:
                return profile
        raise ConfigurationError(
            f"unknown tool profile {name!r}; choose one of: {', '.join(PROFILES)}"
        )


class ServerState:
    """What the tools share: the open store and the migration desk. `store` is the
    store as the caller of the tool being run sees it."""

    def __init__(self, store: MemoryStore, desk: MigrationDesk) -> None:
        self._store = store
        self.desk = desk

    @property
    def principal(self) -> Principal:
        """Who calls: the request's token's principal, or, without authentication, the
        principal the store was given for (`access.request_principal`)."""
        return request_principal(self._store.principal)

    @property
    def store(self) -> MemoryStore:
        principal = self.principal
        if principal == self._store.principal:
            return self._store
        return self._store.for_principal(principal)


class MemoryGraphServer(MCPServer):
    """The SDK's server, with argument errors said in one line that names the parameter.
    `state` is what its tools share (set by `build_server`)."""

    state: ServerState
    #: The tools only a principal with the admin scope sees and calls.
    admin_tools: frozenset[str] = frozenset()
    audit: AuditLog | None = None

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context | None = None
    ) -> CallToolResult | InputRequiredResult:
        async with guarded_call(self, name, arguments) as outcome:
            try:
                outcome.result = await super().call_tool(name, arguments, context)
            except ToolError as e:
                if not isinstance(e.__cause__, ValidationError):
                    raise
                raise ToolError(argument_error(name, e.__cause__)) from e
            return outcome.result

    async def list_tools(self) -> list[Tool]:
        """The tools, with the generated schema titles left out: they repeat the field
        names and cost an agent's context on every session."""
        return [
            tool.model_copy(
                update={
                    "input_schema": slim_schema(tool.input_schema),
                    "output_schema": slim_schema(tool.output_schema)
                    if tool.output_schema is not None
                    else None,
                }
            )
            for tool in await super().list_tools()
            if self.state.principal.may(scope_of(tool.name, tool.annotations, self.admin_tools))
        ]


def slim_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` without the "title" annotations pydantic adds to every object and field."""

    def walk(node: Any, names: bool = False) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        if names:  # a map of property or definition names to schemas: keep every name
            return {key: walk(value) for key, value in node.items()}
        return {
            key: walk(value, names=key in ("properties", "$defs"))
            for key, value in node.items()
            if not (key == "title" and isinstance(value, str))
        }

    slimmed: dict[str, Any] = walk(schema)
    return slimmed


def argument_error(tool: str, error: ValidationError) -> str:
    """One line naming each bad parameter of `tool`, what is wrong with it, and what to do."""
    problems = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "arguments"
        problems.append(f"{where}: {item['msg']}")
    return f"invalid arguments for {tool}: {'; '.join(problems)}; correct them and call again"


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
    state = ServerState(
        store=store,
        desk=MigrationDesk(store.backend.config, settings.workdir, settings.environment),
    )
    server.state = state
    memory_tools.register(server, state)
    if settings.profile == "extended":
        before = {tool.name for tool in server._tool_manager.list_tools()}
        migration_tools.register(server, state)
        server.admin_tools = frozenset(
            tool.name for tool in server._tool_manager.list_tools() if tool.name not in before
        )
    return server
