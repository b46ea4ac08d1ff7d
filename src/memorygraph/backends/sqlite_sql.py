"""The SQL pieces every SQLite module shares: parameter lists cut to SQLite's limit,
their placeholders, each record kind's table, and the conditions that keep a read
to a principal's namespaces.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from memorygraph.backends.base import RecordKind
from memorygraph.principal import DEFAULT_NAMESPACE, Namespaces

# Stays under SQLITE_MAX_VARIABLE_NUMBER on every SQLite still in use.
CHUNK = 500


def chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    """`items` in slices of at most `CHUNK`, in order."""
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def marks(n: int) -> str:
    """`n` placeholders, comma-separated, for an `IN (...)` list."""
    return ",".join("?" * n)


#: Each record kind's table.
TABLES: dict[str, str] = {"memory": "memories", "relationship": "relationships"}


def in_namespaces(doc: str, namespaces: Namespaces) -> tuple[str, list[str]]:
    """A condition that the memory whose doc column is `doc` is in `namespaces`, and
    its parameters. Read from the doc itself: no column to keep current on any write
    path, and every read it filters reaches its rows by id, text match or edge first,
    so an index on it would not be used."""
    condition = (
        f"coalesce(json_extract({doc}, '$.context.tenant_id'), ?) "
        f"IN ({marks(len(namespaces.names))})"
    )
    return condition, [DEFAULT_NAMESPACE, *namespaces.names]


def ends_in_namespaces(from_id: str, to_id: str, namespaces: Namespaces) -> tuple[str, list[str]]:
    """A condition that both ends of a relationship are in `namespaces`."""
    ends, params = [], []
    for n, end in enumerate((from_id, to_id)):
        condition, values = in_namespaces(f"e{n}.doc", namespaces)
        ends.append(f"EXISTS (SELECT 1 FROM memories e{n} WHERE e{n}.id = {end} AND {condition})")
        params += values
    return " AND ".join(ends), params


def namespace_filter(
    kind: RecordKind, namespaces: Namespaces | None
) -> tuple[list[str], list[str]]:
    """The conditions (and parameters) keeping a page of `kind` read from its own table
    to `namespaces`; none when every namespace is seen."""
    if namespaces is None:
        return [], []
    if kind == "memory":
        condition, params = in_namespaces("doc", namespaces)
    else:
        condition, params = ends_in_namespaces("from_id", "to_id", namespaces)
    return [condition], params
