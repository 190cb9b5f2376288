"""The engine end to end: real data, real retrieval, real clients over real HTTP."""

from __future__ import annotations

import time

import pytest

from rag.cache import ResponseCache
from rag.engine import RAGEngine
from rag.settings import Settings, apply_overrides
from rag.stream_buffer import StreamBuffer
from tests.datasets import pycountry_database_path
from tests.protocol_servers import ChatReply


@pytest.fixture(scope="module")
def embedder():
    from rag.embeddings import Embedder
    from rag.model_files import default_embedding_model_dir

    return Embedder(default_embedding_model_dir())


@pytest.fixture
def engine_for(tmp_path, embedder):
    def make(**llm):
        settings = apply_overrides(Settings(), {"llm": llm, "cache": {"directory": str(tmp_path)}}, "test")
        engine = RAGEngine(settings, buffer=StreamBuffer(), embedder=embedder, cache=ResponseCache(tmp_path / "answers"))
        engine.load_json(pycountry_database_path("iso3166-1.json"))
        return engine

    return make


def poll_until_final(engine, session_id, timeout=120.0):
    """Read like the page does: only what is new each time; returns the deltas seen."""
    deltas, offset = [], 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        snap = engine.read(session_id, offset)
        if snap.text:
            deltas.append(snap.text)
        offset = snap.offset
        if snap.is_complete:
            return snap, deltas
        time.sleep(0.02)
    raise AssertionError("the answer did not finish")


def test_ollama_answer_is_grounded_and_sets_num_ctx(engine_for, ollama_server):
    engine = engine_for(backend="ollama", base_url=ollama_server.url, model="llama3.2", num_ctx=4096)
    ollama_server.reply = ChatReply(delay=0.02)
    engine.chat_stream("What is the alpha-3 code of Norway?", "s1")
    snap, deltas = poll_until_final(engine, "s1")
    assert snap.status == "done" and len(deltas) > 1
    assert "".join(deltas) == "The answer is forty-two, as record $[3] says."
    assert any(source["record"]["name"] == "Norway" for source in snap.sources)
    body = ollama_server.chat_requests[0].body
    assert body["options"]["num_ctx"] == 4096
    assert "Norway" in body["messages"][-1]["content"]
    assert snap.metrics["source"] == "server" and snap.metrics["completion_tokens"] == 10


def test_ollama_context_window_follows_the_model_when_not_set(engine_for, ollama_server):
    engine = engine_for(backend="ollama", base_url=ollama_server.url, model="llama3.2")
    engine.chat("Which country has the numeric code 840?")
    # The fake server reports an 8192-token context for its models via /api/show.
    assert ollama_server.chat_requests[0].body["options"]["num_ctx"] == 8192


def test_stop_closes_the_connection_to_the_server(engine_for, ollama_server):
    engine = engine_for(backend="ollama", base_url=ollama_server.url, model="llama3.2")
    ollama_server.reply = ChatReply(pieces=[f" w{i}" for i in range(300)], delay=0.03)
    engine.chat_stream("List all countries", "s1")
    deadline = time.monotonic() + 30
    while ollama_server.pieces_sent < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert engine.cancel("s1")
    assert ollama_server.wait_for_disconnect(5), "the server must see the client go away"
    snap, _ = poll_until_final(engine, "s1")
    assert snap.status == "stopped" and snap.text.startswith(" w0 w1")
    assert ollama_server.pieces_sent < 300


def test_server_down_gives_the_clients_message_in_the_answer(engine_for):
    from tests.conftest import free_port

    url = f"http://127.0.0.1:{free_port()}"
    engine = engine_for(backend="ollama", base_url=url, model="llama3.2")
    answer = engine.chat("Norway?")
    assert answer.status == "error"
    assert f"Ollama is not reachable at {url}" in answer.error
    assert answer.sources, "the retrieved records are still shown"


def test_real_llama_cpp_server_answers_and_repeats_from_cache(engine_for, llama_server):
    engine = engine_for(backend="openai", base_url=llama_server, model="smollm2", max_tokens=24, num_ctx=2048)
    engine.chat_stream("What is the alpha-2 code of France?", "s1")
    snap, deltas = poll_until_final(engine, "s1")
    assert snap.status == "done", snap.error
    text = "".join(deltas)
    assert len(deltas) > 1 and text.strip()
    assert any(source["record"]["name"] == "France" for source in snap.sources)
    assert snap.metrics["completion_tokens"] and snap.metrics["time_to_first_token"] > 0
    started = time.perf_counter()
    again = engine.chat("what is the alpha-2 code of france")
    assert time.perf_counter() - started < 2.0
    assert again.meta["cached"] is True and again.text == text


def test_embedded_model_answers_with_no_server(engine_for):
    engine = engine_for(backend="embedded", max_tokens=16, num_ctx=2048)
    answer = engine.chat("What is the alpha-3 code of Germany?", timeout=180)
    assert answer.status == "done", answer.error
    assert answer.text.strip()
    assert any(source["record"]["name"] == "Germany" for source in answer.sources)
    assert answer.metrics["model"]


def test_a_missing_embedded_model_file_is_a_clear_error_not_an_internal_one(engine_for, tmp_path):
    engine = engine_for(backend="embedded", model_path=str(tmp_path / "nope.gguf"), max_tokens=16)
    answer = engine.chat("What is the alpha-3 code of Germany?", timeout=60)
    assert answer.status == "error" and "does not exist" in answer.error
    assert "Internal error" not in answer.error
