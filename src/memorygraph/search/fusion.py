"""Hybrid ranking: lexical and vector rankings fused, and a relevance every result carries.

Fusion is reciprocal rank fusion, weighted:

    fused(m) = LEXICAL_WEIGHT / (RRF_K + lexical rank of m)
             + VECTOR_WEIGHT  / (RRF_K + vector rank of m)

(a ranking m is absent from adds nothing; ranks start at 1). Ranks rather than
scores are fused because BM25 and cosine similarity live on unrelated scales;
ties go to the smaller id, as everywhere.

Relevance, on every result, is a number from 0 to 1 on one documented scale:

* with vectors, the query's cosine similarity with the memory mapped linearly
  from [`COSINE_FLOOR`, `COSINE_CEILING`] onto [0, 1] (clamped). The bounds
  are calibrated on benchmarks/relevance.py: unrelated text scores near the
  floor with this model, a paraphrase of the same fact near 0.6 and above;
* without vectors (lexical search), the share of the query's weight (the idf
  of each word or phrase) that the memory matched.

A result set is *nothing relevant* when its best relevance is below the
threshold (`SearchSettings.threshold`; with vectors `DEFAULT_THRESHOLD`, or
`CROSS_LANGUAGE_THRESHOLD` when the query and its best match are in different
languages, both calibrated on the benchmark's negative questions; and
`LEXICAL_THRESHOLD` without, where only an empty result says so).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from memorygraph.errors import UsageError

SEMANTIC_ENV = "MEMORYGRAPH_SEMANTIC"
THRESHOLD_ENV = "MEMORYGRAPH_RELEVANCE_THRESHOLD"

RRF_K = 60.0
LEXICAL_WEIGHT = 1.0
VECTOR_WEIGHT = 1.0
#: How the rankings are fused: "rrf" (ranks) or "scores" (`blend_scores`).
FUSION = "scores"
#: Share of the lexical score in `blend_scores`.
LEXICAL_SHARE = 0.5
#: Cosine similarities (multilingual-e5-small) mapped to relevance 0 and 1.
COSINE_FLOOR = 0.78
COSINE_CEILING = 0.92
#: Below this best relevance a hybrid result is "nothing relevant".
DEFAULT_THRESHOLD = 0.55
#: Lexical relevance has no such calibration: only a result with no match says so.
LEXICAL_THRESHOLD = 0.0
#: The threshold with vectors when the query is in another language than its best
#: match: the model rates a question in one language lower against a note in
#: another, answer and unrelated note alike. On the benchmark (502 memories, most in
#: English) the best relevance of 15 questions in five other languages about
#: nothing the store holds was at most 0.25, and that of the 29 answered questions
#: in other languages at least 0.36; 5 of those fell below `DEFAULT_THRESHOLD`.
CROSS_LANGUAGE_THRESHOLD = 0.3
#: Vector matches considered per query (at least; more when a page reaches further).
VECTOR_POOL = 50
FUSED_DIGITS = 6

NOTHING_RELEVANT = "nothing relevant: no stored memory is about this"


@dataclass(frozen=True)
class SearchSettings:
    """How a store searches: with vectors when `semantic` (which needs the `semantic`
    extra), and the relevance below which a result says "nothing relevant" (None:
    the calibrated default of the mode in use).

    Vectors are opted into, not implied by installing the extra: embedding costs
    tens of milliseconds per memory written, and a store's results should not
    change because a package appeared. The CLI and the server read the choice
    from the environment (`from_env`)."""

    semantic: bool = False
    threshold: float | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> SearchSettings:
        """`MEMORYGRAPH_SEMANTIC` = on | off (default off) and
        `MEMORYGRAPH_RELEVANCE_THRESHOLD` (0 to 1, default: calibrated)."""
        semantic = environ.get(SEMANTIC_ENV, "off").strip().lower()
        if semantic not in ("on", "off"):
            raise UsageError(f"{SEMANTIC_ENV} must be on or off, not {semantic!r}")
        raw = environ.get(THRESHOLD_ENV)
        threshold = None
        if raw is not None and raw.strip():
            try:
                threshold = float(raw)
            except ValueError as e:
                raise UsageError(f"{THRESHOLD_ENV} must be a number from 0 to 1") from e
            if not 0.0 <= threshold <= 1.0:
                raise UsageError(f"{THRESHOLD_ENV} must be a number from 0 to 1")
        return cls(semantic=semantic == "on", threshold=threshold)

    def threshold_for(self, hybrid: bool, across_languages: bool = False) -> float:
        """The relevance threshold of a search, hybrid or not, whose query is in another
        language than its best match (`across_languages`) or not."""
        if self.threshold is not None:
            return self.threshold
        if not hybrid:
            return LEXICAL_THRESHOLD
        return CROSS_LANGUAGE_THRESHOLD if across_languages else DEFAULT_THRESHOLD


def cosine_relevance(cosine: float) -> float:
    """A cosine similarity on the relevance scale (see the module docstring)."""
    share = (cosine - COSINE_FLOOR) / (COSINE_CEILING - COSINE_FLOOR)
    return round(min(1.0, max(0.0, share)), 4)


def weight_share(matched: float, total: float) -> float:
    """Lexical relevance: the matched share of the query's weight."""
    return round(matched / total, 4) if total > 0 else 0.0


def fuse(lexical: Sequence[str], vector: Sequence[str]) -> list[tuple[str, float]]:
    """Ids of both rankings (best first each), fused best first with their scores."""
    scores: dict[str, float] = {}
    for weight, ranking in ((LEXICAL_WEIGHT, lexical), (VECTOR_WEIGHT, vector)):
        for rank, memory_id in enumerate(ranking, 1):
            scores[memory_id] = scores.get(memory_id, 0.0) + weight / (RRF_K + rank)
    fused = [(i, round(s * 100.0, FUSED_DIGITS)) for i, s in scores.items()]
    fused.sort(key=lambda pair: (-pair[1], pair[0]))
    return fused


def blend_scores(
    lexical: dict[str, float], relevance: dict[str, float], floor: float
) -> list[tuple[str, float]]:
    """Ids of both rankings fused by score, best first: `LEXICAL_SHARE` × the lexical
    score relative to the best one plus the rest × the memory's cosine relevance
    (`floor` for a memory outside the vector ranking)."""
    best = max(lexical.values(), default=0.0) or 1.0
    ids = set(lexical) | set(relevance)
    fused = [
        (
            i,
            round(
                LEXICAL_SHARE * lexical.get(i, 0.0) / best
                + (1.0 - LEXICAL_SHARE) * relevance.get(i, floor),
                FUSED_DIGITS,
            ),
        )
        for i in ids
    ]
    fused.sort(key=lambda pair: (-pair[1], pair[0]))
    return fused


def nothing_relevant(relevances: Sequence[float], threshold: float) -> bool:
    """True when no result reaches `threshold` (an empty result never does)."""
    return not relevances or max(relevances) < threshold or max(relevances) <= 0.0
