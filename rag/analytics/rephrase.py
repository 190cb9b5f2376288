"""Questions to ask instead: rephrasings of an analytic question the planner could not read.

An analytic question that cannot be read is never answered with a number (the model would invent one from the
few records retrieval hands it). The answer says what was not understood and offers two or three questions
built from the data's own fields that the planner can read, in the same shape as the question asked:

* the operation asked, as the planner reads it: "average", "median", "total", "highest", "lowest", "how many";
* the field: the one read, else the closest fields to the words that were not understood (a synonym, an
  abbreviation, a typo, the likeness of the letters: ``RulesPlanner.closest_fields``), else the data's first
  number fields; two fields the words fit equally ("temp" for ``temp_max`` and ``temp_min``) are each offered;
* the grouping read, or the fields closest to the words after "per"/"by", or the data's categories;
* a month named without its year ("in March") with the years the data holds ("in March 2012");
* the filters read, written back as "where Origin is Japan".

Every rephrasing is put through the planner before it is offered (``check``): one that does not plan, validate
and compute is dropped, and two that read into the same spec count once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from babel.dates import get_month_names

from rag.analytics.lexicons import polished
from rag.analytics.plan import Reading
from rag.analytics.spec import ColumnInfo, Filter, QuerySpec, TableSchema
from rag.analytics.words import field_words, stem
from rag.i18n import N_, _, current_language

MAX_REPHRASINGS = 3
"""Rephrasings offered at most."""
MAX_TRIED = 24
"""Candidates put through the planner at most (each costs a plan and a validation)."""

_MEASURES = {"mean": N_("average {field}"), "median": N_("median {field}"), "sum": N_("total {field}"),
             "max": N_("highest {field}"), "min": N_("lowest {field}")}
"""A measure of a field, per aggregation, as the planner reads it back in each language."""
_RECORD_WITH = {"max": N_("which {singular} has the highest {field}"),
                "min": N_("which {singular} has the lowest {field}")}
_COMPARISONS = {"<": N_("{field} less than {value}"), ">": N_("{field} more than {value}"),
                "<=": N_("{field} at most {value}"), ">=": N_("{field} at least {value}")}
_ID_WORDS = frozenset({"id", "ids", "code", "number", "num", "no", "numeric", "index", "key", "iso", "zip", "year",
                       "years", "lat", "latitude", "lon", "lng", "longitude"})
"""Words of fields whose average means nothing (ids, codes, years, coordinates): never offered as a measure."""

Check = Callable[[str], QuerySpec | None]
"""A question -> the validated spec it plans into, or None when it does not plan, validate and compute to a
value (a count of nothing, an average over no record, is no question worth offering)."""


def rephrasings(reading: Reading | None, schema: TableSchema, check: Check, *, noun: str = "records",
                aggregation: str | None = None, closest: Callable[[list[str], Any], list[str]] | None = None,
                words: Iterable[str] = ()) -> list[str]:
    """Up to ``MAX_REPHRASINGS`` questions the planner reads, each checked by ``check``; two that read into the
    same spec count once. ``aggregation`` stands in for the reading's when there is no reading (the question's
    cue: "average", "how many"); ``closest(words, kinds)`` ranks fields by likeness to the unread ``words``."""
    reading = reading or Reading(aggregation=aggregation)
    offered: list[str] = []
    seen: set[str] = set()
    tried = 0
    language = current_language()
    for candidate in _candidates(reading, schema, noun, closest, list(words)):
        question = polished(candidate, language)
        if question.lower() in seen:
            continue
        seen.add(question.lower())
        tried += 1
        if tried > MAX_TRIED:
            break
        spec = check(question)
        if spec is None:
            continue
        key = repr(spec.to_dict())
        if key in seen:
            continue
        seen.add(key)
        offered.append(question)
        if len(offered) >= MAX_REPHRASINGS:
            break
    return offered


def _candidates(reading: Reading, schema: TableSchema, noun: str,
                closest: Callable[[list[str], Any], list[str]] | None, words: list[str]) -> Iterator[str]:
    aggregation = reading.aggregation or "mean"
    measures = _measures(reading, schema, closest, words, aggregation)
    groups = _groups(reading, schema)
    where = _where(reading.filters, schema)
    plural = noun if noun and noun != "records" else _("records")
    singular = stem(plural) if noun and noun != "records" else _("record")
    if reading.month is not None:
        yield from _month_questions(reading, schema, measures, aggregation, plural, where)
    filtered = {item.field for item in reading.filters}
    groups = [group for group in groups if group not in filtered]  # "by drv where drv is 4" says nothing
    if not measures:  # nothing to average in the data (codes and names only): what can be counted
        aggregation = "count"
    if aggregation == "count":
        for group in groups if reading.grouped or not words else []:
            yield _("number of {records} by {group}").format(records=plural, group=group) + where
        if reading.filters:
            yield _("how many {records} are there").format(records=plural) + where
        for group in groups:
            yield _("number of {records} by {group}").format(records=plural, group=group) + where
        yield _("how many {records} are there").format(records=plural)
        return
    for field in measures:
        measure = _measure(aggregation, field)
        if reading.group is not None:
            yield measure + _by(reading.group) + where
        elif reading.grouped and groups:
            for group in groups:
                yield measure + _by(group) + where
        else:
            if aggregation in _RECORD_WITH:
                yield _(_RECORD_WITH[aggregation]).format(singular=singular, field=field) + where
            yield measure + where
    for field in measures[:2]:
        for group in groups[:2]:
            yield _measure(aggregation, field) + _by(group) + where


def _measure(aggregation: str, field: str) -> str:
    """ "average Horsepower": the aggregation of ``field`` (an average when the aggregation has no words)."""
    return _(_MEASURES.get(aggregation, _MEASURES["mean"])).format(field=field)


def _by(group: str) -> str:
    return _(" by {group}").format(group=group)


def _measures(reading: Reading, schema: TableSchema, closest: Callable[[list[str], Any], list[str]] | None,
              words: list[str], aggregation: str) -> list[str]:
    """The fields to measure: the one read, the closest to the unread words, the data's first number fields."""
    allowed = ("number",) if aggregation in ("mean", "median", "sum") else ("number", "date", "timestamp")
    fields: list[str] = []
    if reading.field:
        fields.append(reading.field)
    fields += [path for path in reading.candidates if _fits(schema.columns.get(path), allowed)]
    if closest is not None and words:
        fields += [path for path in closest(words, allowed) if _fits(schema.columns.get(path), allowed)]
    others = [c for c in schema.columns.values() if _fits(c, allowed) and c.table == "records"
              and not _id_like(c) and c.path != schema.label_field]
    others.sort(key=lambda c: (c.type != "number", _few(c, schema)))  # measures first, counts of things last
    fields += [c.path for c in others]
    return list(dict.fromkeys(fields))[:6]


