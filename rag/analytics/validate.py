"""Check a ``QuerySpec`` against the dataset's ``TableSchema`` and normalise it.

``validate_spec`` returns a spec the SQL builder can trust, or raises ``SpecError`` with a message
for the user that names the field or value at fault. What it normalises:

* field names: an exact path, else a case-insensitive match (``origin`` -> ``Origin``); a child
  table's own name (``items``) is a field only for ``count``;
* filter values, to the column's type: ``"8"`` -> ``8`` for numbers, ``"yes"`` -> ``True`` for
  booleans, dates to ISO text (``"2024-03-05"``, ``"2024-03-05T10:00:00"``). A year or a month
  (``1982``, ``"2024-03"``) on a date field stands for the whole period: ``=`` becomes ``between``
  its first and last day, ``<``/``>=`` take its first day, ``<=``/``>`` its last day;
* categorical text values, to the stored spelling (``"japan"`` -> ``"Japan"``); a value that is
  not among the column's values is an error listing some valid ones;
* ``=``/``!=``/``in`` on a list field mean "has the element" (``=`` becomes ``contains``);
* ``between`` bounds in order; ``in`` lists without duplicates; ``order`` in ``desc``/``asc``;
  ``limit`` dropped where it means nothing (a single value);
* ``fields`` (the fields a ``records`` spec shows) resolved like any field, without repeats; dropped for
  the other operations. What else a ``records`` spec must be is checked by ``rag.analytics.records``.

Fields of two different child tables in one spec are refused: each spec runs over one table, or
over one child table joined to the records.
"""

from __future__ import annotations

import difflib
import math
import re
from calendar import monthrange
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from rag.analytics import records
from rag.analytics.errors import SpecError
from rag.analytics.spec import (
    AGGREGATIONS,
    DATE_PARTS,
    FIELD_AGGREGATIONS,
    FILTER_OPS,
    MAX_IN_VALUES,
    MAX_LIMIT,
    NUMERIC_AGGREGATIONS,
    ORDERS,
    RECORDS,
    RECORDS_TABLE,
    ROW_AGGREGATIONS,
    TEXT_OPS,
    ColumnInfo,
    Filter,
    GroupBy,
    QuerySpec,
    TableSchema,
)
from rag.profile import parse_iso_date

ORDERABLE_TYPES = ("number", "date", "timestamp", "text")
"""Types min/max/argmax/argmin accept."""
COMPARE_OPS = ("<", "<=", ">", ">=", "between")
"""Operators that need an ordered type (numbers, dates)."""
SHOWN_VALUES = 8
"""Valid values listed in an error message."""

