"""Specs against truths computed in plain Python from the raw JSON; validation; hostile specs."""

from __future__ import annotations

import json
import statistics
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path
from typing import Any, Callable

import pytest

from rag.analytics.errors import SpecError
from rag.analytics.result import QueryResult
from rag.analytics.spec import MAX_IN_VALUES, MAX_LIMIT, RECORD_ID, ColumnInfo, Filter, GroupBy, QuerySpec, TableSchema
from rag.analytics.sql import build_sql, quote_identifier
from rag.analytics.table import AnalyticTable
from rag.analytics.validate import validate_spec
from tests.analytics_tables import ORDERS_PATH, build, cars, cars_raw, orders, orders_raw  # noqa: F401 (fixtures)

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def value(result: QueryResult) -> Any:
    assert len(result.rows) == 1 and len(result.rows[0]) == 1
    return result.rows[0][0]


def ids_where(raw: list[dict[str, Any]], keep: Callable[[dict[str, Any]], bool]) -> list[str]:
    return [f"$[{i}]" for i, record in enumerate(raw) if keep(record)]


# --- single values --------------------------------------------------------------------------------------


def test_count_records_and_filtered_count(cars: AnalyticTable, cars_raw: list[dict[str, Any]]) -> None:
    everything = cars.run(QuerySpec("count"))
    assert (everything.columns, value(everything)) == (["count"], len(cars_raw))
    assert everything.matched_rows == everything.total_rows == len(cars_raw)
    assert everything.record_ids == []

    eight = cars.run(QuerySpec("count", filters=(Filter("Cylinders", "=", "8"),)))  # "8" read as a number
    truth = ids_where(cars_raw, lambda car: car["Cylinders"] == 8)
    assert value(eight) == len(truth) == 108
    assert eight.matched_rows == len(truth)
    assert eight.record_ids == truth[:20]
    assert (
        "?"
        in build_sql(
            validate_spec(QuerySpec("count", filters=(Filter("Cylinders", "=", 8),)), cars.schema), cars.schema
        ).sql
    )


def test_numeric_aggregates(cars: AnalyticTable, cars_raw: list[dict[str, Any]]) -> None:
    horsepower = [car["Horsepower"] for car in cars_raw if car["Horsepower"] is not None]
    weights = [car["Weight_in_lbs"] for car in cars_raw]
    assert value(cars.run(QuerySpec("sum", "Horsepower"))) == sum(horsepower)
    assert value(cars.run(QuerySpec("mean", "Horsepower"))) == pytest.approx(statistics.mean(horsepower))
    assert value(cars.run(QuerySpec("median", "Horsepower"))) == statistics.median(horsepower)
    assert value(cars.run(QuerySpec("min", "Weight_in_lbs"))) == min(weights)
    assert value(cars.run(QuerySpec("max", "Weight_in_lbs"))) == max(weights)
    assert value(cars.run(QuerySpec("count", "Horsepower"))) == len(horsepower)  # present values only
    assert value(cars.run(QuerySpec("count_distinct", "Origin"))) == len({car["Origin"] for car in cars_raw})
    result = cars.run(QuerySpec("count", "Horsepower"))
    assert result.columns == ["count(Horsepower)"]


def test_median_of_an_even_count_is_the_mean_of_the_middle_two(
    cars: AnalyticTable, cars_raw: list[dict[str, Any]]
) -> None:
    usa = sorted(car["Horsepower"] for car in cars_raw if car["Origin"] == "USA" and car["Horsepower"] is not None)
    middle = len(usa) // 2
    assert len(usa) % 2 == 0 and usa[middle - 1] != usa[middle]  # the case tells the two readings apart
    spec = QuerySpec("median", "Horsepower", filters=(Filter("Origin", "=", "USA"),))
    assert value(cars.run(spec)) == (usa[middle - 1] + usa[middle]) / 2


