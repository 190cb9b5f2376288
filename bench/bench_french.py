"""French questions end to end: the French set through the engine with the embedded model.

    .venv/bin/python bench/bench_french.py                 # the whole set (minutes)
    .venv/bin/python bench/bench_french.py --limit 3       # the first 3 questions per dataset
    .venv/bin/python bench/bench_french.py --verbose       # and each answer

The set and its truths live in ``tests/french_cases.py``. Every question is asked through ``RAGEngine.chat`` with
the embedded model (SmolLM2-135M-Instruct), the rules planner and the bundled embedding model, one engine per
file (``tests.final_answers.answer_cases``). Printed per answer kind and in all:
- right: the computed block holds the truth, or a question meant for retrieval / a refusal went there (graded as
  ``tests/test_french_planner.py`` grades the block);
- in French: the reply's language, read by the planner's language detection (``rag.analytics.lexicons``);
- marked: answers in which the grounding check marked a value the model stated.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.analytics.lexicons import detect_language  # noqa: E402
from rag.embeddings import Embedder  # noqa: E402
from rag.model_files import default_embedding_model_dir  # noqa: E402
from tests.final_answers import FinalAnswer, answer_cases, embedded_settings  # noqa: E402
from tests.french_cases import FRENCH_CASES  # noqa: E402
from tests.test_french_planner import grade_french  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="questions per dataset (0: all)")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    cases = list(FRENCH_CASES)
    if args.limit:
        seen: Counter[str] = Counter()
        kept = []
        for case in cases:
            seen[case.dataset] += 1
            if seen[case.dataset] <= args.limit:
                kept.append(case)
        cases = kept
    cases.sort(key=lambda case: case.dataset)
    rows: list[tuple[str, bool, bool, bool]] = []

    def show(result: FinalAnswer) -> None:
        answer = result.answer
        computed = answer.meta.get("computed")
        right = answer.status == "done" and grade_french(result.case, computed, None).ok
        french = detect_language(answer.text) == "fr"
        grounding = answer.meta.get("grounding") or {}
        marked = bool(grounding.get("marked")) if isinstance(grounding, dict) else False
        rows.append((result.case.qtype, right, french, marked))
        if args.verbose:
            flags = f"{'right' if right else 'MISS '} {'fr' if french else 'EN'}{' marked' if marked else ''}"
            print(f"[{flags}] {result.case.question}\n    -> {answer.text[:200]!r}", flush=True)

    started = time.perf_counter()
    answer_cases(cases, embedded_settings(), Embedder(default_embedding_model_dir()), show)
    seconds = time.perf_counter() - started
    print(f"\n{len(rows)} French questions in {seconds:.0f} s (embedded model, rules planner)")
    kinds = sorted({kind for kind, *_ in rows})
    print(f"{'kind':<14}{'n':>4}{'right':>8}{'in French':>11}{'marked':>8}")
    for kind in kinds + ["all"]:
        chosen = [row for row in rows if kind in ("all", row[0])]
        n = len(chosen)
        print(f"{kind:<14}{n:>4}{sum(r[1] for r in chosen) / n:>8.1%}{sum(r[2] for r in chosen) / n:>11.1%}"
              f"{sum(r[3] for r in chosen):>8}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
