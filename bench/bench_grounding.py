"""How long does the grounding check add to an answer, and how much of the corpus does it mark right?

The check runs in the answer's thread once the text has ended, so its whole cost counts: building the index of
what the model was given (``SourceIndex.build``) and checking the text. Three cases, each timed over
``--repeats`` runs (p50 / p95 / max, in milliseconds):

- ``lookup``: a retrieved-records answer about one order, 10 of the dashboard's example orders (23 to 34 flat
  fields each) given, the target read from the question; the text (about 2,300 characters, more than 512
  tokens of the embedded model's tokenizer) states about 120 values, some of them other orders' values, so
  that the field and record attributions run too;
- ``computed``: a lookup computed over all records (the 4 chevrolet impalas as sources) and an answer that
  restates the fact and adds values from the records;
- ``no target``: the same orders and text without a question naming one (every value looked up, no attribution).

Then the corpus of ``tests/test_grounding.py``: wrong values marked, right values marked, per set.

Run: ``python bench/bench_grounding.py [--repeats 300]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.grounding import SourceIndex, check_grounding  # noqa: E402
from rag.loader import load_dataset  # noqa: E402
from tests.datasets import example_orders_path  # noqa: E402

BUDGET_MS = 20.0


def order_sentence(i: int, flat: dict[str, Any]) -> str:
    return (
        f"Order {flat['order_id']} of {flat['customer.name']} ({flat['customer.customer_id']}, "
        f"{flat['customer.country']}) on {flat['order_date']} came to {flat['total']:,.2f} {flat['payment.currency']}: "
        f"{flat['items[0].quantity']} × {flat['items[0].unit_price']} for \"{flat['items[0].product']}\" "
        f"({flat['items[0].sku']}), shipped by {flat['shipping.carrier']} for {flat['shipping.cost']} [{i + 1}]."
    )


def lookup_case() -> tuple[str, dict[str, Any]]:
    records = load_dataset(example_orders_path()).records[10:20]
    target = records[5].flat
    text = (
        f"The total of order {target['order_id']} is {target['total']:,.2f} EUR, or 1.2k EUR rounded, "
        f"placed on February 6, 2024.\n\n"
        + "\n".join(f"{n}. " + order_sentence(i, r.flat) for n, (i, r) in enumerate(enumerate(records[3:8]), 1))
        + f"\n\nThe total of order {target['order_id']} is also written as {records[3].flat['total']} and 4,354.5."
    )
    return text, {"question": f"What is the total of order {target['order_id']}?", "records": records}


def computed_case() -> tuple[str, dict[str, Any]]:
    from tests.test_grounding import IMPALA_FACT, setups

    setup = setups()["impala_weight"]
    extra = " ".join(
        f"The chevrolet impala of {r.flat['Year'][:4]} weighs {r.flat['Weight_in_lbs']:,} lbs, has "
        f"{r.flat['Cylinders']} cylinders, {r.flat['Horsepower']} hp and a displacement of {r.flat['Displacement']}; "
        f"it does {r.flat['Miles_per_Gallon']} mpg and its acceleration is {r.flat['Acceleration']} [{i + 1}]."
        for i, r in enumerate(setup.records)
    )
    text = IMPALA_FACT + " " + (extra + " ") * 2 + "The first one weighs 454 lbs and the last 5,140 lbs."
    return text, {"question": setup.question, "computed": setup.computed, "records": setup.records}


def timed(check: Callable[[], Any], repeats: int) -> list[float]:
    check()  # warm the regular expressions and the caches
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        check()
        times.append((time.perf_counter() - started) * 1000)
    return times


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


_VOCAB: Any = None


def token_count(text: str) -> str:
    """Tokens of the embedded model's tokenizer (its GGUF read for the vocabulary only), else an estimate."""
    global _VOCAB
    try:
        if _VOCAB is None:
            from llama_cpp import Llama

            from rag.model_files import default_gguf_path

            _VOCAB = Llama(model_path=str(default_gguf_path()), vocab_only=True, verbose=False)
        return str(len(_VOCAB.tokenize(text.encode("utf-8"), add_bos=False)))
    except Exception:
        return f"~{len(text) // 4} (estimated)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=300)
    args = parser.parse_args()

    lookup_text, lookup_sources = lookup_case()
    computed_text, computed_sources = computed_case()
    cases = {
        "lookup": (lookup_text, lookup_sources),
        "computed": (computed_text, computed_sources),
        "no target": (lookup_text, {"question": "What did these orders cost?", "records": lookup_sources["records"]}),
    }
    print(f"{'case':<10} {'chars':>6} {'tokens':>16} {'values':>6} {'marked':>6} {'p50 ms':>7} {'p95 ms':>7} "
          f"{'max ms':>7} {'index ms':>8}")
    worst = 0.0
    for name, (text, sources) in cases.items():
        grounding = check_grounding(text, **sources)
        times = timed(lambda: check_grounding(text, **sources), args.repeats)
        builds = timed(lambda: SourceIndex.build(**sources), max(20, args.repeats // 5))
        p95 = percentile(times, 0.95)
        worst = max(worst, p95)
        counts = f"{len(text):>6} {token_count(text):>16} {len(grounding.values):>6} {len(grounding.marked):>6}"
        print(f"{name:<10} {counts} "
              f"{statistics.median(times):>7.2f} {p95:>7.2f} {max(times):>7.2f} {statistics.median(builds):>8.2f}")
        if name != "no target":
            print(f"           notice: {grounding.notice}")
    print(f"p95 {'within' if worst <= BUDGET_MS else 'OVER'} the {BUDGET_MS:.0f} ms budget")

    from tests.test_grounding import CASES, FRESH, HELD_OUT, score

    print("\ncorpus (tests/test_grounding.py)")
    sets = (("corpus", CASES), ("held-out", HELD_OUT), ("fresh", FRESH), ("all", CASES + HELD_OUT + FRESH))
    for name, corpus in sets:
        result = score(corpus)
        print(f"{name:<9} {len(corpus):>4} cases: wrong values marked {result.wrong_marked}/{result.wrong} "
              f"({100 * result.wrong_marked / result.wrong:.1f}%), right values marked "
              f"{result.right_marked}/{result.right} ({100 * result.right_marked / result.right:.1f}%), "
              f"other values marked {result.other_marked}")


if __name__ == "__main__":
    main()