def test_mean_of_japanese_cars_matches_the_issue(cars: AnalyticTable, cars_raw: list[dict[str, Any]]) -> None:
    spec = QuerySpec("mean", "Miles_per_Gallon", filters=(Filter("Origin", "=", "japan"),))  # any case
    result = cars.run(spec)
    mpg = [
        car["Miles_per_Gallon"] for car in cars_raw if car["Origin"] == "Japan" and car["Miles_per_Gallon"] is not None
    ]
    assert value(result) == pytest.approx(statistics.mean(mpg))
    assert round(value(result), 2) == 30.45
    assert result.matched_rows == sum(1 for car in cars_raw if car["Origin"] == "Japan")
    assert result.params == ["Japan"]  # the stored spelling
    assert result.spec is not None and result.spec.filters == (Filter("Origin", "=", "Japan"),)


def test_text_and_date_min_max(cars: AnalyticTable, cars_raw: list[dict[str, Any]]) -> None:
    assert value(cars.run(QuerySpec("max", "Name"))) == max(car["Name"] for car in cars_raw)
    assert value(cars.run(QuerySpec("min", "Year"))) == min(car["Year"] for car in cars_raw)


# --- filters ----------------------------------------------------------------------------------------------

HP = "Horsepower"


@pytest.mark.parametrize(
    ("spec_filter", "keep"),
    [
        (Filter(HP, ">", 200), lambda car: car[HP] is not None and car[HP] > 200),
        (Filter(HP, ">=", 200), lambda car: car[HP] is not None and car[HP] >= 200),
        (Filter(HP, "<", 60), lambda car: car[HP] is not None and car[HP] < 60),
        (Filter(HP, "<=", "60"), lambda car: car[HP] is not None and car[HP] <= 60),
        (Filter(HP, "between", [100, 110]), lambda car: car[HP] is not None and 100 <= car[HP] <= 110),
        (Filter(HP, "between", [110, 100]), lambda car: car[HP] is not None and 100 <= car[HP] <= 110),
        (Filter(HP, "!=", 150), lambda car: car[HP] != 150),  # missing values are "not 150"
        (Filter(HP, "is_missing"), lambda car: car[HP] is None),
        (Filter(HP, "not_missing"), lambda car: car[HP] is not None),
        (Filter("Cylinders", "in", [4, "6"]), lambda car: car["Cylinders"] in (4, 6)),
        (Filter("Origin", "in", ["usa", "Europe"]), lambda car: car["Origin"] in ("USA", "Europe")),
        (Filter("Origin", "!=", "USA"), lambda car: car["Origin"] != "USA"),
        (Filter("Name", "contains", "Chevrolet"), lambda car: "chevrolet" in car["Name"].lower()),
        (Filter("Name", "starts_with", "Ford "), lambda car: car["Name"].lower().startswith("ford ")),
        (Filter("Name", "ends_with", " WAGON"), lambda car: car["Name"].lower().endswith(" wagon")),
        (Filter("Origin", "starts_with", "eu"), lambda car: car["Origin"] == "Europe"),
        (Filter("Name", "=", "Ford Pinto"), lambda car: car["Name"] == "ford pinto"),
        (Filter("Name", "in", ["FORD PINTO", "amc matador"]), lambda car: car["Name"] in ("ford pinto", "amc matador")),
        (Filter("Year", "=", 1982), lambda car: car["Year"].startswith("1982")),
        (Filter("Year", "=", "1975-01-01"), lambda car: car["Year"] == "1975-01-01"),
        (Filter("Year", "<", "1972"), lambda car: car["Year"] < "1972"),
        (Filter("Year", "<=", "1972"), lambda car: car["Year"] < "1973"),
        (Filter("Year", ">", 1980), lambda car: car["Year"] >= "1981"),
        (Filter("Year", "between", ["1975", "1977"]), lambda car: "1975" <= car["Year"][:4] <= "1977"),
        (Filter("Year", "in", ["1970-01-01", "1982-01-01"]), lambda car: car["Year"] in ("1970-01-01", "1982-01-01")),
    ],
)
def test_filter(cars: AnalyticTable, cars_raw: list[dict[str, Any]], spec_filter: Filter, keep: Callable) -> None:
    result = cars.run(QuerySpec("count", filters=(spec_filter,)))
    truth = ids_where(cars_raw, keep)
    assert truth, "the case must select something"
    assert value(result) == len(truth)
    assert result.record_ids == truth[:20]


