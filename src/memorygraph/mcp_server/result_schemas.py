"""The output schema a tool publishes, read from the result model its handler declares.

A handler says what it returns as ``-> Annotated[CallToolResult, SomeResult]``. The
tool list shows each result one level deep: every field of the result with its
JSON type, nested objects only as objects (what the fields mean is in
docs/MCP.md, and every structured result still validates against it).

That shallow schema is read here from the model's fields, without generating the
model's whole JSON schema first: the SDK would otherwise build the full schema of
every result at start (about 10 ms for the core tools) only for the tool list to
cut it down to this.
"""

from __future__ import annotations

import enum
import inspect
import types
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from mcp.types import CallToolResult
from pydantic import BaseModel

#: JSON types of the Python types results hold, checked in order (bool is an int).
_SCALARS: list[tuple[type, str]] = [
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (datetime, "string"),
    (date, "string"),
    (type(None), "null"),
]


def result_model(fn: Callable[..., Any]) -> type[BaseModel] | None:
    """The model of ``-> Annotated[CallToolResult, Model]`` on `fn`, or None."""
    returned = inspect.signature(fn, eval_str=True).return_annotation
    if get_origin(returned) is not Annotated:
        return None
    base, *extras = get_args(returned)
    if base is not CallToolResult:
        return None
    return next((e for e in extras if isinstance(e, type) and issubclass(e, BaseModel)), None)


def returning_plain_result(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn` as a tool function the SDK sees returning a plain `CallToolResult`: its
    parameters, name and docstring, without the result model (`result_model`), so the
    SDK neither builds that model's schema nor checks results against it."""
    signature = inspect.signature(fn, eval_str=True)

    async def tool(*args: Any, **kwargs: Any) -> Any:
        return await fn(*args, **kwargs)

    tool.__signature__ = signature.replace(  # type: ignore[attr-defined]
        return_annotation=CallToolResult
    )
    # The SDK finds the Context parameter by the type hints, not the signature.
    tool.__annotations__ = {
        p.name: p.annotation
        for p in signature.parameters.values()
        if p.annotation is not inspect.Parameter.empty
    }
    tool.__name__ = tool.__qualname__ = fn.__name__
    tool.__doc__ = fn.__doc__
    return tool


def shallow_schema(model: type[BaseModel]) -> dict[str, Any]:
    """`model`'s fields by their serialized names, each with its JSON type only."""
    properties = {}
    for name, field in model.model_fields.items():
        kind = json_type(field.annotation)
        properties[field.serialization_alias or field.alias or name] = (
            {"type": kind} if kind else {}
        )
    return {"type": "object", "properties": properties}


def json_type(annotation: Any) -> str | list[str] | None:
    """The JSON type (or types, for a union) a value of `annotation` is written as;
    None when it can be any."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return json_type(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        kinds: list[str] = []
        for option in get_args(annotation):
            kind = json_type(option)
            if isinstance(kind, str):
                kinds.append(kind)
        return kinds or None
    if origin is Literal:
        return _one_type([json_type(type(v)) for v in get_args(annotation)])
    kind = origin or annotation
    if not isinstance(kind, type):
        return None
    if issubclass(kind, enum.Enum):
        return _one_type([json_type(type(member.value)) for member in kind])
    if issubclass(kind, BaseModel | Mapping | dict):
        return "object"
    if issubclass(kind, list | tuple | set | frozenset) or (
        issubclass(kind, Sequence) and not issubclass(kind, str | bytes)
    ):
        return "array"
    return next((name for scalar, name in _SCALARS if issubclass(kind, scalar)), None)


def _one_type(kinds: list[str | list[str] | None]) -> str | None:
    """The type all of `kinds` share, or None when they differ."""
    first = kinds[0] if kinds else None
    return first if isinstance(first, str) and all(k == first for k in kinds) else None
