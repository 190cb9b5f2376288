"""Analytic answers: accuracy of the rules planner on the question set, and plan + query latency.

    .venv/bin/python bench/bench_analytics.py              # accuracy per question type (computed block)
    .venv/bin/python bench/bench_analytics.py --verbose    # and every question that went wrong
    .venv/bin/python bench/bench_analytics.py --latency    # plan + query p50/p95 at 10k and 100k records
    .venv/bin/python bench/bench_analytics.py --final      # the final answers of the embedded model (minutes)

The question set and its truths live in ``tests/analytics_cases.py`` (truths computed from the raw
JSON in plain Python); the grading is ``tests/analytics_grading.py``. By default accuracy is measured
on the computed block alone; ``--final`` asks every question of the engine with the embedded model
and grades what the user reads (the block, and the model's text stating it), as
``tests/test_analytics_accuracy.py`` does.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.analytics.service import DatasetAnalytics  # noqa: E402
from rag.loader import load_dataset  # noqa: E402
from rag.profile import profile_dataset  # noqa: E402
from tests.analytics_cases import CASES, dataset_path  # noqa: E402
from tests.analytics_grading import accuracy_by_type, grade  # noqa: E402


def run_cases(verbose: bool = False) -> list[tuple[object, object]]:
    """Answer every question's computed part; returns (case, grade) pairs."""
    analytics: dict[str, DatasetAnalytics] = {}
    results = []
    for case in CASES:
        if case.dataset not in analytics:
            dataset = load_dataset(dataset_path(case.dataset))
            analytics[case.dataset] = DatasetAnalytics.build(dataset, profile_dataset(dataset.records))
        outcome = analytics[case.dataset].compute(case.question, mode="rules")
        verdict = grade(case, outcome.computed, "")
        results.append((case, verdict))
        if verbose and not verdict.ok:
            spec = outcome.computed["spec"] if outcome.computed else None
            print(f"✗ [{case.qtype}] {case.id}: {case.question}\n    {verdict.why}\n    spec={spec} note={outcome.note}")
    return results


def print_accuracy(results: list[tuple[object, object]]) -> float:
    table = accuracy_by_type(results)
    total_ok = sum(ok for ok, _ in table.values())
    total = sum(n for _, n in table.values())
    print(f"{'type':<16}{'right':>8}{'of':>6}{'share':>9}")
    for qtype, (ok, n) in sorted(table.items()):
        print(f"{qtype:<16}{ok:>8}{n:>6}{ok / n:>9.0%}")
    print(f"{'all':<16}{total_ok:>8}{total:>6}{total_ok / total:>9.1%}")
    return total_ok / total


def run_final(verbose: bool = False) -> list[tuple[object, object]]:
    """Answer every question through the engine with the embedded model; print time to first token."""
    from rag.embeddings import Embedder
    from rag.model_files import default_embedding_model_dir
    from tests.final_answers import answer_cases, embedded_settings

    def show(result: object) -> None:
        if verbose and not result.verdict.ok:
            print(f"✗ [{result.case.qtype}] {result.case.id}: {result.case.question}\n    {result.verdict.why}")

    results = answer_cases(CASES, embedded_settings(), Embedder(default_embedding_model_dir()), show)
    computed = [r for r in results if r.answer.meta.get("computed")]
    print(f"{len(results)} answers, {len(computed)} computed over all records")
    for label, group in (("computed", computed), ("retrieved", [r for r in results if r not in computed])):
        firsts = sorted(t for r in group if (t := r.answer.metrics.get("time_to_first_token")) is not None)
        if firsts:
            print(f"  {label}: model's first token p50 {statistics.median(firsts):.2f} s, max {firsts[-1]:.2f} s "
                  f"({len(group) - len(firsts)} of {len(group)} ended without a token of their own)")
    return [(r.case, r.verdict) for r in results]


def latency(sizes: tuple[int, ...] = (10_000, 100_000), rounds: int = 50) -> None:
    """Plan + query time of typical questions over the example orders repeated to ``size`` records."""
    import json

    base = json.loads((ROOT / "dashboard" / "example_data" / "orders.json").read_text())
    questions = [
        "How many orders were returned?",
        "Average order total per customer segment",
        "Which order has the highest total?",
        "Number of orders per month",
        "Total quantity per category",
        "How many orders have a total between 100 and 200?",
    ]
    for size in sizes:
        records = [dict(base[i % len(base)], order_id=f"ORD-{i}") for i in range(size)]
        dataset = load_dataset(records, name="orders.json")
        started = time.perf_counter()
        analytics = DatasetAnalytics.build(dataset, profile_dataset(dataset.records))
        build = time.perf_counter() - started
        times = []
        for _ in range(rounds):
            for question in questions:
                t0 = time.perf_counter()
                outcome = analytics.compute(question, mode="rules")
                times.append((time.perf_counter() - t0) * 1000)
                assert outcome.computed is not None, (question, outcome.note)
        times.sort()
        p50 = statistics.median(times)
        p95 = times[int(len(times) * 0.95) - 1]
        print(f"{size:>7} records: table build {build:.2f} s; plan+query p50 {p50:.1f} ms, p95 {p95:.1f} ms "
              f"({len(times)} questions; goal p95 <= 30 ms)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--latency", action="store_true")
    parser.add_argument("--final", action="store_true", help="grade the embedded model's final answers")
    args = parser.parse_args()
    results = run_final(args.verbose) if args.final else run_cases(args.verbose)
    accuracy = print_accuracy(results)
    if args.latency:
        latency()
    return 0 if accuracy >= 0.9 else 1


if __name__ == "__main__":
    sys.exit(main())