def test_filters_combine_with_and(cars: AnalyticTable, cars_raw: list[dict[str, Any]]) -> None:
    spec = QuerySpec(
        "mean",
        "Weight_in_lbs",
        filters=(Filter("Origin", "=", "USA"), Filter("Cylinders", "=", 4), Filter("Year", ">=", "1980")),
    )
    picked = [car for car in cars_raw if car["Origin"] == "USA" and car["Cylinders"] == 4 and car["Year"] >= "1980"]
    result = cars.run(spec)
    assert value(result) == pytest.approx(statistics.mean(car["Weight_in_lbs"] for car in picked))
    assert result.matched_rows == len(picked)
    assert result.record_ids == [f"$[{cars_raw.index(car)}]" for car in picked][:20]


# --- groups -----------------------------------------------------------------------------------------------


def test_group_by_field_orders_by_value(cars: AnalyticTable, cars_raw: list[dict[str, Any]]) -> None:
    result = cars.run(QuerySpec("mean", "Miles_per_Gallon", group_by=GroupBy("Origin")))
    assert result.columns == ["Origin", "mean(Miles_per_Gallon)"]
    groups: dict[str, list[float]] = defaultdict(list)
    for car in cars_raw:
        if car["Miles_per_Gallon"] is not None:
            groups[car["Origin"]].append(car["Miles_per_Gallon"])
    truth = sorted(((origin, statistics.mean(v)) for origin, v in groups.items()), key=lambda item: -item[1])
    assert [row[0] for row in result.rows] == [origin for origin, _ in truth]
    assert [row[1] for row in result.rows] == pytest.approx([mean for _, mean in truth])


def test_group_top_n_and_ascending(cars: AnalyticTable, cars_raw: list[dict[str, Any]]) -> None:
    counts = Counter(car["Cylinders"] for car in cars_raw)
    top = cars.run(QuerySpec("count", group_by=GroupBy("Cylinders"), limit=2))
    assert top.rows == [[cylinders, count] for cylinders, count in counts.most_common(2)]
    low = cars.run(QuerySpec("count", group_by=GroupBy("Cylinders"), order="asc", limit=1))
    assert low.rows == [list(min(counts.items(), key=lambda item: (item[1], item[0])))]


def test_missing_values_form_their_own_group() -> None:
    records = [{"kind": "a", "n": 1}, {"kind": None, "n": 2}, {"n": 3}, {"kind": "a", "n": 4}]
    with build(records) as table:
        result = table.run(QuerySpec("sum", "n", group_by=GroupBy("kind")))
        assert result.rows == [["a", 5], [None, 5]]


def test_date_parts(orders: AnalyticTable, orders_raw: list[dict[str, Any]]) -> None:
    days = [date.fromisoformat(order["order_date"]) for order in orders_raw]
    expected = {
        "year": Counter(day.year for day in days),
        "month": Counter(day.strftime("%Y-%m") for day in days),
        "quarter": Counter(f"{day.year}-Q{(day.month - 1) // 3 + 1}" for day in days),
        "day": Counter(day.isoformat() for day in days),
        "weekday": Counter(WEEKDAYS[day.weekday()] for day in days),
    }
    for part, counts in expected.items():
        result = orders.run(QuerySpec("count", group_by=GroupBy("order_date", part)))
        assert result.columns == [f"{part}(order_date)", "count"]
        if part == "weekday":
            order = sorted(counts, key=WEEKDAYS.index)
        else:
            order = sorted(counts)
        assert result.rows == [[key, counts[key]] for key in order], part
    assert isinstance(orders.run(QuerySpec("count", group_by=GroupBy("order_date", "year"))).rows[0][0], int)


