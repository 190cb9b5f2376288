"""Lookups: is every value the final answer states exact, or marked? The embedded model over the lookup set.

    .venv/bin/python bench/bench_lookups.py                       # the whole set (minutes)
    .venv/bin/python bench/bench_lookups.py --dataset bacteria    # one file (repeatable)
    .venv/bin/python bench/bench_lookups.py --limit 3 --verbose   # the first 3 questions per file, each verdict
    .venv/bin/python bench/bench_lookups.py --before              # also the old tree, side by side

The set and its truths live in ``tests/lookup_cases.py`` (truths computed from the raw public files in plain
Python); so does the grader. Every question is asked through the engine (``RAGEngine.chat``) with the embedded
model (SmolLM2-135M-Instruct) and the real embedding model, one engine per file; the final answer a user reads
is graded: right (the text or the computed block states the true value), wrong (it states another value that
the grounding check did not mark), marked (every wrong value stated is marked), or not answered.

``--before`` asks the same questions of the tree extracted at ``--before-tree`` (``git archive b123d50 | tar -x
-C /tmp/lookups-before``) in a subprocess whose ``PYTHONPATH`` is that tree; it has no grounding check, so its
text alone is graded. The answers are written as JSON lines, one per question, by ``--worker``, which imports
nothing but ``rag`` (the old tree's, there), and graded here.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BEFORE_TREE = Path("/tmp/lookups-before")
ANSWER_TIMEOUT = 300.0


def lookup_settings(cache_dir: str, max_tokens: int = 64, num_ctx: int = 2048) -> dict[str, Any]:
    """Settings overrides: the embedded model, short answers (a lookup is one sentence), the default planner."""
    return {"llm": {"backend": "embedded", "max_tokens": max_tokens, "num_ctx": num_ctx},
            "cache": {"directory": cache_dir}}


def answer_items(
    items: Iterable[Mapping[str, str]], embedder: Any, *, cache_dir: str | None = None,
    on_answer: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Ask each item's ``question`` of an engine that loaded its ``path`` (``{"id", "path", "question"}``); returns
    one plain dict per answer: ``id``, ``text``, ``status``, ``error``, ``computed``, ``grounding`` (None when the
    tree has no grounding check), ``seconds`` (the question alone) and ``load_seconds`` (its file, when loaded for
    it). Imports ``rag`` only, so that it runs against an old tree too."""
    from rag.engine import RAGEngine
    from rag.settings import Settings, apply_overrides
    from rag.stream_buffer import StreamBuffer

    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as temporary:
        settings = apply_overrides(Settings(), lookup_settings(cache_dir or temporary), "lookup bench")
        engine = RAGEngine(settings, buffer=StreamBuffer(), embedder=embedder, cache=None)
        loaded = None
        for item in items:
            load_seconds = 0.0
            if item["path"] != loaded:
                started = time.perf_counter()
                engine.load_json(item["path"])
                load_seconds = time.perf_counter() - started
                loaded = item["path"]
            started = time.perf_counter()
            answer = engine.chat(item["question"], timeout=ANSWER_TIMEOUT)
            result = {
                "id": item["id"], "text": answer.text or "", "status": answer.status, "error": answer.error,
                "computed": answer.meta.get("computed"), "grounding": answer.meta.get("grounding"),
                "seconds": time.perf_counter() - started, "load_seconds": load_seconds,
            }
            results.append(result)
            if on_answer is not None:
                on_answer(result)
    return results


def _embedder() -> Any:
    from rag.embeddings import Embedder
    from rag.model_files import default_embedding_model_dir

    return Embedder(default_embedding_model_dir())


