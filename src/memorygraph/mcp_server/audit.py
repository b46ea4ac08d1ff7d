"""The audit log: one JSON line per tool call.

Each line holds the time (UTC), the principal, the tool, the namespace the call
wrote to or the namespaces it could read, the ids of the records it touched
(named in its arguments or returned in its result), and the outcome: "ok",
"error" (the tool failed; `error` holds its one-line message) or "forbidden"
(the caller lacked the scope; nothing ran). Argument values other than ids are
never written: no content, no token, no password. Several server processes may
append to one file; each line is written with one `write` call.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import orjson

from memorygraph import safefiles
from memorygraph.models import utc_now
from memorygraph.principal import Principal

Outcome = Literal["ok", "error", "forbidden"]

#: The most ids one line lists (a page of results lists at most this many anyway).
MAX_IDS = 200

#: Argument names that hold the id of a stored record.
_ID_ARGUMENTS = ("memory_id", "from_memory_id", "to_memory_id", "relationship_id")


def touched_ids(arguments: Mapping[str, Any], result: Any) -> list[str]:
    """The record ids named in a call's arguments or in its structured result."""
    seen: dict[str, None] = {}
    for name in _ID_ARGUMENTS:
        value = arguments.get(name)
        if isinstance(value, str) and value:
            seen[value] = None
    for value in _ids_in(result):
        seen[value] = None
        if len(seen) >= MAX_IDS:
            break
    return list(seen)[:MAX_IDS]


def _ids_in(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("id", "from_id", "to_id", *_ID_ARGUMENTS) and isinstance(value, str):
                yield value
            elif isinstance(value, dict | list):
                yield from _ids_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from _ids_in(item)


class AuditLog:
    """Appends audit lines to `path` (created owner-only if absent)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._out = safefiles.append_own(path, "the audit log", field="audit_log")

    def record(
        self,
        *,
        principal: Principal,
        tool: str,
        namespace: str | None,
        ids: list[str],
        outcome: Outcome,
        error: str | None = None,
    ) -> None:
        line: dict[str, Any] = {
            "time": utc_now().isoformat(),
            "principal": principal.name,
            "tool": tool,
            "namespace": namespace,
            "namespaces": list(principal.namespaces) if principal.namespaces is not None else None,
            "ids": ids,
            "outcome": outcome,
        }
        if error is not None:
            line["error"] = error
        os.write(self._out, orjson.dumps(line) + b"\n")

    def close(self) -> None:
        os.close(self._out)
