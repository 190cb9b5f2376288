"""An analytic question the planner cannot read is refused with rephrasings it can read, never given a number.

Over every dataset of the question set: questions asking for a count, an average, a total or an extreme of
something no field holds, or grouped by something no field holds, get no computed block; they get what was not
understood and two or three rephrasings, and each rephrasing offered plans, validates and computes.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest

from rag.analytics.answer import computed_answer
from rag.analytics.plan import PLANNED, Plan, Refusal
from rag.analytics.rules import analytic_intent
from rag.analytics.service import DatasetAnalytics, record_noun
from rag.analytics.spec import Filter, QuerySpec
from rag.analytics.validate import validate_spec
from rag.loader import load_dataset
from rag.profile import profile_dataset
from tests.analytics_cases import DATASETS, dataset_path


@cache
def analytics_of(dataset: str) -> DatasetAnalytics:
    loaded = load_dataset(dataset_path(dataset))
    return DatasetAnalytics.build(loaded, profile_dataset(loaded.records))


def _measure(analytics: DatasetAnalytics) -> str | None:
    """A number field of the dataset to write into a question, if it has one."""
    return next((c.path for c in analytics.table.schema.columns.values() if c.type == "number"
                 and c.table == "records"), None)


def unreadable(dataset: str) -> list[str]:
    """Analytic questions about ``dataset`` with a word no field, value or group of it holds."""
    analytics = analytics_of(dataset)
    noun = analytics.noun
    questions = [
        f"What is the average zorblax of the {noun}?",
        f"How many {noun} are flurbish?",
        f"Which {noun} has the highest zorblax?",
        f"What is the total price per quuxle?",
    ]
    measure = _measure(analytics)
    if measure is not None:
        questions.append(f"average {measure} per quuxle")
        questions.append(f"median {measure} of the blorpy {noun}")
    return questions


CASES = [(dataset, question) for dataset in DATASETS for question in unreadable(dataset)]


def assert_reads(analytics: DatasetAnalytics, question: str) -> None:
    """``question`` plans, validates and computes, with every word read."""
    outcome = analytics.plan(question)
    assert outcome.status == PLANNED, (question, outcome.reason)
    plan = outcome.plan
    assert not plan.ignored and all(role != "unplaced" for _word, role in plan.words), (question, plan.words)
    validate_spec(plan.spec, analytics.table.schema)
    computed = analytics.compute(question)
    assert computed.computed is not None and computed.refusal is None, question


@pytest.mark.parametrize(("dataset", "question"), CASES, ids=[f"{d}:{q}" for d, q in CASES])
def test_an_unreadable_analytic_question_is_refused_with_rephrasings_the_planner_reads(dataset, question) -> None:
    analytics = analytics_of(dataset)
    outcome = analytics.compute(question)
    assert outcome.computed is None, (question, outcome.computed and outcome.computed["summary"])
    refusal = outcome.refusal
    assert isinstance(refusal, Refusal) and refusal.not_understood, (question, outcome.note)
    assert 1 <= len(refusal.rephrasings) <= 3, (question, refusal)
    assert len({r.lower() for r in refusal.rephrasings}) == len(refusal.rephrasings)
    for rephrasing in refusal.rephrasings:
        assert_reads(analytics, rephrasing)
    assert refusal.not_understood in refusal.text() and all(r in refusal.text() for r in refusal.rephrasings)


@pytest.mark.parametrize(
    "question, word",
    [
        ("What is the average price of the cars?", "price"),
        ("How many cars cost more than 20000?", "cost"),
        ("What is the average age of the cars?", "age"),
        ("What is the total salary?", "salary"),
        ("Which car has the highest salary?", "salary"),
        ("What is the median price of Japanese cars?", "price"),
    ],
)
def test_a_price_age_or_salary_no_field_holds_is_never_computed(question: str, word: str) -> None:
    outcome = analytics_of("cars").compute(question)
    assert outcome.computed is None and outcome.refusal is not None
    assert word in outcome.refusal.not_understood
    assert len(outcome.refusal.rephrasings) >= 2
    for rephrasing in outcome.refusal.rephrasings:
        assert_reads(analytics_of("cars"), rephrasing)


def test_a_refusal_keeps_what_was_read_in_its_rephrasings() -> None:
    refusal = analytics_of("cars").compute("average horsepower of cars with 8 cylinders per number of owners").refusal
    assert refusal is not None and "per number of owners" in refusal.not_understood
    assert refusal.rephrasings[0].startswith("average Horsepower by ") and "Cylinders is 8" in refusal.rephrasings[0]
    month = analytics_of("weather").compute("average temp_max in March").refusal
    assert month is not None and "March" in month.not_understood
    assert any("March 2015" in r or "March 2012" in r for r in month.rephrasings)
    ambiguous = analytics_of("weather").compute("What is the average temperature?").refusal
    assert ambiguous is not None and ambiguous.rephrasings[:2] == ["average temp_max", "average temp_min"]


@pytest.mark.parametrize(
    "question",
    ["Tell me about the chevrolet chevelle malibu", "What is the horsepower of the tesla model s?",
     "Compare the ford pinto with the toyota corolla", "Describe the toyota corolla",
     "Write a long report about every car in the data, one paragraph per car"],
)
def test_lookups_and_open_questions_are_not_refused(question: str) -> None:
    outcome = analytics_of("cars").compute(question)
    assert outcome.computed is None and outcome.refusal is None and analytic_intent(question) is None


def test_a_request_for_prose_laid_out_per_group_is_not_refused_but_a_computation_in_one_is() -> None:
    assert analytic_intent("Write a report, one paragraph per origin") is None
    assert analytic_intent("Describe the average horsepower per origin") == "average"
    assert analytic_intent("Write the number of cars per origin") == "number of"
    assert analytic_intent("cars per origin") == "per"


# --- sentences that name the records by what they are --------------------------------------------------------


def _load(tmp_path: Path, name: str, records: list[dict]) -> DatasetAnalytics:
    path = tmp_path / name
    path.write_text(json.dumps(records), encoding="utf-8")
    loaded = load_dataset(path)
    return DatasetAnalytics.build(loaded, profile_dataset(loaded.records))


def _characters() -> list[dict]:
    """87 characters, 16 of them female, each with the starships they flew (an array of objects)."""
    return [
        {"name": f"character {i}", "sex": "female" if i % 5 == 0 and i < 80 else "male", "mass": 50 + (i * 13) % 70,
         "starships": [{"ship": f"s{i}-{j}", "length": 10 + 5 * j + i % 7} for j in range(i % 4)]}
        for i in range(87)
    ]


def test_a_count_names_the_records_as_the_question_does_never_by_the_file(tmp_path: Path) -> None:
    assert record_noun("starwars.json") == "records" and record_noun("cars.json") == "cars"
    analytics = _load(tmp_path, "starwars.json", _characters())
    for question in ("How many characters are female?", "How many female characters are there?"):
        assert analytics.compute(question).computed["summary"] == "16 of 87 characters have sex = female (18.4%)."
    assert "16 of 87 records" in analytics.compute("How many are female?").computed["summary"]
    heaviest = analytics.compute("Which character is the heaviest?").computed["summary"]
    assert heaviest.startswith("The character with the highest mass is ") and heaviest.endswith("out of 87 characters.")


def test_a_mean_of_nested_records_names_them_and_counts_them(tmp_path: Path) -> None:
    records = _characters()
    analytics = _load(tmp_path, "starwars.json", records)
    lengths = [ship["length"] for r in records for ship in r["starships"]]
    owners = sum(1 for r in records if r["starships"])
    summary = analytics.compute("What is the average length of starships?").computed["summary"]
    assert f"over the {len(lengths)} starships (in {owners} of 87 records)" in summary
    spec = QuerySpec("mean", "starships.length", filters=(Filter("name", "=", "character 7"),))  # the LLM planner's
    result = analytics.table.run(spec)
    one = computed_answer(Plan(spec=result.spec, planner="llm"), result, analytics.table.schema, noun=analytics.noun)
    ships = records[7]["starships"]
    assert f"over the {len(ships)} starships with name = character 7 (in 1 of 87 records)" in one["summary"], one
    assert "over 1 records" not in one["summary"]
    female = analytics.compute("What is the average length of the starships of female characters?").computed
    flown = [ship["length"] for r in records if r["sex"] == "female" for ship in r["starships"]]
    assert female["value"] == pytest.approx(sum(flown) / len(flown))
    assert f"over the {len(flown)} starships with sex = female" in female["summary"]


def test_a_mean_over_fields_with_missing_values_says_how_many_it_took() -> None:
    summary = analytics_of("cars").compute("What is the average horsepower?").computed["summary"]
    assert summary == "The average Horsepower is 105.08 over 400 of the 406 cars (those with a value of Horsepower)."


def test_the_most_common_value_is_worded_as_such_and_ties_are_all_named(tmp_path: Path) -> None:
    summary = analytics_of("cars").compute("What is the most common number of cylinders?").computed["summary"]
    assert summary == "The most common Cylinders is 4 (207 of 406 cars)."
    pets = [{"kind": kind, "age": i} for i, kind in enumerate("cat dog cat dog fish".split())]
    tied = _load(tmp_path, "pets.json", pets)
    computed = tied.compute("What is the most common kind?").computed
    assert computed["summary"] == "The most common values of kind are cat and dog, tied (2 of 5 pets each)."
    assert computed["value"] == "cat and dog"
