"""The engine on real data and the real retriever; the LLM is scripted (see scripted_llm.py)."""

from __future__ import annotations

import threading
import time

import pytest

from rag.cache import ResponseCache
from rag.engine import NO_DATASET_MESSAGE, RAGEngine
from rag.errors import DataLoadError, StreamInterruptedError
from rag.settings import Settings, apply_overrides
from rag.stream_buffer import StreamBuffer
from tests.datasets import pycountry_database_path, vega_cars_path
from tests.scripted_llm import ScriptedClient


@pytest.fixture
def cars_path():
    return vega_cars_path()


@pytest.fixture
def countries_path():
    return pycountry_database_path("iso3166-1.json")


@pytest.fixture(scope="module")
def embedder():
    from rag.embeddings import Embedder
    from rag.model_files import default_embedding_model_dir

    return Embedder(default_embedding_model_dir())


@pytest.fixture(scope="module")
def embeddings_dir(tmp_path_factory):
    """Embeddings are cached across this module's tests; answers never are (see make_engine)."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def make_engine(tmp_path, embedder, embeddings_dir):
    def make(client=None, **overrides):
        settings = apply_overrides(Settings(), {"cache": {"directory": str(embeddings_dir)}, **overrides}, "test")
        client = client or ScriptedClient()
        cache = ResponseCache(tmp_path / "answers")
        engine = RAGEngine(settings, buffer=StreamBuffer(), client_factory=lambda llm: client, embedder=embedder, cache=cache)
        return engine, client

    return make


def wait_final(engine, session_id, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        snap = engine.read(session_id, 0)
        if snap is not None and snap.is_complete:
            return snap
        time.sleep(0.01)
    raise AssertionError(f"answer {session_id} did not finish in {timeout} s")


def test_asking_with_no_dataset_says_so(make_engine):
    engine, client = make_engine()
    engine.chat_stream("How many records?", "s1")
    snap = wait_final(engine, "s1")
    assert snap.status == "error" and snap.error == NO_DATASET_MESSAGE
    assert client.history == []


def test_answer_streams_with_sources_first_and_cites_records(make_engine, cars_path):
    engine, client = make_engine()
    info = engine.load_json(cars_path)
    assert info.record_count == 406
    client.enqueue("The Chevelle ", "Malibu has ", "8 cylinders [1].")
    answer = engine.chat("Tell me about the chevrolet chevelle malibu", "s1")  # open: retrieval, not computed
    assert answer.status == "done" and not answer.meta.get("computed")
    assert answer.text == "The Chevelle Malibu has 8 cylinders [1]."
    assert answer.sources and answer.sources[0]["label"] == 1
    assert "chevelle" in answer.sources[0]["text"].lower()
    assert answer.meta["cited"] == [answer.sources[0]["record_id"]]
    assert answer.meta["dataset_hash"] == info.content_hash and answer.meta["cached"] is False
    assert answer.metrics["completion_tokens"] == 3 and answer.metrics["finish_reason"] == "stop"
    prompt = client.history[0]["messages"]
    assert prompt[0]["role"] == "system" and "406" in prompt[0]["content"]  # the profile is in the prompt
    assert "[1] record " + answer.sources[0]["record_id"] in prompt[-1]["content"]
    assert client.history[0]["options"].num_ctx == 4096


def test_reasoning_is_kept_apart_from_the_answer(make_engine, cars_path):
    from rag.llm.types import Chunk

    engine, client = make_engine()
    engine.load_json(cars_path)
    client.enqueue(Chunk(thinking="The user wants Japan. "), Chunk(thinking="Look at Origin."), "Toyota corona [1].")
    answer = engine.chat("Which cars come from Japan?", "s-think")
    assert answer.text == "Toyota corona [1]."
    assert engine.buffer.thinking("s-think") == "The user wants Japan. Look at Origin."
    assert engine.read("s-think", 0).thinking_chars == len("The user wants Japan. Look at Origin.")


def test_a_repeated_question_comes_from_the_cache_at_once(make_engine, cars_path):
    engine, client = make_engine()
    engine.load_json(cars_path)
    client.enqueue("Answer one [1].")
    first = engine.chat("Which cars come from Japan?")
    second = engine.chat("  which cars come from JAPAN ")
    assert len(client.history) == 1
    assert second.text == first.text and second.meta["cached"] is True and first.meta["cached"] is False
    assert second.sources == first.sources
    # A different generation setting is another answer.
    engine.configure_llm(temperature=0.9)
    client.enqueue("Answer two.")
    assert engine.chat("Which cars come from Japan?").text == "Answer two."


def test_cache_survives_a_new_engine_and_never_serves_another_dataset(make_engine, cars_path, countries_path):
    engine, client = make_engine()
    engine.load_json(cars_path)
    client.enqueue("From cars [1].")
    engine.chat("What is this data about?")
    again, client2 = make_engine()
    again.load_json(cars_path)
    assert again.chat("What is this data about?").meta["cached"] is True
    assert client2.history == []
    again.load_json(countries_path)
    client2.enqueue("From countries [1].")
    answer = again.chat("What is this data about?")
    assert answer.text == "From countries [1]." and answer.meta["cached"] is False


def test_failed_answers_keep_partial_text_and_are_not_cached(make_engine, cars_path):
    engine, client = make_engine()
    engine.load_json(cars_path)
    client.enqueue("Half an ", "answer", StreamInterruptedError("the server closed the connection mid-stream"))
    failed = engine.chat("Fastest car?")
    assert failed.status == "error" and failed.text == "Half an answer"
    assert "closed the connection" in failed.error
    client.enqueue("Full answer.")
    assert engine.chat("Fastest car?").text == "Full answer."
    assert len(client.history) == 2


def test_cancel_stops_the_answer_keeps_text_and_is_not_cached(make_engine, cars_path):
    client = ScriptedClient(delay=0.05)
    engine, _ = make_engine(client)
    engine.load_json(cars_path)
    client.enqueue(*[f"w{i} " for i in range(200)])
    engine.chat_stream("Tell me everything", "s1")
    deadline = time.monotonic() + 20
    while engine.read("s1", 0).offset < 10 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert engine.cancel("s1") is True
    snap = wait_final(engine, "s1")
    assert snap.status == "stopped" and snap.text.startswith("w0 w1 ")
    assert len(snap.text.split()) < 200
    assert snap.metrics["finish_reason"] == "cancelled"
    assert engine.cancel("s1") is False  # nothing is running any more
    client.enqueue("fresh")
    assert engine.chat("Tell me everything").text == "fresh"


def test_a_bad_file_keeps_the_previous_dataset(make_engine, cars_path, tmp_path):
    engine, client = make_engine()
    before = engine.load_json(cars_path)
    bad = tmp_path / "bad.json"
    bad.write_text('[{"a": 1}, {"a": 2,}]', encoding="utf-8")
    with pytest.raises(DataLoadError) as caught:
        engine.load_json(bad)
    assert "line 1" in str(caught.value)
    assert engine.dataset_info.content_hash == before.content_hash
    assert engine.search("chevrolet chevelle malibu", k=3)[0].record.flat["Name"].lower().startswith("chevrolet chevelle")


def test_follow_up_questions_see_the_conversation(make_engine, cars_path):
    engine, client = make_engine()
    engine.load_json(cars_path)
    client.enqueue("It was made by Ford [1].")
    history = [
        {"role": "user", "content": "Tell me about the ford torino"},
        {"role": "assistant", "content": "The Ford Torino is a 1970 car [1]."},
    ]
    engine.chat("Tell me more about it", history=history)  # open: the model is asked, with the conversation
    sent = client.history[0]["messages"]
    assert sent[1:3] == history
    assert sent[-1]["content"].endswith("Question: Tell me more about it")


def test_switching_backend_at_run_time_makes_a_new_client(tmp_path, embedder):
    made = []

    def factory(llm):
        made.append(llm.backend)
        return ScriptedClient(llm)

    settings = apply_overrides(Settings(), {"cache": {"enabled": False}}, "test")
    engine = RAGEngine(settings, buffer=StreamBuffer(), client_factory=factory, embedder=embedder)
    engine.client()
    engine.configure_llm(backend="ollama", model="llama3.2")
    assert engine.client().settings.model == "llama3.2"
    assert made == ["embedded", "ollama"]
    assert engine.settings.llm.resolved_base_url().endswith(":11434")


def test_concurrent_sessions_never_mix(make_engine, cars_path):
    client = ScriptedClient(delay=0.002)
    engine, _ = make_engine(client)
    engine.load_json(cars_path)
    for i in range(4):
        client.enqueue(*[f"<{i}>"] * 20)
    threads = [threading.Thread(target=engine.chat_stream, args=(f"question {i}", f"s{i}")) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    texts = {wait_final(engine, f"s{i}").text for i in range(4)}
    assert all(len(set(text.replace(">", "> ").split())) == 1 for text in texts)
    assert len(texts) == 4
