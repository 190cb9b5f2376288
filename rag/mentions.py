"""What a question mentions of a record: fields by the words of their names, values word for word.

Values and question words are compared normalised: accents folded, casefolded, each run of
punctuation and space one space (``FR-75`` -> ``fr 75``, ``Côte d'Ivoire`` -> ``cote d ivoire``), so
that a code typed ``nor``, ``NOR`` or ``N.O.R.`` is the same value. A field is named when the words of
its name (``Weight_in_lbs`` -> weight, lbs; ``alpha_3`` -> alpha, 3) are all in the question, or one
that no other field's name has ("weight" names ``Weight_in_lbs``; "order" names neither ``order_id``
nor ``order_date``); every number of its name must be there (``alpha-3`` names ``alpha_3``, not ``alpha_2``).

A run of question words is *weak* when it is nothing but English function words written in lower
case, single characters, or one short number: "no", "it", "in", "is", "578". Countries have the
codes NO, IT, IN, IS, so a weak run counts as a value only in a field the question names
("the alpha-3 code nor", "numeric code 578").

Used by the exact-match channel of retrieval (``rag/exact_match.py``) and by the compact records of
a short prompt (``rag/prompt.py``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property, lru_cache
from collections import Counter
from typing import Any, Iterable, Iterator

from rag.lexical import QUERY_STOPWORDS

MAX_VALUE_WORDS = 6
"""Longest value, in words, that a question can name word for word."""
STRONG_NUMBER_DIGITS = 5
"""A number alone is a value anywhere from this many digits on (an order number); shorter ones ("578",
"100", "2024") only in a field the question names."""

_WORD = re.compile(r"[^\W_]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_ARRAY_INDEX = re.compile(r"\[\d+\]")


def words(text: str) -> list[str]:
    """Runs of letters and digits with accents removed, case kept."""
    if not text.isascii():
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _WORD.findall(text)


def normalise(value: Any) -> str:
    """``value`` as compared: its words casefolded, joined by one space (``""`` for None and booleans)."""
    if value is None or isinstance(value, bool):
        return ""
    text = value if isinstance(value, str) else str(value)
    if text.isascii():  # most values: nothing to fold (a third of the exact-match index's build time)
        return " ".join(_WORD.findall(text.lower()))
    return " ".join(word.casefold() for word in words(text))


def _stem(word: str) -> str:
    """A plural's singular, roughly ("cylinders" -> "cylinder"); enough to match field names."""
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


@lru_cache(maxsize=4096)
def field_words(path: str) -> tuple[str, ...]:
    """The words of a field's name: array indices dropped, camelCase split, casefolded, function words
    dropped (``items[0].unitPrice`` -> items, unit, price; ``Weight_in_lbs`` -> weight, lbs)."""
    text = _CAMEL.sub(" ", _ARRAY_INDEX.sub(" ", path))
    return tuple(w for w in (word.casefold() for word in words(text)) if w not in QUERY_STOPWORDS)


@dataclass(frozen=True)
class Span:
    """A run of question words: ``text`` is its normalised form."""

    start: int
    end: int
    """One past the last word."""
    text: str
    weak: bool
    """Only function words in lower case, single characters or one short number: a value only in a named field."""


class Question:
    """A question read for the fields and values it mentions."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.written = words(text)
        """The words as written (accents folded): capitals tell ``NO`` the code from "no"."""
        self.tokens = [word.casefold() for word in self.written]

    @cached_property
    def _stems(self) -> frozenset[str]:
        return frozenset(_stem(token) for token in self.tokens)

    @cached_property
    def _weak_words(self) -> list[bool]:
        return [
            len(token) == 1 or (token in QUERY_STOPWORDS and not (len(word) > 1 and word.isupper()))
            for word, token in zip(self.written, self.tokens)
        ]

    def named_fields(self, paths: Iterable[str]) -> set[str]:
        """The fields among ``paths`` (those of a record) that the question names: all the words of the name, or
        one no other field's name has, and every number of the name."""
        names = {path: field_words(path) for path in paths}
        shared = Counter(word for name in set(names.values()) for word in set(name))
        named = set()
        for path, name in names.items():
            letters = [_stem(word) for word in name if not word.isdigit() and len(word) > 1]
            present = [word for word in letters if word in self._stems]
            if not present or not all(word in self._stems for word in name if word.isdigit()):
                continue
            if len(present) == len(letters) or any(shared[word] == 1 for word in name if _stem(word) in present):
                named.add(path)
        return named

    def spans(self, max_words: int = MAX_VALUE_WORDS) -> Iterator[Span]:
        """Every run of 1 to ``max_words`` consecutive words."""
        weak = self._weak_words
        for start in range(len(self.tokens)):
            for end in range(start + 1, min(len(self.tokens), start + max_words) + 1):
                run = self.tokens[start:end]
                short_number = len(run) == 1 and run[0].isdigit() and len(run[0]) < STRONG_NUMBER_DIGITS
                yield Span(start, end, " ".join(run), short_number or all(weak[start:end]))

    @cached_property
    def _strong_runs(self) -> frozenset[str]:
        return frozenset(span.text for span in self.spans() if not span.weak)

    def mentions(self, value: Any) -> bool:
        """True when the question holds ``value`` word for word as a run that is not weak."""
        text = normalise(value)
        return bool(text) and text in self._strong_runs
