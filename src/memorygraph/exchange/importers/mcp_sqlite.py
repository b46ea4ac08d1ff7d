"""The SQLite database of the memorygraph MCP server, opened read-only.

Tables: `nodes` (id, label, properties JSON, created_at, updated_at), memory
nodes have label 'Memory' and flat properties (`context_*` keys); and
`relationships` (id, from_id, to_id, rel_type, properties JSON, created_at,
valid_from, valid_until, recorded_at, invalidated_by). The bi-temporal
columns win over the JSON copies: the server updates only the columns when it
invalidates an edge. Rows are streamed in id order.

The server's JSON export carries no relationship ids, so relationship ids are
derived from (from, type, to) here too: of the relationships sharing such a
triple, the one that export carries (still valid, strongest, then lowest
server id) gets the id the JSON importer gives it, any other one an id that
also covers the server's id; `invalidated_by`, which
names a server id, is rewritten to the derived id of that relationship.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from memorygraph.errors import InvalidExportError
from memorygraph.exchange.export import ExportWriter
from memorygraph.exchange.importers._common import (
    ConversionReport,
    Unmappable,
    derived_relationship_id,
    file_time,
    loads_exact,
    memory_from_mcp,
    parse_time,
    relationship_from_mcp,
)
from memorygraph.idindex import IdIndex
from memorygraph.models import Memory, Relationship

NAME = "mcp-sqlite"
_BATCH = 1000
_NODE_COLUMNS = ("id", "label", "properties", "created_at", "updated_at")
_REL_COLUMNS = (
    "id", "from_id", "to_id", "rel_type", "properties", "created_at",
    "valid_from", "valid_until", "recorded_at", "invalidated_by",
)  # fmt: skip


def open_read_only(path: Path) -> sqlite3.Connection:
    """A connection that cannot write (``mode=ro``), or `InvalidExportError`."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as e:
        raise InvalidExportError(f"{path} cannot be read as SQLite ({e})") from e
    if "mg_meta" in tables:
        conn.close()
        raise InvalidExportError(
            f"{path} is a memorygraph database, not an MCP server one; "
            "export it with memorygraph's own export and import that file instead"
        )
    missing = {"nodes", "relationships"} - tables
    if missing:
        conn.close()
        raise InvalidExportError(
            f"{path} has no table(s) {', '.join(sorted(missing))}; "
            "it is not a memorygraph MCP server database"
        )
    return conn


def _columns(conn: sqlite3.Connection, table: str, wanted: tuple[str, ...]) -> list[str]:
    have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
    return [c for c in wanted if c in have]


def _rows(conn: sqlite3.Connection, table: str, columns: list[str]) -> Iterator[dict[str, Any]]:
    cursor = conn.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY id")
    while rows := cursor.fetchmany(_BATCH):
        for row in rows:
            yield dict(zip(columns, row, strict=True))


def _relationship_rows(conn: sqlite3.Connection, columns: list[str]) -> Iterator[dict[str, Any]]:
    """Relationship rows, each with whether it is the first of its (from, type, to) and the
    ends and type of the relationship its `invalidated_by` names, if that is one of the file."""
    # The one the server's JSON export carries: current (no valid_until), strongest.
    first = (
        "(SELECT d.id FROM relationships d WHERE d.from_id = {t}.from_id "
        "AND d.rel_type = {t}.rel_type AND d.to_id = {t}.to_id "
        "ORDER BY d.valid_until IS NOT NULL, CAST(CASE WHEN json_valid(d.properties) "
        "THEN json_extract(d.properties, '$.strength') END AS REAL) DESC, d.id "
        "LIMIT 1) = {t}.id"
    )
    picked = [f"r.{c}" for c in columns]
    invalidated = "invalidated_by" in columns
    extra = (
        ["i.from_id", "i.rel_type", "i.to_id", first.format(t="i")]
        if invalidated
        else ["NULL", "NULL", "NULL", "NULL"]
    )
    join = "LEFT JOIN relationships i ON i.id = r.invalidated_by" if invalidated else ""
    names = [*columns, "first", "inv_from", "inv_type", "inv_to", "inv_first"]
    cursor = conn.execute(
        f"SELECT {', '.join(picked)}, {first.format(t='r')}, {', '.join(extra)} "
        f"FROM relationships r {join} ORDER BY r.id"
    )
    while rows := cursor.fetchmany(_BATCH):
        for row in rows:
            yield dict(zip(names, row, strict=True))


def _derived_id(row: dict[str, Any]) -> str:
    start, rel_type, end = (str(row.get(k)) for k in ("from_id", "rel_type", "to_id"))
    if row.get("first"):
        return derived_relationship_id(start, rel_type, end)
    return derived_relationship_id(start, rel_type, end, str(row.get("id")))


