"""Record questions phrased as users write them, read by the planner and run in DuckDB (no model): reverse
lookups under a noun phrase, "code" for the one field of codes, verbs naming fields, names inside measures,
names with a prefix or an alias in parentheses, a person's full name, and days written in several ways."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest

from rag.analytics.service import DatasetAnalytics
from rag.loader import load_dataset
from rag.profile import profile_dataset
from tests.lookup_cases import dataset_path


@cache
def analytics_of(dataset: str) -> DatasetAnalytics:
    loaded = load_dataset(dataset_path(dataset))
    return DatasetAnalytics.build(loaded, profile_dataset(loaded.records))


def computed_rows(dataset: str, question: str) -> list[list]:
    outcome = analytics_of(dataset).compute(question, mode="rules")
    assert outcome.computed is not None, f"{question!r} was not computed: {outcome.note}"
    return outcome.computed["rows"]


def record(dataset: str, **where: object) -> dict:
    data = json.loads(Path(dataset_path(dataset)).read_text(encoding="utf-8"))
    rows = next(iter(data.values())) if isinstance(data, dict) else data
    return next(row for row in rows if all(row.get(key) == value for key, value in where.items()))


@pytest.mark.parametrize("dataset, question, field, where", [
    ("former_countries", "Which former country has the alpha-4 code YUCS?", "name", {"alpha_4": "YUCS"}),
    ("former_countries", "Which record has the alpha-3 code SKM?", "name", {"alpha_3": "SKM"}),
    ("language_families", "Which language family has the code gem?", "name", {"alpha_3": "gem"}),
    ("language_families", "What is the code of the Dravidian languages?", "alpha_3", {"name": "Dravidian languages"}),
    ("language_families", "what is the code of the finno ugrian languages", "alpha_3",
     {"name": "Finno-Ugrian languages"}),
    ("former_countries", "When was Dahomey withdrawn?", "withdrawal_date", {"name": "Dahomey"}),
    ("election", "Who won the district 101-Bois-de-Liesse?", "winner", {"district": "101-Bois-de-Liesse"}),
    ("election", "How many votes did Coderre get in Mile-End?", "Coderre", {"district": "111-Mile-End"}),
    ("election", "What is the total of the district Jeanne-Mance?", "total", {"district": "113-Jeanne-Mance"}),
    ("election", "How many votes did Joly get in Ahuntsik?", "Joly", {"district": "13-Ahuntsic"}),
    ("scripts", "What is the numeric code of Hangul?", "numeric", {"alpha_4": "Hang"}),
    ("scripts", "What is the numeric code of the Greek script?", "numeric", {"name": "Greek"}),
    ("riots", "What neighborhood did Patrick Bettan die in?", "neighborhood",
     {"first_name": "Patrick", "last_name": "Bettan"}),
])
def test_a_record_question_states_the_value_of_the_record_it_names(dataset, question, field, where) -> None:
    rows = computed_rows(dataset, question)
    assert len(rows) == 1, rows
    assert str(record(dataset, **where)[field]) in [str(cell) for cell in rows[0]]


def test_a_listing_names_people_by_their_full_name() -> None:
    outcome = analytics_of("riots").compute("Which people died in Koreatown?", mode="rules")
    fact = outcome.computed["fact"]
    assert "Patrick Bettan" in fact and "people died" not in fact and len(outcome.computed["rows"]) == 4


def test_a_noun_phrase_is_plural_on_its_last_word_and_names_with_commas_are_kept_apart() -> None:
    fact = analytics_of("language_families").compute(
        "Which language families have names starting with 'Creoles'?", mode="rules").computed["fact"]
    assert fact.startswith("4 language families ") and "; " in fact


def test_a_name_no_record_has_is_not_guessed_inside_a_measure() -> None:
    outcome = analytics_of("election").compute("How many votes did Coderre get in Atlantis?", mode="rules")
    assert outcome.computed is None


@pytest.mark.parametrize("question", ["What was the price of MSFT on 2003-03-01?",
                                      "What was MSFT's price on Mar 1 2003?", "price of MSFT on 1 March 2003"])
def test_a_day_is_read_however_it_is_written(tmp_path: Path, question: str) -> None:
    rows = [{"symbol": symbol, "date": f"2003-0{month}-01", "price": float(10 * month + len(symbol))}
            for symbol in ("MSFT", "IBM") for month in (2, 3, 4)]
    path = tmp_path / "stocks.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    loaded = load_dataset(path)
    outcome = DatasetAnalytics.build(loaded, profile_dataset(loaded.records)).compute(question, mode="rules")
    assert outcome.computed is not None and [row[-1] for row in outcome.computed["rows"]] == [34.0]


def test_a_date_after_a_measure_is_a_filter_never_a_stray_tag(tmp_path: Path) -> None:
    rows = [{"symbol": "IBM", "date": f"2005-{month:02d}-01", "price": float(month)} for month in range(1, 13)]
    path = tmp_path / "stocks.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    loaded = load_dataset(path)
    outcome = DatasetAnalytics.build(loaded, profile_dataset(loaded.records)).compute(
        "average price of IBM after 2005-06-01", mode="rules")
    assert outcome.computed is not None and outcome.computed["spec"]["filters"][0]["op"] == ">"
    assert float(outcome.computed["rows"][0][-1]) == pytest.approx(sum(range(7, 13)) / 6)
