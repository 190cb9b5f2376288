"""Answers checked against their sources: every value a text states, found (or not) in what the model was given.

``check_grounding(text, question=..., computed=..., records=...)`` reads the values an answer states and looks
each one up in the sources the model was given: the computed result (its value, rows, sentences and counts) and
the records (their flat fields). Each value gets a verdict:

``grounded``
    found in the computed result, or in a record (for a lookup: in the record and the field asked about);
``wrong_record``
    a lookup's value found only in another record (the small model copies a neighbour's value);
``wrong_field``
    a lookup's value found only in another field of the record asked about (``NO``, its alpha_2, for its alpha_3);
``not_in_sources``
    found nowhere (invented, or worked out from the sources: a mean the text computed itself is not exact).

What is read (``extract_values``)
    numbers (``4,354``, ``4354.0``, ``-3.5``, ``19.5%``, ``19.5 percent``, ``1.5k``, ``1.88 million``), codes
    (all-caps or letters-and-digits tokens: ``NOR``, ``FR-75``, ``ORD-10043``), dates (``1970-01-01``,
    ``January 1, 1970``, ``1 January 1970``, ``January 1970``, ``01/01/1970``) and quoted names (``'…'``, ``"…"``,
    ``“…”``, ``‘…’``). Not read: citations (``[1]``, ``[2][3]``), record ids (``$[6]``), list ordinals (``1.`` at a
    line's start), "record 3" where 3 is a record's label, single letters and field names (``alpha_3``).
How a value is matched
    Numbers as floats, within the rounding the text shows (``105.1`` is 105.0825; ``4,354`` is 4354.0; ``1.88
    million`` is 1,875,000 to 1,885,000; ``19.5%`` is 19.5 or a share of 0.195; ``400.000`` is also 400000); a
    plain four-digit number is also a date's year. Codes and names casefolded and without accents, as whole
    values or as the codes inside a value; a quoted name also as words inside a value. Dates by day, or by month
    when the text gives only the month.
Not marked (``skipped``), unless grounded anyway
    values the question itself states ("cars with 8 cylinders: 103" marks 103, not 8), the count of records
    given, a number inside a record's name ("ford galaxie 500"), and common all-caps words (``JSON``, ``NOTE``).
Lookups
    The target (which records, which fields) comes from a ``records`` result's spec (its records, the fields asked
    that no filter uses, the filter and label fields naming the records), from the caller (``target_record_id``,
    ``target_fields``), or, when nothing was computed, from the question: the records one of whose values it
    names, the fields whose words it uses (not when it compares: "heavier than the impala"). A value the text
    gives to another record is grounded when that record holds it and the text names it nearer than the record
    asked about ("Sweden's code is SWE", a record written out under its name). Else a value in a target record
    but another field is ``wrong_field``, unless that field holds another kind of value (a date beside a weight)
    or the text names that field nearer than the one asked ("it has 8 cylinders"); a value only in other records
    is ``wrong_record``. A true value of another field that the text does not name ("its codes are DE and DEU"
    for an official name) is marked too: the check cannot tell it from a copied one.

The index of the sources (``SourceIndex``) is built once per answer (about 1 ms for 10 records of 30 fields) and
checks a 512-token answer in about 2 ms more on an idle core (``bench/bench_grounding.py``). ``Grounding.to_dict``
is the form kept in the answer's metadata; ``segments``, ``marked_markdown`` and ``marked_html`` mark the values
for the page and the exports.
"""

from __future__ import annotations

import html
import json
import math
import re
import time
import unicodedata
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Iterable, Iterator, Mapping, Sequence

from rag.analytics.words import FUNCTION_WORDS, field_words, stem

GROUNDED = "grounded"
WRONG_RECORD = "wrong_record"
WRONG_FIELD = "wrong_field"
NOT_IN_SOURCES = "not_in_sources"
VERDICTS = (GROUNDED, WRONG_RECORD, WRONG_FIELD, NOT_IN_SOURCES)

COMPUTED = "computed"
RECORD = "record"

LONG_TEXT_WORDS = 8
"""A quoted name may be words of a value this long (a note, a description); of a shorter value (a name), only the
whole value: "Republic of Germany" is not the official name "Federal Republic of Germany"."""
META_VERSION = 1
"""Version of ``Grounding.to_dict``'s form."""
NOTICE_LISTED = 5
"""Values named in the notice (the count says how many there are)."""

STOP_CODES = frozenset(
    "OK ID IDS JSON JSONL CSV SQL API URL HTTP HTTPS HTML PDF NOTE NB PS FAQ TBD AKA AND OR NOT THE ISO UTC GMT "
    "AM PM AD BC YES NULL NONE TRUE FALSE NAN NA N/A TL DR TL;DR AI LLM RAG UI IMPORTANT ANSWER QUESTION".split()
)
"""All-caps words that are not data codes; skipped when the sources do not hold them."""

_NAME_FIELD_WORDS = frozenset({"name", "title", "label"})
"""Last words of the fields that name a record when no spec says which do."""
_COMPARING_WORDS = frozenset({"than", "compare", "compared", "versus", "vs", "other", "others", "similar", "like"})
"""Words of a question that is not a lookup of the records it names ("cars heavier than the impala")."""
_SYNONYMS = {"pounds": "lbs", "pound": "lbs", "lb": "lbs", "hp": "horsepower", "mileage": "miles"}
"""Words answers use for field words."""


# --- results --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Location:
    """Where a stated value was found."""

    source: str
    """``"computed"`` (the computed result) or ``"record"`` (a record given to the model)."""
    record_id: str | None = None
    """The record's id; for a computed row, the record it stands for (None for an aggregate)."""
    field: str | None = None
    """The record's flat field path, or the computed part: ``value``, ``fact``, ``summary``, a column's name."""


