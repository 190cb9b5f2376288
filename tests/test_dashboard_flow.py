"""The dashboard's plain functions against a real engine: loading jobs, the data view, the model picker,
and whole answers streamed from a local Ollama-protocol server through the poll logic."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from dashboard.chat_view import send_question
from dashboard.data_flow import EXAMPLE_DATASET, ingest_view, render_data_view, show_record, start_load
from dashboard.ingest_jobs import CANCELLED, FAILED, RUNNING, SUCCEEDED, IngestJobRegistry
from dashboard.model_panel import apply_model_choice, model_options
from rag.cache import ResponseCache
from rag.engine import RAGEngine
from rag.errors import DataLoadError
from rag.settings import Settings, apply_overrides
from tests.protocol_servers import DEFAULT_PIECES, ChatReply, free_port
from tests.test_dashboard_chat_view import as_json, texts
from tests.test_dashboard_polling import Page

ANSWER = "".join(DEFAULT_PIECES)


@pytest.fixture(scope="module")
def embedder():
    from rag.embeddings import Embedder
    from rag.model_files import default_embedding_model_dir

    return Embedder(default_embedding_model_dir())


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    """Shared with test_dashboard_app.py: the example is embedded once per test run."""
    return tmp_path_factory.getbasetemp() / "dashboard-embeddings"


@pytest.fixture
def make_engine(embedder, cache_dir, tmp_path):
    """Engines share the embedding cache (fast loads) but never answers (each test gets its own)."""

    def make(**llm: Any) -> RAGEngine:
        overrides: dict[str, Any] = {"cache": {"directory": str(cache_dir)}, "retrieval": {"top_k": 3}}
        if llm:
            overrides["llm"] = llm
        settings = apply_overrides(Settings(), overrides, "test")
        return RAGEngine(settings, embedder=embedder, cache=ResponseCache(tmp_path / "answers"))

    return make


@pytest.fixture
def loaded_engine(make_engine, ollama_server):
    engine = make_engine(backend="ollama", base_url=ollama_server.url, model="llama3.2")
    engine.load_json(EXAMPLE_DATASET)
    return engine


def run_turn(engine: RAGEngine, question: str, turns: list[dict[str, Any]], *, on_poll=None, timeout: float = 30.0):
    """Ask like the page does and poll like the page does; return the page (its rendered history, stored
    turns and the replies it got)."""
    turn = send_question(engine, question, turns)
    page = Page.showing(list(turns) + [turn])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reply = page.poll(engine)
        if on_poll is not None:
            on_poll(reply, turn)
        if reply["done"]:
            return page
        time.sleep(0.02)
    raise AssertionError("the answer did not finish")


# ------------------------------------------------------------------------------------ ingest jobs
def test_a_job_reports_progress_then_its_result():
    registry = IngestJobRegistry()
    step = threading.Event()
    proceed = threading.Event()

    def work(progress):
        progress("embedding", 3, 10)
        step.set()
        proceed.wait(5)
        return {"record_count": 10}

    job_id = registry.start("data.json", work)
    assert step.wait(5)
    running = registry.get(job_id)
    assert running.status == RUNNING and running.stage == "embedding" and running.fraction == 0.3
    view = ingest_view(running)
    assert not view.finished and not view.hidden
    assert "Questions can be asked now; embedding the records for semantic search — data.json (3 / 10)" in texts(
        as_json(view.progress)
    )
    proceed.set()
    done = registry.wait(job_id, timeout=5)
    assert done.status == SUCCEEDED and done.result == {"record_count": 10}


def test_a_failing_job_keeps_the_loader_message_and_unknown_jobs_are_reported():
    registry = IngestJobRegistry()

    def work(progress):
        raise DataLoadError("bad.json is not valid JSON: Expecting value at line 1, column 2")

    job = registry.wait(registry.start("bad.json", work), timeout=5)
    assert job.status == FAILED
    view = ingest_view(job)
    assert view.finished and view.stored_data is None
    assert texts(as_json(view.message)) == "bad.json is not valid JSON: Expecting value at line 1, column 2"
    assert "lost" in texts(as_json(ingest_view(None).message))
    assert registry.get("no-such-job") is None


def test_a_load_shows_its_data_once_searchable_and_a_cancel_gives_the_tab_its_data_back(make_engine, ollama_server):
    engine = make_engine(backend="ollama", base_url=ollama_server.url, model="llama3.2")
    registry = IngestJobRegistry()
    done = registry.wait(start_load(engine, registry, EXAMPLE_DATASET, "orders.json", tab="t1"), timeout=120)
    assert done.status == SUCCEEDED
    orders_id = done.result["dataset_id"]
    records = [{"sku": f"S-{i}", "note": f"part number {i} for the {i % 7} line"} for i in range(3000)]
    job_id = start_load(engine, registry, json.dumps(records).encode(), "parts.json", tab="t1")
    deadline = time.monotonic() + 60
    while registry.get(job_id).stage not in ("embedding", "indexing") and time.monotonic() < deadline:
        time.sleep(0.01)
    running = ingest_view(registry.get(job_id))
    assert not running.finished and running.stored_data["name"] == "parts.json"
    assert running.stored_data["record_count"] == 3000, "the page shows the new data while it is embedded"
    parts_id = running.stored_data["dataset_id"]
    assert engine.cancel_load(tab="t1")  # what the page's "Cancel loading" button calls
    job = registry.wait(job_id, timeout=60)
    assert job.status == CANCELLED
    view = ingest_view(job)
    message = texts(as_json(view.message))
    assert message.startswith("Loading parts.json was cancelled.") and "loaded before" in message
    assert view.stored_data is None, "the page goes back to the data it showed before the load"
    assert engine.dataset_info.name == "orders.json"
    # the tab's next question, naming the dataset it showed last, is answered over orders.json
    for shown in (parts_id, orders_id):
        turn = send_question(engine, "How many orders are there?", [], dataset_id=shown, tab="t1")
        final = Page.showing([turn])
        while not (reply := final.poll(engine))["done"]:
            time.sleep(0.02)
        assert reply["fields"]["status"] == "done", reply["fields"]["error"]
        assert reply["fields"]["computed"]["value"] == 240


def test_the_registry_forgets_old_jobs():
    registry = IngestJobRegistry(max_jobs=2)
    first = registry.start("a", lambda progress: 1)
    registry.start("b", lambda progress: 2)
    registry.start("c", lambda progress: 3)
    assert registry.get(first) is None


def test_loading_the_example_then_a_bad_file_keeps_the_example(make_engine):
    engine = make_engine()
    registry = IngestJobRegistry()
    job = registry.wait(start_load(engine, registry, EXAMPLE_DATASET, "orders.json"), timeout=120)
    view = ingest_view(job)
    assert job.status == SUCCEEDED and view.stored_data["record_count"] == 240
    assert "Loaded orders.json: 240 records" in texts(as_json(view.message))

    bad = registry.wait(start_load(engine, registry, b'{"orders": [1, 2,', "broken.json"), timeout=60)
    assert bad.status == FAILED and "broken.json" in bad.message
    assert engine.dataset_info.name == "orders.json" and engine.dataset_info.record_count == 240

    data_view = render_data_view(engine)
    assert len(data_view.record_rows) == 240 and data_view.records_note == "240 records"
    assert len(data_view.charts) == 7 and len(data_view.profile_rows) == len(engine.dataset_info.profile.fields)
    shown = show_record(engine, "$[42]")
    assert shown.filter_model == {"rid": {"filterType": "text", "type": "equals", "filter": "$[42]"}}
    assert "ORD-10043" in str(as_json(shown.panel))
    missing = show_record(engine, "$[4242]")
    assert missing.filter_model == {} and "not in the loaded dataset" in str(as_json(missing.panel))


def test_the_data_view_of_an_empty_engine_invites_a_load(make_engine):
    view = render_data_view(make_engine())
    assert "No dataset loaded yet" in texts(as_json(view.summary)) and view.record_rows == []


# ------------------------------------------------------------------------------------ model picker
def test_switching_to_ollama_lists_its_models_and_picks_one(make_engine, ollama_server):
    """The choice is the tab's (returned for its session store); the engine's settings never change."""
    engine = make_engine()
    state = apply_model_choice(engine, trigger="backend", backend="ollama", base_url="", model=None)
    assert not state.url_disabled and state.url_placeholder == "default: http://127.0.0.1:11434"
    state = apply_model_choice(
        engine, trigger="refresh", stored=state.choice, backend="ollama", base_url=ollama_server.url, model=None
    )
    assert state.ok and "reachable" in state.message
    assert state.models == ollama_server.models and state.model == ollama_server.models[0]
    assert state.choice == {"backend": "ollama", "base_url": ollama_server.url, "model": state.model}
    state = apply_model_choice(
        engine, trigger="model", stored=state.choice, backend="ollama", base_url=ollama_server.url, model="qwen3:0.6b"
    )
    assert state.ok and state.choice["model"] == "qwen3:0.6b"
    assert engine.settings.llm.backend == "embedded" and engine.settings.llm.base_url is None
    assert model_options(state.models, "mine") == [{"label": "mine", "value": "mine"}] + [
        {"label": m, "value": m} for m in state.models
    ]


def test_an_unreachable_server_is_reported_with_the_reason(make_engine):
    engine = make_engine(backend="openai", base_url=f"http://127.0.0.1:{free_port()}/v1", connect_timeout=1.0)
    state = apply_model_choice(engine, trigger=None, backend="openai", base_url=None, model=None)
    assert not state.ok and state.message and state.models == []
    assert "127.0.0.1" in state.message


def test_a_bad_model_setting_is_reported_not_raised(make_engine):
    engine = make_engine()
    state = apply_model_choice(engine, trigger="backend", backend="martian", base_url=None, model=None)
    assert not state.ok and "llm.backend" in state.message


def test_the_embedded_model_needs_no_server(make_engine, gguf_path):
    engine = make_engine(backend="embedded")
    state = apply_model_choice(engine, trigger=None, backend="embedded", base_url=None, model=None)
    assert state.ok and state.url_disabled and state.models == [state.model]


# ------------------------------------------------------------------------------------ chat
def test_an_answer_streams_into_the_page_and_the_store(loaded_engine, ollama_server):
    ollama_server.reply = ChatReply(delay=0.03)
    page = run_turn(loaded_engine, "Which orders were returned?", [])
    assert page.shown_text == ANSWER
    added = [reply["text"] for reply in page.replies if reply["text"] and not reply["done"]]
    assert len(added) >= 2, "the text arrived over several polls"
    assert ANSWER.startswith("".join(added)) and page.replies[-1]["text"] == ANSWER
    turn = page.store[0]
    assert turn["status"] == "done" and turn["answer"] == ANSWER
    assert len(turn["sources"]) == 3 and all(s["record_id"].startswith("$[") for s in turn["sources"])
    assert turn["metrics"]["model"] == "llama3.2" and turn["metrics"]["completion_tokens"] == len(DEFAULT_PIECES)
    assert turn["meta"]["dataset_name"] == "orders.json" and turn["meta"]["dataset_hash"]
    assert "first token" in texts(page.history[0])


def test_the_next_question_carries_the_conversation_so_far(loaded_engine, ollama_server):
    store = run_turn(loaded_engine, "Which orders were returned?", []).store
    run_turn(loaded_engine, "And which of them were gifts?", store)
    messages = ollama_server.chat_requests[-1].body["messages"]
    contents = [m["content"] for m in messages]
    assert "Which orders were returned?" in contents and ANSWER in contents
    assert "And which of them were gifts?" in contents[-1]


def test_stop_ends_the_answer_on_the_server_and_keeps_the_partial_text(loaded_engine, ollama_server):
    ollama_server.reply = ChatReply(pieces=[f"word{i} " for i in range(200)], delay=0.05)
    stopped = []

    def stop_after_text(reply, turn):
        if not stopped and reply["text"]:
            stopped.append(loaded_engine.cancel(turn["id"]))

    page = run_turn(loaded_engine, "List every order", [], on_poll=stop_after_text)
    store = page.store
    assert stopped == [True]
    assert store[0]["status"] == "stopped"
    assert store[0]["answer"].startswith("word0 ") and len(store[0]["answer"].split()) < 200
    assert page.shown_text == store[0]["answer"]
    assert "stopped" in texts(page.history[0])
    assert ollama_server.wait_for_disconnect(5), "the server saw the stream closed"


@pytest.mark.parametrize("failure", ["server down", "unknown model", "timeout", "stream cut"])
def test_failures_show_a_clear_message_and_keep_the_partial_answer(loaded_engine, ollama_server, failure):
    if failure == "server down":
        loaded_engine.configure_llm(base_url=f"http://127.0.0.1:{free_port()}", connect_timeout=1.0)
        expected, partial = "127.0.0.1", ""
    elif failure == "unknown model":
        loaded_engine.configure_llm(model="no-such-model")
        expected, partial = "no-such-model", ""
    elif failure == "timeout":
        loaded_engine.configure_llm(read_timeout=0.5)
        ollama_server.reply = ChatReply(stall_after=2, stall_seconds=2.0)
        expected, partial = "stopped sending for 0.5 s", "".join(DEFAULT_PIECES[:2])
    else:
        ollama_server.reply = ChatReply(error_after=3, error_message="CUDA out of memory")
        expected, partial = "CUDA out of memory", "".join(DEFAULT_PIECES[:3])
    page = run_turn(loaded_engine, "What is the average total?", [])
    store = page.store
    assert store[0]["status"] == "error" and expected in store[0]["error"]
    assert store[0]["answer"] == partial and page.shown_text == partial
    assert expected in page.shown
