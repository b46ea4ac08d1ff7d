"""One scorer for every backend: engines find candidates, this module ranks them.

A search runs in three steps (see `memorygraph.store.MemoryStore.search`):

1. The engine's full-text index returns up to `CANDIDATE_LIMIT` memories that
   match the query (`MatchQuery`), in the engine's own relevance order, each
   with its two indexed fields (`Candidate`), filters applied in the engine.
2. The engine counts, per query word or phrase, how many memories match it
   (document frequency), and how many memories there are.
3. `score` ranks the candidates with BM25F over those fields, the same
   arithmetic on every engine, so every engine returns the same ids in the
   same order whenever no more than `CANDIDATE_LIMIT` memories match.

Ranking (`score`), per query word or phrase u with document frequency df(u)
among N memories:

    idf(u)   = ln(1 + (N - df + 0.5) / (df + 0.5))       (× word count for a phrase)
    tf(u)    = TITLE_WEIGHT × tf_title + tf_body          (a prefix-only match counts
                                                            PREFIX_WEIGHT per occurrence)
    norm     = 1 - B + B × (title length + body length) / AVERAGE_LENGTH
    bm25     = Σ_u idf(u) × tf(u) × (K1 + 1) / (tf(u) + K1 × norm)
    score    = bm25 × (COVERAGE_BASE + (1 - COVERAGE_BASE) × matched units / units)

`AVERAGE_LENGTH` is a constant, not the store's average, so a score depends
only on the memory and the document frequencies, which every engine reports
exactly. Scores are rounded to `SCORE_DIGITS` decimals; ties go to the
smaller id.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from memorygraph.search.text import Field, ParsedQuery, Unit

#: Most memories the engine hands over for ranking (more if offset + limit is larger).
CANDIDATE_LIMIT = 500
#: A term in the title counts this many times a term in the body (tags, summary, content).
TITLE_WEIGHT = 3.0
#: A word matched only as the beginning of a longer word counts this much of an exact match.
PREFIX_WEIGHT = 0.5
#: BM25 term-frequency saturation and length normalization.
K1 = 1.2
B = 0.75
#: Length (in indexed words) of a typical memory, for the length normalization.
AVERAGE_LENGTH = 40.0
#: Share of the score that does not depend on how many query words matched.
COVERAGE_BASE = 0.5
SCORE_DIGITS = 6


@dataclass(frozen=True)
class MatchQuery:
    """An engine-neutral full-text condition over the title and body fields.

    Each group is a set of alternatives ``(token, is_prefix)``: a memory
    matches a group when either field holds one of the tokens (or, for a
    prefix, a token starting with it). With `require_all` a memory must match
    every group, else at least one.
    """

    groups: tuple[tuple[tuple[str, bool], ...], ...]
    require_all: bool = False


@dataclass(frozen=True)
class Candidate:
    """A memory the engine found, with its indexed title and body fields."""

    id: str
    title: str
    body: str


@dataclass(frozen=True)
class Ranked:
    id: str
    score: float
    matched: tuple[str, ...]


def unit_query(unit: Unit) -> MatchQuery:
    """The condition a memory meets when it matches `unit` (what df(unit) counts)."""
    if unit.phrase:
        return MatchQuery(tuple(((t.stem, False),) for t in unit.terms), require_all=True)
    (term,) = unit.terms
    return MatchQuery(((((term.stem, False)), *((p, True) for p in term.prefixes)),))


def retrieval_query(parsed: ParsedQuery) -> MatchQuery | None:
    """What the engine retrieves: every phrase's words if there are phrases, else any word."""
    if parsed.phrases:
        groups = tuple(g for u in parsed.phrases for g in unit_query(u).groups)
        return MatchQuery(groups, require_all=True)
    if not parsed.units:
        return None
    return MatchQuery(tuple(g for u in parsed.words for g in unit_query(u).groups))


def _idf(df: int, total: int) -> float:
    df = min(max(df, 0), total)
    return math.log(1.0 + (total - df + 0.5) / (df + 0.5))


def _occurrences(unit: Unit, field: Field) -> float:
    if unit.phrase:
        n = len(unit.terms)
        wanted = tuple(t.stem for t in unit.terms)
        stems = field.stems
        return float(sum(1 for i in range(len(stems) - n + 1) if stems[i : i + n] == wanted))
    (term,) = unit.terms
    exact = sum(1 for s in field.stems if s == term.stem)
    if exact or not term.prefixes:
        return float(exact)
    stem_prefix, raw_prefix = term.prefixes[0], term.prefixes[-1]
    partial = sum(1 for s in field.stems if s.startswith(stem_prefix))
    if not partial and any(r.startswith(raw_prefix) for r in field.raw):
        partial = 1
    return PREFIX_WEIGHT * partial


def score(
    parsed: ParsedQuery, candidates: Sequence[Candidate], df: Sequence[int], total: int
) -> list[Ranked]:
    """The candidates that match, best first (ties by id), with the units each matched."""
    units = parsed.units
    idfs = [
        _idf(d, total) * (len(u.terms) if u.phrase else 1) for u, d in zip(units, df, strict=True)
    ]
    ranked: list[Ranked] = []
    for c in candidates:
        title, body = Field.parse(c.title), Field.parse(c.body)
        norm = 1.0 - B + B * (len(title.stems) + len(body.stems)) / AVERAGE_LENGTH
        total_score = 0.0
        matched: list[str] = []
        missing_phrase = False
        for unit, idf in zip(units, idfs, strict=True):
            tf = TITLE_WEIGHT * _occurrences(unit, title) + _occurrences(unit, body)
            if tf <= 0:
                missing_phrase = missing_phrase or unit.phrase
                continue
            matched.append(unit.text)
            total_score += idf * tf * (K1 + 1.0) / (tf + K1 * norm)
        if missing_phrase or not matched:
            continue
        coverage = len(matched) / len(units)
        final = total_score * (COVERAGE_BASE + (1.0 - COVERAGE_BASE) * coverage)
        ranked.append(Ranked(c.id, round(final, SCORE_DIGITS), tuple(matched)))
    ranked.sort(key=lambda r: (-r.score, r.id))
    return ranked