@dataclass(frozen=True)
class StatedValue:
    """One value the text states, and what the check found."""

    start: int
    """Offset of the value in the text (``text[start:end]`` is ``text``)."""
    end: int
    text: str
    """As written (a quoted name without its quotes, a percentage with its ``%``)."""
    kind: str
    """``"number"``, ``"date"``, ``"code"`` or ``"name"`` (a quoted name)."""
    verdict: str
    """``grounded``, ``wrong_record``, ``wrong_field`` or ``not_in_sources``."""
    found: tuple[Location, ...] = ()
    """Where it was found: for ``grounded``, where it is right (the computed result first); for ``wrong_record`` and
    ``wrong_field``, the other records or fields that hold it; empty for ``not_in_sources``."""

    @property
    def marked(self) -> bool:
        """Whether the page should mark it (every verdict but ``grounded``)."""
        return self.verdict != GROUNDED

    @property
    def reason(self) -> str:
        """ "not in the sources", "from another record", "from another field, alpha_2" ("" when grounded)."""
        if self.verdict == NOT_IN_SOURCES:
            return "not in the sources"
        if self.verdict == WRONG_RECORD:
            return "from another record"
        if self.verdict == WRONG_FIELD:
            fields = list(dict.fromkeys(loc.field for loc in self.found if loc.field))
            return f"from another field, {', '.join(fields)}" if fields else "from another field"
        return ""


@dataclass(frozen=True)
class Skipped:
    """A value read in the text but not checked."""

    start: int
    end: int
    text: str
    reason: str
    """``question`` (the question states it), ``record count``, ``name`` (inside a record's name), ``field name``,
    ``word`` (an all-caps word such as JSON), ``record label`` ("record 3")."""


