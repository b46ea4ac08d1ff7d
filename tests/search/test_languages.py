"""A query's language is guessed from its function words, whose stop words it loses."""

from __future__ import annotations

import pytest

from memorygraph.search.languages import detect
from memorygraph.search.text import STOP_WORDS, parse_query, words


@pytest.mark.parametrize(
    ("query", "language"),
    [
        ("¿Por qué el gráfico de ventas no se actualiza?", "es"),
        ("les e-mails de confirmation arrivent dans les spams", "fr"),
        ("Warum schlägt das nächtliche Backup fehl und was ist die Ursache", "de"),
        ("Tests werden beim Deployment übersprungen", "de"),
        ("como recuperar commits perdidos depois de um rebase", "pt"),
        ("логи заполняют диск на узлах", "ru"),
        ("how did we fix the redis timeouts", "en"),
        ("app dies when many users log in", "en"),
    ],
)
def test_the_language_of_a_query(query: str, language: str) -> None:
    assert detect(words(query), STOP_WORDS) == language


def test_a_detected_language_loses_its_stop_words_and_english_keeps_its_words() -> None:
    assert [u.text for u in parse_query("¿Por qué el gráfico no se actualiza?").units] == [
        "grafico",
        "actualiza",
    ]
    assert [u.text for u in parse_query("app dies when many users log in").units] == [
        "app",
        "dies",
        "many",
        "users",
        "log",
    ]
