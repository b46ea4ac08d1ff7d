"""One scorer for every backend: engines find candidates, this module ranks them.

A search runs in these steps (see `memorygraph.store.MemoryStore.search`):

1. The engine counts, per query word or phrase (unit), how many memories match
   it (document frequency, `count_matches`), and how many memories there are
   (`search_total`).
2. Candidates (`Candidate`: a memory's id and its two indexed fields, filters
   applied in the engine). With phrases: up to `CANDIDATE_LIMIT` memories
   holding every phrase, in the engine's own relevance order. Otherwise the
   units are split by frequency (`split_by_frequency`): every memory matching
   one of the *rare* units (those whose matches together fit in
   `CANDIDATE_LIMIT`) is fetched; the memories matching only *common* units
   are fetched (up to `CANDIDATE_LIMIT`, in the engine's order) only when
   their best possible score (`ceiling`) reaches the last score of the
   requested page among the rare units' matches.
3. `score` ranks the candidates with BM25F over those fields, then
   `with_feedback` re-orders them by the best match's rarest other words. The
   arithmetic is the same on every engine, so every engine returns the same ids
   in the same order unless step 2 had to fetch common units' matches (or a
   phrase's) and they were more than `CANDIDATE_LIMIT`.

Ranking (`score`), per query word or phrase u with document frequency df(u)
among N memories:

    idf(u)   = ln(1 + (N - df + 0.5) / (df + 0.5)) ^ IDF_POWER  (× word count for a phrase)
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
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from memorygraph.search.text import ParsedQuery, Unit

#: Most memories one candidate query hands over (more if offset + limit is larger).
CANDIDATE_LIMIT = 500
#: idf is raised to this power: a rare word outweighs several common ones.
IDF_POWER = 2.0
#: A term in the title counts this many times a term in the body (tags, summary, content).
TITLE_WEIGHT = 1.5
#: A word matched only as the beginning of a longer word counts this much of an exact match.
PREFIX_WEIGHT = 0.5
#: BM25 term-frequency saturation and length normalization.
K1 = 0.6
B = 0.75
#: Length (in indexed words) of a typical memory, for the length normalization.
AVERAGE_LENGTH = 40.0
#: Share of the score that does not depend on how many query words matched.
COVERAGE_BASE = 0.5
SCORE_DIGITS = 6
#: Common words whose matches together exceed this many memories are looked for among
#: the newest this many matches only (`MatchQuery.window`, on engines that need it)…
#: bm25 over the window is most of a common word's search on SQLite; at 20,000
#: memories `benchmarks/relevance.py` answers the same with 1,500 as with 4,000 (with
#: 1,000 it starts to miss).
COMMON_WINDOW = 1500
#: …of which at most this many (or offset + limit, if larger) are ranked.
COMMON_CANDIDATES = 100
#: Feedback: the best match's rarest other words (at most this many) re-rank the rest…
FEEDBACK_TERMS = 10
#: …adding this share of a memory's score for those words to its score.
FEEDBACK_WEIGHT = 0.5


@dataclass(frozen=True)
class Window:
    """A bound on the matches of common words an engine ranks (`MatchQuery.window`)."""

    #: Rank only this many matches, the ones indexed last…
    newest: int
    #: …and hand over the best this many of them.
    keep: int


@dataclass(frozen=True)
class MatchQuery:
    """An engine-neutral full-text condition over the title and body fields.

    Each group is a set of alternatives ``(token, is_prefix)``: a memory
    matches a group when either field holds one of the tokens (or, for a
    prefix, a token starting with it). With `require_all` a memory must match
    every group, else at least one.

    With a `window`, the engine may rank only the `window.newest` matches it indexed
    last, skipping the partial-word alternatives, and hand over the best `window.keep`
    of them instead of `limit`: for words so common that ranking all their matches
    would cost more than a search may take. An engine that finds its best matches
    without walking them all ignores it.
    """

    groups: tuple[tuple[tuple[str, bool], ...], ...]
    require_all: bool = False
    window: Window | None = None

    def exact(self) -> MatchQuery:
        """This condition without its partial-word (prefix) alternatives."""
        groups = tuple(tuple(a for a in g if not a[1]) or g for g in self.groups)
        return MatchQuery(groups, self.require_all, self.window)

    def expression(
        self, *, either: str, both: str, quote: Callable[[str], str] = lambda token: token
    ) -> str:
        """This condition in an engine's boolean query syntax: alternatives joined by
        `either`, groups by `both` (or by `either` without `require_all`), each token
        written by `quote` and a prefix marked with a trailing ``*`` (the mark FTS5,
        Lucene and RediSearch share)."""

        def alternative(token: str, prefix: bool) -> str:
            return quote(token) + ("*" if prefix else "")

        groups = [
            "(" + either.join(alternative(t, p) for t, p in group) + ")" for group in self.groups
        ]
        return (both if self.require_all else either).join(groups)


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


def match_any(units: Iterable[Unit]) -> MatchQuery:
    """The condition a memory meets when it matches at least one of `units` (words)."""
    return MatchQuery(tuple(g for u in units for g in unit_query(u).groups))


def split_by_frequency(df: Sequence[int], budget: int) -> tuple[list[int], list[int]]:
    """Indexes of the query units in two groups, rarest first: *rare* ones, all of whose
    matches fit in `budget` together, and the *common* rest (units matching nothing are
    left out)."""
    order = sorted((i for i, d in enumerate(df) if d > 0), key=lambda i: (df[i], i))
    rare: list[int] = []
    used = 0
    for i in order:
        if used + df[i] > budget:
            break
        rare.append(i)
        used += df[i]
    return rare, order[len(rare) :]


def ceiling(parsed: ParsedQuery, df: Sequence[int], total: int, only: Sequence[int]) -> float:
    """The highest score a memory matching no units but those at indexes `only` can get."""
    weights = idfs(parsed, df, total)
    best = sum(weights[i] * (K1 + 1.0) for i in only)
    coverage = len(only) / len(parsed.units)
    return best * (COVERAGE_BASE + (1.0 - COVERAGE_BASE) * coverage) + 10.0**-SCORE_DIGITS


def _idf(df: int, total: int) -> float:
    df = min(max(df, 0), total)
    return float(math.log(1.0 + (total - df + 0.5) / (df + 0.5)) ** IDF_POWER)


class _Doc:
    """One candidate's field as the scorer reads it: the indexed text with a space after
    it, so that counting a token (or the tokens that start with a prefix) is one
    substring count in C instead of a walk over the tokens in Python.

    An indexed token starts with its kind's mark, which occurs nowhere else
    (`memorygraph.search.text.Spelling`). So "tok " is one whole token `tok`, "tok"
    the start of each token that begins with it, and the count of the stem mark the
    number of stems, with no boundary to mark before them.
    """

    __slots__ = ("indexed", "length", "mark", "padded")

    def __init__(self, indexed: str, mark: str) -> None:
        self.indexed = indexed
        self.mark = mark
        self.padded = indexed + " "
        self.length = indexed.count(mark)

    def count(self, token: str) -> int:
        """Occurrences of `token` as a whole token."""
        return self.padded.count(f"{token} ")

    def stems(self) -> list[str]:
        return [t for t in self.indexed.split() if t[0] == self.mark]


def _phrase_occurrences(unit: Unit, field: _Doc) -> float:
    n = len(unit.terms)
    wanted = [t.stem for t in unit.terms]
    if any(not field.count(w) for w in wanted):
        return 0.0
    stems = field.stems()
    return float(sum(1 for i in range(len(stems) - n + 1) if stems[i : i + n] == wanted))


class _Needles:
    """What a word unit looks for in a padded field (`_Doc.padded`), made once per
    query rather than once per candidate: the stem as a whole token, the start of any
    token beginning with the stem, and (with partial-word matching) the starts of the
    tokens beginning with the word's stem token and its written form."""

    __slots__ = ("raw_start", "shortcut", "start", "stem_start", "whole")

    def __init__(self, unit: Unit) -> None:
        (term,) = unit.terms
        self.whole = f"{term.stem} "
        self.start = term.stem
        self.stem_start: str | None = None
        self.raw_start: str | None = None
        self.shortcut = False
        if term.prefixes:
            stem_prefix, raw_prefix = term.prefixes[0], term.prefixes[-1]
            self.stem_start = stem_prefix
            self.raw_start = raw_prefix
            self.shortcut = stem_prefix.startswith(term.stem)

    def occurrences(self, padded: str) -> float:
        """The word's occurrences in a field: whole stems, else `PREFIX_WEIGHT` per
        token its stem token starts, else `PREFIX_WEIGHT` if a written word starts with
        it."""
        if self.stem_start is None or self.raw_start is None:
            return float(padded.count(self.whole))
        if self.shortcut and self.start not in padded:
            # No token starts with the stem, so none is the stem or starts with the word
            # (which starts with its stem): one scan instead of two, for the usual case of
            # a candidate that lacks this word.
            partial = 0
        else:
            exact = padded.count(self.whole)
            if exact:
                return float(exact)
            partial = padded.count(self.stem_start)
        if not partial and self.raw_start in padded:
            partial = 1
        return PREFIX_WEIGHT * partial