def _groups(reading: Reading, schema: TableSchema) -> list[str]:
    """The fields to group by: the closest to the words after "per"/"by", then the data's categories (fewest values
    first: "Origin" before "Name")."""
    fields = list(reading.group_candidates)
    categories = [c for c in schema.columns.values() if c.table == "records" and 1 < (c.distinct or len(c.values)) <= 30
                  and (c.categorical or c.type == "boolean" or c.type == "number" and _few(c, schema))
                  and c.path != schema.label_field and not _id_like(c)]
    categories.sort(key=lambda c: (c.type == "number", c.distinct or len(c.values)))
    fields += [c.path for c in categories]
    if any(c.type in ("date", "timestamp") and c.table == "records" for c in schema.columns.values()):
        fields.append("year")  # "total disease by year": the dates' years
    return list(dict.fromkeys(fields))[:4]


def _month_questions(reading: Reading, schema: TableSchema, measures: list[str], aggregation: str, plural: str,
                     where: str) -> Iterator[str]:
    """ "average temp_max in March 2012": the month with each of the first and last years the dates hold."""
    years = _years(schema)
    name = str(get_month_names("wide", locale=current_language())[reading.month or 1])
    for year in years:
        if aggregation == "count":
            yield _("how many {records} in {month} {year}").format(records=plural, month=name, year=year) + where
        else:
            for field in measures[:1]:
                yield _measure(aggregation, field) + _(" in {month} {year}").format(month=name, year=year) + where
    if aggregation != "count":
        for field in measures[:1]:
            yield _measure(aggregation, field) + _(" by month") + where


def _years(schema: TableSchema) -> list[int]:
    dates = [c for c in schema.columns.values() if c.type in ("date", "timestamp") and c.table == "records"]
    dates.sort(key=lambda c: -c.present)
    if not dates:
        return []
    try:
        first, last = int(str(dates[0].minimum)[:4]), int(str(dates[0].maximum)[:4])
    except (TypeError, ValueError):
        return []
    return list(dict.fromkeys([last, first]))


def _where(filters: tuple[Filter, ...], schema: TableSchema) -> str:
    """The filters read, written back so that the planner reads them again: " where Origin is Japan"."""
    parts = []
    for item in filters:
        column = schema.columns.get(item.field)
        if column is None:
            continue
        if item.op == "=" and isinstance(item.value, (str, int, float)) and not isinstance(item.value, bool):
            parts.append(_("{field} is {value}").format(field=item.field, value=item.value))
        elif item.op == "between" and isinstance(item.value, list) and len(item.value) == 2 and column.type == "number":
            parts.append(_("{field} between {low} and {high}").format(
                field=item.field, low=item.value[0], high=item.value[1]))
        elif item.op in _COMPARISONS and isinstance(item.value, (int, float)):
            parts.append(_(_COMPARISONS[item.op]).format(field=item.field, value=item.value))
        else:
            return ""  # a filter these words cannot say again: the rephrasing goes without filters
    return _(" where {conditions}").format(conditions=_(" and ").join(parts)) if parts else ""


def _fits(column: ColumnInfo | None, allowed: tuple[str, ...]) -> bool:
    return column is not None and column.type in allowed


def _few(column: ColumnInfo, schema: TableSchema) -> bool:
    return 0 < column.distinct <= 30 and column.distinct * 4 <= max(column.present, 1)


def _id_like(column: ColumnInfo) -> bool:
    """Codes and ids: averaging them means nothing ("iso_num", "customer_id")."""
    return bool(set(field_words(column.path.rsplit(".", 1)[-1])) & _ID_WORDS)
