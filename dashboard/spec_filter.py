"""The chat drives the data view: an answer's query spec filters the records grid and the charts.

A computed answer's block carries its spec as JSON on its buttons (``dashboard.computed_view.answer_actions``):
"Show these N records" and, for a group result, "Open as chart". A click hands the spec to the app through the
spec-request store (``assets/sources.js``). The page is never trusted: the spec is read (``QuerySpec.from_dict``)
and validated again against the tab's dataset's analytic table (``validate_spec``), then run by DuckDB, and a
spec computed over another dataset (its content hash differs) is refused with a message (``SpecRefused``).
No SQL ever comes from the page or from a model.

Records
    The records a spec selects (``select_records``): for ``argmax``/``argmin``/``records``, those of its own
    result; for every other operation, the records meeting its filters (a ``records`` spec with the same
    filters; a spec without filters selects nothing to show). The grid keeps the rows of those ids with an
    external filter (``assets/sources.js``): the page receives ids only, however many rows the grid holds.
Words
    ``selection_words(spec)``: "status = returned", "the highest total", with the count in the chip
    (``Selection.chip_text``): "status = returned — 14 records". A count the grid cannot show whole is marked.
Charts
    ``group_figure``: a bar chart of a group result's rows, computed again from the validated spec.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go

from dashboard.i18n import N_, _, format_number, ngettext
from rag.analytics.errors import AnalyticsError, SpecError
from rag.analytics.spec import RECORD_AGGREGATIONS, RECORDS, ROW_AGGREGATIONS, QuerySpec
from rag.analytics.validate import validate_spec
from rag.analytics.wording import describe_filters, format_key

SHOW_RECORDS = "records"
"""The request of a "Show these N records" button."""
OPEN_CHART = "chart"
"""The request of an "Open as chart" button."""
ACTIONS = (SHOW_RECORDS, OPEN_CHART)
MAX_SPEC_CHARS = 20_000
"""A spec sent by the page longer than this (as JSON) is refused unread."""
MAX_CHART_BARS = 100
CHART_HEIGHT = 320
ACCENT = "#2f6db5"
NOT_COMPUTED = N_("This answer was not computed from the data; there is nothing to show.")
OTHER_DATASET = N_("This answer was computed over another dataset; open that dataset to see its records.")
NO_TABLE = N_("The data view has no analytic table for this dataset; ask again once it is loaded.")


class SpecRefused(ValueError):
    """A request from the page that is not used; the message says why, for the user."""


@dataclass(frozen=True)
class SpecRequest:
    """What a button of an answer asks for."""

    action: str
    """``SHOW_RECORDS`` or ``OPEN_CHART``."""
    spec: dict[str, Any]
    """The answer's spec, as the page holds it (not validated yet)."""
    dataset_hash: str | None = None
    """The content hash of the dataset the answer was computed over, when the answer names it."""


def parse_request(request: Any) -> SpecRequest:
    """The page's request (``{"action", "spec", "dataset"}``), or ``SpecRefused`` for a malformed one."""
    if not isinstance(request, Mapping):
        raise SpecRefused(_("The request from the page is not an object."))
    action = request.get("action")
    if action not in ACTIONS:
        raise SpecRefused(_("The request from the page names no known action."))
    spec = request.get("spec")
    if isinstance(spec, str):
        if len(spec) > MAX_SPEC_CHARS:
            raise SpecRefused(_("This answer's query is too long to use."))
        try:
            spec = json.loads(spec)
        except ValueError:
            raise SpecRefused(_("This answer's query is not readable.")) from None
    if not isinstance(spec, dict):
        raise SpecRefused(_(NOT_COMPUTED))
    if len(json.dumps(spec, default=str)) > MAX_SPEC_CHARS:
        raise SpecRefused(_("This answer's query is too long to use."))
    dataset = request.get("dataset")
    return SpecRequest(action=action, spec=spec, dataset_hash=dataset if isinstance(dataset, str) and dataset else None)


