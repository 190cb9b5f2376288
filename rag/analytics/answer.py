"""The computed part of an answer: one plain sentence, the assumptions, the table, the SQL.

``computed_answer(plan, result, schema)`` turns a plan and its query result into the dict that
goes into ``Answer.meta["computed"]`` (and the stream buffer, before the model's first token);
``prompt_facts`` words it for the model as authoritative facts computed over all records.

Fields are shown under their own names (the flat path: ``a"b``, the key ``["a.b"]`` apart from the nested
``a.b``). Where a reader could take one field for another, the assumptions name the one used
(``field_notes``): a field called like an internal column (``_record_id``), names equal but for case or
punctuation, names that are not plain words. The record id column of an argmax or of records is found by
position. The sentences of a ``records`` result are ``rag.analytics.records``'s; values are written as
``rag.analytics.wording`` writes them.

Sentences name the records by what they are: the question's own noun ("16 of 87 characters"), else the file's
when it is a word ("cars"), else "records", never the file's name; the rows of a child table by the array's name
("over the 101 items with items.category = Kitchen (in 89 of 240 orders)"), never "over 1 records" for a mean of
one record's items; a mean over a field some records lack counts the values it took ("over 400 of the 406
cars"); the most common value is said so, with every value tied with it ("cat and dog, tied").
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any, Mapping, Sequence

from rag.analytics import records
from rag.analytics.plan import Plan
from rag.analytics.spec import RECORD_ID, RECORDS, ROW_AGGREGATIONS, QuerySpec, TableSchema
from rag.analytics.sql import INTERNAL_NAMES
from rag.analytics.wording import describe_filters, format_key, format_value
from rag.analytics.words import field_words
from rag.i18n import ENGLISH, N_, _, current_language, percent

MAX_TABLE_ROWS = 50
"""Rows of the result kept with the answer (the SQL computes them all)."""
PROMPT_ROWS = 20
"""Rows of a table result given to the model."""
SUMMARY_GROUPS = 8
"""Groups named in the summary sentence."""

_AGGREGATION_WORDS = {
    "count": "number",
    "count_distinct": "number of distinct",
    "sum": "total",
    "mean": "average",
    "median": "median",
    "min": "lowest",
    "max": "highest",
}


def row_cells(row: Sequence[Any], keep: Sequence[int], grouped: bool) -> list[str]:
    """A result row as display strings; the group key (first column of a grouped result) as a key."""
    return [format_key(row[i]) if grouped and i == 0 else format_value(row[i]) for i in keep if i < len(row)]


def record_id_position(spec: QuerySpec | Mapping[str, Any] | None) -> int | None:
    """Where the record id stands in the rows of ``spec``'s result (argmax/argmin/records: first, or second after
    the group), else None. Told by the spec's shape, never by the column's name: a data field may be called
    ``_record_id`` as well, and its column is the data's."""
    if isinstance(spec, QuerySpec):
        aggregation, grouped = spec.aggregation, spec.group_by is not None
    elif isinstance(spec, Mapping):
        aggregation, grouped = spec.get("aggregation"), bool(spec.get("group_by"))
    else:
        return None
    if aggregation not in ROW_AGGREGATIONS:
        return None
    return 1 if grouped else 0


def _shown_columns(computed: Mapping[str, Any], columns: list[str]) -> list[int]:
    """Positions of the columns to show: all but the record id's."""
    spec = computed.get("spec")
    position = record_id_position(spec) if spec else (columns.index(RECORD_ID) if RECORD_ID in columns else None)
    return [i for i in range(len(columns)) if i != position]


