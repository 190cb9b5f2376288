"""An answer's spec drives the data view (``dashboard.spec_filter``): words, record ids, charts, refusals.

Over the example orders (``dashboard/example_data/orders.json``): the ids DuckDB finds for a spec are checked
against the records filtered in Python, and a tampered or foreign spec is refused with a message.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from dash import dcc, no_update
from markupsafe import Markup

from dashboard.computed_view import answer_actions, render_computed
from dashboard.data_flow import EXAMPLE_DATASET, selection_charts, spec_view
from dashboard.spec_filter import (
    OPEN_CHART,
    OTHER_DATASET,
    SHOW_RECORDS,
    Selection,
    SpecRefused,
    group_figure,
    parse_request,
    positions_beyond,
    read_spec,
    select_records,
    selection_words,
    shown_count,
)
from rag.analytics.service import DatasetAnalytics
from rag.analytics.spec import Filter, QuerySpec
from rag.loader import load_dataset
from rag.profile import profile_dataset

RETURNED = {"aggregation": "count", "field": None, "filters": [{"field": "status", "op": "=", "value": "returned"}],
            "group_by": None, "order": None, "limit": None, "fields": []}
PER_CHANNEL = {"aggregation": "count", "field": None, "filters": [], "group_by": {"field": "channel", "date_part": None},
               "order": None, "limit": None, "fields": []}


@pytest.fixture(scope="module")
def orders() -> Any:
    dataset = load_dataset(EXAMPLE_DATASET)
    profile = profile_dataset(dataset.records)
    analytics = DatasetAnalytics.build(dataset, profile)
    yield dataset, profile, analytics
    analytics.close()


def ids_where(dataset: Any, keep: Any) -> list[str]:
    return [record.id for record in dataset.records if keep(record.flat)]


# ------------------------------------------------------------------------------------------- words
@pytest.mark.parametrize(
    ("spec", "words"),
    [
        (QuerySpec("count", filters=(Filter("status", "=", "returned"),)), "status = returned"),
        (
            QuerySpec("mean", "total", filters=(Filter("Origin", "=", "Japan"), Filter("Miles_per_Gallon", ">", 30))),
            "Origin = Japan and Miles_per_Gallon > 30",
        ),
        (QuerySpec("argmax", "total", limit=1), "the highest total"),
        (QuerySpec("argmin", "total", filters=(Filter("channel", "=", "web"),)), "the lowest total, with channel = web"),
        (QuerySpec("records", filters=(Filter("customer.city", "starts_with", "Mu"),)), "customer.city starting with 'Mu'"),
    ],
)
def test_a_spec_is_said_in_words(spec: QuerySpec, words: str) -> None:
    assert selection_words(spec) == words


def test_the_chip_says_the_filter_and_the_count_and_marks_what_it_cannot_show() -> None:
    spec = QuerySpec("count", filters=(Filter("Origin", "=", "Japan"), Filter("Miles_per_Gallon", ">", 30)))
    chip = Selection(spec, tuple(f"$[{n}]" for n in range(12)), 12, selection_words(spec)).chip_text()
    assert chip == "Origin = Japan and Miles_per_Gallon > 30 — 12 records"
    cut = Selection(spec, ("$[0]",) * 1, 1_234, "x").chip_text(beyond_table=3)
    assert cut == "x — 1,234 records (the grid shows the first 1) (3 beyond the rows the table holds)"


# ------------------------------------------------------------------------------------------- record ids
def test_the_ids_of_a_filtered_count_are_those_of_the_records_it_counts(orders) -> None:
    dataset, _profile, analytics = orders
    spec = read_spec(RETURNED, analytics.table.schema)
    selection = select_records(analytics.table, spec)
    expected = ids_where(dataset, lambda flat: flat.get("status") == "returned")
    assert list(selection.record_ids) == expected and selection.matched == len(expected) == 14
    assert selection.complete
    assert selection.chip_text() == "status = returned — 14 records"
    computed = analytics.compute("How many orders were returned?").computed
    assert computed["spec"] == RETURNED and shown_count(computed) == 14
    assert set(computed["record_ids"]) == set(selection.record_ids)


def test_the_ids_of_several_filters_and_of_a_child_filter(orders) -> None:
    dataset, _profile, analytics = orders
    spec = read_spec(
        {"aggregation": "mean", "field": "total",
         "filters": [{"field": "customer.country", "op": "=", "value": "de"}, {"field": "total", "op": ">", "value": "200"}]},
        analytics.table.schema,
    )
    assert spec.filters[0].value == "DE" and spec.filters[1].value == 200  # validated: stored spelling, a number
    expected = ids_where(dataset, lambda flat: flat.get("customer.country") == "DE" and flat.get("total", 0) > 200)
    assert list(select_records(analytics.table, spec).record_ids) == expected
    home = read_spec({"aggregation": "count", "filters": [{"field": "items.category", "op": "=", "value": "Home"}]},
                     analytics.table.schema)
    with_home = [r.id for r in dataset.records if any(i.get("category") == "Home" for i in r.data.get("items", []))]
    assert list(select_records(analytics.table, home).record_ids) == with_home


def test_the_ids_of_a_ranking_are_its_records(orders) -> None:
    dataset, _profile, analytics = orders
    spec = read_spec({"aggregation": "argmax", "field": "total", "limit": 3}, analytics.table.schema)
    selection = select_records(analytics.table, spec)
    top = sorted(dataset.records, key=lambda r: r.flat["total"], reverse=True)[:3]
    assert list(selection.record_ids) == [r.id for r in top] and selection.matched == 3
    assert selection.words == "the highest total"


def test_a_spec_over_every_record_has_nothing_to_filter(orders) -> None:
    _dataset, _profile, analytics = orders
    spec = read_spec(PER_CHANNEL, analytics.table.schema)
    with pytest.raises(SpecRefused, match="every record"):
        select_records(analytics.table, spec)


# ------------------------------------------------------------------------------------------- refusals
@pytest.mark.parametrize(
    "spec",
    [
        {"aggregation": "count", "filters": [{"field": "status; DROP TABLE records", "op": "=", "value": "x"}]},
        {"aggregation": "count", "filters": [{"field": "status", "op": "= 1 OR 1=1 --", "value": "x"}]},
        {"aggregation": "count", "filters": [{"field": "status", "op": "=", "value": "no such status"}]},
        {"aggregation": "DELETE", "filters": []},
        {"aggregation": "count", "filters": "status = returned"},
        {"aggregation": "sum", "field": "status"},
        {"filters": []},
    ],
)
def test_a_tampered_spec_is_refused_with_a_message(orders, spec: dict[str, Any]) -> None:
    _dataset, _profile, analytics = orders
    with pytest.raises(SpecRefused, match="does not fit the dataset shown") as refused:
        read_spec(spec, analytics.table.schema)
    assert str(refused.value)


@pytest.mark.parametrize(
    "request_",
    [None, [], "records", {"action": "drop", "spec": RETURNED}, {"action": SHOW_RECORDS, "spec": "{not json"},
     {"action": SHOW_RECORDS, "spec": 3}, {"action": SHOW_RECORDS, "spec": "x" * 30_000}],
)
def test_a_malformed_request_is_refused(request_: Any) -> None:
    with pytest.raises(SpecRefused):
        parse_request(request_)


def test_a_request_carries_its_spec_as_json_text() -> None:
    asked = parse_request({"action": SHOW_RECORDS, "spec": json.dumps(RETURNED), "dataset": "abc", "at": 1})
    assert asked.spec == RETURNED and asked.dataset_hash == "abc" and asked.action == SHOW_RECORDS


# ------------------------------------------------------------------------------------------- charts
def test_a_group_result_opens_as_a_bar_chart_of_its_rows(orders) -> None:
    dataset, _profile, analytics = orders
    figure = group_figure(analytics.table, read_spec(PER_CHANNEL, analytics.table.schema))
    bar = figure.data[0]
    counts: dict[str, int] = {}
    for record in dataset.records:
        counts[record.flat["channel"]] = counts.get(record.flat["channel"], 0) + 1
    assert dict(zip(bar.x, bar.y)) == counts and list(bar.y) == sorted(bar.y, reverse=True)
    assert figure.layout.title.text == "From the answer: count by channel"
    with pytest.raises(SpecRefused, match="per group"):
        group_figure(analytics.table, read_spec(RETURNED, analytics.table.schema))


def test_positions_beyond_the_table() -> None:
    class R:
        def __init__(self, n: int) -> None:
            self.id = f"$[{n}]"

    records = [R(n) for n in range(10)]
    assert positions_beyond(records, ["$[1]", "$[8]", "$[9]"], 8) == 2
    assert positions_beyond(records, ["$[9]"], 10) == 0


# ------------------------------------------------------------------------------------------- the data view
class FakeEngine:
    """``dataset_by_id`` and ``analytics_for`` of one open dataset."""

    def __init__(self, dataset: Any, info: Any, analytics: Any) -> None:
        self.found = (dataset, info)
        self.analytics = analytics

    def dataset_by_id(self, _dataset_id: Any) -> Any:
        return self.found

    def analytics_for(self, _dataset_id: Any) -> Any:
        return self.analytics


class Info:
    def __init__(self, profile: Any, content_hash: str) -> None:
        self.profile = profile
        self.content_hash = content_hash


def test_the_view_filters_to_the_answer_and_clears(orders) -> None:
    dataset, profile, analytics = orders
    engine = FakeEngine(dataset, Info(profile, dataset.content_hash), analytics)
    view = spec_view(engine, {"action": SHOW_RECORDS, "spec": json.dumps(RETURNED), "dataset": dataset.content_hash})
    assert view.message == [] and view.tab == "records" and view.chip_hidden is False
    assert view.chip_text == "status = returned — 14 records"
    assert len(view.selection["ids"]) == 14 and view.selection["count"] == 14
    charts = selection_charts(engine, None, view.selection)
    assert charts[0].children == "Charts of status = returned — 14 records."
    assert any(isinstance(chart, dcc.Graph) for chart in charts)
    statuses = [chart for chart in charts if isinstance(chart, dcc.Graph) and "status" in chart.figure.layout.title.text]
    assert list(statuses[0].figure.data[0].y) == ["returned"]  # drawn over the 14 records alone

    chart = spec_view(engine, {"action": OPEN_CHART, "spec": PER_CHANNEL}, current=view.selection)
    assert chart.tab == "charts" and chart.selection is no_update and chart.charts[0].id == "answer-chart"

    every = selection_charts(engine, None, None)
    assert all(isinstance(chart, dcc.Graph) for chart in every) and len(every) == len(charts) - 1


def test_the_view_refuses_a_foreign_or_tampered_spec(orders) -> None:
    dataset, profile, analytics = orders
    engine = FakeEngine(dataset, Info(profile, dataset.content_hash), analytics)
    foreign = spec_view(engine, {"action": SHOW_RECORDS, "spec": RETURNED, "dataset": "another-dataset"})
    assert foreign.selection is no_update and OTHER_DATASET in str(foreign.message)
    tampered = dict(RETURNED, filters=[{"field": "Origin", "op": "=", "value": "Japan"}])
    refused = spec_view(engine, {"action": SHOW_RECORDS, "spec": tampered, "dataset": dataset.content_hash})
    assert refused.selection is no_update and refused.charts is no_update
    assert "does not fit the dataset shown" in str(refused.message) and "Origin" in str(refused.message)


# ------------------------------------------------------------------------------------------- the buttons
def test_the_computed_block_carries_its_spec_on_its_buttons(orders) -> None:
    _dataset, _profile, analytics = orders
    counted = analytics.compute("How many orders were returned?").computed
    actions = answer_actions(counted, "hash1")
    assert isinstance(actions, Markup) and "Show these 14 records" in actions and "Open as chart" not in actions
    assert 'data-dataset="hash1"' in actions and 'data-action="records"' in actions
    assert '&#34;status&#34;' in actions or "&quot;status&quot;" in actions  # the JSON is escaped in the attribute
    grouped = analytics.compute("How many orders per channel?").computed
    group_actions = answer_actions(grouped)
    assert "Open as chart" in group_actions and "Show these" not in group_actions  # every record: nothing to filter
    markdown = render_computed(counted, dataset="hash1").children[0].children
    assert "Show these 14 records" in markdown and "{" not in markdown  # braces as character references
    assert answer_actions({"summary": "no spec"}) == Markup("")
