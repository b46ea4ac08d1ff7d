"""Round trips with the reference MCP memory server (`@modelcontextprotocol/server-memory`).

The server itself writes the graph (over stdio, through its own tools); memorygraph
imports its file and exports it back with `--format memory-jsonl`; the server then
reads and searches what memorygraph wrote. Needs node and npm (the pinned version is
installed on first use, see tests/_upstream/memory_server.py).
"""

from __future__ import annotations

import difflib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from mcp import Client

from tests._upstream.memory_server import server_params
from tests.mcp_server.helpers import call

# Free-form types (known to memorygraph, spelled otherwise, or unknown), names and
# observations with non-ASCII text, markup, quotes, backslashes and line breaks.
ENTITIES: list[dict[str, Any]] = [
    {"name": "Café é", "entityType": "person", "observations": [
        "likes <b>bold</b> coffee", "*x* marks the spot", 'said "hello" & left',
        "C:\\path\\to\\file", "ends with a backslash \\"]},
    {"name": "日本語", "entityType": "言語", "observations": [
        "日本語のテキスト", "line one\nline two"]},
    {"name": "🧠 brain emoji", "entityType": "Technology", "observations": [
        "tab\there", "\u2028 line separator, \u0001 control, 🎉"]},
    {"name": "Redis", "entityType": "technology", "observations": ["in-memory store"]},
    {"name": "nothing observed", "entityType": "concept", "observations": []},
    {"name": "one empty observation", "entityType": "note", "observations": [""]},
]  # fmt: skip
RELATIONS: list[dict[str, str]] = [
    {"from": "Café é", "to": "日本語", "relationType": "relates_to"},
    {"from": "Café é", "to": "Redis", "relationType": "works with"},
    {"from": "Café é", "to": "Redis", "relationType": "WORKS_WITH"},
    {"from": "🧠 brain emoji", "to": "Redis", "relationType": "depends-on"},
    {"from": "日本語", "to": "🧠 brain emoji", "relationType": "が好き"},
    {"from": "Redis", "to": "Café é", "relationType": "SOLVES"},
    {"from": "Redis", "to": "日本語", "relationType": "Related To"},
]
OBSERVATIONS: list[dict[str, Any]] = [
    {"entityName": "Café é", "contents": ["added <i>later</i>", "likes <b>bold</b> coffee"]},
    {"entityName": "Redis", "contents": ["multi\nline with a \\n that is no newline"]},
]
LATER_ENTITIES: list[dict[str, Any]] = [
    {"name": "made after the relations", "entityType": "general", "observations": ["`code`"]},
]
LATER_RELATIONS: list[dict[str, str]] = [
    {"from": "made after the relations", "to": "Café é", "relationType": "relates_to"},
    RELATIONS[0],  # the server keeps one relation per (from, relationType, to)
]
SEARCHES = ("日本語", "<b>", "technology", "redis", "\\")


async def _write_with_the_server(script: Path, memory_file: Path) -> dict[str, Any]:
    """Build the graph through the server's tools; the graph as the server reads it back."""
    async with Client(server_params(script, memory_file)) as client:
        created = await call(client, "create_entities", entities=ENTITIES)
        assert len(created["entities"]) == len(ENTITIES)
        related = await call(client, "create_relations", relations=RELATIONS)
        assert len(related["relations"]) == len(RELATIONS)
        added = await call(client, "add_observations", observations=OBSERVATIONS)
        assert [len(r["addedObservations"]) for r in added["results"]] == [1, 1]
        await call(client, "create_entities", entities=LATER_ENTITIES)
        later = await call(client, "create_relations", relations=LATER_RELATIONS)
        assert later["relations"] == LATER_RELATIONS[:1]
        return await call(client, "read_graph")


async def _read_with_the_server(
    script: Path, memory_file: Path
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """What the server's read_graph and search_nodes (each of SEARCHES) answer on `memory_file`."""
    async with Client(server_params(script, memory_file)) as client:
        graph = await call(client, "read_graph")
        found = {query: await call(client, "search_nodes", query=query) for query in SEARCHES}
        return graph, found


def _memorygraph(*args: str | Path) -> str:
    """Run the memorygraph command as a user does; its output, or a failed test."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMORY_")}
    done = subprocess.run(
        [sys.executable, "-m", "memorygraph", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"memorygraph {args[0]} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _line_diff(want: list[bytes], got: list[bytes]) -> str:
    return "\n".join(
        difflib.unified_diff(
            [w.decode() for w in want], [g.decode() for g in got], "server", "memorygraph"
        )
    )


async def test_the_servers_file_comes_back_line_for_line_and_the_server_reads_it(
    memory_server: Path, tmp_path: Path
) -> None:
    original = tmp_path / "server" / "memory.jsonl"
    original.parent.mkdir()
    written = await _write_with_the_server(memory_server, original)
    source = original.read_bytes()
    source_lines = source.split(b"\n")
    assert len(source_lines) == len(ENTITIES) + len(LATER_ENTITIES) + len(RELATIONS) + 1
    assert b'"relationType":"relates_to"' in source and b'"relationType":"works with"' in source

    store = tmp_path / "store.db"
    _memorygraph("import", original, "--format", "memory-jsonl", "--path", store)
    exported = tmp_path / "back" / "memory.jsonl"
    exported.parent.mkdir()
    _memorygraph("export", exported, "--format", "memory-jsonl", "--path", store)

    # The server joins its lines with "\n" and ends the file without one; memorygraph ends
    # every line, the last one too. Same lines, same order: the server writes entities,
    # then relations, each in the order they were created.
    back = exported.read_bytes()
    back_lines = back.split(b"\n")
    assert back_lines[-1] == b"", "memorygraph ends its last line"
    assert back_lines[:-1] == source_lines, _line_diff(source_lines, back_lines[:-1])
    assert back == source + b"\n"

    graph, found = await _read_with_the_server(memory_server, exported)
    assert graph == written
    assert exported.read_bytes() == back, "reading and searching do not write"
    # The same questions on the server's own file give the same answers.
    _, found_in_source = await _read_with_the_server(memory_server, original)
    assert found == found_in_source
    assert [e["name"] for e in found["日本語"]["entities"]] == ["日本語"]
    assert {(r["from"], r["relationType"], r["to"]) for r in found["日本語"]["relations"]} == {
        ("Café é", "relates_to", "日本語"),
        ("日本語", "が好き", "🧠 brain emoji"),
        ("Redis", "Related To", "日本語"),
    }
    assert [e["name"] for e in found["<b>"]["entities"]] == ["Café é"]
    assert [e["name"] for e in found["technology"]["entities"]] == ["🧠 brain emoji", "Redis"]
    assert [e["name"] for e in found["\\"]["entities"]] == ["Café é", "Redis"]
    redis = next(e for e in found["redis"]["entities"] if e["name"] == "Redis")
    assert redis["observations"] == [
        "in-memory store",
        "multi\nline with a \\n that is no newline",
    ]
