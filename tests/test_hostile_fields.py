"""Field names that fight the table: internal names, quotes, dots, brackets, spaces, case, unicode.

Every aggregate is checked against a truth computed in plain Python from the raw records, through specs
built by hand and through questions the rules planner reads; and the user sees each field under its
own name, in the "how the question was read" lines, the table headers and the sentence.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Callable

import pytest

from rag.analytics.answer import computed_table, prompt_facts
from rag.analytics.service import DatasetAnalytics
from rag.analytics.spec import Filter, GroupBy, QuerySpec
from rag.analytics.table import AnalyticTable
from rag.loader import load_dataset
from rag.profile import profile_dataset
from tests.analytics_tables import build

LONG = "very long field name " * 12
"""Longer than any name DuckDB is given as it is."""
REGIONS = ("north", "south", "east")
COLOURS = ("red", "blue")
N = 24


def _records() -> list[dict[str, Any]]:
    records = []
    for i in range(N):
        records.append({
            "Name": f"item {i}",
            "_record_id": 100 + (i * 7) % N,
            "rowid": (i * 5) % N,
            'a"b': (i % 4) + 0.5,
            "it's": (i * 3) % 11,
            "unit.price": 10 + (i * 11) % 17,
            "unit": {"price": 1000 + (i * 13) % 19},
            'unit"price': -((i * 5) % 7),
            "x[0]": (i * 9) % 13,
            "items[]": i % 5,
            "sp ace": REGIONS[i % 3],
            "name": COLOURS[(i // 2) % 2],
            "Score": (i * 7) % 10,
            "score": 50 + (i * 3) % 8,
            "": i * 2,
            "prix ünï €": (i * 17) % 23 / 4,
            LONG: (i * 19) % 29,
            "v": "CBA"[(i * 5) % 3],
            "g": (i * 13) % 31,
            "record": (i * 11) % 7,
            "items": [{"_record_id": f"line {i}-{k}", "qty": (i + k) % 4 + 1} for k in range(i % 3 + 1)],
        })
    return records


RAW = _records()
FIELDS: dict[str, tuple[str, ...]] = {
    "_record_id": ("_record_id",),
    "rowid": ("rowid",),
    'a"b': ('a"b',),
    "it's": ("it's",),
    '["unit.price"]': ("unit.price",),
    "unit.price": ("unit", "price"),
    'unit"price': ('unit"price',),
    '["x[0]"]': ("x[0]",),
    '["items[]"]': ("items[]",),
    "Score": ("Score",),
    "score": ("score",),
    '[""]': ("",),
    "prix ünï €": ("prix ünï €",),
    LONG: (LONG,),
    "g": ("g",),
    "record": ("record",),
}
"""Number fields: their path in the table -> the keys that reach their value in a raw record."""
TEXT_FIELDS = {"sp ace": ("sp ace",), "name": ("name",), "Name": ("Name",), "v": ("v",)}


def raw(record: dict[str, Any], path: str) -> Any:
    value: Any = record
    for key in {**FIELDS, **TEXT_FIELDS}[path]:
        value = value[key]
    return value


def ids(keep: Callable[[dict[str, Any]], bool]) -> list[str]:
    return [f"$[{i}]" for i, record in enumerate(RAW) if keep(record)]


@pytest.fixture(scope="module")
def table() -> Iterator[AnalyticTable]:
    with build(RAW, name="hostile.json") as built:
        yield built


@contextmanager
def service_of(records: list[Any], name: str) -> Iterator[DatasetAnalytics]:
    dataset = load_dataset(records, name=name)
    service = DatasetAnalytics.build(dataset, profile_dataset(dataset.records))
    try:
        yield service
    finally:
        service.close()


@pytest.fixture(scope="module")
def analytics() -> Iterator[DatasetAnalytics]:
    with service_of(RAW, "hostile.json") as service:
        yield service


def single(table: AnalyticTable, spec: QuerySpec) -> Any:
    result = table.run(spec)
    assert len(result.rows) == 1 and len(result.rows[0]) == 1, result.rows
    return result.rows[0][0]


# --- the table --------------------------------------------------------------------------------------------


def test_every_hostile_name_is_its_own_column(table: AnalyticTable) -> None:
    columns = table.schema.columns
    for path in FIELDS:
        assert columns[path].type == "number", path
    for path in TEXT_FIELDS:
        assert columns[path].type == "text", path
    # the key "unit.price" and the price inside unit are two fields, named apart
    assert columns["unit.price"].maximum == max(record["unit"]["price"] for record in RAW)
    assert columns['["unit.price"]'].maximum == max(record["unit.price"] for record in RAW)
    # names DuckDB would take for another column get SQL names of their own
    assert columns["_record_id"].sql_name and columns["rowid"].sql_name and columns[LONG].sql_name
    assert bool(columns["Score"].sql_name) != bool(columns["score"].sql_name)
    assert bool(columns["Name"].sql_name) != bool(columns["name"].sql_name)
    assert "items._record_id" in columns and table.schema.children["items"].rows == sum(len(r["items"]) for r in RAW)


def test_a_quote_in_a_name_averages_its_own_values() -> None:
    with build([{'a"b': 1, "a": 10, "b": 20}, {'a"b': 2, "a": 30, "b": 40}]) as small:
        assert small.run(QuerySpec("mean", 'a"b')).rows == [[1.5]]
        assert small.run(QuerySpec("sum", 'a"b', filters=(Filter('a"b', ">", 1),))).rows == [[2]]


# --- aggregates against the truth -------------------------------------------------------------------------


@pytest.mark.parametrize("path", list(FIELDS))
def test_aggregates_of_every_field_match_python(table: AnalyticTable, path: str) -> None:
    values = [raw(record, path) for record in RAW]
    assert single(table, QuerySpec("count", path)) == len(values)
    assert single(table, QuerySpec("sum", path)) == pytest.approx(sum(values))
    assert single(table, QuerySpec("mean", path)) == pytest.approx(statistics.mean(values))
    assert single(table, QuerySpec("median", path)) == pytest.approx(statistics.median(values))
    assert single(table, QuerySpec("min", path)) == min(values)
    assert single(table, QuerySpec("max", path)) == max(values)
    assert single(table, QuerySpec("count_distinct", path)) == len(set(values))


@pytest.mark.parametrize("path", list(FIELDS))
def test_filtered_counts_of_every_field_match_python(table: AnalyticTable, path: str) -> None:
    middle = statistics.median(raw(record, path) for record in RAW)
    over = QuerySpec("count", filters=(Filter(path, ">", middle), Filter("sp ace", "=", "north")))
    keep = [r for r in RAW if raw(r, path) > middle and r["sp ace"] == "north"]
    result = table.run(over)
    assert result.rows == [[len(keep)]]
    assert result.record_ids == ids(lambda r: raw(r, path) > middle and r["sp ace"] == "north")
    by_name = QuerySpec("sum", path, filters=(Filter("name", "=", "red"), Filter("Name", "!=", "item 3")))
    truth = sum(raw(r, path) for r in RAW if r["name"] == "red" and r["Name"] != "item 3")
    assert single(table, by_name) == pytest.approx(truth)


@pytest.mark.parametrize("group", list(TEXT_FIELDS))
@pytest.mark.parametrize("path", ['a"b', "_record_id", '["unit.price"]', "unit.price", "score", "Score", "g", LONG])
def test_group_by_matches_python(table: AnalyticTable, group: str, path: str) -> None:
    groups: dict[Any, list[Any]] = defaultdict(list)
    for record in RAW:
        groups[raw(record, group)].append(raw(record, path))
    result = table.run(QuerySpec("mean", path, group_by=GroupBy(group)))
    assert {row[0]: row[1] for row in result.rows} == pytest.approx(
        {key: statistics.mean(values) for key, values in groups.items()}
    )
    assert result.columns == [group, f"mean({path})"]
    top = table.run(QuerySpec("sum", path, group_by=GroupBy(group), order="desc", limit=1))
    best = max(groups, key=lambda key: (sum(groups[key]), key))
    assert top.rows[0][1] == pytest.approx(sum(groups[best]))


@pytest.mark.parametrize("path", list(FIELDS))
def test_argmax_and_argmin_give_the_real_record_ids(table: AnalyticTable, path: str) -> None:
    values = [raw(record, path) for record in RAW]
    for aggregation, best in (("argmax", max(values)), ("argmin", min(values))):
        result = table.run(QuerySpec(aggregation, path))
        assert result.record_ids == ids(lambda r: raw(r, path) == best)
        assert [row[-1] for row in result.rows] == [best] * len(result.record_ids)
        assert [row[0] for row in result.rows] == result.record_ids


@pytest.mark.parametrize("path", ["g", "record", "_record_id", "rowid"])
def test_argmax_per_group_is_ordered_by_the_value_whatever_the_names(table: AnalyticTable, path: str) -> None:
    """The group field is called ``v``, the measure ``g`` or ``record``: the names the query uses inside."""
    best: dict[str, tuple[Any, list[str]]] = {}
    for i, record in enumerate(RAW):
        key, value = record["v"], raw(record, path)
        if key not in best or value > best[key][0]:
            best[key] = (value, [f"$[{i}]"])
        elif value == best[key][0]:
            best[key][1].append(f"$[{i}]")
    truth = sorted(((value, group, i) for group, (value, found) in best.items() for i in found),
                   key=lambda row: (-row[0], row[1], row[2]))  # highest first, then by group, then by record id
    result = table.run(QuerySpec("argmax", path, group_by=GroupBy("v")))
    assert [(row[-1], row[0], row[1]) for row in result.rows] == truth
    top = table.run(QuerySpec("argmax", path, group_by=GroupBy("v"), limit=1))
    assert (top.rows[0][-1], top.rows[0][0]) == truth[0][:2]


def test_child_rows_join_on_the_record_id_not_the_data_field(table: AnalyticTable) -> None:
    sums: dict[str, int] = defaultdict(int)
    for record in RAW:
        for item in record["items"]:
            sums[record["sp ace"]] += item["qty"]
    result = table.run(QuerySpec("sum", "items.qty", group_by=GroupBy("sp ace")))
    assert {row[0]: row[1] for row in result.rows} == sums
    assert single(table, QuerySpec("count", "items._record_id")) == sum(len(r["items"]) for r in RAW)
    line = RAW[5]["items"][1]["_record_id"]
    result = table.run(QuerySpec("count", filters=(Filter("items._record_id", "=", line),)))
    assert result.rows == [[1]] and result.record_ids == ["$[5]"]


def test_the_shown_sql_computes_the_same(table: AnalyticTable) -> None:
    spec = QuerySpec("mean", 'a"b', filters=(Filter("it's", ">=", 3), Filter("sp ace", "in", ["north", "east"])),
                     group_by=GroupBy("name"))
    result = table.run(spec)
    shown, _ = table._execute(result.sql)
    assert [list(row) for row in shown] == result.rows
    assert '"a""b"' in result.sql and "'north'" in result.sql


# --- what the user sees -----------------------------------------------------------------------------------


def test_a_data_field_called_record_id_is_shown_under_its_name(table: AnalyticTable) -> None:
    from rag.analytics.answer import computed_answer
    from rag.analytics.plan import Plan

    spec = QuerySpec("argmax", "_record_id")
    result = table.run(spec)
    top = max(RAW, key=lambda r: r["_record_id"])
    assert result.record_ids == [f"$[{RAW.index(top)}]"]
    computed = computed_answer(Plan(spec=result.spec, planner="rules"), result, table.schema, noun="records")
    assert computed["value"] == top["_record_id"]
    assert computed_table(computed) == (["Name", "_record_id"], [[top["Name"], str(top["_record_id"])]])
    assert top["Name"] in computed["summary"] and str(top["_record_id"]) in computed["summary"]
    assert any("_record_id" in line and "record id" in line for line in computed["assumptions"])

    grouped = table.run(QuerySpec("count", group_by=GroupBy("_record_id"), order="desc", limit=3))
    computed = computed_answer(Plan(spec=grouped.spec, planner="rules"), grouped, table.schema)
    columns, rows = computed_table(computed)
    assert columns == ["_record_id", "count"] and len(rows) == 3
    assert all(row[0].isdigit() for row in rows)  # the data's values, not record ids
    assert prompt_facts(computed).splitlines()[1].split(" | ")[0] == rows[0][0]


def test_a_label_field_called_record_id_names_the_records() -> None:
    records = [{"_record_id": f"R-{i:03d}", "points": (i * 7) % 10} for i in range(10)]
    with service_of(records, "players.json") as service:
        assert service.table.schema.label_field == "_record_id"
        computed = service.compute("Which player has the most points?").computed
        best = max(records, key=lambda r: r["points"])
        assert computed["record_ids"] == [f"$[{records.index(best)}]"]
        assert f"is {best['_record_id']} ({best['points']})" in computed["summary"]
        assert computed_table(computed) == (["_record_id", "points"], [[best["_record_id"], str(best["points"])]])


def test_fields_named_apart_only_by_case_or_punctuation_are_named_in_the_read_line(table: AnalyticTable) -> None:
    from rag.analytics.answer import field_notes

    spec = QuerySpec("mean", '["unit.price"]', filters=(Filter("name", "=", "red"),), group_by=GroupBy("sp ace"))
    notes = field_notes(spec, table.schema)
    assert notes == [
        'the field used is ["unit.price"] (the key "unit.price"), not unit.price or unit"price',
        "the field used is name, not Name",
    ]
    assert field_notes(QuerySpec("sum", "unit.price"), table.schema) == [
        'the field used is unit.price ("price" inside "unit"), not ["unit.price"] or unit"price'
    ]
    assert field_notes(QuerySpec("sum", "it's"), table.schema) == ["the field used is it's"]
    assert field_notes(QuerySpec("sum", "rowid"), table.schema) == ["rowid is the data's own field rowid"]
    assert field_notes(QuerySpec("count", group_by=GroupBy("v")), table.schema) == []  # a plain name: nothing to add


# --- through questions ------------------------------------------------------------------------------------


def test_a_quoted_name_asked_about_averages_its_own_values() -> None:
    with service_of([{'a"b': 1, "other": 10}, {'a"b': 2, "other": 30}], "pairs.json") as service:
        computed = service.compute('What is the average a"b?').computed
        assert computed["spec"]["field"] == 'a"b' and computed["value"] == 1.5
        assert any('a"b' in line for line in computed["assumptions"])
        assert computed_table(computed)[0] == ['mean(a"b)']


def _mean(path: str, keep: Callable[[dict[str, Any]], bool] = lambda r: True) -> float:
    return statistics.mean(raw(r, path) for r in RAW if keep(r))


QUESTIONS = [
    ("What is the average unit.price?", "mean", "unit.price", lambda: _mean("unit.price")),
    ('What is the average unit"price?', "mean", 'unit"price', lambda: _mean('unit"price')),
    ("What is the average Score?", "mean", "Score", lambda: _mean("Score")),
    ("What is the average score?", "mean", "score", lambda: _mean("score")),
    ("What is the average _record_id?", "mean", "_record_id", lambda: _mean("_record_id")),
    ("average x[0]", "mean", '["x[0]"]', lambda: _mean('["x[0]"]')),
    ("total items[]", "sum", '["items[]"]', lambda: sum(r["items[]"] for r in RAW)),
    ("average prix ünï €", "mean", "prix ünï €", lambda: _mean("prix ünï €")),
    ('average a"b for north', "mean", 'a"b', lambda: _mean('a"b', lambda r: r["sp ace"] == "north")),
    ("total rowid where sp ace is north", "sum", "rowid",
     lambda: sum(r["rowid"] for r in RAW if r["sp ace"] == "north")),
]


@pytest.mark.parametrize(("question", "aggregation", "path", "truth"), QUESTIONS)
def test_questions_compute_over_the_field_they_name(
    analytics: DatasetAnalytics, question: str, aggregation: str, path: str, truth: Callable[[], Any]
) -> None:
    computed = analytics.compute(question).computed
    assert computed is not None, question
    assert (computed["spec"]["aggregation"], computed["spec"]["field"]) == (aggregation, path)
    assert computed["value"] == pytest.approx(truth())
    assert any(path in line for line in computed["assumptions"]), computed["assumptions"]
    assert path in computed["summary"]


def test_a_dotted_name_written_out_is_the_field_used(analytics: DatasetAnalytics) -> None:
    computed = analytics.compute("How many with unit.price over 1010?").computed
    assert computed["spec"]["filters"] == [{"field": "unit.price", "op": ">", "value": 1010}]
    assert computed["value"] == sum(1 for r in RAW if r["unit"]["price"] > 1010)
    assert any(line.startswith("the field used is unit.price") for line in computed["assumptions"])

    computed = analytics.compute("sum of items.qty by sp ace").computed
    assert computed["spec"]["field"] == "items.qty" and computed["spec"]["group_by"]["field"] == "sp ace"
    sums: dict[str, int] = defaultdict(int)
    for record in RAW:
        sums[record["sp ace"]] += sum(item["qty"] for item in record["items"])
    assert {row[0]: row[1] for row in computed["rows"]} == sums
    assert computed_table(computed)[0] == ["sp ace", "sum(items.qty)"]


def test_a_count_filtered_by_a_value_of_a_case_twin(analytics: DatasetAnalytics) -> None:
    computed = analytics.compute("How many are red?").computed
    assert computed["spec"]["filters"] == [{"field": "name", "op": "=", "value": "red"}]
    assert computed["value"] == sum(1 for r in RAW if r["name"] == "red")
    assert "the field used is name, not Name" in computed["assumptions"]


def test_which_record_is_the_records_not_a_field_called_record_id() -> None:
    records = [{"Name": f"player {i}", "_record_id": 500 - i, "score": (i * 7) % 10} for i in range(10)]
    with service_of(records, "players.json") as service:
        computed = service.compute("Which record has the highest score?").computed
        best = max(records, key=lambda r: r["score"])
        assert computed["spec"]["field"] == "score"
        assert computed["record_ids"] == [f"$[{records.index(best)}]"]
        assert computed["summary"] == (
            f"The player with the highest score is {best['Name']} ({best['score']}), out of 10 players."
        )
        computed = service.compute("Which record has the highest _record_id?").computed
        assert computed["spec"]["field"] == "_record_id" and computed["record_ids"] == ["$[0]"]
        assert computed_table(computed) == (["Name", "_record_id"], [["player 0", "500"]])


@pytest.mark.parametrize(
    ("question", "planned", "used"),
    [
        ('average of ["unit.price"]', "unit.price", '["unit.price"]'),  # the flat path, as the app shows it
        ('average of "unit.price"', "unit.price", '["unit.price"]'),  # the key in quotes
        ("average of unit.price", '["unit.price"]', "unit.price"),  # the nested path wins the bare spelling
        ("average of unit.price.", '["unit.price"]', "unit.price"),  # a full stop is no part of the name
        ("average of unit.prices", '["unit.price"]', '["unit.price"]'),  # no name stands there alone
        ("average of UNIT.PRICE", '["unit.price"]', '["unit.price"]'),  # ignoring case, both: the pick stays
        ("average of Score", "score", "Score"),
        ("average of score", "Score", "score"),
    ],
)
def test_the_question_spelling_picks_among_fields_the_planner_cannot_tell_apart(
    table: AnalyticTable, question: str, planned: str, used: str
) -> None:
    from rag.analytics.plan import Plan
    from rag.analytics.service import prefer_written_fields

    plan = prefer_written_fields(Plan(spec=QuerySpec("mean", planned), planner="rules"), question, table.schema)
    assert plan.spec.field == used
