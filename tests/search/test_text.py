"""The shared analysis: folding, tokens, stems, stop words and query parsing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memorygraph.errors import UsageError
from memorygraph.search.ranking import Candidate, retrieval_query, score
from memorygraph.search.text import (
    HEX,
    PLAIN,
    Field,
    decode,
    field_texts,
    fold,
    index_text,
    parse_query,
    stem,
    to_hex,
    to_plain,
    words,
)


def test_folding_removes_case_and_diacritics() -> None:
    assert fold("Détails ÜNÏCODE Straße") == "details unicode strasse"
    assert fold("ΣΟΦΊΑ") == "σοφια"
    assert fold("Ｒｅｄｉｓ") == "redis"  # full-width letters (NFKC)


def test_tokens_of_every_script() -> None:
    assert words("Redis 7.2 timeouts!") == ["redis", "7", "2", "timeouts"]
    assert words("東京のサーバー") == ["東", "京", "の", "サ", "ー", "バ", "ー"]
    assert words("Кэш сервера") == ["кэш", "сервера"]
    assert words("ship it 🚀🎉") == ["ship", "it", "🚀", "🎉"]
    assert words("snake_case-name") == ["snake", "case", "name"]


def test_stems() -> None:
    assert stem("timeouts") == stem("timeout") == "timeout"
    assert stem("fixed") == stem("fixing") == stem("fixes") == "fix"
    assert stem("таймаута") == stem("таймаут")
    assert stem("東") == "東"


def test_indexed_text_is_plain_ascii_and_drops_stop_words() -> None:
    text = index_text("The deployment of Кэш 🚀")
    assert text.isascii() and all(t.isalnum() and t.islower() for t in text.split())
    assert [decode(t) for t in text.split()] == ["deploy", "deployment", "кэш", "🚀"]
    title, body = field_texts("Pin redis", "content", "summary", ["tag"])
    assert [decode(t) for t in Field.parse(body).stems] == ["tag", "summari", "content"]
    assert [decode(t) for t in Field.parse(title).stems] == ["pin", "redi"]


def test_query_words_and_phrases() -> None:
    q = parse_query('how did we fix "the memory leak" in Redis? redis')
    assert [(u.text, u.phrase) for u in q.units] == [
        ("fix", False),
        ("memory leak", True),
        ("redis", False),
    ]
    assert q.units[0].terms[0].prefixes  # long enough for prefix matching
    assert not q.units[1].terms[0].prefixes  # phrases are exact
    assert not parse_query("ab").units[0].terms[0].prefixes  # too short
    assert parse_query("the of and").units == ()
    assert retrieval_query(parse_query("")) is None


@pytest.mark.parametrize("query", ['"open', 'a "b" "c', '"'])
def test_unbalanced_quotes_are_a_usage_error(query: str) -> None:
    with pytest.raises(UsageError, match="unbalanced double quote"):
        parse_query(query)


def _doc(i: str, title: str, body: str = "") -> Candidate:
    t, b = field_texts(title, body, None, [])
    return Candidate(i, t, b)


def test_ranking_prefers_title_more_words_and_rarer_words() -> None:
    docs = [
        _doc("body", "notes", "redis timeout"),
        _doc("title", "redis timeout", "notes"),
        _doc("one", "redis", "notes"),
        _doc("rare", "zookeeper", "notes"),
    ]
    q = parse_query("redis timeout")
    ranked = score(q, docs, [3, 2], total=100)
    assert [r.id for r in ranked] == ["title", "body", "one"]
    q = parse_query("redis zookeeper")
    ranked = score(q, docs, [3, 1], total=100)
    assert ranked[0].id == "rare"  # the rarer word weighs more


def test_prefix_matches_count_less_than_exact_ones() -> None:
    docs = [_doc("exact", "redis"), _doc("longer", "redistribution")]
    ranked = score(parse_query("redis"), docs, [2], total=10)
    assert [r.id for r in ranked] == ["exact", "longer"]
    assert ranked[0].score > ranked[1].score


def test_ties_go_to_the_smaller_id() -> None:
    docs = [_doc("b", "redis"), _doc("a", "redis"), _doc("c", "redis")]
    assert [r.id for r in score(parse_query("redis"), docs, [3], total=3)] == ["a", "b", "c"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=40), max_size=4))
def test_either_spelling_is_the_other_spelled_again(parts: list[str]) -> None:
    hexed = index_text(*parts, spelling=HEX)
    plain = index_text(*parts, spelling=PLAIN)
    assert to_plain(hexed) == PLAIN.field(hexed, HEX) == plain
    assert to_hex(plain) == HEX.field(plain, PLAIN) == hexed
    assert len(plain.split()) == len(hexed.split())


def test_plain_tokens_are_marked_terms_and_shorter() -> None:
    text = "Deployment failed: the Redis cache timed out under load, кэш 東京 🚀"
    plain = index_text(text, spelling=PLAIN)
    assert plain.split()[:3] == ["#deploy", "$deployment", "#fail"]
    assert "#кэш" in plain.split() and "#🚀" in plain.split()
    hexed = index_text(text, spelling=HEX)
    assert len(plain.encode()) < 0.6 * len(hexed.encode())
