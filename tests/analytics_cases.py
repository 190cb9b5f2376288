"""The analytic question set: questions as an analyst types them, with truths computed from the raw JSON.

The datasets are public files shipped inside installed PyPI packages (``vega_datasets``, ``pycountry``),
read from site-packages, plus the dashboard's example orders. Every truth is computed here with plain
Python (``json``, ``statistics``) from the raw records, independently of the application: sums and means
skip missing values, the median is ``statistics.median`` (the mean of the middle two), "cars with X"
counts records, and "contains" ignores case.

A case's ``expect`` is a function of the loaded records returning its expectation (see
``tests.analytics_grading``); ``Case.truth()`` loads the dataset and calls it.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from tests import datasets
from tests.analytics_grading import Expectation, Groups, NotAnalytic, Records, Refused, Scalar

Record = Mapping[str, Any]
Rows = Sequence[Record]
Where = Callable[[Record], bool]

QTYPES = (
    "count", "count_distinct", "sum", "mean", "median", "min", "max", "argmax", "argmin",
    "group", "topn", "filter_range", "date", "nested", "child", "lookup", "listing", "not_analytic", "refused",
)
"""Question types: each case has the dominant one. ``lookup``: a field of a named record ("What is the alpha-3
code of Norway?"); ``listing``: the records meeting conditions ("Which subdivisions end with 'burg'?");
``refused``: an analytic question the data cannot answer as asked ("the average price" of cars that have no
price), answered with rephrasings and no number."""


# --- datasets ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatasetSource:
    """One dataset of the question set."""

    name: str
    locate: Callable[[], Path]
    """The JSON file the application loads."""
    key: str | None = None
    """Top-level key holding the list of records (pycountry's files), or None for a top-level list."""
    public: bool = True
    """A public dataset shipped in a PyPI package (the example orders are not)."""


DATASETS: dict[str, DatasetSource] = {
    source.name: source
    for source in (
        DatasetSource("cars", lambda: datasets.vega_dataset_path("cars.json")),
        DatasetSource("iris", lambda: datasets.vega_dataset_path("iris.json")),
        DatasetSource("barley", lambda: datasets.vega_dataset_path("barley.json")),
        DatasetSource("ohlc", lambda: datasets.vega_dataset_path("ohlc.json")),
        DatasetSource("crimea", lambda: datasets.vega_dataset_path("crimea.json")),
        DatasetSource("countries", lambda: datasets.pycountry_database_path("iso3166-1.json"), key="3166-1"),
        DatasetSource("currencies", lambda: datasets.pycountry_database_path("iso4217.json"), key="4217"),
        DatasetSource("driving", lambda: datasets.vega_dataset_path("driving.json")),
        DatasetSource("wheat", lambda: datasets.vega_dataset_path("wheat.json")),
        DatasetSource("tips", lambda: datasets.plotly_dataset_path("tips")),
        DatasetSource("gapminder", lambda: datasets.plotly_dataset_path("gapminder")),
        DatasetSource("languages", lambda: datasets.pycountry_database_path("iso639-3.json"), key="639-3"),
        DatasetSource("subdivisions", lambda: datasets.pycountry_database_path("iso3166-2.json"), key="3166-2"),
        DatasetSource("airports", lambda: vega_csv_as_json("airports.csv", numbers=("latitude", "longitude"))),
        DatasetSource("weather", lambda: vega_csv_as_json(
            "seattle-weather.csv", numbers=("precipitation", "temp_max", "temp_min", "wind"), dates=("date",))),
        DatasetSource("riots", lambda: vega_csv_as_json(
            "la-riots.csv", numbers=("age", "longitude", "latitude"), dates=("death_date",))),
        DatasetSource("orders", datasets.example_orders_path, public=False),
    )
}


def vega_csv_as_json(file_name: str, numbers: tuple[str, ...] = (), dates: tuple[str, ...] = ()) -> Path:
    """A CSV file of ``vega_datasets`` exported as a JSON array of records under ``tests/.data/vega/``, the way an
    analyst would export it: the ``numbers`` columns as numbers, the ``dates`` as ISO dates ("2012/01/01" ->
    "2012-01-01"), the others as text (codes such as the airport "00M" stay text), empty cells left out."""
    import csv

    def cell(key: str, value: str) -> Any:
        if key in numbers:
            return float(value)
        return value.replace("/", "-") if key in dates else value

    target = datasets.PLOTLY_JSON_DIR.parent / "vega" / file_name.replace(".csv", ".json")
    if not target.is_file():
        with datasets.vega_dataset_path(file_name).open(encoding="utf-8", newline="") as handle:
            records = [
                {key: cell(key, value) for key, value in row.items() if value != ""}
                for row in csv.DictReader(handle)
            ]
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        partial.write_text(json.dumps(records))
        partial.replace(target)
    return target


def dataset_path(name: str) -> Path:
    """The JSON file of a dataset of the set (what the application is given)."""
    return DATASETS[name].locate()


@cache
def load_records(name: str) -> tuple[Record, ...]:
    """The raw records of a dataset of the set, parsed with ``json`` only."""
    return read_records(DATASETS[name])


def read_records(source: DatasetSource) -> tuple[Record, ...]:
    """The raw records of ``source``'s file, parsed with ``json`` only."""
    data = json.loads(source.locate().read_bytes())
    records = data[source.key] if source.key else data
    if not isinstance(records, list) or not records:
        raise ValueError(f"{source.name}: expected a non-empty list of records")
    return tuple(records)


# --- the case ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One question of the set."""

    id: str
    dataset: str
    question: str
    qtype: str
    """One of ``QTYPES``."""
    expect: Callable[[Rows], Expectation]
    """Computes the expectation from the dataset's raw records."""
    ops: tuple[str, ...] = ()
    """Filter operators and date parts the question involves, to check the set covers them all."""

    def truth(self) -> Expectation:
        """The expectation, computed once from the raw records."""
        if self.id not in _TRUTHS:
            _TRUTHS[self.id] = self.expect(load_records(self.dataset))
        return _TRUTHS[self.id]


_TRUTHS: dict[str, Expectation] = {}


# --- plain-Python truths -------------------------------------------------------------------------


def get(record: Record, path: str) -> Any:
    """The value at a dotted path (``customer.city``); None when absent."""
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _rows(rows: Rows, where: Where | None) -> list[Record]:
    return [row for row in rows if where is None or where(row)]


def values(rows: Rows, path: str, where: Where | None = None) -> list[Any]:
    """The non-missing values of a field over the rows that pass ``where``."""
    return [value for row in _rows(rows, where) if (value := get(row, path)) is not None]


def count(rows: Rows, where: Where | None = None) -> Scalar:
    return Scalar(len(_rows(rows, where)))


def count_distinct(rows: Rows, path: str, where: Where | None = None) -> Scalar:
    return Scalar(len(set(values(rows, path, where))))


def total(rows: Rows, path: str, where: Where | None = None) -> Scalar:
    return Scalar(sum(values(rows, path, where)))


def mean(rows: Rows, path: str, where: Where | None = None) -> Scalar:
    return Scalar(statistics.fmean(values(rows, path, where)))


def median(rows: Rows, path: str, where: Where | None = None) -> Scalar:
    return Scalar(statistics.median(values(rows, path, where)))


def lowest(rows: Rows, path: str, where: Where | None = None) -> Scalar:
    return Scalar(min(values(rows, path, where)))


def highest(rows: Rows, path: str, where: Where | None = None) -> Scalar:
    return Scalar(max(values(rows, path, where)))


def best(rows: Rows, path: str, label: str, n: int = 1, largest: bool = True) -> Records:
    """The ``n`` records with the largest (smallest) value, every record tied with the n-th included."""
    present = [row for row in rows if get(row, path) is not None]
    ranked = sorted(present, key=lambda row: get(row, path), reverse=largest)
    edge = get(ranked[n - 1], path)
    chosen = [row for row in ranked if (get(row, path) >= edge if largest else get(row, path) <= edge)]
    return Records(tuple(dict.fromkeys(str(get(row, label)) for row in chosen)), need=n)


Key = Callable[[Record], Any]


def grouped(
    rows: Rows, key: str | Key, path: str | None = None, agg: Callable[[list[Any]], Any] | None = None,
    where: Where | None = None,
) -> dict[Any, Any]:
    """Group key -> ``agg`` of the field's non-missing values; without ``path``, the number of rows."""
    key_of = key if callable(key) else (lambda row: get(row, key))
    buckets: dict[Any, list[Any]] = {}
    for row in _rows(rows, where):
        bucket = buckets.setdefault(key_of(row), [])
        if path is None:
            bucket.append(row)
        elif (value := get(row, path)) is not None:
            bucket.append(value)
    if path is None:
        return {group: len(members) for group, members in buckets.items()}
    return {group: agg(members) for group, members in buckets.items() if members}


def groups(mapping: dict[Any, Any]) -> Groups:
    return Groups(mapping)


def top(mapping: dict[Any, Any], n: int, largest: bool = True) -> Groups:
    """The first ``n`` groups by value; a tie across the cut would make the question ill-posed."""
    ranked = sorted(mapping.items(), key=lambda item: item[1], reverse=largest)
    if len(ranked) > n and ranked[n - 1][1] == ranked[n][1]:
        raise ValueError(f"tie at the top-{n} cut: {ranked[n - 1]} and {ranked[n]}")
    return Groups(dict(ranked[:n]), top=n)


def year(path: str) -> Key:
    return lambda row: int(str(get(row, path))[:4])


def month(path: str) -> Key:
    return lambda row: int(str(get(row, path))[5:7])


def quarter(path: str) -> Key:
    return lambda row: (int(str(get(row, path))[5:7]) - 1) // 3 + 1


def items(orders: Rows) -> list[Record]:
    """The child rows: every element of every order's ``items`` array."""
    return [item for order in orders for item in order["items"]]


def has_text(path: str, word: str) -> Where:
    """The field contains ``word``, ignoring case."""
    return lambda row: word.lower() in str(get(row, path) or "").lower()


def lookup(rows: Rows, path: str, *wanted: str) -> NotAnalytic:
    """A lookup question about records that must exist (one per wanted value)."""
    seen = []
    for value in wanted:
        found = [row for row in rows if str(get(row, path)).lower() == value.lower()]
        if not found:
            raise ValueError(f"no record with {path} = {value!r}")
        seen.append(f"{path} = {value} ({len(found)} record(s))")
    return NotAnalytic(about="; ".join(seen))


def named(rows: Rows, path: str, name: str) -> list[Record]:
    """The records whose ``path`` is ``name``, ignoring case."""
    return [row for row in rows if str(get(row, path) or "").lower() == name.lower()]


def value_of(rows: Rows, path: str, name: str, field: str) -> Scalar:
    """A lookup of one record: the ``field`` of the one record whose ``path`` is ``name``."""
    found = named(rows, path, name)
    if len(found) != 1:
        raise ValueError(f"expected one record with {path} = {name!r}, found {len(found)}")
    value = get(found[0], field)
    if value is None:
        raise ValueError(f"{name!r} has no {field}")
    return Scalar(value)


def values_of(rows: Rows, path: str, name: str, field: str, where: Where | None = None) -> Records:
    """A lookup over several records called the same: each value of ``field`` they hold must be shown, and the
    block must count every one of the records."""
    found = _rows(named(rows, path, name), where)
    if len(found) < 2:
        raise ValueError(f"expected several records with {path} = {name!r}, found {len(found)}")
    shown = tuple(dict.fromkeys(str(value) for row in found if (value := get(row, field)) is not None))
    return Records(shown, need=len(shown), total=len(found))


def listing(rows: Rows, where: Where, label: str, need: int = 10) -> Records:
    """A listing: the records meeting ``where``, named by ``label``; ``need`` of them (all, when fewer) must be
    shown, and the block must count every one."""
    found = _rows(rows, where)
    if not found:
        raise ValueError("the listing matches no record")
    names = tuple(dict.fromkeys(str(get(row, label)) for row in found))
    return Records(names, need=min(need, len(names)), total=len(found))


def absent(rows: Rows, name: str, *paths: str) -> NotAnalytic:
    """A name no record has in any of ``paths``: the question must not be computed (never a wrong record)."""
    words = name.lower().split()
    for row in rows:
        for path in paths:
            text = str(get(row, path) or "").lower()
            if text == name.lower() or all(word in text.split() for word in words):
                raise ValueError(f"{name!r} is in the data: {path} = {get(row, path)!r}")
    return NotAnalytic(about=f"no record named {name!r} in {', '.join(paths)}")


def ambiguous(rows: Rows, word: str, path: str) -> NotAnalytic:
    """A name that several records share a word of, none of them by that name alone: not guessed."""
    found = [str(get(row, path)) for row in rows if word.lower() in str(get(row, path) or "").lower().split()]
    if len(found) < 2 or any(name.lower() == word.lower() for name in found):
        raise ValueError(f"{word!r} is not ambiguous in {path}: {found}")
    return NotAnalytic(about=f"{word!r} could name {', '.join(found)}")


def field_names(rows: Rows) -> set[str]:
    """Every key of the records, nested keys included, in lower case."""
    names: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                names.add(str(key).lower())
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for row in rows:
        walk(row)
    return names


def no_field(rows: Rows, *words: str) -> Refused:
    """An analytic question about something no field holds ("the average price" of cars): refused, never computed."""
    names = field_names(rows)
    held = [word for word in words if any(word.lower() in name for name in names)]
    if held:
        raise ValueError(f"a field holds {held}: {sorted(names)}")
    return Refused(about=f"no field holds {', '.join(words)}")


def month_of_years(rows: Rows, path: str, month: int) -> Refused:
    """A month named without its year over dates of several years: refused, never every record nor every March."""
    years = {str(get(row, path))[:4] for row in rows if get(row, path)}
    if len(years) < 2:
        raise ValueError(f"{path} spans one year: the month is that year's")
    if not any(str(get(row, path))[5:7] == f"{month:02d}" for row in rows) and path != "Year":
        raise ValueError(f"no record in month {month}")
    return Refused(about=f"month {month} of {len(years)} years of {path}")


def two_fields(rows: Rows, word: str, *paths: str) -> Refused:
    """A word two fields fit equally ("temperature": temp_max and temp_min): refused with both offered."""
    names = field_names(rows)
    if not all(path.lower() in names for path in paths):
        raise ValueError(f"missing {paths}")
    return Refused(about=f"{word!r} could be {' or '.join(paths)}")


def about(rows: Rows, *paths: str) -> NotAnalytic:
    """An open question about the dataset's fields, which must exist."""
    missing = [path for path in paths if not values(rows, path)]
    if missing:
        raise ValueError(f"no values for {missing}")
    return NotAnalytic(about="fields " + ", ".join(paths))


fmean, fmedian = statistics.fmean, statistics.median


# --- the questions -------------------------------------------------------------------------------

CASES: tuple[Case, ...] = (
    # cars.json (vega_datasets): Name, Miles_per_Gallon, Cylinders, Displacement, Horsepower,
    # Weight_in_lbs, Acceleration, Year (ISO date, 1 January), Origin (USA / Europe / Japan)
    Case("cars_count_all", "cars", "How many cars are in the dataset?", "count", lambda rs: count(rs)),
    Case("cars_count_8cyl", "cars", "How many cars have 8 cylinders?", "count",
         lambda rs: count(rs, lambda r: r["Cylinders"] == 8), ops=("=",)),
    Case("cars_count_europe", "cars", "How many cars come from Europe?", "count",
         lambda rs: count(rs, lambda r: r["Origin"] == "Europe"), ops=("=",)),
    Case("cars_count_japan", "cars", "how many cars are from japan", "count",
         lambda rs: count(rs, lambda r: r["Origin"] == "Japan"), ops=("=",)),
    Case("cars_not_usa", "cars", "How many cars are not from the USA?", "count",
         lambda rs: count(rs, lambda r: r["Origin"] != "USA"), ops=("!=",)),
    Case("cars_in_cylinders", "cars", "How many cars have 4 or 6 cylinders?", "count",
         lambda rs: count(rs, lambda r: r["Cylinders"] in (4, 6)), ops=("in",)),
    Case("cars_contains_toyota", "cars", "How many cars have toyota in their name?", "count",
         lambda rs: count(rs, has_text("Name", "toyota")), ops=("contains",)),
    Case("cars_missing_hp", "cars", "How many cars have no horsepower value?", "count",
         lambda rs: count(rs, lambda r: r["Horsepower"] is None), ops=("is_missing",)),
    Case("cars_missing_mpg", "cars", "For how many cars is Miles_per_Gallon missing?", "count",
         lambda rs: count(rs, lambda r: r["Miles_per_Gallon"] is None), ops=("is_missing",)),
    Case("cars_distinct_names", "cars", "How many unique car names are there?", "count_distinct",
         lambda rs: count_distinct(rs, "Name")),
    Case("cars_distinct_cylinders", "cars", "How many distinct cylinder values are there?", "count_distinct",
         lambda rs: count_distinct(rs, "Cylinders")),
    Case("cars_sum_weight", "cars", "What's the total weight in lbs of all the cars?", "sum",
         lambda rs: total(rs, "Weight_in_lbs")),
    Case("cars_mean_mpg_japan", "cars", "What is the average Miles_per_Gallon of cars from Japan?", "mean",
         lambda rs: mean(rs, "Miles_per_Gallon", lambda r: r["Origin"] == "Japan"), ops=("=",)),
    Case("cars_mean_hp_4cyl", "cars", "What's the mean horsepower of 4-cylinder cars?", "mean",
         lambda rs: mean(rs, "Horsepower", lambda r: r["Cylinders"] == 4), ops=("=",)),
    Case("cars_median_weight", "cars", "What is the median weight of the cars?", "median",
         lambda rs: median(rs, "Weight_in_lbs")),
    Case("cars_median_mpg_usa", "cars", "Median miles per gallon for cars from the USA", "median",
         lambda rs: median(rs, "Miles_per_Gallon", lambda r: r["Origin"] == "USA"), ops=("=",)),
    Case("cars_min_mpg", "cars", "What is the lowest miles per gallon of any car?", "min",
         lambda rs: lowest(rs, "Miles_per_Gallon")),
    Case("cars_max_acceleration", "cars", "What is the maximum acceleration?", "max",
         lambda rs: highest(rs, "Acceleration")),
    Case("cars_max_displacement_1970", "cars", "What was the largest displacement among cars made in 1970?", "max",
         lambda rs: highest(rs, "Displacement", lambda r: r["Year"].startswith("1970")), ops=("year",)),
    Case("cars_argmax_hp", "cars", "Which car has the highest horsepower?", "argmax",
         lambda rs: best(rs, "Horsepower", "Name")),
    Case("cars_top3_heaviest", "cars", "What are the 3 heaviest cars?", "argmax",
         lambda rs: best(rs, "Weight_in_lbs", "Name", n=3)),
    Case("cars_argmax_mpg", "cars", "Which car has the best miles per gallon?", "argmax",
         lambda rs: best(rs, "Miles_per_Gallon", "Name")),
    Case("cars_argmin_weight", "cars", "Which car is the lightest?", "argmin",
         lambda rs: best(rs, "Weight_in_lbs", "Name", largest=False)),
    Case("cars_argmin_acceleration", "cars", "Which car has the lowest acceleration?", "argmin",
         lambda rs: best(rs, "Acceleration", "Name", largest=False)),
    Case("cars_group_mpg_origin", "cars", "average mpg per origin", "group",
         lambda rs: groups(grouped(rs, "Origin", "Miles_per_Gallon", fmean))),
    Case("cars_group_count_cylinders", "cars", "Number of cars by cylinders", "group",
         lambda rs: groups(grouped(rs, "Cylinders"))),
    Case("cars_group_max_hp_origin", "cars", "What is the maximum horsepower for each origin?", "group",
         lambda rs: groups(grouped(rs, "Origin", "Horsepower", max))),
    Case("cars_top_names", "cars", "Which 4 car names appear most often?", "topn",
         lambda rs: top(grouped(rs, "Name"), 4)),
    Case("cars_hp_over_200", "cars", "How many cars have more than 200 horsepower?", "filter_range",
         lambda rs: count(rs, lambda r: (r["Horsepower"] or 0) > 200), ops=(">",)),
    Case("cars_weight_between", "cars", "How many cars weigh between 2000 and 3000 lbs?", "filter_range",
         lambda rs: count(rs, lambda r: 2000 <= r["Weight_in_lbs"] <= 3000), ops=("between",)),
    Case("cars_mpg_at_least_30", "cars", "How many cars get at least 30 miles per gallon?", "filter_range",
         lambda rs: count(rs, lambda r: r["Miles_per_Gallon"] is not None and r["Miles_per_Gallon"] >= 30),
         ops=(">=",)),
    Case("cars_fewer_than_6cyl", "cars", "How many cars have fewer than 6 cylinders?", "filter_range",
         lambda rs: count(rs, lambda r: r["Cylinders"] < 6), ops=("<",)),
    Case("cars_made_1982", "cars", "How many cars were made in 1982?", "date",
         lambda rs: count(rs, lambda r: r["Year"].startswith("1982")), ops=("year",)),
    Case("cars_per_year", "cars", "How many cars per model year?", "date",
         lambda rs: groups(grouped(rs, year("Year"))), ops=("year",)),
    Case("cars_hp_by_year", "cars", "Average horsepower by year", "date",
         lambda rs: groups(grouped(rs, year("Year"), "Horsepower", fmean)), ops=("year",)),
    Case("cars_before_1975", "cars", "How many cars are from before 1975?", "date",
         lambda rs: count(rs, lambda r: r["Year"] < "1975-01-01"), ops=("<", "year")),
    Case("cars_about_chevelle", "cars", "Tell me about the chevrolet chevelle malibu", "not_analytic",
         lambda rs: lookup(rs, "Name", "chevrolet chevelle malibu")),
    Case("cars_lookup_skylark", "cars", "What is the horsepower of the buick skylark 320?", "lookup",
         lambda rs: value_of(rs, "Name", "buick skylark 320", "Horsepower"), ops=("=",)),
    Case("cars_compare_pinto_corolla", "cars", "Compare the ford pinto with the toyota corolla", "not_analytic",
         lambda rs: lookup(rs, "Name", "ford pinto", "toyota corolla")),

    # iris.json (vega_datasets): sepalLength, sepalWidth, petalLength, petalWidth, species
    Case("iris_mean_petal_setosa", "iris", "What is the average petal length of setosa flowers?", "mean",
         lambda rs: mean(rs, "petalLength", lambda r: r["species"] == "setosa"), ops=("=",)),
    Case("iris_sepal_width_by_species", "iris", "Mean sepal width by species", "group",
         lambda rs: groups(grouped(rs, "species", "sepalWidth", fmean))),
    Case("iris_max_petal_width", "iris", "What's the largest petal width?", "max",
         lambda rs: highest(rs, "petalWidth")),
    Case("iris_median_sepal_length", "iris", "What is the median sepal length?", "median",
         lambda rs: median(rs, "sepalLength")),
    Case("iris_petal_over_5", "iris", "How many flowers have a petal length over 5?", "filter_range",
         lambda rs: count(rs, lambda r: r["petalLength"] > 5), ops=(">",)),
    Case("iris_species_count", "iris", "How many different species are in the data?", "count_distinct",
         lambda rs: count_distinct(rs, "species")),
    Case("iris_longest_petal", "iris", "Which species has the longest petal?", "argmax",
         lambda rs: best(rs, "petalLength", "species")),
    Case("iris_min_sepal_virginica", "iris", "What is the smallest sepal length among virginica?", "min",
         lambda rs: lowest(rs, "sepalLength", lambda r: r["species"] == "virginica"), ops=("=",)),
    Case("iris_versicolor_width_between", "iris",
         "How many versicolor flowers have a petal width between 1.0 and 1.5?", "filter_range",
         lambda rs: count(rs, lambda r: r["species"] == "versicolor" and 1.0 <= r["petalWidth"] <= 1.5),
         ops=("=", "between")),
    Case("iris_about", "iris", "What is this iris dataset about?", "not_analytic",
         lambda rs: about(rs, "species", "petalLength")),

    # barley.json (vega_datasets): yield, variety, year (1931, 1932), site
    Case("barley_yield_per_site", "barley", "What was the total yield per site?", "group",
         lambda rs: groups(grouped(rs, "site", "yield", sum))),
    Case("barley_best_variety", "barley", "Which variety had the highest average yield?", "topn",
         lambda rs: top(grouped(rs, "variety", "yield", fmean), 1)),
    Case("barley_top3_sites", "barley", "Top 3 sites by average yield", "topn",
         lambda rs: top(grouped(rs, "site", "yield", fmean), 3)),
    Case("barley_mean_1932", "barley", "What was the average yield in 1932?", "mean",
         lambda rs: mean(rs, "yield", lambda r: r["year"] == 1932), ops=("=",)),
    Case("barley_count_morris", "barley", "How many records are there for Morris?", "count",
         lambda rs: count(rs, lambda r: r["site"] == "Morris"), ops=("=",)),
    Case("barley_median_waseca", "barley", "What was the median yield at Waseca?", "median",
         lambda rs: median(rs, "yield", lambda r: r["site"] == "Waseca"), ops=("=",)),
    Case("barley_yield_by_year", "barley", "Total yield by year", "group",
         lambda rs: groups(grouped(rs, "year", "yield", sum))),
    Case("barley_about_manchuria", "barley", "Tell me about the Manchuria variety", "not_analytic",
         lambda rs: lookup(rs, "variety", "Manchuria")),

    # ohlc.json (vega_datasets): date (trading days of June-July 2009), open, high, low, close, signal, ret
    Case("ohlc_max_close", "ohlc", "What was the highest closing price?", "max",
         lambda rs: highest(rs, "close")),
    Case("ohlc_lowest_close_day", "ohlc", "On which day was the close the lowest?", "argmin",
         lambda rs: best(rs, "close", "date", largest=False)),
    Case("ohlc_close_per_month", "ohlc", "Average close per month", "date",
         lambda rs: groups(grouped(rs, month("date"), "close", fmean)), ops=("month",)),
    Case("ohlc_long_days", "ohlc", "How many days had a long signal?", "count",
         lambda rs: count(rs, lambda r: r["signal"] == "long"), ops=("=",)),
    Case("ohlc_mean_return_june", "ohlc", "What was the average return in June 2009?", "date",
         lambda rs: mean(rs, "ret", lambda r: r["date"].startswith("2009-06")), ops=("month",)),
    Case("ohlc_min_low_july", "ohlc", "What was the lowest low in July 2009?", "min",
         lambda rs: lowest(rs, "low", lambda r: r["date"].startswith("2009-07")), ops=("month",)),

    # crimea.json (vega_datasets): date (monthly, 1854-04 to 1856-03), wounds, other, disease (deaths)
    Case("crimea_disease_per_year", "crimea", "Total disease deaths per year", "date",
         lambda rs: groups(grouped(rs, year("date"), "disease", sum)), ops=("year",)),
    Case("crimea_worst_disease_month", "crimea", "In which month were disease deaths highest?", "argmax",
         lambda rs: Records(best(rs, "disease", "date").names + ("January 1855",))),
    Case("crimea_wounds_1855", "crimea", "How many deaths from wounds were there in 1855?", "date",
         lambda rs: total(rs, "wounds", lambda r: r["date"].startswith("1855")), ops=("year",)),
    Case("crimea_total_disease", "crimea", "What is the total number of disease deaths?", "sum",
         lambda rs: total(rs, "disease")),

    # iso3166-1.json (pycountry): alpha_2, alpha_3, flag, name, numeric, official_name?, common_name?
    Case("countries_count", "countries", "How many countries are there?", "count", lambda rs: count(rs)),
    Case("countries_no_official_name", "countries", "How many countries have no official name?", "count",
         lambda rs: count(rs, lambda r: r.get("official_name") is None), ops=("is_missing",)),
    Case("countries_with_common_name", "countries", "How many countries have a common name?", "count",
         lambda rs: count(rs, lambda r: r.get("common_name") is not None), ops=("not_missing",)),
    Case("countries_island", "countries", "How many countries have 'Island' in their name?", "count",
         lambda rs: count(rs, has_text("name", "island")), ops=("contains",)),
    Case("countries_republic_official", "countries", "How many official names contain Republic?", "count",
         lambda rs: count(rs, has_text("official_name", "republic")), ops=("contains",)),
    Case("countries_germany_alpha3", "countries", "What is Germany's alpha-3 code?", "lookup",
         lambda rs: value_of(rs, "name", "Germany", "alpha_3")),
    Case("countries_bolivia_official", "countries", "What is the official name of Bolivia?", "lookup",
         lambda rs: value_of(rs, "common_name", "Bolivia", "official_name")),

    # iso4217.json (pycountry): alpha_3, name, numeric
    Case("currencies_count", "currencies", "How many currencies are listed?", "count", lambda rs: count(rs)),
    Case("currencies_dollar", "currencies", "How many currency names contain Dollar?", "count",
         lambda rs: count(rs, has_text("name", "dollar")), ops=("contains",)),
    Case("currencies_swiss_franc", "currencies", "What is the currency code of the Swiss Franc?", "not_analytic",
         lambda rs: lookup(rs, "name", "Swiss Franc")),

    # orders.json (dashboard example): order_id, order_date, status, channel, customer.{customer_id, name,
    # segment, country, city}, items[].{sku, product, category, quantity, unit_price}, payment.{method,
    # currency}, shipping.{carrier, cost, delivered_date}, discount_code, total, rating, gift, notes
    Case("orders_returned", "orders", "How many orders were returned?", "count",
         lambda rs: count(rs, lambda r: r["status"] == "returned"), ops=("=",)),
    Case("orders_not_delivered_status", "orders", "How many orders have a status other than delivered?", "count",
         lambda rs: count(rs, lambda r: r["status"] != "delivered"), ops=("!=",)),
    Case("orders_card_or_paypal", "orders", "How many orders were paid by card or paypal?", "count",
         lambda rs: count(rs, lambda r: r["payment"]["method"] in ("card", "paypal")), ops=("in",)),
    Case("orders_no_rating", "orders", "How many orders have no rating?", "count",
         lambda rs: count(rs, lambda r: r.get("rating") is None), ops=("is_missing",)),
    Case("orders_discount_used", "orders", "How many orders used a discount code?", "count",
         lambda rs: count(rs, lambda r: r.get("discount_code") is not None), ops=("not_missing",)),
    Case("orders_note_damaged", "orders", "How many orders have a note containing 'damaged'?", "count",
         lambda rs: count(rs, has_text("notes", "damaged")), ops=("contains",)),
    Case("orders_gifts", "orders", "How many orders are gifts?", "count",
         lambda rs: count(rs, lambda r: r["gift"] is True), ops=("=",)),
    Case("orders_distinct_cities", "orders", "How many different cities do our customers come from?",
         "count_distinct", lambda rs: count_distinct(rs, "customer.city")),
    Case("orders_distinct_customer_ids", "orders", "How many distinct customer IDs are there?", "count_distinct",
         lambda rs: count_distinct(rs, "customer.customer_id")),
    Case("orders_sum_totals", "orders", "What is the sum of all order totals?", "sum",
         lambda rs: total(rs, "total")),
    Case("orders_sum_shipping", "orders", "What is the total shipping cost across all orders?", "sum",
         lambda rs: total(rs, "shipping.cost")),
    Case("orders_mean_total", "orders", "What is the average order total?", "mean",
         lambda rs: mean(rs, "total")),
    Case("orders_mean_rating", "orders", "What's the average rating?", "mean",
         lambda rs: mean(rs, "rating")),
    Case("orders_median_total", "orders", "What is the median order total?", "median",
         lambda rs: median(rs, "total")),
    Case("orders_median_enterprise", "orders", "Median order total for enterprise customers", "median",
         lambda rs: median(rs, "total", lambda r: r["customer"]["segment"] == "enterprise"), ops=("=",)),
    Case("orders_max_total", "orders", "What is the largest order total?", "max",
         lambda rs: highest(rs, "total")),
    Case("orders_first_date", "orders", "When was the first order placed?", "min",
         lambda rs: lowest(rs, "order_date")),
    Case("orders_last_date", "orders", "What is the most recent order date?", "max",
         lambda rs: highest(rs, "order_date")),
    Case("orders_biggest", "orders", "Which order has the highest total?", "argmax",
         lambda rs: best(rs, "total", "order_id")),
    Case("orders_5_cheapest", "orders", "Show the 5 cheapest orders", "argmin",
         lambda rs: best(rs, "total", "order_id", n=5, largest=False)),
    Case("orders_by_status", "orders", "Number of orders by status", "group",
         lambda rs: groups(grouped(rs, "status"))),
    Case("orders_revenue_per_channel", "orders", "Total revenue per channel", "group",
         lambda rs: groups(grouped(rs, "channel", "total", sum))),
    Case("orders_per_payment_method", "orders", "How many orders per payment method?", "group",
         lambda rs: groups(grouped(rs, "payment.method"))),
    Case("orders_top5_cities", "orders", "Top 5 cities by number of orders", "topn",
         lambda rs: top(grouped(rs, "customer.city"), 5)),
    Case("orders_top3_customer_ids", "orders", "Which 3 customer IDs have spent the most in total?", "topn",
         lambda rs: top(grouped(rs, "customer.customer_id", "total", sum), 3)),
    Case("orders_top3_carriers", "orders", "What are the 3 most used carriers?", "topn",
         lambda rs: top(grouped(rs, "shipping.carrier"), 3)),
    Case("orders_total_above_500", "orders", "How many orders have a total above 500?", "filter_range",
         lambda rs: count(rs, lambda r: r["total"] > 500), ops=(">",)),
    Case("orders_total_between", "orders", "How many orders have a total between 100 and 200?", "filter_range",
         lambda rs: count(rs, lambda r: 100 <= r["total"] <= 200), ops=("between",)),
    Case("orders_rated_2_or_lower", "orders", "How many orders were rated 2 or lower?", "filter_range",
         lambda rs: count(rs, lambda r: r.get("rating") is not None and r["rating"] <= 2), ops=("<=",)),
    Case("orders_march_2024", "orders", "How many orders were placed in March 2024?", "date",
         lambda rs: count(rs, lambda r: r["order_date"].startswith("2024-03")), ops=("month",)),
    Case("orders_per_month", "orders", "Number of orders per month", "date",
         lambda rs: groups(grouped(rs, month("order_date"))), ops=("month",)),
    Case("orders_revenue_june", "orders", "What was the revenue in June 2024?", "date",
         lambda rs: total(rs, "total", lambda r: r["order_date"].startswith("2024-06")), ops=("month",)),
    Case("orders_total_by_quarter", "orders", "Average order total by quarter", "date",
         lambda rs: groups(grouped(rs, quarter("order_date"), "total", fmean)), ops=("quarter",)),
    Case("orders_paypal", "orders", "How many orders were paid by paypal?", "nested",
         lambda rs: count(rs, lambda r: r["payment"]["method"] == "paypal"), ops=("=",)),
    Case("orders_munich", "orders", "How many orders came from customers in Munich?", "nested",
         lambda rs: count(rs, lambda r: r["customer"]["city"] == "Munich"), ops=("=",)),
    Case("orders_carrier_dhl", "orders", "How many orders use DHL as the carrier?", "nested",
         lambda rs: count(rs, lambda r: r["shipping"]["carrier"] == "DHL"), ops=("=",)),
    Case("orders_paid_in_sek", "orders", "How many orders were paid in SEK?", "nested",
         lambda rs: count(rs, lambda r: r["payment"]["currency"] == "SEK"), ops=("=",)),
    Case("orders_mean_rating_dhl", "orders", "What is the average rating for orders with carrier DHL?", "nested",
         lambda rs: mean(rs, "rating", lambda r: r["shipping"]["carrier"] == "DHL"), ops=("=",)),
    Case("orders_total_per_segment", "orders", "Average order total per customer segment", "nested",
         lambda rs: groups(grouped(rs, "customer.segment", "total", fmean))),
    Case("orders_shipping_per_carrier", "orders", "Average shipping cost per carrier", "nested",
         lambda rs: groups(grouped(rs, "shipping.carrier", "shipping.cost", fmean))),
    Case("orders_items_sold", "orders", "How many items were sold in total?", "child",
         lambda rs: total(items(rs), "quantity")),
    Case("orders_quantity_per_category", "orders", "Total quantity per category", "child",
         lambda rs: groups(grouped(items(rs), "category", "quantity", sum))),
    Case("orders_with_electronics", "orders", "How many orders contain Electronics items?", "child",
         lambda rs: count(rs, lambda r: any(item["category"] == "Electronics" for item in r["items"])),
         ops=("=",)),
    Case("orders_unit_price_kitchen", "orders", "What is the average unit price of Kitchen items?", "child",
         lambda rs: mean(items(rs), "unit_price", lambda item: item["category"] == "Kitchen"), ops=("=",)),
    Case("orders_top_product", "orders", "Which product sold the most units?", "child",
         lambda rs: top(grouped(items(rs), "product", "quantity", sum), 1)),
    Case("orders_distinct_products", "orders", "How many distinct products were sold?", "child",
         lambda rs: count_distinct(items(rs), "product")),
    Case("orders_max_unit_price", "orders", "What is the highest unit price of any item?", "child",
         lambda rs: highest(items(rs), "unit_price")),
    Case("orders_describe_10042", "orders", "Describe order ORD-10042", "not_analytic",
         lambda rs: lookup(rs, "order_id", "ORD-10042")),
    Case("orders_elena_rossi", "orders", "What did Elena Rossi order?", "not_analytic",
         lambda rs: lookup(rs, "customer.name", "Elena Rossi")),
    Case("orders_note_10018", "orders", "What does the note on order ORD-10018 say?", "lookup",
         lambda rs: value_of(rs, "order_id", "ORD-10018", "notes")),
    Case("orders_items_10003", "orders", "Show me the items of order ORD-10003", "not_analytic",
         lambda rs: lookup(rs, "order_id", "ORD-10003")),
    Case("orders_why_replacement", "orders", "Why was a replacement sent for order ORD-10039?", "not_analytic",
         lambda rs: lookup(rs, "order_id", "ORD-10039")),
    # Added after the planner was built, from a probe on files it had not seen: years as numbers (driving:
    # side, year, miles, gas) and as strings of digits (wheat: year, wheat, wages), with no date field.
    Case("driving_lowest_gas_year", "driving", "Which year had the lowest gas price?", "date",
         lambda rs: top(grouped(rs, "year", "gas", min), 1, largest=False)),
    Case("driving_cheapest_gas_year", "driving", "In which year was gas the cheapest?", "date",
         lambda rs: top(grouped(rs, "year", "gas", min), 1, largest=False)),
    Case("driving_most_miles_year", "driving", "Which year had the most miles?", "date",
         lambda rs: top(grouped(rs, "year", "miles", sum), 1)),
    Case("driving_top_gas_years", "driving", "Top 5 years by gas price", "topn",
         lambda rs: top(grouped(rs, "year", "gas", max), 5)),
    Case("driving_count_1970s", "driving", "How many records between 1970 and 1980?", "filter_range",
         lambda rs: count(rs, lambda r: 1970 <= r["year"] <= 1980), ops=("between",)),
    Case("driving_mean_gas_1970s", "driving", "Average gas from 1970 to 1980", "mean",
         lambda rs: mean(rs, "gas", lambda r: 1970 <= r["year"] <= 1980), ops=("between",)),
    Case("driving_years_over_9000", "driving", "Number of years with miles above 9000", "count_distinct",
         lambda rs: count_distinct(rs, "year", lambda r: r["miles"] > 9000), ops=(">",)),
    Case("driving_mean_gas_since_2005", "driving", "Average gas price since 2005", "date",
         lambda rs: mean(rs, "gas", lambda r: r["year"] >= 2005), ops=(">=",)),
    Case("driving_side_most", "driving", "Which side has the most records?", "group",
         lambda rs: top(grouped(rs, "side"), 1)),
    Case("wheat_lowest_price_year", "wheat", "Which year had the lowest wheat price?", "date",
         lambda rs: top(grouped(rs, lambda r: int(r["year"]), "wheat", min), 1, largest=False)),
    Case("wheat_count_1700s", "wheat", "How many records from 1700 to 1800?", "filter_range",
         lambda rs: count(rs, lambda r: 1700 <= int(r["year"]) <= 1800), ops=("between",)),
    Case("wheat_mean_wages_1700s", "wheat", "Average wages between 1700 and 1800", "mean",
         lambda rs: mean(rs, "wages", lambda r: 1700 <= int(r["year"]) <= 1800), ops=("between",)),
    Case("wheat_highest_wages_year", "wheat", "Which year had the highest wages?", "date",
         lambda rs: top(grouped(rs, lambda r: int(r["year"]), "wages", max), 1)),
    Case("wheat_median_wheat", "wheat", "What is the median wheat price?", "median",
         lambda rs: median(rs, "wheat")),
    # Added from a second probe on files the planner had not seen: plotly's tips (total_bill, tip, sex,
    # smoker "Yes"/"No", day "Thur".."Sun", time, size) and gapminder (country, continent, year, lifeExp,
    # pop, gdpPercap, iso_alpha, iso_num), exported to JSON.
    Case("tips_count_sunday", "tips", "How many tips were given on Sunday?", "count",
         lambda rs: count(rs, lambda r: r["day"] == "Sun"), ops=("=",)),
    Case("tips_count_smokers", "tips", "How many smokers are there?", "count",
         lambda rs: count(rs, lambda r: r["smoker"] == "Yes"), ops=("=",)),
    Case("tips_male_smokers", "tips", "How many male smokers were there?", "count",
         lambda rs: count(rs, lambda r: r["sex"] == "Male" and r["smoker"] == "Yes"), ops=("=",)),
    Case("tips_lunch_thursday", "tips", "How many lunch tips were there on Thursday?", "count",
         lambda rs: count(rs, lambda r: r["time"] == "Lunch" and r["day"] == "Thur"), ops=("=",)),
    Case("tips_by_women", "tips", "How many tips were given by women?", "count",
         lambda rs: count(rs, lambda r: r["sex"] == "Female"), ops=("=",)),
    Case("tips_men_dinner", "tips", "What is the average tip given by men at dinner?", "mean",
         lambda rs: mean(rs, "tip", lambda r: r["sex"] == "Male" and r["time"] == "Dinner"), ops=("=",)),
    Case("tips_smokers_vs", "tips", "Average tip for smokers vs non-smokers", "group",
         lambda rs: groups(grouped(rs, "smoker", "tip", fmean))),
    Case("tips_best_day", "tips", "Which day has the highest average tip?", "group",
         lambda rs: top(grouped(rs, "day", "tip", fmean), 1)),
    Case("tips_per_size", "tips", "Average tip per party size", "group",
         lambda rs: groups(grouped(rs, "size", "tip", fmean))),
    Case("tips_size_4_plus", "tips", "How many parties had a size of 4 or more?", "filter_range",
         lambda rs: count(rs, lambda r: r["size"] >= 4), ops=(">=",)),
    Case("gap_over_100_million", "gapminder", "How many countries had a population over 100 million in 2007?",
         "filter_range", lambda rs: count(rs, lambda r: r["pop"] > 100_000_000 and r["year"] == 2007), ops=(">",)),
    Case("gap_most_populous_country_2007", "gapminder", "What was the most populous country in 2007?", "argmax",
         lambda rs: best([r for r in rs if r["year"] == 2007], "pop", "country")),
    Case("gap_records_after_2000", "gapminder", "How many records have a year after 2000?", "filter_range",
         lambda rs: count(rs, lambda r: r["year"] > 2000), ops=(">",)),
    Case("gap_records_year_before_1960", "gapminder", "How many records with year before 1960?", "filter_range",
         lambda rs: count(rs, lambda r: r["year"] < 1960), ops=("<",)),
    Case("gap_life_under_50_years", "gapminder",
         "How many countries had a life expectancy below 50 years in 2007?", "filter_range",
         lambda rs: count(rs, lambda r: r["lifeExp"] < 50 and r["year"] == 2007), ops=("<",)),
    Case("gap_asia_gdp", "gapminder", "In Asia, what is the average GDP per capita?", "mean",
         lambda rs: mean(rs, "gdpPercap", lambda r: r["continent"] == "Asia"), ops=("=",)),
    Case("gap_top_pop_2007", "gapminder", "Top 5 countries by population in 2007", "topn",
         lambda rs: top({r["country"]: r["pop"] for r in rs if r["year"] == 2007}, 5)),
    Case("gap_best_life_2007", "gapminder", "Which country had the highest life expectancy in 2007?", "argmax",
         lambda rs: best([r for r in rs if r["year"] == 2007], "lifeExp", "country")),
    Case("gap_africa_life_range", "gapminder",
         "What was the average life expectancy in Africa between 1990 and 2007?", "date",
         lambda rs: mean(rs, "lifeExp", lambda r: r["continent"] == "Africa" and 1990 <= r["year"] <= 2007),
         ops=("between",)),
    Case("gap_life_per_continent_2007", "gapminder", "Average life expectancy per continent in 2007", "group",
         lambda rs: groups(grouped([r for r in rs if r["year"] == 2007], "continent", "lifeExp", fmean))),
    Case("gap_countries_africa", "gapminder", "How many countries are in Africa?", "count_distinct",
         lambda rs: count_distinct(rs, "country", lambda r: r["continent"] == "Africa")),
    Case("gap_countries", "gapminder", "How many countries does the data cover?", "count_distinct",
         lambda rs: count_distinct(rs, "country")),
    Case("gap_gdp_as_named", "gapminder", "What is the average gdpPercap in Europe?", "mean",
         lambda rs: mean(rs, "gdpPercap", lambda r: r["continent"] == "Europe"), ops=("=",)),
    Case("gap_chile_1952", "gapminder", "What was the population of Chile in 1952?", "lookup",
         lambda rs: value_of([r for r in rs if r["year"] == 1952], "country", "Chile", "pop"), ops=("=",)),
    # Records themselves, computed like aggregates: a field of a named record (a lookup) or the records meeting
    # conditions (a listing). Names are written as an analyst types them: lower case, without accents or
    # punctuation, in part, with a typo; a name the data does not hold, or several records share, is not
    # computed. Over the files above, and pycountry's languages (iso639-3: alpha_3, name, scope, type, …) and
    # subdivisions (iso3166-2: code, name, type, parent), and vega's airports (iata, name, city, state, …).
    Case("cars_lookup_impala_weight", "cars", "How heavy is the chevrolet impala?", "lookup",
         lambda rs: values_of(rs, "Name", "chevrolet impala", "Weight_in_lbs")),
    Case("cars_lookup_pinto_hp", "cars", "What is the horsepower of the ford pinto?", "lookup",
         lambda rs: values_of(rs, "Name", "ford pinto", "Horsepower")),
    Case("cars_lookup_runabout_weight", "cars", "How much does the ford pinto runabout weigh?", "lookup",
         lambda rs: value_of(rs, "Name", "ford pinto runabout", "Weight_in_lbs")),
    Case("cars_lookup_corolla_cylinders", "cars", "How many cylinders does the toyota corolla have?", "lookup",
         lambda rs: values_of(rs, "Name", "toyota corolla", "Cylinders")),
    Case("cars_lookup_impala_typo", "cars", "What is the mpg of the chevrolet impalla?", "lookup",
         lambda rs: values_of(rs, "Name", "chevrolet impala", "Miles_per_Gallon")),
    Case("cars_lookup_runabout_typo", "cars", "What is the acceleration of the ford pinto runabuot?", "lookup",
         lambda rs: value_of(rs, "Name", "ford pinto runabout", "Acceleration")),
    Case("cars_lookup_rebel", "cars", "What is the acceleration of the amc rebel sst?", "lookup",
         lambda rs: value_of(rs, "Name", "amc rebel sst", "Acceleration")),
    Case("cars_lookup_datsun_year", "cars", "What year is the datsun 280-zx from?", "lookup",
         lambda rs: value_of(rs, "Name", "datsun 280-zx", "Year")),
    Case("cars_lookup_impala_capitals", "cars", "What is the displacement of the Chevrolet Impala?", "lookup",
         lambda rs: values_of(rs, "Name", "chevrolet impala", "Displacement")),
    Case("cars_lookup_pinto_in_part", "cars", "What is the weight of the pinto?", "lookup",
         lambda rs: values_of(rs, "Name", "ford pinto", "Weight_in_lbs")),
    Case("cars_list_japanese_30mpg", "cars", "Show the Japanese cars with more than 30 mpg", "listing",
         lambda rs: listing(rs, lambda r: r["Origin"] == "Japan" and (r["Miles_per_Gallon"] or 0) > 30, "Name"),
         ops=("=", ">")),
    Case("cars_list_hp_over_200", "cars", "Which cars have more than 200 horsepower?", "listing",
         lambda rs: listing(rs, lambda r: (r["Horsepower"] or 0) > 200, "Name"), ops=(">",)),
    Case("cars_list_europe_6cyl", "cars", "List the cars from Europe with 6 cylinders", "listing",
         lambda rs: listing(rs, lambda r: r["Origin"] == "Europe" and r["Cylinders"] == 6, "Name"), ops=("=",)),
    Case("cars_list_named_pinto", "cars", "Which cars are named ford pinto?", "listing",
         lambda rs: listing(rs, lambda r: r["Name"] == "ford pinto", "Name"), ops=("=",)),
    Case("cars_absent_tesla", "cars", "What is the horsepower of the tesla model s?", "not_analytic",
         lambda rs: absent(rs, "tesla model s", "Name")),
    Case("cars_absent_gt500", "cars", "How heavy is the ford mustang gt500?", "not_analytic",
         lambda rs: absent(rs, "ford mustang gt500", "Name")),
    Case("countries_lookup_norway_alpha3", "countries", "What is the alpha-3 code of Norway?", "lookup",
         lambda rs: value_of(rs, "name", "Norway", "alpha_3")),
    Case("countries_lookup_france_official", "countries", "What is the official name of France?", "lookup",
         lambda rs: value_of(rs, "name", "France", "official_name")),
    Case("countries_list_code_nor", "countries", "Which country has the code NOR?", "listing",
         lambda rs: listing(rs, lambda r: "NOR" in (r["alpha_2"], r["alpha_3"], r["numeric"]), "name"), ops=("=",)),
    Case("countries_lookup_norway_typo", "countries", "what is the alpha-2 code of norwya", "lookup",
         lambda rs: value_of(rs, "name", "Norway", "alpha_2")),
    Case("countries_lookup_ivory_coast", "countries", "What is the numeric code of cote d'ivoire?", "lookup",
         lambda rs: value_of(rs, "name", "Côte d'Ivoire", "numeric")),
    Case("countries_lookup_uk_lower", "countries", "What is the official name of the united kingdom?", "lookup",
         lambda rs: value_of(rs, "name", "United Kingdom", "official_name")),
    Case("countries_lookup_uk_typo", "countries", "What is the alpha-2 code of the Untied Kingdom?", "lookup",
         lambda rs: value_of(rs, "name", "United Kingdom", "alpha_2")),
    Case("countries_list_alpha2_jp", "countries", "Which country has the alpha-2 code 'JP'?", "listing",
         lambda rs: listing(rs, lambda r: r["alpha_2"] == "JP", "name"), ops=("=",)),
    Case("countries_list_stan", "countries", "Which countries have names ending with 'stan'?", "listing",
         lambda rs: listing(rs, lambda r: r["name"].lower().endswith("stan"), "name"), ops=("ends_with",)),
    Case("countries_list_no_official", "countries", "Which countries have no official name?", "listing",
         lambda rs: listing(rs, lambda r: r.get("official_name") is None, "name"), ops=("is_missing",)),
    Case("countries_absent_atlantis", "countries", "What is the alpha-3 code of Atlantis?", "not_analytic",
         lambda rs: absent(rs, "Atlantis", "name", "official_name", "common_name")),
    Case("countries_ambiguous_korea", "countries", "What is the official name of Korea?", "not_analytic",
         lambda rs: ambiguous(rs, "Korea", "common_name")),
    Case("languages_list_type_e", "languages", "List the languages of type E", "listing",
         lambda rs: listing(rs, lambda r: r["type"] == "E", "name"), ops=("=",)),
    Case("languages_list_type_c", "languages", "Which languages are of type C?", "listing",
         lambda rs: listing(rs, lambda r: r["type"] == "C", "name"), ops=("=",)),
    Case("languages_list_scope_m", "languages", "Which languages have scope M?", "listing",
         lambda rs: listing(rs, lambda r: r["scope"] == "M", "name"), ops=("=",)),
    Case("languages_lookup_esperanto", "languages", "What is the alpha-3 code of Esperanto?", "lookup",
         lambda rs: value_of(rs, "name", "Esperanto", "alpha_3")),
    Case("languages_list_code_tlh", "languages", "Which language has the code tlh?", "listing",
         lambda rs: listing(rs, lambda r: r["alpha_3"] == "tlh", "name"), ops=("=",)),
    Case("languages_lookup_klingon_type", "languages", "What type is Klingon?", "lookup",
         lambda rs: value_of(rs, "name", "Klingon", "type")),
    Case("languages_lookup_volapuk", "languages", "What is the alpha 2 code of Volapuk?", "lookup",
         lambda rs: value_of(rs, "name", "Volapük", "alpha_2")),
    Case("languages_lookup_arabic_scope", "languages", "What is the scope of Arabic?", "lookup",
         lambda rs: value_of(rs, "name", "Arabic", "scope")),
    Case("languages_absent_elvish", "languages", "What is the alpha-3 code of Elvish?", "not_analytic",
         lambda rs: absent(rs, "Elvish", "name", "inverted_name")),
    Case("subdivisions_list_burg", "subdivisions", "Which subdivisions end with 'burg'?", "listing",
         lambda rs: listing(rs, lambda r: r["name"].lower().endswith("burg"), "name"), ops=("ends_with",)),
    Case("subdivisions_list_saint", "subdivisions", "Which subdivisions start with 'Saint'?", "listing",
         lambda rs: listing(rs, lambda r: r["name"].lower().startswith("saint"), "name"), ops=("starts_with",)),
    Case("subdivisions_lookup_hamburg", "subdivisions", "What is the code of Hamburg?", "lookup",
         lambda rs: value_of(rs, "name", "Hamburg", "code")),
    Case("subdivisions_list_de_hh", "subdivisions", "Which subdivision has the code DE-HH?", "listing",
         lambda rs: listing(rs, lambda r: r["code"] == "DE-HH", "name"), ops=("=",)),
    Case("subdivisions_lookup_spb", "subdivisions", "What is the code of sankt peterburg?", "lookup",
         lambda rs: value_of(rs, "name", "Sankt-Peterburg", "code")),
    Case("subdivisions_lookup_bayern_type", "subdivisions", "What is the type of Bayern?", "lookup",
         lambda rs: value_of(rs, "name", "Bayern", "type")),
    Case("subdivisions_list_land", "subdivisions", "Which subdivisions are of type Land?", "listing",
         lambda rs: listing(rs, lambda r: r["type"] == "Land", "name"), ops=("=",)),
    Case("subdivisions_absent_gondor", "subdivisions", "What is the code of Gondor?", "not_analytic",
         lambda rs: absent(rs, "Gondor", "name")),
    Case("airports_list_jfk", "airports", "Which airport has the code JFK?", "listing",
         lambda rs: listing(rs, lambda r: r["iata"] == "JFK", "name"), ops=("=",)),
    Case("airports_list_anchorage", "airports", "Which airports are in Anchorage?", "listing",
         lambda rs: listing(rs, lambda r: r["city"] == "Anchorage", "name"), ops=("=",)),
    Case("airports_lookup_sea_city", "airports", "What city is the airport SEA in?", "lookup",
         lambda rs: value_of(rs, "iata", "SEA", "city")),
    Case("airports_lookup_sfo_latitude", "airports", "What is the latitude of San Francisco International?",
         "lookup", lambda rs: value_of(rs, "name", "San Francisco International", "latitude")),
    Case("airports_lookup_ohare_state", "airports", "What state is Chicago O'Hare International in?", "lookup",
         lambda rs: value_of(rs, "name", "Chicago O'Hare International", "state")),
    Case("airports_lookup_jfk_lower", "airports", "What is the iata code of john f kennedy intl?", "lookup",
         lambda rs: value_of(rs, "name", "John F Kennedy Intl", "iata")),
    Case("airports_top3_states", "airports", "What are the 3 states with the most airports?", "topn",
         lambda rs: top(grouped(rs, "state"), 3)),
    Case("airports_absent_qqq", "airports", "Which airport has the code QQQ?", "not_analytic",
         lambda rs: absent(rs, "QQQ", "iata", "name")),
    Case("orders_lookup_status", "orders", "What is the status of order ORD-10042?", "lookup",
         lambda rs: value_of(rs, "order_id", "ORD-10042", "status")),
    Case("orders_lookup_products", "orders", "What products are in order ORD-10003?", "lookup",
         lambda rs: Records(tuple(item["product"] for item in named(rs, "order_id", "ORD-10003")[0]["items"]),
                            need=len(named(rs, "order_id", "ORD-10003")[0]["items"]), total=1)),
    Case("orders_lookup_carrier", "orders", "What is the carrier of order ORD-10010?", "lookup",
         lambda rs: value_of(rs, "order_id", "ORD-10010", "shipping.carrier")),
    Case("orders_lookup_segment", "orders", "What is the segment of Elena Rossi?", "lookup",
         lambda rs: values_of(rs, "customer.name", "Elena Rossi", "customer.segment")),
    Case("orders_list_electronics", "orders", "Which orders contain Electronics items?", "listing",
         lambda rs: listing(rs, lambda r: any(item["category"] == "Electronics" for item in r["items"]), "order_id"),
         ops=("=",)),
    Case("orders_absent_99999", "orders", "What is the status of order ORD-99999?", "not_analytic",
         lambda rs: absent(rs, "ORD-99999", "order_id")),
    Case("gap_lookup_japan_life", "gapminder", "What was the life expectancy of Japan in 2007?", "lookup",
         lambda rs: value_of([r for r in rs if r["year"] == 2007], "country", "Japan", "lifeExp")),
    Case("gap_lookup_chile_typo", "gapminder", "What was the population of Chlie in 1957?", "lookup",
         lambda rs: value_of([r for r in rs if r["year"] == 1957], "country", "Chile", "pop")),
    # Every phrase read, or no number (issue "every value the page states is exact or marked"): groupings written
    # "per / for each / by number of", the most common value, fields named in other words (synonyms,
    # abbreviations, typos), stray tokens after or before the question, and questions the data cannot answer as
    # asked, which are refused with rephrasings. Over cars, vega's seattle-weather (date, precipitation,
    # temp_max, temp_min, wind, weather: 1,461 days of 2012-2015), the orders, tips and gapminder.
    Case("cars_hp_per_number_of_cylinders", "cars", "average Horsepower per number of cylinders", "group",
         lambda rs: groups(grouped(rs, "Cylinders", "Horsepower", fmean))),
    Case("cars_hp_for_each_cylinders", "cars", "What is the average horsepower for each number of cylinders?",
         "group", lambda rs: groups(grouped(rs, "Cylinders", "Horsepower", fmean))),
    Case("cars_mpg_by_number_of_cylinders", "cars", "average miles per gallon by number of cylinders", "group",
         lambda rs: groups(grouped(rs, "Cylinders", "Miles_per_Gallon", fmean))),
    Case("cars_hp_by_cylinders_pls", "cars", "average horsepower by number of cylinders pls", "group",
         lambda rs: groups(grouped(rs, "Cylinders", "Horsepower", fmean))),
    Case("cars_mode_cylinders", "cars", "What is the most common number of cylinders?", "topn",
         lambda rs: top(grouped(rs, "Cylinders"), 1)),
    Case("cars_mode_origin", "cars", "What is the mode of Origin?", "topn",
         lambda rs: top(grouped(rs, "Origin"), 1)),
    Case("cars_heaviest_tag", "cars", "Which car is the heaviest? Q-ALPHA", "argmax",
         lambda rs: best(rs, "Weight_in_lbs", "Name")),
    Case("cars_lightest_thx", "cars", "Which car is the lightest? thx", "argmin",
         lambda rs: best(rs, "Weight_in_lbs", "Name", largest=False)),
    Case("cars_japan_emoji", "cars", "How many cars come from Japan? 🚗", "count",
         lambda rs: count(rs, lambda r: r["Origin"] == "Japan"), ops=("=",)),
    Case("cars_mean_hp_typo", "cars", "What is the average horsepwer?", "mean",
         lambda rs: mean(rs, "Horsepower")),
    Case("cars_mean_mass", "cars", "What is the average mass of the cars?", "mean",
         lambda rs: mean(rs, "Weight_in_lbs")),
    Case("cars_fuel_economy_japan", "cars", "What is the average fuel economy of Japanese cars?", "mean",
         lambda rs: mean(rs, "Miles_per_Gallon", lambda r: r["Origin"] == "Japan"), ops=("=",)),
    Case("cars_refused_price", "cars", "What is the average price of the cars?", "refused",
         lambda rs: no_field(rs, "price", "cost")),
    Case("cars_refused_age", "cars", "What is the average age of the cars?", "refused",
         lambda rs: no_field(rs, "age")),
    Case("cars_refused_salary", "cars", "Which car has the highest salary?", "refused",
         lambda rs: no_field(rs, "salary", "wage")),
    Case("cars_refused_march", "cars", "How many cars were made in March?", "refused",
         lambda rs: month_of_years(rs, "Year", 3)),
    Case("cars_refused_heavy", "cars", "What is the average horsepower of heavy cars?", "refused",
         lambda rs: Refused(about="heavier than what: no threshold is given")),
    Case("weather_refused_march_count", "weather", "How many observations were recorded in March?", "refused",
         lambda rs: month_of_years(rs, "date", 3)),
    Case("weather_refused_march_seattle", "weather", "average temp in March at Seattle", "refused",
         lambda rs: month_of_years(rs, "date", 3)),
    Case("weather_refused_temperature", "weather", "What is the average temperature?", "refused",
         lambda rs: two_fields(rs, "temperature", "temp_max", "temp_min")),
    Case("weather_refused_windy", "weather", "How many windy days were there?", "refused",
         lambda rs: Refused(about="windier than what: no threshold is given")),
    Case("riots_deaths_per_race", "riots", "Number of deaths per race", "group",
         lambda rs: groups(grouped(rs, "race"))),
    Case("riots_deaths_not_homicides", "riots", "How many deaths were not homicides?", "count",
         lambda rs: count(rs, lambda r: r["type"] != "Homicide"), ops=("!=",)),
    Case("riots_deaths_1992", "riots", "How many deaths in 1992?", "date",
         lambda rs: count(rs, lambda r: r["death_date"].startswith("1992")), ops=("between",)),
    Case("riots_older_than_40", "riots", "How many victims were older than 40?", "filter_range",
         lambda rs: count(rs, lambda r: r.get("age") is not None and r["age"] > 40), ops=(">",)),
    Case("riots_homicides", "riots", "How many homicides were there?", "count",
         lambda rs: count(rs, lambda r: r["type"] == "Homicide"), ops=("=",)),
    Case("riots_compare_age_by_gender", "riots", "Compare the average age of male and female victims", "group",
         lambda rs: groups(grouped(rs, "gender", "age", fmean, lambda r: r["gender"] in ("Male", "Female")))),
    Case("riots_not_in_type_homicide", "riots", "How many victims are not in the type Homicide?", "count",
         lambda rs: count(rs, lambda r: r["type"] != "Homicide"), ops=("!=",)),
    Case("riots_50_or_older", "riots", "How many victims were 50 or older?", "filter_range",
         lambda rs: count(rs, lambda r: r.get("age") is not None and r["age"] >= 50), ops=(">=",)),
    Case("weather_at_or_above", "weather", "How many days had a temp_max at or above 30?", "filter_range",
         lambda rs: count(rs, lambda r: r["temp_max"] >= 30), ops=(">=",)),
    Case("weather_refused_warmer", "weather", "How many days were warmer than 30?", "refused",
         lambda rs: two_fields(rs, "warmer", "temp_max", "temp_min")),
    Case("cars_cylinders_or_more", "cars", "How many cars have 6 cylinders or more?", "filter_range",
         lambda rs: count(rs, lambda r: r["Cylinders"] >= 6), ops=(">=",)),
    Case("cars_cylinders_or_less", "cars", "How many cars have 4 cylinders or less?", "filter_range",
         lambda rs: count(rs, lambda r: r["Cylinders"] <= 4), ops=("<=",)),
    Case("cars_horsepower_not_above", "cars", "How many cars have a Horsepower not above 100?", "filter_range",
         lambda rs: count(rs, lambda r: r["Horsepower"] is not None and r["Horsepower"] <= 100), ops=("<=",)),
    Case("cars_year_or_later", "cars", "How many cars from 1980 or later?", "date",
         lambda rs: count(rs, lambda r: r["Year"] >= "1980"), ops=(">=",)),
    Case("weather_mean_wind_the_day", "weather", "What was the average wind the 15 March 2015?", "date",
         lambda rs: mean(rs, "wind", lambda r: r["date"] == "2015-03-15"), ops=("=",)),
    Case("weather_mean_max_temperature", "weather", "What is the average maximum temperature?", "mean",
         lambda rs: mean(rs, "temp_max")),
    Case("weather_rain_days", "weather", "How many days had rain?", "count",
         lambda rs: count(rs, lambda r: r["weather"] == "rain"), ops=("=",)),
    Case("weather_rainfall_2014", "weather", "average rainfall in 2014", "date",
         lambda rs: mean(rs, "precipitation", lambda r: r["date"].startswith("2014")), ops=("year",)),
    Case("weather_mode", "weather", "What is the most common weather?", "topn",
         lambda rs: top(grouped(rs, "weather"), 1)),
    Case("weather_precipitation_per_type", "weather", "average precipitation per weather type", "group",
         lambda rs: groups(grouped(rs, "weather", "precipitation", fmean))),
    Case("weather_coldest_day", "weather", "What was the coldest day?", "argmin",
         lambda rs: best(rs, "temp_min", "date", largest=False)),
    Case("weather_windiest_day", "weather", "Which day was the windiest?", "argmax",
         lambda rs: Records(best(rs, "wind", "date").names)),
    Case("weather_wind_per_year", "weather", "average wind per year", "date",
         lambda rs: groups(grouped(rs, year("date"), "wind", fmean)), ops=("year",)),
    Case("orders_mean_quantity_per_category", "orders", "Average quantity of items per category", "child",
         lambda rs: groups(grouped(items(rs), "category", "quantity", fmean))),
    Case("tips_tip_per_day_thx", "tips", "average tip per day thx", "group",
         lambda rs: groups(grouped(rs, "day", "tip", fmean))),
    Case("gap_gdp_each_continent", "gapminder", "What is the average GDP per capita for each continent?", "group",
         lambda rs: groups(grouped(rs, "continent", "gdpPercap", fmean))),
)
"""Every question of the set."""


def cases_for(dataset: str) -> tuple[Case, ...]:
    """The questions about one dataset."""
    return tuple(case for case in CASES if case.dataset == dataset)
