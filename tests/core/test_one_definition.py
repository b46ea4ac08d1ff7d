"""Each verb's parameters are defined once, by its input model: the MCP tool's schema,
the command's options and the Python operation all follow from it."""

from __future__ import annotations

import ast
import inspect
import json
from pathlib import Path
from typing import Annotated

import click
import pytest
from click.testing import CliRunner
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from memorygraph.cli.main import cli
from memorygraph.cli.model_options import Flag, field_name, model_options
from memorygraph.config import BackendConfig
from memorygraph.errors import InvalidRecordError
from memorygraph.mcp_server.model_tools import model_tool
from memorygraph.ops import graph_inputs, inputs
from memorygraph.ops import memories as ops
from memorygraph.store import MemoryStore
from tests.mcp_server.helpers import in_process

SRC = Path(__file__).resolve().parents[2] / "src" / "memorygraph"

#: Each MCP tool and the command that offers the same verb, with its input model.
VERBS: list[tuple[str | None, str | None, type[inputs.VerbInput]]] = [
    ("store_memory", "add", inputs.StoreMemory),
    ("get_memory", "get", inputs.GetMemory),
    ("update_memory", "update", inputs.UpdateMemory),
    ("delete_memory", "forget", inputs.DeleteMemory),
    ("create_relationship", "relate", inputs.CreateRelationship),
    ("search_memories", "search", inputs.SearchMemories),
    ("get_related_memories", "related", inputs.RelatedMemories),
    ("recall_memories", None, inputs.RecallMemories),
    ("invalidate_relationship", None, inputs.InvalidateRelationship),
    ("get_recent_activity", None, inputs.GetRecentActivity),
    ("export_memories", "export", graph_inputs.ExportMemories),
    ("import_memories", "import", graph_inputs.ImportMemories),
    ("migrate_database", None, graph_inputs.MigrateDatabase),
    ("validate_migration", None, graph_inputs.ValidateMigration),
    ("rollback_migration", None, graph_inputs.SettleMigration),
    ("resume_migration", None, graph_inputs.SettleMigration),
    (None, "migrate", graph_inputs.MigrateStore),
]


async def test_every_tool_takes_exactly_its_models_fields(tmp_path: Path) -> None:
    async with in_process(BackendConfig("sqlite", path=tmp_path / "m.db")) as client:
        schemas = {t.name: t.input_schema for t in (await client.list_tools()).tools}
    for tool, _, model in VERBS:
        if tool is None:
            continue
        assert set(schemas[tool]["properties"]) == set(model.model_fields), tool
        required = {n for n, f in model.model_fields.items() if f.is_required()}
        assert set(schemas[tool].get("required", [])) == required, tool


@pytest.mark.parametrize(("command", "model"), [(c, m) for _, c, m in VERBS if c is not None])
def test_every_command_offers_only_its_models_fields(
    command: str, model: type[inputs.VerbInput]
) -> None:
    cmd = cli.commands[command]
    assert isinstance(cmd, click.Command)
    fields = {field_name(p) for p in cmd.params} - {None}
    # The fields it offers come from the model (their flag or metavar may be shorter),
    # and none of the command's own parameters spells a field again.
    assert fields and fields <= set(model.model_fields), (command, fields)
    store = {p.name for p in cli.commands["stats"].params}  # where the store is: --path…
    own = {p.name for p in cmd.params if field_name(p) is None} - store
    again = own & set(model.model_fields)
    assert not again, (command, again)


def test_no_operation_spells_a_verbs_parameters_again() -> None:
    """The operations of the verbs take the model (or its fields as keywords) and list
    none of its parameters in their signatures."""
    for name in (
        "remember",
        "get_memory",
        "update_memory",
        "delete_memory",
        "relate",
        "search_memories",
        "find_memories",
        "recall_memories",
        "related_pages",
        "get_related_memories",
        "invalidate_relationship",
        "get_recent_activity",
    ):
        params = list(inspect.signature(getattr(ops, name)).parameters.values())
        kinds = [p.kind for p in params]
        assert kinds == [
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.VAR_KEYWORD,
        ] or kinds == [
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.VAR_KEYWORD,
        ], (name, [p.name for p in params])


