"""The analytic question set answered end to end by the embedded model with the rules planner.

Graded on the final answer a user reads: the computed block must hold the truth (computed from the
raw JSON in ``tests/analytics_cases.py``) and the model's text must state it; lookups must go to
retrieval. The figures per question type are printed by ``bench/bench_analytics.py --final``.
"""

from __future__ import annotations

import pytest

from tests.analytics_cases import CASES
from tests.analytics_grading import accuracy_by_type
from tests.final_answers import answer_cases, embedded_settings

FLOOR = 0.90


@pytest.fixture(scope="module")
def embedder():
    from rag.embeddings import Embedder
    from rag.model_files import default_embedding_model_dir

    return Embedder(default_embedding_model_dir())


def test_the_embedded_model_answers_at_least_90_percent_of_the_question_set_right(embedder, gguf_path) -> None:
    results = answer_cases(CASES, embedded_settings(), embedder)
    assert len(results) == len(CASES)
    wrong = [f"[{r.case.qtype}] {r.case.question}: {r.verdict.why}" for r in results if not r.verdict.ok]
    table = accuracy_by_type((r.case, r.verdict) for r in results)
    accuracy = sum(r.verdict.ok for r in results) / len(results)
    report = "\n".join(f"{qtype}: {ok}/{n}" for qtype, (ok, n) in table.items())
    assert accuracy >= FLOOR, f"{accuracy:.1%} right (floor {FLOOR:.0%})\n{report}\nwrong:\n" + "\n".join(wrong)
    computed_right = [r for r in results if r.verdict.ok and r.answer.meta.get("computed")]
    assert all(r.answer.sources or not r.answer.meta["computed"].get("record_ids") for r in computed_right), (
        "the records behind a computed result are given as sources"
    )
