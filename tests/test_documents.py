"""Records as text: field lines, chunking on line boundaries, record ids kept."""

from __future__ import annotations

import pytest

from rag.documents import build_documents, format_value, record_lines, record_text, split_lines
from rag.loader import load_dataset
from rag.records import Record
from tests.datasets import vega_cars_path


@pytest.fixture(scope="module")
def cars():
    return load_dataset(vega_cars_path())


def test_record_text_is_field_lines_in_flat_order_without_nulls():
    record = Record("$[0]", {}, {"name": "Ann", "age": None, "address.city": "Oslo", "active": True, "score": 1.5})
    assert record_text(record) == "name: Ann\naddress.city: Oslo\nactive: true\nscore: 1.5"


def test_values_with_line_breaks_stay_on_one_line():
    record = Record("$[0]", {}, {"note": "first\nsecond\r\nthird"})
    assert record_lines(record) == ["note: first second third"]
    assert format_value(False) == "false"


def test_real_record_keeps_every_non_null_field(cars):
    record = next(r for r in cars.records if r.data["Miles_per_Gallon"] is None)
    lines = record_lines(record)
    assert lines[0] == f"Name: {record.data['Name']}"
    assert not any(line.startswith("Miles_per_Gallon") for line in lines)
    assert len(lines) == sum(value is not None for value in record.data.values())


def test_scalar_and_empty_records():
    scalars = load_dataset(b"[3, \"plain text\", {}]")
    documents = build_documents(scalars.records, chunk_chars=100)
    assert [d.text for d in documents] == ["value: 3", "value: plain text", ""]
    assert [d.record_id for d in documents] == ["$[0]", "$[1]", "$[2]"]


def test_short_records_are_one_chunk_each(cars):
    documents = build_documents(cars.records, chunk_chars=1200)
    assert len(documents) == len(cars.records)
    assert [d.record_id for d in documents] == [r.id for r in cars.records]
    assert {d.chunk_index for d in documents} == {0}


def test_long_record_is_split_on_line_boundaries_keeping_its_id():
    flat = {f"field_{i}": f"value number {i} " * 3 for i in range(40)}
    record = Record("$.items[7]", flat, flat)
    full_text = record_text(record)
    documents = build_documents([record], chunk_chars=200)
    assert len(documents) > 1
    assert all(d.record_id == "$.items[7]" for d in documents)
    assert [d.chunk_index for d in documents] == list(range(len(documents)))
    assert all(len(d.text) <= 200 for d in documents)
    assert "\n".join(d.text for d in documents) == full_text  # nothing lost, cut only between lines
    lines = set(full_text.split("\n"))
    assert all(line in lines for d in documents for line in d.text.split("\n"))


def test_chunks_of_many_records_keep_their_own_ids(cars):
    documents = build_documents(cars.records[:30], chunk_chars=60)
    assert len(documents) > 30
    by_record: dict[str, list[str]] = {}
    for d in documents:
        by_record.setdefault(d.record_id, []).append(d.text)
    assert list(by_record) == [r.id for r in cars.records[:30]]
    for record in cars.records[:30]:
        assert "\n".join(by_record[record.id]) == record_text(record)


def test_a_line_longer_than_a_chunk_is_cut_into_pieces():
    chunks = split_lines(["short", "x" * 25, "end"], chunk_chars=10)
    assert all(len(chunk) <= 10 for chunk in chunks)
    assert "".join(chunks).replace("\n", "") == "short" + "x" * 25 + "end"


def test_chunk_size_must_be_positive():
    with pytest.raises(ValueError, match="chunk_chars"):
        split_lines(["a"], chunk_chars=0)