def test_sum_by_month_with_a_date_filter(orders: AnalyticTable, orders_raw: list[dict[str, Any]]) -> None:
    spec = QuerySpec(
        "sum",
        "total",
        filters=(Filter("order_date", "between", ["2024-03", "2024-05"]),),
        group_by=GroupBy("order_date", "month"),
    )
    totals: dict[str, float] = defaultdict(float)
    for order in orders_raw:
        if "2024-03" <= order["order_date"][:7] <= "2024-05":
            totals[order["order_date"][:7]] += order["total"]
    result = orders.run(spec)
    assert [row[0] for row in result.rows] == sorted(totals)
    assert [row[1] for row in result.rows] == pytest.approx([totals[month] for month in sorted(totals)])


def test_month_filter_and_booleans_and_missing_dates(orders: AnalyticTable, orders_raw: list[dict[str, Any]]) -> None:
    march = orders.run(QuerySpec("count", filters=(Filter("order_date", "=", "2024-03"),)))
    assert value(march) == sum(1 for order in orders_raw if order["order_date"].startswith("2024-03"))
    gifts = orders.run(QuerySpec("count", filters=(Filter("gift", "=", "yes"),)))
    assert value(gifts) == sum(1 for order in orders_raw if order["gift"] is True)
    undelivered = orders.run(QuerySpec("count", filters=(Filter("shipping.delivered_date", "is_missing"),)))
    assert value(undelivered) == sum(1 for order in orders_raw if order["shipping"].get("delivered_date") is None)
    returned = orders.run(QuerySpec("count", filters=(Filter("status", "=", "Returned"),)))
    assert value(returned) == sum(1 for order in orders_raw if order["status"] == "returned")
    notes = orders.run(QuerySpec("count", filters=(Filter("notes", "contains", "DELIVERY"),)))
    assert value(notes) == sum(1 for order in orders_raw if "delivery" in (order.get("notes") or "").lower())


# --- argmax / argmin --------------------------------------------------------------------------------------


def test_argmax_returns_the_record(cars: AnalyticTable, cars_raw: list[dict[str, Any]]) -> None:
    result = cars.run(QuerySpec("argmax", "Horsepower"))
    best = max((car for car in cars_raw if car["Horsepower"] is not None), key=lambda car: car["Horsepower"])
    assert result.columns == [RECORD_ID, "Name", "Horsepower"]
    assert result.rows == [[f"$[{cars_raw.index(best)}]", best["Name"], best["Horsepower"]]]
    assert result.rows[0][1:] == ["pontiac grand prix", 230]
    assert result.record_ids == [result.rows[0][0]]


def test_argmin_with_limit_and_filter(cars: AnalyticTable, cars_raw: list[dict[str, Any]]) -> None:
    result = cars.run(QuerySpec("argmin", "Weight_in_lbs", limit=3, filters=(Filter("Origin", "=", "Japan"),)))
    japanese = sorted((car for car in cars_raw if car["Origin"] == "Japan"), key=lambda car: car["Weight_in_lbs"])
    cutoff = japanese[2]["Weight_in_lbs"]
    truth = [car for car in japanese if car["Weight_in_lbs"] <= cutoff]
    assert [row[2] for row in result.rows] == [car["Weight_in_lbs"] for car in truth]
    assert set(result.record_ids) == {f"$[{cars_raw.index(car)}]" for car in truth}


def test_argmax_keeps_rows_tied_at_the_limit(cars: AnalyticTable, cars_raw: list[dict[str, Any]]) -> None:
    result = cars.run(QuerySpec("argmax", "Cylinders", limit=1))
    assert len(result.rows) == sum(1 for car in cars_raw if car["Cylinders"] == 8)
    assert len(result.record_ids) == len(result.rows)


