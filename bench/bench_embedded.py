"""The embedded model's time to first token over the example orders, 5 questions in a row.

llama.cpp keeps the KV state of the last prompt and reuses the longest matching prefix of the next
one, and saves the state after each answer (``LlamaRAMCache``), so that a question also reuses the
prefix of an earlier prompt of its kind after a prompt of another kind (a computed answer) came in
between. The prompt is built for that: the instructions and the dataset summary come first and are the
same for every question, the question's records (at most ``RECORD_TOKENS``, written compactly) and the
question last.

This prints the model's time to first token (from the answer's metrics) for 5 consecutive lookup
questions, once with the KV state cleared before each question and no saved states (no reuse) and
once as the app runs (reuse); the same for 5 analytic questions, whose prompt is the computed result
alone (their reply starts with the result's sentence, shown at once; 0.00 s is a model that ended the
started reply without adding a token); and for 10 questions alternating between new lookups and
analytic questions. Goal: <= 1.5 s from the second question on.

Run: ``python bench/bench_embedded.py``.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from dashboard.data_flow import EXAMPLE_DATASET  # noqa: E402
from rag.engine import RAGEngine  # noqa: E402
from rag.settings import Settings, apply_overrides  # noqa: E402

LOOKUPS = [
    "What did Elena Rossi order?",
    "What does the note on order ORD-10018 say?",
    "Which orders mention a gift?",
    "Show me the items of order ORD-10003",
    "Why was a replacement sent for order ORD-10039?",
]
MORE_LOOKUPS = [  # for the alternating run: prompts the saved states have not seen whole
    "What did Noah Moreau order?",
    "What does the note on order ORD-10025 say?",
    "Which orders were sent to Munich?",
    "Show me the items of order ORD-10011",
    "Which orders used the discount code VIP20?",
]
ANALYTIC = [
    "How many orders were returned?",
    "Average order total per customer segment",
    "Which order has the highest total?",
    "How many orders were paid by paypal?",
    "Total quantity per category",
]


def first_tokens(engine: RAGEngine, questions: list[str], *, reuse: bool) -> list[tuple[float, int]]:
    """(time to first token, prompt tokens) of each question, in order."""
    figures = []
    llama = engine.client()._load()
    saved_states = llama.cache
    if not reuse:
        llama.set_cache(None)  # no saved states to restore from
    for question in questions:
        if not reuse:
            llama.reset()  # forget the previous prompt's KV state
        answer = engine.chat(question, timeout=300)
        if answer.status != "done":
            raise SystemExit(f"{question!r} ended {answer.status}: {answer.error}")
        first = answer.metrics.get("time_to_first_token")
        if first is None:  # the model ended a started reply at once: the text the page shows came at Send
            first = 0.0
        figures.append((first, answer.metrics.get("prompt_tokens") or 0))
    llama.set_cache(saved_states)
    return figures


def report(label: str, figures: list[tuple[float, int]], step: int = 1) -> None:
    """One line of figures; the summary over the 2nd question on (every ``step``-th: the lookups of an
    alternating run)."""
    cells = "  ".join(f"{t:5.2f}s/{n}" for t, n in figures)
    later = [t for t, _ in figures[::step]][1:]
    which = "2nd+" if step == 1 else "lookups 2nd+"
    print(f"  {label:<26} {cells}   {which} median {statistics.median(later):.2f} s, max {max(later):.2f} s")


def main() -> None:
    with tempfile.TemporaryDirectory() as cache:
        settings = apply_overrides(
            Settings(),
            {"llm": {"backend": "embedded", "max_tokens": 32}, "cache": {"directory": cache, "enabled": False}},
            "bench",
        )
        engine = RAGEngine(settings)
        engine.load_json(EXAMPLE_DATASET)
        engine.chat("warm-up: how many orders are there?", timeout=300)  # load both models before timing
        print(f"Time to first token / prompt tokens, 5 questions in a row (n_ctx {engine.client().context_window()}):")
        mixed = [q for pair in zip(MORE_LOOKUPS, ANALYTIC) for q in pair]
        for label, questions, step in (("lookups", LOOKUPS, 1), ("analytic", ANALYTIC, 1), ("alternating", mixed, 2)):
            report(f"{label}, KV cleared", first_tokens(engine, questions, reuse=False), step)
            report(f"{label}, prefix reused", first_tokens(engine, questions, reuse=True), step)


if __name__ == "__main__":
    main()
