"""A percentage is taken of the records the question names: "what percentage of female customers are smokers" is
a share of the female customers, not of every customer (it was: a silent wrong value, 13.5% for 37.9%)."""

from __future__ import annotations

import pytest

from tests.analytics_cases import load_records
from tests.test_french_planner import analytics_of


def percent(found: int, total: int) -> float:
    return round(100 * found / total, 1)


def stated_percent(computed: dict) -> float:
    return float(str(computed["value"]).replace("\u202f", "").replace("\u00a0", "").rstrip("%").replace(",", "."))


def tips_share(part, of) -> float:  # noqa: ANN001  (row predicates)
    rows = load_records("tips")
    base = [row for row in rows if of(row)]
    return percent(sum(1 for row in base if part(row)), len(base))


@pytest.mark.parametrize(("question", "part", "of"), [
    ("What percentage of female customers are smokers?", lambda r: r["smoker"] == "Yes", lambda r: r["sex"] == "Female"),
    ("What percentage of smokers are female?", lambda r: r["sex"] == "Female", lambda r: r["smoker"] == "Yes"),
    ("What percentage of dinner tips were from men?", lambda r: r["sex"] == "Male",
     lambda r: r["time"] == "Dinner"),
    ("What percentage of customers are smokers?", lambda r: r["smoker"] == "Yes", lambda r: True),
    ("Quel pourcentage des femmes sont fumeuses ?", lambda r: r["smoker"] == "Yes", lambda r: r["sex"] == "Female"),
])
def test_a_share_is_of_the_records_the_question_names(question, part, of) -> None:
    outcome = analytics_of("tips").compute(question)
    assert outcome.computed is not None, outcome.note
    assert stated_percent(outcome.computed) == pytest.approx(tips_share(part, of), abs=0.05), \
        outcome.computed["summary"]
