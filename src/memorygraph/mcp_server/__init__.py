"""The MCP server: memorygraph's operations as tools an AI agent calls.

`build_server(settings)` returns an `MCPServer` (the official `mcp` SDK) whose tools
call `memorygraph.ops` and nothing else; `cli/serve.py` runs it over stdio.
Tool groups live in `memory_tools` and `migration_tools`; `results` turns
operation results and library errors into tool results, `faults` gives every tool
error its one shape, `limits` bounds a request, `transport` answers every stdio line.
"""

from memorygraph.mcp_server.app import PROFILES, ServerSettings, build_server
from memorygraph.mcp_server.limits import Limits

__all__ = ["PROFILES", "Limits", "ServerSettings", "build_server"]
