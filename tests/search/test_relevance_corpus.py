"""Integrity of the relevance benchmark's corpus: sizes, unique ids, answers that exist.

Only the data is checked here; the relevance figures come from benchmarks/relevance.py.
"""

from __future__ import annotations

import sys
from itertools import islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import relevance_corpus as rc


def test_corpus_is_large_enough_with_unique_ids() -> None:
    memories = rc.corpus()
    assert len(memories) >= 500
    assert len({m.id for m in memories}) == len(memories)


def test_every_relationship_joins_two_corpus_memories() -> None:
    ids = {m.id for m in rc.corpus()}
    edges = rc.relationships()
    assert edges
    assert len({e.id for e in edges}) == len(edges)
    for edge in edges:
        assert edge.from_id in ids and edge.to_id in ids, edge.id


def test_every_expected_answer_exists() -> None:
    ids = {m.id for m in rc.corpus()}
    asked = rc.queries()
    assert len(asked) >= 100
    assert len({q for q, _ in asked}) == len(asked)
    for question, expected in asked:
        assert expected, question
        assert set(expected) <= ids, (question, set(expected) - ids)


def test_some_questions_are_in_other_languages_answered_or_not() -> None:
    languages = rc.query_languages()
    answered = {q for q, _ in rc.queries()}
    assert len(set(languages) & answered) >= 5
    assert len(set(languages.values())) >= 4
    # "Nothing relevant" is measured in other languages too, where a question's
    # similarity to every memory is lower than in the memories' own language.
    unanswered = {languages[q] for q in set(languages) - answered}
    assert len(unanswered) >= 4


def test_corpus_and_filler_are_deterministic() -> None:
    assert [m.digest() for m in rc.corpus()] == [m.digest() for m in rc.corpus()]
    first = [m.digest() for m in islice(rc.scaled_corpus(1_000), 1_000)]
    again = [m.digest() for m in rc.scaled_corpus(1_000)]
    assert first == again


def test_scaled_corpus_keeps_the_corpus_and_pads_with_unique_filler() -> None:
    scaled = list(rc.scaled_corpus(2_000))
    assert len(scaled) == 2_000
    assert len({m.id for m in scaled}) == 2_000
    assert [m.id for m in scaled[: len(rc.corpus())]] == [m.id for m in rc.corpus()]
    assert len(list(rc.scaled_corpus(10))) == len(rc.corpus())
    ids = {m.id for m in scaled}
    for edge in rc.scaled_relationships(2_000):
        assert edge.from_id in ids and edge.to_id in ids, edge.id
