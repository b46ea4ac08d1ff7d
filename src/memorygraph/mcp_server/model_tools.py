"""Tools whose parameters are a verb's input model (`memorygraph.ops.inputs`).

`model_tool` registers a handler that takes the model as one argument. The tool an
MCP client sees has the model's fields as its parameters, with their types,
defaults, bounds and descriptions, so the schema follows the model and nothing is
spelled a second time here. The SDK checks the arguments against that schema; the
handler gets them as the model.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field
from pydantic_core import PydanticUndefined

from memorygraph.mcp_server.results import tool_errors
from memorygraph.ops.inputs import VerbInput

M = TypeVar("M", bound=VerbInput)
Handler = Callable[[M], Awaitable[CallToolResult]]


def parameters(model: type[VerbInput]) -> list[inspect.Parameter]:
    """The model's fields as keyword parameters a tool signature can carry."""
    params = []
    for name, field in model.model_fields.items():
        described = Field(description=field.description) if field.description else Field()
        annotation: Any = Annotated.__class_getitem__(  # type: ignore[attr-defined]
            (field.annotation, *field.metadata, described)
        )
        default = inspect.Parameter.empty if field.is_required() else field.default
        if default is PydanticUndefined:
            default = inspect.Parameter.empty
        params.append(
            inspect.Parameter(
                name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
            )
        )
    return params


def model_tool(
    server: MCPServer, model: type[M], *, annotations: ToolAnnotations
) -> Callable[[Handler[M]], Handler[M]]:
    """Register the decorated handler as a tool named after it, whose parameters are
    `model`'s fields and whose description is the handler's docstring. The library's
    errors become tool errors (`tool_errors`)."""

    def register(handler: Handler[M]) -> Handler[M]:
        guarded = tool_errors(handler)

        async def tool(**arguments: Any) -> CallToolResult:
            return await guarded(model.model_validate(arguments))

        returns = inspect.signature(handler, eval_str=True).return_annotation
        tool.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            parameters(model), return_annotation=returns
        )
        tool.__name__ = tool.__qualname__ = handler.__name__
        tool.__doc__ = handler.__doc__
        server.tool(annotations=annotations)(tool)
        return handler

    return register
