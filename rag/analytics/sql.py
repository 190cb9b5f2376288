"""SQL from a validated ``QuerySpec``: identifiers from the schema, values as bound parameters.

Only ``build_sql`` and its two companions write SQL, and only from a spec that went through
``validate_spec``. Every identifier is a table or column name of the ``TableSchema`` (its
``sql_name``), written in double quotes with any ``"`` doubled; every value of the spec goes into
``params`` and the text holds ``?``. ``display_sql`` is the same statement with the parameters
written in as quoted literals, for showing to the user; it is never executed.

What a spec computes
--------------------
* **No group**: one row with one column, named after the measure (``count``,
  ``mean(Miles_per_Gallon)``). ``count`` without a field counts records; ``count`` of a child
  table's name (``items``) counts its rows; ``count`` of a field counts the rows where it has a
  value; ``count_distinct`` counts distinct values; ``sum``, ``mean``; ``median`` is the middle
  value, the mean of the two middle values for an even count (DuckDB's ``median`` on numbers is
  ``quantile_cont(x, 0.5)``); ``min``/``max`` take numbers, dates and text. Missing values
  (NULL) are left out of every aggregate; an aggregate over no value is None.
* **Group by**: columns [group, value], the group named after the field (``Origin``) or the date
  part (``month(order_date)``). Records without a value form a group of their own (None). Order:
  by value, highest first, for a field's groups (ties by group); oldest first for a date part.
  ``order`` sorts by value instead; ``limit`` keeps the first N groups; ``limit`` 1 keeps every group tied
  with the first (the most common value of a field where two are as common is both of them). Date parts: ``year`` ->
  an integer, ``month`` -> ``'YYYY-MM'``, ``quarter`` -> ``'YYYY-Qn'``, ``day`` -> the date,
  ``weekday`` -> the English day name (ordered Monday to Sunday).
* **argmax / argmin**: the records with the highest / lowest value of the field (records without
  a value left out), ``limit`` of them (1 when unset); records tied with the last one are all
  kept (up to ``MAX_LIMIT``). Columns: ``_record_id``, the schema's label field (when there is one
  and it is neither the field nor the group), the field. ``order`` only changes the order they
  are shown in. With a group: per group, the record(s) with the highest / lowest value, as
  [group, ...], ``limit`` groups. The record id's column is told by position
  (``SqlQuery.record_id_column``), never by name: a data field may be called ``_record_id`` too.
* **records**: the matching records themselves, with the fields asked of them (``rag.analytics.records``
  builds that statement, on this module's ``_Scope``).
* **Names**: result columns carry the data's own field names (``mean(a"b)``, ``_record_id``); inside a
  statement every column is qualified by its table's alias and the outer ORDER BY goes by position,
  so a field called like a name the statement uses itself (``v``, ``g``, ``record``) changes nothing.
* **Values**: ``build_values_sql`` counts the values a single-value measure was taken over (the rows at the
  spec's grain where its field has a value, its filters holding): the sentences name them ("over the 152
  items", "over the 400 of 406 cars with a Horsepower").
* **Filters** all hold (AND). Text: ``=``, ``!=``, ``in`` compare case-insensitively, except on
  categorical fields, whose values the validator has already turned into the stored spelling;
  ``contains`` is a case-insensitive substring test. Lists: ``contains`` is membership of an
  element (ignoring case for free text), ``in`` "has any of", ``!=`` "does not have". ``!=``
  keeps records without a value (``IS DISTINCT FROM``); the comparisons (``<``, ``between``, ...) never match a missing
  value; ``between`` includes both ends; ``is_missing`` is NULL, ``not_missing`` NOT NULL.
  Dates compare as dates; on a date-time field a date-only value compares the day (``<=
  2024-03-05`` takes the whole 5th of March).
* **Child tables** (arrays of objects, ``items``): a spec whose measure or group is a child
  field runs at the child grain: one row per element, ``FROM items`` joined to ``records`` on
  ``_record_id`` when record fields are used too. ``count`` without a field then counts distinct
  records, and a record field measured per child group (``mean(total)`` by ``items.category``)
  counts each record once per group. A spec that only filters on child fields runs over the
  records: a record matches when one of its elements meets every child filter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from rag.analytics import records
from rag.analytics.spec import (
    MAX_LIMIT,
    RECORD_AGGREGATIONS,
    RECORD_ID,
    RECORDS,
    RECORDS_TABLE,
    ROW_AGGREGATIONS,
    ColumnInfo,
    Filter,
    QuerySpec,
    TableSchema,
)

RECORD_IDS_SHOWN = 20
"""Matching record ids returned with a filtered single value, for sources."""
INTERNAL_NAMES = frozenset({RECORD_ID.casefold(), "rowid"})
"""Column names every table uses itself (the record id; DuckDB's row number): a data field called so gets
another SQL name (``ColumnInfo.sql_name``) and keeps its own everywhere it is shown."""

_RECORD_ALIAS = "r"
_CHILD_ALIAS = "c"
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_AGGREGATE_SQL = {
    "count_distinct": "count(DISTINCT {})",
    "sum": "sum({})",
    "mean": "avg({})",
    "median": "median({})",
    "min": "min({})",
    "max": "max({})",
    "count": "count({})",
}
_COMPARISONS = ("<", "<=", ">", ">=")


@dataclass(frozen=True)
class SqlQuery:
    """One statement, ready to run."""

    sql: str
    """SQL text with ``?`` for every value."""
    params: list[Any]
    display_sql: str
    """The statement with the values written in as literals: for people, never executed."""
    columns: list[str]
    """Names of the result columns."""
    max_rows: int = MAX_LIMIT
    """Rows the caller keeps; the statement may return one more, to tell that there were more."""
    record_id_column: int | None = None
    """Where the record id stands in each row (argmax/argmin), else None. Found by position, never by
    name: a data field may be called ``_record_id`` too."""


def quote_identifier(name: str) -> str:
    """``name`` as a double-quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def sql_literal(value: Any) -> str:
    """``value`` as a SQL literal, for the display SQL only."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else "NULL"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(sql_literal(item) for item in value) + "]"
    return "'" + str(value).replace("'", "''") + "'"


def build_sql(spec: QuerySpec, schema: TableSchema) -> SqlQuery:
    """The statement computing ``spec`` (validated against ``schema``)."""
    if spec.aggregation == RECORDS:
        return records.build_sql(spec, schema)
    scope = _Scope(spec, schema)
    if spec.aggregation in RECORD_AGGREGATIONS:
        return scope.records_query()
    if spec.group_by is not None:
        return scope.group_query()
    return scope.value_query()


def build_matched_sql(spec: QuerySpec, schema: TableSchema) -> SqlQuery | None:
    """The statement counting the records that match the filters, or None when that is every record."""
    scope = _Scope(spec, schema)
    if scope.child is None and not spec.filters:
        return None
    return scope.matched_query()


def build_values_sql(spec: QuerySpec, schema: TableSchema) -> SqlQuery | None:
    """The statement counting the values a single-value measure was taken over (the rows at the spec's grain
    holding a value of its field: the items of an average over ``items.unit_price``), or None for counts, groups
    and records."""
    if spec.group_by is not None or spec.field is None or spec.aggregation not in _VALUE_MEASURES:
        return None
    scope = _Scope(spec, schema)
    if scope.measure is None:
        return None
    return scope.values_query()


_VALUE_MEASURES = ("count_distinct", "sum", "mean", "median", "min", "max")


def build_record_ids_sql(spec: QuerySpec, schema: TableSchema, limit: int = RECORD_IDS_SHOWN) -> SqlQuery | None:
    """The statement listing the first matching record ids of a filtered single-value spec, else None."""
    if not spec.filters or spec.group_by is not None or spec.aggregation in ROW_AGGREGATIONS:
        return None
    return _Scope(spec, schema).record_ids_query(limit)


# --- statement assembly -------------------------------------------------------------------------------


class _Text:
    """SQL text whose values are kept apart: ``?`` in the statement, literals in the display."""

    def __init__(self) -> None:
        self._parts: list[str | tuple[Any]] = []

    def add(self, text: str) -> "_Text":
        self._parts.append(text)
        return self

    def param(self, value: Any) -> "_Text":
        self._parts.append((value,))
        return self

    def extend(self, other: "_Text") -> "_Text":
        self._parts.extend(other._parts)
        return self

    def query(self, columns: list[str], max_rows: int = MAX_LIMIT, record_id_column: int | None = None) -> SqlQuery:
        sql, display, params = [], [], []
        for part in self._parts:
            if isinstance(part, tuple):
                sql.append("?")
                display.append(sql_literal(part[0]))
                params.append(part[0])
            else:
                sql.append(part)
                display.append(part)
        return SqlQuery("".join(sql), params, "".join(display), columns, max_rows, record_id_column)


def _joined(pieces: list[_Text], separator: str) -> _Text:
    text = _Text()
    for index, piece in enumerate(pieces):
        if index:
            text.add(separator)
        text.extend(piece)
    return text


class _Scope:
    """The tables a spec reads and how its fields are referred to."""

    def __init__(self, spec: QuerySpec, schema: TableSchema) -> None:
        self.spec = spec
        self.schema = schema
        self.measure = schema.columns.get(spec.field) if spec.field else None
        self.counts_child_rows = spec.field is not None and self.measure is None  # count(items)
        self.group = schema.columns[spec.group_by.field] if spec.group_by else None
        child_name = None
        if self.counts_child_rows:
            child_name = spec.field
        for column in [self.measure, self.group] + [schema.columns[f.field] for f in spec.filters]:
            if column is not None and column.table != RECORDS_TABLE:
                child_name = column.table
        self.child = schema.children.get(child_name) if child_name else None
        measure_in_child = self.counts_child_rows or (self.measure is not None and self.measure.table != RECORDS_TABLE)
        group_in_child = self.group is not None and self.group.table != RECORDS_TABLE
        self.child_grain = self.child is not None and (measure_in_child or group_in_child)
        self.dedupe = self.child_grain and not measure_in_child
        """A record measure per child group: each record counts once per group."""
        label = schema.label_field or _first_date_field(schema, spec.field)
        group_field = spec.group_by.field if spec.group_by else None
        self.label = (
            schema.columns.get(label)
            if label and label not in (spec.field, group_field) and spec.aggregation in RECORD_AGGREGATIONS
            else None
        )
        uses_records = any(
            column is not None and column.table == RECORDS_TABLE
            for column in [self.measure, self.group, self.label] + [schema.columns[f.field] for f in spec.filters]
        )
        self.join = self.child_grain and uses_records

    # -- names

    def ref(self, column: ColumnInfo) -> str:
        alias = _RECORD_ALIAS if column.table == RECORDS_TABLE else _CHILD_ALIAS
        return f"{alias}.{quote_identifier(column.sql_name or column.path)}"

    def row_id(self) -> str:
        """The record id column at the query's grain."""
        alias = _CHILD_ALIAS if self.child_grain else _RECORD_ALIAS
        return f"{alias}.{quote_identifier(RECORD_ID)}"

    def row_order(self) -> str:
        alias = _CHILD_ALIAS if self.child_grain else _RECORD_ALIAS
        return f"{alias}.rowid"

    def from_clause(self) -> str:
        records = f"{quote_identifier(RECORDS_TABLE)} AS {_RECORD_ALIAS}"
        if not self.child_grain:
            return f" FROM {records}"
        child = f"{quote_identifier(self.child.sql_name or self.child.name)} AS {_CHILD_ALIAS}"
        if not self.join:
            return f" FROM {child}"
        on = f"{_RECORD_ALIAS}.{quote_identifier(RECORD_ID)} = {_CHILD_ALIAS}.{quote_identifier(RECORD_ID)}"
        return f" FROM {child} JOIN {records} ON {on}"

    def where(self, extra: list[str | _Text] = ()) -> _Text:
        """`` WHERE ...`` for the filters (and ``extra`` conditions), or nothing."""
        conditions = [item if isinstance(item, _Text) else _Text().add(item) for item in extra]
        child_filters = []
        for item in self.spec.filters:
            column = self.schema.columns[item.field]
            if column.table != RECORDS_TABLE and not self.child_grain:
                child_filters.append(_condition(item, column, self.ref(column)))
            else:
                conditions.append(_condition(item, column, self.ref(column)))
        if child_filters:
            child = f"{quote_identifier(self.child.sql_name or self.child.name)} AS {_CHILD_ALIAS}"
            record_id = quote_identifier(RECORD_ID)
            semi = _Text().add(f"{_RECORD_ALIAS}.{record_id} IN (SELECT {_CHILD_ALIAS}.{record_id} FROM {child} WHERE ")
            semi.extend(_joined(child_filters, " AND ")).add(")")
            conditions.append(semi)
        if not conditions:
            return _Text()
        return _Text().add(" WHERE ").extend(_joined(conditions, " AND "))

    def measure_sql(self, value: str | None = None) -> str:
        """The aggregate of the spec over ``value`` (the measured column by default)."""
        spec = self.spec
        if spec.aggregation == "count" and (spec.field is None or self.counts_child_rows):
            if spec.field is None and self.child_grain and not self.dedupe:
                return f"count(DISTINCT {self.row_id()})"
            return "count(*)"
        target = value or self.ref(self.measure)
        return _AGGREGATE_SQL[spec.aggregation].format(target)

    def measure_label(self) -> str:
        spec = self.spec
        if spec.aggregation == "count" and spec.field is None:
            return "count"
        return f"{spec.aggregation}({spec.field})"

    def group_label(self) -> str:
        group = self.spec.group_by
        return f"{group.date_part}({group.field})" if group.date_part else group.field

    def group_sql(self) -> str:
        expression = self.ref(self.group)
        part = self.spec.group_by.date_part
        if part == "year":
            return f"year({expression})"
        if part == "month":
            return f"strftime({expression}, '%Y-%m')"
        if part == "quarter":
            return f"CAST(year({expression}) AS VARCHAR) || '-Q' || CAST(quarter({expression}) AS VARCHAR)"
        if part == "day":
            return f"CAST({expression} AS DATE)"
        if part == "weekday":
            return f"dayname({expression})"
        return expression

    def group_order(self, group: str, value: str, expression: str) -> str:
        """ORDER BY of a group query: ``group``/``value`` name the result columns, ``expression`` computes the group."""
        part = self.spec.group_by.date_part
        if self.spec.order is not None:
            return f"{value} {self.spec.order.upper()} NULLS LAST, {group} ASC NULLS LAST"
        if part == "weekday":
            cases = " ".join(f"WHEN '{name}' THEN {index}" for index, name in enumerate(_WEEKDAYS, 1))
            return f"CASE {expression} {cases} END ASC NULLS LAST"
        if part is not None:
            return f"{group} ASC NULLS LAST"
        return f"{value} DESC NULLS LAST, {group} ASC NULLS LAST"

    def limit(self, text: _Text, rows: int) -> None:
        text.add(" LIMIT ").param(rows)

    # -- statements

    def value_query(self) -> SqlQuery:
        label = self.measure_label()
        text = _Text().add(f"SELECT {self.measure_sql()} AS {quote_identifier(label)}{self.from_clause()}")
        text.extend(self.where())
        return text.query([label], max_rows=1)

    def group_query(self) -> SqlQuery:
        group_label, value_label = self.group_label(), self.measure_label()
        group_name, value_name = quote_identifier(group_label), quote_identifier(value_label)
        keep = self.spec.limit or MAX_LIMIT
        measure = self.measure_sql("d.v") if self.dedupe else self.measure_sql()
        if self.dedupe:
            inner_value = "" if self.spec.field is None else f", {self.ref(self.measure)} AS v"
            text = _Text().add(
                f"SELECT d.g AS {group_name}, {measure} AS {value_name} FROM (SELECT DISTINCT "
                f"{self.group_sql()} AS g, {self.row_id()} AS record{inner_value}{self.from_clause()}"
            )
            text.extend(self.where(self.ranked_groups())).add(") AS d GROUP BY 1")
        else:
            text = _Text().add(
                f"SELECT {self.group_sql()} AS {group_name}, {measure} AS {value_name}{self.from_clause()}"
            )
            text.extend(self.where(self.ranked_groups())).add(" GROUP BY 1")
        ranked = self.spec.limit == 1 and (self.spec.order is not None or self.spec.group_by.date_part is None)
        if ranked:  # the top group by value, with every group tied with it (two equally common values)
            direction = (self.spec.order or "desc").upper()
            text.add(f" QUALIFY rank() OVER (ORDER BY {measure} {direction} NULLS LAST) <= ").param(self.spec.limit)
        text.add(" ORDER BY " + self.group_order("1", "2", "d.g" if self.dedupe else self.group_sql()))
        if ranked:
            self.limit(text, MAX_LIMIT + 1)
            return text.query([group_label, value_label], max_rows=MAX_LIMIT)
        self.limit(text, keep if self.spec.limit else keep + 1)
        return text.query([group_label, value_label], max_rows=keep)

    def ranked_groups(self) -> list[str]:
        """For a top-N, records without a group are left out: "missing" is not the city with the most airports."""
        return [f"{self.group_sql()} IS NOT NULL"] if self.spec.limit else []

    def records_query(self) -> SqlQuery:
        spec = self.spec
        field = self.ref(self.measure)
        direction = "DESC" if spec.aggregation == "argmax" else "ASC"
        shown = spec.order.upper() if spec.order else direction
        label_sql = f", {self.ref(self.label)} AS label" if self.label is not None else ""
        columns = [RECORD_ID] + ([self.label.path] if self.label is not None else []) + [spec.field]
        names = [quote_identifier(name) for name in columns]
        if spec.group_by is None:
            keep = spec.limit or 1
            outer = ", ".join(
                [f"{self.row_id()} AS {names[0]}"]
                + ([f"{self.ref(self.label)} AS {names[1]}"] if self.label is not None else [])
                + [f"{field} AS {names[-1]}"]
            )
            # the records at or beyond the keep-th value: rank() <= keep, with a top-N instead of a full sort
            bound = "min" if direction == "DESC" else "max"
            cutoff = _Text().add(
                f"{field} {'>=' if direction == 'DESC' else '<='} (SELECT {bound}(top.v) "
                f"FROM (SELECT {field} AS v{self.from_clause()}"
            )
            cutoff.extend(self.where([f"{field} IS NOT NULL"])).add(f" ORDER BY 1 {direction} LIMIT ").param(keep)
            cutoff.add(") AS top)")
            text = _Text().add(f"SELECT {outer}{self.from_clause()}")
            text.extend(self.where([f"{field} IS NOT NULL", cutoff]))
            text.add(f" ORDER BY {field} {shown}, {self.row_order()}")
            self.limit(text, MAX_LIMIT + 1)
            return text.query(columns, max_rows=MAX_LIMIT, record_id_column=0)

        group_label = self.group_label()
        columns = [group_label] + columns
        group_name = quote_identifier(group_label)
        keep = spec.limit or MAX_LIMIT
        distinct = "DISTINCT " if self.dedupe else ""
        text = _Text().add(
            f"SELECT d.g AS {group_name}, d.record AS {names[0]}"
            + (f", d.label AS {names[1]}" if self.label is not None else "")
            + f", d.v AS {names[-1]} FROM (SELECT {distinct}{self.group_sql()} AS g, {self.row_id()} AS record"
            + f"{label_sql}, {field} AS v{self.from_clause()}"
        )
        text.extend(self.where([f"{field} IS NOT NULL"]))
        text.add(f") AS d QUALIFY rank() OVER (PARTITION BY d.g ORDER BY d.v {direction}) = 1")
        # by position: the output names are the data's own (a field called "v" or "g" must not be sorted by)
        text.add(f" ORDER BY {len(columns)} {shown}, 1 ASC NULLS LAST, 2")
        self.limit(text, keep if spec.limit else keep + 1)
        return text.query(columns, max_rows=keep, record_id_column=1)

    def matched_query(self) -> SqlQuery:
        counted = f"count(DISTINCT {self.row_id()})" if self.child_grain else "count(*)"
        text = _Text().add(f"SELECT {counted} AS matched{self.from_clause()}")
        text.extend(self.where())
        return text.query(["matched"], max_rows=1)

    def values_query(self) -> SqlQuery:
        text = _Text().add(f"SELECT count({self.ref(self.measure)}) AS counted{self.from_clause()}")
        text.extend(self.where())
        return text.query(["counted"], max_rows=1)

    def record_ids_query(self, limit: int) -> SqlQuery:
        record = self.row_id()
        text = _Text().add(f"SELECT {record} AS {quote_identifier(RECORD_ID)}{self.from_clause()}")
        text.extend(self.where())
        if self.child_grain:
            text.add(f" GROUP BY {record} ORDER BY min({self.row_order()})")
        else:
            text.add(f" ORDER BY {self.row_order()}")
        self.limit(text, limit)
        return text.query([RECORD_ID], max_rows=limit)


# --- filters ------------------------------------------------------------------------------------------


def _condition(item: Filter, column: ColumnInfo, ref: str) -> _Text:
    """The SQL of one validated filter on ``column`` (referred to as ``ref``)."""
    op, value = item.op, item.value
    text = _Text()
    if op == "is_missing":
        return text.add(f"{ref} IS NULL")
    if op == "not_missing":
        return text.add(f"{ref} IS NOT NULL")
    kind = column.type
    if kind == "list" and column.item_type == "text" and not column.categorical:
        return _text_list_condition(op, value, ref)
    if kind == "list":
        if op == "contains":
            return text.add(f"list_contains({ref}, ").param(value).add(")")
        if op == "!=":
            return text.add(f"NOT coalesce(list_contains({ref}, ").param(value).add("), false)")
        if op == "in":
            return text.add(f"list_has_any({ref}, [").extend(_values(value)).add("])")
        raise ValueError(f"unsupported filter {op} on a list")
    if kind in ("date", "timestamp"):
        return _date_condition(op, value, kind, ref)
    folded = kind == "text" and not column.categorical
    if op in _TEXT_FUNCTIONS:
        return text.add(f"{_TEXT_FUNCTIONS[op]}(lower({ref}), lower(").param(value).add("))")
    left = f"lower({ref})" if folded else ref
    if op == "in":
        values = [str(item).lower() for item in value] if folded else list(value)
        return text.add(f"{left} IN (").extend(_values(values)).add(")")
    if folded:
        value = str(value).lower()
    if op == "=":
        return text.add(f"{left} = ").param(value)
    if op == "!=":
        return text.add(f"{left} IS DISTINCT FROM ").param(value)
    if op in _COMPARISONS:
        return text.add(f"{left} {op} ").param(value)
    if op == "between":
        return text.add(f"{left} BETWEEN ").param(value[0]).add(" AND ").param(value[1])
    raise ValueError(f"unsupported filter {op}")


_TEXT_FUNCTIONS = {"contains": "contains", "starts_with": "starts_with", "ends_with": "ends_with"}
"""DuckDB's function for each text filter (applied to both sides in lower case)."""


def _text_list_condition(op: str, value: Any, ref: str) -> _Text:
    """Membership in a list of free text, ignoring case."""
    has = f"EXISTS (SELECT 1 FROM (SELECT unnest({ref}) AS element) AS e WHERE lower(e.element) "
    if op == "in":
        return _Text().add(has + "IN (").extend(_values([str(item).lower() for item in value])).add("))")
    text = _Text().add(("NOT " if op == "!=" else "") + has + "= ").param(str(value).lower()).add(")")
    if op in ("contains", "!="):
        return text
    raise ValueError(f"unsupported filter {op} on a list")


def _values(values: list[Any]) -> _Text:
    text = _Text()
    for index, value in enumerate(values):
        if index:
            text.add(", ")
        text.param(value)
    return text


def _is_day(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 10


def _date_condition(op: str, value: Any, kind: str, ref: str) -> _Text:
    """Dates compare as dates; a day on a date-time field stands for the whole day."""

    def side(operator: str, bound: str) -> _Text:
        if kind == "date" or _is_day(bound):
            left = ref if kind == "date" else f"CAST({ref} AS DATE)"
            return _Text().add(f"{left} {operator} CAST(").param(bound).add(" AS DATE)")
        return _Text().add(f"{ref} {operator} CAST(").param(bound).add(" AS TIMESTAMP)")

    if op in _COMPARISONS or op == "=":
        return side(op, value)
    if op == "!=":
        inner = side("=", value)
        return _Text().add(f"({ref} IS NULL OR NOT (").extend(inner).add("))")
    if op == "between":
        return _Text().extend(side(">=", value[0])).add(" AND ").extend(side("<=", value[1]))
    if op == "in":
        days = all(_is_day(item) for item in value)
        cast = "DATE" if kind == "date" or days else "TIMESTAMP"
        left = f"CAST({ref} AS DATE)" if kind == "timestamp" and days else ref
        text = _Text().add(f"{left} IN (")
        for index, item in enumerate(value):
            text.add(", " if index else "").add("CAST(").param(item).add(f" AS {cast})")
        return text.add(")")
    raise ValueError(f"unsupported filter {op} on a date")


def _first_date_field(schema: TableSchema, measured: str | None) -> str | None:
    """Where no text field names a record (a time series), its date does."""
    for column in schema.columns.values():
        if column.table == RECORDS_TABLE and column.type in ("date", "timestamp") and column.path != measured:
            return column.path
    return None