def worker() -> int:
    """Read the items as JSON from stdin, write one JSON line per answer to stdout."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    items = json.load(sys.stdin)
    out = sys.stdout

    def emit(result: dict[str, Any]) -> None:
        out.write(json.dumps(result, default=str) + "\n")
        out.flush()

    answer_items(items, _embedder(), on_answer=emit)
    return 0


def run_tree(
    items: list[dict[str, str]], tree: Path, on_answer: Callable[[dict[str, Any]], None],
) -> list[dict[str, Any]]:
    """Answer the items with the ``rag`` of ``tree``, in a subprocess."""
    env = {**os.environ, "PYTHONPATH": str(tree), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--worker"], cwd=str(tree), env=env,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(json.dumps(items))
    process.stdin.close()
    results = []
    for line in process.stdout:
        result = json.loads(line)
        results.append(result)
        on_answer(result)
    if process.wait() != 0:
        raise RuntimeError(f"the worker on {tree} ended with {process.returncode}")
    return results


# --- grading and figures ---------------------------------------------------------------------------


def grade_result(case: Any, result: Mapping[str, Any], *, use_grounding: bool = True) -> Any:
    """The ``LookupGrade`` of one answer (an answer that did not finish is not answered, unless its text is)."""
    from tests.lookup_cases import grade_lookup, marked_spans_of

    spans = marked_spans_of(result.get("grounding")) if use_grounding else []
    return grade_lookup(case.truth(), case.question, result.get("text") or "", result.get("computed"), spans)


class Figures:
    """Right %, wrong-stated %, marked wrong values and seconds per question, per file and overall."""

    def __init__(self) -> None:
        self.rows: dict[str, list[tuple[Any, float]]] = {}

    def add(self, dataset: str, grade: Any, seconds: float) -> None:
        self.rows.setdefault(dataset, []).append((grade, seconds))

    def line(self, dataset: str | None) -> dict[str, float]:
        rows = [row for key, group in self.rows.items() if dataset in (None, key) for row in group]
        n = len(rows) or 1
        return {
            "n": len(rows),
            "right": 100 * sum(g.verdict == "right" for g, _ in rows) / n,
            "wrong": 100 * sum(g.verdict == "wrong" for g, _ in rows) / n,
            "marked_answers": sum(g.verdict == "marked" for g, _ in rows),
            "marked_values": sum(g.marked_wrong for g, _ in rows),
            "seconds": sum(s for _, s in rows) / n,
        }


def print_table(columns: dict[str, Figures]) -> None:
    datasets = list(dict.fromkeys(key for figures in columns.values() for key in figures.rows))
    head = f"{'file':<20}{'n':>4}"
    for label in columns:
        head += f" | {label + ' right':>13}{'wrong':>7}{'marked':>8}{'s/q':>6}"
    print(head)
    print("-" * len(head))
    for dataset in datasets + [None]:
        line = ""
        for figures in columns.values():
            f = figures.line(dataset)
            marked = f"{f['marked_answers']:>3}/{f['marked_values']:<4}"
            line += f" | {f['right']:>12.1f}%{f['wrong']:>6.1f}%{marked}{f['seconds']:>6.1f}"
        n = next(iter(columns.values())).line(dataset)["n"]
        print(f"{dataset or 'all':<20}{n:>4}{line}")
    print("right: the text or the block states the true value; wrong: states another value not marked; "
          "marked: answers whose every wrong value is marked / wrong values marked in all answers")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--dataset", action="append", help="only this file of the set (repeatable)")
    parser.add_argument("--limit", type=int, help="the first N questions of each file")
    parser.add_argument("--id", action="append", help="only this question (repeatable)")
    parser.add_argument("--before", action="store_true", help="also run the old tree and print both")
    parser.add_argument("--before-tree", type=Path, default=DEFAULT_BEFORE_TREE)
    parser.add_argument("--only-before", action="store_true", help="run the old tree alone")
    parser.add_argument("--save", type=Path, help="write the raw answers (JSON) to this folder")
    parser.add_argument("--regrade", type=Path, help="grade the answers saved in this folder instead of asking")
    parser.add_argument("--verbose", action="store_true", help="print every verdict")
    args = parser.parse_args()
    if args.worker:
        return worker()

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from tests.lookup_cases import CASES, dataset_path

    cases = [case for case in CASES if (not args.dataset or case.dataset in args.dataset)
             and (not args.id or case.id in args.id)]
    if args.limit:
        seen: dict[str, int] = {}
        limited = []
        for case in cases:
            seen[case.dataset] = seen.get(case.dataset, 0) + 1
            if seen[case.dataset] <= args.limit:
                limited.append(case)
        cases = limited
    by_id = {case.id: case for case in cases}
    items = [{"id": case.id, "path": str(dataset_path(case.dataset)), "question": case.question} for case in cases]

    columns: dict[str, Figures] = {}
    runs: list[tuple[str, Callable[[Callable[[dict[str, Any]], None]], list[dict[str, Any]]]]] = []
    if args.regrade:
        for label in ("after", "before"):
            saved = args.regrade / f"lookups-{label}.json"
            if saved.is_file():
                kept = [result for result in json.loads(saved.read_text()) if result["id"] in by_id]
                runs.append((label, lambda hear, kept=kept: [hear(result) or result for result in kept]))
    elif not args.only_before:
        runs.append(("after", lambda hear: answer_items(items, _embedder(), on_answer=hear)))
    if (args.before or args.only_before) and not args.regrade:
        if not (args.before_tree / "rag").is_dir():
            print(f"no old tree at {args.before_tree}: git archive b123d50 | tar -x -C {args.before_tree}")
            return 2
        runs.append(("before", lambda hear: run_tree(items, args.before_tree, hear)))
    for label, run in runs:
        figures = columns[label] = Figures()
        print(f"== {label}: {len(items)} questions", flush=True)

        def hear(result: dict[str, Any], figures: Figures = figures, label: str = label) -> None:
            case = by_id[result["id"]]
            verdict = grade_result(case, result, use_grounding=label != "before")
            figures.add(case.dataset, verdict, result["seconds"])
            if args.verbose or verdict.verdict == "wrong":
                print(f"  [{label}] {verdict.verdict:<12} {case.id}: {case.question}\n"
                      f"      {verdict.why}  ({result['seconds']:.1f} s, {result['status']})", flush=True)

        started = time.perf_counter()
        results = run(hear)
        print(f"   {label}: {len(results)} answers in {time.perf_counter() - started:.0f} s", flush=True)
        if args.save and not args.regrade:
            args.save.mkdir(parents=True, exist_ok=True)
            (args.save / f"lookups-{label}.json").write_text(json.dumps(results, default=str, indent=1))
    print()
    print_table(columns)
    after = columns.get("after")
    if after is None:
        return 0
    overall = after.line(None)
    return 0 if overall["right"] >= 90 and overall["wrong"] <= 2 else 1


if __name__ == "__main__":
    sys.exit(main())
