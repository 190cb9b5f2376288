"""Finding records by the names a question writes: the distinct values of the dataset's text fields.

``NameIndex`` keeps the distinct values of the record fields that hold text (at most ``MAX_VALUES`` distinct
values per field, ``MAX_MEAN_LENGTH`` characters long on average: names, titles, codes, not notes), each under
its *key*: the value with case, accents and punctuation dropped (``"Côte d'Ivoire"`` -> ``"cote d ivoire"``,
``"ford pinto (sw)"`` -> ``"ford pinto sw"``, ``"DE-HH"`` -> ``"de hh"``). A question's words meet them in
two ways:

* ``exact(text)``: the values whose key is the text's key (so case, accents and punctuation never matter);
* ``close(text)``: the values a name written with a typo or in part stands for. Every content word of the
  text must meet a word of the value: the same word, or, for words of four letters or more (letters only:
  numbers and codes are met only as written), a word one typo away (a letter added, dropped, changed, or two
  swapped: "impalla" ~ "impala", "norwya" ~ "norway"; two typos from eight letters on), never a word that
  merely looks alike ("elvish" is not "lish", "gondor" not "ondo"), and at least half of the value's words
  (a name in part: "pinto" is "ford pinto", "s" is not "chevy s-10"). The values meeting all of them are
  ranked by the words of the value left unmet ("pinto" meets "ford pinto" before "ford pinto runabout"), then
  by the typos. The caller takes the first only when no other is ranked the same, and names the others in the answer
  ("also ...").

A name that meets nothing is not guessed: ``close`` returns nothing, and the question goes to retrieval.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rag.analytics.spec import RECORDS_TABLE, TableSchema
from rag.analytics.words import FUNCTION_WORDS

MAX_VALUES = 100_000
"""Distinct values a field may have to be indexed (beyond that its names are not looked up)."""
MAX_MEAN_LENGTH = 80
"""Longest mean length of a field's values for it to hold names (longer: free text)."""
MAX_NAME_WORDS = 8
"""Longest name, in words, that a question's words are looked up as."""
WORD_CUTOFF = 0.7
"""How alike (``difflib`` ratio) a value's word must be to a question's to be checked for typos at all."""
LONG_WORD = 8
"""Words this long may be two typos away from the value's word; shorter ones one."""
MIN_CLOSE_LENGTH = 4
"""Shortest word met by a like word rather than by itself (codes and short words must be written as they are)."""
MAX_VOCABULARY = 60_000
"""Distinct words over which like words are looked for (beyond that only the same word meets)."""
SHOWN_OTHERS = 3
"""Other close values named in the read line."""

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_PARENTHESES = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")


def name_key(text: str) -> str:
    """``text`` as names are compared: lower case, accents and punctuation dropped, one space between words."""
    text = str(text)
    if not text.isascii():
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_WORD.findall(text.casefold()))


def content_words(key: str) -> list[str]:
    """The words of a key that name something ("korea republic of" -> ["korea", "republic"]); all of them when
    every word is a function word."""
    words = key.split()
    content = [word for word in words if word not in FUNCTION_WORDS]
    return content or words


def typo_distance(a: str, b: str, limit: int = 2) -> int:
    """Letters added, dropped, changed or swapped with a neighbour to turn ``a`` into ``b`` (the optimal string
    alignment distance); ``limit + 1`` when it is more than ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, other in enumerate(b, 1):
            cost = 0 if char == other else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char == b[j - 2] and a[i - 2] == other:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return min(previous[-1], limit + 1)


@dataclass(frozen=True)
class NameMatch:
    """The values of the dataset one name of a question stands for."""

    key: str
    """The values' key (``name_key``)."""
    values: tuple[tuple[str, str], ...]
    """(field path, stored value) pairs with that key, in the index's field order (the label field first)."""
    extra_words: int = 0
    """Words of the value the question did not write (0 for an exact match)."""
    likeness: float = 1.0
    """Mean likeness of the question's words to the value's: 1.0 written as they are, 0.1 less per typo."""

    def rank(self) -> tuple[int, float]:
        """Lower is closer."""
        return self.extra_words, -round(self.likeness, 6)

    @property
    def shown(self) -> str:
        """The value as stored (the first, when several spellings share the key)."""
        return self.values[0][1]