def read_spec(data: Any, schema: Any) -> QuerySpec:
    """``data`` as a spec validated against ``schema`` (the tab's table), or ``SpecRefused`` saying what is wrong."""
    try:
        return validate_spec(QuerySpec.from_dict(data), schema)
    except SpecError as exc:
        reason = _("This answer's query does not fit the dataset shown: {reason}").format(reason=exc.message)
        raise SpecRefused(reason) from exc


def selection_words(spec: QuerySpec) -> str:
    """What a spec selects, in words: "Origin = Japan and Miles_per_Gallon > 30", "the highest total"."""
    filters = describe_filters(spec)
    if spec.aggregation in RECORD_AGGREGATIONS:
        words = _("the highest {field}") if spec.aggregation == "argmax" else _("the lowest {field}")
        words = words.format(field=spec.field)
        if spec.group_by is not None:
            words = _("{words} per {group}").format(words=words, group=spec.group_by.field)
        return _("{words}, with {filters}").format(words=words, filters=filters) if filters else words
    if spec.aggregation == RECORDS and not filters:
        if spec.field:
            return _("the records of the answer, by {field}").format(field=spec.field)
        return _("the records of the answer")
    return filters or _("all records")


def selects_records(spec: Mapping[str, Any] | None) -> bool:
    """Whether an answer's spec (as stored) selects records worth showing: it has filters, or its result rows
    are records (a spec without filters selects every record: nothing to filter)."""
    if not isinstance(spec, Mapping):
        return False
    return bool(spec.get("filters")) or spec.get("aggregation") in ROW_AGGREGATIONS


def shown_count(computed: Mapping[str, Any]) -> int | None:
    """N of "Show these N records" for a computed answer (as stored), or None when it selects no records."""
    spec = computed.get("spec")
    if not selects_records(spec):
        return None
    if spec.get("aggregation") in ROW_AGGREGATIONS:
        ids = computed.get("record_ids")
        return len(ids) if isinstance(ids, list) else None
    matched = computed.get("matched_rows")
    return matched if isinstance(matched, int) and not isinstance(matched, bool) else None


def is_group_result(computed: Mapping[str, Any]) -> bool:
    """Whether an answer (as stored) is a group result with at least two groups: a bar chart reads it."""
    spec = computed.get("spec")
    rows = computed.get("rows")
    return (
        isinstance(spec, Mapping)
        and bool(spec.get("group_by"))
        and spec.get("aggregation") not in ROW_AGGREGATIONS
        and isinstance(rows, list)
        and len(rows) >= 2
    )


@dataclass(frozen=True)
class Selection:
    """The records an answer's spec selects in the tab's dataset."""

    spec: QuerySpec
    """The spec as validated against the tab's table."""
    record_ids: tuple[str, ...]
    """The ids found (at most ``rag.analytics.spec.MAX_LIMIT``), in the file's order or the result's."""
    matched: int
    """How many records the spec selects (exact, even when more than the ids found)."""
    words: str
    """``selection_words(spec)``."""

    @property
    def complete(self) -> bool:
        return len(self.record_ids) >= self.matched

    def chip_text(self, *, beyond_table: int = 0) -> str:
        """ "status = returned — 14 records", with a mark when the grid cannot show them all."""
        count = ngettext("{count} record", "{count} records", self.matched).format(count=format_number(self.matched))
        text = f"{self.words} — {count}"
        if not self.complete:
            text += " (" + _("the grid shows the first {count}").format(count=format_number(len(self.record_ids))) + ")"
        if beyond_table:
            text += " (" + _("{count} beyond the rows the table holds").format(count=format_number(beyond_table)) + ")"
        return text

    def to_store(self, *, beyond_table: int = 0) -> dict[str, Any]:
        """What the selection store keeps (the page filters its grid by ``ids``)."""
        return {
            "ids": list(self.record_ids),
            "count": self.matched,
            "text": self.chip_text(beyond_table=beyond_table),
            "spec": self.spec.to_dict(),
        }


