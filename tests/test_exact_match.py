"""Exact matches of codes, ids and names come first (``rag/exact_match.py``, ``rag/mentions.py``).

The fast tests read real records (countries, cars, orders) through the index alone, or through a
retriever whose embedder returns random vectors (the dense ranking knows nothing); the slow ones go
through the real hybrid retriever, where fusion used to lose such records.
"""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from rag.documents import build_documents
from rag.embeddings import EmbeddingCache
from rag.exact_match import MAX_RECORDS_PER_VALUE, ExactMatchIndex
from rag.loader import load_dataset
from rag.mentions import Question, normalise
from rag.records import Record
from rag.retriever import HybridRetriever
from rag.settings import RetrievalSettings
from tests.datasets import example_orders_path, pycountry_database_path, vega_cars_path
from tests.test_retrieval import cache_dir, embedder  # noqa: F401  (shared fixtures)


@pytest.fixture(scope="module")
def countries():
    return load_dataset(pycountry_database_path("iso3166-1.json"))


@pytest.fixture(scope="module")
def cars():
    return load_dataset(vega_cars_path())


@pytest.fixture(scope="module")
def orders():
    return load_dataset(example_orders_path())


def by_field(dataset, field: str, value: str) -> Record:
    return next(record for record in dataset.records if record.flat.get(field) == value)


class RandomEmbedder:
    """Random unit vectors: a dense ranking that knows nothing, so only the exact channel can put a record first."""

    model_id = "random"
    dimension = 16

    def encode(self, texts, progress=None):
        vectors = np.random.default_rng(len(texts)).normal(size=(len(texts), self.dimension)).astype(np.float32)
        if progress is not None:
            progress(len(texts), len(texts))
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def index_of(dataset) -> tuple[ExactMatchIndex, list, dict]:
    documents = build_documents(dataset.records, RetrievalSettings().chunk_chars)
    records = {record.id: record for record in dataset.records}
    return ExactMatchIndex.build(documents, records), documents, records


def matched_ids(dataset, question: str) -> list[str]:
    index, documents, records = index_of(dataset)
    return [documents[match.doc].record_id for match in index.lookup(question, documents, records)]


# --------------------------------------------------------------------------- reading a question


def test_values_are_compared_without_case_accents_or_punctuation():
    assert normalise("FR-75") == normalise("fr 75") == "fr 75"
    assert normalise("Côte d'Ivoire") == "cote d ivoire"
    assert normalise("ORD-10043") == "ord 10043"
    assert normalise(None) == normalise(True) == ""


def test_a_field_is_named_by_its_own_words_and_numbers():
    paths = ["alpha_2", "alpha_3", "name", "numeric", "official_name", "common_name"]
    assert Question("Which country has the alpha-3 code NOR?").named_fields(paths) == {"alpha_3"}
    assert Question("numeric code 578").named_fields(paths) == {"numeric"}
    assert Question("What is the official name of Norway?").named_fields(paths) == {"name", "official_name"}
    cars = ["Name", "Miles_per_Gallon", "Cylinders", "Horsepower", "Weight_in_lbs"]
    assert Question("what's the weight of the ford pinto").named_fields(cars) == {"Weight_in_lbs"}
    assert Question("How many cylinders does it have?").named_fields(cars) == {"Cylinders"}
    orders = ["order_id", "order_date", "status", "items[0].product", "items[1].product"]
    assert Question("What is the status of order ORD-10043?").named_fields(orders) == {"status"}
    assert Question("Which products did it contain?").named_fields(orders) == {"items[0].product", "items[1].product"}


def test_function_words_and_short_numbers_are_weak_codes_in_capitals_are_not():
    spans = {span.text: span.weak for span in Question("Is NO or no the code nor, 578 or 10043?").spans()}
    assert spans["no"] is True  # the lower-case one: a word, not Norway's code
    assert not spans["is no"] and spans["or no"]
    assert spans["nor"] and spans["578"] and not spans["10043"]
    assert {span.text: span.weak for span in Question("code NO").spans()}["no"] is False


# --------------------------------------------------------------------------- the index alone


