"""The query spec: a small typed description of an analytic question, never SQL.

A planner (rules or an LLM) fills a ``QuerySpec``; ``validate_spec`` checks it against the
dataset's ``TableSchema``; only then is SQL built from it, with identifiers taken from the
schema and values bound as parameters. Most operations compute a value, per group or not; ``argmax``,
``argmin`` and ``records`` return records (``records``: those matching the filters, with the ``fields``
asked of them; its spec rules, SQL and sentences sit together in ``rag.analytics.records``).

Field names are the dataset's flattened field paths as the profile shows them (``Origin``,
``customer.city``). Fields of arrays of objects inside records are named by the array's path
plus the element's path (``items.category``): they live in a child table keyed by the record id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

AGGREGATIONS = ("count", "count_distinct", "sum", "mean", "median", "min", "max", "argmax", "argmin", "records")
"""``count`` with no field counts records; ``argmax``/``argmin`` return the records with the highest/lowest
value; ``records`` returns the records matching the filters, with the ``fields`` asked of them (a lookup:
"What is the alpha_3 of Norway?", or a listing: "Which subdivisions end with 'burg'?")."""
RECORD_AGGREGATIONS = ("argmax", "argmin")
"""The ranking operations whose result rows are records."""
RECORDS = "records"
"""The operation that returns the matching records themselves (``rag.analytics.records``)."""
ROW_AGGREGATIONS = RECORD_AGGREGATIONS + (RECORDS,)
"""Operations whose result rows are records, the record id in each (found by position)."""
FIELD_AGGREGATIONS = ("count_distinct", "sum", "mean", "median", "min", "max", "argmax", "argmin")
"""Aggregations that need a field."""
NUMERIC_AGGREGATIONS = ("sum", "mean", "median")
"""Aggregations that need a number field (min/max/argmax/argmin also take dates and text)."""
FILTER_OPS = ("=", "!=", "<", "<=", ">", ">=", "in", "contains", "starts_with", "ends_with", "between", "is_missing",
              "not_missing")
TEXT_OPS = ("contains", "starts_with", "ends_with")
"""Filters that look for text inside a text field, ignoring case."""
DATE_PARTS = ("year", "month", "day", "weekday", "quarter")
ORDERS = ("desc", "asc")
MAX_LIMIT = 1000
MAX_IN_VALUES = 200

RECORDS_TABLE = "records"
"""Name of the main table: one row per record."""
RECORD_ID = "_record_id"
"""Column holding the record id (its JSON path) in every table."""

COLUMN_TYPES = ("number", "boolean", "date", "timestamp", "text", "list")
"""``number``: DOUBLE or BIGINT; ``date``/``timestamp``: parsed ISO strings; ``list``: array of scalars."""


@dataclass(frozen=True)
class Filter:
    """One condition on a field."""

    field: str
    op: str
    """One of ``FILTER_OPS``."""
    value: Any = None
    """A scalar; a list for ``in``; ``[low, high]`` (inclusive) for ``between``; unused for ``is_missing``."""

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "op": self.op, "value": self.value}


@dataclass(frozen=True)
class GroupBy:
    """Group by a field, or by a part of a date field."""

    field: str
    date_part: str | None = None
    """One of ``DATE_PARTS`` (date fields only), or None for the value itself."""

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "date_part": self.date_part}


@dataclass(frozen=True)
class QuerySpec:
    """One analytic question, as data."""

    aggregation: str
    """One of ``AGGREGATIONS``."""
    field: str | None = None
    """The measured field; None only for ``count`` (count the records) and ``records``. A child table's own
    name (``items``) with ``count`` counts its rows. For ``records``: the field the records are sorted by."""
    filters: tuple[Filter, ...] = ()
    """All must hold (AND)."""
    group_by: GroupBy | None = None
    order: str | None = None
    """Order of the groups (by the aggregated value), of the records of argmax/argmin, or of ``records`` by
    ``field``: ``desc``/``asc``."""
    limit: int | None = None
    """Top-N groups, or N records for argmax/argmin (1 when unset), or at most N records for ``records``."""
    fields: tuple[str, ...] = ()
    """``records`` only: the fields to show of each record (its label is always shown). A field of a child
    table (``items.product``) shows the record's elements' values as a list. For ``records``, ``field`` is
    the field to sort by (None: the file's order)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "aggregation": self.aggregation,
            "field": self.field,
            "filters": [f.to_dict() for f in self.filters],
            "group_by": self.group_by.to_dict() if self.group_by else None,
            "order": self.order,
            "limit": self.limit,
            "fields": list(self.fields),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "QuerySpec":
        """Read a spec from a dict (as an LLM or JSON gives it); raises ``SpecError`` on a bad shape."""
        from rag.analytics.errors import SpecError

        if not isinstance(data, dict):
            raise SpecError("the plan is not an object")
        try:
            filters = tuple(
                Filter(field=str(f["field"]), op=str(f["op"]), value=f.get("value"))
                for f in (data.get("filters") or [])
            )
            group = data.get("group_by")
            group_by = None
            if isinstance(group, str) and group:
                group_by = GroupBy(field=group)
            elif isinstance(group, dict) and group.get("field"):
                group_by = GroupBy(field=str(group["field"]), date_part=group.get("date_part") or None)
            limit = data.get("limit")
            shown = data.get("fields") or ()
            if isinstance(shown, str):
                shown = (shown,)
            return cls(
                aggregation=str(data["aggregation"]),
                field=(str(data["field"]) if data.get("field") not in (None, "") else None),
                filters=filters,
                group_by=group_by,
                order=data.get("order") or None,
                limit=int(limit) if limit not in (None, "") else None,
                fields=tuple(str(name) for name in shown if name not in (None, "")),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise SpecError(f"the plan has a bad shape ({exc})") from exc


@dataclass(frozen=True)
class ColumnInfo:
    """One queryable field of the dataset."""

    path: str
    """Field path as the user sees it (``customer.city``, ``items.category``); the SQL column name."""
    table: str
    """``records`` or a child table's name (the array's path, ``items``)."""
    type: str
    """One of ``COLUMN_TYPES``."""
    categorical: bool = False
    """Few distinct values: ``values`` lists them all, and filters must use one of them."""
    values: tuple[Any, ...] = ()
    """Every distinct value (categorical columns) or the most common ones (others), most common first."""
    present: int = 0
    """Rows holding a value."""
    distinct: int = 0
    """Distinct values (0 when not counted)."""
    minimum: Any = None
    maximum: Any = None
    item_type: str | None = None
    """For ``list`` columns: the type of the elements (``number``, ``boolean``, ``text``)."""
    sql_name: str = ""
    """The column's name in SQL when it differs from ``path`` (DuckDB names ignore case, so ``Name``
    and ``name`` cannot both be columns); empty when it is ``path``."""


@dataclass(frozen=True)
class ChildTable:
    """An array of objects inside the records, as its own table keyed by ``_record_id``."""

    name: str
    """The array's field path (``items``): also the SQL table name."""
    rows: int
    sql_name: str = ""
    """The table's name in SQL when it differs from ``name`` (e.g. an array called ``records``)."""


@dataclass(frozen=True)
class TableSchema:
    """What the planners and the validator know of the dataset's tables."""

    record_count: int
    columns: dict[str, ColumnInfo]
    """Field path -> column, for every table."""
    children: dict[str, ChildTable] = field(default_factory=dict)
    label_field: str | None = None
    """The field that names a record best (``Name``, ``title``): shown with argmax/argmin and filters."""
    dataset_name: str = ""

    def column(self, path: str) -> ColumnInfo | None:
        return self.columns.get(path)
