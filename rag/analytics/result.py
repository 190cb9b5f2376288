"""The result of one analytic query, JSON-safe."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from rag.analytics.spec import QuerySpec


@dataclass(frozen=True)
class QueryResult:
    """What a query computed, with the SQL that computed it."""

    columns: list[str]
    """Result column names: ``count``, ``mean(Miles_per_Gallon)``; for groups [group, value]; for
    argmax/argmin ``_record_id``, the label field (when there is one) and the field."""
    rows: list[list[Any]]
    """JSON-safe values: dates and times as ISO text, decimals as floats, NaN as None."""
    sql: str
    """The SQL with its parameters written in as quoted literals, to show."""
    params: list[Any]
    """The parameters bound to the SQL that ran (the display SQL has them inlined)."""
    total_rows: int
    """Records in the dataset."""
    matched_rows: int
    """Records matching the filters (all records when there are none); at the grain of a child
    table: records having at least one matching child row."""
    values_counted: int | None = None
    """For a single-value measure (sum, mean, median, min, max, count_distinct): the values it was taken over,
    rows at the spec's grain (child rows for a child field) where the field has a value; None otherwise."""
    record_ids: list[str] = field(default_factory=list)
    """The records behind the answer: those of argmax/argmin rows, or the first matching records of a
    filtered single-value query (for sources)."""
    elapsed_ms: float = 0.0
    """Validation, SQL building and every statement, wall clock."""
    truncated: bool = False
    """True when more rows than the maximum were found and only the first ones are kept."""
    spec: QuerySpec | None = None
    """The spec as validated and run: field names as the schema spells them, values coerced
    (``"japan"`` -> ``"Japan"``, a year -> a ``between`` of its days)."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "columns": list(self.columns),
            "rows": [list(row) for row in self.rows],
            "sql": self.sql,
            "params": list(self.params),
            "total_rows": self.total_rows,
            "matched_rows": self.matched_rows,
            "values_counted": self.values_counted,
            "record_ids": list(self.record_ids),
            "elapsed_ms": self.elapsed_ms,
            "truncated": self.truncated,
            "spec": self.spec.to_dict() if self.spec is not None else None,
        }


def json_safe(value: Any) -> Any:
    """A database value as JSON can carry it."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if hasattr(value, "item"):  # a numpy scalar
        return json_safe(value.item())
    return str(value)
