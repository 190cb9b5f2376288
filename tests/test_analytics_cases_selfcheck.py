"""Checks of the analytic question set itself and of its grader (no application code involved)."""

from __future__ import annotations

import ast
import datetime as dt
import math
from collections import Counter
from pathlib import Path

import pytest

from tests.analytics_cases import CASES, DATASETS, QTYPES, Case, dataset_path, load_records
from tests.analytics_grading import (
    Grade,
    Groups,
    NotAnalytic,
    Records,
    Refused,
    Scalar,
    accuracy_by_type,
    grade,
)

REPO = Path(__file__).resolve().parent.parent
BY_ID = {case.id: case for case in CASES}
SCALAR_TYPES = {"count", "count_distinct", "sum", "mean", "median", "min", "max", "filter_range"}
GROUP_TYPES = {"group", "topn"}
RECORD_TYPES = {"argmax", "argmin", "listing"}
FILTER_OPS = {"=", "!=", "<", "<=", ">", ">=", "in", "contains", "between", "is_missing", "not_missing"}
DATE_PARTS = {"year", "month", "quarter"}


def computed(rows: list[list], columns: list[str] | None = None) -> dict:
    """A computed block shaped like the application's ``Answer.meta["computed"]``."""
    width = len(rows[0]) if rows else 1
    return {
        "columns": columns or [f"c{i}" for i in range(width)],
        "rows": rows,
        "summary": "made by hand",
        "sql": "SELECT 1",
        "spec": {},
        "planner": "rules",
    }


# --- the set -------------------------------------------------------------------------------------


def test_the_set_is_large_with_unique_ids_and_questions() -> None:
    assert len(CASES) >= 70
    assert len({case.id for case in CASES}) == len(CASES)
    assert len({case.question.strip().lower() for case in CASES}) == len(CASES)
    assert all(case.dataset in DATASETS and case.qtype in QTYPES for case in CASES)


def test_public_datasets_come_from_installed_packages_and_the_orders_from_the_repo() -> None:
    used = Counter(case.dataset for case in CASES)
    public = [name for name, source in DATASETS.items() if source.public and used[name] >= 3]
    assert len(public) >= 4, used
    assert used["orders"] >= 10
    exported = REPO / "tests" / ".data"  # CSV files of installed packages exported to JSON at test time
    for name in public:
        path = dataset_path(name).resolve()
        assert path.is_file() and ("site-packages" in path.parts or path.is_relative_to(exported)), path
        assert REPO not in path.parents or ".venv" in path.parts or path.is_relative_to(exported), (
            f"{name} must not be committed: {path}"
        )
    assert dataset_path("orders").resolve().is_relative_to(REPO)
    for name in DATASETS:
        assert len(load_records(name)) >= 16


def test_every_question_type_is_covered_and_lookups_are_enough() -> None:
    per_type = Counter(case.qtype for case in CASES)
    assert set(per_type) == set(QTYPES), set(QTYPES) - set(per_type)
    assert min(per_type.values()) >= 3, per_type
    assert per_type["not_analytic"] >= 10


def test_records_are_asked_by_name_and_by_condition_with_names_the_data_lacks() -> None:
    per_type = Counter(case.qtype for case in CASES)
    assert per_type["lookup"] + per_type["listing"] >= 40 and per_type["listing"] >= 10, per_type
    record_sets = {case.dataset for case in CASES if case.qtype in ("lookup", "listing")}
    assert {"countries", "languages", "subdivisions", "cars", "airports"} <= record_sets, record_sets
    negatives = [case for case in CASES if case.qtype == "not_analytic" and "named" in case.truth().about]
    assert len(negatives) >= 5, [case.id for case in negatives]


def test_every_filter_operator_and_date_part_is_asked() -> None:
    asked = {op for case in CASES for op in case.ops}
    assert FILTER_OPS | DATE_PARTS <= asked, (FILTER_OPS | DATE_PARTS) - asked


def test_truths_do_not_touch_the_application() -> None:
    source = (REPO / "tests" / "analytics_cases.py").read_text(encoding="utf-8")
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    assert not {name for name in imported if name.split(".")[0] in {"rag", "dashboard", "app"}}, imported


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_each_truth_computes_and_is_not_trivial(case: Case) -> None:
    truth = case.truth()
    if case.qtype in ("not_analytic", "refused"):
        assert isinstance(truth, NotAnalytic) and truth.about
        assert isinstance(truth, Refused) == (case.qtype == "refused")
        return
    assert not isinstance(truth, NotAnalytic)
    if case.qtype in SCALAR_TYPES:
        assert isinstance(truth, Scalar)
    elif case.qtype == "lookup":
        assert isinstance(truth, (Scalar, Records))
        assert not isinstance(truth, Records) or truth.total is not None  # several records: all must be counted
    elif case.qtype in GROUP_TYPES:
        assert isinstance(truth, Groups)
    elif case.qtype in RECORD_TYPES:
        assert isinstance(truth, Records)
    if isinstance(truth, Scalar):
        assert truth.value is not None and truth.value != ""
        if isinstance(truth.value, (int, float)):
            assert math.isfinite(truth.value)
            if case.qtype in {"count", "count_distinct", "filter_range"}:
                assert 0 < truth.value
    elif isinstance(truth, Groups):
        assert truth.mapping and all(value is not None for value in truth.mapping.values())
        if truth.top is None:
            assert len(truth.mapping) >= 2
        else:
            assert len(truth.mapping) == truth.top
    elif isinstance(truth, Records):
        assert truth.names and all(truth.names) and 1 <= truth.need <= len(truth.names)


