"""Every question of the French set, read by the rules planner and computed by DuckDB, no model.

Like ``tests/test_planner_corpus.py`` for the English set: the French questions of ``tests/french_cases.py``
(truths computed from the raw JSON, or taken from the English case a question translates) are graded on the
computed block alone. A question meant to be computed must be, with the truth; an open question, or a field or a
name the data does not hold, must go to retrieval; a question the data cannot answer as asked is refused with
rephrasings the planner computes. Only what the planner answers is graded, not how it reads French (translated
first or read directly).

A percentage question is right with the count of the records asked about and their share stated beside it (as the
English planner answers one), or with the share itself in the block (in percent or as a fraction).

The last tests check the set itself: its size, and that it covers each French construct with several questions.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import cache

import pytest

from rag.analytics.lexicons import detect_language
from rag.analytics.service import DatasetAnalytics
from rag.loader import load_dataset
from rag.profile import profile_dataset
from tests.analytics_cases import DATASETS, Case, dataset_path
from tests.analytics_grading import Grade, Scalar, grade
from tests.french_cases import (
    CONSTRUCTS,
    CONSTRUCTS_REQUIRED,
    ENGLISH,
    FRENCH_CASES,
    FRENCH_COUNTRY_NAMES,
    TWINS,
    WORDS_OF,
    constructs_of,
    percent_of,
)

MIN_CASES = 60
MIN_PER_CONSTRUCT = 4
"""Every construct is asked in several questions, so that one phrasing read by chance does not cover it."""


@cache
def analytics_of(dataset: str) -> DatasetAnalytics:
    """The analytic table of one dataset of the set, built once for the whole module."""
    loaded = load_dataset(dataset_path(dataset))
    return DatasetAnalytics.build(loaded, profile_dataset(loaded.records))


def grade_french(case: Case, computed, note) -> Grade:
    """``grade`` on the case's truth; a percentage question may also hold the share itself."""
    verdict = grade(case, computed, "")
    if "pourcentage" not in CONSTRUCTS[case.id] or computed is None:
        return verdict
    percent = percent_of(case)
    if verdict.ok:  # the count: its share must be stated beside it
        summary = str(computed.get("summary") or "")
        stated = [float(number.replace(",", ".")) for number in re.findall(r"\d+(?:[.,]\d+)?", summary)]
        if any(abs(number - percent) <= 0.05 for number in stated):
            return verdict
        return Grade(False, f"{verdict.why}, but the summary does not state the share {percent:.1f}%: {summary!r}")
    for share in (Scalar(percent, abs_tol=0.05), Scalar(percent / 100, abs_tol=0.0005)):
        again = grade(share, computed, "")
        if again.ok:
            return again
    return verdict


RIGHT_FLOOR = 0.95
"""Share of the set answered right (computed with the truth, or sent to retrieval / refused as it must be). The
goal is 0.90; measured 0.90 (126 of 140) when the French lexicon landed, 0.979 (137 of 140) since: the misses are
refusals, never wrong values."""


@pytest.mark.parametrize("case", FRENCH_CASES, ids=[case.id for case in FRENCH_CASES])
def test_a_french_question_is_never_computed_to_a_wrong_value(case: Case) -> None:
    """A question the planner computes has the truth; one it does not read is a miss (counted below), never a
    wrong number."""
    outcome = analytics_of(case.dataset).compute(case.question, mode="rules")
    verdict = grade_french(case, outcome.computed, outcome.note)
    spec = outcome.computed["spec"] if outcome.computed else None
    assert verdict.ok or outcome.computed is None, f"{case.question!r}: {verdict.why} (spec {spec})"


def test_most_of_the_french_set_is_answered_right() -> None:
    misses = []
    for case in FRENCH_CASES:
        outcome = analytics_of(case.dataset).compute(case.question, mode="rules")
        if not grade_french(case, outcome.computed, outcome.note).ok:
            misses.append(case.id)
    right = 1 - len(misses) / len(FRENCH_CASES)
    print(f"French set: {len(FRENCH_CASES) - len(misses)} of {len(FRENCH_CASES)} right ({right:.1%}); missed: {misses}")
    assert right >= RIGHT_FLOOR, (right, misses)


