"""A `Scorer` scores a query's candidates once however they are handed over, and counts a
word's occurrences as a walk over the field's tokens does."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from memorygraph.search.ranking import (
    AVERAGE_LENGTH,
    K1,
    PREFIX_WEIGHT,
    SCORE_DIGITS,
    TITLE_WEIGHT,
    B,
    Candidate,
    Scorer,
    idfs,
    rank,
    score,
)
from memorygraph.search.text import HEX, PLAIN, Spelling, field_texts, index_text, parse_query

#: Words of the fields, and words asked for: whole words, their stems and beginnings.
WORDS = ["deploy", "deployment", "deploymentx", "deployed", "de", "cache", "caching", "cachix"]
ASKED = ["deploy", "deploym", "deployme", "deployment", "de", "cach", "cachi", "caching"]


def _candidate(memory_id: str, title: str, content: str, spelling: Spelling = HEX) -> Candidate:
    return Candidate(memory_id, *field_texts(title, content, None, [], spelling))


def _walked(query_word: str, indexed: str, spelling: Spelling) -> float:
    """Occurrences of one query word in an indexed field, by a walk over its tokens:
    whole stems, else half a partial stem match per token, else half for one partial
    written word."""
    (unit,) = parse_query(query_word, spelling).units
    (term,) = unit.terms
    tokens = indexed.split()
    exact = sum(1 for t in tokens if t == term.stem)
    if exact:
        return float(exact)
    if not term.prefixes:
        return 0.0
    stem_prefix, raw_prefix = term.prefixes[0], term.prefixes[-1]
    partial = sum(1 for t in tokens if t.startswith(stem_prefix))
    if not partial and any(t.startswith(raw_prefix) for t in tokens):
        partial = 1
    return PREFIX_WEIGHT * partial


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(ASKED),
    st.lists(st.sampled_from(WORDS), max_size=8),
    st.lists(st.sampled_from(WORDS), max_size=8),
    st.sampled_from([HEX, PLAIN]),
)
def test_a_word_counts_as_a_walk_over_the_tokens(
    word: str, title: list[str], body: list[str], spelling: Spelling
) -> None:
    candidate = Candidate(
        "m",
        index_text(" ".join(title), spelling=spelling),
        index_text(" ".join(body), spelling=spelling),
    )
    parsed = parse_query(word, spelling)
    ranked = score(parsed, [candidate], [1], 100)
    tf = TITLE_WEIGHT * _walked(word, candidate.title, spelling) + _walked(
        word, candidate.body, spelling
    )
    assert bool(ranked) == (tf > 0)
    if ranked:
        stems = sum(
            t.startswith(spelling.stem_mark) for t in f"{candidate.title} {candidate.body}".split()
        )
        norm = 1.0 - B + B * stems / AVERAGE_LENGTH
        (weight,) = idfs(parsed, [1], 100)
        expected = round(weight * tf * (K1 + 1.0) / (tf + K1 * norm), SCORE_DIGITS)
        assert ranked[0].score == expected


CANDIDATES = [
    _candidate("a", "Deploy cache", "the deployment cached the old build"),
    _candidate("b", "Caching", "deploys are slow when the cache is cold"),
    _candidate("c", "Deployed", "nothing cached"),
    _candidate("d", "Rollback", "undo the deploy"),
    _candidate("e", "Unrelated", "a note about lunch"),
]


def test_batches_score_as_one_list_and_rank_as_rank_does() -> None:
    parsed = parse_query("deploy caching")
    df, total = [3, 2], 50
    whole = score(parsed, CANDIDATES, df, total)
    scorer = Scorer(parsed, df, total)
    first = scorer.score(CANDIDATES[:2])
    assert first == score(parsed, CANDIDATES[:2], df, total)
    assert scorer.score(CANDIDATES) == whole
    assert scorer.rank(CANDIDATES) == rank(parsed, CANDIDATES, df, total)
    assert [r.id for r in whole] and "e" not in {r.id for r in whole}


def test_a_candidate_missing_a_phrase_is_dropped_whatever_else_it_matches() -> None:
    parsed = parse_query('"deploy cache" cold')
    ranked = Scorer(parsed, [1, 1], 50).score(CANDIDATES)
    assert [r.id for r in ranked] == ["a"]


NOTES = [
    ("a", "Deploy cache", "the deployment cached the old build, then the deploy stalled"),
    ("b", "Caching", "deploys are slow when the cache is cold after a rollback"),
    ("c", "Deployed", "nothing cached; the rollback undid the deployment"),
    ("d", "Rollback", "undo the deploy and warm the cache"),
    ("e", "Кэш сервера", "東京のサーバー 🚀 deploy"),
]


def test_both_spellings_rank_alike() -> None:
    for query in ["deploy caching", "deploym", '"cache is cold" rollback', "кэш 🚀", "cach"]:
        ranked = {}
        for spelling in (HEX, PLAIN):
            candidates = [_candidate(i, t, c, spelling) for i, t, c in NOTES]
            parsed = parse_query(query, spelling)
            df = [3] * len(parsed.units)
            ranked[spelling.name] = rank(parsed, candidates, df, 20)
        assert ranked["hex"], query
        assert ranked["hex"] == ranked["plain"], query
