"""Plotly charts chosen from the kinds of the dataset's fields.

* a time series of records per day, week or month when a ``date`` field exists;
* bars of the most common values of ``category`` (and ``boolean``) fields;
* histograms of ``number`` fields (one bar per value when there are only a few values).

Fields of array elements (``items[0].category``, ``items[1].category``) are charted together as
one field (``items[].category``), so every element counts, not only the first.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import plotly.graph_objects as go

from dashboard.i18n import N_, _
from rag.profile import DatasetProfile, FieldProfile, parse_iso_date
from rag.records import Record

MAX_CATEGORY_CHARTS = 3
MAX_NUMBER_CHARTS = 3
TOP_VALUES = 10
FEW_VALUES = 12
"""Number fields with at most this many distinct values get one bar per value instead of a histogram."""
CHART_HEIGHT = 280
ACCENT = "#2f6db5"
_ARRAY_INDEX = re.compile(r"\[\d+\]")


@dataclass(frozen=True)
class ChartField:
    """One charted field: array elements folded together."""

    path: str
    """The general path, ``items[].category`` for ``items[0].category``, ``items[1].category``..."""
    kind: str
    members: tuple[str, ...]
    """The flat paths it covers."""
    present: int
    distinct: int


@dataclass(frozen=True)
class ChartSpec:
    """A chart to draw: what, of which field, with which title."""

    chart: str
    """``timeseries``, ``bar`` or ``histogram``."""
    field: ChartField
    title: str


def general_path(path: str) -> str:
    """``items[3].sku`` -> ``items[].sku``."""
    return _ARRAY_INDEX.sub("[]", path)


def chart_fields(profile: DatasetProfile) -> list[ChartField]:
    """The profile's fields folded over array indexes, in first-seen order, each with its main kind."""
    groups: dict[str, list[FieldProfile]] = {}
    for field_profile in profile.fields:
        groups.setdefault(general_path(field_profile.path), []).append(field_profile)
    folded = []
    for path, members in groups.items():
        weights: Counter[str] = Counter()
        for member in members:
            weights[member.kind] += member.present
        kind = weights.most_common(1)[0][0] if weights else "mixed"
        folded.append(
            ChartField(
                path=path,
                kind=kind,
                members=tuple(m.path for m in members),
                present=sum(m.present for m in members),
                distinct=max((m.distinct for m in members), default=0),
            )
        )
    return folded


def choose_charts(profile: DatasetProfile) -> list[ChartSpec]:
    """Which charts suit the dataset: a time series, then category bars, then number histograms."""
    fields = [f for f in chart_fields(profile) if f.present > 0]
    # Fields of the records themselves first, then fields of array elements; then the most filled.
    by_presence = sorted(fields, key=lambda f: ("[]" in f.path, -f.present))  # stable: ties keep first-seen order
    specs: list[ChartSpec] = []
    dates = [f for f in by_presence if f.kind == "date"]
    if dates:
        specs.append(ChartSpec("timeseries", dates[0], _("Records over time ({field})").format(field=dates[0].path)))
    categories = [f for f in by_presence if f.kind in ("category", "boolean") and f.distinct >= 2]
    categories.sort(key=lambda f: f.kind == "boolean")
    for field_ in categories[:MAX_CATEGORY_CHARTS]:
        specs.append(ChartSpec("bar", field_, _("Most common values of {field}").format(field=field_.path)))
    numbers = [f for f in by_presence if f.kind == "number" and f.distinct >= 2]
    for field_ in numbers[:MAX_NUMBER_CHARTS]:
        specs.append(ChartSpec("histogram", field_, _("Distribution of {field}").format(field=field_.path)))
    return specs


def field_values(records: Iterable[Record], members: Sequence[str]) -> list[Any]:
    """Every non-null value of the given flat paths across the records."""
    values = []
    for record in records:
        flat = record.flat
        for path in members:
            value = flat.get(path)
            if value is not None:
                values.append(value)
    return values


def top_values(values: Iterable[Any], limit: int = TOP_VALUES) -> list[tuple[str, int]]:
    """The most common values (as text) with their counts."""
    counts = Counter(_label(v) for v in values)
    return counts.most_common(limit)


def time_buckets(values: Iterable[Any]) -> tuple[str, list[tuple[date, int]]]:
    """Records per period: the period (``day``, ``week`` or ``month``, from the span) and the counts."""
    days = []
    for value in values:
        parsed = parse_iso_date(value) if isinstance(value, str) else None
        if parsed is not None:
            days.append(parsed.date() if isinstance(parsed, datetime) else parsed)
    if not days:
        return "day", []
    span = (max(days) - min(days)).days
    period = "day" if span <= 60 else "week" if span <= 180 else "month"
    counts: Counter[date] = Counter(_bucket(d, period) for d in days)
    return period, sorted(counts.items())


def _bucket(day: date, period: str) -> date:
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day


def _label(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


PER_PERIOD = {"day": N_("records per day"), "week": N_("records per week"), "month": N_("records per month")}
"""The axis title of a time series, by its bucket (``time_buckets``)."""


def build_figure(spec: ChartSpec, records: Sequence[Record]) -> go.Figure:
    """The plotly figure for one chart."""
    values = field_values(records, spec.field.members)
    if spec.chart == "timeseries":
        period, counts = time_buckets(values)
        figure = go.Figure(
            go.Scatter(
                x=[d.isoformat() for d, _ in counts],
                y=[n for _, n in counts],
                mode="lines+markers",
                line={"color": ACCENT},
                name=_(PER_PERIOD[period]),
            )
        )
        figure.update_yaxes(title_text=_(PER_PERIOD[period]), rangemode="tozero")
    elif spec.chart == "bar":
        pairs = top_values(values)
        figure = go.Figure(
            go.Bar(
                x=[n for _, n in pairs][::-1],
                y=[v for v, _ in pairs][::-1],
                orientation="h",
                marker_color=ACCENT,
            )
        )
        figure.update_xaxes(title_text=_("records"))
    else:
        numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        counts = Counter(numbers)
        if len(counts) <= FEW_VALUES:  # a rating, a flat fee: one bar per value reads better than bins
            pairs = sorted(counts.items())
            figure = go.Figure(go.Bar(x=[_label(v) for v, _ in pairs], y=[n for _, n in pairs], marker_color=ACCENT))
            figure.update_xaxes(type="category")
        else:
            figure = go.Figure(go.Histogram(x=numbers, marker_color=ACCENT, nbinsx=30))
        figure.update_yaxes(title_text=_("records"))
    figure.update_layout(
        title={"text": spec.title, "font": {"size": 14}},
        template="plotly_white",
        height=CHART_HEIGHT,
        margin={"l": 48, "r": 16, "t": 40, "b": 36},
        showlegend=False,
    )
    return figure


def build_figures(profile: DatasetProfile, records: Sequence[Record]) -> list[tuple[ChartSpec, go.Figure]]:
    """Every chart that suits the dataset, with its figure."""
    return [(spec, build_figure(spec, records)) for spec in choose_charts(profile)]
