"""Runs inside upstream memorygraphMCP's virtualenv (see venv.py), never in ours.

Commands (JSON in on stdin, JSON out on stdout):

  build DB JSON   store the memories and relationships of the spec with upstream's
                  SQLite database at DB, invalidate the listed edges, then write
                  upstream's JSON export to JSON; prints the relationship ids
  import JSON DB  import the JSON export with upstream's import_from_json into a
                  new SQLite database at DB; prints upstream's counts and what
                  upstream then holds (its own reading of each memory and edge)
  graph           store the spec's memories and relationships in a FalkorDB or Neo4j
                  graph with upstream's own backend and database layer, as its server
                  does (the spec's "server" says where); prints the relationship ids
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime
from typing import Any

_REL_TIMES = ("created_at", "last_validated", "valid_from", "valid_until", "recorded_at")


def _time(value: Any) -> Any:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


async def _open(path: str) -> Any:
    from memorygraph.backends.sqlite_fallback import SQLiteFallbackBackend
    from memorygraph.sqlite_database import SQLiteMemoryDatabase

    backend = SQLiteFallbackBackend(db_path=path)
    await backend.connect()
    await backend.initialize_schema()
    db = SQLiteMemoryDatabase(backend)
    await db.initialize_schema()
    return backend, db


async def build(db_path: str, json_path: str, spec: dict[str, Any]) -> dict[str, Any]:
    from memorygraph.utils.export_import import export_to_json

    backend, db = await _open(db_path)
    ids = await _store(db, spec)
    for index, by in spec.get("invalidate", []):
        await db.invalidate_relationship(ids[index], invalidated_by=ids[by] if by >= 0 else None)
    await export_to_json(db, json_path)
    await backend.disconnect()
    return {"relationship_ids": ids}


async def _store(db: Any, spec: dict[str, Any]) -> list[str]:
    """Store the spec's memories, then its relationships; the relationship ids upstream gave.

    A relationship's "invalidated_by" property is the index of an earlier relationship."""
    from memorygraph.models import (
        Memory,
        MemoryContext,
        MemoryType,
        RelationshipProperties,
        RelationshipType,
    )

    for item in spec["memories"]:
        fields = dict(item)
        context = fields.pop("context", None)
        for key in ("created_at", "updated_at", "last_accessed"):
            if key in fields:
                fields[key] = _time(fields[key])
        if context is not None:
            if "timestamp" in context:
                context["timestamp"] = _time(context["timestamp"])
            fields["context"] = MemoryContext(**context)
        await db.store_memory(Memory(type=MemoryType(fields.pop("type")), **fields))
    ids: list[str] = []
    for rel in spec["relationships"]:
        props = {
            k: _time(v) if k in _REL_TIMES else v for k, v in rel.get("properties", {}).items()
        }
        if "invalidated_by" in props:
            props["invalidated_by"] = ids[props["invalidated_by"]]
        try:
            created = await db.create_relationship(
                rel["from"],
                rel["to"],
                RelationshipType(rel["type"]),
                RelationshipProperties(**props),
            )
        except Exception as e:  # reported to the test, which decides what it means
            if not spec.get("report_relationship_errors"):
                raise
            created = f"error: {type(e).__name__}: {e}"
        ids.append(created)
    return ids


async def graph(spec: dict[str, Any]) -> dict[str, Any]:
    from memorygraph.database import MemoryDatabase

    server = spec["server"]
    backend: Any
    if server["engine"] == "falkordb":
        from memorygraph.backends.falkordb_backend import FalkorDBBackend

        backend = FalkorDBBackend(
            host=server["host"],
            port=server["port"],
            password=server.get("password"),
            graph_name=server["graph"],
        )
    else:
        from memorygraph.backends.neo4j_backend import Neo4jBackend

        backend = Neo4jBackend(
            uri=server["uri"],
            user=server["user"],
            password=server["password"],
            database=server.get("database") or "neo4j",
        )
    await backend.connect()
    db = MemoryDatabase(backend)
    await db.initialize_schema()
    ids = await _store(db, spec)
    await backend.disconnect()
    return {"relationship_ids": ids}


async def import_json(json_path: str, db_path: str) -> dict[str, Any]:
    from memorygraph.utils.export_import import import_from_json

    backend, db = await _open(db_path)
    counts = await import_from_json(db, json_path)
    memories = {}
    for (node_id,) in backend.conn.execute("SELECT id FROM nodes WHERE label = 'Memory'"):
        memory = await db.get_memory(node_id, include_relationships=False)
        memories[node_id] = memory.model_dump(mode="json") if memory is not None else None
    relationships = [
        {"from": f, "to": t, "type": ty, "properties": json.loads(p)}
        for f, t, ty, p in backend.conn.execute(
            "SELECT from_id, to_id, rel_type, properties FROM relationships"
        )
    ]
    await backend.disconnect()
    return {"counts": counts, "memories": memories, "relationships": relationships}


def main() -> None:
    command, *args = sys.argv[1:]
    if command == "build":
        result = asyncio.run(build(args[0], args[1], json.load(sys.stdin)))
    elif command == "import":
        result = asyncio.run(import_json(args[0], args[1]))
    elif command == "graph":
        result = asyncio.run(graph(json.load(sys.stdin)))
    else:
        raise SystemExit(f"unknown command {command!r}")
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