@pytest.mark.parametrize(
    ("question", "alpha3"),
    [
        ("Which country has the alpha-3 code NOR?", "NOR"),
        ("Which country has the alpha-3 code nor?", "NOR"),
        ("Which country has numeric code 578?", "NOR"),
        ("numeric code 578", "NOR"),
        ("Which country has the alpha-2 code NO?", "NOR"),
        ("Which country is AFG?", "AFG"),
        ("What is the capital of Côte d’Ivoire", "CIV"),
    ],
)
def test_a_code_or_name_the_question_gives_finds_its_record(countries, question, alpha3):
    assert matched_ids(countries, question) == [by_field(countries, "alpha_3", alpha3).id]


@pytest.mark.parametrize(
    "question",
    [
        "Is there no country in the list?",
        "Which country is 578?",
        "Is it in the south?",
        "What are the 100 largest countries?",
    ],
)
def test_words_and_bare_numbers_are_not_codes(countries, question):
    assert matched_ids(countries, question) == []


def test_a_longer_name_wins_over_the_name_inside_it(countries):
    minor = by_field(countries, "name", "United States Minor Outlying Islands")
    assert matched_ids(countries, "Who owns the United States Minor Outlying Islands?") == [minor.id]


def test_only_identifier_and_name_fields_are_indexed_and_shared_values_win_nothing(cars, orders):
    index, _, _ = index_of(cars)
    assert set(index.fields) == {"Name"} and index.label_field == "Name"
    assert matched_ids(cars, "horsepower of the ford pinto") == []  # 6 cars share the name
    impalas = [r.id for r in cars.records if r.flat["Name"] == "chevrolet impala"]
    assert sorted(matched_ids(cars, "horsepower of the chevrolet impala")) == sorted(impalas)
    assert matched_ids(cars, "cars from USA with 8 cylinders") == []
    index, _, _ = index_of(orders)
    assert "order_id" in index.fields and "status" not in index.fields and index.label_field == "order_id"
    assert matched_ids(orders, "ORD-10043") == [by_field(orders, "order_id", "ORD-10043").id]
    assert matched_ids(orders, "what did order ord 10043 contain") == [by_field(orders, "order_id", "ORD-10043").id]


def test_a_value_shared_by_more_than_a_few_records_is_not_indexed():
    rows = [{"code": f"C-{i}", "name": "Common" if i < MAX_RECORDS_PER_VALUE + 1 else f"Rare {i}"} for i in range(40)]
    dataset = load_dataset(json.dumps(rows).encode())
    assert matched_ids(dataset, "Common") == []
    assert matched_ids(dataset, "Rare 17") == [dataset.records[17].id]


def test_the_index_holds_16_bytes_a_value_and_survives_save_and_load(countries, tmp_path):
    index, documents, records = index_of(countries)
    assert index.nbytes <= 16 * index.size and index.size >= 4 * len(countries.records)
    index.save(tmp_path)
    again = ExactMatchIndex.load(tmp_path, document_count=len(documents))
    assert again.fields == index.fields and again.label_field == index.label_field
    question = "Which country has the alpha-3 code nor?"
    assert again.lookup(question, documents, records) == index.lookup(question, documents, records)
    with pytest.raises(ValueError, match="documents"):
        ExactMatchIndex.load(tmp_path, document_count=10)
    np.savez(tmp_path / "exact.npz", keys=index.keys[::-1], docs=index.docs, field_ids=index.field_ids)
    with pytest.raises(ValueError, match="do not fit together"):  # unsorted: lookups would miss
        ExactMatchIndex.load(tmp_path)


# --------------------------------------------------------------------------- through the retriever


@pytest.fixture(scope="module")
def random_countries(tmp_path_factory, countries) -> HybridRetriever:
    cache = EmbeddingCache(tmp_path_factory.mktemp("random"))
    retriever = HybridRetriever(RetrievalSettings(), embedder=RandomEmbedder(), cache=cache)
    retriever.build(countries)
    return retriever


def test_the_exact_record_comes_first_in_every_mode_and_the_ranking_fills_the_rest(random_countries, countries):
    from dataclasses import replace

    norway = by_field(countries, "alpha_3", "NOR").id
    dense_only = HybridRetriever(RetrievalSettings(hybrid=False), embedder=RandomEmbedder())
    dense_only.use_indexes(random_countries.built_indexes)
    keywords_only = HybridRetriever(RetrievalSettings(), embedder=RandomEmbedder())
    keywords_only.use_indexes(replace(random_countries.built_indexes, vectors=None))  # while embedding
    for retriever in (random_countries, dense_only, keywords_only):
        hits = retriever.search("Which country has numeric code 578?", k=5)
        assert hits[0].record_id == norway and "numeric: 578" in hits[0].text
        ids = [hit.record_id for hit in hits]
        assert len(set(ids)) == len(ids)
        if retriever is not keywords_only:  # keyword search leaves out the records holding no word of the question
            assert len(ids) == 5
        assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)
    assert random_countries.label_field == "name"


