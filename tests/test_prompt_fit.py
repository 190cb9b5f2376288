"""The embedded model's short prompt: each record shows the fields the question names and its label field,
so that 5 records fit its records budget, the record matching exactly first (``rag/prompt.py``)."""

from __future__ import annotations

from dataclasses import dataclass
import pytest

from rag.embeddings import EmbeddingCache
from rag.llm.embedded import RECORD_TOKENS
from rag.loader import load_dataset
from rag.prompt import build_prompt, estimate_tokens, label_field, question_record
from rag.records import Record
from rag.retriever import HybridRetriever
from rag.settings import LLMSettings, RetrievalSettings
from tests.datasets import example_orders_path, pycountry_database_path, vega_cars_path
from tests.test_retrieval import cache_dir, embedder  # noqa: F401  (shared fixtures)


@dataclass
class TextHit:
    """A hit as the prompt saw them before: the record's text only."""

    record_id: str
    text: str


@dataclass
class RecordHit(TextHit):
    record: Record


@pytest.fixture(scope="module")
def countries():
    return load_dataset(pycountry_database_path("iso3166-1.json"))


@pytest.fixture(scope="module")
def cars():
    return load_dataset(vega_cars_path())


def record_hits(records: list[Record]) -> list[RecordHit]:
    from rag.documents import record_text

    return [RecordHit(record.id, record_text(record), record) for record in records]


def labelled(plan) -> list[str]:
    """The record blocks of the prompt's last message, in order."""
    content = plan.messages[-1]["content"].split("\n\nQuestion:")[0]
    return [block for block in content.split("\n\n") if block.startswith("[")]


# --------------------------------------------------------------------------- the parts


def test_the_label_field_is_a_name_like_field_else_the_first_distinct_text_field(countries, cars):
    assert label_field(countries.records[:5]) == "name"
    assert label_field(cars.records[:5]) == "Name"
    orders = load_dataset(example_orders_path()).records[:5]
    assert label_field(orders) == "order_id"  # not customer.name: a nested field names the customer, not the order
    assert label_field([]) == "" and label_field([Record("$[0]", 3, {})]) == ""


def test_a_record_for_the_question_keeps_its_label_the_fields_named_and_the_values_given(cars, countries):
    impala = next(r for r in cars.records if r.flat["Name"] == "chevrolet impala")
    assert question_record("What is the horsepower of the chevrolet impala?", impala, "Name") == (
        f"Name: chevrolet impala\nHorsepower: {impala.flat['Horsepower']}"
    )
    assert question_record("weight and mpg of the impala", impala, "Name") == (
        f"Name: chevrolet impala\nWeight_in_lbs: {impala.flat['Weight_in_lbs']}"  # "mpg" names no field
    )
    norway = next(r for r in countries.records if r.flat["alpha_3"] == "NOR")
    assert question_record("Which country has the alpha-3 code nor?", norway, "name") == "alpha_3: NOR\nname: Norway"
    assert question_record("numeric code 578", norway, "name") == "name: Norway\nnumeric: 578"
    assert question_record("Tell me about Norway", norway, "name") is None  # no field named: the whole record


def test_nested_fields_named_by_the_question_stay_grouped():
    order = load_dataset(example_orders_path()).records[42]
    text = question_record("Which products did order ORD-10043 contain?", order, "order_id")
    assert text.splitlines()[0] == "order_id: ORD-10043"
    assert all(line.startswith("items[") and "product=" in line for line in text.splitlines()[1:])


def test_five_records_fit_the_budget_each_narrowed_and_in_the_order_given(countries):
    by_code = {r.flat["alpha_3"]: r for r in countries.records}
    records = [by_code[code] for code in ("NOR", "USA", "BLR", "IND", "ITA")]
    question = "Which country has the alpha-3 code NOR?"
    before = build_prompt(question, [TextHit(h.record_id, h.text) for h in record_hits(records)],
                          context_window=4096, records_budget=RECORD_TOKENS)
    after = build_prompt(question, record_hits(records), context_window=4096, records_budget=RECORD_TOKENS)
    assert len(before.source_labels) < 5
    assert after.source_labels == {i + 1: record.id for i, record in enumerate(records)}
    blocks = labelled(after)
    assert blocks[0] == f"[1] record {by_code['NOR'].id}\nalpha_3: NOR\nname: Norway"
    assert all("\nalpha_3: " in block and "\nname: " in block and "official_name" not in block for block in blocks)
    assert "the records show only the fields the question names, to fit the model's short prompt" in after.notes
    assert estimate_tokens("\n\n".join(blocks)) <= RECORD_TOKENS


def test_without_a_budget_or_a_named_field_records_stay_whole(countries):
    records = countries.records[:3]
    wide = build_prompt("Which country has the alpha-3 code ABW?", record_hits(records), context_window=8192)
    assert "official_name" in wide.messages[-1]["content"] and wide.notes == []
    unnamed = build_prompt(
        "Tell me about Aruba", record_hits(records), context_window=8192, records_budget=RECORD_TOKENS
    )
    assert "flag: " in labelled(unnamed)[0]
    assert not any("fields the question names" in note for note in unnamed.notes)


# --------------------------------------------------------------------------- measured with the model's tokenizer (slow)


@pytest.fixture(scope="module")
def count_tokens(gguf_path):
    from rag.llm.embedded import EmbeddedClient

    client = EmbeddedClient(LLMSettings(model_path=str(gguf_path)))
    return lambda text: client.count_tokens(text) + 1  # as the engine counts (rag.answer_pipeline.token_counter)


@pytest.mark.parametrize(
    ("dataset", "question", "field", "label", "wanted"),
    [
        ("countries", "Which country has the alpha-3 code nor?", "alpha_3", "name", ("alpha_3", "NOR")),
        ("countries", "Which country has numeric code 578?", "numeric", "name", ("alpha_3", "NOR")),
        ("cars", "What is the horsepower of the chevrolet impala?", "Horsepower", "Name", ("Name", "chevrolet impala")),
        ("cars", "What is the weight of the amc hornet?", "Weight_in_lbs", "Name", ("Name", "amc hornet")),
    ],
)
def test_five_retrieved_records_fit_the_embedded_models_prompt_the_exact_match_first(
    request, embedder, cache_dir, count_tokens, dataset, question, field, label, wanted  # noqa: F811
):
    data = request.getfixturevalue(dataset)
    retriever = HybridRetriever(RetrievalSettings(), embedder=embedder, cache=EmbeddingCache(cache_dir))
    retriever.build(data)
    hits = retriever.search(question, k=5)
    assert hits[0].record.flat[wanted[0]] == wanted[1]

    before = build_prompt(question, [TextHit(h.record_id, h.text) for h in hits], context_window=4096,
                          count_tokens=count_tokens, records_budget=RECORD_TOKENS)
    after = build_prompt(question, hits, context_window=4096, count_tokens=count_tokens, records_budget=RECORD_TOKENS)
    assert len(before.source_labels) < 5  # measured: 3 of 5 countries, 2 of 5 cars
    assert after.source_labels == {i + 1: hit.record_id for i, hit in enumerate(hits)}
    blocks = labelled(after)
    assert len(blocks) == 5
    for hit, block in zip(hits, blocks):
        assert f"\n{label}: {hit.record.flat[label]}" in block and f"\n{field}: " in block
    assert sum(count_tokens(block) for block in blocks) <= RECORD_TOKENS
