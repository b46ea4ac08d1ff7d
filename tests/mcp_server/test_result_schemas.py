"""Output schemas read from result models: one level deep, and what pydantic says."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated, Any, Literal

import pytest
from mcp.types import CallToolResult
from pydantic import BaseModel, Field, TypeAdapter

from memorygraph.config import BackendConfig
from memorygraph.mcp_server import ServerSettings, build_server
from memorygraph.mcp_server.result_schemas import (
    json_type,
    result_model,
    returning_plain_result,
    shallow_schema,
)
from memorygraph.store import MemoryStore
from tests.mcp_server.helpers import in_process


def reduced(schema: dict[str, Any]) -> dict[str, Any]:
    """A full pydantic JSON schema cut to its top-level fields and their types, the
    `$defs` a field refers to read for the type."""
    defs = schema.get("$defs", {})

    def target(node: dict[str, Any]) -> dict[str, Any]:
        ref = node.get("$ref")
        return defs.get(ref.rsplit("/", 1)[-1], {}) if isinstance(ref, str) else node

    def kind(prop: dict[str, Any]) -> dict[str, Any]:
        node = target(prop)
        found = node.get("type")
        if found is None and "anyOf" in node:
            found = [t for t in (target(o).get("type") for o in node["anyOf"]) if t] or None
        return {"type": found} if found else {}

    return {
        "type": "object",
        "properties": {name: kind(prop) for name, prop in schema["properties"].items()},
    }


async def test_every_tool_publishes_its_result_models_fields_with_pydantics_types(
    tmp_path: Path,
) -> None:
    settings = ServerSettings(profile="extended", workdir=tmp_path / "migrations")
    async with MemoryStore.open(BackendConfig("sqlite", path=tmp_path / "m.db")) as store:
        server = build_server(store, settings)
        listed = {tool.name: tool.output_schema for tool in await server.list_tools()}
    assert server.result_models, "no tool declared a result model"
    assert set(listed) == set(server.result_models)
    for name, model in server.result_models.items():
        expected = reduced(TypeAdapter(model).json_schema())
        assert shallow_schema(model) == expected, name
        assert listed[name] == expected, name


async def test_a_client_sees_each_result_one_level_deep(tmp_path: Path) -> None:
    async with in_process(BackendConfig("sqlite", path=tmp_path / "m.db")) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    search = tools["search_memories"].output_schema
    assert search is not None
    assert search["properties"]["results"] == {"type": "array"}
    assert search["properties"]["nothing_relevant"] == {"type": "boolean"}
    assert all("properties" not in prop for prop in search["properties"].values())


class Colour(enum.StrEnum):
    RED = "red"


class Level(enum.IntEnum):
    LOW = 1


class Inner(BaseModel):
    x: int


@pytest.mark.parametrize(
    ("annotation", "expected"),
    [
        (str, "string"),
        (bool, "boolean"),
        (int, "integer"),
        (float, "number"),
        (int | None, ["integer", "null"]),
        (Inner | None, ["object", "null"]),
        (Annotated[str, Field(min_length=1)], "string"),
        (list[Inner], "array"),
        (tuple[str, ...], "array"),
        (dict[str, Any], "object"),
        (Inner, "object"),
        (Colour, "string"),
        (Level, "integer"),
        (Literal["a", "b"], "string"),
        (Any, None),
    ],
)
def test_json_type_is_the_type_pydantic_writes(annotation: Any, expected: Any) -> None:
    assert json_type(annotation) == expected

    class Holder(BaseModel):
        value: annotation  # type: ignore[valid-type]

    assert shallow_schema(Holder) == reduced(TypeAdapter(Holder).json_schema())


class Page(BaseModel):
    items: list[str]


async def test_the_sdk_sees_the_handler_without_its_result_model() -> None:
    async def handler(query: str, limit: int = 5) -> Annotated[CallToolResult, Page]:
        """Find things."""
        return CallToolResult(content=[], structured_content={"items": [query] * limit})

    assert result_model(handler) is Page
    plain = returning_plain_result(handler)
    assert result_model(plain) is None
    assert plain.__name__ == "handler" and plain.__doc__ == "Find things."
    assert list(plain.__annotations__) == ["query", "limit"]
    result = await plain("x", limit=2)
    assert result.structured_content == {"items": ["x", "x"]}