@dataclass(frozen=True)
class Grounding:
    """The check of one answer: every value it states, in the order of the text."""

    values: tuple[StatedValue, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    elapsed_ms: float = 0.0
    """Time the check took (building the index included, when ``check_grounding`` built it)."""

    @property
    def marked(self) -> tuple[StatedValue, ...]:
        """The values to mark, in the order of the text."""
        return tuple(value for value in self.values if value.marked)

    @property
    def notice(self) -> str:
        """One line for the page: "2 values in this answer are not in the sources: 1.88 million, 400.000." ("" when
        nothing is marked)."""
        marked = self.marked
        if not marked:
            return ""
        count = len(marked)
        head = f"{count} value{'s' if count > 1 else ''} in this answer"
        more = ", …" if count > NOTICE_LISTED else ""
        verdicts = {value.verdict for value in marked}
        if len(verdicts) == 1:
            listed = ", ".join(value.text for value in marked[:NOTICE_LISTED])
            are = "are" if count > 1 else "is"
            what = {NOT_IN_SOURCES: "not in the sources", WRONG_RECORD: "from another record than the one asked about",
                    WRONG_FIELD: "from another field than the one asked about"}[marked[0].verdict]
            return f"{head} {are} {what}: {listed}{more}."
        listed = ", ".join(f"{value.text} ({value.reason})" for value in marked[:NOTICE_LISTED])
        return f"{head} {'do' if count > 1 else 'does'} not match the sources: {listed}{more}."

    def to_dict(self) -> dict[str, Any]:
        """The JSON-safe form kept in the answer's metadata (``meta["grounding"]``): counts, the notice, and the
        values as parallel lists of plain values (``start``, ``end``, ``text``, ``kind``, ``verdict``; ``found``
        and ``skipped`` as one JSON string per item), so that it passes ``dashboard.chat_view.json_safe_meta``,
        which keeps lists of plain values only."""
        values = self.values
        return {
            "version": META_VERSION,
            "notice": self.notice,
            "marked": len(self.marked),
            "checked": len(values),
            "elapsed_ms": round(self.elapsed_ms, 3),
            "start": [v.start for v in values],
            "end": [v.end for v in values],
            "text": [v.text for v in values],
            "kind": [v.kind for v in values],
            "verdict": [v.verdict for v in values],
            "found": [json.dumps([[loc.source, loc.record_id, loc.field] for loc in v.found], ensure_ascii=False)
                      for v in values],
            "skipped": [json.dumps([item.start, item.end, item.text, item.reason], ensure_ascii=False)
                        for item in self.skipped],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Grounding:
        """``to_dict``'s form back (an empty check for None, another version or a malformed dict)."""
        if not isinstance(data, Mapping) or data.get("version") != META_VERSION:
            return cls()
        try:
            columns = [data[key] for key in ("start", "end", "text", "kind", "verdict", "found")]
            values = tuple(
                StatedValue(int(start), int(end), str(text), str(kind), str(verdict),
                            tuple(Location(*where) for where in json.loads(found)))
                for start, end, text, kind, verdict, found in zip(*columns, strict=True)
            )
            skipped = tuple(Skipped(int(a), int(b), str(text), str(reason))
                            for a, b, text, reason in (json.loads(item) for item in data.get("skipped") or ()))
        except (KeyError, TypeError, ValueError):
            return cls()
        return cls(values, skipped, float(data.get("elapsed_ms") or 0.0))


@dataclass(frozen=True)
class Target:
    """What a lookup asks: which records, which fields."""

    record_ids: frozenset[str] | None
    """The records asked about (None: any record)."""
    fields: tuple[str, ...] = ()
    """The fields asked (empty: any field of those records, as for a listing)."""
    naming_fields: tuple[str, ...] = ()
    """Fields that name the records (a filter's, the label): their values are never wrong, and a sentence naming a
    record by one of them attributes the values near it to that record."""


@dataclass(frozen=True)
class Segment:
    """A piece of the text for display."""

    text: str
    marked: bool = False
    reason: str = ""
    """Why it is marked ("not in the sources", "from another record", "from another field, alpha_2")."""


# --- reading values -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExtractedValue:
    """A value read in a text, before it is checked."""

    text: str
    start: int
    end: int
    kind: str
    """``"number"``, ``"date"``, ``"code"`` or ``"name"``."""
    number: float | None = None
    """A number's value (``1.5k`` -> 1500; ``19.5%`` -> 19.5 with ``percent``)."""
    tolerance: float = 0.0
    """Half the last digit's unit: the rounding the text shows."""
    percent: bool = False
    keys: tuple[str, ...] = ()
    """A date's keys (``1970-01-01``, or ``1970-01`` for a month; both readings of ``01/02/1970``); the folded
    text of a code or name."""
    alternatives: tuple[tuple[float, float], ...] = ()
    """Other readings of a number, with their tolerance (``400.000`` as 400000)."""
    year: bool = False
    """A plain four-digit number, which may be a date's year."""
    parts: tuple[ExtractedValue, ...] = ()
    """The numbers of a digits-and-hyphens token (``3166-1``, ``1970-1982``), checked when the whole is not found."""


_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11,
    "dec": 12,
}
_MONTH = (r"(?:[Jj]an(?:uary)?|[Ff]eb(?:ruary)?|[Mm]ar(?:ch)?|[Aa]pr(?:il)?|[Mm]ay|[Jj]une?|[Jj]uly?|[Aa]ug(?:ust)?"
          r"|[Ss]ep(?:t(?:ember)?)?|[Oo]ct(?:ober)?|[Nn]ov(?:ember)?|[Dd]ec(?:ember)?)")
_SCALES = {"k": 1e3, "K": 1e3, "thousand": 1e3, "M": 1e6, "million": 1e6, "bn": 1e9, "billion": 1e9}

_VALUE_RE = re.compile(
    r"""
    (?P<cite>\[\s*\d{1,3}(?:\s*[,;]\s*\d{1,3})*\s*\])
    |(?P<path>\$(?:\[[^\]\n]{0,60}\]|\.\w+)+)
    |(?P<ordinal>^[ \t]*(?:[-*+][ \t]+)?\d{1,3}[.)](?=[ \t]))
    |(?P<ref>\b(?:[Rr]ecords?|[Ss]ources?)[ \t]+\#?(?P<refnum>\d{1,3})\b)
    |(?<!\w)"(?P<q1>[^"\n]{1,120})"(?!\w)
    |“(?P<q2>[^”\n]{1,120})”
    |(?<!\w)‘(?P<q3>[^’\n]{1,120})’(?!\w)
    |(?<!\w)'(?P<q4>[^'\n]{1,120})'(?!\w)
    |«\s?(?P<q5>[^»\n]{1,120}?)\s?»
    |(?P<iso>(?<![\w-])(?P<iy>\d{4})-(?P<im>\d{2})-(?P<id>\d{2})
        (?:[T\ ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?(?![\w-]))
    |(?P<mdy>(?<!\w)(?P<m1>MONTH)\.?[ \t]+(?P<d1>\d{1,2})(?:st|nd|rd|th)?,?[ \t]+(?P<y1>\d{4})(?!\d))
    |(?P<dmy>(?<![\w.])(?P<d2>\d{1,2})(?:st|nd|rd|th)?[ \t]+(?:of[ \t]+)?(?P<m2>MONTH)\.?,?[ \t]+(?P<y2>\d{4})(?!\d))
    |(?P<my>(?<!\w)(?P<m3>MONTH)\.?,?[ \t]+(?P<y3>\d{4})(?![\d-]))
    |(?P<slash>(?<![\w/])(?P<sa>\d{1,2})/(?P<sb>\d{1,2})/(?P<sy>\d{4})(?![\w/]))
    |(?P<code>(?<![\w-])(?=[A-Z0-9]*[A-Z])[A-Z0-9]+(?:[-_/.][A-Z0-9]+)*(?![\w-]))
    |(?P<numcode>(?<![\w.-])\d+(?:-\d+)+(?![\w-]))
    |(?P<num>(?:(?<![\w.,])(?P<sign>[-−])|(?<![\w.,])(?<![^\W\d][-−]))
        (?P<digits>(?:\d{1,3}(?:[\u00a0\u202f\u2009]\d{3})+|\d+),\d+(?![\d.,])|\d{1,3}(?:,\d{3})+(?:\.\d+)?
            |\d{1,3}(?:[\u00a0\u202f\u2009]\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?!\d)
        (?![.,]\d)(?!(?:st|nd|rd|th|s)\b)
        (?P<suffix>[ \t]?%|[ \t](?:percent|per[ \t]cent)\b|(?:k|K|M|bn)\b|[ \t](?:thousand|million|billion)\b)?)
    """.replace("MONTH", _MONTH),
    re.VERBOSE | re.MULTILINE,
)
_LOOSE_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_WORD = re.compile(r"[^\W_]+")
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n")
_EUROPEAN = re.compile(r"\d{1,3}(?:\.\d{3})+")
_DECIMAL_COMMA = re.compile(r"(?:\d{1,3}(?:[\u00a0\u202f\u2009]\d{3})+|\d+),\d+")
"""A number written the French way, with a decimal comma: its comma is read as a decimal point first."""
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]|\Z)")
_MAY_HOLD_VALUES = re.compile(r"\d|[A-Z]{2}")
"""A string without a digit or two capitals in a row holds no number, date or code to read."""


def extract_values(text: str) -> list[ExtractedValue]:
    """The numbers, codes, dates and quoted names ``text`` states, in order (citations, record ids and list
    ordinals left out; "record 3" read as a number, which the check skips when 3 labels a record)."""
    return [item for item in _scan(text) if isinstance(item, ExtractedValue)]


def _scan(text: str) -> Iterable[ExtractedValue | Skipped]:
    for match in _VALUE_RE.finditer(text):
        group = match.lastgroup
        if group in ("cite", "path", "ordinal"):
            continue
        if group == "ref":
            yield Skipped(match.start("refnum"), match.end("refnum"), match.group("refnum"), "record label")
            continue
        for quote in ("q1", "q2", "q3", "q4", "q5"):
            if match.group(quote) is not None:
                value = _quoted(text, match.start(quote), match.end(quote))
                if value is not None:
                    yield value
                break
        else:
            value = _value(match)
            if value is not None:
                yield value