def computed_table(computed: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    """The computed result's columns and rows as display strings (the record id column left out), for the
    page, the exports and the terminal."""
    columns = [str(c) for c in computed.get("columns") or []]
    keep = _shown_columns(computed, columns)
    grouped = bool((computed.get("spec") or {}).get("group_by"))
    rows = [row_cells(row, keep, grouped) for row in computed.get("rows") or []]
    return [columns[i] for i in keep], rows


def measure_label(spec: QuerySpec, noun: str = "records") -> str:
    """ "average Miles_per_Gallon", "number of records", "number of distinct Origin"."""
    if spec.aggregation == "count":
        if spec.field:
            return _("number of {field} rows").format(field=spec.field)
        return _("number of {noun}").format(noun=noun)
    if spec.aggregation in ("argmax", "argmin"):
        return (_("highest {field}") if spec.aggregation == "argmax" else _("lowest {field}")).format(field=spec.field)
    return _(_AGGREGATION_LABELS[spec.aggregation]).format(field=spec.field)


DATE_PARTS = {part: part for part in (N_("year"), N_("month"), N_("quarter"), N_("day"), N_("weekday"), N_("hour"))}
"""Date parts a group is taken by, as the sentence names them (translated)."""

_AGGREGATION_LABELS = {
    "count_distinct": N_("number of distinct {field}"),
    "sum": N_("total {field}"),
    "mean": N_("average {field}"),
    "median": N_("median {field}"),
    "min": N_("lowest {field}"),
    "max": N_("highest {field}"),
}


def summarize(
    spec: QuerySpec, result: Any, schema: TableSchema, noun: str = "records", *, with_share: bool = True
) -> str:
    """One plain sentence that states the result (a count's share of all records in brackets), in the answer's
    language (``rag.i18n``)."""
    sentence = _summary(spec, result, schema, records.noun_in_language(noun), with_share=with_share)
    if current_language() != ENGLISH:  # "moyenne de …" starts a sentence (English ones start with a capital)
        sentence = sentence[:1].upper() + sentence[1:]
    return sentence


def _summary(spec: QuerySpec, result: Any, schema: TableSchema, noun: str, *, with_share: bool) -> str:
    if spec.aggregation == RECORDS:
        return records.sentence(spec, result, schema, noun)
    rows = result.rows
    filters = describe_filters(spec)
    total = result.total_rows
    matched = result.matched_rows
    where = _(" with {filters}").format(filters=filters) if filters else ""
    if spec.group_by is not None:
        part = spec.group_by.date_part
        group = spec.group_by.field + (f" ({_(DATE_PARTS.get(part, part))})" if part else "")
        if not rows:
            return _("No {noun}{where}: nothing to group by {group}.").format(noun=noun, where=where, group=group)
        shown = _("; ").join(_("{key}: {value}").format(key=format_key(r[0]), value=format_value(r[-1]))
                             for r in rows[:SUMMARY_GROUPS])
        more = _("; … ({count} groups)").format(count=len(rows)) if len(rows) > SUMMARY_GROUPS else ""
        tied = [r for r in rows if r[-1] == rows[0][-1]] if spec.limit == 1 else rows[:1]
        keys = _and([format_key(r[0]) for r in tied])
        mode = spec.aggregation == "count" and spec.field is None and not spec.group_by.date_part
        if spec.limit == 1 and rows and mode:  # the mode: "the most common Origin"
            share = _("{count} of {total} {noun}{where}").format(
                count=format_value(rows[0][-1]), total=format_value(matched), noun=noun, where=where)
            most = spec.order != "asc"
            if len(tied) > 1:
                template = _("The most common values of {group} are {keys}, tied ({share} each).") if most else \
                    _("The least common values of {group} are {keys}, tied ({share} each).")
            else:
                template = _("The most common {group} is {keys} ({share}).") if most else \
                    _("The least common {group} is {keys} ({share}).")
            return template.format(group=group, keys=keys, share=share)
        if spec.limit == 1 and rows:
            measure = spec.field if spec.aggregation in ("min", "max") else measure_label(spec, noun)
            shown = format_value(rows[0][-1]) + (_(", tied") if len(tied) > 1 else "")
            highest = spec.order != "asc"
            if len(tied) > 1:
                lead = _("{keys} have the highest {measure} ({shown})") if highest else \
                    _("{keys} have the lowest {measure} ({shown})")
            else:
                lead = _("{keys} has the highest {measure} ({shown})") if highest else \
                    _("{keys} has the lowest {measure} ({shown})")
            lead = lead.format(keys=keys, measure=measure, shown=shown)
            return _("{lead}, by {group}, over {matched} of {total} {noun}{where}.").format(
                lead=lead, group=group, matched=format_value(matched), total=format_value(total), noun=noun,
                where=where)
        label = measure_label(spec, noun)
        return _("{label} by {group}{where}: {shown}{more}.").format(  # field names keep their case
            label=f"{label[:1].upper()}{label[1:]}", group=group, where=where, shown=shown, more=more)
    if spec.aggregation in ("argmax", "argmin"):
        if not rows:
            return _("No {noun}{where} have a value of {field}.").format(noun=noun, where=where, field=spec.field)
        label_index = _label_index(result.columns, spec, schema)
        names = [f"{format_value(r[label_index]) if label_index is not None else r[0]} ({format_value(r[-1])})"
                 for r in rows[:10]]
        highest = spec.aggregation == "argmax"
        plural, singular = records.nouns(noun)
        if len(rows) == 1:
            template = _("The {singular} with the highest {field}{where} is {name}, out of {matched} {noun}.") \
                if highest else _("The {singular} with the lowest {field}{where} is {name}, out of {matched} {noun}.")
            return template.format(singular=singular, field=spec.field, where=where, name=names[0],
                                   matched=format_value(matched), noun=noun)
        template = _("The {count} {plural} with the highest {field}{where}: {names}.") if highest else \
            _("The {count} {plural} with the lowest {field}{where}: {names}.")
        return template.format(count=len(rows), plural=plural, field=spec.field, where=where, names=", ".join(names))
    value = rows[0][-1] if rows and rows[0] else None
    if spec.aggregation == "count" and not spec.field:
        if not filters:
            return _("There are {count} {noun}.").format(count=format_value(value), noun=noun)
        share = f" ({percent(100 * value / total)})" \
            if with_share and isinstance(value, (int, float)) and total else ""
        return _("{count} of {total} {noun} have {filters}{share}.").format(
            count=format_value(value), total=format_value(total), noun=noun, filters=filters, share=share)
    if spec.aggregation == "count_distinct" and value is not None:
        if not filters:
            return _("There are {count} different values of {field} over all {total} {noun}.").format(
                count=format_value(value), field=spec.field, total=format_value(total), noun=noun)
        return _("{count} different values of {field} among the {matched} {noun}{where}.").format(
            count=format_value(value), field=spec.field, matched=format_value(matched), noun=noun, where=where)
    if value is None:
        return _("The {measure} is missing: no {noun}{where} have a value.").format(
            measure=measure_label(spec), noun=noun, where=where)
    return _("The {measure} is {value}{over}.").format(
        measure=measure_label(spec), value=format_value(value), over=_taken_over(spec, result, schema, noun, where))


def _taken_over(spec: QuerySpec, result: Any, schema: TableSchema, noun: str, where: str) -> str:
    """What a single value was taken over, named by what the rows are: " over all 406 cars", " over the 79 cars with
    Origin = Japan", " over 400 of the 406 cars (those with a Horsepower)", " over the 152 items with
    items.category = Kitchen (in 89 of 240 orders)": never "over 1 records" for a mean of a record's items."""
    total, matched = result.total_rows, result.matched_rows
    counted = getattr(result, "values_counted", None)
    column = schema.columns.get(spec.field) if spec.field else None
    if column is not None and column.table != "records" and counted is not None:
        things = child_noun(column.table)
        within = _("{matched} of {total}").format(matched=format_value(matched), total=format_value(total)) \
            if matched != total else _("all {total}").format(total=format_value(total))
        return _(" over the {counted} {things}{where} (in {within} {noun})").format(
            counted=format_value(counted), things=things, where=where, within=within, noun=noun)
    if counted is not None and counted < matched and spec.aggregation != "count_distinct":
        base = _("the {matched} {noun}{where}").format(matched=format_value(matched), noun=noun, where=where) \
            if where else _("the {total} {noun}").format(total=format_value(total), noun=noun)
        return _(" over {counted} of {base} (those with a value of {field})").format(
            counted=format_value(counted), base=base, field=spec.field)
    if where:
        return _(" over {matched} {noun}{where}").format(matched=format_value(matched), noun=noun, where=where)
    return _(" over all {total} {noun}").format(total=format_value(total), noun=noun)


def child_noun(table: str) -> str:
    """What the rows of a child table are called: the array's name when it is a plural ("items", "films"), else
    "<name> entries" ("crew entries")."""
    leaf = table.rsplit(".", 1)[-1].strip("[]") or table
    words = field_words(leaf)
    last = words[-1] if words else leaf
    if last.isalpha() and last.endswith("s") and not last.endswith("ss") and len(last) > 3:
        return " ".join(words)
    return f"{leaf} entries"


def _and(items: list[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " " + _("and") + " " + items[-1]


def _label_index(columns: list[str], spec: QuerySpec, schema: TableSchema) -> int | None:
    """The label column of an argmax/argmin result ([group,] record id, [label,] value), by position."""
    position = record_id_position(spec)
    if position is None or len(columns) != position + 3:
        return None
    return position + 1


def field_notes(spec: QuerySpec, schema: TableSchema) -> list[str]:
    """Lines naming the exact fields of ``spec`` where a reader could take them for others: a field called
    like an internal column (``_record_id``: the data's own, not the record id), and a field whose name
    differs from another's only by case or punctuation (``a.b``, the key ``["a.b"]``, ``a"b``)."""
    used = [spec.field] if spec.field else []
    used += list(spec.fields)
    used += [spec.group_by.field] if spec.group_by is not None else []
    used += [item.field for item in spec.filters]
    notes: list[str] = []
    for path in dict.fromkeys(used):
        column = schema.columns.get(path)
        if column is None:
            continue
        if path.casefold() in INTERNAL_NAMES:
            own = f"the data's own field {path}"
            notes.append(f"{path} is {own}, not the record id" if path.casefold() == RECORD_ID else f"{path} is {own}")
            continue
        others = similar_fields(path, schema)
        if others:
            notes.append(f"the field used is {path}{_key_words(path)}, not {' or '.join(others)}")
        elif not plain_field_name(path):
            notes.append(f"the field used is {path}{_key_words(path)}")
    return notes


_PLAIN_SEGMENT = re.compile(r"[^\W\d][\w -]*\Z")


def plain_field_name(path: str) -> bool:
    """Whether ``path`` is words only (letters, digits, ``_``, spaces, hyphens), nested with dots: a name a
    question writes as it is, with nothing to mistake."""
    return all(_PLAIN_SEGMENT.match(segment) for segment in path.split("."))


def similar_fields(path: str, schema: TableSchema) -> list[str]:
    """The other fields a question naming ``path`` in words could mean: same name but for case, or the same
    words (``a.b``, ``["a.b"]``, ``a"b``, ``A_B``)."""
    folded, words = path.casefold(), field_words(path)
    return [
        other
        for other in schema.columns
        if other != path and (other.casefold() == folded or (words and field_words(other) == words))
    ]


def single_key(path: str) -> str | None:
    """The key of a flat path that is one quoted key (``["a.b"]`` -> ``a.b``), else None."""
    if not (path.startswith('["') and path.endswith('"]')):
        return None
    try:
        key = json.loads(path[1:-1])
    except ValueError:
        return None
    return key if isinstance(key, str) and json.dumps(key, ensure_ascii=False) == path[1:-1] else None


def _key_words(path: str) -> str:
    """How a flat path reads as keys, when that is not plain: ``["a.b"]`` is the key "a.b" itself, ``a.b``
    the key "b" inside "a"."""
    if single_key(path) is not None:
        return f" (the key {path[1:-1]})"
    if "." in path and "[" not in path:
        parts = path.split(".")
        return " (" + " inside ".join(f'"{part}"' for part in reversed(parts)) + ")"
    return ""


def computed_answer(plan: Plan, result: Any, schema: TableSchema, *, noun: str = "records",
                    share_total: int | None = None) -> dict[str, Any]:
    """The JSON-safe computed part of an answer. ``share_total`` is the number of records a share is taken of,
    when the question names them (``Plan.share_of``); a share is of all records otherwise."""
    spec = plan.spec
    value = _headline_value(spec, result, schema)
    total = share_total or result.total_rows
    if plan.share and isinstance(value, int) and total:  # "what percentage of (Black) victims were male"
        share = percent(100 * value / total)
        noun = records.noun_in_language(noun)
        if share_total:
            base = describe_filters(dataclasses.replace(spec, filters=plan.share_of))
            where = describe_filters(dataclasses.replace(
                spec, filters=tuple(f for f in spec.filters if f not in plan.share_of)))
            template = _("{percent} of {noun} with {base} ({count} of {total}) have {filters}.")
        else:
            base, where = "", describe_filters(spec)
            template = _("{percent} of {noun} ({count} of {total}) have {filters}.") if where else \
                _("{percent} of {noun} ({count} of {total}).")
        summary = fact = template.format(percent=share, noun=noun, base=base, count=format_value(value),
                                         total=format_value(total), filters=where)
        value = share
    else:
        summary, fact = summarize(spec, result, schema, noun), summarize(spec, result, schema, noun, with_share=False)
    assumptions = list(plan.assumptions)
    assumptions += [note for note in field_notes(spec, schema) if note not in assumptions]
    return {
        "summary": summary,
        "fact": fact,
        "value": value,
        "assumptions": assumptions,
        "columns": list(result.columns),
        "rows": [list(r) for r in result.rows[:MAX_TABLE_ROWS]],
        "row_count": len(result.rows),
        "sql": result.sql,
        "planner": plan.planner,
        "spec": spec.to_dict(),
        "rows_considered": result.total_rows,
        "matched_rows": result.matched_rows,
        "record_ids": list(result.record_ids),
        "elapsed_ms": round(float(result.elapsed_ms), 2),
        "chart": chart_kind(spec, result),
    }


def _headline_value(spec: QuerySpec, result: Any, schema: TableSchema) -> Any:
    """The one value to show large, when there is one."""
    if spec.aggregation == RECORDS:
        return records.headline(spec, result, schema)
    if spec.group_by is not None:
        if spec.limit != 1 or not result.rows:
            return None
        tied = [row[0] for row in result.rows if row[-1] == result.rows[0][-1]]
        return tied[0] if len(tied) == 1 else _and([format_key(key) for key in tied])
    if spec.aggregation in ("argmax", "argmin"):
        return result.rows[0][-1] if result.rows else None
    return result.rows[0][-1] if result.rows and result.rows[0] else None


def chart_kind(spec: QuerySpec, result: Any) -> str | None:
    """ "line" for a date part, "bar" for other groups with several rows, else None."""
    if spec.group_by is None or len(result.rows) < 2:
        return None
    if spec.group_by.date_part in ("year", "month", "quarter", "day"):
        return "line"
    return "bar"


def prompt_facts(computed: Mapping[str, Any]) -> str:
    """The computed result as the model reads it: one line, then the rows of a table result.

    Kept bare on purpose: beside a share ("26.6%"), the assumptions or raw floats, the embedded
    135M model repeats one of those numbers instead of the result (see ``bench/bench_analytics.py``)."""
    fact = computed.get("fact") or computed.get("summary", "")
    lines = [f"Computed over all {computed.get('rows_considered')} records: {fact}"]
    columns = computed.get("columns") or []
    rows = computed.get("rows") or []
    if len(rows) > 1:
        keep = _shown_columns(computed, [str(c) for c in columns])
        grouped = bool((computed.get("spec") or {}).get("group_by"))
        lines += [" | ".join(row_cells(row, keep, grouped)) for row in rows[:PROMPT_ROWS]]
    return "\n".join(lines)