def test_argmax_per_group(cars: AnalyticTable, cars_raw: list[dict[str, Any]]) -> None:
    result = cars.run(QuerySpec("argmax", "Horsepower", group_by=GroupBy("Origin")))
    assert result.columns == ["Origin", RECORD_ID, "Name", "Horsepower"]
    truth = {}
    for car in cars_raw:
        if car["Horsepower"] is not None and car["Horsepower"] > truth.get(car["Origin"], (None, -1))[1]:
            truth[car["Origin"]] = (car["Name"], car["Horsepower"])
    assert {row[0]: (row[2], row[3]) for row in result.rows} == truth


# --- child table ------------------------------------------------------------------------------------------


def items_of(orders_raw: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any], dict[str, Any]]]:
    return [(i, order, item) for i, order in enumerate(orders_raw) for item in order["items"]]


def test_child_counts_and_sums(orders: AnalyticTable, orders_raw: list[dict[str, Any]]) -> None:
    items = items_of(orders_raw)
    assert value(orders.run(QuerySpec("count", "items"))) == len(items)
    assert value(orders.run(QuerySpec("sum", "items.quantity"))) == sum(item["quantity"] for _, _, item in items)
    per_category: dict[str, int] = defaultdict(int)
    for _, _, item in items:
        per_category[item["category"]] += item["quantity"]
    result = orders.run(QuerySpec("sum", "items.quantity", group_by=GroupBy("items.category")))
    assert {row[0]: row[1] for row in result.rows} == per_category
    assert [row[1] for row in result.rows] == sorted(per_category.values(), reverse=True)


def test_records_with_a_matching_child(orders: AnalyticTable, orders_raw: list[dict[str, Any]]) -> None:
    keep = lambda order: any(item["category"] == "Home" and item["quantity"] >= 2 for item in order["items"])  # noqa: E731
    spec = QuerySpec("count", filters=(Filter("items.category", "=", "home"), Filter("items.quantity", ">=", 2)))
    result = orders.run(spec)
    truth = ids_where(orders_raw, keep)
    assert value(result) == result.matched_rows == len(truth)
    assert result.record_ids == truth[:20]
    # a record field measured over records having such an item: each record once
    mean = orders.run(QuerySpec("mean", "total", filters=spec.filters))
    assert value(mean) == pytest.approx(statistics.mean(order["total"] for order in orders_raw if keep(order)))


def test_record_field_per_child_group_counts_each_record_once(
    orders: AnalyticTable, orders_raw: list[dict[str, Any]]
) -> None:
    totals: dict[str, list[float]] = defaultdict(list)
    for order in orders_raw:
        for category in {item["category"] for item in order["items"]}:
            totals[category].append(order["total"])
    result = orders.run(QuerySpec("mean", "total", group_by=GroupBy("items.category")))
    assert {row[0]: row[1] for row in result.rows} == pytest.approx({c: statistics.mean(v) for c, v in totals.items()})
    counted = orders.run(QuerySpec("count", group_by=GroupBy("items.category")))
    assert {row[0]: row[1] for row in counted.rows} == {c: len(v) for c, v in totals.items()}


def test_child_measure_with_record_filter_and_group(orders: AnalyticTable, orders_raw: list[dict[str, Any]]) -> None:
    spec = QuerySpec(
        "mean", "items.unit_price", filters=(Filter("status", "=", "delivered"),), group_by=GroupBy("customer.country")
    )
    prices: dict[str, list[float]] = defaultdict(list)
    for _, order, item in items_of(orders_raw):
        if order["status"] == "delivered":
            prices[order["customer"]["country"]].append(item["unit_price"])
    result = orders.run(spec)
    assert {row[0]: row[1] for row in result.rows} == pytest.approx({c: statistics.mean(v) for c, v in prices.items()})
    assert result.matched_rows == sum(1 for order in orders_raw if order["status"] == "delivered" and order["items"])