def _quoted(text: str, start: int, end: int) -> ExtractedValue | None:
    """A quoted name; the value itself when the quotes hold one number, date or code ('246')."""
    inner = text[start:end]
    stripped = inner.strip()
    if not stripped:
        return None
    start += len(inner) - len(inner.lstrip())
    end = start + len(stripped)
    match = _VALUE_RE.fullmatch(stripped)
    if match is not None and match.lastgroup not in ("cite", "path", "ordinal", "ref"):
        value = _value(match)
        if value is not None:
            return _shifted(value, start)
    return ExtractedValue(stripped, start, end, "name", keys=(fold(stripped),))


def _shifted(value: ExtractedValue, offset: int) -> ExtractedValue:
    parts = tuple(_shifted(part, offset) for part in value.parts)
    return ExtractedValue(value.text, value.start + offset, value.end + offset, value.kind, value.number,
                          value.tolerance, value.percent, value.keys, value.alternatives, value.year, parts)


def _value(match: re.Match[str]) -> ExtractedValue | None:
    group = match.lastgroup
    raw, start, end = match.group(0), match.start(), match.end()
    if group == "iso":
        key = _date_key(int(match["iy"]), int(match["im"]), int(match["id"]))
        return ExtractedValue(raw, start, end, "date", keys=(key,)) if key else None
    if group in ("mdy", "dmy", "my"):
        index = {"mdy": "1", "dmy": "2", "my": "3"}[group]
        month = _MONTHS[match["m" + index][:3].lower()]
        year = int(match["y" + index])
        if group == "my":
            return ExtractedValue(raw, start, end, "date", keys=(f"{year:04d}-{month:02d}",))
        key = _date_key(year, month, int(match["d" + index]))
        return ExtractedValue(raw, start, end, "date", keys=(key,)) if key else None
    if group == "slash":
        a, b, year = int(match["sa"]), int(match["sb"]), int(match["sy"])
        keys = tuple(dict.fromkeys(k for k in (_date_key(year, a, b), _date_key(year, b, a)) if k))
        return ExtractedValue(raw, start, end, "date", keys=keys) if keys else None
    if group == "code":
        if len(raw) < 2:
            return None
        return ExtractedValue(raw, start, end, "code", keys=(fold(raw),))
    if group == "numcode":
        parts = []
        offset = start
        for piece in raw.split("-"):
            parts.append(_number(piece, offset, "", "", piece))
            offset += len(piece) + 1
        return ExtractedValue(raw, start, end, "code", keys=(fold(raw),), parts=tuple(parts))
    if group == "num":
        return _number(match["digits"], start, match["sign"] or "", match["suffix"] or "", raw)
    return None


def _number(digits: str, start: int, sign: str, suffix: str, raw: str) -> ExtractedValue:
    grouped = digits.replace("\u00a0", "").replace("\u202f", "").replace("\u2009", "")
    if _DECIMAL_COMMA.fullmatch(digits):  # "2 221,23" or "6,28" (French); "4,354" may be either way
        french = _number(grouped.replace(",", "."), start, sign, suffix, raw)
        if not (len(grouped.partition(",")[2]) == 3 and grouped == digits):
            return replace(french, year=False)
        english = _number(grouped.replace(",", ""), start, sign, suffix, raw)
        return replace(english, alternatives=english.alternatives + ((french.number, french.tolerance),), year=False)
    plain = grouped.replace(",", "")
    number = float(plain)
    decimals = len(plain.partition(".")[2])
    word = suffix.strip().lower().replace(" ", "")
    percent = word in ("%", "percent")
    scale = _SCALES.get(suffix.strip(), 1.0)
    if sign:
        number = -number
    tolerance = 0.5 * 10.0 ** -decimals * scale
    alternatives: tuple[tuple[float, float], ...] = ()
    if _EUROPEAN.fullmatch(digits) and not suffix:  # "400.000" written with a dot for thousands
        alternatives = ((float(digits.replace(".", "")) * (-1 if sign else 1), 0.5),)
    year = not sign and not suffix and len(digits) == 4 and digits.isdigit()
    return ExtractedValue(raw, start, start + len(raw), "number", number * scale, tolerance, percent,
                          alternatives=alternatives, year=year)


def _date_key(year: int, month: int, day: int) -> str | None:
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


@lru_cache(maxsize=16384)
def fold(text: str) -> str:
    """Text as it is compared: without accents, casefolded, one space between words, plain quotes."""
    if not text.isascii():
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
        text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return " ".join(text.casefold().split())


