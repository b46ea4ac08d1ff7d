"""Command-line options and arguments made from a verb's input model
(`memorygraph.ops.inputs`).

`model_options(Model, field=Flag(…), …)` adds one click parameter per field, with
the type, bounds, default and description the field declares, and hands the command
the parsed values as one `Model`. A field is the option ``--field-name`` unless a
`Flag` gives it another form: a shorter flag, a positional argument, choices, help
in the terminal's words, or none at all (`Flag(cli=False)`: a content window means
nothing to a command that prints the whole record). A value the model refuses
becomes a usage error (exit 2) that names the flag. So a new field is added to the
model alone, and shows up here as an option.
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import annotated_types
import click
import orjson
from pydantic import ValidationError
from pydantic.fields import FieldInfo

from memorygraph.cli.common import name_input
from memorygraph.errors import MemoryGraphError
from memorygraph.ops.inputs import VerbInput

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Flag:
    """How a field appears on the command line.

    `name` is the option (default: ``--`` and the field's name with dashes; a yes/no
    field may name both, ``--skip-duplicates/--no-skip-duplicates``), or with
    `argument` the field is a positional argument shown as `name`. `choices` are the
    values offered (any case; the library checks them anyway). `help` replaces the
    field's description. `convert` is a click callback that reads the text first,
    for a check worded for the terminal. With `cli` False the command does not offer
    the field."""

    name: str | None = None
    argument: bool = False
    choices: tuple[str, ...] = ()
    help: str | None = None
    convert: Callable[[click.Context, click.Parameter, Any], Any] | None = None
    cli: bool = True


class JsonObject(click.ParamType):  # type: ignore[type-arg]
    """A JSON object given as text, e.g. ``'{"git_branch": "main"}'``."""

    name = "json-object"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, dict):
            return value
        try:
            parsed = orjson.loads(value)
        except orjson.JSONDecodeError as e:
            self.fail(f"{value!r} is not JSON ({e}); give an object like '{{\"k\": 1}}'")
        if not isinstance(parsed, dict):
            self.fail(f"{value!r} is not a JSON object; give one like '{{\"k\": 1}}'")
        return parsed


def _bare(annotation: Any) -> tuple[Any, bool]:
    """The annotation without `| None`, and whether it is a list."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        kept = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = kept[0]
    if typing.get_origin(annotation) is list:
        return typing.get_args(annotation)[0], True
    return annotation, False


def _bound(field: FieldInfo, kind: type) -> Any:
    low: Any = next((m.ge for m in field.metadata if isinstance(m, annotated_types.Ge)), None)
    high: Any = next((m.le for m in field.metadata if isinstance(m, annotated_types.Le)), None)
    if low is None and high is None:
        return kind
    if kind is int:
        return click.IntRange(low, high)
    return click.FloatRange(low, high)


def _type(field: FieldInfo, flag: Flag) -> Any:
    base, _ = _bare(field.annotation)
    if flag.choices:
        return click.Choice(flag.choices, case_sensitive=False)
    if base is dict or typing.get_origin(base) is dict:
        return JsonObject()
    if base in (int, float):
        return _bound(field, base)
    return str


#: Where click keeps a field's value: apart from the command's own parameters, which
#: may share a field's name (``--path`` of the store beside an import's FILE).
_DEST = "field_"


def field_name(param: click.Parameter) -> str | None:
    """The model field `param` stands for, or None for a command's own parameter."""
    name = param.name or ""
    return name.removeprefix(_DEST) if name.startswith(_DEST) else None


def _parameter(name: str, field: FieldInfo, flag: Flag) -> click.Parameter | None:
    if not flag.cli:
        return None
    base, many = _bare(field.annotation)
    if flag.argument:
        shown_as = flag.name or name.upper()
        return click.Argument(
            [_DEST + name],
            type=_type(field, flag),
            required=field.is_required(),
            metavar=shown_as if field.is_required() else f"[{shown_as}]",
            callback=flag.convert,
        )
    option = flag.name or "--" + name.replace("_", "-")
    help_text = flag.help or field.description
    if base is bool:
        both = "/" in option
        return click.Option(
            [option, _DEST + name],
            is_flag=True,
            default=bool(field.default),
            show_default=both,
            help=help_text,
        )
    settings: dict[str, Any] = {"callback": flag.convert}
    default = None if field.is_required() or many else field.default
    # Only a real default is passed: click counts an explicit None as a given value,
    # and a required option would then never be reported missing.
    if default is not None:
        settings.update(default=default, show_default=default != "")
    return click.Option(
        [option, _DEST + name],
        type=_type(field, flag),
        multiple=many,
        required=field.is_required(),
        help=help_text,
        **settings,
    )


def model_options(model: type[VerbInput], **forms: Flag) -> Callable[[F], F]:
    """Give the decorated command `model`'s fields as parameters, each in the form
    `forms` gives it (by field name) or as ``--field-name``; the command is called
    with `request=` the parsed model and its other parameters as they were."""
    unknown = set(forms) - set(model.model_fields)
    if unknown:
        raise TypeError(f"{model.__name__} has no fields {sorted(unknown)}")
    params = [
        (name, _parameter(name, field, forms.get(name, Flag())))
        for name, field in model.model_fields.items()
    ]
    shown = [(name, p) for name, p in params if p is not None]
    named = dict(shown)

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def command(**given: Any) -> Any:
            values = {}
            for name, _ in shown:
                value = given.pop(_DEST + name)
                if isinstance(value, tuple):
                    value = list(value) or None
                if value is not None:
                    values[name] = value
            try:
                request = model(**values)
            except ValidationError as e:
                raise click.UsageError(_complaint(e, named)) from None
            try:
                return fn(request=request, **given)
            except MemoryGraphError as e:
                if e.field is not None and e.field in named:
                    name_input(e, _cli_name(e.field, named))
                raise

        # click reads the parameters off the function, last decorator first.
        command.__click_params__ = [  # type: ignore[attr-defined]
            *getattr(fn, "__click_params__", []),
            *(p for _, p in reversed(shown)),
        ]
        return command  # type: ignore[return-value]

    return decorate


def _cli_name(name: str, shown: dict[str, click.Parameter]) -> str:
    """What the command line calls the field `name`: its flag, or its argument's name."""
    param = shown.get(name)
    if isinstance(param, click.Option):
        return param.opts[0]
    if param is not None:
        return param.human_readable_name.strip("[]")
    return name


def _complaint(error: ValidationError, shown: dict[str, click.Parameter]) -> str:
    """pydantic's first complaint, worded for the command line: the flag and the fix."""
    first = error.errors()[0]
    name = str(first["loc"][0]) if first["loc"] else ""
    return f"{_cli_name(name, shown)}: {first['msg'].lower()}; give a valid value (see --help)"
