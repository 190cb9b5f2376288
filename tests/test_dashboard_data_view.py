"""The data view on the bundled example and on public datasets: table, profile, charts, uploads."""

from __future__ import annotations

import base64
import json
from collections import Counter

import plotly.graph_objects as go
import pytest

from dashboard.charts import (
    ChartSpec,
    build_figure,
    build_figures,
    chart_fields,
    choose_charts,
    general_path,
    time_buckets,
)
from dashboard.data_flow import EXAMPLE_DATASET
from dashboard.data_view import (
    MAX_TABLE_COLUMNS,
    NUMBER_FILTER,
    RECORD_ID_COLUMN,
    TEXT_FILTER,
    cell_value,
    dataset_summary,
    find_record,
    profile_table,
    record_filter_model,
    record_panel,
    records_table,
    summary_data,
)
from dashboard.example_data.make_orders import make_orders, render
from dashboard.uploads import UploadError, decode_upload, decoded_size, request_size_limit, too_large_message
from rag.loader import load_dataset
from rag.profile import profile_dataset
from tests.datasets import pycountry_database_path, vega_cars_path


@pytest.fixture(scope="module")
def orders():
    dataset = load_dataset(EXAMPLE_DATASET)
    return dataset, profile_dataset(dataset.records)


def test_the_example_file_is_what_its_generator_writes():
    assert EXAMPLE_DATASET.read_text(encoding="utf-8") == render(make_orders())
    orders = json.loads(EXAMPLE_DATASET.read_text(encoding="utf-8"))
    assert 150 <= len(orders) <= 300
    assert len({o["order_id"] for o in orders}) == len(orders)
    assert {"customer", "items", "payment", "shipping"} <= set(orders[0])


def test_records_table_has_the_record_id_then_every_field_in_a_sensible_order(orders):
    dataset, profile = orders
    table = records_table(dataset, profile)
    names = [c["headerName"] for c in table.columns]
    record_id = table.columns[0]
    assert names[0] == "record id" and record_id["field"] == RECORD_ID_COLUMN and record_id["pinned"] == "left"
    assert names[1:5] == ["order_id", "order_date", "status", "channel"]
    item_columns = [n for n in names if n.startswith("items[")]
    assert item_columns[:5] == [f"items[0].{f}" for f in ("sku", "product", "category", "quantity", "unit_price")]
    assert item_columns.index("items[1].sku") == 5, "the fields of one array element stay together"
    assert all("." not in c["field"] for c in table.columns), "AG Grid would read a dot as nesting"
    assert len({c["field"] for c in table.columns}) == len(table.columns)
    by_header = {c["headerName"]: c for c in table.columns}
    kinds = {f.path: f.kind for f in profile.fields}
    for name, column in by_header.items():
        numeric = kinds.get(name) == "number"
        assert column["filter"] == (NUMBER_FILTER if numeric else TEXT_FILTER), name
        assert column["cellDataType"] == ("number" if numeric else "text"), name
    assert by_header["total"]["filter"] == NUMBER_FILTER and by_header["status"]["filter"] == TEXT_FILTER
    assert len(table.rows) == len(dataset.records) == 240 and table.note == ""
    first = table.rows[0]
    by_name = {c["headerName"]: first[c["field"]] for c in table.columns}
    assert by_name["record id"] == "$[0]" and by_name["order_id"] == "ORD-10001"
    assert by_name["gift"] in ("true", "false"), "booleans are shown as words"


def test_records_table_limits_rows_and_columns_and_says_so():
    dataset = load_dataset(vega_cars_path())
    table = records_table(dataset, profile_dataset(dataset.records), max_rows=50, max_columns=3)
    assert len(table.rows) == 50 and len(table.columns) == 4
    assert "first 50 of 406 records" in table.note and "3 of 9 fields" in table.note