def idfs(parsed: ParsedQuery, df: Sequence[int], total: int) -> list[float]:
    """The weight of each unit of `parsed` given its document frequency `df`."""
    return [
        _idf(d, total) * (len(u.terms) if u.phrase else 1)
        for u, d in zip(parsed.units, df, strict=True)
    ]


#: A candidate's fields, read once for every pass of the scorer over it.
_Fields = dict[str, tuple[_Doc, _Doc]]


def _fields_of(candidates: Iterable[Candidate], mark: str, known: _Fields | None = None) -> _Fields:
    known = known if known is not None else {}
    for c in candidates:
        if c.id not in known:
            known[c.id] = (_Doc(c.title, mark), _Doc(c.body, mark))
    return known


def score(
    parsed: ParsedQuery, candidates: Sequence[Candidate], df: Sequence[int], total: int
) -> list[Ranked]:
    """The candidates that match, best first (ties by id), with the units each matched."""
    return Scorer(parsed, df, total).score(candidates)


class Scorer:
    """`score` and `rank` for one query, one set of document frequencies and one total,
    over candidates handed over in several batches: each memory's fields are read and
    scored once, however many times it is asked about (a search scores the rare words'
    matches, then ranks them again with the common words' ones)."""

    def __init__(self, parsed: ParsedQuery, df: Sequence[int], total: int) -> None:
        self.parsed = parsed
        self.total = total
        self._fields: _Fields = {}
        self._scored: dict[str, Ranked | None] = {}
        self._units = [
            (unit, None if unit.phrase else _Needles(unit), weight)
            for unit, weight in zip(parsed.units, idfs(parsed, df, total), strict=True)
        ]

    def score(self, candidates: Sequence[Candidate]) -> list[Ranked]:
        """`score(parsed, candidates, df, total)`."""
        scored = self._scored
        fields = _fields_of(candidates, self.parsed.spelling.stem_mark, self._fields)
        for c in candidates:
            if c.id not in scored:
                scored[c.id] = self._score_one(c.id, *fields[c.id])
        ranked = [r for r in (scored[c.id] for c in candidates) if r is not None]
        ranked.sort(key=lambda r: (-r.score, r.id))
        return ranked

    def rank(self, candidates: Sequence[Candidate]) -> list[Ranked]:
        """`rank(parsed, candidates, df, total)`."""
        return _with_feedback(self.parsed, self.score(candidates), self._fields)

    def _score_one(self, memory_id: str, title: _Doc, body: _Doc) -> Ranked | None:
        norm = 1.0 - B + B * (title.length + body.length) / AVERAGE_LENGTH
        total_score = 0.0
        matched: list[str] = []
        for unit, needles, idf in self._units:
            if needles is None:
                tf = TITLE_WEIGHT * _phrase_occurrences(unit, title) + _phrase_occurrences(
                    unit, body
                )
                if tf <= 0:
                    return None  # a phrase is required
            else:
                tf = TITLE_WEIGHT * needles.occurrences(title.padded) + needles.occurrences(
                    body.padded
                )
                if tf <= 0:
                    continue
            matched.append(unit.text)
            total_score += idf * tf * (K1 + 1.0) / (tf + K1 * norm)
        if not matched:
            return None
        coverage = len(matched) / len(self._units)
        final = total_score * (COVERAGE_BASE + (1.0 - COVERAGE_BASE) * coverage)
        return Ranked(memory_id, round(final, SCORE_DIGITS), tuple(matched))