_NAME_WIDTH = 60
_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\Z")
_GROUPED_NUMBER = re.compile(r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?\Z")
_YEAR = re.compile(r"\d{4}\Z")
_MONTH = re.compile(r"(\d{4})-(\d{1,2})\Z")
_TRUE = frozenset(("true", "yes", "y", "1", "t"))
_FALSE = frozenset(("false", "no", "n", "0", "f"))
_ORDER_WORDS = {"desc": "desc", "descending": "desc", "asc": "asc", "ascending": "asc"}


def validate_spec(spec: QuerySpec, schema: TableSchema) -> QuerySpec:
    """The normalised ``spec``, or ``SpecError`` naming what does not fit ``schema``."""
    if not isinstance(spec, QuerySpec):
        raise SpecError("the plan is not a query spec")
    aggregation = str(spec.aggregation or "").strip().lower()
    if aggregation not in AGGREGATIONS:
        raise SpecError(f"unknown operation {_shown(spec.aggregation)}; use one of: {', '.join(AGGREGATIONS)}")

    field, measure = _measure(aggregation, spec.field, schema)
    filters = tuple(_filter(item, schema) for item in spec.filters)
    group_by = _group_by(spec.group_by, schema) if spec.group_by is not None else None
    if group_by is not None and measure is not None and group_by.field == measure.path and aggregation != "count":
        raise SpecError(f"cannot group {field} by itself; group by another field")
    shown = _shown_fields(spec.fields, schema) if aggregation == RECORDS else ()
    _check_one_child_table(field, measure, filters, group_by, schema, shown)

    order = _order(spec.order)
    limit = _limit(spec.limit)
    if group_by is None and aggregation not in ROW_AGGREGATIONS:
        limit = None  # a single value: a limit means nothing
        order = None
    validated = QuerySpec(
        aggregation=aggregation,
        field=field,
        filters=filters,
        group_by=group_by,
        order=order,
        limit=limit,
        fields=shown,
    )
    return records.check(validated, schema) if aggregation == RECORDS else validated


# --- fields -----------------------------------------------------------------------------------------


def resolve_field(name: Any, schema: TableSchema, *, allow_child: bool = False) -> str:
    """The schema's path for ``name`` (exact, else case-insensitive), or ``SpecError`` with suggestions.

    With ``allow_child`` a child table's name (``items``) is accepted too.
    """
    if not isinstance(name, str) or not name.strip():
        raise SpecError("a field name is missing")
    if name in schema.columns or (allow_child and name in schema.children):
        return name
    folded = name.strip().casefold()
    candidates = list(schema.columns) + (list(schema.children) if allow_child else [])
    matches = [path for path in candidates if path.casefold() == folded]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise SpecError(f"the field {_shown(name)} is ambiguous: it could be {', '.join(matches)}")
    raise SpecError(f"unknown field {_shown(name)}; {_suggest(name, candidates)}")


def _suggest(name: str, candidates: list[str]) -> str:
    lowered = {path.casefold(): path for path in candidates}
    close = difflib.get_close_matches(name.casefold(), list(lowered), n=3, cutoff=0.6)
    tail = name.casefold().rsplit(".", 1)[-1]
    for path in candidates:  # ``city`` -> ``customer.city``
        if path.casefold().rsplit(".", 1)[-1] == tail and path.casefold() not in close:
            close.append(path.casefold())
    if close:
        return "did you mean " + " or ".join(lowered[item] for item in close[:3]) + "?"
    shown = ", ".join(candidates[:12]) + (", ..." if len(candidates) > 12 else "")
    return f"the fields are: {shown}"


def _measure(aggregation: str, field: Any, schema: TableSchema) -> tuple[str | None, ColumnInfo | None]:
    """The measured field (None for counting records) and its column (None for a child table's rows)."""
    if field in (None, ""):
        if aggregation in FIELD_AGGREGATIONS:
            raise SpecError(f"{aggregation} needs a field to work on")
        return None, None
    path = resolve_field(field, schema, allow_child=aggregation == "count")
    column = schema.columns.get(path)
    if column is None:  # a child table's name: count its rows
        return path, None
    if aggregation == "count":
        return path, column
    if column.type == "list":
        raise SpecError(f"{path} holds lists; {aggregation} cannot work on it (count or filter with contains)")
    if aggregation in NUMERIC_AGGREGATIONS and column.type != "number":
        raise SpecError(f"{aggregation} needs a number field, and {path} is {_type_words(column)}")
    if aggregation in ("min", "max", "argmax", "argmin") and column.type not in ORDERABLE_TYPES:
        raise SpecError(f"{aggregation} needs a number, date or text field, and {path} is {_type_words(column)}")
    return path, column


def _shown_fields(names: Any, schema: TableSchema) -> tuple[str, ...]:
    if isinstance(names, str) or not isinstance(names, (list, tuple)):
        raise SpecError("the fields to show must be a list of field names")
    return tuple(dict.fromkeys(resolve_field(name, schema) for name in names))


def _group_by(group: GroupBy, schema: TableSchema) -> GroupBy:
    if not isinstance(group, GroupBy):
        raise SpecError("the grouping has a bad shape")
    path = resolve_field(group.field, schema)
    column = schema.columns[path]
    part = group.date_part
    if part in ("", None):
        part = None
    else:
        part = str(part).strip().lower()
        if part not in DATE_PARTS:
            raise SpecError(f"unknown date part {_shown(group.date_part)}; use one of: {', '.join(DATE_PARTS)}")
        if column.type not in ("date", "timestamp"):
            raise SpecError(f"cannot take the {part} of {path}: it is {_type_words(column)}, not a date")
    if column.type == "list":
        raise SpecError(f"cannot group by {path}: it holds lists")
    return GroupBy(field=path, date_part=part)


def _check_one_child_table(
    field: str | None,
    measure: ColumnInfo | None,
    filters: tuple[Filter, ...],
    group_by: GroupBy | None,
    schema: TableSchema,
    shown: tuple[str, ...] = (),
) -> None:
    tables: dict[str, str] = {}  # child table -> first field of it
    if field is not None:
        table = measure.table if measure is not None else field
        if table != RECORDS_TABLE:
            tables.setdefault(table, field)
    for path in [item.field for item in filters] + ([group_by.field] if group_by else []) + list(shown):
        table = schema.columns[path].table
        if table != RECORDS_TABLE:
            tables.setdefault(table, path)
    if len(tables) > 1:
        fields = " and ".join(f"{path} (in {table})" for table, path in tables.items())
        raise SpecError(f"{fields} are in different lists of the records; one question can use only one of them")


def _order(order: Any) -> str | None:
    if order in (None, ""):
        return None
    normal = _ORDER_WORDS.get(str(order).strip().lower())
    if normal is None or normal not in ORDERS:
        raise SpecError(f"unknown order {_shown(order)}; use desc or asc")
    return normal


def _limit(limit: Any) -> int | None:
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int):
        try:
            limit = _to_int(limit)
        except ValueError:
            raise SpecError(f"the limit must be a whole number, not {_shown(limit)}") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise SpecError(f"the limit must be between 1 and {MAX_LIMIT}, not {limit}")
    return limit