def test_record_filter_model_keeps_exactly_one_record_id_whatever_its_characters(orders):
    dataset, profile = orders
    assert record_filter_model("$[12]") == {
        RECORD_ID_COLUMN: {"filterType": "text", "type": "equals", "filter": "$[12]"}
    }
    odd = """$["a'b`c\\"d"]"""
    assert record_filter_model(odd)[RECORD_ID_COLUMN]["filter"] == odd, "the id is passed as data, not as syntax"
    id_column = records_table(dataset, profile).columns[0]
    assert id_column["filter"] == TEXT_FILTER and id_column["filterParams"]["caseSensitive"] is True


def test_find_record_and_record_panel(orders):
    dataset, _ = orders
    position, record = find_record(dataset, "$[42]")
    assert position == 42 and record.data["order_id"] == "ORD-10043"
    panel = json.dumps(record_panel(record, "$[42]", in_table=True)[1].to_plotly_json()["props"]["children"])
    assert "ORD-10043" in panel
    assert find_record(dataset, "$[999]") is None
    missing = record_panel(None, "$[999]", in_table=False)[0].to_plotly_json()["props"]["children"]
    assert "$[999] is not in the loaded dataset" in missing


def test_profile_table_has_one_row_per_field_with_kinds_and_ranges(orders):
    _, profile = orders
    columns, rows = profile_table(profile)
    assert [c["field"] for c in columns][:2] == ["path", "kind"]
    filters = {c["field"]: c["filter"] for c in columns}
    assert filters["present"] == filters["mean"] == NUMBER_FILTER and filters["kind"] == TEXT_FILTER
    assert all(set(row) == set(filters) for row in rows), "every row has a value for every column"
    by_path = {r["path"]: r for r in rows}
    assert len(rows) == len(profile.fields)
    assert by_path["order_date"]["kind"] == "date" and by_path["order_date"]["range"].startswith("2024-01-")
    assert by_path["total"]["kind"] == "number" and " … " in by_path["total"]["range"]
    assert by_path["status"]["kind"] == "category" and "delivered (" in by_path["status"]["top"]
    assert by_path["status"]["present"] + by_path["status"]["missing"] == 240


def test_charts_follow_the_field_kinds(orders):
    dataset, profile = orders
    specs = choose_charts(profile)
    kinds = [(s.chart, s.field.path) for s in specs]
    assert kinds[0] == ("timeseries", "order_date")
    assert [c for c, _ in kinds].count("bar") == 3 and [c for c, _ in kinds].count("histogram") == 3
    assert [p for c, p in kinds if c == "bar"] == ["status", "channel", "customer.segment"]
    assert [p for c, p in kinds if c == "histogram"] == ["shipping.cost", "total", "rating"]  # first-seen order
    assert all(not p.endswith("order_id") for _, p in kinds), "unique codes are not charted"
    figures = build_figures(profile, dataset.records)
    assert all(isinstance(f, go.Figure) for _, f in figures)


def test_array_elements_are_charted_together(orders):
    dataset, profile = orders
    category = next(f for f in chart_fields(profile) if f.path == "items[].category")
    assert category.kind == "category" and category.members[:2] == ("items[0].category", "items[1].category")
    figure = build_figure(ChartSpec("bar", category, "categories"), dataset.records)
    expected = Counter(item["category"] for r in dataset.records for item in r.data["items"])
    assert dict(zip(figure.data[0].y, figure.data[0].x, strict=True)) == dict(expected)
    assert general_path('a[3].b[10]["x.y"]') == 'a[].b[]["x.y"]'


def test_numbers_with_few_values_get_one_bar_per_value_and_others_a_histogram(orders):
    dataset, profile = orders
    specs = {s.field.path: s for s in choose_charts(profile)}
    rating = build_figure(specs["rating"], dataset.records)
    expected = Counter(r.data["rating"] for r in dataset.records if r.data["rating"] is not None)
    assert rating.data[0].type == "bar" and list(rating.data[0].x) == ["1", "2", "3", "4", "5"]
    assert list(rating.data[0].y) == [expected[v] for v in range(1, 6)]
    total = build_figure(specs["total"], dataset.records)
    assert total.data[0].type == "histogram" and len(total.data[0].x) == 240


