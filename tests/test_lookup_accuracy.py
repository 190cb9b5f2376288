"""The lookup set answered end to end by the embedded model: every value the final answer states is exact or marked.

The set (``tests/lookup_cases.py``: 60 questions over six public files the planner was not tuned on, truths
computed from the raw files in plain Python) is asked through the engine with the embedded model and the real
embedding model, in batches of at most ``BATCH`` questions of one file, one test each, so that no test needs more
than ``BATCH_TIMEOUT`` seconds on a busy machine. The last test checks the floors over the whole set, once every
batch has run. ``bench/bench_lookups.py`` prints the figures per file (and, with ``--before``, those of the code
before this work).

The goals: the final answer (its text or its computed block) states the true value in at least 90% of the
questions (``RIGHT_GOAL``), and an unmarked wrong value (one the grounding check did not mark) in at most 2%
(``WRONG_GOAL``). The current code does not reach them: on 2 December 2026 it stated the true value in 63.3% of
the answers in each of two runs, and an unmarked wrong value in 8.3% and 13.3% (the model samples, so a run
differs from the next). The floors checked here are what it reaches, not the goals, with room for the model's sampling:
``RIGHT_FLOOR`` 55% and ``WRONG_CEILING`` 20%. The misses: a question without a computed block (a reverse lookup
"which X has the code C", a listing, a name written without its record's prefix) leaves the model to copy a
value from the retrieved records, and it often copies another record's; the grounding check marks wrong numbers
it cannot find, but not a number that another record holds when the question names no record it can match
("Hangul is 999", "Jeanne-Mance is 1678"), nor a name written without quotes ("North Caucasian languages").
"""

from __future__ import annotations

from typing import Any

import pytest

from bench.bench_lookups import answer_items
from tests.final_answers import batches
from tests.lookup_cases import CASES, RIGHT, WRONG, LookupCase, LookupGrade, dataset_path, grade_lookup, marked_spans_of

RIGHT_GOAL = 0.90
WRONG_GOAL = 0.02
RIGHT_FLOOR = 0.55
"""Share of answers that must state the true value: what the code reaches (63.3%), less room for the model's
sampling; the goal is 90%."""
WRONG_CEILING = 0.20
"""Share of answers that may state an unmarked wrong value: what the code reaches (8.3-13.3%), plus room for the
model's sampling; the goal is 2%."""
BATCH = 5
"""Questions per test: about 0.5-10 s each with the embedded model on 2 idle cores."""
BATCH_TIMEOUT = 120


BATCHES = dict(batches(CASES, BATCH))
_grades: dict[str, list[tuple[LookupCase, LookupGrade, str]]] = {}


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: Any) -> str:
    """Embeddings and stored datasets shared by the batches: a file asked about in several is embedded once."""
    return str(tmp_path_factory.mktemp("lookup-cache"))


@pytest.fixture(scope="module")
def embedder() -> Any:
    from rag.embeddings import Embedder
    from rag.model_files import default_embedding_model_dir

    return Embedder(default_embedding_model_dir())


def test_the_set_has_60_questions_over_6_files_each_answered_once() -> None:
    assert len(CASES) >= 60
    assert len({case.dataset for case in CASES}) >= 6
    asked = [case.id for group in BATCHES.values() for case in group]
    assert sorted(asked) == sorted(case.id for case in CASES)
    assert any(case.close for case in CASES if "typo" in case.close)


def test_every_truth_is_computed_from_the_raw_files() -> None:
    for case in CASES:
        truth = case.truth()
        assert truth.values and truth.need <= len(truth.values), case.id
        assert not set(map(str, truth.values)) & set(map(str, truth.others)), case.id


