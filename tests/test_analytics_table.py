"""The analytic table: columns and types from real and messy data, lock-down, time limit, threads."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from rag.analytics.errors import QueryError
from rag.analytics.spec import RECORD_ID, Filter, GroupBy, QuerySpec
from rag.analytics.table import AnalyticTable
from rag.loader import load_dataset
from rag.profile import profile_dataset
from tests.analytics_tables import ORDERS_PATH, build, cars, cars_raw, orders, orders_raw  # noqa: F401 (fixtures)


# --- columns of real data -------------------------------------------------------------------------------


def test_orders_columns_are_typed_from_the_data(orders: AnalyticTable, orders_raw: list[dict[str, Any]]) -> None:
    schema = orders.schema
    assert schema.record_count == len(orders_raw)
    types = {path: column.type for path, column in schema.columns.items()}
    assert types["order_date"] == "date"
    assert types["shipping.delivered_date"] == "date"
    assert types["total"] == "number"
    assert types["rating"] == "number"
    assert types["gift"] == "boolean"
    assert types["customer.city"] == "text"
    assert types["notes"] == "text"
    # no flattened array index leaks into the record columns
    assert not any("[" in path for path in schema.columns)

    total = schema.columns["total"]
    assert total.present == sum(1 for order in orders_raw if order.get("total") is not None)
    assert total.minimum == min(order["total"] for order in orders_raw)
    assert total.maximum == max(order["total"] for order in orders_raw)
    rating = schema.columns["rating"]
    assert rating.present == sum(1 for order in orders_raw if order.get("rating") is not None)
    delivered = schema.columns["shipping.delivered_date"]
    dates = [order["shipping"]["delivered_date"] for order in orders_raw if order["shipping"].get("delivered_date")]
    assert (delivered.present, delivered.minimum, delivered.maximum) == (len(dates), min(dates), max(dates))


def test_orders_categorical_columns_list_every_value(orders: AnalyticTable, orders_raw: list[dict[str, Any]]) -> None:
    status = orders.schema.columns["status"]
    assert status.categorical
    assert set(status.values) == {order["status"] for order in orders_raw}
    counts = {value: sum(1 for order in orders_raw if order["status"] == value) for value in status.values}
    assert list(status.values) == sorted(status.values, key=lambda value: -counts[value])  # most common first
    assert orders.schema.columns["gift"].categorical
    assert set(orders.schema.columns["gift"].values) == {True, False}
    order_id = orders.schema.columns["order_id"]  # unique: not categorical, only the most common kept
    assert not order_id.categorical and len(order_id.values) == 50


def test_orders_items_become_a_child_table(orders: AnalyticTable, orders_raw: list[dict[str, Any]]) -> None:
    schema = orders.schema
    assert set(schema.children) == {"items"}
    assert schema.children["items"].rows == sum(len(order["items"]) for order in orders_raw)
    item_columns = {path: column for path, column in schema.columns.items() if column.table == "items"}
    assert set(item_columns) == {"items.sku", "items.product", "items.category", "items.quantity", "items.unit_price"}
    assert item_columns["items.quantity"].type == "number"
    assert item_columns["items.category"].categorical
    categories = {item["category"] for order in orders_raw for item in order["items"]}
    assert set(item_columns["items.category"].values) == categories
    # every child row keeps its record's id, in record and element order
    rows, _ = orders._execute('SELECT "_record_id", "items.sku" FROM items ORDER BY rowid')
    expected = [(f"$[{i}]", item["sku"]) for i, order in enumerate(orders_raw) for item in order["items"]]
    assert rows == expected


def test_orders_label_field_is_the_unique_short_text(orders: AnalyticTable) -> None:
    assert orders.schema.label_field == "order_id"


def test_cars_columns(cars: AnalyticTable, cars_raw: list[dict[str, Any]]) -> None:
    schema = cars.schema
    assert schema.record_count == len(cars_raw)
    assert schema.label_field == "Name"
    assert schema.columns["Year"].type == "date"
    assert schema.columns["Horsepower"].type == "number"
    assert schema.columns["Horsepower"].present == sum(1 for car in cars_raw if car["Horsepower"] is not None)
    assert schema.columns["Miles_per_Gallon"].maximum == max(
        car["Miles_per_Gallon"] for car in cars_raw if car["Miles_per_Gallon"] is not None
    )
    origin = schema.columns["Origin"]
    assert origin.categorical and set(origin.values) == {car["Origin"] for car in cars_raw}
    assert not schema.columns["Name"].categorical
    sql_types = dict(
        cars._execute("SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'records'")[0]
    )
    assert sql_types["Cylinders"] == "BIGINT"  # whole numbers
    assert sql_types["Acceleration"] == "DOUBLE"
    assert sql_types["Year"] == "DATE"


# --- messy data -----------------------------------------------------------------------------------------


def messy_records() -> list[dict[str, Any]]:
    records = []
    for i in range(40):
        records.append(
            {
                "id": f"R{i}",
                "price": "n/a" if i == 7 else f"{i * 1.5}",  # numbers written as text, one not a number
                "count_text": str(i),
                "zip": f"0{i:04d}",  # leading zeros: an identifier, not a number
                "mixed": [1, "one", True][i % 3],
                "when": f"2024-01-{i % 28 + 1:02d}T10:{i % 60:02d}:00Z",
                "tags": ["red", "blue"] if i % 2 else ["green"],
                "scores": [i, i + 0.5],
                "grid": [[1, 2], [3]],
                "shape": "solo" if i % 5 == 0 else ["multi", "many"],
                "parts": [{"pid": i, "colors": ["x", "y"], "sub": [{"deep": 1}]}, {"pid": i + 100, "colors": []}],
            }
        )
    return records


@pytest.fixture(scope="module")
def messy() -> AnalyticTable:
    table = build(messy_records(), name="messy.json")
    yield table
    table.close()


def test_text_numbers_become_number_columns(messy: AnalyticTable) -> None:
    columns = messy.schema.columns
    assert columns["price"].type == "number" and columns["price"].present == 39  # "n/a" is missing
    assert columns["count_text"].type == "number"
    assert messy.run(QuerySpec("sum", "count_text")).rows == [[sum(range(40))]]
    assert messy.run(QuerySpec("max", "price")).rows == [[39 * 1.5]]
    assert columns["zip"].type == "text"
    assert columns["mixed"].type == "text" and set(columns["mixed"].values) == {"1", "one", "true"}


def test_an_empty_text_among_numbers_is_a_missing_number() -> None:
    """Ages 18, 42 … and one "" (a CSV export's missing value) are a number field, so "older than 40" compares
    numbers: typed as text, the comparison had been read as age = '40'."""
    records = [{"name": f"p{i}", "age": 18 + i} for i in range(30)] + [{"name": "x", "age": ""}]
    table = build(records, name="people.json")
    try:
        column = table.schema.columns["age"]
        assert column.type == "number" and column.present == 30
        spec = QuerySpec("count", filters=(Filter("age", ">", 40),))
        assert table.run(spec).rows == [[sum(1 for i in range(30) if 18 + i > 40)]]
    finally:
        table.close()
    blanks = build([{"code": ""} for _ in range(5)], name="blank.json")
    try:
        assert blanks.schema.columns["code"].type == "text"  # only blanks: nothing says it is a number
    finally:
        blanks.close()


def test_timestamps_and_lists(messy: AnalyticTable) -> None:
    columns = messy.schema.columns
    assert columns["when"].type == "timestamp"
    assert columns["when"].minimum == "2024-01-01T10:00:00"
    assert (columns["tags"].type, columns["tags"].item_type) == ("list", "text")
    assert set(columns["tags"].values) == {"red", "blue", "green"}
    assert (columns["scores"].type, columns["scores"].item_type) == ("list", "number")
    rows, _ = messy._execute('SELECT "tags", "scores" FROM records ORDER BY rowid LIMIT 2')
    assert rows == [(["green"], [0.0, 0.5]), (["red", "blue"], [1.0, 1.5])]
    # a field that is a scalar in some records and a list in others is a list
    assert columns["shape"].type == "list"
    assert messy.run(QuerySpec("count", filters=(Filter("shape", "contains", "solo"),))).rows == [[8]]


def test_arrays_of_arrays_and_deeper_objects_are_left_out(messy: AnalyticTable) -> None:
    paths = set(messy.schema.columns)
    assert not any(path.startswith("grid") for path in paths)
    assert not any("sub" in path or "deep" in path for path in paths)
    assert set(messy.schema.children) == {"parts"}
    assert messy.schema.children["parts"].rows == 80
    assert messy.schema.columns["parts.colors"].type == "list"
    assert messy.schema.columns["parts.colors"].table == "parts"


def test_a_lone_surrogate_is_refused_by_the_loader_in_one_clear_line() -> None:
    from rag.errors import DataLoadError

    with pytest.raises(DataLoadError) as refused:
        build([*messy_records()[:2], {"id": "R99", "bad": "\ud800 broken"}], name="messy.json")
    message = str(refused.value)
    assert message.startswith("messy.json:") and "lone surrogate" in message and "\n" not in message
    assert "Traceback" not in message and "codec" not in message


def test_names_duckdb_cannot_take_get_sql_names() -> None:
    records = [
        {
            "Name": f"car {i}",
            "name": f"other {i % 2}",
            "_record_id": "mine",
            "rowid": i,
            'x"; DROP TABLE records; --': i,
            "line\nbreak": i % 2 == 0,
            "records": [{"k": i}],
        }
        for i in range(6)
    ]
    with build(records) as table:
        columns = table.schema.columns
        assert columns["Name"].sql_name == ""  # the first keeps its name
        assert columns["name"].sql_name not in ("", "name")  # DuckDB names ignore case
        assert columns["_record_id"].sql_name and columns["rowid"].sql_name and columns["line\nbreak"].sql_name
        assert 'x"; DROP TABLE records; --' in columns
        assert set(table.schema.children) == {"records[]"}  # an array called "records" is not the records table
        assert table.run(QuerySpec("sum", 'x"; DROP TABLE records; --')).rows == [[15]]
        assert table.run(QuerySpec("count", filters=(Filter("name", "=", "other 1"),))).rows == [[3]]
        assert table.run(QuerySpec("count", filters=(Filter("_record_id", "=", "mine"),))).rows == [[6]]
        assert table.run(QuerySpec("sum", "records.k")).rows == [[15]]
        assert table.run(QuerySpec("count")).rows == [[6]]


def test_scalar_and_array_records() -> None:
    with build([3, 1, 2]) as table:
        assert table.schema.columns["value"].type == "number"
        assert table.run(QuerySpec("median", "value")).rows == [[2]]
    with build([[1, 2], [3]]) as table:  # arrays as records: nothing to query but their count
        assert table.run(QuerySpec("count")).rows == [[2]]


# --- safety -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('/etc/hostname')",
        "COPY records TO '/tmp/analytics_leak.csv'",
        "ATTACH '/tmp/analytics_leak.db'",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET enable_external_access = true",
        "SET lock_configuration = false",
        "SELECT * FROM glob('/etc/*')",
    ],
)
def test_files_network_and_settings_are_out_of_reach(
    orders: AnalyticTable, orders_raw: list[dict[str, Any]], sql: str
) -> None:
    with pytest.raises(QueryError) as caught:
        orders._execute(sql)
    assert caught.value.message.startswith("The query could not run:")
    assert not Path("/tmp/analytics_leak.csv").exists() and not Path("/tmp/analytics_leak.db").exists()
    assert orders.run(QuerySpec("count")).rows == [[len(orders_raw)]]


def test_limits_are_set(orders: AnalyticTable) -> None:
    settings = dict(
        orders._execute(
            "SELECT name, value FROM duckdb_settings() WHERE name IN "
            "('enable_external_access', 'lock_configuration', 'threads', 'autoload_known_extensions', "
            "'autoinstall_known_extensions', 'python_enable_replacements')"
        )[0]
    )
    assert settings == {
        "enable_external_access": "false",
        "lock_configuration": "true",
        "threads": "1",
        "autoload_known_extensions": "false",
        "autoinstall_known_extensions": "false",
        "python_enable_replacements": "false",  # SQL cannot read Python variables by name
    }


def test_a_long_query_is_stopped_with_a_clear_message(orders: AnalyticTable, orders_raw: list[dict[str, Any]]) -> None:
    started = time.perf_counter()
    with pytest.raises(QueryError) as caught:
        orders._execute("SELECT count(*) FROM range(1000000000) AS a, range(1000000000) AS b", timeout=0.2)
    elapsed = time.perf_counter() - started
    assert "took longer than 0.2 s and was stopped" in caught.value.message
    assert elapsed < 5
    assert orders.run(QuerySpec("count")).rows == [[len(orders_raw)]]  # the table still answers


def test_the_time_limit_covers_run(orders: AnalyticTable) -> None:
    with pytest.raises(QueryError) as caught:
        orders.run(QuerySpec("count"), timeout=0)
    assert "took longer than 0 s" in caught.value.message


def test_concurrent_runs_give_the_serial_results(cars: AnalyticTable) -> None:
    specs = [
        QuerySpec("count", filters=(Filter("Cylinders", "=", 8),)),
        QuerySpec("mean", "Miles_per_Gallon", group_by=GroupBy("Origin")),
        QuerySpec("argmax", "Horsepower", limit=3),
        QuerySpec("count", group_by=GroupBy("Year", "year")),
    ]
    expected = [cars.run(spec).rows for spec in specs]
    failures: list[str] = []

    def worker(offset: int) -> None:
        for round_ in range(15):
            index = (offset + round_) % len(specs)
            rows = cars.run(specs[index]).rows
            if rows != expected[index]:
                failures.append(f"spec {index}: {rows}")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_closed_table_refuses_queries() -> None:
    table = build([{"a": 1}, {"a": 2}])
    table.close()
    table.close()  # twice is fine
    with pytest.raises(QueryError, match="closed"):
        table.run(QuerySpec("count"))


def test_closing_interrupts_a_running_query() -> None:
    table = build([{"a": i} for i in range(10)])
    outcome: list[str] = []

    def long_query() -> None:
        try:
            table._execute("SELECT count(*) FROM range(1000000000) AS a, range(1000) AS b", timeout=30)
            outcome.append("finished")
        except QueryError as exc:
            outcome.append(exc.message)

    worker = threading.Thread(target=long_query)
    worker.start()
    time.sleep(0.3)
    started = time.perf_counter()
    table.close()
    worker.join(timeout=10)
    assert not worker.is_alive() and time.perf_counter() - started < 5
    assert outcome == ["The analytic table was closed (another dataset was loaded); ask again."]


def test_bad_memory_limit_is_a_query_error() -> None:
    dataset = load_dataset([{"a": 1}])
    with pytest.raises(QueryError, match="cannot be created"):
        AnalyticTable.build(dataset, profile_dataset(dataset.records), memory_limit="lots")


def test_record_ids_column_is_the_record_id(cars: AnalyticTable) -> None:
    rows, _ = cars._execute(f'SELECT "{RECORD_ID}", "Name" FROM records ORDER BY rowid LIMIT 2')
    assert rows == [("$[0]", "chevrolet chevelle malibu"), ("$[1]", "buick skylark 320")]


def test_year_first_slash_dates_are_dates() -> None:
    from rag.analytics.spec import Filter, QuerySpec
    from rag.analytics.table import AnalyticTable
    from rag.loader import load_dataset
    from rag.profile import profile_dataset

    days = [{"date": f"2012/{month:02d}/{day:02d}", "rain": month * day} for month in (1, 2, 3) for day in (1, 15)]
    dataset = load_dataset(days, name="weather.json")
    profile = profile_dataset(dataset.records)
    assert profile.field("date").kind == "date"
    table = AnalyticTable.build(dataset, profile)
    assert table.schema.columns["date"].type == "date"
    march = table.run(QuerySpec("sum", "rain", filters=(Filter("date", "between", ["2012-03-01", "2012-03-31"]),)))
    assert [list(row) for row in march.rows] == [[3 + 45]]
