"""Which language a query is in, and that language's stop words.

A query's language is guessed from its function words: each language's
count of words in its `STOP_WORDS` list (Cyrillic letters count for
Russian); the language with most, at least `MIN_HITS`, wins, and English
when there is no such language. The words of the winner are dropped from the
query (as the English ones always are), so "¿por qué el gráfico no se
actualiza?" asks for ``gráfico actualiza``, not for ``por``, ``que`` and
``el`` as terms that every Spanish note holds.

Only queries are analysed per language: a memory's indexed terms stay those
of `memorygraph.search.text`, so the index is the same on every engine and
for every store already written. Meaning across languages comes from the
vectors (`memorygraph.search.semantic`) when the `semantic` extra is used.
"""

from __future__ import annotations

import re

#: The commonest function words of each language, folded as `memorygraph.search.text`
#: folds them (lower case, accents removed).
STOP_WORDS: dict[str, frozenset[str]] = {
    "es": frozenset(
        """a al algo como con cual cuando de del donde el ella ellos en entre era es esa ese
        esta estan este esto fue ha hay la las le les lo los mas me mi muy no nos o para
        pero por porque que se sin sobre son su sus tambien tiene un una uno unos y ya""".split()  # noqa: SIM905
    ),
    "fr": frozenset(
        """a au aux avec ce ces cette d dans de des du elle en est et etre il ils je l la le
        les leur mais me meme mes n ne nous on ou par pas plus pour qu que qui s sa se ses
        son sont sur ta te tes toi ton tu un une vos votre vous y""".split()  # noqa: SIM905
    ),
    "de": frozenset(
        """aber alle alles als am an auch auf aus bei beim bin bis da dann das dass dem den
        denn der des die dies diese diesem diesen dieser dieses doch du durch ein eine einem
        einen einer es fur gegen habe haben hat hatte ich ihr im in ins ist ja jede jedem
        jeden jeder kann kein keine keinen man mehr mein meine mit nach nicht noch nur ob
        oder ohne schon sehr sich sie sind so uber um und uns unser unsere unter vom von vor
        war warum was weil welche welcher welches wenn wer werden wie wir wird wo wurde
        wurden zu zum zur""".split()  # noqa: SIM905
    ),
    "pt": frozenset(
        """a ao aos as com como da das de do dos e ela ele em entre era esta este eu foi ha
        isso mais mas me muito na nao nas no nos o os ou para pela pelo por porque que sao
        se sem ser seu sua tem um uma voce""".split()  # noqa: SIM905
    ),
    "ru": frozenset(
        """а без бы был была были в вам вас во вот все да для до его ее если есть еще же за и
        из или им их к как ко когда кто ли мне мы на над не нет ни но о об от по под почему
        при с со так там то только у уже что это я""".split()  # noqa: SIM905
    ),
}
#: Function words a query needs before its language counts as detected.
MIN_HITS = 2

_CYRILLIC = re.compile(r"[\u0400-\u04ff]")


def detect(words: list[str], english: frozenset[str] = frozenset()) -> str:
    """The language of a query's folded `words` (ISO 639-1): the one with most function
    words, at least `MIN_HITS` and more than the English ones in `english`; else "en"."""
    best, hits = "en", max(MIN_HITS - 1, sum(1 for w in words if w in english))
    for language, stops in STOP_WORDS.items():
        count = sum(1 for w in words if w in stops)
        if language == "ru":
            count += sum(1 for w in words if _CYRILLIC.search(w)) // 2
        if count > hits:
            best, hits = language, count
    return best


def stop_words(language: str) -> frozenset[str]:
    """The stop words of `language` (ISO 639-1) besides the English ones, which
    `memorygraph.search.text` drops from every text; none for a language not listed."""
    return STOP_WORDS.get(language, frozenset())
