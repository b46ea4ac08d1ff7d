"""Text analysis shared by every backend: folding, tokens, stop words, stems, query parsing.

Every engine indexes the same derived text, produced here, so that what
matches a query is decided by this module and not by each engine's own
analyzer (which differ in stemming, stop words, CJK and emoji handling).

* Folding: Unicode NFKC, case folding, then the accents of Latin, Greek and
  Cyrillic letters removed: ``Détails`` → ``details``, ``ΣΟΦΊΑ`` → ``σοφια``.
* Tokens: runs of letters/digits. Han, Hiragana and Katakana characters are
  one token each (those scripts do not separate words); every emoji or other
  pictographic symbol is a token of its own.
* Stop words: a short English list (`STOP_WORDS`), dropped from documents and
  queries alike; a query in Spanish, French, German, Portuguese or Russian also
  loses that language's (`memorygraph.search.languages`).
* Stems: English Snowball for Latin-script words, Russian Snowball for
  Cyrillic ones; other scripts are kept as folded.

The *indexed form* of a token is a mark for its kind and its term: the stem,
and, when the folded word differs from its stem, also the word as written
right after it (so partial words can match the word as written: ``deploym``
finds ``deployment``, whose stem is ``deploy``). How the term is written is
the engine's `Spelling`: `HEX` (``t`` + hex of the stem's UTF-8, ``r`` + hex
of the word's) is plain lowercase ASCII letters and digits, which every
engine's tokenizer keeps whole; `PLAIN` (``#`` + the stem, ``$`` + the word)
is about 40% shorter, for an engine that can be told to keep ``#`` and ``$``
inside a token. Both preserve prefixes, so an engine's prefix query on a
spelled prefix finds exactly the stems that start with that prefix.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, lru_cache, partial
from typing import Any

from memorygraph.errors import UsageError
from memorygraph.search.languages import detect, stop_words

#: Words too common to help ranking; removed from documents and queries.
_STOP_TEXT = """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself
    yourselves"""
STOP_WORDS = frozenset(_STOP_TEXT.split())
#: Partial-word (prefix) matching applies to query words at least this long.
MIN_PREFIX_CHARS = 3
#: Longer words are cut to this many characters (engines limit token length).
MAX_TOKEN_CHARS = 60
#: Only the first this many tokens of a field are indexed (a 1 MB memory stays searchable
#: by its beginning, and the index stays small).
MAX_FIELD_TOKENS = 4000
#: Most words (and phrases) a query may hold; the rest are ignored.
MAX_QUERY_UNITS = 16

STEM_PREFIX = "t"
RAW_PREFIX = "r"


@dataclass(frozen=True)
class Spelling:
    """How an engine's full-text index writes an indexed token: its kind's mark (a
    stem, or a word as written), then its term, as hex of its UTF-8 or as it is.

    Neither kind's mark can occur inside a token: terms hold letters, digits and the
    symbols of `_TOKEN`, never ASCII punctuation such as ``#`` or ``$``, and hex
    digits hold neither ``t`` nor ``r``. So each mark starts a token, and a field's
    stems are its stem marks.
    """

    name: str
    stem_mark: str
    raw_mark: str
    hexed: bool

    def spell(self, term: str, raw: bool = False) -> str:
        """The indexed token of a stem, or (`raw`) of a word as written."""
        body = term.encode("utf-8").hex() if self.hexed else term
        return (self.raw_mark if raw else self.stem_mark) + body

    def field(self, indexed: str, spelling: Spelling) -> str:
        """`indexed`, a field spelled in `spelling`, spelled in this one instead."""
        if spelling is self:
            return indexed
        return to_plain(indexed) if spelling.hexed else to_hex(indexed)


#: Hex of UTF-8, for engines whose analyzers split or alter other text.
HEX = Spelling("hex", STEM_PREFIX, RAW_PREFIX, hexed=True)
#: The terms as they are, for an engine told to keep the marks inside a token. ASCII
#: marks keep a field of ASCII words ASCII: the cheapest text to pass around.
PLAIN = Spelling("plain", "#", "$", hexed=False)


def to_plain(indexed: str) -> str:
    """A `HEX` field spelled `PLAIN`: the marks' and the spaces' UTF-8 in hex, then the
    whole decoded at once (hex digits hold neither mark, so none is mistaken)."""
    whole = indexed.replace(" ", "20").replace(STEM_PREFIX, "23").replace(RAW_PREFIX, "24")
    return bytes.fromhex(whole).decode("utf-8")


def to_hex(indexed: str) -> str:
    """A `PLAIN` field spelled `HEX`: its UTF-8 in hex a byte at a time, then the marks'
    and the spaces' bytes (each found whole between separators) written back."""
    bytewise = indexed.encode("utf-8").hex(":")
    return (
        bytewise.replace(":20:", " ")
        .replace("23:", STEM_PREFIX)
        .replace("24:", RAW_PREFIX)
        .replace(":", "")
    )


