"""A backend writes; planning a write is a sink's work (`memorygraph.sinks.PlanningSink`).
No operation of the contract, nor of any registered backend, takes a `dry_run` switch
or a `held` set of ids an earlier planned batch would have written."""

from __future__ import annotations

import inspect

import pytest

from memorygraph.backends.base import Backend
from memorygraph.backends.catalog import backend_names
from memorygraph.backends.registry import backend_class
from memorygraph.backends.sqlite import SQLiteBackend

PLANNING_PARAMETERS = ("dry_run", "held")


def planning_parameters(cls: type) -> list[str]:
    """Each `Class.method(parameter)` of `cls` (inherited methods included) whose
    parameter belongs to planning rather than writing."""
    found: list[str] = []
    for name, member in inspect.getmembers(cls, callable):
        try:
            parameters = inspect.signature(member).parameters
        except (TypeError, ValueError):  # a builtin without a signature
            continue
        found += [f"{cls.__name__}.{name}({p})" for p in parameters if p in PLANNING_PARAMETERS]
    return found


@pytest.mark.parametrize("name", ["contract", *backend_names()])
def test_no_backend_operation_takes_a_dry_run(name: str) -> None:
    cls = Backend if name == "contract" else backend_class(name)
    assert planning_parameters(cls) == []


def test_a_dry_run_parameter_is_found_wherever_it_is_declared() -> None:
    class Planning(SQLiteBackend):
        async def purge_memories(self, ids: object, *, dry_run: bool = False) -> int:
            return 0

        def _helper(self, held: object) -> None:
            pass

    assert sorted(planning_parameters(Planning)) == [
        "Planning._helper(held)",
        "Planning.purge_memories(dry_run)",
    ]
