"""Answer the analytic question set end to end through the engine and grade the final answers.

Shared by ``tests/test_analytics_accuracy.py`` (the floor) and ``bench/bench_analytics.py --final``
(the figures): one engine per dataset of the set, the rules planner, the given LLM backend.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from rag.engine import Answer, RAGEngine
from rag.settings import Settings, apply_overrides
from rag.stream_buffer import StreamBuffer
from tests.analytics_cases import Case, dataset_path
from tests.analytics_grading import Grade, grade_final

FINAL_ANSWER_TIMEOUT = 300.0
Batched = TypeVar("Batched")


@dataclass(frozen=True)
class FinalAnswer:
    """One question answered by the engine, and its grade."""

    case: Case
    answer: Answer
    verdict: Grade


def embedded_settings(max_tokens: int = 48, num_ctx: int = 2048) -> dict[str, Any]:
    """Settings overrides for the embedded model, answers kept short (the wording is graded, not essays)."""
    return {"llm": {"backend": "embedded", "max_tokens": max_tokens, "num_ctx": num_ctx}, "analytics": {"planner": "rules"}}


def answer_cases(
    cases: Iterable[Case],
    overrides: dict[str, Any],
    embedder: Any,
    on_answer: Callable[[FinalAnswer], None] | None = None,
    *,
    cache_dir: str | None = None,
) -> list[FinalAnswer]:
    """Ask every case's question of an engine that loaded the case's dataset; grade each final answer.

    ``cache_dir`` keeps the embeddings and the dataset store between calls (a dataset asked about in several
    batches is embedded once); a temporary folder by default."""
    results: list[FinalAnswer] = []
    engine: RAGEngine | None = None
    loaded: str | None = None
    with tempfile.TemporaryDirectory() as temporary:
        cache_dir = cache_dir or temporary
        settings = apply_overrides(Settings(), {**overrides, "cache": {"directory": cache_dir}}, "final answers")
        for case in cases:
            if engine is None:
                engine = RAGEngine(settings, buffer=StreamBuffer(), embedder=embedder, cache=None)
            if case.dataset != loaded:
                engine.load_json(dataset_path(case.dataset))
                loaded = case.dataset
            answer = engine.chat(case.question, timeout=FINAL_ANSWER_TIMEOUT)
            if answer.status == "done":
                verdict = grade_final(case, answer.meta.get("computed"), answer.text)
            else:
                verdict = Grade(False, f"the answer ended {answer.status}: {answer.error}")
            result = FinalAnswer(case, answer, verdict)
            results.append(result)
            if on_answer is not None:
                on_answer(result)
    return results


def batches(cases: Iterable[Batched], size: int) -> Iterator[tuple[str, tuple[Batched, ...]]]:
    """The cases (anything with a ``dataset``) of each dataset in runs of at most ``size``, named
    ``<dataset>-<n>``: one test each, so that no test asks the embedded model for minutes."""
    by_dataset: dict[str, list[Batched]] = {}
    for case in cases:
        by_dataset.setdefault(case.dataset, []).append(case)  # type: ignore[attr-defined]
    for dataset, group in by_dataset.items():
        for start in range(0, len(group), size):
            yield f"{dataset}-{start // size + 1}", tuple(group[start : start + size])
