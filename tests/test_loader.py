"""Tests of rag.loader on public datasets from installed packages, synthetic data and hostile input."""

from __future__ import annotations

import codecs
import json
import random
import re
from pathlib import Path
from typing import Any

import pytest

from rag.errors import DataLoadError
from rag.loader import format_json_path, load_dataset
from tests.datasets import pycountry_database_path, vega_cars_path

MB = 1024 * 1024


def resolve_id(document: Any, record_id: str) -> Any:
    """Follow a record id (``$``, ``.key``, ``["key"]``, ``[7]``) through a parsed document."""
    assert record_id.startswith("$")
    position, value = 1, document
    token = re.compile(r'\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]')
    while position < len(record_id):
        match = token.match(record_id, position)
        assert match, f"unparsable id {record_id!r} at {position}"
        name, index, quoted = match.groups()
        value = value[name] if name is not None else value[int(index)] if index is not None else value[json.loads(quoted)]
        position = match.end()
    return value


def write(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def load_error(source: Any, **options: Any) -> str:
    with pytest.raises(DataLoadError) as caught:
        load_dataset(source, **options)
    return str(caught.value)


# --- public datasets --------------------------------------------------------------------------------


def test_cars_is_one_record_per_array_element() -> None:
    path = vega_cars_path()
    raw = json.loads(path.read_text(encoding="utf-8"))

    dataset = load_dataset(path)

    assert dataset.name == "cars.json"
    assert dataset.root_path == "$"
    assert dataset.size_bytes == path.stat().st_size
    assert len(dataset.records) == len(raw)
    assert [record.id for record in dataset.records] == [f"$[{index}]" for index in range(len(raw))]
    assert [record.data for record in dataset.records] == raw
    assert all(record.flat == element for record, element in zip(dataset.records, raw))  # cars are flat
    assert re.fullmatch(r"[0-9a-f]{64}", dataset.content_hash)


def test_cars_from_str_path_bytes_and_parsed_object_agree() -> None:
    path = vega_cars_path()
    from_path = load_dataset(path)
    from_str = load_dataset(str(path))
    from_bytes = load_dataset(path.read_bytes(), name="cars.json")
    from_object = load_dataset(json.loads(path.read_bytes()))

    for other in (from_str, from_bytes, from_object):
        assert other.records == from_path.records
        assert other.content_hash == from_path.content_hash
    assert from_bytes.size_bytes == from_path.size_bytes
    assert from_object.size_bytes == 0


def test_iso3166_records_come_from_the_main_array() -> None:
    path = pycountry_database_path("iso3166-1.json")
    raw = json.loads(path.read_text(encoding="utf-8"))
    (key,) = raw.keys()

    dataset = load_dataset(path)

    assert dataset.root_path == f'$["{key}"]' == '$["3166-1"]'
    assert len(dataset.records) == len(raw[key])
    seventh = dataset.records[7]
    assert seventh.id == '$["3166-1"][7]'
    assert seventh.data == raw["3166-1"][7]
    for record in dataset.records:
        assert resolve_id(raw, record.id) == record.data
    assert len({record.id for record in dataset.records}) == len(dataset.records)


def test_iso639_languages_load_with_their_root() -> None:
    path = pycountry_database_path("iso639-3.json")
    raw = json.loads(path.read_text(encoding="utf-8"))
    dataset = load_dataset(path)
    assert dataset.root_path == '$["639-3"]'
    assert [record.data for record in dataset.records] == raw["639-3"]


# --- hashing ----------------------------------------------------------------------------------------


def test_content_hash_ignores_formatting_and_key_order() -> None:
    raw = json.loads(vega_cars_path().read_bytes())
    compact = json.dumps(raw, separators=(",", ":")).encode()
    indented = json.dumps(raw, indent=4).encode()
    reordered = json.dumps([dict(reversed(list(car.items()))) for car in raw]).encode()

    hashes = {load_dataset(content).content_hash for content in (compact, indented, reordered)}

    assert len(hashes) == 1


def test_content_hash_changes_with_a_value_or_the_ids() -> None:
    raw = json.loads(vega_cars_path().read_bytes())
    original = load_dataset(raw).content_hash
    changed = [dict(car) for car in raw]
    changed[200]["Horsepower"] = (changed[200]["Horsepower"] or 0) + 1

    assert load_dataset(changed).content_hash != original
    assert load_dataset({"data": raw}).content_hash != original  # other ids: $.data[i]


# --- JSON Lines ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("file_name", ["cars.jsonl", "cars.ndjson", "cars.txt"])
def test_json_lines_by_name_or_detected(tmp_path: Path, file_name: str) -> None:
    raw = json.loads(vega_cars_path().read_bytes())
    lines = [json.dumps(car) for car in raw]
    lines.insert(3, "")  # blank lines are skipped and do not shift the ids
    lines.insert(10, "   ")
    path = write(tmp_path, file_name, ("\r\n".join(lines) + "\n").encode())

    dataset = load_dataset(path)

    assert [record.data for record in dataset.records] == raw
    assert [record.id for record in dataset.records] == [f"$[{index}]" for index in range(len(raw))]
    assert dataset.content_hash == load_dataset(vega_cars_path()).content_hash


def test_json_lines_error_names_the_physical_line(tmp_path: Path) -> None:
    raw = json.loads(vega_cars_path().read_bytes())
    lines = [json.dumps(car) for car in raw[:10]]
    lines.insert(2, "")
    lines[6] = lines[6][:-5]  # cut: line 7 of the file
    path = write(tmp_path, "cars.jsonl", "\n".join(lines).encode())

    message = load_error(path)

    assert message.startswith("cars.jsonl:")
    assert "line 7" in message


def test_undeclared_json_lines_with_a_broken_line_reports_that_line() -> None:
    message = load_error(b'{"a": 1}\n{"a": 2}\n{"a": 3\n{"a": 4}\n', name="upload.json")
    assert "line 3" in message and "JSON Lines" in message


def test_json_lines_of_scalars_are_scalar_records(tmp_path: Path) -> None:
    dataset = load_dataset(write(tmp_path, "numbers.jsonl", b'1\n"two"\n[3]\nnull\n'))
    assert [(record.id, record.flat) for record in dataset.records] == [
        ("$[0]", {"value": 1}),
        ("$[1]", {"value": "two"}),
        ("$[2]", {"[0]": 3}),
        ("$[3]", {"value": None}),
    ]


# --- shapes, ids and flat paths --------------------------------------------------------------------------


def test_nested_main_array_is_found_and_named_by_its_path() -> None:
    document = {
        "meta": {"columns": [{"name": "a"}, {"name": "b"}], "total": 3},
        "results": {"page": 1, "items": [{"i": 1}, {"i": 2}, {"i": 3}]},
    }
    dataset = load_dataset(document)
    assert dataset.root_path == "$.results.items"
    assert [record.id for record in dataset.records] == ["$.results.items[0]", "$.results.items[1]", "$.results.items[2]"]
    assert [resolve_id(document, record.id) for record in dataset.records] == document["results"]["items"]


def test_equal_arrays_pick_the_first_in_document_order() -> None:
    document = {"first": {"deep": [{"a": 1}, {"a": 2}]}, "second": [{"b": 1}, {"b": 2}]}
    assert load_dataset(document).root_path == "$.first.deep"
    swapped = {"second": document["second"], "first": document["first"]}
    assert load_dataset(swapped).root_path == "$.second"


def test_object_without_arrays_of_objects_is_one_record() -> None:
    document = {"name": "report", "tags": ["x", "y"], "owner": {"city": "Oslo"}}
    dataset = load_dataset(json.dumps(document).encode())
    assert len(dataset.records) == 1
    record = dataset.records[0]
    assert record.id == "$" and dataset.root_path == "$"
    assert record.data == document
    assert record.flat == {"name": "report", "tags[0]": "x", "tags[1]": "y", "owner.city": "Oslo"}


def test_flat_paths_of_nested_records() -> None:
    record = {
        "id": 7,
        "address": {"city": "Lyon", "geo": {"lat": 45.76, "lon": 4.84}},
        "tags": ["a", "b"],
        "authors": [{"name": "Ann"}, {"name": "Bo", "roles": ["editor"]}],
        "empty": {},
        "none": [],
        "a.b": 1,
        "": 2,
        "x": {"odd[key]": 3, "spaced key": 4},
    }
    (loaded,) = load_dataset([record]).records
    assert loaded.data == record
    assert loaded.flat == {
        "id": 7,
        "address.city": "Lyon",
        "address.geo.lat": 45.76,
        "address.geo.lon": 4.84,
        "tags[0]": "a",
        "tags[1]": "b",
        "authors[0].name": "Ann",
        "authors[1].name": "Bo",
        "authors[1].roles[0]": "editor",
        '["a.b"]': 1,
        '[""]': 2,
        'x["odd[key]"]': 3,
        "x.spaced key": 4,
    }


def test_flat_keys_never_collide() -> None:
    (loaded,) = load_dataset([{"a.b": 1, "a": {"b": 2}}]).records
    assert loaded.flat == {'["a.b"]': 1, "a.b": 2}


def test_array_of_scalars_and_mixed_elements() -> None:
    dataset = load_dataset([3, "x", None, {"k": 1}, [True, {"z": 0}]])
    assert [(record.id, record.flat) for record in dataset.records] == [
        ("$[0]", {"value": 3}),
        ("$[1]", {"value": "x"}),
        ("$[2]", {"value": None}),
        ("$[3]", {"k": 1}),
        ("$[4]", {"[0]": True, "[1].z": 0}),
    ]


def test_format_json_path_quotes_keys_that_are_not_identifiers() -> None:
    assert format_json_path([]) == "$"
    assert format_json_path(["data", 3]) == "$.data[3]"
    assert format_json_path(["3166-1", 7]) == '$["3166-1"][7]'
    assert format_json_path(["a b", 'q"uote', "é", "_ok1"]) == '$["a b"]["q\\"uote"]["é"]._ok1'


def test_parsed_object_is_copied() -> None:
    document = [{"a": {"b": 1}}]
    dataset = load_dataset(document)
    document[0]["a"]["b"] = 99
    assert dataset.records[0].data == {"a": {"b": 1}}


def test_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    content = vega_cars_path().read_bytes()
    with_bom = load_dataset(write(tmp_path, "bom.json", codecs.BOM_UTF8 + content))
    assert with_bom.records == load_dataset(content).records
    assert with_bom.size_bytes == len(content) + 3


def test_nan_and_infinity_load_as_missing() -> None:
    dataset = load_dataset(b'[{"a": NaN, "b": Infinity, "c": -Infinity, "d": 1e999, "e": -1.5, "f": [NaN]}]')
    (record,) = dataset.records
    assert record.data == {"a": None, "b": None, "c": None, "d": None, "e": -1.5, "f": [None]}
    assert record.flat == {"a": None, "b": None, "c": None, "d": None, "e": -1.5, "f[0]": None}
    json.dumps(record.data, allow_nan=False)  # valid JSON downstream


def test_nan_in_a_parsed_object_loads_as_missing() -> None:
    (record,) = load_dataset([{"x": float("nan"), "y": float("inf"), "z": 2.5}]).records
    assert record.flat == {"x": None, "y": None, "z": 2.5}


# --- bad input --------------------------------------------------------------------------------------


def test_malformed_json_gives_line_and_column(tmp_path: Path) -> None:
    content = '[\n  {"a": 1},\n  {"a" 2}\n]'
    with pytest.raises(json.JSONDecodeError) as reference:
        json.loads(content)
    path = write(tmp_path, "broken.json", content.encode())

    message = load_error(path)

    assert message.startswith("broken.json:")
    assert f"line {reference.value.lineno}, column {reference.value.colno}" in message
    assert "line 3" in message


def test_truncated_public_file_is_reported(tmp_path: Path) -> None:
    content = vega_cars_path().read_bytes()
    path = write(tmp_path, "cars.json", content[: len(content) // 2])
    message = load_error(path)
    assert message.startswith("cars.json:") and "invalid JSON at line" in message


@pytest.mark.parametrize("content", [b"", b"   \n\t\r\n  ", codecs.BOM_UTF8, codecs.BOM_UTF8 + b"\n "])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    message = load_error(write(tmp_path, "empty.json", content))
    assert message == "empty.json: the file is empty; expected JSON records"


def test_empty_json_lines_file(tmp_path: Path) -> None:
    assert "empty" in load_error(write(tmp_path, "empty.jsonl", b"\n\n  \n"))


@pytest.mark.parametrize("content", [b"[]", b"{}", b'{"data": []}', b'{"meta": {}, "results": {"items": []}}'])
def test_no_records(content: bytes) -> None:
    message = load_error(content, name="nothing.json")
    assert message.startswith("nothing.json: no records found")


@pytest.mark.parametrize(
    ("content", "kind"),
    [(b"42", "number"), (b'"text"', "string"), (b"true", "boolean"), (b"null", "null"), (b" -1.5e3 ", "number")],
)
def test_scalar_instead_of_records(content: bytes, kind: str) -> None:
    message = load_error(content, name="scalar.json")
    assert message.startswith("scalar.json: expected records")
    assert f"a single {kind} value" in message


def test_not_utf8_names_the_byte_offset(tmp_path: Path) -> None:
    content = '[{"city": "Montréal"}]'.encode("latin-1")
    offset = content.index(b"\xe9")
    message = load_error(write(tmp_path, "latin1.json", content))
    assert message.startswith("latin1.json: the file is not valid UTF-8")
    assert f"byte offset {offset}" in message and "0xe9" in message


def test_not_utf8_offset_counts_the_byte_order_mark() -> None:
    content = codecs.BOM_UTF8 + b'["ok", "\xff"]'
    offset = content.index(b"\xff")
    assert f"byte offset {offset}" in load_error(content)


def test_utf16_file_is_named_as_such(tmp_path: Path) -> None:
    content = '[{"a": 1}]'.encode("utf-16")
    assert "UTF-16" in load_error(write(tmp_path, "wide.json", content))


def test_size_limit_is_checked_before_reading(tmp_path: Path) -> None:
    huge = tmp_path / "huge.json"
    with huge.open("wb") as handle:  # sparse: 4 GiB on disk costs nothing, reading it would
        handle.truncate(4096 * MB)

    message = load_error(huge, max_bytes=50 * MB)

    assert message.startswith("huge.json: the file is too large")
    assert "4096.0 MB" in message and "50.0 MB" in message


def test_size_limit_on_bytes_and_exact_boundary() -> None:
    content = json.dumps([{"a": "x" * 1000}]).encode()
    assert len(load_dataset(content, max_bytes=len(content)).records) == 1
    message = load_error(content, max_bytes=len(content) - 1)
    assert "too large" in message and f"{len(content):,} bytes" in message


def test_nesting_limit_boundary() -> None:
    content = b'{"a": {"b": [1]}}'  # three levels: object, object, array
    assert load_dataset(content, max_depth=3).records[0].flat == {"a.b[0]": 1}
    message = load_error(content, max_depth=2)
    assert "nested too deeply" in message and "more than 2 levels" in message and "$.a.b" in message


@pytest.mark.parametrize("depth", [65, 5_000, 100_000])
def test_deep_arrays_are_refused_without_recursion_error(depth: int) -> None:
    content = b"[" * depth + b"]" * depth
    message = load_error(content, name="deep.json")
    assert message.startswith("deep.json: the data is nested too deeply")
    assert "more than 64 levels" in message


def test_deep_objects_and_deep_json_lines_and_unclosed_nesting() -> None:
    deep_object = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    assert "nested too deeply" in load_error(deep_object)
    assert "nested too deeply" in load_error(b"[" * 100_000)
    deep_line = b'{"ok": 1}\n' + b"[" * 100_000 + b"]" * 100_000 + b"\n"
    message = load_error(deep_line, name="deep.jsonl")
    assert "nested too deeply" in message and "line 2" in message


def test_deep_parsed_object_and_self_reference() -> None:
    deep: list[Any] = []
    current = deep
    for _ in range(100_000):
        current.append([])
        current = current[0]
    assert "nested too deeply" in load_error(deep)
    looped: list[Any] = []
    looped.append(looped)
    assert "data:" in load_error(looped)


def test_parsed_object_with_values_json_cannot_hold() -> None:
    assert "set" in load_error([{"a": {1, 2}}], name="objects")


def test_missing_file_and_folder(tmp_path: Path) -> None:
    assert "file not found" in load_error(tmp_path / "absent.json")
    assert "folder" in load_error(tmp_path)


def test_a_str_is_always_a_path() -> None:
    assert "file not found" in load_error('[{"a": 1}]')


def test_integer_too_long_to_convert() -> None:
    assert "invalid JSON" in load_error(b"[" + b"9" * 5000 + b"]")


def test_random_bytes_and_mutations_raise_only_data_load_error() -> None:
    rng = random.Random(20240611)
    base = json.dumps(json.loads(vega_cars_path().read_bytes())[:12], indent=1).encode()
    samples: list[bytes] = [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))) for _ in range(300)]
    samples += [base[: rng.randrange(len(base))] for _ in range(100)]
    for _ in range(200):
        mutated = bytearray(base)
        for _ in range(rng.randrange(1, 6)):
            mutated[rng.randrange(len(mutated))] = rng.choice(b'[]{}",:\\\n0e-.tfn \xff\xc3')
        samples.append(bytes(mutated))
    samples += [bytes(rng.choice(b'[]{}",:1') for _ in range(rng.randrange(1, 300))) for _ in range(200)]

    loaded = 0
    for sample in samples:
        for name in ("fuzz.json", "fuzz.jsonl"):
            try:
                dataset = load_dataset(sample, name=name)
            except DataLoadError as error:
                assert str(error).startswith(f"{name}:")
            else:
                loaded += 1
                assert dataset.records
                assert re.fullmatch(r"[0-9a-f]{64}", dataset.content_hash)
                json.dumps([record.data for record in dataset.records], allow_nan=False)
    assert loaded > 0  # some mutations still parse


# --- scale --------------------------------------------------------------------------------------------


def test_one_hundred_thousand_records(tmp_path: Path) -> None:
    count = 100_000
    rows = [
        {"id": index, "name": f"item {index}", "price": index / 4, "group": f"g{index % 7}", "meta": {"ok": index % 2 == 0}}
        for index in range(count)
    ]
    path = write(tmp_path, "big.json", json.dumps(rows).encode())

    dataset = load_dataset(path)

    assert len(dataset.records) == count
    last = dataset.records[-1]
    assert last.id == f"$[{count - 1}]"
    assert last.flat == {"id": count - 1, "name": f"item {count - 1}", "price": (count - 1) / 4, "group": f"g{(count - 1) % 7}", "meta.ok": False}
    assert len({record.id for record in dataset.records}) == count