def test_child_argmax(orders: AnalyticTable, orders_raw: list[dict[str, Any]]) -> None:
    result = orders.run(QuerySpec("argmax", "items.unit_price"))
    top = max(item["unit_price"] for _, _, item in items_of(orders_raw))
    truth = [
        (f"$[{i}]", order["order_id"], top) for i, order, item in items_of(orders_raw) if item["unit_price"] == top
    ]
    assert result.columns == [RECORD_ID, "order_id", "items.unit_price"]
    assert [tuple(row) for row in result.rows] == truth
    assert result.record_ids == list(dict.fromkeys(row[0] for row in truth))


# --- the SQL itself ---------------------------------------------------------------------------------------


def test_display_sql_computes_the_same(cars: AnalyticTable, orders: AnalyticTable) -> None:
    cases = [
        (
            cars,
            QuerySpec(
                "count", filters=(Filter("Name", "contains", "it's"), Filter("Year", "between", ["1970", "1975"]))
            ),
        ),
        (cars, QuerySpec("argmax", "Horsepower", limit=2, filters=(Filter("Origin", "in", ["USA", "Japan"]),))),
        (orders, QuerySpec("sum", "items.quantity", group_by=GroupBy("order_date", "quarter"), limit=3)),
    ]
    for table, spec in cases:
        query = build_sql(validate_spec(spec, table.schema), table.schema)
        assert query.params and "?" in query.sql
        assert table._execute(query.display_sql)[0] == table._execute(query.sql, query.params)[0]


def test_identifiers_come_quoted_from_the_schema() -> None:
    column = ColumnInfo(path='we"ird', table="records", type="number")
    schema = TableSchema(record_count=1, columns={'we"ird': column})
    query = build_sql(validate_spec(QuerySpec("sum", 'we"ird'), schema), schema)
    assert 'sum(r."we""ird")' in query.sql
    assert quote_identifier('a"b') == '"a""b"'


def test_result_is_json_safe(orders: AnalyticTable, orders_raw: list[dict[str, Any]]) -> None:
    result = orders.run(QuerySpec("min", "order_date"))
    exported = json.loads(json.dumps(result.to_dict()))
    assert exported["rows"] == [[min(order["order_date"] for order in orders_raw)]]
    assert exported["spec"]["aggregation"] == "min" and exported["spec"]["field"] == "order_date"
    assert result.elapsed_ms > 0 and result.sql.startswith("SELECT")


