"""Fields named in other words: a small list of synonyms, and abbreviations read off the field names.

A question rarely writes a field as the data spells it: "heavy" or "mass" for ``Weight_in_lbs``, "fuel economy"
for ``Miles_per_Gallon``, "city mpg" for ``cty``, "windy" for ``wind``. The rules planner links a question's
words to fields first through the field names themselves (split words, acronyms, the name as one word), then
through this module:

* ``CONCEPTS``: groups of words that mean the same measure. A question word and a field word of the same group
  meet ("mass" and ``Weight_in_lbs``, "mileage" and ``hwy``). The list is short and written by hand; each
  group is one line below. A word of two groups meets the fields of both, which the planner then reads as
  ambiguous ("Did you mean cty or hwy?") rather than choose.
* ``abbreviates(word, field_word)``: a field word that is the question's word cut short ("temp" of
  "temperature", "precip" of "precipitation"), written without its vowels ("cty" of "city"), or a usual
  abbreviation (``ABBREVIATIONS``: "hwy" of "highway"). A one-letter or numeric code (``m``, ``x1``) is never
  met by cutting: it names a field only when the data or a synonym says so.

Matches made here are never literal, so the planner names them in the read line ("'mass' read as
Weight_in_lbs").
"""

from __future__ import annotations

from functools import lru_cache

from rag.analytics.words import stem

CONCEPTS: dict[str, frozenset[str]] = {
    name: frozenset(words.split())
    for name, words in {
        "weight": "weight weigh weighs weighing weighed heavy heavier heaviest mass lbs lb pounds kg kilograms kilos",
        "power": "power horsepower hp bhp powerful",
        "fuel economy": "mpg mileage economy efficiency efficient consumption fuel cty hwy",
        "price": "price prices cost costs costly expensive cheap cheaper cheapest priciest pricey fare fee",
        "temperature": "temperature temperatures temp temps hot hotter hottest cold colder coldest warm warmer "
                       "warmest heat degrees",
        "wind": "wind winds windy windier windiest gust gusts breeze breezy",
        "precipitation": "precipitation precip rain rains rainy rainier rainiest rainfall wet wetter wettest",
        "speed": "speed fast faster fastest quick quicker quickest velocity",
        "acceleration": "acceleration accelerate accelerates accel",
        "age": "age aged old older oldest young younger youngest",
        "population": "population pop populous inhabitants residents",
        "height": "height tall taller tallest",
        "length": "length long longer longest",
        "salary": "salary salaries wage wages pay paid income earnings earn earns",
        "revenue": "revenue revenues sales turnover",
        "rating": "rating ratings rated stars score scores",
        "engine size": "displacement engine cc",
        "life expectancy": "lifespan longevity",
        "wealth": "gdp wealth",
        "duration": "duration lasting",
    }.items()
}
"""Groups of words that name the same measure, one group per line."""

_GROUPS_OF: dict[str, tuple[str, ...]] = {}
for _name, _words in CONCEPTS.items():
    for _word in _words:
        _GROUPS_OF[_word] = _GROUPS_OF.get(_word, ()) + (_name,)


def concepts(word: str) -> frozenset[str]:
    """The groups ``word`` belongs to (as written or as its singular): ``"mass"`` -> ``{"weight"}``."""
    word = word.lower()
    return frozenset(_GROUPS_OF.get(word, ()) + _GROUPS_OF.get(stem(word), ()))


ABBREVIATIONS: dict[str, frozenset[str]] = {
    short: frozenset(words.split())
    for short, words in {
        "hwy": "highway highways", "cty": "city", "qty": "quantity", "amt": "amount", "pct": "percent percentage",
        "yr": "year years", "mo": "month", "wk": "week", "num": "number", "avg": "average", "tmp": "temperature",
        "dept": "department", "st": "street", "pos": "position", "pts": "points", "dob": "birth",
    }.items()
}
"""Field words that are usual abbreviations, with the words they stand for."""

_VOWELS = frozenset("aeiou")
_ENDINGS = frozenset({"s", "es", "d", "ed", "ing", "er", "ers", "est", "ly", "y", "ies", "ied"})
"""Endings of a word's own forms ("ordered", "lowest"): a word so ended is the field word itself, not cut short."""


@lru_cache(maxsize=4096)
def abbreviates(word: str, field_word: str) -> bool:
    """Whether ``field_word`` (a word of a field's name) is ``word`` written short: cut ("temp" of
    "temperature": at least four letters, or three and half the word), written without its vowels ("cty" of
    "city": the word's other letters, in order, all of them), or a usual abbreviation ("hwy" of "highway")."""
    word, field_word = word.lower(), field_word.lower()
    if word in ABBREVIATIONS.get(field_word, ()):
        return True
    if len(field_word) < 3 or len(word) <= len(field_word) or not (word.isalpha() and field_word.isalpha()):
        return False
    if word.startswith(field_word):
        if word[len(field_word):] in _ENDINGS:
            return False  # "ordered" is no abbreviation of "order", nor "lowest" of "low"
        return len(field_word) >= 4 or 2 * len(field_word) >= len(word)
    return not (_VOWELS & set(field_word)) and "".join(ch for ch in word if ch not in _VOWELS) == field_word
