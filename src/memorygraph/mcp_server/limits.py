"""The limits on what a request may hold, checked before a tool does any work.

A request over a limit is refused with `too_large`, naming the limit; text
that is not valid Unicode (a lone surrogate, or bytes that were not UTF-8) is
refused with `invalid_argument`, naming the field. docs/MCP.md lists the
limits and their defaults; `ServerSettings.limits` changes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from memorygraph.errors import ConfigurationError
from memorygraph.mcp_server.faults import Fault


@dataclass(frozen=True)
class Limits:
    """What one request may hold. Sizes of text are in characters."""

    #: One protocol message, in bytes (the transport refuses a longer line unread).
    max_request_bytes: int = 8 * 2**20
    #: Nesting of a protocol message (objects and arrays), and so of any argument.
    max_depth: int = 64
    max_title_chars: int = 1_000
    max_content_chars: int = 2_000_000
    max_query_chars: int = 1_000
    #: Any other text argument: a summary, a tag, an id, a description, a path…
    max_text_chars: int = 10_000
    #: Tags of one call (tags, add_tags, remove_tags, each).
    max_tags: int = 100
    #: Nesting of context.metadata, and its size as JSON text.
    max_metadata_depth: int = 16
    max_metadata_chars: int = 65_536

    @classmethod
    def parse(cls, settings: Iterable[str]) -> Limits:
        """Limits with each "name=value" of `settings` applied to the defaults;
        `ConfigurationError` naming the setting and the choices when one is wrong."""
        names = [f.name for f in fields(cls)]
        changes: dict[str, int] = {}
        for setting in settings:
            name, _, value = setting.partition("=")
            name = name.strip()
            if name not in names:
                raise ConfigurationError(
                    f"unknown limit {name!r}; choose one of: {', '.join(names)}", field="limit"
                )
            try:
                number = int(value.strip().replace("_", ""))
            except ValueError:
                number = 0
            if number < 1:
                raise ConfigurationError(
                    f"limit {name} must be a whole number of 1 or more, not {value!r}",
                    field="limit",
                )
            changes[name] = number
        return replace(cls(), **changes)


#: Arguments with a text limit of their own (the rest have max_text_chars).
_TEXT_LIMITS = {
    "title": "max_title_chars",
    "content": "max_content_chars",
    "query": "max_query_chars",
}
_TAG_LISTS = ("tags", "add_tags", "remove_tags")


def check_arguments(arguments: Mapping[str, Any], limits: Limits) -> Fault | None:
    """The first limit `arguments` break, or text in them that is not valid Unicode;
    None when they keep every limit. Walks each value once, never deeper than
    `limits.max_depth`."""
    for name in _TAG_LISTS:
        tags = arguments.get(name)
        if isinstance(tags, list) and len(tags) > limits.max_tags:
            return _too_large(name, f"{len(tags):,} tags", "max_tags", limits.max_tags)
    context = arguments.get("context")
    if isinstance(context, dict) and isinstance(context.get("metadata"), dict | list):
        fault = _check_metadata(context["metadata"], limits)
        if fault is not None:
            return fault
    walk = _Walk(limits)
    for name, value in arguments.items():
        fault = walk.visit(value, (name,), 1)
        if fault is not None:
            return fault
    return None


def _check_metadata(metadata: Any, limits: Limits) -> Fault | None:
    depth, size = _depth_and_size(metadata, limits.max_metadata_depth + 1)
    if depth > limits.max_metadata_depth:
        return _too_large(
            "context.metadata",
            f"metadata nested more than {limits.max_metadata_depth} levels deep",
            "max_metadata_depth",
            limits.max_metadata_depth,
        )
    if size > limits.max_metadata_chars:
        return _too_large(
            "context.metadata",
            f"metadata of about {size:,} characters",
            "max_metadata_chars",
            limits.max_metadata_chars,
        )
    return None


def _depth_and_size(value: Any, stop: int) -> tuple[int, int]:
    """How deep `value` nests (counted up to `stop`) and about how long it is as JSON."""
    if isinstance(value, dict):
        if stop <= 0:
            return 1, 0
        deepest, size = 0, 2
        for key, item in value.items():
            depth, length = _depth_and_size(item, stop - 1)
            deepest, size = max(deepest, depth), size + len(str(key)) + 4 + length
        return deepest + 1, size
    if isinstance(value, list):
        if stop <= 0:
            return 1, 0
        deepest, size = 0, 2
        for item in value:
            depth, length = _depth_and_size(item, stop - 1)
            deepest, size = max(deepest, depth), size + 1 + length
        return deepest + 1, size
    if isinstance(value, str):
        return 0, len(value) + 2
    return 0, len(str(value))


class _Walk:
    """One pass over the arguments: nesting, text sizes, and text that is not Unicode."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits

    def visit(self, value: Any, path: tuple[str | int, ...], depth: int) -> Fault | None:
        if isinstance(value, str):
            return self.text(value, path)
        if not isinstance(value, dict | list):
            return None
        if depth > self.limits.max_depth:
            return _too_large(
                _dotted(path[:2]),
                f"an argument nested more than {self.limits.max_depth} levels deep",
                "max_depth",
                self.limits.max_depth,
            )
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(key, str):
                fault = self.text(key, (*path, key))
                if fault is not None:
                    return fault
            fault = self.visit(item, (*path, key), depth + 1)
            if fault is not None:
                return fault
        return None

    def text(self, value: str, path: tuple[str | int, ...]) -> Fault | None:
        limit = _TEXT_LIMITS.get(str(path[0])) if len(path) == 1 else None
        limit = limit or "max_text_chars"
        allowed: int = getattr(self.limits, limit)
        if len(value) > allowed:
            return _too_large(_dotted(path), f"{len(value):,} characters", limit, allowed)
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as e:
                return Fault(
                    code="invalid_argument",
                    field=_dotted(path),
                    reason=f"the text is not valid Unicode: a lone surrogate "
                    f"(U+{ord(value[e.start]):04X}) at character {e.start}, or bytes that "
                    "were not UTF-8",
                    next_step="send the text as UTF-8 without lone surrogates",
                )
        return None


def _too_large(field: str, what: str, limit: str, allowed: int) -> Fault:
    return Fault(
        code="too_large",
        field=field,
        reason=f"{what} is over the limit {limit} = {allowed:,}",
        next_step=f"send less ({limit} is {allowed:,}), for example split it up",
    )


def _dotted(path: tuple[str | int, ...]) -> str:
    return ".".join(str(p) for p in path)
