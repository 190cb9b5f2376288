"""Every graded question of the analytic set, read by the rules planner and computed by DuckDB, no model.

The same cases as ``tests/test_analytics_accuracy.py`` (truths computed from the raw JSON in
``tests/analytics_cases.py``), graded on the computed block alone: a question meant to be computed must
be, with the truth (a lookup of a named record's field and a listing of records included), and an open
question, or a name the data does not hold, must go to retrieval. It runs in seconds, so a planner change
is checked against the whole corpus by the fast group.
"""

from __future__ import annotations

from functools import cache

import pytest

from rag.analytics.service import DatasetAnalytics
from rag.loader import load_dataset
from rag.profile import profile_dataset
from tests.analytics_cases import CASES, Case, dataset_path
from tests.analytics_grading import grade


@cache
def analytics_of(dataset: str) -> DatasetAnalytics:
    """The analytic table of one dataset of the set, built once for the whole module."""
    loaded = load_dataset(dataset_path(dataset))
    return DatasetAnalytics.build(loaded, profile_dataset(loaded.records))


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_the_planner_computes_the_truth_or_sends_the_question_to_retrieval(case: Case) -> None:
    outcome = analytics_of(case.dataset).compute(case.question, mode="rules")
    verdict = grade(case, outcome.computed, "")
    spec = outcome.computed["spec"] if outcome.computed else None
    assert verdict.ok, f"{case.question!r}: {verdict.why} (spec {spec}, note {outcome.note})"
