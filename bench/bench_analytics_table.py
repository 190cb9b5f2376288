"""Benchmarks of the analytic table: build time against embedding time, and query latency.

1. Build: ``AnalyticTable.build`` (columns, DuckDB load, column statistics) at 10,000 and
   100,000 records synthesised from the example orders (each a copy of one of the 240 orders with
   a new id, date, customer, quantities and total), best of ``--repeats``. Loading and profiling
   the records are not counted: the retrieval ingest needs them too.
2. Embedding: the same records' documents (``rag.documents.build_documents``) embedded with the
   bundled MiniLM model (``Embedder.encode``). By default 1,000 texts are embedded and the time is
   scaled to 10,000 (embedding time is linear in the number of texts of a similar length);
   ``--embed-all`` embeds all 10,000. Goal: build <= 10% of the embedding time at 10,000.
3. Queries: p50 / p95 of ``AnalyticTable.run`` (validation, SQL, every statement) for typical
   specs at 10,000 and 100,000 records. Goal: p95 <= 30 ms.

Run: ``python bench/bench_analytics_table.py [--quick] [--embed-all]``.
"""

from __future__ import annotations

import argparse
import copy
import os
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from rag.analytics.spec import Filter, GroupBy, QuerySpec  # noqa: E402
from rag.analytics.table import AnalyticTable  # noqa: E402
from rag.loader import load_dataset  # noqa: E402
from rag.profile import profile_dataset  # noqa: E402
from rag.records import Dataset  # noqa: E402

EXAMPLE = ROOT / "dashboard" / "example_data" / "orders.json"
BUILD_SHARE_GOAL = 0.10
P95_GOAL_MS = 30.0
CITIES = ("Lisbon", "Porto", "Vienna", "Graz", "Oslo", "Bergen", "Prague", "Brno", "Dublin", "Cork")

SPECS: dict[str, QuerySpec] = {
    "count with filter": QuerySpec("count", filters=(Filter("status", "=", "returned"),)),
    "mean by group": QuerySpec("mean", "total", group_by=GroupBy("customer.country")),
    "argmax": QuerySpec("argmax", "total"),
    "count by month": QuerySpec("count", group_by=GroupBy("order_date", "month")),
    "child sum by group": QuerySpec("sum", "items.quantity", group_by=GroupBy("items.category")),
    "two filters, median": QuerySpec(
        "median",
        "total",
        filters=(Filter("channel", "=", "web"), Filter("order_date", "between", ["2023-01", "2023-06"])),
    ),
}


def log(message: str) -> None:
    print(message, flush=True)


def synthetic_orders(count: int, seed: int = 11) -> Dataset:
    """``count`` orders, each a perturbed copy of one of the example orders."""
    rng = random.Random(seed)
    base = load_dataset(EXAMPLE).records
    start = date(2022, 1, 1)
    orders = []
    for i in range(count):
        order = copy.deepcopy(base[i % len(base)].data)
        order["order_id"] = f"ORD-{100000 + i}"
        day = start + timedelta(days=rng.randrange(1400))
        order["order_date"] = day.isoformat()
        if order.get("shipping", {}).get("delivered_date"):
            order["shipping"]["delivered_date"] = (day + timedelta(days=rng.randint(1, 9))).isoformat()
        order["customer"]["customer_id"] = f"C-{rng.randrange(5000):05d}"
        if rng.random() < 0.3:
            order["customer"]["city"] = rng.choice(CITIES)
        for item in order.get("items", []):
            item["quantity"] = rng.randint(1, 5)
        order["total"] = round(sum(item["quantity"] * item["unit_price"] for item in order.get("items", [])), 2)
        order["rating"] = rng.choice([None, None, 1, 2, 3, 4, 5])
        orders.append(order)
    return load_dataset(orders, name=f"orders-{count}.json")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def bench_build(dataset: Dataset, repeats: int) -> tuple[AnalyticTable, float]:
    profile = profile_dataset(dataset.records)
    best = float("inf")
    table = None
    for _ in range(repeats):
        if table is not None:
            table.close()
        started = time.perf_counter()
        table = AnalyticTable.build(dataset, profile)
        best = min(best, time.perf_counter() - started)
    assert table is not None
    return table, best


def bench_embedding(dataset: Dataset, texts_to_embed: int) -> tuple[float, int]:
    """Seconds to embed the documents of ``dataset`` (scaled from ``texts_to_embed`` of them) and the document count."""
    from rag.documents import build_documents
    from rag.embeddings import Embedder
    from rag.settings import RetrievalSettings

    settings = RetrievalSettings()
    documents = build_documents(dataset.records, settings.chunk_chars)
    texts = [document.text for document in documents]
    embedder = Embedder(batch_size=settings.batch_size)
    embedder.encode(texts[:64])  # load the model and warm up
    sample = texts[:texts_to_embed]
    started = time.perf_counter()
    embedder.encode(sample)
    seconds = time.perf_counter() - started
    return seconds * len(texts) / len(sample), len(texts)


def bench_queries(table: AnalyticTable, rounds: int) -> dict[str, tuple[float, float]]:
    figures = {}
    for name, spec in SPECS.items():
        table.run(spec)  # warm up
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            table.run(spec)
            times.append((time.perf_counter() - started) * 1000)
        figures[name] = (statistics.median(times), percentile(times, 0.95))
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, no 100,000 records")
    parser.add_argument("--embed-all", action="store_true", help="embed all 10,000 texts instead of 1,000")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rounds = 20 if args.quick else 100
    sizes = (10_000,) if args.quick else (10_000, 100_000)

    ok = True
    tables: dict[int, AnalyticTable] = {}
    builds: dict[int, float] = {}
    for size in sizes:
        started = time.perf_counter()
        dataset = synthetic_orders(size)
        log(f"synthesised and loaded {size:,} orders in {time.perf_counter() - started:.1f} s")
        tables[size], builds[size] = bench_build(dataset, args.repeats)
        schema = tables[size].schema
        children = ", ".join(f"{child.name} ({child.rows:,} rows)" for child in schema.children.values())
        log(
            f"build at {size:,}: {builds[size] * 1000:.0f} ms (best of {args.repeats}); "
            f"{len(schema.columns)} columns, child tables {children}"
        )
        if size == 10_000:
            sample = 10_000 if args.embed_all else 1_000
            embed_seconds, texts = bench_embedding(dataset, sample)
            how = "measured" if sample >= texts else f"measured on {sample:,} texts, scaled to {texts:,}"
            share = builds[size] / embed_seconds
            log(
                f"embedding at {size:,}: {embed_seconds:.1f} s ({how}); build / embedding = {share:.2%} "
                f"(goal <= {BUILD_SHARE_GOAL:.0%})"
            )
            ok &= share <= BUILD_SHARE_GOAL

    for size, table in tables.items():
        log(f"\nqueries at {size:,} records ({rounds} runs each): p50 / p95 ms")
        for name, (p50, p95) in bench_queries(table, rounds).items():
            log(f"  {name:22} {p50:6.2f} / {p95:6.2f}")
            ok &= p95 <= P95_GOAL_MS
        table.close()
    log("\nall goals met" if ok else "\nsome goals missed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
