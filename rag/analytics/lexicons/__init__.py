"""The planner's words per language: which language a question is in, and how it reads in the planner's words.

The rules planner reads its own words ("how many", "average", "per", "more than", "the heaviest"). A question in
another language is first put into them through that language's lexicon (``rag.analytics.lexicons.fr``): phrases
mapped, elisions and contractions opened, numbers written the planner's way ("3,5" -> 3.5, "1 000" -> 1000),
adjectives moved before their noun, places named through Babel's territory names. Names the lexicon does not know
(a car, a district, a quoted text) are kept as written, so the planner still meets them in the data.

``read_question(question)`` -> ``QuestionReading``: the language, the text the planner reads, and which written
words each planner word came from (for the read line). Adding a language means adding a lexicon module and its
question corpus, and naming it in ``LEXICONS``.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, replace
from types import ModuleType

from rag.analytics.lexicons import fr
from rag.analytics.words import FUNCTION_WORDS as ENGLISH_FUNCTION_WORDS

LEXICONS: dict[str, ModuleType] = {fr.CODE: fr}
"""Lexicons of the languages read besides English (the planner's own)."""
ENGLISH = "en"

_TOKEN = re.compile(
    r"(?P<quote>[\"“«‘]\s*[^\"”»’]{1,80}?\s*[\"”»’](?!\w)|(?<!\w)'[^']{1,80}'(?!\w))"
    r"|(?P<number>(?<!\w)-?\d{1,3}(?:[\u00a0\u202f ]\d{3})+(?:,\d+)?(?![\d,])|(?<!\w)-?\d+,\d+(?![\d,])|(?<![\w-])-?\d+(?:\.\d+)?|\d+)"
    r"|(?P<word>[^\W_]+)|(?P<mark>['’])|(?P<hyphen>-)|(?P<other>[^\w\s])",
    re.UNICODE,
)
_ENGLISH_GRAMMAR = frozenset(ENGLISH_FUNCTION_WORDS | {
    "how", "many", "what", "which", "who", "more", "less", "than", "least", "most", "at", "per", "each", "between",
    "before", "after", "since", "during", "top", "bottom", "first", "last", "give", "show", "list", "find", "tell",
    "not", "whose", "its", "their", "number", "has", "have", "is", "are", "was", "were", "that",
})


@dataclass(frozen=True)
class QuestionReading:
    """A question in the planner's words."""

    language: str
    """"en" or a lexicon's code ("fr")."""
    text: str
    """What the planner reads (the question itself for English)."""
    units: tuple[tuple[str, str], ...] = ()
    """(words as written, planner words) in the planner's order; empty for English."""

    @property
    def translated(self) -> bool:
        return self.language != ENGLISH


@dataclass
class _Unit:
    written: str
    output: str
    kind: str = "word"
    moved: bool = False
    """"word" (from the lexicon), "name" (kept as written), "place", "superlative", "number", "quote"."""


def fold(word: str) -> str:
    """Lower case without accents ("Été" -> "ete"), "à" and "où" kept (they differ from "a" and "ou")."""
    lower = word.lower()
    if lower in ("à", "où"):
        return lower
    return "".join(c for c in unicodedata.normalize("NFKD", lower) if not unicodedata.combining(c))


def detect_language(question: str) -> str:
    """The language ``question`` is written in: a lexicon's code when more of its words are that language's
    grammar than English grammar, else "en"."""
    words = [fold(w) for w in re.findall(r"[^\W\d_]+", question)]
    english = sum(1 for w in words if w in ENGLISH_FUNCTION_WORDS)
    best, best_score = ENGLISH, english
    for code, lexicon in LEXICONS.items():
        score = sum(1 for w in words if w in lexicon.FUNCTION_WORDS and w not in ENGLISH_FUNCTION_WORDS)
        if score > best_score:
            best, best_score = code, score
    return best


def read_question(question: str, language: str | None = None) -> QuestionReading:
    """``question`` in the planner's words (unchanged when it is English)."""
    language = language or detect_language(question)
    lexicon = LEXICONS.get(language)
    if lexicon is None:
        return QuestionReading(ENGLISH, question)
    units = _reorder(_units(question, lexicon), lexicon)
    text = " ".join(u.output for u in units if u.output)
    text = re.sub(r"\s+([?!.,;:%])", r"\1", text)
    return QuestionReading(language, text, tuple((u.written, u.output) for u in units))


def written_for(reading: QuestionReading, planner_words: str) -> str | None:
    """The words the question wrote for ``planner_words`` ("pourboires" for "tips"), or None when none did (or
    the question is English)."""
    wanted = planner_words.lower()
    for written, output in reading.units:
        if output.lower() == wanted and written:
            return written
    for written, output in reading.units:  # a word of a phrase: "life" of "life expectancy" ("espérance de vie")
        if written and wanted in output.lower().split():
            return written
    return None


def polished(text: str, language: str) -> str:
    """``text``, put together from a language's templates, written as the language writes it (French elides "de"
    before a vowel: "nombre d'enregistrements")."""
    lexicon = LEXICONS.get(language)
    polish = getattr(lexicon, "polish", None)
    return polish(text) if polish is not None else text


# ------------------------------------------------------------------------------------------ reading
def _pieces(question: str, lexicon: ModuleType) -> list[tuple[str, str, bool]]:
    """(written, kind, glued to the previous piece by a hyphen) for each piece of ``question``; elisions and
    contractions opened, hyphenated pronouns ("a-t-il", "donne-moi") split off."""
    pieces: list[tuple[str, str, bool]] = []
    glue = False
    for match in _TOKEN.finditer(question):
        kind = match.lastgroup or "other"
        text = match.group(0)
        if kind == "hyphen":
            glue = bool(pieces) and pieces[-1][1] in ("word", "number")
            continue
        if kind == "mark":
            if pieces and pieces[-1][1] == "word" and fold(pieces[-1][0]) in lexicon.ELISIONS:
                written = pieces[-1][0]
                pieces[-1] = (written, "elided", pieces[-1][2])
            glue = False
            continue
        if kind == "word" and glue and fold(text) in lexicon.INVERSION_SUFFIXES:
            glue = False  # "a-t-il", "est-ce", "donne-moi": separate words
        pieces.append((text, kind, glue and kind in ("word", "number")))
        glue = False
    opened: list[tuple[str, str, bool]] = []
    for text, kind, glued in pieces:
        folded = fold(text)
        if kind == "word" and not glued and folded in lexicon.CONTRACTIONS:
            first, second = lexicon.CONTRACTIONS[folded]
            opened += [(text + "\x00" + first, "word", False), ("\x00" + second, "word", False)]
        elif kind == "elided":
            opened.append((text + "'\x00" + lexicon.ELISIONS[folded], "word", glued))
        else:
            opened.append((text, kind, glued))
    return opened


def _key(written: str) -> str:
    """The folded word a piece is looked up by (after an opened elision or contraction, its full form)."""
    return fold(written.split("\x00")[-1]) if "\x00" in written else fold(written)


def _shown(written: str) -> str:
    """The piece as the user wrote it ("" for the article opened out of "du")."""
    return written.split("\x00")[0]


def _units(question: str, lexicon: ModuleType) -> list[_Unit]:
    pieces = _pieces(question, lexicon)
    keys = [_key(text) if kind == "word" else _number(text) if kind == "number" else "" for text, kind, _ in pieces]
    places = _places(lexicon.CODE)
    units: list[_Unit] = []
    i = 0
    while i < len(pieces):
        text, kind, glued = pieces[i]
        if kind == "quote":  # « stan », “burg”: as the planner reads a quoted text
            units.append(_Unit(text, "'" + text[1:-1].strip() + "'", "quote"))
            i += 1
            continue
        if kind == "number":
            units.append(_Unit(text, _number(text), "number"))
            i += 1
            continue
        if kind == "other":
            units.append(_Unit(text, text if text in "?%" else "", "mark"))
            i += 1
            continue
        found = _longest(keys, pieces, i, lexicon, places)
        if found is None:  # a name, a value or a field as written: kept, hyphens and all
            end = i + 1
            while end < len(pieces) and pieces[end][2] and keys[end] not in ("",):
                end += 1
            written = "-".join(_shown(p[0]) for p in pieces[i:end])
            units.append(_Unit(written, written, "name"))
            i = end
            continue
        end, output, unit_kind = found
        if keys[i] == "qui" and end == i + 1 and any(u.output for u in units):
            output = "that"  # "les voitures qui font…": a relative pronoun, not "who" as a question
        written = " ".join(_shown(p[0]) for p in pieces[i:end] if _shown(p[0]))
        if unit_kind == "word" and keys[i] in lexicon.INVARIANT_PLURALS and end == i + 1:
            singular, plural = lexicon.INVARIANT_PLURALS[keys[i]]
            before = keys[i - 1] if i else ""
            many = before in lexicon.PLURAL_AFTER or _phrases(lexicon).get(before, "").isdigit() \
                or (i > 0 and pieces[i - 1][1] == "number" and pieces[i - 1][0] != "1")
            output = plural if many else singular
        units.append(_Unit(written, output, unit_kind))
        i = end
    return units


def _longest(keys: list[str], pieces: list[tuple[str, str, bool]], i: int, lexicon: ModuleType,
             places: dict[tuple[str, ...], str]) -> tuple[int, str, str] | None:
    """(end, planner words, kind) of the longest phrase, place or superlative starting at piece ``i``."""
    for n in range(min(6, len(keys) - i), 0, -1):
        words = keys[i : i + n]
        if "" in words:
            continue
        joined = " ".join(words)
        if tuple(words) in places:
            return i + n, places[tuple(words)], "place"
        superlative = _superlative(words, lexicon)
        if superlative is not None:
            return i + n, superlative, "superlative"
        top = _top(words, pieces[i : i + n], lexicon)
        if top is not None:
            return i + n, top, "word"
        if n == 1 and _shown(pieces[i][0]).lower() in lexicon.ACCENTED:
            return i + 1, lexicon.ACCENTED[_shown(pieces[i][0]).lower()], "word"
        phrases = _phrases(lexicon)
        if joined in phrases:
            return i + n, phrases[joined], "word"
    return None


@functools.lru_cache(maxsize=4)
def _phrases_of(code: str) -> dict[str, str]:
    lexicon = LEXICONS[code]
    opened: dict[str, str] = {}
    for phrase, words in lexicon.PHRASES.items():
        parts: list[str] = []
        for k, word in enumerate(phrase.split()):
            if word in lexicon.CONTRACTIONS and len(phrase.split()) > 1:
                parts += lexicon.CONTRACTIONS[word]
            elif word in ("qu", "d", "l", "s", "n") and k < len(phrase.split()) - 1:
                parts.append(lexicon.ELISIONS[word])
            else:
                parts.append(word)
        opened.setdefault(" ".join(parts), words)
    return opened


def _phrases(lexicon: ModuleType) -> dict[str, str]:
    """The lexicon's phrases keyed as questions are read: contractions and elisions opened."""
    return _phrases_of(lexicon.CODE)


def _superlative(words: list[str], lexicon: ModuleType) -> str | None:
    """ "le plus lourd" -> "the heaviest", "la moins chère" -> "the cheapest", "plus grande" -> "largest"."""
    article = words[0] in ("le", "la", "les")
    rest = words[1:] if article else words
    if len(rest) != 2 or rest[0] not in ("plus", "moins"):
        return None
    adjective = rest[1]
    forms = lexicon.SUPERLATIVES.get(adjective) or lexicon.SUPERLATIVES.get(adjective[:-1]) \
        if adjective.endswith(("s", "x")) else lexicon.SUPERLATIVES.get(adjective)
    if forms is None:
        return None
    word = forms[0] if rest[0] == "plus" else forms[1]
    return f"the {word}" if article else word


def _top(words: list[str], pieces: list[tuple[str, str, bool]], lexicon: ModuleType) -> str | None:
    """ "les 5 premiers" -> "the top 5", "les trois derniers" -> "the bottom 3"."""
    if len(words) == 3 and words[0] == "les":
        words, pieces = words[1:], pieces[1:]
    if len(words) != 2:
        return None
    number = words[0] if words[0].isdigit() else _phrases(lexicon).get(words[0], "")
    if not number.isdigit():
        return None
    if words[1] in ("premiers", "premieres", "meilleurs", "meilleures"):
        return f"the top {number}"
    if words[1] in ("derniers", "dernieres", "pires"):
        return f"the bottom {number}"
    return None


def _number(text: str) -> str:
    """ "3,5" -> "3.5", "1 000" -> "1000"."""
    cleaned = re.sub(r"[\u00a0\u202f ]", "", text)
    return cleaned.replace(",", ".")


@functools.lru_cache(maxsize=4)
def _places(code: str) -> dict[tuple[str, ...], str]:
    """Folded words of each territory's name in the language -> its English name (Babel's CLDR data)."""
    from babel import Locale

    lexicon = LEXICONS[code]
    local, english = Locale.parse(code).territories, Locale.parse("en").territories
    places: dict[tuple[str, ...], str] = {}
    for key, name in local.items():
        target = english.get(key)
        if not target or not key.isalpha():
            if not target or key not in ("002", "142", "150", "019", "009", "021", "005", "013"):
                continue
        words = tuple(lexicon.ELISIONS.get(w, w) if len(w) <= 2 and k < len(name) else w
                      for k, w in enumerate(fold(w) for w in re.findall(r"[^\W_]+", name)))
        if words and words != tuple(fold(w) for w in re.findall(r"[^\W_]+", target)):
            places[words] = target
    return places


def _reorder(units: list[_Unit], lexicon: ModuleType) -> list[_Unit]:
    """Adjectives French writes after their noun put before it; "the" dropped before a place."""
    ordered: list[_Unit] = []
    for unit in units:
        if unit.kind == "place" and ordered and ordered[-1].output == "the":
            ordered[-1] = _Unit(ordered[-1].written, "")  # "le Japon" -> "Japan" (its word stays in the read line)
        if unit.kind == "place":  # "les voitures des États-Unis": from there
            spoken = [u for u in ordered if u.output]
            if spoken and spoken[-1].output == "of":
                spoken[-1].output = "from"
        if unit.kind == "word" and unit.output in lexicon.POSTNOMINAL and _noun_before(ordered):
            at = len(ordered) - 1
            while at > 0 and ordered[at - 1].moved:  # "température maximale moyenne": average maximum temperature
                at -= 1
            ordered.insert(at, replace(unit, moved=True))
            continue
        if unit.kind == "superlative" and unit.output.startswith("the ") and _noun_before(ordered):
            noun = ordered.pop()
            moved = _Unit(unit.written, unit.output[len("the "):], "superlative")
            ordered += [moved, noun]
            continue
        ordered.append(unit)
    return ordered


def _noun_before(ordered: list[_Unit]) -> bool:
    """Whether the last unit is a noun an adjective can stand before (not grammar, a number or a mark)."""
    if not ordered:
        return False
    last = ordered[-1]
    if last.kind not in ("word", "name") or not last.output:
        return False
    first = last.output.split()[0].lower()
    return first not in _ENGLISH_GRAMMAR and not first[0].isdigit()
