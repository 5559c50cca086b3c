"""Words for lexical matching: Italian and English stop words dropped, both Snowball stems kept.

An idea may be written in Italian or English and the partners' evidence mixes both, so
each word is stemmed by both Snowball stemmers (PyStemmer) and both stems are indexed:
"robotica" gives {"robot", "robotica"} and "robotics" gives {"robotics", "robot"}, which
meet on "robot" without guessing the language of a two-word query. Stop words are the
union of the Italian and the longer English list (``STOPWORDS_EN_PLUS``) of ``bm25s``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import Stemmer
from bm25s.stopwords import STOPWORDS_EN_PLUS, STOPWORDS_ITALIAN

STOPWORDS = frozenset(STOPWORDS_ITALIAN) | frozenset(STOPWORDS_EN_PLUS)
# Letters (accented ones included) and digits; apostrophes split "dell'oro" into "dell", "oro".
WORD = re.compile(r"[^\W_]+", re.UNICODE)
_ENGLISH = Stemmer.Stemmer("english")
_ITALIAN = Stemmer.Stemmer("italian")


@dataclass(frozen=True)
class Word:
    """A word of a text: where it stands (``start``, ``end``), as written, and its stems."""

    text: str
    start: int
    end: int
    stems: tuple[str, ...]


@lru_cache(maxsize=65536)
def stems(word: str) -> tuple[str, ...]:
    """The English and Italian stems of one lower-case ``word`` (one when they agree)."""
    english, italian = _ENGLISH.stemWord(word), _ITALIAN.stemWord(word)
    return (english,) if english == italian else (english, italian)


def words(text: str) -> list[Word]:
    """The content words of ``text`` with their positions (no stop words, no 1-letter words)."""
    found = []
    for m in WORD.finditer(text):
        lower = m.group().lower()
        if len(lower) < 2 or lower in STOPWORDS:
            continue
        found.append(Word(m.group(), m.start(), m.end(), stems(lower)))
    return found


def tokens(text: str) -> list[str]:
    """The stems of ``text`` in order, every stem of every content word (BM25's terms)."""
    return [stem for word in words(text) for stem in word.stems]
