"""What a dataset holds, field by field: for the dashboard's charts and the LLM prompt.

A field is a path of ``Record.flat``. For each one the profile counts the records that have a value
(``present``; ``missing`` = the record lacks the field or holds null), the JSON types seen, distinct
values (exact up to ``DISTINCT_CAP`` per type, then reported as "at least"), the most common values,
a few examples, numeric figures (min, max, mean, median, sum) and ISO date detection.

``FieldProfile.kind`` tells a chart what to draw:

* ``number``: every value is an integer or a float (booleans are not numbers);
* ``boolean``: every value is true or false;
* ``date``: strings, at least ``DATE_SHARE`` of them ISO 8601 dates or date-times
  (``2021-03-04``, ``2021-03-04T05:06:07Z``), parsed with ``datetime.fromisoformat``;
* ``category``: short strings (mean length up to ``CATEGORY_MAX_LENGTH``) with at most
  ``CATEGORY_MAX_DISTINCT`` distinct values, and at most half as many distinct values as values;
* ``text``: any other strings (long or mostly unique: names, descriptions, ids);
* ``mixed``: several kinds of value, or no value at all.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field as dataclass_field
from datetime import datetime, timezone
from typing import Any, Iterable

from rag.records import Record

DISTINCT_CAP = 10_000
"""Distinct values counted exactly per field and type; beyond it, ``distinct`` is a lower bound."""
TOP_VALUES = 10
EXAMPLES = 3
DATE_SHARE = 0.95
CATEGORY_MAX_DISTINCT = 50
CATEGORY_MAX_LENGTH = 50
KINDS = ("number", "category", "text", "date", "boolean", "mixed")

_CHUNK = 4096
_DATE_PATTERN = re.compile(
    r"\d{4}([-/])\d{2}\1\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?"
)
"""ISO 8601 dates and date-times, and the year-first ``2012/01/31`` that exports write (never ambiguous)."""
_TYPE_NAMES = {str: "string", int: "integer", float: "float", bool: "boolean"}


@dataclass(frozen=True)
class FieldProfile:
    """The profile of one field path."""

    path: str
    kind: str
    """One of ``KINDS``."""
    present: int
    """Records holding a non-null value."""
    missing: int
    """Records lacking the field or holding null."""
    types: dict[str, int]
    """JSON type -> count: ``string``, ``integer``, ``float``, ``boolean``, ``null``, ``other``."""
    distinct: int
    distinct_capped: bool = False
    """True when ``distinct`` is a lower bound (too many values to count exactly)."""
    top_values: list[tuple[Any, int]] = dataclass_field(default_factory=list)
    """Most common values with their counts, most common first (ties: first seen first, per type)."""
    examples: list[Any] = dataclass_field(default_factory=list)
    """The first few distinct values."""
    min: int | float | None = None
    max: int | float | None = None
    mean: float | None = None
    median: int | float | None = None
    sum: int | float | None = None
    date_count: int = 0
    """Values that are ISO dates or date-times."""
    date_min: str | None = None
    """Earliest date value, as written in the data."""
    date_max: str | None = None
    mean_length: float | None = None
    """Mean length of the string values."""

    @property
    def date_like(self) -> bool:
        """Whether the values are dates a time axis can use."""
        return self.kind == "date"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        return {
            "path": self.path,
            "kind": self.kind,
            "present": self.present,
            "missing": self.missing,
            "types": dict(self.types),
            "distinct": self.distinct,
            "distinct_capped": self.distinct_capped,
            "top_values": [{"value": value, "count": count} for value, count in self.top_values],
            "examples": list(self.examples),
            "min": self.min,
            "max": self.max,
            "mean": self.mean,
            "median": self.median,
            "sum": self.sum,
            "date_like": self.date_like,
            "date_count": self.date_count,
            "date_min": self.date_min,
            "date_max": self.date_max,
            "mean_length": self.mean_length,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FieldProfile:
        """The profile ``to_dict`` gave (``date_like`` is derived, not read)."""
        return cls(
            path=str(data["path"]),
            kind=str(data["kind"]),
            present=int(data["present"]),
            missing=int(data["missing"]),
            types={str(name): int(count) for name, count in data["types"].items()},
            distinct=int(data["distinct"]),
            distinct_capped=bool(data["distinct_capped"]),
            top_values=[(item["value"], int(item["count"])) for item in data["top_values"]],
            examples=list(data["examples"]),
            min=data["min"],
            max=data["max"],
            mean=data["mean"],
            median=data["median"],
            sum=data["sum"],
            date_count=int(data["date_count"]),
            date_min=data["date_min"],
            date_max=data["date_max"],
            mean_length=data["mean_length"],
        )


@dataclass(frozen=True)
class DatasetProfile:
    """The profile of a whole dataset."""

    record_count: int
    fields: list[FieldProfile]
    """In the order the fields are first seen in the records."""
    _prompt_texts: dict[int, str] = dataclass_field(default_factory=dict, repr=False, compare=False)
    """``to_prompt_text`` per ``max_chars``: the same text for every question, made once."""

    def field(self, path: str) -> FieldProfile | None:
        """The profile of one field path, or None."""
        for profile in self.fields:
            if profile.path == path:
                return profile
        return None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict for the dashboard."""
        return {
            "record_count": self.record_count,
            "field_count": len(self.fields),
            "fields": [profile.to_dict() for profile in self.fields],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DatasetProfile:
        """The profile ``to_dict`` gave (the dataset store keeps profiles as JSON)."""
        fields = [FieldProfile.from_dict(item) for item in data["fields"]]
        return cls(record_count=int(data["record_count"]), fields=fields)

    def to_prompt_text(self, max_chars: int = 2000) -> str:
        """A compact description for the LLM prompt, at most ``max_chars`` characters.

        One line per field (kind, present/missing, range, dates, common values). When it does not
        fit, every field first gets its shortest line ("- path: kind"), the most informative fields
        (numbers, dates, categories, then the most filled) get more detail while room is left, the
        least filled fields are left out if even that does not fit, and a last line says so.
        """
        texts = self.__dict__.setdefault("_prompt_texts", {})  # a profile saved before the cache existed has none
        text = texts.get(max_chars)
        if text is None:
            text = texts[max_chars] = _prompt_text(self, max_chars)
        return text


def profile_dataset(records: list[Record]) -> DatasetProfile:
    """Profile the flat fields of ``records``."""
    columns: dict[str, list[Any]] = {}
    for record in records:
        for path, value in record.flat.items():
            column = columns.get(path)
            if column is None:
                columns[path] = [value]
            else:
                column.append(value)
    count = len(records)
    return DatasetProfile(record_count=count, fields=[_profile_field(path, values, count) for path, values in columns.items()])


# --- one field -----------------------------------------------------------------------------------


def _profile_field(path: str, values: list[Any], record_count: int) -> FieldProfile:
    strings: list[str] = []
    numbers: list[int | float] = []
    booleans: list[bool] = []
    others: list[str] = []
    nulls = 0
    for value in values:
        kind = type(value)
        if kind is str:
            strings.append(value)
        elif kind is int:
            numbers.append(value)
        elif kind is float:
            if math.isfinite(value):
                numbers.append(value)
            else:
                nulls += 1
        elif kind is bool:
            booleans.append(value)
        elif value is None:
            nulls += 1
        elif isinstance(value, bool):  # subclasses of the JSON types, from records built by hand
            booleans.append(bool(value))
        elif isinstance(value, int):
            numbers.append(int(value))
        elif isinstance(value, float):
            if math.isfinite(value):
                numbers.append(float(value))
            else:
                nulls += 1
        elif isinstance(value, str):
            strings.append(str(value))
        else:  # not a scalar: records built by hand may hold anything
            others.append(json.dumps(value, ensure_ascii=False, sort_keys=True, default=str))
    types = _type_counts(strings, numbers, booleans, others, nulls)
    present = len(strings) + len(numbers) + len(booleans) + len(others)

    counters = [_count_capped(group) for group in (strings, numbers, booleans, others) if group]
    distinct = sum(len(counter) for counter, _capped in counters)
    capped = any(capped for _counter, capped in counters)
    merged = [(value, count) for counter, _capped in counters for value, count in counter.items()]
    merged.sort(key=lambda item: -item[1])  # stable: ties stay in first-seen order
    top_values = merged[:TOP_VALUES]

    figures: dict[str, Any] = {}
    if numbers:
        figures.update(_number_figures(numbers))
    if strings:
        figures["mean_length"] = sum(map(len, strings)) / len(strings)
        string_counter = counters[0][0]
        string_capped = counters[0][1]
        figures.update(_date_figures(strings if string_capped else string_counter))

    kind = _classify(present, strings, numbers, booleans, others, distinct, figures)
    return FieldProfile(
        path=path,
        kind=kind,
        present=present,
        missing=record_count - present,
        types=types,
        distinct=distinct,
        distinct_capped=capped,
        top_values=top_values,
        examples=_distinct_in_order(values, limit=EXAMPLES),
        **figures,
    )


def _type_counts(strings: list, numbers: list, booleans: list, others: list, nulls: int) -> dict[str, int]:
    integers = sum(1 for number in numbers if isinstance(number, int))
    counts = {
        "string": len(strings),
        "integer": integers,
        "float": len(numbers) - integers,
        "boolean": len(booleans),
        "other": len(others),
        "null": nulls,
    }
    return {name: count for name, count in counts.items() if count}


def _count_capped(values: list[Any]) -> tuple[Counter, bool]:
    """Value counts; once more than ``DISTINCT_CAP`` distinct values are seen, only those are counted."""
    counter: Counter = Counter()
    for start in range(0, len(values), _CHUNK):
        counter.update(values[start : start + _CHUNK])
        if len(counter) > DISTINCT_CAP:
            for value in values[start + _CHUNK :]:
                if value in counter:
                    counter[value] += 1
            return counter, True
    return counter, False


def _distinct_in_order(values: Iterable[Any], *, limit: int) -> list[Any]:
    """The first ``limit`` distinct non-null values (booleans kept apart from the numbers 0 and 1)."""
    seen: set[tuple[bool, Any]] = set()
    found: list[Any] = []
    for value in values:
        if type(value) not in _TYPE_NAMES or (type(value) is float and not math.isfinite(value)):
            continue  # null, NaN or not a plain JSON scalar
        key = (type(value) is bool, value)
        if key not in seen:
            seen.add(key)
            found.append(value)
            if len(found) >= limit:
                break
    return found


def _number_figures(numbers: list[int | float]) -> dict[str, Any]:
    ordered = sorted(numbers)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        median: int | float = ordered[middle]
    else:
        median = _safe_mean([ordered[middle - 1], ordered[middle]])
        if isinstance(median, float) and median.is_integer() and all(isinstance(n, int) for n in ordered[middle - 1 : middle + 1]):
            median = int(median)
    total = _safe_sum(numbers)
    mean = None
    if total is not None:
        try:
            mean = total / len(numbers)
        except OverflowError:
            mean = None
    return {
        "min": ordered[0],
        "max": ordered[-1],
        "mean": _finite_or_none(mean),
        "median": median,
        "sum": total,
    }


def _safe_sum(numbers: list[int | float]) -> int | float | None:
    if all(type(number) is int for number in numbers):
        return sum(numbers)
    try:
        return _finite_or_none(math.fsum(numbers))
    except OverflowError:
        return None


def _safe_mean(numbers: list[int | float]) -> float | None:
    total = _safe_sum(numbers)
    try:
        return None if total is None else _finite_or_none(total / len(numbers))
    except OverflowError:
        return None


def _finite_or_none(value: float | int | None) -> float | int | None:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def parse_iso_date(text: str) -> datetime | None:
    """The date or date-time an ISO 8601 (or year-first ``2012/01/31``) string holds (as naive UTC), or None."""
    if len(text) < 10 or not text[0].isdigit() or not _DATE_PATTERN.fullmatch(text):
        return None
    if text[4] == "/":
        text = text[:10].replace("/", "-") + text[10:]
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def _date_figures(strings: list[str] | Counter) -> dict[str, Any]:
    """How many strings are dates, and the earliest and latest (a Counter: values with counts)."""
    items = strings.items() if isinstance(strings, Counter) else ((text, 1) for text in strings)
    date_count = 0
    earliest: tuple[datetime, str] | None = None
    latest: tuple[datetime, str] | None = None
    for text, count in items:
        moment = parse_iso_date(text)
        if moment is None:
            continue
        date_count += count
        if earliest is None or moment < earliest[0]:
            earliest = (moment, text)
        if latest is None or moment > latest[0]:
            latest = (moment, text)
    return {
        "date_count": date_count,
        "date_min": earliest[1] if earliest else None,
        "date_max": latest[1] if latest else None,
    }


def _classify(
    present: int,
    strings: list[str],
    numbers: list[Any],
    booleans: list[bool],
    others: list[str],
    distinct: int,
    figures: dict[str, Any],
) -> str:
    if present == 0 or others or sum(1 for group in (strings, numbers, booleans) if group) > 1:
        return "mixed"
    if numbers:
        return "number"
    if booleans:
        return "boolean"
    if figures["date_count"] >= DATE_SHARE * present:
        return "date"
    if (
        figures["mean_length"] <= CATEGORY_MAX_LENGTH
        and distinct <= CATEGORY_MAX_DISTINCT
        and distinct <= max(1, present // 2)
    ):
        return "category"
    return "text"


# --- the prompt text ----------------------------------------------------------------------------------


def _prompt_text(profile: DatasetProfile, max_chars: int) -> str:
    """Fit the profile into ``max_chars``: shorter field lines first, then fewer fields."""
    header = f"Dataset profile: {profile.record_count} records, {len(profile.fields)} fields."
    levels = [[_field_line(field_profile, detail) for detail in range(4)] for field_profile in profile.fields]
    budget = max_chars - len(header)
    if sum(len(line[-1]) + 1 for line in levels) <= budget:
        return _join(header, [line[-1] for line in levels])

    budget -= len(_truncation_note(len(levels), len(levels))) + 1
    by_information = sorted(range(len(levels)), key=lambda index: _information_rank(profile.fields[index]))
    choice: dict[int, int] = {}
    used = 0
    for index in by_information:  # the most informative fields first, at the shortest detail
        cost = len(levels[index][0]) + 1
        if used + cost <= budget:
            choice[index] = 0
            used += cost
    for detail in (1, 2, 3):  # then more detail, level by level, in the same order
        for index in by_information:
            if index in choice and choice[index] < detail:
                extra = len(levels[index][detail]) - len(levels[index][choice[index]])
                if used + extra <= budget:
                    choice[index] = detail
                    used += extra
    lines = [levels[index][choice[index]] for index in sorted(choice)]
    text = _join(header, lines + [_truncation_note(len(levels) - len(choice), len(levels))])
    if len(text) > max_chars:  # max_chars leaves no room for any field
        text = header + " (truncated)"
    if len(text) > max_chars:
        text = f"{profile.record_count} records, {len(profile.fields)} fields (truncated)"
    return text[:max_chars]


def _information_rank(field_profile: FieldProfile) -> tuple[bool, int]:
    """Sort key: fields with figures (numbers, dates, categories) first, then the most filled."""
    return field_profile.kind in ("text", "mixed"), -field_profile.present


def _truncation_note(omitted: int, field_count: int) -> str:
    note = "(profile truncated to fit: some figures shortened"
    return note + (f", {omitted} of {field_count} fields not shown)" if omitted else ")")


def _join(header: str, lines: list[str]) -> str:
    return "\n".join([header, *lines])


def _field_line(profile: FieldProfile, detail: int) -> str:
    """One line about a field; detail 0 is name and kind only, 3 the fullest."""
    head = f"- {profile.path}: {profile.kind}"
    if profile.kind == "mixed" and profile.types:
        head += " (" + ", ".join(f"{name} {count}" for name, count in profile.types.items()) + ")"
    if detail == 0:
        return head
    counts = f"{profile.present} present"
    if profile.missing:
        counts += f", {profile.missing} missing"
    parts = [head, counts]
    if detail >= 2:
        parts.append(f"{'at least ' if profile.distinct_capped else ''}{profile.distinct} distinct")
    figures = _kind_figures(profile, detail)
    if figures:
        parts.append(figures)
    return "; ".join(parts)


def _kind_figures(profile: FieldProfile, detail: int) -> str:
    """The figures that matter for the field's kind, at detail 1 to 3."""
    if profile.kind == "number":
        text = f"min {_number(profile.min)}, max {_number(profile.max)}"
        if detail >= 2:
            text += f", mean {_number(profile.mean)}, median {_number(profile.median)}"
        if detail >= 3 and profile.distinct <= 20 and not profile.distinct_capped:
            text += "; values " + _values(profile.top_values, 10)
        elif detail >= 3:
            text += f", sum {_number(profile.sum)}"
        return text
    if profile.kind == "date":
        return f"from {profile.date_min} to {profile.date_max}"
    if profile.kind in ("category", "boolean"):
        return "values " + _values(profile.top_values, (3, 6, 10)[detail - 1])
    repeated = bool(profile.top_values) and profile.top_values[0][1] > 1
    if profile.kind == "text":
        if detail == 1:
            return ""
        if detail == 2:
            if repeated:
                return "most common " + _values(profile.top_values, 3)
            return "e.g. " + ", ".join(_value(value, 30) for value in profile.examples[:2])
        text = "e.g. " + ", ".join(_value(value, 40) for value in profile.examples)
        if repeated:
            text += "; most common " + _values(profile.top_values, 5)
        return text
    if detail >= 2 and profile.top_values:  # mixed
        return "most common " + _values(profile.top_values, 3 * (detail - 1))
    return ""


def _values(top_values: list[tuple[Any, int]], limit: int) -> str:
    return ", ".join(f"{_value(value, 30)} ({count})" for value, count in top_values[:limit])


def _value(value: Any, width: int) -> str:
    if isinstance(value, str):
        shown = value if len(value) <= width else value[: width - 3] + "..."
        return json.dumps(shown, ensure_ascii=False)
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    return _number(value)


def _number(value: int | float | None) -> str:
    """A number as a reader expects it: integers in full, other values to 6 significant digits."""
    if value is None:
        return "n/a"
    if isinstance(value, int) or (value.is_integer() and abs(value) < 1e15):
        return str(int(value))
    if 1e6 <= abs(value) < 1e15:
        return f"{value:.2f}"
    return f"{value:.6g}"