_TOKEN = re.compile(
    r"[\u2E80-\u2FFF\u3040-\u30FF\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF\U00020000-\U0003FFFF]"
    r"|[^\W_]+"
    r"|[\u2190-\u21FF\u2300-\u23FF\u2460-\u27BF\u2900-\u297F\u2B00-\u2BFF"
    r"\U0001F000-\U0001FAFF]"
)
_LATIN = re.compile(r"^[a-z]+$")
_CYRILLIC = re.compile(r"^[\u0400-\u04FF]+$")


@cache
def _stemmer(language: str) -> Any:
    # Made on first use: loading the stemmers takes longer than a server's start may.
    import snowballstemmer  # type: ignore[import-untyped]

    return snowballstemmer.stemmer(language)


def _folds_marks(base: str) -> bool:
    """True for letters whose accents are dropped: Latin, Greek, Cyrillic (not kana's
    voicing marks, Indic vowel signs…, which change the letter)."""
    return base < "\u0530" or "\u1e00" <= base < "\u2000"


def fold(text: str) -> str:
    """Case- and diacritic-folded text (NFKC, casefold, accents of Latin, Greek and
    Cyrillic letters removed)."""
    if text.isascii():
        return text.lower()  # what the rest does to ASCII, at a fraction of the cost
    text = unicodedata.normalize("NFKC", text).casefold()
    return unicodedata.normalize("NFC", _drop_marks(unicodedata.normalize("NFD", text)))


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def _drop_marks(text: str) -> str:
    """`text` (decomposed) without the combining marks that follow a letter whose
    accents fold away. ASCII is never a mark, so only the non-ASCII runs are walked."""
    kept: list[str] = []
    base = ""
    done = 0
    for run in _NON_ASCII.finditer(text):
        if run.start() > done:
            kept.append(text[done : run.start()])
            base = text[run.start() - 1]
        for c in run.group():
            if unicodedata.combining(c):
                if _folds_marks(base):
                    continue
            else:
                base = c
            kept.append(c)
        done = run.end()
    kept.append(text[done:])
    return "".join(kept)