def test_time_series_counts_records_per_month_for_a_year_of_data(orders):
    dataset, profile = orders
    spec = choose_charts(profile)[0]
    figure = build_figure(spec, dataset.records)
    assert list(figure.data[0].x)[:2] == ["2024-01-01", "2024-02-01"]
    assert sum(figure.data[0].y) == 240
    period, counts = time_buckets(["2024-03-04", "2024-03-04T10:00:00Z", "2024-03-06", "not a date"])
    assert period == "day" and [(d.isoformat(), n) for d, n in counts] == [("2024-03-04", 2), ("2024-03-06", 1)]


def test_a_dataset_with_nested_roots_gets_charts_and_a_table():
    dataset = load_dataset(pycountry_database_path("iso3166-1.json"))
    profile = profile_dataset(dataset.records)
    table = records_table(dataset, profile)
    assert table.rows[0][RECORD_ID_COLUMN] == '$["3166-1"][0]'
    assert len(table.columns) <= MAX_TABLE_COLUMNS + 1
    for spec in choose_charts(profile):
        build_figure(spec, dataset.records)


def test_cells_are_scalars_or_short_text():
    assert cell_value(None) is None and cell_value(3) == 3 and cell_value(2.5) == 2.5
    assert cell_value(True) == "true" and cell_value({"a": 1}) == '{"a": 1}'
    assert cell_value("x" * 1000).endswith("…") and len(cell_value("x" * 1000)) == 300


def test_summary_line_and_stored_summary():
    info = {
        "dataset_id": "abab-1234",
        "name": "orders.json",
        "record_count": 240,
        "size_bytes": 151484,
        "root_path": "$",
        "content_hash": "ab" * 32,
        "profile": {"field_count": 34},
        "index": {"index_kind": "exact", "documents": 240},
    }
    text = json.dumps([c.to_plotly_json() for c in dataset_summary(info)], default=lambda o: o.to_plotly_json())
    assert "orders.json" in text and "240" in text and "148 KB" in text and "abababababab" in text and "exact" in text
    assert summary_data(info) == {
        "dataset_id": "abab-1234",
        "name": "orders.json",
        "content_hash": "ab" * 32,
        "record_count": 240,
        "root_path": "$",
        "size_bytes": 151484,
    }
    assert summary_data(None) is None


# --------------------------------------------------------------------------------------- uploads
def data_url(data: bytes, mime: str = "application/json") -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode()


def test_an_upload_within_the_limit_decodes_to_its_bytes():
    raw = json.dumps([{"a": 1}]).encode()
    assert decode_upload(data_url(raw), "small.json", 1) == raw
    assert decode_upload(data_url(raw, "application/octet-stream"), "lines.JSONL", 1) == raw
    for size in range(7):
        assert decoded_size(data_url(b"x" * size)) == size


def test_uploads_past_the_limit_or_of_the_wrong_kind_get_clear_messages():
    big = b"[" + b"1," * 300_000 + b"1]"
    with pytest.raises(UploadError) as error:
        decode_upload(data_url(big), "big.json", 0.5)
    assert str(error.value) == too_large_message("big.json", len(big), 0.5)
    assert "big.json is 0.6 MB; files up to 0.5 MB can be loaded (setting data.max_upload_mb)." == str(error.value)
    with pytest.raises(UploadError, match=r"only JSON \(\.json\) and JSON Lines"):
        decode_upload(data_url(b"a,b\n1,2"), "table.csv", 1)
    with pytest.raises(UploadError, match="bad base64"):
        decode_upload("data:application/json;base64,@@@@", "x.json", 1)
    with pytest.raises(UploadError, match="empty"):
        decode_upload("data:application/json;base64,", "x.json", 1)
    with pytest.raises(UploadError, match="unexpected form"):
        decode_upload("plain text", "x.json", 1)


def test_the_request_size_limit_lets_a_file_at_the_limit_through_base64_encoded():
    limit = request_size_limit(50)
    at_limit = len(data_url(b"x" * 50 * 1024 * 1024))
    assert at_limit < limit < at_limit + 2 * 1024 * 1024