@pytest.mark.parametrize(("case_id", "text", "marked", "verdict"), [
    ("scripts_cyrillic_alpha4", "The alpha_4 of Cyrillic is Cyrl.", [], "right"),
    ("scripts_cyrillic_alpha4", "The alpha-4 code of Cyrillic is 221.", [], "wrong"),
    ("scripts_cyrillic_alpha4", "The alpha-4 code of Cyrillic is Grek.", [(33, 37)], "marked"),
    ("scripts_cyrillic_alpha4", "I could not find it.", [], "not_answered"),
    ("bacteria_anthracis_gram", "Bacillus anthracis is gram-positive.", [], "right"),
    ("riots_austin_age", "Vivian Austin was 87 years old [2].", [], "right"),
    ("riots_jackson_lower", "Dennis Ray Jackson died in 1992.", [], "not_answered"),
    ("riots_espinosa_date", "Juana Espinosa died on May 2, 1992.", [], "right"),
    ("election_riviere_winner_accents", "The winner in Rivière-des-Prairies was Coderre.", [], "right"),
    ("election_bois_winner", "The winner of 101-Bois-de-Liesse is the 123-Rivière-des-Prairies.", [], "wrong"),
    ("families_code_ine", "The language family with the code ine is Indo-European.", [], "right"),
    ("former_dahomey_withdrawn", "Dahomey was withdrawn in 1977.", [], "right"),
    ("former_list_1986", "Johnston Island, Midway Islands, US Miscellaneous Pacific Islands, Wake Island", [],
     "not_answered"),
])
def test_the_grader_reads_what_a_text_states(case_id: str, text: str, marked: list, verdict: str) -> None:
    case = next(case for case in CASES if case.id == case_id)
    assert grade_lookup(case.truth(), case.question, text, None, marked).verdict == verdict


def test_a_computed_block_states_the_value_or_a_wrong_one() -> None:
    case = next(case for case in CASES if case.id == "bacteria_coli_penicillin")
    right = {"columns": ["_record_id", "Bacteria", "Penicillin"], "rows": [["$[4]", "Escherichia coli", 100.0]]}
    wrong = {"columns": ["_record_id", "Bacteria", "Penicillin"], "rows": [["$[5]", "Klebsiella pneumoniae", 850]]}
    assert grade_lookup(case.truth(), case.question, "", right).verdict == RIGHT
    assert grade_lookup(case.truth(), case.question, "", wrong).verdict == WRONG


@pytest.mark.timeout(BATCH_TIMEOUT)
@pytest.mark.parametrize("batch", list(BATCHES))
def test_a_batch_of_the_lookup_set_is_answered(batch: str, embedder: Any, gguf_path: Any, cache_dir: str) -> None:
    cases = BATCHES[batch]
    items = [{"id": case.id, "path": str(dataset_path(case.dataset)), "question": case.question} for case in cases]
    results = answer_items(items, embedder, cache_dir=cache_dir)
    assert [result["id"] for result in results] == [case.id for case in cases]
    graded = []
    for case, result in zip(cases, results):
        verdict = grade_lookup(case.truth(), case.question, result["text"], result["computed"],
                               marked_spans_of(result["grounding"]))
        graded.append((case, verdict, result["text"]))
    _grades[batch] = graded
    assert all(result["status"] == "done" for result in results), [r["error"] for r in results if r["status"] != "done"]


def test_the_final_answers_state_the_true_value_or_mark_what_they_get_wrong(gguf_path: Any) -> None:
    missing = sorted(set(BATCHES) - set(_grades))
    if missing:
        pytest.skip(f"not every batch ran (missing {', '.join(missing[:5])}…): the floors are over the whole set")
    graded = [item for batch in BATCHES for item in _grades[batch]]
    right = sum(verdict.verdict == RIGHT for _, verdict, _ in graded) / len(graded)
    wrong = [f"{case.id}: {case.question}\n    {verdict.why}"
             for case, verdict, _ in graded if verdict.verdict == WRONG]
    missed = [f"{case.id}: {verdict.verdict}: {verdict.why}" for case, verdict, _ in graded if verdict.verdict != RIGHT]
    report = f"{right:.1%} right (floor {RIGHT_FLOOR:.0%}, goal {RIGHT_GOAL:.0%}); " \
             f"{len(wrong) / len(graded):.1%} wrong unmarked (ceiling {WRONG_CEILING:.0%}, goal {WRONG_GOAL:.0%})"
    assert right >= RIGHT_FLOOR, report + "\nnot right:\n" + "\n".join(missed)
    assert len(wrong) / len(graded) <= WRONG_CEILING, report + "\nwrong:\n" + "\n".join(wrong)