def words(text: str) -> list[str]:
    """The folded tokens of `text`, stop words included, in order."""
    return [w[:MAX_TOKEN_CHARS] for w in _TOKEN.findall(fold(text))]


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The stem of one folded word (English or Russian Snowball, else the word itself)."""
    if _LATIN.match(word):
        return str(_stemmer("english").stemWord(word))
    if _CYRILLIC.match(word):
        return str(_stemmer("russian").stemWord(word))
    return word


def encode(term: str, prefix: str = STEM_PREFIX) -> str:
    """The `HEX` token of a stem (``t``…) or a written word (``r``…)."""
    return prefix + term.encode("utf-8").hex()


def decode(token: str) -> str:
    """The term of a `HEX` token."""
    return bytes.fromhex(token[1:]).decode("utf-8")


@lru_cache(maxsize=8192)  # common words; a rare one costs one stem lookup more
def _word_terms(word: str) -> tuple[str, ...]:
    """What one folded word indexes: nothing for a stop word, else its stem and, when
    that differs, the word as written."""
    if word in STOP_WORDS:
        return ()
    s = stem(word)
    return (s, word) if s != word else (s,)


def _spelled_tokens(spelling: Spelling, word: str) -> tuple[str, ...]:
    """The indexed tokens of one folded word (`_word_terms`), spelled."""
    return tuple(spelling.spell(t, raw=i > 0) for i, t in enumerate(_word_terms(word)))


# One cache per spelling: keyed by the word alone, the cheapest key to look up.
_hex_tokens = lru_cache(maxsize=8192)(partial(_spelled_tokens, HEX))
_plain_tokens = lru_cache(maxsize=8192)(partial(_spelled_tokens, PLAIN))


def _index_tokens(text: str, spelling: Spelling) -> Iterator[str]:
    tokens_of = _hex_tokens if spelling.hexed else _plain_tokens
    count = 0
    for word in words(text):
        tokens = tokens_of(word)
        if not tokens:
            continue
        yield from tokens
        count += 1
        if count >= MAX_FIELD_TOKENS:
            return


def index_text(*parts: str | None, spelling: Spelling = HEX) -> str:
    """The derived, indexed form of some text: space-separated spelled tokens."""
    return " ".join(t for part in parts if part for t in _index_tokens(part, spelling))


def field_texts(
    title: str, content: str, summary: str | None, tags: list[str], spelling: Spelling = HEX
) -> tuple[str, str]:
    """(title field, body field) of a memory, as a backend of `spelling` indexes them."""
    return (
        index_text(title, spelling=spelling),
        index_text(" ".join(tags), summary, content, spelling=spelling),
    )


@dataclass(frozen=True)
class Field:
    """One indexed field read back for scoring: its stems in order and its written words."""

    stems: tuple[str, ...]
    raw: frozenset[str]

    @classmethod
    def parse(cls, indexed: str | None) -> Field:
        stems: list[str] = []
        raw: set[str] = set()
        for token in (indexed or "").split():
            if token.startswith(STEM_PREFIX):
                stems.append(token)
            else:
                raw.add(token)
        return cls(tuple(stems), frozenset(raw))


# --- queries -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """A query word: its display form, its stem token and (if long enough) its prefix tokens."""

    text: str
    stem: str
    prefixes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Unit:
    """What a result is scored on: one word (optional) or one quoted phrase (required;
    a quoted single word is a phrase of one: required, matched exactly, never as a prefix)."""

    text: str
    terms: tuple[Term, ...]
    phrase: bool = False


@dataclass(frozen=True)
class ParsedQuery:
    units: tuple[Unit, ...]
    #: How the terms' tokens are written: as the searched engine indexes them.
    spelling: Spelling = HEX

    @property
    def words(self) -> tuple[Unit, ...]:
        return tuple(u for u in self.units if not u.phrase)

    @property
    def phrases(self) -> tuple[Unit, ...]:
        return tuple(u for u in self.units if u.phrase)


def _term(word: str, spelling: Spelling, *, allow_prefix: bool) -> Term:
    s = stem(word)
    prefixes: tuple[str, ...] = ()
    if allow_prefix and len(word) >= MIN_PREFIX_CHARS:
        prefixes = tuple(dict.fromkeys([spelling.spell(word), spelling.spell(word, raw=True)]))
    return Term(word, spelling.spell(s), prefixes)


def language(text: str) -> str:
    """The language `text` is written in (ISO 639-1), told from its function words
    (`memorygraph.search.languages.detect`); "en" when no other language stands out."""
    return detect(words(text), STOP_WORDS)


def parse_query(query: str, spelling: Spelling = HEX) -> ParsedQuery:
    """Split a query into words and "quoted phrases", folded and stemmed, their tokens
    spelled as `spelling`.

    Words are optional (any may match; more matches rank higher) and match by
    stem, or as the beginning of a longer word. A phrase must appear, its words
    in order and adjacent (stop words between them are ignored). An unbalanced
    double quote is a `UsageError`.
    """
    if query.count('"') % 2:
        raise UsageError(
            'the query has an unbalanced double quote; close the "phrase" or remove the quote'
        )
    units: list[Unit] = []
    seen: set[tuple[str, ...]] = set()
    stops = STOP_WORDS | stop_words(language(query))
    for i, part in enumerate(query.split('"')):
        in_phrase = i % 2 == 1
        kept = [w for w in words(part) if w not in stops]
        if in_phrase and kept:
            terms = tuple(_term(w, spelling, allow_prefix=False) for w in kept)
            key = ("phrase", *(t.stem for t in terms))
            if key not in seen:
                seen.add(key)
                units.append(Unit(" ".join(kept), terms, phrase=True))
            continue
        for w in kept:
            term = _term(w, spelling, allow_prefix=not in_phrase)
            key = (term.stem, *term.prefixes)
            if key not in seen:
                seen.add(key)
                units.append(Unit(w, (term,)))
    return ParsedQuery(tuple(units[:MAX_QUERY_UNITS]), spelling)