def _to_int(value: Any) -> int:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*\d+\s*", value):
        return int(value)
    raise ValueError(value)


# --- filters ----------------------------------------------------------------------------------------


def _filter(item: Filter, schema: TableSchema) -> Filter:
    if not isinstance(item, Filter):
        raise SpecError("a filter has a bad shape")
    path = resolve_field(item.field, schema)
    column = schema.columns[path]
    op = str(item.op or "").strip().lower()
    if op == "==":
        op = "="
    elif op == "<>":
        op = "!="
    if op not in FILTER_OPS:
        raise SpecError(f"unknown filter {_shown(item.op)} on {path}; use one of: {', '.join(FILTER_OPS)}")
    if op in ("is_missing", "not_missing"):
        return Filter(path, op, None)
    if column.type == "list":
        return _list_filter(path, column, op, item.value)
    if op in COMPARE_OPS and column.type not in ("number", "date", "timestamp"):
        raise SpecError(f"{op} compares numbers and dates, and {path} is {_type_words(column)}")
    if op == "contains" and column.type != "text":
        raise SpecError(f"contains works on text and lists, and {path} is {_type_words(column)}")
    if op in TEXT_OPS and column.type != "text":
        raise SpecError(f"{op} works on text, and {path} is {_type_words(column)}")
    if column.type == "boolean" and op not in ("=", "!=", "in"):
        raise SpecError(f"{path} is true or false: filter it with = or !=")

    if op == "in":
        return Filter(path, op, _in_values(path, column, item.value))
    if op == "between":
        return _between(path, column, item.value)
    if op in TEXT_OPS:
        text = _scalar_text(path, item.value)
        if not text:
            raise SpecError(f"{op} on {path} needs some text to look for")
        return Filter(path, op, text)
    if column.type in ("date", "timestamp"):
        return _date_filter(path, column, op, item.value)
    return Filter(path, op, _coerce(path, column, item.value))


def _list_filter(path: str, column: ColumnInfo, op: str, value: Any) -> Filter:
    item_type = column.item_type or "text"
    element = replace(column, type=item_type)
    if op in ("=", "contains"):
        return Filter(path, "contains", _coerce(path, element, value))
    if op == "!=":
        return Filter(path, op, _coerce(path, element, value))
    if op == "in":
        return Filter(path, op, _in_values(path, element, value))
    raise SpecError(f"{path} holds lists: filter it with contains, in, != or is_missing, not {op}")


def _in_values(path: str, column: ColumnInfo, value: Any) -> list[Any]:
    values = list(value) if isinstance(value, (list, tuple, set, frozenset)) else [value]
    if not values:
        raise SpecError(f"'in' on {path} needs at least one value")
    if len(values) > MAX_IN_VALUES:
        raise SpecError(f"'in' on {path} has {len(values)} values; at most {MAX_IN_VALUES} are allowed")
    out: list[Any] = []
    seen: set[Any] = set()
    for raw in values:
        if column.type in ("date", "timestamp"):
            coerced: Any = _date_value(path, column, raw)[0]
        else:
            coerced = _coerce(path, column, raw)
        key = (type(coerced), coerced)
        if key not in seen:
            seen.add(key)
            out.append(coerced)
    return out


def _between(path: str, column: ColumnInfo, value: Any) -> Filter:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise SpecError(f"'between' on {path} needs two values: [low, high]")
    if column.type in ("date", "timestamp"):
        low = _date_value(path, column, value[0])[0]
        high = _date_value(path, column, value[1])[1]
        if _date_key(low) > _date_key(high):
            low, high = _date_value(path, column, value[1])[0], _date_value(path, column, value[0])[1]
        return Filter(path, "between", [low, high])
    low, high = _coerce(path, column, value[0]), _coerce(path, column, value[1])
    if low > high:
        low, high = high, low
    return Filter(path, "between", [low, high])


