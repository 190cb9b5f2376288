"""Datasets kept on disk with their indexes: reopened by any engine without embedding again, damaged entries
rebuilt, the store bounded; several datasets open at once, each tab answered over its own."""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time

import pytest

from rag.dataset_store import MANIFEST_FILE, MARKER_FILE, RECORDS_FILE, DatasetStore, store_key
from rag.engine import DATASET_GONE_MESSAGE
from tests.datasets import pycountry_database_path, vega_cars_path
from tests.scripted_llm import ScriptedClient
from tests.test_engine import embedder, wait_final  # noqa: F401  (shared fixtures)


class CountingEmbedder:
    """The real embedder, counting the texts it embeds."""

    def __init__(self, real):
        self._real = real
        self.embedded = 0

    def __getattr__(self, name):
        return getattr(self._real, name)

    def encode(self, texts, progress=None):
        self.embedded += len(texts)
        return self._real.encode(texts, progress=progress)


@pytest.fixture
def engine_in(tmp_path, embedder):
    """Engines sharing one cache folder, as processes of one deployment (or one app before and after a
    restart) do; each gets its own embedder count and scripted model."""
    from rag.cache import ResponseCache
    from rag.engine import RAGEngine
    from rag.settings import Settings, apply_overrides
    from rag.stream_buffer import StreamBuffer

    def make(client=None, **overrides):
        settings = apply_overrides(Settings(), {"cache": {"directory": str(tmp_path / "cache")}, **overrides}, "test")
        counting = CountingEmbedder(embedder)
        client = client or ScriptedClient()
        engine = RAGEngine(settings, buffer=StreamBuffer(), client_factory=lambda llm: client, embedder=counting,
                           cache=ResponseCache(None))
        return engine, counting, client

    return make


