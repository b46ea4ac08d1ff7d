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

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field
from pydantic_core import PydanticUndefined

from memorygraph.mcp_server.results import tool_errors
from memorygraph.ops.inputs import VerbInput

M = TypeVar("M", bound=VerbInput)
#: A handler takes the model, and the request's `Context` when it has a second
#: parameter (to report progress).
Handler = (
    Callable[[M], Awaitable[CallToolResult]] | Callable[[M, Context], Awaitable[CallToolResult]]
)


#: The name of the parameter that carries the request's Context to a handler.
CONTEXT = "ctx"


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
    `model`'s fields and whose description is the handler's docstring. A handler with
    a second parameter gets the request's `Context` there. The library's errors
    become tool errors (`tool_errors`)."""

    def register(handler: Handler[M]) -> Handler[M]:
        guarded: Callable[..., Awaitable[CallToolResult]] = tool_errors(handler)
        signature = inspect.signature(handler, eval_str=True)
        wants_context = len(signature.parameters) > 1

        async def tool(**arguments: Any) -> CallToolResult:
            context = arguments.pop(CONTEXT, None)
            request = model.model_validate(arguments)
            return await (guarded(request, context) if wants_context else guarded(request))

        params = parameters(model)
        if wants_context:
            # The SDK finds the parameter to put the Context in by its type hint.
            params.append(
                inspect.Parameter(CONTEXT, inspect.Parameter.KEYWORD_ONLY, annotation=Context)
            )
            tool.__annotations__ = {CONTEXT: Context}
        tool.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            params, return_annotation=signature.return_annotation
        )
        tool.__name__ = tool.__qualname__ = handler.__name__
        tool.__doc__ = handler.__doc__
        server.tool(annotations=annotations)(tool)
        return handler

    return register