def test_truths_agree_with_the_figures_published_for_cars() -> None:
    """The issue quotes truths for cars.json; the independent computation must agree."""
    assert BY_ID["cars_count_all"].truth() == Scalar(406)
    assert BY_ID["cars_count_8cyl"].truth() == Scalar(108)
    assert BY_ID["cars_count_europe"].truth() == Scalar(73)
    assert round(BY_ID["cars_mean_mpg_japan"].truth().value, 2) == 30.45
    assert BY_ID["cars_argmax_hp"].truth().names == ("pontiac grand prix",)


# --- the grader: scalars -------------------------------------------------------------------------


def test_scalar_matches_the_last_cell_of_the_single_row() -> None:
    case = BY_ID["cars_count_8cyl"]
    assert grade(case, computed([["Cylinders = 8", 108]]), "").ok
    assert grade(case, computed([[108.0]]), "").ok
    wrong = grade(case, computed([[107]]), "108 cars")
    assert not wrong.ok and "107" in wrong.why
    assert not grade(case, computed([[108], [4]]), "").ok
    assert not grade(case, computed([]), "").ok


def test_scalar_tolerates_rounding_to_two_decimals_only() -> None:
    case = BY_ID["cars_mean_mpg_japan"]
    assert grade(case, computed([[30.45]]), "").ok
    assert grade(case, computed([["30.4506"]]), "").ok
    assert not grade(case, computed([[30.4]]), "").ok
    assert not grade(case, computed([[24.59]]), "").ok


def test_scalar_from_text_when_retrieval_answered() -> None:
    case = BY_ID["cars_sum_weight"]
    value = case.truth().value
    found = grade(case, None, f"All cars together weigh {value:,} lbs.")
    assert found.ok and found.why.startswith("from text")
    assert grade(BY_ID["cars_mean_mpg_japan"], None, "Japanese cars average 30.45 mpg.").ok
    assert not grade(case, None, "The dataset contains 4 records.").ok
    assert not grade(BY_ID["cars_count_all"], None, "There are 4060 cars, or 40.6 per year.").ok


def test_scalar_dates_compare_as_dates() -> None:
    case = BY_ID["orders_first_date"]
    first = case.truth().value
    assert grade(case, computed([[dt.date.fromisoformat(first)]]), "").ok
    assert grade(case, computed([[f"{first} 00:00:00"]]), "").ok
    assert grade(case, computed([[dt.datetime.fromisoformat(first)]]), "").ok
    assert not grade(case, computed([["2024-12-26"]]), "").ok
    assert grade(case, None, f"The first order was placed on {first}.").ok


# --- the grader: groups --------------------------------------------------------------------------


def test_groups_match_whatever_the_order_and_case_of_keys() -> None:
    case = BY_ID["cars_group_mpg_origin"]
    truth = case.truth().mapping
    rows = [[key.upper(), round(value, 2)] for key, value in reversed(list(truth.items()))]
    assert grade(case, computed(rows), "").ok


def test_groups_fail_on_a_missing_an_extra_or_a_wrong_group() -> None:
    case = BY_ID["orders_by_status"]
    rows = [[key, value] for key, value in case.truth().mapping.items()]
    assert grade(case, computed(rows), "").ok
    assert not grade(case, computed(rows[1:]), "").ok
    assert not grade(case, computed(rows + [["lost", 0]]), "").ok
    assert not grade(case, computed(rows + [[None, 3]]), "").ok
    wrong = [rows[0][:1] + [rows[0][1] + 1]] + rows[1:]
    result = grade(case, computed(wrong), "")
    assert not result.ok and "wrong values" in result.why
    assert not grade(case, None, " ".join(f"{key}: {value}" for key, value in rows)).ok


def test_group_keys_accept_years_and_months_in_any_common_form() -> None:
    years = BY_ID["cars_per_year"].truth().mapping
    assert grade(BY_ID["cars_per_year"], computed([[str(year), n] for year, n in years.items()]), "").ok
    assert grade(BY_ID["cars_per_year"], computed([[float(year), n] for year, n in years.items()]), "").ok
    assert grade(BY_ID["cars_per_year"], computed([[f"{year}-01-01", n] for year, n in years.items()]), "").ok
    assert not grade(BY_ID["cars_per_year"], computed([[year + 1, n] for year, n in years.items()]), "").ok
    months = BY_ID["ohlc_close_per_month"].truth().mapping
    names = {6: "June", 7: "July"}
    assert grade(BY_ID["ohlc_close_per_month"], computed([[f"{m:02d}", v] for m, v in months.items()]), "").ok
    assert grade(BY_ID["ohlc_close_per_month"], computed([[names[m], v] for m, v in months.items()]), "").ok