class NameIndex:
    """The distinct values of a dataset's text fields, by key."""

    def __init__(self, columns: Mapping[str, Iterable[str]], *, label: str | None = None) -> None:
        """``columns``: field path -> its distinct text values; ``label``: the field that names a record, whose
        values come first where several fields hold the same key."""
        self.label = label
        """The field that names a record."""
        order = sorted(columns, key=lambda path: (path != label,))  # the label field first, else as given
        by_key: dict[str, list[tuple[str, str]]] = {}
        self._fields: dict[str, int] = {}
        for path in order:
            distinct = 0
            for value in columns[path]:
                if value.__class__ is not str:
                    continue
                key = name_key(value)
                if not key:
                    continue
                distinct += 1
                pairs = by_key.get(key)
                if pairs is None:
                    by_key[key] = [(path, value)]
                elif (path, value) not in pairs:
                    pairs.append((path, value))
            self._fields[path] = distinct
        aliases: dict[str, list[tuple[str, str]]] = {}
        for pairs in by_key.values():  # "Hangul (Hangŭl, Hangeul)" is also "Hangul", unless another value is
            for path, value in pairs:
                alias = name_key(_PARENTHESES.sub(" ", value))
                if alias and alias not in by_key and (path, value) not in aliases.setdefault(alias, []):
                    aliases[alias].append((path, value))
        by_key.update(aliases)
        self._by_key = by_key
        by_word: dict[str, set[str]] = {}
        most = 0
        for key in by_key:
            words = key.split()
            most = max(most, len(words))
            for word in words:
                if word not in FUNCTION_WORDS:
                    keys = by_word.get(word)
                    if keys is None:
                        by_word[word] = {key}
                    else:
                        keys.add(key)
        self._by_word = by_word
        self._vocabulary = sorted(word for word in by_word  # numbers and codes are met only as written
                                  if len(word) >= MIN_CLOSE_LENGTH and word.isalpha())
        self.max_words = min(MAX_NAME_WORDS, most)
        """Most words in an indexed name (at most ``MAX_NAME_WORDS``)."""

    @classmethod
    def from_schema(cls, schema: TableSchema) -> "NameIndex":
        """An index of the values a ``TableSchema`` lists (all of a categorical field's, the most common of
        others): for a schema without its table (hand-made schemas in tests, a planner used alone)."""
        columns = {
            column.path: [value for value in column.values if isinstance(value, str)]
            for column in schema.columns.values()
            if column.table == RECORDS_TABLE and column.type == "text"
        }
        return cls(columns, label=schema.label_field)

    @property
    def fields(self) -> dict[str, int]:
        """Field path -> distinct values indexed."""
        return dict(self._fields)

    def __len__(self) -> int:
        return len(self._by_key)

    def exact(self, text: str) -> NameMatch | None:
        """The values whose key is ``text``'s, or None."""
        key = name_key(text)
        pairs = self._by_key.get(key)
        return NameMatch(key, tuple(pairs)) if pairs else None

    def knows_word(self, word: str) -> bool:
        """Whether ``word`` (lower case) is a word of some indexed value."""
        return name_key(word) in self._by_word

    def containing(self, text: str, *, field: str | None = None, limit: int = SHOWN_OTHERS) -> list[NameMatch]:
        """Other values (of ``field``, when given) holding every word of ``text`` ("ford pinto" -> "ford pinto
        runabout"), fewest extra words first: the names an exact match could be mistaken for."""
        key = name_key(text)
        words = content_words(key)
        if not words:
            return []
        keys = set.intersection(*(self._by_word.get(word, set()) for word in words))
        keys.discard(key)
        if field is not None:
            keys = {other for other in keys if any(path == field for path, _value in self._by_key[other])}
        found = [NameMatch(other, tuple(self._by_key[other]), len(content_words(other)) - len(words)) for other in keys]
        found.sort(key=lambda match: (match.extra_words, match.key))
        return found[:limit]

    def close(self, text: str, *, limit: int = 1 + SHOWN_OTHERS) -> list[NameMatch]:
        """The values ``text`` is a close writing of, closest first (see the module's docstring); empty when
        some word of ``text`` meets no value."""
        words = content_words(name_key(text))
        if not any(len(word) >= 3 for word in words):
            return []  # "s", "no": too short to stand for a name unless written whole
        likes: list[dict[str, float]] = []
        for word in words:
            alike = {word: 1.0} if word in self._by_word else {}
            if len(word) >= MIN_CLOSE_LENGTH and word.isalpha() and len(self._vocabulary) <= MAX_VOCABULARY:
                allowed = 2 if len(word) >= LONG_WORD else 1
                for other in difflib.get_close_matches(word, self._vocabulary, n=10, cutoff=WORD_CUTOFF):
                    typos = typo_distance(word, other, allowed)
                    if other not in alike and typos <= allowed:
                        alike[other] = 1.0 - 0.1 * typos
            if not alike:
                return []  # a word nothing is named by
            likes.append(alike)
        keys = set.intersection(*(set().union(*(self._by_word[w] for w in alike)) for alike in likes))
        found = []
        for key in keys:
            value_words = content_words(key)
            met, total = 0, 0.0
            remaining = list(value_words)
            for alike in likes:
                best = max(((alike[w], w) for w in remaining if w in alike), default=None)
                if best is None:
                    break
                remaining.remove(best[1])
                met += 1
                total += best[0]
            if met < len(likes) or len(remaining) > met:
                continue  # a name written in part holds at least half of the value's words ("pinto", "ford pinto")
            found.append(NameMatch(key, tuple(self._by_key[key]), len(remaining), total / len(likes)))
        found.sort(key=lambda match: (match.rank(), match.key))
        return found[:limit]