def test_every_country_is_found_first_by_its_codes_with_random_vectors(random_countries, countries):
    for record in countries.records:
        for question in (
            f"Which country has the alpha-3 code {record.data['alpha_3']}?",
            f"Which country has the alpha-3 code {record.data['alpha_3'].lower()}?",
            f"Which country has numeric code {record.data['numeric']}?",
        ):
            assert random_countries.search(question, k=5)[0].record_id == record.id, question


def test_indexes_saved_without_the_exact_index_get_it_back(random_countries, countries):
    from dataclasses import replace

    reopened = HybridRetriever(RetrievalSettings(), embedder=RandomEmbedder())
    reopened.use_indexes(replace(random_countries.built_indexes, exact=None))
    assert reopened.search("alpha-3 code nor", k=3)[0].record_id == by_field(countries, "alpha_3", "NOR").id


# --------------------------------------------------------------------------- the real hybrid retriever (slow)


@pytest.fixture(scope="module")
def hybrid(embedder, cache_dir):  # noqa: F811
    def build(dataset, exact_match: bool = True) -> HybridRetriever:
        retriever = HybridRetriever(
            RetrievalSettings(), embedder=embedder, cache=EmbeddingCache(cache_dir), exact_match=exact_match
        )
        retriever.build(dataset)
        return retriever

    return build


def top_ids(retriever: HybridRetriever, question: str, k: int = 5) -> list[str]:
    return [hit.record_id for hit in retriever.search(question, k)]


def test_countries_by_code_in_any_case_come_first(hybrid, countries):
    retriever = hybrid(countries)
    norway = by_field(countries, "alpha_3", "NOR").id
    for question in ("Which country has the alpha-3 code NOR?", "Which country has the alpha-3 code nor?",
                     "Which country has numeric code 578?", "numeric code 578"):
        assert top_ids(retriever, question)[0] == norway, question
    sample = countries.records[::4]
    for record in sample:
        code = record.data["alpha_3"].lower()
        assert top_ids(retriever, f"Which country has the alpha-3 code {code}?")[0] == record.id
        assert top_ids(retriever, f"Which country has numeric code {record.data['numeric']}?")[0] == record.id


def test_a_car_named_in_full_comes_before_its_near_namesakes(hybrid, cars):
    retriever = hybrid(cars)
    impalas = {r.id for r in cars.records if r.flat["Name"] == "chevrolet impala"}
    assert set(top_ids(retriever, "horsepower of the chevrolet impala")[: len(impalas)]) == impalas
    counts = Counter(r.flat["Name"] for r in cars.records)
    missed = []
    for name, count in counts.items():
        if count > MAX_RECORDS_PER_VALUE:
            continue
        wanted = {r.id for r in cars.records if r.flat["Name"] == name}
        if set(top_ids(retriever, f"What is the horsepower of the {name}?")[:count]) != wanted:
            missed.append(name)
    assert missed == []  # before the exact channel: 42 of the 310 names


def test_a_name_shared_by_many_records_does_not_reorder(hybrid, cars):
    with_channel, without = hybrid(cars), hybrid(cars, exact_match=False)
    for question in ("What is the horsepower of the ford pinto?", "cars from USA", "cars with 8 cylinders"):
        assert top_ids(with_channel, question, 8) == top_ids(without, question, 8), question


def test_an_order_number_finds_its_order_first(hybrid, orders):
    retriever = hybrid(orders)
    wanted = by_field(orders, "order_id", "ORD-10043").id
    assert top_ids(retriever, "ORD-10043")[0] == wanted
    assert top_ids(retriever, "What is the status of order ORD-10043?")[0] == wanted


@pytest.mark.parametrize("question, alpha3", [
    ("Quel est le code alpha-3 du Botswana ?", "BWA"),  # "est" is Estonia's code, written as a word
    ("Quel est le code alpha-2 de Israël ?", "ISR"),
    ("What is the alpha-2 code of Germany? Is it DE?", "DEU"),
])
def test_a_name_the_question_gives_comes_before_a_word_that_is_also_a_code(countries, question, alpha3):
    assert matched_ids(countries, question)[0] == by_field(countries, "alpha_3", alpha3).id