def test_top_groups_must_lead_the_rows() -> None:
    case = BY_ID["orders_top5_cities"]
    expected = list(case.truth().mapping.items())
    assert grade(case, computed([[k, v] for k, v in expected]), "").ok
    assert grade(case, computed([[k, v] for k, v in expected] + [["Rome", 15]]), "").ok
    assert not grade(case, computed([["Rome", 15]] + [[k, v] for k, v in expected]), "").ok
    assert not grade(case, computed([[k, v] for k, v in expected[:4]]), "").ok


# --- the grader: records and lookups -------------------------------------------------------------


def test_records_are_found_in_cells_or_text() -> None:
    case = BY_ID["cars_argmax_hp"]
    assert grade(case, computed([["$[261]", "Pontiac Grand Prix", 230]]), "").ok
    assert not grade(case, computed([["$[12]", "audi 4000", 78]]), "The Audi 4000 has 78 hp.").ok
    from_text = grade(case, None, "The pontiac grand prix has 230 horsepower.")
    assert from_text.ok and "from text" in from_text.why


def test_records_need_every_asked_record_and_accept_any_tie() -> None:
    heaviest = BY_ID["cars_top3_heaviest"]
    names = heaviest.truth().names
    assert grade(heaviest, computed([[f"$[{i}]", name, 5000 - i] for i, name in enumerate(names)]), "").ok
    assert not grade(heaviest, computed([[f"$[{i}]", name, 1] for i, name in enumerate(names[:2])]), "").ok
    tied = BY_ID["cars_argmin_acceleration"]
    assert len(tied.truth().names) >= 2
    for name in tied.truth().names:
        assert grade(tied, computed([["$[0]", name, 8]]), "").ok


def test_open_questions_and_absent_names_must_go_to_retrieval() -> None:
    case = BY_ID["cars_absent_tesla"]
    assert grade(case, None, "The data holds no Tesla.").ok
    assert not grade(case, computed([["$[0]", "ford pinto", 85]]), "85").ok
    assert grade(BY_ID["cars_about_chevelle"], None, "A 1970 car.").ok


def test_a_lookup_of_one_record_is_its_value() -> None:
    case = BY_ID["countries_germany_alpha3"]
    assert case.truth() == Scalar("DEU")
    assert grade(case, computed([['$["3166-1"][59]', "Germany", "DEU"]]), "").ok
    assert not grade(case, computed([['$["3166-1"][60]', "Denmark", "DNK"]]), "").ok
    assert not grade(case, None, "I could not find it.").ok


def test_a_lookup_of_several_records_needs_every_value_and_their_count() -> None:
    case = BY_ID["cars_lookup_impala_weight"]
    truth = case.truth()
    assert isinstance(truth, Records) and truth.total == 4 and set(truth.names) == {"4354", "4209", "4274", "4997"}
    rows = [[f"$[{i}]", "chevrolet impala", int(w)] for i, w in enumerate(truth.names)]
    assert grade(case, {**computed(rows), "matched_rows": 4}, "").ok
    assert not grade(case, {**computed(rows[:3]), "matched_rows": 3}, "").ok  # one record left out
    assert not grade(case, {**computed(rows), "matched_rows": 5}, "").ok  # another record counted in
    ids_only = [[f"$[{w}]", "chevrolet impala", 1] for w in truth.names]  # a number inside an id names nothing
    assert not grade(case, {**computed(ids_only), "matched_rows": 4}, "").ok


def test_a_listing_names_its_records_and_counts_them_all() -> None:
    case = BY_ID["subdivisions_list_burg"]
    truth = case.truth()
    assert truth.total == 6 and "Hamburg" in truth.names and "Sankt-Peterburg" in truth.names
    rows = [[f"$[{i}]", name] for i, name in enumerate(truth.names)] + [["$[9]", "Limburg"]]
    assert grade(case, {**computed(rows), "matched_rows": 6}, "").ok
    assert not grade(case, {**computed(rows[:2]), "matched_rows": 2}, "").ok


def test_grade_takes_an_expectation_directly() -> None:
    assert grade(Scalar(2.5), computed([[2.5]]), "").ok
    assert grade(Groups({"a": 1, "b": 2}), computed([["B", 2], ["a", 1]]), "").ok
    assert grade(Records(("x1", "x2"), need=2), None, "X1 and x2").ok
    assert grade(NotAnalytic(), None, "").ok


def test_accuracy_by_type_counts_right_and_graded() -> None:
    results = [
        (BY_ID["cars_count_all"], Grade(True, "")),
        (BY_ID["cars_count_8cyl"], Grade(False, "")),
        (BY_ID["cars_argmax_hp"], Grade(True, "")),
    ]
    assert accuracy_by_type(results) == {"argmax": (1, 1), "count": (1, 2)}