def _props(row: dict[str, Any], report: ConversionReport, what: str) -> dict[str, Any] | None:
    try:
        props = loads_exact(row.get("properties") or "{}")
    except (ValueError, RecursionError):
        report.skip(f"{what} whose properties are not JSON", f"{what} id {row.get('id')!r}")
        return None
    if not isinstance(props, dict):
        report.skip(f"{what} whose properties are not a JSON object", f"id {row.get('id')!r}")
        return None
    return props


def convert(path: Path, writer_for: Any, report: ConversionReport) -> None:
    """Stream the memory nodes, then the relationships, of the database at `path`."""
    conn = open_read_only(path)
    fallback = file_time(path)
    writer: ExportWriter = writer_for()
    try:
        with IdIndex() as written:
            node_columns = _columns(conn, "nodes", _NODE_COLUMNS)
            batch: list[Memory] = []
            for row in _rows(conn, "nodes", node_columns):
                if row.get("label") != "Memory":
                    report.skip(f"nodes labelled {row.get('label')!r} (not memories)")
                    continue
                props = _props(row, report, "memory nodes")
                if props is None:
                    continue
                props.setdefault("id", row["id"])
                for column in ("created_at", "updated_at"):
                    if props.get(column) is None and row.get(column):
                        props[column] = row[column]
                try:
                    # The row's own created_at (SQLite's CURRENT_TIMESTAMP, UTC without a
                    # zone) is read only when the properties have none.
                    default_time = (
                        None
                        if props.get("created_at")
                        else parse_time(row.get("created_at"), report, "created_at")
                    )
                    memory = memory_from_mcp(
                        props, report, default_time=default_time or fallback, where=""
                    )
                except Unmappable as e:
                    report.skip("memory nodes that are not valid", f"node {row['id']!r}: {e}")
                    continue
                batch.append(memory)
                if len(batch) >= _BATCH:
                    write_memories(writer, written, batch, report)
                    batch = []
            write_memories(writer, written, batch, report)

            rel_columns = _columns(conn, "relationships", _REL_COLUMNS)
            rels: list[Relationship] = []
            for row in _relationship_rows(conn, rel_columns):
                props = _props(row, report, "relationships")
                if props is None:
                    continue
                for column in ("valid_from", "valid_until", "recorded_at", "invalidated_by"):
                    if row.get(column) is not None:
                        props[column] = row[column]
                row["id"] = _derived_id(row)
                props.pop("id", None)
                if row.get("inv_from") is not None:
                    props["invalidated_by"] = _derived_id(
                        {
                            "id": props["invalidated_by"],
                            "from_id": row["inv_from"],
                            "rel_type": row["inv_type"],
                            "to_id": row["inv_to"],
                            "first": row["inv_first"],
                        }
                    )
                    report.adjust(
                        "invalidated_by naming a relationship of the file, "
                        "rewritten to that relationship's derived id"
                    )
                if props.get("created_at") is None and row.get("created_at"):
                    props["created_at"] = row["created_at"]
                try:
                    rel = relationship_from_mcp(
                        {
                            "id": row["id"],
                            "from_id": row.get("from_id"),
                            "to_id": row.get("to_id"),
                            "type": row.get("rel_type"),
                        },
                        props,
                        report,
                        default_time=fallback,
                    )
                except Unmappable as e:
                    report.skip(
                        "relationships that are not valid", f"relationship {row['id']!r}: {e}"
                    )
                    continue
                rels.append(rel)
                if len(rels) >= _BATCH:
                    write_relationships(writer, written, rels, report)
                    rels = []
            write_relationships(writer, written, rels, report)
            if report.relationships:
                report.notes.append(
                    "relationship ids are derived from (from, type, to), as for the server's "
                    "JSON export, which has none; the database's own relationship ids are not kept"
                )
    finally:
        conn.close()


def write_memories(
    writer: ExportWriter, written: IdIndex, batch: list[Memory], report: ConversionReport
) -> None:
    duplicates = {
        line for _, line, _ in written.add("memory", [(m.id, i) for i, m in enumerate(batch)])
    }
    for _ in duplicates:
        report.skip("memory nodes repeating an earlier id (first kept)")
    kept = [m for i, m in enumerate(batch) if i not in duplicates]
    writer.write_memories(kept)
    report.memories += len(kept)


def write_relationships(
    writer: ExportWriter, written: IdIndex, batch: list[Relationship], report: ConversionReport
) -> None:
    missing = written.missing("memory", [e for r in batch for e in (r.from_id, r.to_id)])
    kept = []
    for rel in batch:
        if rel.from_id in missing or rel.to_id in missing:
            report.skip(
                "relationships whose ends are not memories of the database",
                f"relationship {rel.id!r}",
            )
        else:
            kept.append(rel)
    writer.write_relationships(kept)
    report.relationships += len(kept)
