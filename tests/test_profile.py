"""Tests of rag.profile: figures checked against plain Python over the raw public files."""

from __future__ import annotations

import json
import math
import random
import statistics
from collections import Counter
from typing import Any

import pytest

from rag.loader import load_dataset
from rag.profile import DISTINCT_CAP, KINDS, DatasetProfile, profile_dataset
from rag.records import Record
from tests.datasets import pycountry_database_path, vega_cars_path


@pytest.fixture(scope="module")
def cars_raw() -> list[dict[str, Any]]:
    return json.loads(vega_cars_path().read_bytes())


@pytest.fixture(scope="module")
def cars_profile() -> DatasetProfile:
    return profile_dataset(load_dataset(vega_cars_path()).records)


def records_of(rows: list[Any]) -> list[Record]:
    return load_dataset(rows).records


def present_values(rows: list[dict[str, Any]], key: str) -> list[Any]:
    return [row[key] for row in rows if row.get(key) is not None]


# --- cars.json --------------------------------------------------------------------------------------


def test_cars_fields_in_first_seen_order(cars_raw: list[dict[str, Any]], cars_profile: DatasetProfile) -> None:
    assert cars_profile.record_count == len(cars_raw)
    assert [field.path for field in cars_profile.fields] == list(cars_raw[0].keys())


@pytest.mark.parametrize("key", ["Miles_per_Gallon", "Horsepower", "Displacement", "Weight_in_lbs", "Acceleration", "Cylinders"])
def test_cars_number_figures(cars_raw: list[dict[str, Any]], cars_profile: DatasetProfile, key: str) -> None:
    values = present_values(cars_raw, key)
    field = cars_profile.field(key)
    assert field is not None
    assert field.kind == "number"
    assert field.present == len(values)
    assert field.missing == len(cars_raw) - len(values)
    assert field.min == min(values) and field.max == max(values)
    assert field.mean == pytest.approx(statistics.fmean(values))
    assert field.median == pytest.approx(statistics.median(values))
    assert field.sum == pytest.approx(math.fsum(values))
    assert field.distinct == len(set(values)) and not field.distinct_capped
    integers = sum(1 for value in values if isinstance(value, int))
    expected_types = {"integer": integers, "float": len(values) - integers, "null": len(cars_raw) - len(values)}
    assert field.types == {name: count for name, count in expected_types.items() if count}


def test_cars_missing_values_match_the_file(cars_raw: list[dict[str, Any]], cars_profile: DatasetProfile) -> None:
    for field in cars_profile.fields:
        missing = sum(1 for row in cars_raw if row.get(field.path) is None)
        assert (field.path, field.missing) == (field.path, missing)
        assert field.present + field.missing == len(cars_raw)


def test_cars_origin_is_a_category_with_its_counts(cars_raw: list[dict[str, Any]], cars_profile: DatasetProfile) -> None:
    origin = cars_profile.field("Origin")
    assert origin is not None and origin.kind == "category"
    assert origin.top_values == Counter(row["Origin"] for row in cars_raw).most_common()
    assert origin.examples == list(dict.fromkeys(row["Origin"] for row in cars_raw))[:3]


def test_cars_cylinders_top_values(cars_raw: list[dict[str, Any]], cars_profile: DatasetProfile) -> None:
    cylinders = cars_profile.field("Cylinders")
    assert cylinders is not None
    assert cylinders.top_values == Counter(row["Cylinders"] for row in cars_raw).most_common()


def test_cars_name_is_text(cars_raw: list[dict[str, Any]], cars_profile: DatasetProfile) -> None:
    name = cars_profile.field("Name")
    assert name is not None and name.kind == "text"
    assert name.distinct == len({row["Name"] for row in cars_raw})
    assert name.top_values[0] == Counter(row["Name"] for row in cars_raw).most_common(1)[0]
    assert name.mean_length == pytest.approx(statistics.fmean(len(row["Name"]) for row in cars_raw))


def test_cars_year_is_a_date(cars_raw: list[dict[str, Any]], cars_profile: DatasetProfile) -> None:
    year = cars_profile.field("Year")
    assert year is not None
    assert year.kind == "date" and year.date_like
    assert year.date_count == len(cars_raw)
    assert year.date_min == min(row["Year"] for row in cars_raw)
    assert year.date_max == max(row["Year"] for row in cars_raw)


def test_cars_to_dict_is_json_safe(cars_profile: DatasetProfile) -> None:
    as_dict = cars_profile.to_dict()
    text = json.dumps(as_dict, allow_nan=False)
    assert json.loads(text) == as_dict
    assert as_dict["record_count"] == cars_profile.record_count
    assert [field["path"] for field in as_dict["fields"]] == [field.path for field in cars_profile.fields]
    assert all(field["kind"] in KINDS for field in as_dict["fields"])