REFUSED = [case for case in FRENCH_CASES if case.qtype == "refused"]


@pytest.mark.parametrize("case", REFUSED, ids=[case.id for case in REFUSED])
def test_a_french_question_the_data_cannot_answer_is_refused_with_rephrasings_it_can(case: Case) -> None:
    analytics = analytics_of(case.dataset)
    outcome = analytics.compute(case.question)
    assert outcome.computed is None and outcome.refusal is not None, outcome
    assert outcome.refusal.rephrasings, outcome.refusal
    assert_rephrasings_are_french_and_computed(analytics, outcome.refusal)


def assert_rephrasings_are_french_and_computed(analytics: DatasetAnalytics, refusal) -> None:
    """Each rephrasing offered to a French question is French, and computes when it is asked."""
    assert refusal.language == "fr", refusal
    for rephrasing in refusal.rephrasings:
        assert detect_language(rephrasing) == "fr", (rephrasing, refusal.rephrasings)
        again = analytics.compute(rephrasing)
        assert again.computed is not None, (rephrasing, again.note)
        assert again.computed["language"] == "fr", rephrasing


def test_every_french_refusal_offers_french_rephrasings_that_compute() -> None:
    """Over the whole set: whatever a French question is refused for, what it is offered instead is French and
    computes (it had been English planner questions)."""
    refused = 0
    for case in FRENCH_CASES:
        analytics = analytics_of(case.dataset)
        outcome = analytics.compute(case.question)
        if outcome.refusal is None:
            continue
        refused += 1
        assert_rephrasings_are_french_and_computed(analytics, outcome.refusal)
        assert "“" not in outcome.refusal.not_understood, outcome.refusal
    assert refused >= 5, refused


# --- the set itself ------------------------------------------------------------------------------


def test_the_french_set_is_large_and_covers_every_construct_with_several_questions() -> None:
    assert len(FRENCH_CASES) >= MIN_CASES
    ids = [case.id for case in FRENCH_CASES]
    assert len(set(ids)) == len(ids), [i for i, n in Counter(ids).items() if n > 1]
    assert all(i.startswith("fr_") for i in ids)
    covered = Counter(construct for case in FRENCH_CASES for construct in constructs_of(case))
    unknown = set(covered) - set(CONSTRUCTS_REQUIRED)
    assert not unknown, f"constructs outside the list: {unknown}"
    thin = {name: covered[name] for name in CONSTRUCTS_REQUIRED if covered[name] < MIN_PER_CONSTRUCT}
    assert not thin, f"constructs asked fewer than {MIN_PER_CONSTRUCT} times: {thin}"
    assert {case.dataset for case in FRENCH_CASES} <= set(DATASETS)
    assert len({case.dataset for case in FRENCH_CASES}) >= 10


@pytest.mark.parametrize("case", FRENCH_CASES, ids=[case.id for case in FRENCH_CASES])
def test_a_french_case_is_tagged_with_what_it_says(case: Case) -> None:
    """A lexical construct a case is tagged with is written in it; the question is French (no English twin's
    text); a refused or open question is tagged so; a translated case has the type of its English twin."""
    tags = CONSTRUCTS[case.id]
    missing = [tag for tag in tags if tag in WORDS_OF and not WORDS_OF[tag].search(case.question)]
    assert not missing, f"{case.question!r} is tagged {missing} without the words"
    if case.qtype in ("refused", "not_analytic"):
        assert case.qtype in tags
    if case.id in TWINS:
        twin = ENGLISH[TWINS[case.id]]
        assert case.question.lower() != twin.question.lower()
        assert case.dataset == twin.dataset
        assert case.qtype == twin.qtype, (case.qtype, twin.qtype)
    case.truth()  # computable from the raw records


def test_the_countries_are_named_as_french_speakers_name_them() -> None:
    import babel
    territories = babel.Locale("fr").territories
    for name, code in FRENCH_COUNTRY_NAMES.items():
        assert territories[code].replace("’", "'") == name
        assert any(name in case.question for case in FRENCH_CASES), name
