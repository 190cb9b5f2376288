"""Every graded question of the analytic set, read by the rules planner and computed by DuckDB, no model.

The same cases as ``tests/test_analytics_accuracy.py`` (truths computed from the raw JSON in
``tests/analytics_cases.py``), graded on the computed block alone: a question meant to be computed must
be, with the truth (a lookup of a named record's field and a listing of records included), and an open
question, or a name the data does not hold, must go to retrieval. It runs in seconds, so a planner change
is checked against the whole corpus by the fast group.

Every question computed has every word read: the planner's account of the question (``Plan.words``) places
each word, and a word it ignored (a tag, "thx") is named in the read line. A question the data cannot answer as
asked (``refused``) gets no number but rephrasings, each of which the planner reads and computes.
"""

from __future__ import annotations

from functools import cache

import pytest

from rag.analytics.plan import PLANNED, WORD_ROLES
from rag.analytics.service import DatasetAnalytics
from rag.analytics.words import tokenize
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


COMPUTED = [case for case in CASES if case.qtype not in ("not_analytic", "refused")]


@pytest.mark.parametrize("case", COMPUTED, ids=[case.id for case in COMPUTED])
def test_every_word_of_a_computed_question_is_placed(case: Case) -> None:
    outcome = analytics_of(case.dataset).plan(case.question)
    assert outcome.status == PLANNED, outcome.reason
    plan = outcome.plan
    written = [token.text for token in tokenize(case.question)]
    assert [word for word, _role in plan.words][: len(written)] == written, plan.words
    unplaced = [word for word, role in plan.words if role not in WORD_ROLES]
    assert not unplaced, f"{case.question!r}: no role for {unplaced} ({plan.words})"
    if plan.ignored:  # a stray token: left out, and said so
        line = next((a for a in plan.assumptions if a.startswith("ignored: ")), "")
        assert all(repr(word) in line or word in line for word in plan.ignored), (plan.ignored, plan.assumptions)


REFUSED = [case for case in CASES if case.qtype == "refused"]


@pytest.mark.parametrize("case", REFUSED, ids=[case.id for case in REFUSED])
def test_a_question_the_data_cannot_answer_is_refused_with_rephrasings_it_can(case: Case) -> None:
    analytics = analytics_of(case.dataset)
    outcome = analytics.compute(case.question)
    assert outcome.computed is None and outcome.refusal is not None, outcome
    assert outcome.refusal.rephrasings, outcome.refusal
    for rephrasing in outcome.refusal.rephrasings:
        again = analytics.compute(rephrasing)
        assert again.computed is not None, (rephrasing, again.note)
        plan = analytics.plan(rephrasing).plan
        assert not plan.ignored and all(role in WORD_ROLES for _word, role in plan.words), plan.words