def select_records(table: Any, spec: QuerySpec, *, timeout: float = 5.0) -> Selection:
    """The records ``spec`` (validated against ``table.schema``) selects, found by DuckDB.

    ``argmax``/``argmin``/``records``: the records of the spec's own result. Other operations: the records
    meeting its filters, through a ``records`` spec with those filters (the file's order, at most ``MAX_LIMIT``
    ids; ``matched`` counts them all)."""
    if spec.aggregation not in ROW_AGGREGATIONS and not spec.filters:
        raise SpecRefused(_("This answer is over every record: there is nothing to filter."))
    query = spec if spec.aggregation in ROW_AGGREGATIONS else QuerySpec(aggregation=RECORDS, filters=spec.filters)
    try:
        result = table.run(query, timeout=timeout)
    except AnalyticsError as exc:
        reason = _("The records of this answer could not be found: {reason}").format(reason=exc.message)
        raise SpecRefused(reason) from exc
    ids = tuple(dict.fromkeys(result.record_ids))
    matched = len(ids) if spec.aggregation in ROW_AGGREGATIONS else max(int(result.matched_rows), len(ids))
    return Selection(spec=spec, record_ids=ids, matched=matched, words=selection_words(spec))


def group_figure(table: Any, spec: QuerySpec, *, timeout: float = 5.0) -> go.Figure:
    """A bar chart of a group result: the groups and their values, computed again from ``spec`` by DuckDB."""
    if spec.group_by is None or spec.aggregation in ROW_AGGREGATIONS:
        raise SpecRefused(_("Only an answer per group can be opened as a chart."))
    try:
        result = table.run(spec, timeout=timeout)
    except AnalyticsError as exc:
        raise SpecRefused(_("This answer could not be computed again: {reason}").format(reason=exc.message)) from exc
    rows = [row for row in result.rows if len(row) >= 2][:MAX_CHART_BARS]
    labels = [format_key(row[0]) for row in rows]
    values = [row[-1] if isinstance(row[-1], (int, float)) and not isinstance(row[-1], bool) else None for row in rows]
    columns = list(result.columns)
    title = chart_title(spec, columns, len(result.rows))
    figure = go.Figure(go.Bar(x=labels, y=values, marker_color=ACCENT, name=str(columns[-1]) if columns else ""))
    figure.update_layout(
        title={"text": title, "font": {"size": 14}},
        template="plotly_white",
        height=CHART_HEIGHT,
        margin={"l": 48, "r": 16, "t": 40, "b": 60},
        showlegend=False,
        xaxis_title=str(columns[0]) if columns else "",
        yaxis_title=str(columns[-1]) if columns else "",
    )
    figure.update_xaxes(type="category")
    return figure


def chart_title(spec: QuerySpec, columns: Sequence[str], groups: int) -> str:
    """ "count by channel (status = returned)", with "first 100 of 240 groups" when cut."""
    measure = str(columns[-1]) if columns else spec.aggregation
    group = str(columns[0]) if columns else spec.group_by.field if spec.group_by else ""
    title = _("From the answer: {measure} by {group}").format(measure=measure, group=group)
    filters = describe_filters(spec)
    if filters:
        title += f" ({filters})"
    if groups > MAX_CHART_BARS:
        title += " — " + _("the first {shown} of {count} groups").format(
            shown=format_number(MAX_CHART_BARS), count=format_number(groups))
    return title


def positions_beyond(records: Sequence[Any], record_ids: Sequence[str], table_rows: int) -> int:
    """How many of ``record_ids`` sit beyond the first ``table_rows`` records (the rows the grid holds)."""
    if len(records) <= table_rows:
        return 0
    held = {record.id for record in records[:table_rows]}
    return sum(1 for record_id in record_ids if record_id not in held)


def chosen_records(records: Sequence[Any], record_ids: Sequence[str]) -> list[Any]:
    """The records of ``record_ids``, in the file's order."""
    wanted = set(record_ids)
    return [record for record in records if record.id in wanted]