# --- validation -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (QuerySpec("mean", "Milles_per_Gallon"), "unknown field 'Milles_per_Gallon'; did you mean Miles_per_Gallon?"),
        (QuerySpec("average", "Horsepower"), "unknown operation 'average'"),
        (QuerySpec("sum"), "sum needs a field"),
        (QuerySpec("argmax"), "argmax needs a field"),
        (QuerySpec("mean", "Origin"), "mean needs a number field, and Origin is a text field"),
        (QuerySpec("median", "Year"), "median needs a number field, and Year is a date field"),
        (
            QuerySpec("count", filters=(Filter("Origin", "=", "Japn"),)),
            "'Japn' is not a value of Origin; its values are: 'Japan'",
        ),
        (
            QuerySpec("count", filters=(Filter("Cylinders", "=", "eight"),)),
            "Cylinders holds numbers, and 'eight' is not a number",
        ),
        (
            QuerySpec("count", filters=(Filter("Year", "=", "last year"),)),
            "Year holds dates, and 'last year' is not a date",
        ),
        (
            QuerySpec("count", filters=(Filter("Cylinders", "in", list(range(MAX_IN_VALUES + 1))),)),
            f"at most {MAX_IN_VALUES}",
        ),
        (QuerySpec("count", filters=(Filter("Cylinders", "in", []),)), "needs at least one value"),
        (QuerySpec("count", filters=(Filter("Cylinders", "between", [4]),)), "'between' on Cylinders needs two values"),
        (
            QuerySpec("count", filters=(Filter("Name", ">", "b"),)),
            "> compares numbers and dates, and Name is a text field",
        ),
        (QuerySpec("count", filters=(Filter("Cylinders", "contains", "8"),)), "contains works on text and lists"),
        (QuerySpec("count", filters=(Filter("Horsepower", "starts_with", "1"),)), "starts_with works on text, and"),
        (QuerySpec("count", filters=(Filter("Name", "ends_with", ""),)), "ends_with on Name needs some text"),
        (QuerySpec("count", filters=(Filter("Origin", "=", None),)), "use is_missing"),
        (QuerySpec("count", filters=(Filter("Origin", "like", "x"),)), "unknown filter 'like' on Origin"),
        (QuerySpec("count", group_by=GroupBy("Origin", "month")), "cannot take the month of Origin"),
        (QuerySpec("count", group_by=GroupBy("Year", "century")), "unknown date part 'century'"),
        (QuerySpec("count", group_by=GroupBy("Origin"), limit=0), f"between 1 and {MAX_LIMIT}"),
        (QuerySpec("argmax", "Horsepower", limit=MAX_LIMIT + 1), f"between 1 and {MAX_LIMIT}"),
        (QuerySpec("count", group_by=GroupBy("Origin"), order="sideways"), "unknown order 'sideways'"),
    ],
)
def test_invalid_specs_are_explained(cars: AnalyticTable, spec: QuerySpec, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        cars.run(spec)
    assert message in caught.value.message


def test_validation_normalises(cars: AnalyticTable) -> None:
    spec = validate_spec(
        QuerySpec(
            "COUNT", filters=(Filter("origin", "=", "usa"), Filter("year", "=", "1980")), order="descending", limit=5
        ),
        cars.schema,
    )
    assert spec.aggregation == "count"
    assert spec.filters == (Filter("Origin", "=", "USA"), Filter("Year", "between", ["1980-01-01", "1980-12-31"]))
    assert spec.limit is None and spec.order is None  # a single value: nothing to order or cut
    grouped = validate_spec(QuerySpec("count", group_by=GroupBy("origin"), order="ASC", limit="3"), cars.schema)
    assert (grouped.group_by, grouped.order, grouped.limit) == (GroupBy("Origin"), "asc", 3)


def test_fields_of_two_child_tables_are_refused() -> None:
    records = [{"a": [{"x": 1}], "b": [{"y": 2}]}, {"a": [{"x": 3}], "b": [{"y": 4}]}]
    with build(records) as table:
        assert set(table.schema.children) == {"a", "b"}
        with pytest.raises(SpecError, match="different lists"):
            table.run(QuerySpec("sum", "a.x", filters=(Filter("b.y", ">", 1),)))
        with pytest.raises(SpecError, match="different lists"):
            table.run(QuerySpec("count", "a", group_by=GroupBy("b.y")))
        assert value(table.run(QuerySpec("sum", "a.x", filters=(Filter("a.x", ">", 1),)))) == 3


def test_list_fields(cars: AnalyticTable) -> None:
    records = [{"tags": ["sale", "new"], "n": 1}, {"tags": ["new"], "n": 2}, {"n": 3}, {"tags": ["old"], "n": 4}]
    with build(records) as table:
        assert value(table.run(QuerySpec("count", filters=(Filter("tags", "=", "NEW"),)))) == 2  # "=" means has
        assert value(table.run(QuerySpec("count", filters=(Filter("tags", "in", ["sale", "old"]),)))) == 2
        assert value(table.run(QuerySpec("sum", "n", filters=(Filter("tags", "!=", "new"),)))) == 7
        assert value(table.run(QuerySpec("count", filters=(Filter("tags", "is_missing"),)))) == 1
        with pytest.raises(SpecError, match="cannot group by tags"):
            table.run(QuerySpec("count", group_by=GroupBy("tags")))
        with pytest.raises(SpecError, match="holds lists"):
            table.run(QuerySpec("max", "tags"))


# --- hostile specs ----------------------------------------------------------------------------------------

HOSTILE = [
    'x"; DROP TABLE records; --',
    "Name' OR '1'='1",
    "read_csv('/etc/passwd')",
    "'); COPY records TO '/tmp/analytics_out.csv'; --",
    "Name\" FROM records; SELECT * FROM read_csv('/etc/passwd') --",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_field_names_are_unknown_fields(cars: AnalyticTable, cars_raw: list[dict[str, Any]], name: str) -> None:
    for spec in (
        QuerySpec("sum", name),
        QuerySpec("count", filters=(Filter(name, "=", 1),)),
        QuerySpec("count", group_by=GroupBy(name)),
    ):
        with pytest.raises(SpecError, match="unknown field"):
            cars.run(spec)
    assert value(cars.run(QuerySpec("count"))) == len(cars_raw)


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_values_are_bound_parameters(cars: AnalyticTable, cars_raw: list[dict[str, Any]], text: str) -> None:
    pintos = sum(1 for car in cars_raw if car["Name"] == "ford pinto")
    for spec, expected in (
        (QuerySpec("count", filters=(Filter("Name", "=", text),)), 0),
        (QuerySpec("count", filters=(Filter("Name", "contains", text),)), 0),
        (QuerySpec("count", filters=(Filter("Name", "in", [text, "ford pinto"]),)), pintos),
    ):
        result = cars.run(spec)
        assert text.lower() not in build_sql(validate_spec(spec, cars.schema), cars.schema).sql.lower()
        assert text.lower() in [str(param).lower() for param in result.params]
        assert value(result) == expected
    assert not Path("/tmp/analytics_out.csv").exists()
    assert value(cars.run(QuerySpec("count"))) == len(cars_raw)


def test_hostile_values_in_typed_fields_are_refused(cars: AnalyticTable) -> None:
    for spec in (
        QuerySpec("count", filters=(Filter("Cylinders", "=", "8; DROP TABLE records"),)),
        QuerySpec("count", filters=(Filter("Year", "=", "1970-01-01'); COPY records TO '/tmp/x'; --"),)),
        QuerySpec("count", filters=(Filter("Origin", "=", "USA' OR '1'='1"),)),
        QuerySpec("count", group_by=GroupBy("Origin"), limit="5; DROP TABLE records"),  # type: ignore[arg-type]
    ):
        with pytest.raises(SpecError):
            cars.run(spec)


def test_a_huge_in_list_is_refused_before_any_sql(cars: AnalyticTable) -> None:
    spec = QuerySpec("count", filters=(Filter("Name", "in", [f"car {i}" for i in range(100_000)]),))
    with pytest.raises(SpecError, match="100000 values; at most"):
        cars.run(spec)
    largest = QuerySpec("count", filters=(Filter("Name", "in", [f"car {i}" for i in range(MAX_IN_VALUES)]),))
    assert value(cars.run(largest)) == 0


def test_a_top_n_leaves_out_the_records_without_a_group_and_a_full_listing_keeps_them() -> None:
    airports = [{"iata": f"A{i}", "city": None if i < 14 else "Austin" if i % 3 else "Greenville"} for i in range(30)]
    table = build(airports, name="airports.json")
    top = table.run(QuerySpec("count", group_by=GroupBy("city"), order="desc", limit=1))
    assert [list(row) for row in top.rows] == [["Austin", 11]]  # not the 14 airports without a city
    listing = table.run(QuerySpec("count", group_by=GroupBy("city"), order="desc"))
    assert {row[0]: row[1] for row in listing.rows} == {None: 14, "Austin": 11, "Greenville": 5}
