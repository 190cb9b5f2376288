"""Words of a question that say nothing about the data, and words written with a typo.

A question typed into a chat carries more than the question: "thx", a ticket tag ("Q-ALPHA"), an emoji, a word
after the question mark. ``strays`` finds them, so that the planner reads the rest and names them in the read
line ("ignored: 'thx'"), instead of refusing a question it can read. A word is stray only where it cannot limit
the result:

* a word of thanks or greeting (``SOCIAL_WORDS``) anywhere;
* a tag (``#x``, ``@x``, capitals and digits joined by hyphens: ``Q-ALPHA``, ``AB-12``) that opens or closes the
  question, does not follow a word that would make it a value ("from", "code", "order") and names no record
  (``ORD-10042`` in a file of orders is a name);
* the words after the question's end ("?" or "!") when none of them is a word the planner knows;
* emoji and other symbols (never words: listed so that the read line can name them).

A word after "from", "in", "with", … is never stray: "How many cars from Q-ALPHA?" is a filter the planner
cannot read, and it says so.

``Corrector`` reads a word one typo away from exactly one word of the planner's vocabulary as that word
("horsepwer" -> "horsepower", "avrage" -> "average"): five letters at least, never a word that is a value of the
data, and the read line says so.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from rag.analytics.names import typo_distance
from rag.analytics.words import Token

SOCIAL_WORDS = frozenset(
    "thx thanks thank thankyou ty tnx tks pls plz please hi hello hey hiya lol cheers btw ok okay cool merci danke "
    "gracias ciao bye regards".split()
)
"""Words of thanks, greeting or politeness: they never say what to compute."""

_TAG = re.compile(r"^(?:[#@][\w-]+|[A-Z0-9]+(?:[-_][A-Z0-9]+)+)$")
_END = re.compile(r"[?!]+")
_EDGE_PUNCTUATION = "\"'“”‘’()[]{}<>.,;:?!"
BINDING_WORDS = frozenset(
    "from in with at for of on by to than named called code codes id ids number tag tagged label labelled labeled "
    "order orders ticket = is was".split()
)
"""Words after which a tag is a value the question asks about, never a stray."""


@dataclass(frozen=True)
class Strays:
    """What ``strays`` found: token indexes to leave out, and symbols (emoji) that are no tokens."""

    tokens: frozenset[int]
    symbols: tuple[str, ...]
    shown: tuple[str, ...] = ()
    """The stray words as the question writes them (a tag whole: ``Q-ALPHA``), then the symbols."""


_DATE = re.compile(r"^\d{4}-\d{1,2}(-\d{1,2})?$|^\d{1,2}/\d{1,2}/\d{2,4}$")


def strays(question: str, tokens: list[Token], known: Callable[[Token], bool],
           is_name: Callable[[str], bool] = lambda text: False) -> Strays:
    """The stray words of ``question`` (see the module docstring). ``known(token)``: whether the planner knows the
    word (a field, a value, a cue, a grammar word, a number); ``is_name(text)``: whether a record is so named (a tag
    that is an order's id is no stray)."""
    found: set[int] = set()
    for k, token in enumerate(tokens):
        if token.lower in SOCIAL_WORDS and not known(token):
            found.add(k)
    found |= _tags(question, tokens, is_name)
    end = _END.search(question)
    if end is not None:
        after = [k for k, token in enumerate(tokens) if token.start >= end.end()]
        before = [k for k in range(len(tokens)) if k not in after]
        if after and before and all(k in found or not known(tokens[k]) for k in after):
            found |= set(after)
    if len(found) >= len(tokens):
        found = set()  # nothing but stray words: nothing is left to read, the question is not changed
    symbols = _symbols(question)
    return Strays(frozenset(found), symbols, tuple(dict.fromkeys(_shown(question, tokens, found))) + symbols)


def _shown(question: str, tokens: list[Token], found: set[int]) -> list[str]:
    """The stray tokens as written: the whole chunk of text they stand in ("Q-ALPHA", not "Q" and "ALPHA")."""
    shown = []
    for match in re.finditer(r"\S+", question):
        inside = [k for k in sorted(found) if match.start() <= tokens[k].start and tokens[k].end <= match.end()]
        if not inside:
            continue
        every = [k for k, t in enumerate(tokens) if match.start() <= t.start and t.end <= match.end()]
        if inside == every:
            shown.append(match.group(0).strip(_EDGE_PUNCTUATION) or match.group(0))
        else:
            shown += [tokens[k].text for k in inside]
    return shown


def _tags(question: str, tokens: list[Token], is_name: Callable[[str], bool]) -> set[int]:
    """Tokens of tags that open or close the question (or its last sentence), follow no binding word and name no
    record."""
    chunks = [(m.start(), m.end(), m.group(0)) for m in re.finditer(r"\S+", question)]
    found: set[int] = set()
    for position, (start, end, chunk) in enumerate(chunks):
        bare = chunk.strip(_EDGE_PUNCTUATION)
        if not bare or not _TAG.match(bare) or _DATE.match(bare):
            continue  # a date ("after 2005-06-01") is never a tag
        previous = chunks[position - 1][2] if position else ""
        first = position == 0
        last = position == len(chunks) - 1 or previous.endswith(("?", "!"))
        if not (first or last):
            continue
        if previous.strip(_EDGE_PUNCTUATION).lower() in BINDING_WORDS and not previous.endswith(("?", "!", ".")):
            continue
        if is_name(bare):
            continue
        found |= {k for k, token in enumerate(tokens) if start <= token.start and token.end <= end}
    return found


def _symbols(question: str) -> tuple[str, ...]:
    """Emoji and other pictographs: not words, never part of a question's meaning."""
    symbols = []
    for match in re.finditer(r"\S+", question):
        shown = "".join(ch for ch in match.group(0) if unicodedata.category(ch) in ("So", "Cs", "Co")
                        and ch not in "°©®™" or ch in "\u200d\ufe0f")
        shown = shown.replace("\ufe0f", "").replace("\u200d", "")
        if shown:
            symbols.append(shown)
    return tuple(symbols)


class Corrector:
    """Reads a word written with one typo as the one vocabulary word it stands for."""

    MIN_LENGTH = 5

    def __init__(self, vocabulary: Iterable[str], *, protected: Collection[str] = ()) -> None:
        """``vocabulary``: the words a question's word may be read as; ``protected``: words never corrected
        (values of the data, names)."""
        self._words = frozenset(w for w in vocabulary if len(w) >= self.MIN_LENGTH - 1 and w.isalpha())
        self._protected = frozenset(protected)
        self._deletes: dict[str, set[str]] = {}
        for word in self._words:
            for variant in _deletions(word):
                self._deletes.setdefault(variant, set()).add(word)

    def correct(self, word: str) -> str | None:
        """The vocabulary word ``word`` is one typo away from, when exactly one is; None otherwise (and for
        words of the vocabulary, protected words and short words)."""
        if len(word) < self.MIN_LENGTH or not word.isalpha() or word in self._words or word in self._protected:
            return None
        candidates: set[str] = set(self._deletes.get(word, ()))
        for variant in _deletions(word):
            if variant in self._words:
                candidates.add(variant)
            candidates |= self._deletes.get(variant, set())
        close = {c for c in candidates if len(c) >= self.MIN_LENGTH - 1 and typo_distance(word, c, limit=1) <= 1}
        return next(iter(close)) if len(close) == 1 else None


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}
