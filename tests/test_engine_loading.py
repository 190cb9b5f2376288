"""Questions sent while a file loads: they wait for that file, never the one it replaces; loads are
staged (keyword search first) and can be cancelled, by the user or by a newer upload."""

from __future__ import annotations

import json
import threading
import time

import pytest

from rag.loading import LoadCancelled
from tests.datasets import pycountry_database_path, vega_cars_path
from tests.scripted_llm import ScriptedClient
from tests.test_engine import embedder, embeddings_dir, make_engine, wait_final  # noqa: F401  (shared fixtures)


def wait_for_meta(engine, session_id, key, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        snap = engine.read(session_id, 0)
        if snap is not None and snap.meta.get(key):
            return snap.meta[key]
        time.sleep(0.01)
    raise AssertionError(f"{key!r} never appeared in the answer's metadata")


def test_a_question_sent_before_the_file_is_read_waits_and_is_answered_over_it(make_engine) -> None:
    engine, client = make_engine(ScriptedClient().enqueue("Norway is there [1]."))
    ticket = engine.begin_load("iso3166-1.json")  # what the page does when a file is chosen
    engine.chat_stream("What is the alpha-3 code of Norway?", "s1")
    assert wait_for_meta(engine, "s1", "waiting").startswith("Waiting for iso3166-1.json (starting")
    assert not client.history, "the model is not asked before the data is there"
    engine.load_json(pycountry_database_path("iso3166-1.json"), ticket=ticket)
    snap = wait_final(engine, "s1")
    assert snap.status == "done" and snap.text == "Norway is there [1]."
    assert any(source["record"]["name"] == "Norway" for source in snap.sources)
    assert not snap.meta.get("waiting")


def test_a_question_sent_while_a_file_is_replaced_is_answered_over_the_new_file(make_engine) -> None:
    engine, client = make_engine(ScriptedClient().enqueue("An answer."))
    engine.load_json(vega_cars_path())
    ticket = engine.begin_load("iso3166-1.json")
    engine.chat_stream("What is the alpha-3 code of Norway?", "s1")
    wait_for_meta(engine, "s1", "waiting")
    engine.load_json(pycountry_database_path("iso3166-1.json"), ticket=ticket)
    snap = wait_final(engine, "s1")
    assert snap.status == "done"
    assert snap.sources and all("alpha_3" in source["record"] for source in snap.sources)  # countries, not cars


def test_when_the_file_cannot_be_loaded_the_question_says_why_and_asks_to_be_sent_again(make_engine, tmp_path) -> None:
    engine, client = make_engine(ScriptedClient())
    engine.load_json(vega_cars_path())
    bad = tmp_path / "broken.json"
    bad.write_text('[{"a": 1}, {"a": ')
    ticket = engine.begin_load("broken.json")
    engine.chat_stream("How many records are there?", "s1")
    wait_for_meta(engine, "s1", "waiting")
    with pytest.raises(Exception):
        engine.load_json(bad, ticket=ticket)
    snap = wait_final(engine, "s1")
    assert snap.status == "error" and "broken.json could not be loaded" in snap.error
    assert "send again" in snap.error and snap.meta.get("resend") == "How many records are there?"
    assert not client.history
    assert engine.dataset_info.name == "cars.json"  # the previous file stays
    # a later question is answered over the file still loaded, without waiting
    client.enqueue("406.")
    assert engine.chat("Tell me about the chevrolet chevelle malibu").status == "done"


def test_stop_while_waiting_ends_the_turn(make_engine) -> None:
    engine, client = make_engine(ScriptedClient())
    engine.begin_load("later.json")
    engine.chat_stream("Anything?", "s1")
    wait_for_meta(engine, "s1", "waiting")
    assert engine.cancel("s1")
    assert wait_final(engine, "s1").status == "stopped" and not client.history


def test_questions_are_answered_by_keywords_while_the_embeddings_are_computed(make_engine, tmp_path) -> None:
    engine, client = make_engine(ScriptedClient().enqueue("Found it [1]."), cache={"directory": str(tmp_path)})
    asked: dict[str, object] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "embedding" and done == 0 and "answer" not in asked:  # searchable, nothing embedded yet
            asked["answer"] = engine.chat("Tell me about Norway")  # open: retrieval, not computed

    engine.load_json(pycountry_database_path("iso3166-1.json"), progress=progress)
    answer = asked["answer"]
    assert answer.status == "done" and not answer.meta.get("computed")
    assert answer.sources[0]["record"]["name"] == "Norway"
    assert any(note.startswith("semantic search still indexing, 0%") for note in answer.meta["notes"])
    assert engine.search("Norway")[0].record.data["name"] == "Norway"  # hybrid after the load


def test_a_question_no_record_matches_by_keywords_is_not_sent_to_the_model(make_engine, tmp_path) -> None:
    engine, client = make_engine(ScriptedClient().enqueue("Invented."), cache={"directory": str(tmp_path)})
    asked: dict[str, object] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "embedding" and done == 0 and "answer" not in asked:
            asked["answer"] = engine.chat("Which countries speak Klingonese?")

    engine.load_json(pycountry_database_path("iso3166-1.json"), progress=progress)
    answer = asked["answer"]
    assert answer.status == "done" and answer.sources == [] and client.history == []
    assert answer.text.startswith("No record contains the words of this question")
    assert "Semantic search (which finds records by meaning) is still indexing, 0% done" in answer.text
    client_answer = engine.chat("Which countries speak Klingonese?")  # fully indexed: the nearest records
    assert client_answer.sources and client_answer.text == "Invented." and len(client.history) == 1


def test_a_question_no_keyword_matches_waits_for_semantic_search_expected_soon(make_engine, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("rag.answer_pipeline.WAIT_LIMIT_SECONDS", 600.0)  # whatever the machine's speed: the wait is tested
    engine, client = make_engine(ScriptedClient().enqueue("Described [1]."), cache={"directory": str(tmp_path)})
    started = threading.Event()

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "embedding" and not started.is_set():  # searchable by keywords only, embeddings under way
            started.set()
            engine.chat_stream("Describe every nation in detail", "s1")

    engine.load_json(pycountry_database_path("iso3166-1.json"), progress=progress)
    assert started.is_set()
    snap = wait_final(engine, "s1")
    assert snap.status == "done" and snap.text == "Described [1].", "answered from semantic search, not refused"
    assert snap.sources and len(client.history) == 1
    assert not any(note.startswith("semantic search still indexing") for note in snap.meta["notes"])
    assert not snap.meta.get("waiting")


def test_cancelling_a_load_keeps_the_previous_dataset(make_engine, tmp_path) -> None:
    engine, _ = make_engine(ScriptedClient(), cache={"directory": str(tmp_path)})
    engine.load_json(vega_cars_path())

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "embedding" and done > 0:
            assert engine.cancel_load()

    with pytest.raises(LoadCancelled, match="Loading iso3166-1.json was cancelled"):
        engine.load_json(pycountry_database_path("iso3166-1.json"), progress=progress)
    assert engine.dataset_info.name == "cars.json"
    assert engine.search("ford torino")[0].record.data["Name"].startswith("ford")
    assert engine.pending_load() is None


def test_a_new_upload_cancels_the_load_still_running(make_engine, tmp_path) -> None:
    engine, _ = make_engine(ScriptedClient(), cache={"directory": str(tmp_path)})
    first_embedding = threading.Event()
    outcome: dict[str, object] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "embedding" and done > 0:
            first_embedding.set()
            time.sleep(0.05)

    def load_countries() -> None:
        try:
            engine.load_json(pycountry_database_path("iso3166-1.json"), progress=progress)
        except LoadCancelled as exc:
            outcome["cancelled"] = str(exc)

    thread = threading.Thread(target=load_countries)
    thread.start()
    assert first_embedding.wait(60)
    started = time.monotonic()
    engine.load_json(vega_cars_path())  # waits only for the running load to stop at its next batch
    thread.join(30)
    assert "cancelled" in outcome
    assert time.monotonic() - started < 30
    assert engine.dataset_info.name == "cars.json" and engine.dataset_info.record_count == len(
        json.loads(vega_cars_path().read_text())
    )


def test_a_question_waiting_for_a_file_that_is_replaced_waits_for_the_new_one(make_engine) -> None:
    engine, client = make_engine(ScriptedClient().enqueue("An answer."))
    first = engine.begin_load("cars.json")
    engine.chat_stream("What is the alpha-3 code of Norway?", "s1")
    wait_for_meta(engine, "s1", "waiting")
    second = engine.begin_load("iso3166-1.json")  # a new upload before the first was even read
    with pytest.raises(LoadCancelled):
        engine.load_json(vega_cars_path(), ticket=first)
    assert engine.read("s1", 0).status == "streaming", "still waiting, for the new file"
    engine.load_json(pycountry_database_path("iso3166-1.json"), ticket=second)
    snap = wait_final(engine, "s1")
    assert snap.status == "done" and all("alpha_3" in source["record"] for source in snap.sources)


def test_answers_found_by_keywords_while_embedding_are_not_cached(make_engine, tmp_path) -> None:
    engine, client = make_engine(ScriptedClient().enqueue("Early.").enqueue("Later."), cache={"directory": str(tmp_path)})
    asked: dict[str, object] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "embedding" and done == 0 and "early" not in asked:
            asked["early"] = engine.chat("What is the alpha-3 code of Norway?")

    engine.load_json(pycountry_database_path("iso3166-1.json"), progress=progress)
    later = engine.chat("What is the alpha-3 code of Norway?")
    assert asked["early"].text == "Early." and later.text == "Later." and not later.meta.get("cached")


def test_a_question_sent_before_the_upload_reaches_the_app_waits_for_it(make_engine) -> None:
    from dashboard.data_flow import expect_upload

    engine, client = make_engine(ScriptedClient().enqueue("An answer."))
    engine.load_json(vega_cars_path())
    gate = {"filename": "iso3166-1.json", "at": 1}
    assert not expect_upload(engine, gate, None, "iso3166-1.json"), "the app already took it"
    assert not expect_upload(engine, gate, "data:...", "big.json"), "a file the size check refused"
    assert expect_upload(engine, gate, "data:...", "iso3166-1.json")  # the Send request arrived first
    engine.chat_stream("What is the alpha-3 code of Norway?", "s1")
    wait_for_meta(engine, "s1", "waiting")
    ticket = engine.begin_load("iso3166-1.json")  # then the upload request: it replaces the expectation
    engine.load_json(pycountry_database_path("iso3166-1.json"), ticket=ticket)
    snap = wait_final(engine, "s1")
    assert snap.status == "done" and all("alpha_3" in source["record"] for source in snap.sources)


def test_a_file_announced_but_never_loaded_ends_the_wait_with_a_message(make_engine, monkeypatch) -> None:
    import rag.load_coordinator

    monkeypatch.setattr(rag.load_coordinator, "LOAD_START_TIMEOUT", 0.3)
    engine, client = make_engine(ScriptedClient())
    engine.load_json(vega_cars_path())
    engine.expect_load("lost.json")
    engine.chat_stream("How many cars are there?", "s1")
    snap = wait_final(engine, "s1")
    assert snap.status == "error" and "lost.json could not be loaded" in snap.error and "never reached" in snap.error
    assert engine.pending_load() is None and not client.history


def test_a_question_waiting_for_a_load_the_user_cancels_is_given_back(make_engine, tmp_path) -> None:
    engine, client = make_engine(ScriptedClient(), cache={"directory": str(tmp_path)})
    engine.load_json(vega_cars_path())
    ticket = engine.begin_load("iso3166-1.json")
    engine.chat_stream("What is the alpha-3 code of Norway?", "s1")
    wait_for_meta(engine, "s1", "waiting")
    assert engine.cancel_load()
    with pytest.raises(LoadCancelled):
        engine.load_json(pycountry_database_path("iso3166-1.json"), ticket=ticket)
    snap = wait_final(engine, "s1")
    assert snap.status == "error" and "was cancelled" in snap.error and snap.meta["resend"]
    assert not client.history