def test_cars_prompt_text_answers_the_usual_questions(cars_raw: list[dict[str, Any]], cars_profile: DatasetProfile) -> None:
    text = cars_profile.to_prompt_text()
    assert len(text) <= 2000
    assert f"{len(cars_raw)} records" in text
    for key in cars_raw[0]:
        assert f"- {key}: " in text
    mpg = present_values(cars_raw, "Miles_per_Gallon")
    assert f"min {min(mpg)}, max {max(mpg)}" in text
    origin_counts = Counter(row["Origin"] for row in cars_raw).most_common()
    assert ", ".join(f'"{value}" ({count})' for value, count in origin_counts) in text
    years = [row["Year"] for row in cars_raw]
    assert f"from {min(years)} to {max(years)}" in text
    assert "truncated" not in text


@pytest.mark.parametrize("max_chars", [0, 10, 45, 80, 150, 300, 500, 700, 900, 1100])
def test_prompt_text_always_fits(cars_profile: DatasetProfile, max_chars: int) -> None:
    text = cars_profile.to_prompt_text(max_chars)
    assert len(text) <= max_chars
    full = cars_profile.to_prompt_text(100_000)
    if len(full) > max_chars and max_chars >= 45:
        assert "truncated" in text


def test_truncated_prompt_keeps_every_field_name_before_details(cars_raw: list[dict[str, Any]], cars_profile: DatasetProfile) -> None:
    names_only = len(f"Dataset profile: {len(cars_raw)} records, {len(cars_raw[0])} fields.") + sum(
        len(f"\n- {field.path}: {field.kind}") for field in cars_profile.fields
    )
    text = cars_profile.to_prompt_text(names_only + 120)
    assert all(f"- {key}: " in text for key in cars_raw[0])
    assert "truncated" in text and len(text) <= names_only + 120


def test_truncation_drops_the_least_filled_fields_first() -> None:
    rows = [{"full": index, "rare": "x" if index == 0 else None} for index in range(50)]
    profile = profile_dataset(records_of(rows))
    header = "Dataset profile: 50 records, 2 fields."
    note = "(profile truncated to fit: some figures shortened, 1 of 2 fields not shown)"
    text = profile.to_prompt_text(len(header) + len(note) + len("\n- full: number") + 1)
    assert "- full: number" in text and "rare" not in text
    assert "1 of 2 fields not shown" in text


# --- pycountry ----------------------------------------------------------------------------------------


def test_iso3166_sparse_fields() -> None:
    raw = json.loads(pycountry_database_path("iso3166-1.json").read_bytes())["3166-1"]
    profile = profile_dataset(load_dataset(pycountry_database_path("iso3166-1.json")).records)
    assert profile.record_count == len(raw)
    seen_keys = list(dict.fromkeys(key for row in raw for key in row))
    assert [field.path for field in profile.fields] == seen_keys
    for field in profile.fields:
        values = present_values(raw, field.path)
        assert field.present == len(values)
        assert field.missing == len(raw) - len(values)
        assert field.distinct == len(set(values))
    alpha_2 = profile.field("alpha_2")
    assert alpha_2 is not None and alpha_2.kind == "text"  # unique codes are not categories
    text = profile.to_prompt_text()
    assert f"{len(raw)} records" in text and len(text) <= 2000


# --- kinds and edge cases ---------------------------------------------------------------------------------


def test_kinds_of_small_fields() -> None:
    rows = [
        {"flag": index % 3 == 0, "mix": index if index % 2 else str(index), "bool_or_int": True if index else 1, "nothing": None, "when": f"2024-02-{index + 1:02d}T08:30:00+02:00"}
        for index in range(10)
    ]
    profile = profile_dataset(records_of(rows))
    kinds = {field.path: field.kind for field in profile.fields}
    assert kinds == {"flag": "boolean", "mix": "mixed", "bool_or_int": "mixed", "nothing": "mixed", "when": "date"}
    flag = profile.field("flag")
    assert flag is not None
    assert flag.top_values == Counter(row["flag"] for row in rows).most_common()
    bool_or_int = profile.field("bool_or_int")
    assert bool_or_int is not None
    assert bool_or_int.types == {"integer": 1, "boolean": 9} and bool_or_int.distinct == 2  # True is not 1
    nothing = profile.field("nothing")
    assert nothing is not None and nothing.present == 0 and nothing.missing == 10 and nothing.types == {"null": 10}


def test_dates_with_time_zones_are_ordered_in_utc() -> None:
    values = ["2024-01-01T10:00:00+05:00", "2024-01-01T06:00:00Z", "2024-01-01T07:00:00"]
    profile = profile_dataset(records_of([{"t": value} for value in values]))
    field = profile.field("t")
    assert field is not None and field.kind == "date"
    assert (field.date_min, field.date_max) == ("2024-01-01T10:00:00+05:00", "2024-01-01T07:00:00")