def test_the_adapters_name_no_verb_parameter_twice() -> None:
    """The MCP tools and commands of the verbs declare no parameter of their own: a
    keyword like `importance=` or an option like ``--importance`` appears in no adapter
    module, only in the input models."""
    spelled = []
    for path, models in ADAPTERS.items():
        field_names = {n for m in models for n in m.model_fields} - LOCAL_NAMES
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef):
                names = [a.arg for a in node.args.args + node.args.kwonlyargs]
                spelled += [f"{path.name}:{node.name}:{n}" for n in names if n in field_names]
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") in OPTIONS:
                words = [a.value for a in node.args if isinstance(a, ast.Constant)]
                names = {str(w).lstrip("-").replace("-", "_") for w in words}
                spelled += [f"{path.name}:{n}" for n in names & field_names]
    assert not spelled, spelled


OPTIONS = ("option", "argument")
MEMORY_VERBS = [model for _, _, model in VERBS if model.__module__ == inputs.__name__]
GRAPH_VERBS = [model for _, _, model in VERBS if model.__module__ == graph_inputs.__name__]
#: Each adapter module and the verbs whose parameters it must not spell.
ADAPTERS = {
    SRC / "mcp_server" / "memory_tools.py": MEMORY_VERBS,
    SRC / "cli" / "memories.py": MEMORY_VERBS,
    SRC / "cli" / "exchange.py": GRAPH_VERBS,
    SRC / "cli" / "migrate.py": GRAPH_VERBS,
    SRC / "mcp_server" / "migration_tools.py": GRAPH_VERBS,
}
#: Names the formatting code uses for local values of its own.
LOCAL_NAMES = {"query"}


class Probe(inputs.VerbInput):
    title: Annotated[str, Field(min_length=1, description="What it is.")]
    colour: Annotated[str | None, Field(description="A field added to the model alone.")] = None
    weight: Annotated[float, Field(ge=0, le=1)] = 0.5


async def test_a_field_added_to_a_model_reaches_the_tool_schema() -> None:
    server = MCPServer("probe")

    @model_tool(server, Probe, annotations=ToolAnnotations(read_only_hint=True))
    async def probe(request: Probe) -> CallToolResult:
        """Echo the request."""
        return CallToolResult(content=[TextContent(type="text", text=request.model_dump_json())])

    async with Client(server) as client:
        (tool,) = (await client.list_tools()).tools
        assert tool.input_schema["properties"]["colour"]["description"] == (
            "A field added to the model alone."
        )
        assert tool.input_schema["required"] == ["title"]
        done = await client.call_tool("probe", {"title": "t", "colour": "red"})
        assert json.loads(done.content[0].text)["colour"] == "red"  # type: ignore[union-attr]
        refused = await client.call_tool("probe", {"title": "t", "weight": 3})
        assert refused.is_error


def test_a_field_added_to_a_model_reaches_the_command_line() -> None:
    seen: list[Probe] = []

    @click.command()
    @model_options(Probe, title=Flag("TITLE", argument=True))
    def probe(request: Probe) -> None:
        seen.append(request)

    runner = CliRunner()
    assert "--colour" in runner.invoke(probe, ["--help"]).output
    assert runner.invoke(probe, ["t", "--colour", "red"]).exit_code == 0
    assert seen == [Probe(title="t", colour="red")]
    refused = runner.invoke(probe, ["", "--weight", "0.5"])
    assert refused.exit_code == 2
    assert "TITLE" in refused.output


async def test_python_callers_get_the_same_checks(tmp_path: Path) -> None:
    async with MemoryStore.open(BackendConfig("sqlite", path=tmp_path / "m.db")) as store:
        with pytest.raises(InvalidRecordError, match="importance") as bad:
            await ops.remember(store, type="fix", title="t", importance=2)
        assert bad.value.field == "importance"
        with pytest.raises(InvalidRecordError, match="improtance") as typo:
            await ops.remember(store, type="fix", title="t", improtance=0.2)
        assert typo.value.field == "improtance"
        stored = await ops.remember(store, inputs.StoreMemory(type="fix", title="t"))
        assert (await ops.memory(store, stored.id)).title == "t"
