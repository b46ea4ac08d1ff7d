"""Feedback from the best match re-orders the other matches, never changes which match."""

from __future__ import annotations

from memorygraph.search.ranking import Candidate, score, with_feedback
from memorygraph.search.text import field_texts, parse_query


def _candidate(memory_id: str, title: str, content: str) -> Candidate:
    return Candidate(memory_id, *field_texts(title, content, None, []))


CANDIDATES = [
    _candidate("problem", "Stock went negative", "two checkouts raced on the last item"),
    _candidate("fix", "Conditional decrement", "stock is decremented only if the checkouts "
               "still see an item; no race"),
    _candidate("report", "Stock report", "weekly stock totals per warehouse"),
    _candidate("other", "Warehouse move", "the warehouse moved to a new site"),
    *(_candidate(f"audit{i}", f"Stock audit {i}", "counted by hand") for i in range(8)),
]  # fmt: skip


def test_the_best_match_lifts_memories_about_the_same_thing() -> None:
    parsed = parse_query("stock negative")
    plain = score(parsed, CANDIDATES, [11, 1], 100)
    assert [r.id for r in plain][:2] == ["problem", "report"]
    assert [r.id for r in plain].index("fix") > 2
    lifted = with_feedback(parsed, plain, CANDIDATES)
    assert [r.id for r in lifted][:3] == ["problem", "fix", "report"]
    assert sorted(r.id for r in lifted) == sorted(r.id for r in plain)
    assert {r.id: r.matched for r in lifted} == {r.id: r.matched for r in plain}
    assert [r.score for r in lifted] == sorted((r.score for r in lifted), reverse=True)


def test_phrases_and_single_results_are_left_alone() -> None:
    parsed = parse_query('"stock went" negative')
    plain = score(parsed, CANDIDATES, [1, 1], 100)
    assert with_feedback(parsed, plain, CANDIDATES) == plain
    one = score(parse_query("negative"), CANDIDATES, [1], 100)
    assert with_feedback(parse_query("negative"), one, CANDIDATES) == one
