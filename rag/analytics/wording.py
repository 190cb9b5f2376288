"""How values and filters are written in sentences for people (and for the model that words the result).

``format_value(1234.5)`` -> ``1,234.50``; ``format_key(1982.0)`` -> ``1982`` (years, codes and ids are names,
not amounts); ``describe_filters(spec)`` -> ``Origin = Japan and Horsepower > 100``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from rag.analytics.spec import Filter, QuerySpec
from rag.i18n import ENGLISH, _, current_language, localized_number

_OP_WORDS = {"=": "=", "!=": "≠", "<": "<", "<=": "≤", ">": ">", ">=": "≥"}


def format_value(value: Any) -> str:
    """A number as a person reads it: ``1,234``, ``30.45``, ``0.0012`` (``1 234``, ``30,45`` in a French
    answer, see ``rag.i18n``); other values as they are."""
    text = _english_value(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and current_language() != ENGLISH:
        return localized_number(text)
    return text


def _english_value(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return _("missing") if value is None else str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        magnitude = abs(value)
        if magnitude >= 100:
            return f"{value:,.2f}"
        if magnitude >= 0.01:
            return f"{value:.2f}" if round(value, 2) == round(value, 4) else f"{value:.4g}"
        return f"{value:.3g}"
    if isinstance(value, (list, tuple)):  # a list field, or a child table's values of one record
        return ", ".join(format_value(item) for item in value) if value else _("none")
    return str(value)


def format_key(value: Any) -> str:
    """A group key as it is written: ``1982``, not ``1,982`` (years, codes, ids are names, not amounts)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return format_value(value)


def _filter_formatter(field: str) -> Any:
    """How a filter's values are written: years as years (``year ≥ 2005``), other numbers as amounts."""
    return format_key if "year" in field.lower() else format_value


def describe_filters(spec: QuerySpec | Iterable[Filter]) -> str:
    """ "Origin = Japan and Horsepower > 100" (empty when there are no filters)."""
    filters = spec.filters if isinstance(spec, QuerySpec) else spec
    return (" " + _("and") + " ").join(describe_filter(f) for f in filters)


def describe_filter(f: Filter) -> str:
    """ "Origin = Japan", "name ending with 'burg'", "no Horsepower value"."""
    format_value = _filter_formatter(f.field)
    if f.op == "is_missing":
        return _("no {field} value").format(field=f.field)
    if f.op == "not_missing":
        return _("a {field} value").format(field=f.field)
    if f.op == "between":
        low, high = f.value
        return _("{field} between {low} and {high}").format(field=f.field, low=format_value(low),
                                                             high=format_value(high))
    if f.op == "in":
        return _("{field} in ({values})").format(field=f.field, values=", ".join(format_value(v) for v in f.value))
    if f.op == "contains":
        return _("{field} contains '{text}'").format(field=f.field, text=f.value)
    if f.op == "starts_with":
        return _("{field} starting with '{text}'").format(field=f.field, text=f.value)
    if f.op == "ends_with":
        return _("{field} ending with '{text}'").format(field=f.field, text=f.value)
    return f"{f.field} {_OP_WORDS.get(f.op, f.op)} {format_value(f.value)}"