def _lower_same_length(text: str) -> str:
    """``text`` lower-cased, each character to one character (so that offsets stay those of ``text``)."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


@lru_cache(maxsize=16384)
def _word_key(word: str) -> str:
    """A word as field words are compared: synonyms mapped, plurals folded, cut to five letters ("weighs" and
    "weight" meet)."""
    lowered = _SYNONYMS.get(word.lower(), word.lower())
    folded = stem(lowered)
    return folded[:5] if folded.isalpha() else folded


# --- the sources ----------------------------------------------------------------------------------------------


def lookup_target(computed: Mapping[str, Any] | None) -> Target | None:
    """The records and fields a ``records`` result answers (None for other results): its records, the fields it
    shows that no filter uses (none for a listing), and its filter and label fields as the fields naming them."""
    if not isinstance(computed, Mapping):
        return None
    spec = computed.get("spec")
    if not isinstance(spec, Mapping) or spec.get("aggregation") != "records":
        return None
    record_ids = [str(rid) for rid in computed.get("record_ids") or []]
    if not record_ids:
        return None
    filtered = [str(item.get("field")) for item in spec.get("filters") or [] if isinstance(item, Mapping)]
    shown = [str(path) for path in spec.get("fields") or []]
    columns = [str(column) for column in computed.get("columns") or []]
    label = [columns[1]] if len(columns) > 1 and columns[1] not in shown and columns[1] != spec.get("field") else []
    asked = tuple(path for path in shown if path not in filtered and path not in label)
    return Target(frozenset(record_ids), asked, tuple(dict.fromkeys(filtered + label)))


def _record_pairs(records: Iterable[Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """(id, flat fields) of each record given as a ``Hit``, a ``Record``, an (id, flat) pair, a ``{"record_id",
    "flat"}`` mapping or a source dict of the stream buffer (``{"record_id", "record": data, ...}``)."""
    pairs = []
    for item in records:
        if isinstance(item, tuple) and len(item) == 2:
            pairs.append((str(item[0]), item[1]))
        elif hasattr(item, "record") and hasattr(item, "record_id"):  # a retriever Hit
            pairs.append((str(item.record_id), item.record.flat))
        elif hasattr(item, "flat") and hasattr(item, "id"):  # a Record
            pairs.append((str(item.id), item.flat))
        elif isinstance(item, Mapping):  # {"record_id", "flat"}, or a source as the buffer keeps it (its "record")
            record_id = item.get("record_id", item.get("id"))
            flat = item.get("flat")
            if flat is None and "record" in item:
                from rag.loader import flatten_record

                flat = flatten_record(item["record"])
            pairs.append((str(record_id), flat or {}))
        else:
            raise TypeError(f"not a record: {item!r}")
    return pairs


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str) and _ISO_DATE.match(value.strip()):
        return "date"
    return "text"


class SourceIndex:
    """What the model was given, indexed for the values a text may state: built once, checks any text."""

    def __init__(self) -> None:
        self._numbers: dict[float, list[Location]] = {}
        self._number_keys: list[float] = []
        self._number_locations: list[list[Location]] = []
        self._years: dict[int, list[Location]] = {}
        self._dates: dict[str, list[Location]] = {}
        self._texts: dict[str, list[Location]] = {}
        self._strings: list[tuple[str, Location]] = []
        self._kinds: dict[tuple[str, str], str] = {}
        self._names_skipped: set[str] = set()
        self._question_numbers: list[float] = []
        self._question_words: set[str] = set()
        self._question_text = ""
        self._record_count = 0
        self.target: Target | None = None
        self._target_kinds: frozenset[str] = frozenset()
        self._field_keys: dict[str, frozenset[str]] = {}
        self._word_fields: dict[str, set[str]] = {}
        self._record_names: list[tuple[str, frozenset[str]]] = []

    # -- building --

    @classmethod
    def build(
        cls,
        *,
        question: str = "",
        computed: Mapping[str, Any] | None = None,
        records: Iterable[Any] = (),
        target_record_id: str | Sequence[str] | None = None,
        target_fields: Sequence[str] | None = None,
        infer_target: bool = True,
    ) -> SourceIndex:
        """The index of ``computed`` and ``records`` (``Hit``, ``Record``, ``{"record_id", "flat"}`` or (id, flat)).

        The lookup target is ``target_record_id``/``target_fields`` where given, else a ``records`` result's
        (``lookup_target``), else, with ``infer_target`` and nothing computed, the records and fields the
        question names."""
        index = cls()
        pairs = _record_pairs(records)
        index._record_count = len(pairs)
        index._read_question(question)
        if isinstance(computed, Mapping):
            index._add_computed(computed)
        for record_id, flat in pairs:
            for path, value in flat.items():
                index._kinds[(record_id, path)] = _kind_of(value)
                index._add(value, Location(RECORD, record_id, path))
        index._add_field_words(pairs)
        index.target = index._choose_target(question, computed, pairs, target_record_id, target_fields, infer_target)
        index._finish(pairs)
        return index

    def _read_question(self, question: str) -> None:
        self._question_text = fold(question)
        for match in _LOOSE_NUMBER.finditer(question):
            try:
                self._question_numbers.append(float(match.group(0).replace(",", "")))
            except ValueError:
                pass
        for value in extract_values(question):
            if value.number is not None:
                self._question_numbers.append(value.number)
        self._question_words = {fold(w) for w in _WORD.findall(question) if w.lower() not in FUNCTION_WORDS}

    def _add_computed(self, computed: Mapping[str, Any]) -> None:
        spec = computed.get("spec") if isinstance(computed.get("spec"), Mapping) else {}
        self._add(computed.get("value"), Location(COMPUTED, None, "value"))
        for part in ("fact", "summary"):
            if isinstance(computed.get(part), str):
                self._add_text(computed[part], Location(COMPUTED, None, part))
        for part in ("rows_considered", "matched_rows", "row_count"):
            self._add(computed.get(part), Location(COMPUTED, None, part))
        for item in spec.get("filters") or []:
            if isinstance(item, Mapping):
                self._add(item.get("value"), Location(COMPUTED, None, "filter"))
        columns = [str(c) for c in computed.get("columns") or []]
        aggregation = spec.get("aggregation")
        position = (1 if spec.get("group_by") else 0) if aggregation in ("argmax", "argmin", "records") else None
        for row in computed.get("rows") or []:
            if not isinstance(row, (list, tuple)):
                continue
            record_id = str(row[position]) if position is not None and position < len(row) else None
            for i, cell in enumerate(row):
                if i != position:
                    self._add(cell, Location(COMPUTED, record_id, columns[i] if i < len(columns) else None))

    def _add(self, value: Any, location: Location) -> None:
        if value is None or isinstance(value, bool):
            return
        if isinstance(value, (int, float)):
            if math.isfinite(value):
                self._numbers.setdefault(float(value), []).append(location)
            return
        if isinstance(value, str):
            folded = fold(value)
            if folded:
                self._texts.setdefault(folded, []).append(location)
                self._strings.append((folded, location))
                self._add_text(value, location)
            return
        if isinstance(value, (list, tuple)):
            for item in value:
                self._add(item, location)

    def _add_text(self, text: str, location: Location) -> None:
        """The values inside a text (a computed sentence, a record's string) as parts of ``location``."""
        if not _MAY_HOLD_VALUES.search(text):
            return
        for value in extract_values(text[:2000]):
            if value.kind == "number" and value.number is not None:
                self._numbers.setdefault(value.number, []).append(location)
                if value.percent:
                    self._numbers.setdefault(value.number / 100, []).append(location)
            elif value.kind == "date":
                for key in value.keys:
                    self._dates.setdefault(key, []).append(location)
                    self._dates.setdefault(key[:7], []).append(location)
                    self._years.setdefault(int(key[:4]), []).append(location)
            else:
                for key in value.keys:
                    self._texts.setdefault(key, []).append(location)
                for part in value.parts:
                    self._numbers.setdefault(part.number, []).append(location)

    def _add_field_words(self, pairs: list[tuple[str, Mapping[str, Any]]]) -> None:
        paths = dict.fromkeys(path for _, flat in pairs for path in flat)
        for path in paths:
            words = field_words(path)
            keys = {_word_key(w) for w in words if w not in FUNCTION_WORDS}
            if len(words) >= 3:
                keys.add("".join(w[0] for w in words))  # "mpg"
            self._field_keys[path] = frozenset(keys)
            for key in keys:
                self._word_fields.setdefault(key, set()).add(path)
            self._names_skipped.add(fold(path))
            self._names_skipped.update(fold(w) for w in path.replace("[", ".").replace("]", ".").split(".") if w)
        for record_id, _ in pairs:  # $["3166-1"][167]: the model reads "3166-1" in the record's heading
            for value in extract_values(re.sub(r"[$\[\]\"']", " ", record_id)):
                self._names_skipped.update(value.keys)

    def _choose_target(
        self,
        question: str,
        computed: Mapping[str, Any] | None,
        pairs: list[tuple[str, Mapping[str, Any]]],
        target_record_id: str | Sequence[str] | None,
        target_fields: Sequence[str] | None,
        infer: bool,
    ) -> Target | None:
        if target_record_id is not None or target_fields is not None:
            ids = ([target_record_id] if isinstance(target_record_id, str) else list(target_record_id or ())) or None
            naming = self._naming_fields(question, pairs, ids)
            return Target(frozenset(ids) if ids else None, tuple(target_fields or ()), naming)
        if computed is not None:
            return lookup_target(computed)
        return self._inferred_target(question, pairs) if infer else None

    def _naming_fields(self, question: str, pairs: list[tuple[str, Mapping[str, Any]]],
                       ids: Sequence[str] | None) -> tuple[str, ...]:
        """Fields that name records: those whose words are "name", "title", "label", and those of a target record
        whose value the question writes."""
        named = [path for path in self._field_keys if set(field_words(path)[-1:]) & _NAME_FIELD_WORDS]
        wanted = set(ids or ())
        for record_id, flat in pairs:
            if record_id in wanted:
                named += [path for path, value in flat.items() if _in_question(value, self._question_text)]
        return tuple(dict.fromkeys(named))

    def _inferred_target(self, question: str, pairs: list[tuple[str, Mapping[str, Any]]]) -> Target | None:
        """The records whose value the question writes ("norway", "ORD-10016") and the fields its words name, when
        that picks some of the records given (or the only one), and the question compares nothing."""
        if not pairs or any(w.lower() in _COMPARING_WORDS for w in _WORD.findall(question)):
            return None
        matched: dict[str, list[str]] = {}
        for record_id, flat in pairs:
            for path, value in flat.items():
                if _in_question(value, self._question_text):
                    matched.setdefault(record_id, []).append(path)
        if not matched or 1 < len(matched) == len(pairs):  # "which orders were delivered": every record, no lookup
            return None
        naming = tuple(dict.fromkeys(path for paths in matched.values() for path in paths))
        question_keys = {_word_key(w) for w in _WORD.findall(question) if w.lower() not in FUNCTION_WORDS}
        scores = {
            path: len(keys & question_keys)
            for path, keys in self._field_keys.items()
            if path not in naming and any(k.isalpha() for k in keys & question_keys)
        }
        best = max(scores.values(), default=0)
        fields = tuple(path for path, score in scores.items() if score == best) if best else ()
        return Target(frozenset(matched), fields, naming)

    def _finish(self, pairs: list[tuple[str, Mapping[str, Any]]]) -> None:
        self._number_keys = sorted(self._numbers)
        self._number_locations = [self._numbers[key] for key in self._number_keys]
        target = self.target
        if target is None:
            return
        if target.record_ids is not None and target.fields:
            self._target_kinds = frozenset(
                self._kinds[(rid, path)] for rid in target.record_ids for path in target.fields
                if (rid, path) in self._kinds
            )
        names: dict[str, set[str]] = {}
        for record_id, flat in pairs:
            for path in target.naming_fields:
                value = flat.get(path)
                if isinstance(value, str) and len(value.strip()) >= 3:
                    names.setdefault(_lower_same_length(" ".join(value.split())), set()).add(record_id)
        self._record_names = [(name, frozenset(ids)) for name, ids in names.items()]

    # -- looking up --

    def _find(self, value: ExtractedValue) -> list[Location]:
        found: list[Location] = []
        if value.kind == "number" and value.number is not None:
            readings = [(value.number, value.tolerance)]
            if value.percent:
                readings.append((value.number / 100, value.tolerance / 100))
            readings += list(value.alternatives)
            for number, tolerance in readings:
                slack = tolerance + 1e-9 * max(1.0, abs(number))
                low = bisect_left(self._number_keys, number - slack)
                high = bisect_right(self._number_keys, number + slack)
                for i in range(low, high):
                    found += self._number_locations[i]
            if value.year:
                found += self._years.get(int(value.number), [])
        elif value.kind == "date":
            for key in value.keys:
                found += self._dates.get(key, [])
        else:
            for key in value.keys:
                found += self._texts.get(key, [])
            if not found and value.kind == "name" and len(value.keys[0]) >= 3:  # a quote from a long text
                found = [loc for text, loc in self._strings
                         if text.count(" ") >= LONG_TEXT_WORDS - 1 and _has_words(text, value.keys[0])]
        return list(dict.fromkeys(found))

    def _in_question(self, value: ExtractedValue) -> bool:
        if value.number is not None:
            return any(abs(n - value.number) <= value.tolerance + 1e-9 * max(1.0, abs(n))
                       or (value.percent and abs(n - value.number / 100) <= value.tolerance / 100)
                       for n in self._question_numbers)
        if value.kind == "date":
            return False
        key = value.keys[0] if value.keys else ""
        return key in self._question_words or (value.kind == "name" and key in self._question_text)

    # -- checking --

    def check(self, text: str) -> Grounding:
        """Every value ``text`` states, with its verdict."""
        started = time.perf_counter()
        context = _Context(text, self)
        values: list[StatedValue] = []
        skipped: list[Skipped] = []
        for item in _scan(text):
            if isinstance(item, Skipped):
                if item.reason == "record label" and 1 <= int(item.text) <= max(self._record_count, 1):
                    skipped.append(item)
                else:
                    number = _number(item.text, item.start, "", "", item.text)
                    self._judge(number, context, values, skipped)
                continue
            self._judge(item, context, values, skipped)
        return Grounding(tuple(values), tuple(skipped), (time.perf_counter() - started) * 1000)

    def _judge(self, value: ExtractedValue, context: _Context, values: list[StatedValue],
               skipped: list[Skipped]) -> None:
        if value.kind in ("code", "name") and value.keys and value.keys[0] in self._names_skipped:
            skipped.append(Skipped(value.start, value.end, value.text, "field name"))
            return
        if self.target is not None and context.inside_a_name(value):
            skipped.append(Skipped(value.start, value.end, value.text, "name"))
            return
        found = self._find(value)
        if not found and value.parts:  # "1970-1982": each number
            for part in value.parts:
                self._judge(part, context, values, skipped)
            return
        verdict, where = self._verdict(value, found, context)
        if verdict != GROUNDED:
            reason = self._skip_reason(value)
            if reason:
                skipped.append(Skipped(value.start, value.end, value.text, reason))
                return
        values.append(StatedValue(value.start, value.end, value.text, value.kind, verdict, tuple(where)))

    def _skip_reason(self, value: ExtractedValue) -> str:
        if self._in_question(value):
            return "question"
        if (value.kind == "number" and not value.percent and self._record_count
                and value.number == self._record_count and value.tolerance <= 0.5):
            return "record count"
        if value.kind == "code" and value.text.upper() in STOP_CODES:
            return "word"
        return ""

    def _verdict(self, value: ExtractedValue, found: list[Location],
                 context: _Context) -> tuple[str, list[Location]]:
        if not found:
            return NOT_IN_SOURCES, []
        computed = [loc for loc in found if loc.source == COMPUTED]
        target = self.target
        if target is None:
            return GROUNDED, computed + [loc for loc in found if loc.source != COMPUTED]
        ids = target.record_ids

        def in_target(loc: Location) -> bool:
            return ids is None or loc.record_id in ids

        right = [
            loc for loc in found
            if loc.source == RECORD and in_target(loc)
            and (not target.fields or loc.field in target.fields or loc.field in target.naming_fields)
        ]
        if computed or right:
            return GROUNDED, computed + right
        if ids is not None:  # "Sweden's code is SWE": the text says whose value it is
            near = context.record_distances(value)
            asked = min((d for record_id, d in near.items() if record_id in ids), default=math.inf)
            attributed = [loc for loc in found
                          if not in_target(loc) and near.get(loc.record_id or "", math.inf) < asked]
            if attributed:
                return GROUNDED, attributed
        same_record = [loc for loc in found if in_target(loc)]
        if same_record:
            for loc in same_record:  # another kind of value (a date beside a weight) is not the value asked
                kind = self._kinds.get((loc.record_id or "", loc.field or ""))
                if self._target_kinds and kind not in self._target_kinds:
                    return GROUNDED, [loc]
            near = context.field_distances(value)  # "it has 8 cylinders": the text says which field it is
            asked = min((near.get(path, math.inf) for path in target.fields), default=math.inf)
            attributed = [loc for loc in same_record if near.get(loc.field or "", math.inf) < asked]
            return (GROUNDED, attributed) if attributed else (WRONG_FIELD, same_record)
        return WRONG_RECORD, found


def _in_question(value: Any, question: str) -> bool:
    """Whether the folded question writes ``value`` (a string of 3 characters or more) as whole words."""
    if not isinstance(value, str):
        return False
    folded = fold(value)
    return len(folded) >= 3 and not folded.isdigit() and _has_words(question, folded)


def _has_words(text: str, words: str) -> bool:
    """Whether ``words`` stands in ``text`` with no letter or digit joined to it."""
    return next(_word_starts(text, words), None) is not None


def _word_starts(text: str, words: str) -> Iterator[int]:
    """Where ``words`` stands in ``text`` with no letter or digit joined to it."""
    start = text.find(words)
    while start >= 0:
        end = start + len(words)
        if (start == 0 or not text[start - 1].isalnum()) and (end == len(text) or not text[end].isalnum()):
            yield start
        start = text.find(words, start + 1)


class _Context:
    """The sentences of a text, the fields its words name and the records its names name, read when needed."""

    def __init__(self, text: str, index: SourceIndex) -> None:
        self.text = text
        self.index = index
        self._sentences: list[int] | None = None
        self._paragraphs: list[int] | None = None
        self._anchors: list[tuple[int, int, frozenset[str]]] | None = None
        self._anchor_starts: list[int] = []
        self._mentions: list[tuple[int, int, frozenset[str]]] | None = None
        self._mention_starts: list[int] = []

    def _sentence(self, position: int) -> tuple[int, int]:
        if self._sentences is None:
            self._sentences = [m.end() for m in _SENTENCE_END.finditer(self.text)]
        i = bisect_right(self._sentences, position)
        start = self._sentences[i - 1] if i else 0
        end = self._sentences[i] if i < len(self._sentences) else len(self.text)
        return start, end

    def _read_anchors(self) -> list[tuple[int, int, frozenset[str]]]:
        """Each word that names fields, with the fields it names: of those, the ones with most of their words within
        two words of it ("alpha-2": alpha_2, not alpha_3)."""
        if self._anchors is None:
            word_fields, field_keys = self.index._word_fields, self.index._field_keys
            tokens = [(m.start(), m.end(), _word_key(m.group(0))) for m in _WORD.finditer(self.text)]
            keys = [key for _, _, key in tokens]
            self._anchors = []
            for i, (a, b, key) in enumerate(tokens):
                fields = word_fields.get(key)
                if not fields or not key.isalpha():
                    continue
                near = set(keys[max(0, i - 2):i + 3])
                scores = {path: len(field_keys[path] & near) for path in fields}
                top = max(scores.values())
                self._anchors.append((a, b, frozenset(path for path, score in scores.items() if score == top)))
            self._anchor_starts = [a for a, _, _ in self._anchors]
        return self._anchors

    def field_distances(self, value: ExtractedValue) -> dict[str, int]:
        """How far (in characters) from ``value`` its sentence names each field ("8 cylinders": Cylinders)."""
        anchors = self._read_anchors()
        start, end = self._sentence(value.start)
        distances: dict[str, int] = {}
        for a, b, fields in anchors[bisect_left(self._anchor_starts, start):bisect_left(self._anchor_starts, end)]:
            if b > end or (a < value.end and b > value.start):
                continue
            distance = value.start - b if b <= value.start else a - value.end
            for path in fields:
                if distance < distances.get(path, math.inf):
                    distances[path] = distance
        return distances

    def _record_mentions(self) -> list[tuple[int, int, frozenset[str]]]:
        """Where the text writes a record's name (a value of a naming field), in the order of the text."""
        if self._mentions is None:
            mentions = []
            lowered = _lower_same_length(self.text)
            for name, ids in self.index._record_names:
                mentions += [(start, start + len(name), ids) for start in _word_starts(lowered, name)]
            self._mentions = sorted(mentions, key=lambda mention: mention[0])
            self._mention_starts = [a for a, _, _ in self._mentions]
        return self._mentions

    def inside_a_name(self, value: ExtractedValue) -> bool:
        """Whether ``value`` is part of a record's name written in the text ("500" of "ford galaxie 500")."""
        mentions = self._record_mentions()
        for a, b, _ in mentions[:bisect_right(self._mention_starts, value.start)]:
            if a <= value.start and value.end <= b and (a, b) != (value.start, value.end):
                return True
        return False

    def record_distances(self, value: ExtractedValue) -> dict[str, int]:
        """How far (in characters) from ``value`` the text names each record: in its sentence, else before it in its
        paragraph (a record written out as lines under its name). A name that is the value itself does not count."""
        mentions = self._record_mentions()
        if not mentions:
            return {}
        start, end = self._sentence(value.start)
        if self._paragraphs is None:
            self._paragraphs = [0] + [m.end() for m in re.finditer(r"\n\s*\n", self.text)]
        paragraph = self._paragraphs[bisect_right(self._paragraphs, value.start) - 1]
        inside: dict[str, int] = {}
        before: dict[str, int] = {}
        low = bisect_left(self._mention_starts, min(start, paragraph))
        for a, b, ids in mentions[low:bisect_left(self._mention_starts, end)]:
            if a < value.end and b > value.start:
                continue
            distance = value.start - b if b <= value.start else a - value.end
            if a >= start and b <= end:
                chosen = inside
            elif paragraph <= a and b <= value.start:
                chosen = before
            else:
                continue
            for record_id in ids:
                chosen[record_id] = min(distance, chosen.get(record_id, math.inf))
        return inside or before


def check_grounding(
    text: str,
    *,
    question: str = "",
    computed: Mapping[str, Any] | None = None,
    records: Iterable[Any] = (),
    target_record_id: str | Sequence[str] | None = None,
    target_fields: Sequence[str] | None = None,
    infer_target: bool = True,
) -> Grounding:
    """Check every value ``text`` states against what the model was given (``SourceIndex.build`` and ``check`` in
    one step; ``elapsed_ms`` counts both)."""
    started = time.perf_counter()
    index = SourceIndex.build(question=question, computed=computed, records=records,
                              target_record_id=target_record_id, target_fields=target_fields,
                              infer_target=infer_target)
    result = index.check(text)
    return Grounding(result.values, result.skipped, (time.perf_counter() - started) * 1000)


# --- display --------------------------------------------------------------------------------------------------


def segments(text: str, grounding: Grounding | Mapping[str, Any] | None) -> list[Segment]:
    """``text`` cut into pieces, the marked values as pieces of their own (joined, the pieces are ``text``)."""
    if not isinstance(grounding, Grounding):
        grounding = Grounding.from_dict(grounding)
    pieces: list[Segment] = []
    position = 0
    for value in grounding.marked:
        if value.start < position or value.end > len(text) or text[value.start:value.end] != value.text:
            continue  # a check of another text: mark nothing wrongly
        if value.start > position:
            pieces.append(Segment(text[position:value.start]))
        pieces.append(Segment(value.text, True, value.reason))
        position = value.end
    if position < len(text) or not pieces:
        pieces.append(Segment(text[position:]))
    return pieces


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]#|~])")


def _markdown_escape(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def marked_markdown(text: str, grounding: Grounding | Mapping[str, Any] | None) -> str:
    """The answer's Markdown with each marked value in bold and followed by "(⚠ not in the sources)"; the value
    and the reason escaped, the rest of the text as it is."""
    return "".join(
        f"**{_markdown_escape(piece.text)}** (⚠ {_markdown_escape(piece.reason)})" if piece.marked else piece.text
        for piece in segments(text, grounding)
    )


def marked_html(text: str, grounding: Grounding | Mapping[str, Any] | None) -> str:
    """The text as escaped HTML, each marked value in ``<mark class="ungrounded" title="reason">`` followed by a
    ``<span class="ungrounded-note">⚠ reason</span>``."""
    out = []
    for piece in segments(text, grounding):
        if piece.marked:
            reason = html.escape(piece.reason)
            out.append(f'<mark class="ungrounded" title="{reason}">{html.escape(piece.text)}</mark>'
                       f' <span class="ungrounded-note">⚠ {reason}</span>')
        else:
            out.append(html.escape(piece.text))
    return "".join(out)