def test_date_detection_needs_real_iso_dates() -> None:
    # year-first slash dates ("2012/01/31", as exports write them) are dates; these are not
    rows = [{"d": text} for text in ["2023-02-30", "20230101", "2023/01-02", "1 Jan 2023", "2023-01-01x", "2023/13/02"]]
    field = profile_dataset(records_of(rows)).field("d")
    assert field is not None and field.date_count == 0 and field.kind != "date"


def test_a_few_bad_dates_still_make_a_date_field() -> None:
    rows = [{"d": f"2020-01-{day:02d}"} for day in range(1, 29)] * 2 + [{"d": "unknown"}]
    field = profile_dataset(records_of(rows)).field("d")
    assert field is not None and field.kind == "date" and field.date_count == len(rows) - 1
    rows += [{"d": "n/a"}, {"d": "?"}]
    field = profile_dataset(records_of(rows)).field("d")
    assert field is not None and field.kind != "date"


def test_category_versus_text() -> None:
    rng = random.Random(5)
    rows = [{"color": rng.choice(["red", "green", "blue"]), "note": f"free text number {index}", "long": "word " * 20} for index in range(40)]
    kinds = {field.path: field.kind for field in profile_dataset(records_of(rows)).fields}
    assert kinds == {"color": "category", "note": "text", "long": "text"}


def test_high_cardinality_distinct_is_capped() -> None:
    count = DISTINCT_CAP * 2
    rows = [{"key": f"k{index}", "group": "a" if index % 4 else "b"} for index in range(count)]
    rows[-1]["key"] = "k0"  # a repeat of a value seen before the cap is still counted
    profile = profile_dataset(records_of(rows))
    key = profile.field("key")
    assert key is not None
    assert key.distinct_capped and DISTINCT_CAP <= key.distinct < count
    assert key.top_values[0] == ("k0", 2)
    assert "at least" in profile.to_prompt_text()
    group = profile.field("group")
    assert group is not None and not group.distinct_capped
    assert group.top_values == [("a", count - count // 4), ("b", count // 4)]


def test_hand_built_records_with_nan_and_containers_stay_json_safe() -> None:
    records = [
        Record(id="$[0]", data=None, flat={"x": float("nan"), "y": [1, 2], "z": 10**400}),
        Record(id="$[1]", data=None, flat={"x": 2.5, "y": {"a": 1}, "z": 1}),
    ]
    profile = profile_dataset(records)
    x, y, z = profile.fields
    assert (x.present, x.missing, x.min, x.max) == (1, 1, 2.5, 2.5)
    assert y.kind == "mixed" and y.types == {"other": 2}
    assert z.min == 1 and z.max == 10**400 and z.mean is None  # too large for a float mean
    json.dumps(profile.to_dict(), allow_nan=False)
    assert len(profile.to_prompt_text(500)) <= 500


def test_empty_record_list() -> None:
    profile = profile_dataset([])
    assert profile.record_count == 0 and profile.fields == []
    assert profile.to_prompt_text() == "Dataset profile: 0 records, 0 fields."


def test_one_hundred_thousand_records_are_profiled_exactly() -> None:
    count = 100_000
    rng = random.Random(7)
    rows = [
        {
            "id": index,
            "price": round(rng.uniform(0, 500), 2),
            "qty": rng.randint(0, 20),
            "shop": rng.choice(["north", "south", "east", "west"]),
            "day": f"2023-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "paid": rng.random() < 0.3,
            "title": f"order {index}",
            "note": None if index % 5 else "gift",
            "address": {"zip": f"{rng.randint(10000, 99999)}"},
            "tags": ["a", "b"][: index % 3],
        }
        for index in range(count)
    ]
    profile = profile_dataset(records_of(rows))

    assert profile.record_count == count
    prices = [row["price"] for row in rows]
    price = profile.field("price")
    assert price is not None
    assert (price.min, price.max) == (min(prices), max(prices))
    assert price.mean == pytest.approx(statistics.fmean(prices))
    assert price.median == pytest.approx(statistics.median(prices))
    shop = profile.field("shop")
    assert shop is not None and shop.kind == "category"
    assert shop.top_values == Counter(row["shop"] for row in rows).most_common()
    day = profile.field("day")
    assert day is not None and day.kind == "date"
    assert (day.date_min, day.date_max) == (min(row["day"] for row in rows), max(row["day"] for row in rows))
    paid = profile.field("paid")
    assert paid is not None and paid.kind == "boolean"
    assert dict(paid.top_values) == Counter(row["paid"] for row in rows)
    note = profile.field("note")
    assert note is not None and note.present == count // 5
    second_tag = profile.field("tags[1]")
    assert second_tag is not None and second_tag.present == sum(1 for row in rows if len(row["tags"]) > 1)
    assert profile.field("address.zip") is not None
    assert len(profile.to_prompt_text()) <= 2000
    json.dumps(profile.to_dict(), allow_nan=False)
