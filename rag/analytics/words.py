"""Words of questions and of field names, reduced so that the two can be compared.

``field_words("Miles_per_Gallon") == ["miles", "per", "gallon"]``, ``field_words("petalLength") ==
["petal", "length"]``; ``stem`` folds plurals (``cylinders`` -> ``cylinder``, ``countries`` ->
``country``) so a question's "cylinders" meets a field called ``Cylinders`` or ``cylinder``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(r"(?:(?<![\w.])-)?\d+(?:[.,]\d+)*(?:\.\d+)?|[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)
"""Words and numbers; a number keeps its minus sign ("below -150"), not a hyphen ("2000-3000")."""
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SPLIT = re.compile(r"[^0-9A-Za-z\u00C0-\uFFFF]+")

FUNCTION_WORDS = frozenset(
    "a an the of in on at to for by with and or per from as is are was were be been being do does did has have had "
    "that this these those there their its it which what who whom whose how when where than then into onto out "
    "up down all any each every some no not".split()
)
"""Words that carry no field or value meaning on their own."""


@dataclass(frozen=True)
class Token:
    """One word of a question, with where it stands."""

    text: str
    """As written (case kept)."""
    lower: str
    stem: str
    start: int
    """Character offset in the question."""
    end: int


_IRREGULAR = {"ids": "id", "people": "person", "children": "child", "men": "man", "women": "woman"}


def stem(word: str) -> str:
    """A light plural fold: enough to meet field names, never a linguistic stemmer."""
    w = word.lower()
    if w in _IRREGULAR:
        return _IRREGULAR[w]
    if len(w) <= 3 or not w.isalpha():
        return w
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith(("sses", "shes", "ches", "xes", "zes")):
        return w[:-2]
    if w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


def tokenize(text: str) -> list[Token]:
    """The words and numbers of ``text`` (punctuation dropped, offsets kept)."""
    tokens = []
    for match in _TOKEN.finditer(text):
        raw = match.group(0)
        lower = raw.lower().replace("’", "'")
        tokens.append(Token(text=raw, lower=lower, stem=stem(lower), start=match.start(), end=match.end()))
    return tokens


def field_words(path: str) -> list[str]:
    """Lower-case words of a field path: split on punctuation, underscores and camelCase."""
    words: list[str] = []
    for part in _SPLIT.split(path):
        if not part:
            continue
        for piece in _CAMEL.split(part):
            if piece:
                words.append(piece.lower())
    return words


def value_words(value: str) -> list[str]:
    """Lower-case words of a categorical value, as ``tokenize`` would read them in a question."""
    return [token.lower for token in tokenize(value)]


def parse_number(text: str) -> float | int | None:
    """``"1,200"`` -> 1200, ``"4.5"`` -> 4.5; None when it is not a number."""
    cleaned = text.replace(",", "")
    try:
        number = float(cleaned)
    except ValueError:
        return None
    return int(number) if number.is_integer() and "." not in cleaned else number