def _date_filter(path: str, column: ColumnInfo, op: str, value: Any) -> Filter:
    first, last = _date_value(path, column, value)
    if op == "=" and first != last:
        return Filter(path, "between", [first, last])
    if op == "!=" and first != last:
        raise SpecError(f"!= on {path} needs a single date, not the period {_shown(value)}")
    if op in ("<=", ">"):
        return Filter(path, op, last)
    return Filter(path, op, first)


def _coerce(path: str, column: ColumnInfo, value: Any) -> Any:
    """``value`` as the column's type (numbers, booleans, text; dates go through ``_date_value``)."""
    if value is None or (isinstance(value, (list, tuple, dict, set))):
        if value is None:
            raise SpecError(f"a filter on {path} has no value; use is_missing to find records without one")
        raise SpecError(f"a filter on {path} needs a single value, not {_shown(value)}")
    kind = column.type
    if kind == "number":
        return _number(path, value)
    if kind == "boolean":
        return _boolean(path, value)
    if kind in ("date", "timestamp"):
        return _date_value(path, column, value)[0]
    text = _scalar_text(path, value)
    if column.categorical:
        return _categorical(path, column, text)
    return text


def _number(path: str, value: Any) -> int | float:
    if isinstance(value, bool):
        raise SpecError(f"{path} holds numbers, not {_shown(value)}")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SpecError(f"{path} holds numbers; {_shown(value)} is not a usable number")
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, str):
        text = value.strip()
        if _GROUPED_NUMBER.match(text):
            text = text.replace(",", "")
        if _NUMBER.match(text):
            number = float(text)
            if re.fullmatch(r"[-+]?\d+", text):
                return int(text)
            if math.isfinite(number):
                return number
    raise SpecError(f"{path} holds numbers, and {_shown(value)} is not a number")


def _boolean(path: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise SpecError(f"{path} is true or false, and {_shown(value)} is neither")


def _scalar_text(path: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    raise SpecError(f"a filter on {path} needs a single value, not {_shown(value)}")


def _categorical(path: str, column: ColumnInfo, text: str) -> str:
    """The stored spelling of ``text`` among the column's values."""
    stored = [value for value in column.values if isinstance(value, str)]
    if text in stored:
        return text
    folded = text.strip().casefold()
    matches = [value for value in stored if value.casefold() == folded]
    if matches:
        return matches[0]
    close = difflib.get_close_matches(text, stored, n=SHOWN_VALUES, cutoff=0.5)
    shown = close + [value for value in stored if value not in close]
    listed = ", ".join(_shown(value, 40) for value in shown[:SHOWN_VALUES])
    more = f" (and {len(stored) - SHOWN_VALUES} more)" if len(stored) > SHOWN_VALUES else ""
    raise SpecError(f"{_shown(text)} is not a value of {path}; its values are: {listed}{more}")


def _date_value(path: str, column: ColumnInfo, value: Any) -> tuple[str, str]:
    """The first and last moment ``value`` stands for, as ISO text (equal for a single day or moment)."""
    if isinstance(value, bool) or value is None:
        raise SpecError(f"{path} holds dates, and {_shown(value)} is not a date")
    if isinstance(value, (datetime, date)):
        value = value.isoformat()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if _YEAR.match(text) and 1 <= int(text) <= 9999:
        year = int(text)
        return date(year, 1, 1).isoformat(), date(year, 12, 31).isoformat()
    month = _MONTH.match(text)
    if month:
        year, number = int(month.group(1)), int(month.group(2))
        if 1 <= year <= 9999 and 1 <= number <= 12:
            return date(year, number, 1).isoformat(), date(year, number, monthrange(year, number)[1]).isoformat()
    moment = parse_iso_date(text)
    if moment is None:
        raise SpecError(
            f"{path} holds dates, and {_shown(value)} is not a date (write it as 2024-03-05, 2024-03 or 2024)"
        )
    if column.type == "date" or len(text) == 10:
        day = moment.date().isoformat()
        return day, day
    stamp = moment.isoformat()
    return stamp, stamp


def _date_key(text: str) -> str:
    """Sort key of an ISO date or date-time: a date sorts as its first moment."""
    return text if "T" in text else text + "T00:00:00"


# --- messages ---------------------------------------------------------------------------------------


def _type_words(column: ColumnInfo) -> str:
    return {
        "number": "a number field",
        "boolean": "a true/false field",
        "date": "a date field",
        "timestamp": "a date-time field",
        "text": "a text field",
        "list": "a list field",
    }.get(column.type, f"a {column.type} field")


def _shown(value: Any, width: int = _NAME_WIDTH) -> str:
    """A value quoted for a message, cut to ``width`` characters."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) > width:
        text = text[: width - 3] + "..."
    return f"'{text}'"