def wait_stored(store: DatasetStore, dataset_id: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if store.contains(dataset_id):
            return
        time.sleep(0.05)
    raise AssertionError(f"{dataset_id} was never stored")


def test_a_loaded_dataset_is_reopened_by_another_engine_without_embedding_and_answers(engine_in):
    first, first_embedder, _ = engine_in()
    info = first.load_json(vega_cars_path())
    assert first_embedder.embedded > 0 and info.dataset_id
    wait_stored(first.store, info.dataset_id)

    second, second_embedder, client = engine_in(ScriptedClient().enqueue("The Chevrolet Chevelle Malibu [1]."))
    reopened = second.open_dataset(info.dataset_id)
    assert reopened is not None and reopened.record_count == info.record_count
    assert reopened.index.get("from_store") is True and second_embedder.embedded == 0, "nothing embedded again"
    hits = second.search("chevrolet chevelle malibu", k=3)
    assert hits and "chevelle" in hits[0].text.lower()
    answer = second.chat("How many cars have 8 cylinders?", dataset_id=info.dataset_id, timeout=60)
    assert answer.status == "done"
    assert answer.meta["computed"]["value"] == 108, "the analytic table is rebuilt from the stored records"
    assert second_embedder.embedded <= 1, "only the question itself may be embedded"


def test_loading_a_file_the_store_holds_opens_it_instead_of_indexing_it(engine_in):
    first, _, _ = engine_in()
    info = first.load_json(vega_cars_path())
    wait_stored(first.store, info.dataset_id)
    second, counting, _ = engine_in()
    again = second.load_json(vega_cars_path(), name="cars-copy.json")
    assert again.dataset_id == info.dataset_id and again.index.get("from_store") is True
    assert again.name == "cars-copy.json" and counting.embedded == 0


def saves_done() -> None:
    """Wait for the engines' background saves (and the evictions after them)."""
    for thread in threading.enumerate():
        if thread.name == "dataset-store-save":
            thread.join(60)


def age(store: DatasetStore, dataset_id: str, seconds: float) -> None:
    """Make the entry look last used ``seconds`` ago."""
    when = time.time() - seconds
    os.utime(store.directory / dataset_id / MANIFEST_FILE, (when, when))


@pytest.mark.parametrize("damage", ["flip a byte", "truncate an index", "no manifest", "bad manifest", "extra file"])
def test_a_damaged_entry_is_never_served_it_is_removed_and_built_again(engine_in, damage, caplog):
    first, _, _ = engine_in()
    info = first.load_json(vega_cars_path())
    wait_stored(first.store, info.dataset_id)
    saves_done()
    folder = first.store.directory / info.dataset_id
    if damage == "flip a byte":
        records = folder / RECORDS_FILE
        data = bytearray(records.read_bytes())
        data[len(data) // 2] ^= 0x01
        records.write_bytes(bytes(data))
    elif damage == "truncate an index":
        index = folder / "indexes" / "vectors.faiss"
        index.write_bytes(index.read_bytes()[: index.stat().st_size // 3])
    elif damage == "no manifest":
        (folder / MANIFEST_FILE).unlink()
    elif damage == "bad manifest":
        (folder / MANIFEST_FILE).write_text("{not json")
    else:
        (folder / "indexes" / "extra.npy").write_bytes(b"\x93NUMPY")

    second, counting, _ = engine_in()
    caplog.set_level(logging.WARNING, logger="rag.dataset_store")
    assert second.store.open(info.dataset_id) is None
    assert not folder.exists(), "the damaged entry is removed"
    assert f"dataset store entry {info.dataset_id} is removed" in caplog.text
    rebuilt = second.load_json(vega_cars_path())
    assert rebuilt.index.get("from_store") is not True and rebuilt.record_count == info.record_count
    wait_stored(second.store, info.dataset_id)
    assert second.store.open(info.dataset_id) is not None, "and stored whole again"


@pytest.mark.parametrize("approximate", [False, True], ids=["exact", "hnsw"])
def test_a_stored_dataset_reopens_equal_and_searches_exactly_the_same(engine_in, approximate):
    overrides = {"retrieval": {"exact_index_max": 10}} if approximate else {}
    first, _, _ = engine_in(**overrides)
    info = first.load_json(pycountry_database_path("iso3166-1.json"))
    wait_stored(first.store, info.dataset_id)
    saves_done()
    original, _ = first.dataset_by_id(info.dataset_id)
    entry = DatasetStore(first.store.directory, max_bytes=10**12).open(info.dataset_id)
    assert entry is not None
    assert entry.dataset == original and entry.dataset.records == original.records
    assert entry.profile == info.profile and entry.profile.to_prompt_text() == info.profile.to_prompt_text()
    assert entry.indexes.vectors.kind == ("hnsw" if approximate else "exact")
    assert entry.indexes.exact is not None, "the exact-match index is kept, not rebuilt on opening"
    files = [path for path in (first.store.directory / info.dataset_id).rglob("*") if path.is_file()]
    assert {path.suffix for path in files} <= {".json", ".npy", ".npz", ".faiss", ""}, "JSON, NumPy and FAISS files only"
    assert not any(path.read_bytes()[:1] == b"\x80" for path in files), "no pickle"

    second, counting, _ = engine_in(**overrides)
    assert second.open_dataset(info.dataset_id) is not None and counting.embedded == 0
    for query in ("Côte d'Ivoire", "alpha-3 code NOR", "kingdom in europe", "republic of korea", "zz"):
        expected = [(hit.record_id, hit.score, hit.text) for hit in first.search(query, k=8)]
        assert [(hit.record_id, hit.score, hit.text) for hit in second.search(query, k=8)] == expected, query


def test_an_entry_of_the_old_pickle_format_is_dropped_unread_and_rebuilt_from_its_file(engine_in, tmp_path, caplog):
    from tests.test_store_attacks import plant_victim

    first, _, _ = engine_in()
    info = first.load_json(vega_cars_path())
    wait_stored(first.store, info.dataset_id)
    saves_done()
    folder = first.store.directory / info.dataset_id
    shutil.rmtree(folder)
    pwned = tmp_path / "PWNED"
    plant_victim(folder, pwned, "format1", precious=False)  # what the old store wrote: entry.pkl + manifest

    second, counting, _ = engine_in()
    caplog.set_level(logging.WARNING, logger="rag.dataset_store")
    assert second.store.open(info.dataset_id) is None and not pwned.exists(), "never unpickled"
    assert "old format, rebuilt from its file on next load" in caplog.text and not folder.exists()
    rebuilt = second.load_json(vega_cars_path())
    assert rebuilt.index.get("from_store") is not True and not pwned.exists()
    wait_stored(second.store, info.dataset_id)
    saves_done()
    assert second.store.open(info.dataset_id) is not None and not (folder / "entry.pkl").exists()


def test_the_store_removes_the_least_recently_used_entries_beyond_its_size(engine_in, tmp_path):
    engine, _, _ = engine_in()
    cars = engine.load_json(vega_cars_path())
    wait_stored(engine.store, cars.dataset_id)
    saves_done()
    one_entry = engine.store.total_bytes()
    store = DatasetStore(engine.store.directory, max_bytes=int(one_entry * 3.5))
    entry = store.open(cars.dataset_id)
    assert entry is not None
    keys = {name: store_key(name * 64, "copy") for name in "abc"}
    for hours, name in ((5, "a"), (4, "b")):
        assert store.save(keys[name], entry)
        age(store, keys[name], hours * 3600)  # last used hours ago
    age(store, cars.dataset_id, 3 * 3600)
    assert store.save(keys["c"], entry)
    kept = {listing.key for listing in store.recent()}
    assert kept == {cars.dataset_id, keys["b"], keys["c"]}, "copy a, the least recently used, went first"
    assert store.total_bytes() <= store.max_bytes
    assert store.open(cars.dataset_id) is not None  # used again: now the most recent
    names = [listing.name for listing in store.recent()]
    assert names[0] == "cars.json" and store.recent()[0].record_count == cars.record_count


def test_eviction_never_removes_a_dataset_a_tab_used_within_the_hour(engine_in, caplog):
    engine, _, _ = engine_in(data={"store_max_gb": 1e-9})  # one byte: every save is over the size
    caplog.set_level(logging.INFO, logger="rag.dataset_store")
    cars = engine.load_json(vega_cars_path())
    wait_stored(engine.store, cars.dataset_id)
    saves_done()
    countries = engine.load_json(pycountry_database_path("iso3166-1.json"))
    wait_stored(engine.store, countries.dataset_id)
    saves_done()
    assert engine.store.contains(cars.dataset_id), "stored a moment ago: kept though the store is over its size"
    assert "used within the last hour are kept" in caplog.text

    age(engine.store, cars.dataset_id, 2 * 3600)
    age(engine.store, countries.dataset_id, 2 * 3600)
    assert engine.dataset_by_id(cars.dataset_id) is not None  # a tab shows cars (or asks about it) now
    tiny = engine.load_json(b'[{"city": "Oslo", "n": 1}, {"city": "Rome", "n": 2}]', name="tiny.json")
    wait_stored(engine.store, tiny.dataset_id)
    saves_done()
    assert engine.store.contains(cars.dataset_id), "used within the hour: never evicted"
    assert not engine.store.contains(countries.dataset_id), "unused for two hours: evicted"
    assert f"dataset store entry {countries.dataset_id} is removed" in caplog.text


def test_touching_an_entry_is_cheap_once_a_minute_at_most(tmp_path):
    store = DatasetStore(tmp_path, max_bytes=10**9)
    key = store_key("ef" * 32, "x")
    folder = tmp_path / key
    folder.mkdir()
    (folder / MARKER_FILE).write_text(key)
    (folder / MANIFEST_FILE).write_text("{}")
    age(store, key, 7200)
    store.touch(key)
    touched = os.stat(folder / MANIFEST_FILE).st_mtime
    assert time.time() - touched < 60
    age(store, key, 7200)
    store.touch(key)
    assert os.stat(folder / MANIFEST_FILE).st_mtime < touched, "not written again within the minute"


def test_two_datasets_are_open_at_once_and_each_question_is_answered_over_its_own(engine_in):
    engine, _, client = engine_in(ScriptedClient().enqueue("One.").enqueue("Two."))
    cars = engine.load_json(vega_cars_path())
    countries = engine.load_json(pycountry_database_path("iso3166-1.json"))
    assert cars.dataset_id != countries.dataset_id
    engine.chat_stream("How many cars have 8 cylinders?", "cars-tab", dataset_id=cars.dataset_id)
    engine.chat_stream("What is the alpha-3 code of Norway?", "countries-tab", dataset_id=countries.dataset_id)
    on_cars, on_countries = wait_final(engine, "cars-tab"), wait_final(engine, "countries-tab")
    assert on_cars.status == on_countries.status == "done"
    assert on_cars.meta["dataset_name"] == "cars.json" and on_cars.computed["value"] == 108
    assert on_countries.meta["dataset_name"] == "iso3166-1.json"
    assert any(source["record"].get("name") == "Norway" for source in on_countries.sources)


def test_a_load_in_one_tab_never_holds_or_changes_another_tabs_questions(engine_in):
    engine, _, client = engine_in(ScriptedClient().enqueue("Cars."))
    cars = engine.load_json(vega_cars_path())
    engine.begin_load("iso3166-1.json", tab="tab-b")  # tab B has chosen a file; it has not arrived yet
    engine.chat_stream("How many cars have 8 cylinders?", "from-a", dataset_id=cars.dataset_id, tab="tab-a")
    answer = wait_final(engine, "from-a", timeout=10)
    assert answer.status == "done" and answer.computed["value"] == 108 and not answer.meta.get("waiting")
    assert engine.pending_load(tab="tab-b") is not None and engine.pending_load(tab="tab-a") is None


def test_a_dataset_neither_open_nor_stored_is_reported_clearly(engine_in):
    engine, _, _ = engine_in(data={"store_max_gb": 0})
    assert engine.store is None
    engine.chat_stream("How many records?", "s1", dataset_id="0123abcd-feedbeef")
    answer = wait_final(engine, "s1")
    assert answer.status == "error" and answer.error == DATASET_GONE_MESSAGE


def test_open_datasets_are_bounded_and_the_rest_are_reopened_from_the_store(engine_in):
    engine, counting, _ = engine_in(data={"memory_datasets": 1})
    cars = engine.load_json(vega_cars_path())
    wait_stored(engine.store, cars.dataset_id)
    countries = engine.load_json(pycountry_database_path("iso3166-1.json"))
    assert engine.registry.open_ids() == [countries.dataset_id], "one dataset open at a time"
    before = counting.embedded
    found = engine.dataset_by_id(cars.dataset_id)
    assert found is not None and found[1].index.get("from_store") is True and counting.embedded == before


def test_the_manifest_is_written_last_so_a_half_written_entry_is_never_listed(tmp_path):
    store = DatasetStore(tmp_path, max_bytes=10**9)
    key = store_key("cd" * 32, "x")
    half = tmp_path / key
    half.mkdir()
    (half / MARKER_FILE).write_text(key)
    (half / RECORDS_FILE).write_text('[{"id": "$[0]"')
    staging = tmp_path / ".saving-x"
    staging.mkdir()
    (staging / MARKER_FILE).write_text(key)
    (staging / MANIFEST_FILE).write_text(json.dumps({"format": 2, "name": "x"}))
    assert store.recent() == [] and store.open(key) is None and not half.exists()
    assert os.path.isdir(staging), "a save in progress is left alone"