def rank(
    parsed: ParsedQuery, candidates: Sequence[Candidate], df: Sequence[int], total: int
) -> list[Ranked]:
    """`with_feedback(parsed, score(parsed, candidates, df, total), candidates)`, reading
    each candidate's fields once."""
    return Scorer(parsed, df, total).rank(candidates)


def with_feedback(
    parsed: ParsedQuery, ranked: Sequence[Ranked], candidates: Sequence[Candidate]
) -> list[Ranked]:
    """`ranked` re-ranked by what the best match is about (pseudo-relevance feedback).

    The best match's stems that are not query words, rarest first among the
    ranked memories (held by at least one other), up to `FEEDBACK_TERMS`, are
    scored like a query over the ranked memories alone (their document
    frequency counted among them), and `FEEDBACK_WEIGHT` × that score is added.
    Only the order changes: the same memories, the same `matched` words. A
    problem's fix rarely repeats the question's words but shares the problem's
    own (`checkout`, `decrement`…). Not applied to phrase queries.
    """
    return _with_feedback(parsed, ranked, _fields_of(candidates, parsed.spelling.stem_mark))


def _with_feedback(parsed: ParsedQuery, ranked: Sequence[Ranked], fields: _Fields) -> list[Ranked]:
    if parsed.phrases or len(ranked) < 2 or FEEDBACK_TERMS <= 0:
        return list(ranked)
    asked = {t.stem for u in parsed.units for t in u.terms}
    title, body = fields[ranked[0].id]
    best = {*title.stems(), *body.stems()}
    best -= asked
    # Only the best match's stems can become feedback terms: count how many ranked
    # memories hold each of them (set intersections, not a count of every stem).
    held: Counter[str] = Counter()
    holding: dict[str, set[str]] = {}
    for r in ranked:
        title, body = fields[r.id]
        shared = best.intersection([*title.indexed.split(), *body.indexed.split()])
        if shared:
            holding[r.id] = shared
            held.update(shared)
    terms = sorted((t for t in best if held[t] > 1), key=lambda t: (held[t], t))[:FEEDBACK_TERMS]
    if not terms:
        return list(ranked)
    # The terms scored like a query of those words over the ranked memories alone,
    # visiting only the terms each memory holds: the others add nothing.
    weights = {t: _idf(held[t], len(ranked)) for t in terms}
    needles = [(t, f"{t} ") for t in terms]  # `_Doc.count`'s, made once
    extra: dict[str, float] = {}
    for r in ranked:
        present = holding.get(r.id)
        if present is None or weights.keys().isdisjoint(present):
            continue
        title, body = fields[r.id]
        norm = 1.0 - B + B * (title.length + body.length) / AVERAGE_LENGTH
        total_score = 0.0
        matched = 0
        for t, whole in needles:  # in the terms' order, as `score` adds them
            if t in present:
                tf = TITLE_WEIGHT * title.padded.count(whole) + body.padded.count(whole)
                matched += 1
                total_score += weights[t] * tf * (K1 + 1.0) / (tf + K1 * norm)
        coverage = matched / len(terms)
        final = total_score * (COVERAGE_BASE + (1.0 - COVERAGE_BASE) * coverage)
        extra[r.id] = round(final, SCORE_DIGITS)
    # A memory without feedback terms keeps its score (already rounded) and its Ranked.
    boosted = [
        r
        if r.id not in extra
        else Ranked(r.id, round(r.score + FEEDBACK_WEIGHT * extra[r.id], SCORE_DIGITS), r.matched)
        for r in ranked
    ]
    boosted.sort(key=lambda r: (-r.score, r.id))
    return boosted
