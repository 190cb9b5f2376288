"""Retrieval on real data (ISO 3166 countries from pycountry, cars from vega_datasets) with the real MiniLM model."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from rag.embeddings import Embedder, EmbeddingCache
from rag.errors import ConfigError, RAGError
from rag.lexical import LexicalIndex, tokenize, tokenize_query
from rag.loader import load_dataset
from rag.records import Record
from rag.settings import RetrievalSettings
from rag.retriever import HybridRetriever
from rag.vector_index import VectorIndex, recall_at_k
from tests.datasets import pycountry_database_path, vega_cars_path


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    model = Embedder(batch_size=64)
    model.load()
    return model


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("embedding-cache")


@pytest.fixture(scope="module")
def countries():
    return load_dataset(pycountry_database_path("iso3166-1.json"))


@pytest.fixture(scope="module")
def cars():
    return load_dataset(vega_cars_path())


@pytest.fixture(scope="module")
def country_by_alpha3(countries) -> dict[str, Record]:
    return {record.data["alpha_3"]: record for record in countries.records}


@pytest.fixture(scope="module")
def hybrid_countries(embedder, cache_dir, countries) -> HybridRetriever:
    retriever = HybridRetriever(RetrievalSettings(), embedder=embedder, cache=EmbeddingCache(cache_dir))
    retriever.build(countries)
    return retriever


@pytest.fixture(scope="module")
def dense_countries(embedder, cache_dir, countries) -> HybridRetriever:
    """The dense ranking alone: without the exact-match channel, which finds codes in every mode."""
    retriever = HybridRetriever(
        RetrievalSettings(hybrid=False), embedder=embedder, cache=EmbeddingCache(cache_dir), exact_match=False
    )
    retriever.build(countries)
    return retriever


@pytest.fixture(scope="module")
def hybrid_cars(embedder, cache_dir, cars) -> HybridRetriever:
    retriever = HybridRetriever(RetrievalSettings(), embedder=embedder, cache=EmbeddingCache(cache_dir))
    retriever.build(cars)
    return retriever


class EncodeSpy:
    """Counts the texts the embedder is asked to embed, and still embeds them."""

    def __init__(self, embedder: Embedder, monkeypatch) -> None:
        self.calls: list[int] = []
        original = embedder.encode

        def encode(texts, progress=None):
            self.calls.append(len(texts))
            return original(texts, progress=progress)

        monkeypatch.setattr(embedder, "encode", encode)


def top_ids(retriever: HybridRetriever, question: str, k: int = 5) -> list[str]:
    return [hit.record_id for hit in retriever.search(question, k)]


# --------------------------------------------------------------------------- finding records


def test_country_found_by_name(hybrid_countries, country_by_alpha3):
    hits = hybrid_countries.search("What is the alpha-3 code of Norway?", k=5)
    assert country_by_alpha3["NOR"].id in [hit.record_id for hit in hits]
    norway = next(hit for hit in hits if hit.record_id == country_by_alpha3["NOR"].id)
    assert "name: Norway" in norway.text
    assert norway.record is country_by_alpha3["NOR"]


@pytest.mark.parametrize(
    ("question", "alpha3"),
    [
        ("Which country has numeric code 840?", "USA"),
        ("Which country has the alpha-2 code NO?", "NOR"),
        ("Which country has the alpha-2 code IT?", "ITA"),
        ("Which country has the alpha-2 code US?", "USA"),
        ("Which country is AFG?", "AFG"),
        ("alpha_3 DEU", "DEU"),
    ],
)
def test_country_found_by_code(hybrid_countries, country_by_alpha3, question, alpha3):
    assert top_ids(hybrid_countries, question)[0] == country_by_alpha3[alpha3].id


def test_car_found_by_name(hybrid_cars, cars):
    wanted = {r.id for r in cars.records if r.data["Name"] == "chevrolet chevelle malibu"}
    assert len(wanted) == 2  # the dataset holds two of them (1970 and 1971)
    assert wanted <= set(top_ids(hybrid_cars, "chevrolet chevelle malibu"))


def test_hybrid_finds_codes_that_dense_alone_misses(hybrid_countries, dense_countries, countries):
    """On samples of alpha-3 and numeric codes, hybrid recall@5 >= dense recall@5, and it is high."""
    questions = [(r.id, f"Which country has the alpha-3 code {r.data['alpha_3']}?") for r in countries.records[::3]]
    questions += [(r.id, f"Which country has numeric code {r.data['numeric']}?") for r in countries.records[1::6]]
    hybrid_found = {q for rid, q in questions if rid in top_ids(hybrid_countries, q)}
    dense_found = {q for rid, q in questions if rid in top_ids(dense_countries, q)}
    assert len(hybrid_found) >= len(dense_found)
    assert len(hybrid_found) >= 0.95 * len(questions)
    assert len(hybrid_found - dense_found) >= 0.2 * len(questions)  # measured: dense finds ~55% of them
    assert len(dense_found - hybrid_found) <= 0.01 * len(questions)


def test_cars_found_by_unique_name_in_both_modes(hybrid_cars, embedder, cache_dir, cars):
    dense = HybridRetriever(RetrievalSettings(hybrid=False), embedder=embedder, cache=EmbeddingCache(cache_dir))
    assert dense.build(cars).from_cache
    counts = Counter(r.data["Name"] for r in cars.records)
    unique = [r for r in cars.records if counts[r.data["Name"]] == 1][::6]
    hybrid_recall = sum(r.id in top_ids(hybrid_cars, r.data["Name"]) for r in unique) / len(unique)
    dense_recall = sum(r.id in top_ids(dense, r.data["Name"]) for r in unique) / len(unique)
    assert hybrid_recall >= dense_recall
    assert hybrid_recall >= 0.95


def test_dense_only_scores_are_cosine_similarities(dense_countries, country_by_alpha3):
    hits = dense_countries.search("Norway", k=3)
    assert hits[0].record_id == country_by_alpha3["NOR"].id
    assert all(-1.0 <= hit.score <= 1.0 + 1e-5 for hit in hits)
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)


def test_hits_are_distinct_records_and_json_ready(hybrid_countries):
    hits = hybrid_countries.search("islands in the Pacific", k=8)
    assert len(hits) == 8
    assert len({hit.record_id for hit in hits}) == 8
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)
    payload = json.loads(json.dumps([hit.to_dict() for hit in hits]))
    assert payload[0]["record_id"] == hits[0].record_id
    assert payload[0]["record"] == hits[0].record.data


def test_blank_query_finds_nothing(hybrid_countries):
    assert hybrid_countries.search("", k=5) == []
    assert hybrid_countries.search("   \n", k=5) == []


def test_search_before_build_is_a_clear_error(embedder):
    retriever = HybridRetriever(RetrievalSettings(), embedder=embedder)
    with pytest.raises(RAGError, match="load a dataset"):
        retriever.search("Norway")


# --------------------------------------------------------------------------- chunks fold into records


def test_chunks_fold_into_one_hit_per_record(embedder, cars):
    retriever = HybridRetriever(RetrievalSettings(chunk_chars=60), embedder=embedder)
    records = cars.records[:60]
    report = retriever.build(records)
    assert report.records == 60 and report.documents > 2 * report.records
    name = records[7].data["Name"]
    hits = retriever.search(f"{name} horsepower acceleration weight", k=10)
    ids = [hit.record_id for hit in hits]
    assert len(ids) == len(set(ids)) == 10
    assert records[7].id in ids
    for hit in hits:
        assert hit.text in [d for d in _chunks_of(hit.record, 60)]


def _chunks_of(record: Record, chunk_chars: int) -> list[str]:
    from rag.documents import build_documents

    return [d.text for d in build_documents([record], chunk_chars)]


# --------------------------------------------------------------------------- embedding cache


def test_second_build_loads_embeddings_from_cache(embedder, tmp_path, cars, monkeypatch):
    spy = EncodeSpy(embedder, monkeypatch)
    cache = EmbeddingCache(tmp_path)
    first = HybridRetriever(RetrievalSettings(), embedder=embedder, cache=cache)
    report = first.build(cars)
    assert not report.from_cache and spy.calls == [len(cars.records)]
    assert (tmp_path / f"{report.cache_key}.npy").is_file()

    second = HybridRetriever(RetrievalSettings(), embedder=embedder, cache=cache)
    again = second.build(cars)
    assert again.from_cache and again.cache_key == report.cache_key
    assert spy.calls == [len(cars.records)]  # nothing embedded the second time
    query = "toyota corolla"
    assert [h.record_id for h in first.search(query)] == [h.record_id for h in second.search(query)]


def test_other_data_model_or_chunking_misses_the_cache(embedder, tmp_path, cars, monkeypatch):
    cache = EmbeddingCache(tmp_path)
    subset = cars.records[:40]
    base = HybridRetriever(RetrievalSettings(), embedder=embedder, cache=cache).build(subset)
    spy = EncodeSpy(embedder, monkeypatch)

    other_data = HybridRetriever(RetrievalSettings(), embedder=embedder, cache=cache).build(cars.records[:41])
    assert not other_data.from_cache and other_data.cache_key != base.cache_key

    other_chunks = HybridRetriever(RetrievalSettings(chunk_chars=50), embedder=embedder, cache=cache).build(subset)
    assert not other_chunks.from_cache

    monkeypatch.setattr(embedder, "model_id", embedder.model_id + "-retrained")
    other_model = HybridRetriever(RetrievalSettings(), embedder=embedder, cache=cache).build(subset)
    assert not other_model.from_cache and other_model.cache_key != base.cache_key
    assert len(spy.calls) == 3


def test_corrupt_cache_file_is_rebuilt(embedder, tmp_path, cars, monkeypatch):
    cache = EmbeddingCache(tmp_path)
    subset = cars.records[:30]
    report = HybridRetriever(RetrievalSettings(), embedder=embedder, cache=cache).build(subset)
    path = tmp_path / f"{report.cache_key}.npy"
    path.write_bytes(path.read_bytes()[:100])  # truncated, as after a crash mid-write without rename

    spy = EncodeSpy(embedder, monkeypatch)
    retriever = HybridRetriever(RetrievalSettings(), embedder=embedder, cache=cache)
    rebuilt = retriever.build(subset)
    assert not rebuilt.from_cache and spy.calls == [30]
    assert cache.load(report.cache_key).shape == (30, rebuilt.dimension)
    assert subset[3].id in top_ids(retriever, subset[3].data["Name"])


def test_cache_of_wrong_shape_is_a_miss(embedder, tmp_path, cars, monkeypatch):
    cache = EmbeddingCache(tmp_path)
    subset = cars.records[:20]
    report = HybridRetriever(RetrievalSettings(), embedder=embedder, cache=cache).build(subset)
    cache.save(report.cache_key, np.ones((19, report.dimension), dtype=np.float32))
    spy = EncodeSpy(embedder, monkeypatch)
    assert not HybridRetriever(RetrievalSettings(), embedder=embedder, cache=cache).build(subset).from_cache
    assert spy.calls == [20]


def test_unwritable_cache_does_not_stop_the_build(embedder, tmp_path, cars, caplog):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    retriever = HybridRetriever(RetrievalSettings(), embedder=embedder, cache=EmbeddingCache(blocker))
    report = retriever.build(cars.records[:10])
    assert not report.from_cache and report.documents == 10
    assert "cannot write the embedding cache" in caplog.text
    assert cars.records[4].id in top_ids(retriever, cars.records[4].data["Name"])


def test_cache_file_handling(tmp_path):
    cache = EmbeddingCache(tmp_path / "nested")
    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    cache.save("abc", array)
    assert np.array_equal(cache.load("abc"), array)
    assert [p.name for p in (tmp_path / "nested").iterdir()] == ["abc.npy"]  # no temporary file left
    assert cache.load("missing") is None
    (tmp_path / "nested" / "abc.npy").write_bytes(b"not an npy file")
    assert cache.load("abc") is None
    assert not (tmp_path / "nested" / "abc.npy").exists()  # a damaged file is removed
    np.save(tmp_path / "nested" / "ints.npy", np.arange(4))
    assert cache.load("ints") is None
    with pytest.raises(ValueError):
        cache.load("../escape")


# --------------------------------------------------------------------------- approximate index, progress


def test_hnsw_index_above_threshold_keeps_high_recall(embedder, cache_dir, countries, cars):
    cache = EmbeddingCache(cache_dir)
    retriever = HybridRetriever(RetrievalSettings(exact_index_max=100), embedder=embedder, cache=cache)
    report = retriever.build(list(countries.records) + list(cars.records))
    assert report.index_kind == "hnsw"
    vectors = cache.load(report.cache_key)
    questions = [f"Tell me about {r.data['name']}" for r in countries.records[::3]]
    questions += [f"{r.data['Name']} from {r.data['Origin']}" for r in cars.records[::5]]
    queries = embedder.encode(questions)
    approximate = VectorIndex.build(vectors, exact_max=100)
    assert approximate.kind == "hnsw"
    assert recall_at_k(approximate, vectors, queries, 5) >= 0.9
    assert top_ids(retriever, "What is the alpha-3 code of Norway?")[0] == countries.records[
        [r.data["alpha_3"] for r in countries.records].index("NOR")
    ].id


def test_exact_index_search_and_recall_of_itself():
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(500, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    exact = VectorIndex.build(vectors, exact_max=500)
    scores, ids = exact.search(vectors[:10], 3)
    assert exact.kind == "exact" and ids[:, 0].tolist() == list(range(10))
    assert np.allclose(scores[:, 0], 1.0, atol=1e-5)
    assert recall_at_k(exact, vectors, vectors[:50], 5) == 1.0
    approximate = VectorIndex.build(vectors, exact_max=499)
    assert approximate.kind == "hnsw" and approximate.size == 500
    assert recall_at_k(approximate, vectors, vectors[:100], 5) >= 0.9
    _, too_many = exact.search(vectors[:1], 600)
    assert (too_many[0, 500:] == -1).all()


def test_progress_reports_every_stage_up_to_its_total(embedder, cars):
    events: list[tuple[str, int, int]] = []
    report = HybridRetriever(RetrievalSettings(), embedder=embedder).build(
        cars, progress=lambda stage, done, total: events.append((stage, done, total))
    )
    stages = [stage for stage, _, _ in events]
    assert list(dict.fromkeys(stages)) == ["lexical", "embedding", "indexing"]  # keyword search first
    embedding = [(done, total) for stage, done, total in events if stage == "embedding"]
    distinct = embedding[-1][1]  # each distinct text is embedded once
    assert len(embedding) == -(-distinct // embedder.batch_size)  # once per batch
    assert [done for done, _ in embedding][-1] == distinct <= report.documents
    for stage in ("indexing", "lexical"):
        counts = [done for s, done, _ in events if s == stage]
        totals = {total for s, _, total in events if s == stage}
        assert counts == sorted(counts) and counts[-1] == report.documents
        assert totals == {report.documents}


# --------------------------------------------------------------------------- threads


def test_searches_during_a_rebuild_see_one_dataset_whole(embedder, countries, cars):
    """Searches running while other data is embedded use the old indexes whole, then the new ones."""
    retriever = HybridRetriever(RetrievalSettings(), embedder=embedder)  # no cache: every build embeds
    car_records = cars.records[:200]
    retriever.build(countries)
    country_ids = {r.id for r in countries.records}
    car_ids = {r.id for r in car_records}
    results: list[list[str]] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def search_loop() -> None:
        try:
            while not stop.is_set():
                results.append([hit.record_id for hit in retriever.search("ford torino USA Norway", k=5)])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=search_loop) for _ in range(3)]
    for thread in threads:
        thread.start()
    done_at_batch: list[int] = []  # searches finished when each embedding batch of the rebuild ended
    retriever.build(
        car_records,
        progress=lambda stage, done, total: done_at_batch.append(len(results)) if stage == "embedding" else None,
    )
    retriever.build(countries)
    retriever.build(car_records)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert len(done_at_batch) >= 3
    assert done_at_batch[-1] > done_at_batch[0]  # searches ran between the batches, not after the whole rebuild
    for ids in results:
        assert 0 < len(ids) <= 5  # while a rebuild embeds, keyword search alone may find fewer than 5
        assert set(ids) <= country_ids or set(ids) <= car_ids
    assert any(set(ids) <= car_ids for ids in results) and any(set(ids) <= country_ids for ids in results)
    assert set(top_ids(retriever, "ford torino USA Norway")) <= car_ids


# --------------------------------------------------------------------------- lexical side


def test_tokenizer_keeps_codes_numbers_and_dates():
    assert tokenize("alpha_2: US\nnumeric: 840\nalpha_3: AFG") == ["alpha", "2", "us", "numeric", "840", "alpha", "3", "afg"]
    assert tokenize("Year: 1970-01-01") == ["year", "1970", "01", "01"]
    assert tokenize("chevrolet chevelle malibu") == ["chevrolet", "chevelle", "malibu"]
    assert tokenize("Côte d'Ivoire, ÅLAND") == ["cote", "d", "ivoire", "aland"]


def test_query_tokenizer_drops_lowercase_stopwords_but_keeps_codes_in_capitals():
    assert tokenize_query("Which country has the code IT?") == ["country", "code", "it"]
    assert tokenize_query("What is NO, and what is US?") == ["no", "us"]
    assert tokenize_query("is it the") == ["is", "it", "the"]  # nothing but stopwords: keep them


def test_bm25_ranks_the_record_holding_a_rare_code_first(countries):
    texts = [
        "\n".join(f"{key}: {value}" for key, value in record.flat.items()) for record in countries.records
    ]
    index = LexicalIndex(texts)
    usa = [r.data["alpha_3"] for r in countries.records].index("USA")
    scores, ids = index.search("Which country has the code US?", 5)
    assert ids[0] == usa and scores[0] > 0
    _, ids = index.search("United States", 5)
    assert usa in ids.tolist()
    _, ids = index.search("alpha 3 numeric", 5)  # words of every record select nothing
    assert len(ids) == 0
    _, ids = index.search("zzzz-unknown", 5)
    assert len(ids) == 0


def test_embedder_rejects_a_folder_that_is_no_model(tmp_path):
    with pytest.raises(ConfigError, match="not a sentence-transformers model folder"):
        Embedder(tmp_path, batch_size=8)


def test_embeddings_are_normalised_and_in_input_order(embedder):
    import torch

    threads = torch.get_num_threads()
    texts = ["a much longer sentence about cars and countries and codes", "Norway", "Norway"]
    vectors = embedder.encode(texts)
    assert vectors.dtype == np.float32 and vectors.shape == (3, embedder.dimension)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.allclose(vectors[1], vectors[2], atol=1e-6)
    assert float(vectors[0] @ vectors[1]) < 0.99
    assert torch.get_num_threads() == threads  # a query runs on one thread, then the setting comes back
    assert np.allclose(embedder.encode(["Norway"])[0], vectors[1], atol=1e-5)  # same vector alone or in a batch


def test_queries_asked_at_once_are_embedded_together_each_getting_its_own_vector(embedder, monkeypatch):
    questions = [f"Which car has {n} cylinders and comes from Japan?" for n in range(24)]
    alone = {question: embedder.encode([question])[0] for question in questions[:3]}
    model = embedder._loaded_model()
    passes: list[int] = []
    real_encode = model.encode

    def counted(texts, **options):
        passes.append(len(texts))
        time.sleep(0.05)  # a forward pass takes a while: the other questions arrive meanwhile
        return real_encode(texts, **options)

    monkeypatch.setattr(model, "encode", counted)
    results: dict[str, np.ndarray] = {}
    start = threading.Barrier(len(questions))

    def ask(question: str) -> None:
        start.wait()
        results[question] = embedder.encode([question])[0]

    threads = [threading.Thread(target=ask, args=(question,)) for question in questions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results) == sorted(questions)
    assert sum(passes) == len(questions) and len(passes) <= 4, f"forward passes for 24 questions: {passes}"
    for question, vector in alone.items():
        assert np.allclose(results[question], vector, atol=1e-5), "a question's vector is its own"


def test_a_failing_pass_fails_every_query_in_it_and_the_next_one_works(embedder, monkeypatch):
    model = embedder._loaded_model()
    real_encode = model.encode
    calls = []

    def broken(texts, **options):
        calls.append(len(texts))
        if len(calls) == 1:
            raise RuntimeError("out of memory")
        return real_encode(texts, **options)

    monkeypatch.setattr(model, "encode", broken)
    with pytest.raises(RuntimeError, match="out of memory"):
        embedder.encode(["first"])
    assert embedder.encode(["second"]).shape == (1, embedder.dimension)


class CountingEmbedder:
    """The real embedder, counting the texts it is asked to embed and holding each batch until released."""

    def __init__(self, embedder) -> None:
        self.embedder = embedder
        self.texts = 0
        self.model_id = embedder.model_id
        self.dimension = embedder.dimension
        self.release = threading.Event()

    def encode(self, texts, progress=None):
        self.texts += len(texts)
        if len(texts) > 1:
            assert self.release.wait(30), "the test never released the embedding"
        return self.embedder.encode(texts, progress=progress)


def test_keyword_search_works_while_the_records_are_embedded_and_each_text_is_embedded_once(embedder):
    records = load_dataset([{"name": f"sprocket{i % 40}", "kind": "widget" if i % 2 else "gadget"} for i in range(200)])
    counting = CountingEmbedder(embedder)
    retriever = HybridRetriever(RetrievalSettings(), embedder=counting)
    during: dict[str, object] = {}

    def searchable() -> None:
        during["progress"] = retriever.semantic_progress
        during["hits"] = retriever.search("sprocket7 widget", k=3)
        counting.release.set()

    report = retriever.build(records, on_searchable=searchable)
    assert during["progress"] == (0, 200)
    hits = during["hits"]
    assert hits and all(hit.record.data["name"] == "sprocket7" for hit in hits)  # found by keywords alone
    assert counting.texts == 40 * 2 // 2 and report.documents == 200  # 40 distinct texts for 200 records
    assert retriever.semantic_progress is None
    assert retriever.search("sprocket7 widget", k=1)[0].record.data["name"] == "sprocket7"  # hybrid now
