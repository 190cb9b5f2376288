"""Answers, Stops and loading jobs shared through a real redis-server, as several workers share them: the
``StreamBuffer`` contract in Redis, an answer produced by one worker read and stopped through another, a
Redis that goes away and comes back."""

from __future__ import annotations

import json
import threading
import time

import pytest

from app import create_app
from dashboard.ingest_jobs import SUCCEEDED, IngestJobRegistry, RedisJobMirror
from dashboard.polling import ANSWER_POLL_PATH
from rag.cache import ResponseCache
from rag.engine import RAGEngine
from rag.errors import ConfigError
from rag.redis_buffer import RedisStreamBuffer
from rag.redis_cache import RedisResponseCache
from rag.settings import Settings, apply_overrides
from rag.state import SHARED_STATE_DOWN, make_stream_buffer
from tests.datasets import vega_cars_path
from tests.scripted_llm import ScriptedClient
from tests.test_engine import embedder, wait_final  # noqa: F401  (shared fixtures)
from tests.test_stream_buffer import seconds_until_woken


@pytest.fixture
def buffer(redis_server) -> RedisStreamBuffer:
    return RedisStreamBuffer.from_url(redis_server.url)


# ------------------------------------------------------------------------------------ the contract
def test_a_reader_gets_what_is_new_after_its_offset_counted_in_characters(buffer):
    buffer.start("s", question="Où?")
    buffer.append("s", "Héllo ")
    first = buffer.read("s", 0)
    assert (first.text, first.offset, first.status) == ("Héllo ", 6, "streaming")
    buffer.append("s", "😀 wörld")
    second = buffer.read("s", first.offset)
    assert (second.text, second.offset) == ("😀 wörld", 13)
    assert buffer.read("s", second.offset).text == "" and second.meta == {"question": "Où?"}
    assert buffer.read("unknown", 0) is None


def test_the_first_final_status_wins_and_later_writes_are_ignored(buffer):
    buffer.start("s")
    buffer.append("s", "partial")
    buffer.finish("s", status="error", error="server went away", metrics={"tokens": 1})
    buffer.append("s", " more")
    buffer.finish("s", status="done")
    snapshot = buffer.read("s", 0)
    assert snapshot.text == "partial" and snapshot.status == "error" and snapshot.error == "server went away"
    assert snapshot.metrics == {"tokens": 1} and snapshot.is_complete
    with pytest.raises(ValueError):
        buffer.finish("s", status="streaming")


def test_sources_computed_part_metadata_and_reasoning_are_kept(buffer):
    buffer.start("s", model="m", notes=[])
    buffer.set_sources("s", [{"record_id": "$[1]", "score": 0.5}])
    buffer.set_computed("s", {"summary": "108 of 406 cars", "value": 108})
    buffer.update_meta("s", cached=False, notes=["a note"])
    buffer.append_thinking("s", "Let me think")
    snapshot = buffer.read("s", 0)
    assert snapshot.sources == [{"record_id": "$[1]", "score": 0.5}]
    assert snapshot.computed == {"summary": "108 of 406 cars", "value": 108}
    assert snapshot.meta == {"model": "m", "notes": ["a note"], "cached": False}, "merged, lists stay lists"
    assert snapshot.thinking_chars == 12 and buffer.thinking("s") == "Let me think"
    buffer.set_sources("gone", [])  # an unknown answer is not created by a write
    assert buffer.read("gone", 0) is None


def test_a_held_reader_wakes_when_the_first_token_arrives(buffer):
    buffer.start("s")
    seen = buffer.read("s", 0).version
    assert buffer.wait_for_change("s", seen, timeout=0.1) is False
    assert 0.15 < seconds_until_woken(buffer, "s", seen) < 0.6
    assert buffer.read("s", 0).version > seen


def test_answers_expire_after_their_time_to_live(redis_server):
    short = RedisStreamBuffer.from_url(redis_server.url, ttl=1)
    short.start("s")
    short.append("s", "text")
    assert len(short) == 1
    time.sleep(2.2)
    assert short.read("s", 0) is None and len(short) == 0


def test_a_stop_request_is_seen_by_whoever_asks(buffer):
    buffer.start("a")
    buffer.start("b")
    buffer.request_stop("b")
    assert buffer.stops_requested(["a", "b", "missing"]) == {"b"}


def test_a_redis_that_does_not_answer_is_a_clear_settings_error(redis_server):
    settings = apply_overrides(Settings(), {"state": {"backend": "redis", "redis_url": "redis://127.0.0.1:9/0"}}, "t")
    with pytest.raises(ConfigError, match="state.redis_url: Redis at redis://127.0.0.1:9/0 does not answer"):
        make_stream_buffer(settings.state)
    with pytest.raises(ConfigError, match="'state.backend' must be one of memory, redis"):
        apply_overrides(Settings(), {"state": {"backend": "etcd"}}, "t")


# ------------------------------------------------------------------------------------ two workers
@pytest.fixture
def worker(redis_server, embedder, tmp_path):
    """Engines in the roles of workers: the same Redis and dataset store, each its own model client."""

    def make(client=None, *, shared_cache=False):
        settings = apply_overrides(Settings(), {
            "state": {"backend": "redis", "redis_url": redis_server.url},
            "cache": {"directory": str(tmp_path / "cache")},
        }, "test")
        client = client or ScriptedClient()
        cache = None if shared_cache else ResponseCache(None)  # None: the engine's own, in Redis
        engine = RAGEngine(settings, client_factory=lambda llm: client, embedder=embedder, cache=cache)
        return engine, client

    return make


def test_an_answer_made_by_one_worker_is_polled_and_stopped_through_another(worker):
    pieces = [f"word{i} " for i in range(200)]
    producing, client = worker(ScriptedClient(delay=0.02).enqueue(*pieces))
    other, _ = worker()
    info = producing.load_json(vega_cars_path())
    producing.chat_stream("Which car is the fastest?", "s1", dataset_id=info.dataset_id)
    assert client.started.wait(30)
    time.sleep(0.3)
    app = create_app(engine=other)
    http = app.server.test_client()
    reply = http.post("/" + ANSWER_POLL_PATH, json={"seq": 1, "session": "s1", "offset": 0}).get_json()
    assert reply["text"].startswith("word0 word1") and not reply["done"], "the other worker serves the poll"

    asked = time.monotonic()
    assert other.cancel("s1") is True, "a Stop sent to a worker that is not producing the answer"
    final = wait_final(producing, "s1", timeout=10)
    stopped_after = time.monotonic() - asked
    assert final.status == "stopped" and stopped_after < 0.5, f"stopped after {stopped_after:.2f} s"
    assert final.text.startswith(reply["text"]) and len(final.text) < len("".join(pieces)), "the text so far is kept"
    assert other.read("s1", 0).status == "stopped"
    assert other.cancel("s1") is False, "nothing left to stop"


def test_a_dataset_loaded_by_one_worker_answers_through_another_at_once(worker):
    loading, _ = worker()
    info = loading.load_json(vega_cars_path())  # in shared mode it is in the store when the load returns
    answering, client = worker(ScriptedClient().enqueue("108 cars."))
    answering.chat_stream("How many cars have 8 cylinders?", "s2", dataset_id=info.dataset_id)
    final = wait_final(loading, "s2", timeout=30)
    assert final.status == "done" and final.computed["value"] == 108 and client.history


def test_an_answer_one_worker_made_is_answered_at_once_by_another_from_the_shared_cache(worker):
    producing, model = worker(ScriptedClient().enqueue("The fastest is ", "the Buick."), shared_cache=True)
    other, other_model = worker(shared_cache=True)
    info = producing.load_json(vega_cars_path())
    producing.chat_stream("Which car is the fastest?", "s5", dataset_id=info.dataset_id)
    first = wait_final(producing, "s5", timeout=30)
    assert first.status == "done" and not first.meta.get("cached") and len(model.history) == 1
    other.chat_stream("which car is the FASTEST", "s6", dataset_id=info.dataset_id)  # the same question
    again = wait_final(other, "s6", timeout=30)
    assert again.status == "done" and again.meta.get("cached") is True
    assert again.text == "The fastest is the Buick." and again.sources == first.sources
    assert other_model.history == [], "the second worker never asked its model"
    other.clear_cache()
    model.enqueue("Asked again.")
    producing.chat_stream("Which car is the fastest?", "s7", dataset_id=info.dataset_id)
    cleared = wait_final(producing, "s7", timeout=30)
    assert cleared.text == "Asked again." and len(model.history) == 2, "a cache cleared by one worker is cleared for all"


def test_the_shared_cache_keeps_the_most_recently_used_answers_and_survives_a_redis_that_goes_away(redis_server):
    client = RedisStreamBuffer.from_url(redis_server.url).client
    cache = RedisResponseCache(client, max_items=3)
    for number in range(3):
        cache.put(f"k{number}", {"text": f"answer {number}"})
    assert cache.get("k0") == {"text": "answer 0"}  # k0 is now the most recently used
    cache.put("k3", {"text": "answer 3"})
    assert len(cache) == 3 and cache.get("k1") is None, "the least recently used goes"
    assert [cache.get(key)["text"] for key in ("k0", "k2", "k3")] == ["answer 0", "answer 2", "answer 3"]
    assert 0 < client.ttl("rag:cached:k0") <= 30 * 24 * 3600
    redis_server.stop()
    assert cache.get("k0") is None, "a Redis that is away is a miss, not an error"
    cache.put("k4", {"text": "answer 4"})  # skipped, not raised
    redis_server.start()
    assert cache.get("k0") is None, "the test Redis keeps nothing across a restart"
    cache.put("k5", {"text": "answer 5"})
    assert cache.get("k5") == {"text": "answer 5"}
    cache.clear()
    assert len(cache) == 0 and cache.get("k5") is None


def test_a_loading_job_is_seen_by_every_worker(redis_server, buffer):
    one = IngestJobRegistry(mirror=RedisJobMirror(buffer.client))
    another = IngestJobRegistry(mirror=RedisJobMirror(buffer.client))
    gate = threading.Event()

    def work(progress):
        progress("embedding", 3, 10)
        gate.wait(10)
        return {"name": "cars.json", "record_count": 406}

    job_id = one.start("cars.json", work)
    deadline = time.monotonic() + 10
    while (seen := another.get(job_id)) is None or seen.stage != "embedding":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert (seen.done, seen.total, seen.status) == (3, 10, "running")
    gate.set()
    one.wait(job_id, timeout=10)
    finished = another.get(job_id)
    assert finished.status == SUCCEEDED and finished.result == {"name": "cars.json", "record_count": 406}


def test_a_redis_that_goes_away_is_reported_and_the_app_recovers_when_it_returns(worker, redis_server):
    engine, client = worker(ScriptedClient().enqueue("Back again."))
    info = engine.load_json(vega_cars_path())
    http = create_app(engine=engine).server.test_client()
    redis_server.stop()
    down = http.post("/" + ANSWER_POLL_PATH, json={"seq": 1, "session": "s3", "offset": 0})
    assert down.status_code == 503 and down.get_json() == {"error": SHARED_STATE_DOWN}
    health = http.get("/healthz")
    assert health.status_code == 503 and not health.get_json()["checks"]["shared_state"]["ok"]
    redis_server.start()
    engine.chat_stream("Which car is the fastest?", "s3", dataset_id=info.dataset_id)
    final = wait_final(engine, "s3", timeout=30)
    assert final.status == "done" and final.text == "Back again."
    up = http.post("/" + ANSWER_POLL_PATH, json={"seq": 2, "session": "s3", "offset": 0}).get_json()
    assert up["done"] and up["text"] == "Back again."
    assert http.get("/healthz").get_json()["checks"]["shared_state"]["ok"]
    assert json.loads(json.dumps(up))  # the reply is plain JSON


@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")  # the answer thread ends cleanly
def test_a_redis_that_goes_away_mid_answer_ends_the_answer_and_the_page_keeps_its_text(worker, redis_server):
    engine, _ = worker(ScriptedClient(delay=0.05).enqueue(*[f"w{i} " for i in range(400)]))
    info = engine.load_json(vega_cars_path())
    http = create_app(engine=engine).server.test_client()
    engine.chat_stream("Describe every car", "s10", dataset_id=info.dataset_id)
    seen, deadline = "", time.monotonic() + 30
    while "w3 " not in seen and time.monotonic() < deadline:
        reply = http.post("/" + ANSWER_POLL_PATH, json={"seq": 1, "session": "s10", "offset": 0}).get_json()
        seen = reply.get("text", "")
        time.sleep(0.05)
    assert "w3 " in seen
    redis_server.stop()  # mid-answer
    down = http.post("/" + ANSWER_POLL_PATH, json={"seq": 2, "session": "s10", "offset": len(seen)})
    assert down.status_code == 503 and down.get_json() == {"error": SHARED_STATE_DOWN}
    time.sleep(0.5)  # the answer's next write fails: its thread ends instead of streaming into nothing
    redis_server.start()  # (the test Redis keeps no data across a restart)
    back = http.post("/" + ANSWER_POLL_PATH, json={"seq": 3, "session": "s10", "offset": len(seen)}).get_json()
    assert back["done"] and back["fields"]["status"] == "interrupted", back
    assert back["from"] == back["to"] == len(seen), "the page keeps the text it has"
    assert engine.cancel("s10") is False, "no answer is left running"


def wait_for_waiting(engine, session_id, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        snapshot = engine.read(session_id, 0)
        if snapshot is not None and snapshot.meta.get("waiting"):
            return snapshot.meta["waiting"]
        time.sleep(0.02)
    raise AssertionError("the question never showed that it waits")


def test_a_question_sent_to_another_worker_waits_for_the_file_its_tab_is_loading(worker):
    loading, _ = worker()
    asked, client = worker(ScriptedClient().enqueue("108 cars."))
    ticket = loading.begin_load("cars.json", tab="t1")  # the upload reached worker one
    asked.chat_stream("How many cars have 8 cylinders?", "s4", tab="t1")  # the question reached worker two
    assert wait_for_waiting(asked, "s4").startswith("Waiting for cars.json")
    assert not client.history, "the model is not asked before the file is loaded"
    loading.load_json(vega_cars_path(), ticket=ticket)
    final = wait_final(asked, "s4", timeout=30)
    assert final.status == "done" and final.computed["value"] == 108 and final.meta["dataset_name"] == "cars.json"


def test_a_question_sent_before_the_upload_reached_any_worker_follows_the_worker_that_loads_it(worker):
    loading, _ = worker()
    asked, _ = worker(ScriptedClient().enqueue("108 cars."))
    asked.expect_load("cars.json", tab="t2")  # Send came first, to worker two
    asked.chat_stream("How many cars have 8 cylinders?", "s5", tab="t2")
    wait_for_waiting(asked, "s5")
    loading.load_json(vega_cars_path(), ticket=loading.begin_load("cars.json", tab="t2"))  # the upload, on worker one
    final = wait_final(asked, "s5", timeout=30)
    assert final.status == "done" and final.computed["value"] == 108, "not the 30 s 'never reached the app' error"


def test_a_cancel_sent_to_another_worker_stops_the_load_and_the_waiting_question_is_given_back(worker, tmp_path):
    loading, _ = worker()
    asked, _ = worker()
    big = tmp_path / "big.json"
    big.write_text(json.dumps([{"id": i, "note": f"record number {i} of many"} for i in range(20_000)]))
    ticket = loading.begin_load("big.json", tab="t3")
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(error=_load_error(loading, big, ticket)))
    thread.start()
    asked.chat_stream("How many records are there?", "s6", tab="t3")
    wait_for_waiting(asked, "s6")
    assert asked.cancel_load(tab="t3") is True, "the Cancel reached a worker that is not loading"
    thread.join(timeout=60)
    assert "cancelled" in result["error"]
    final = wait_final(asked, "s6", timeout=30)
    assert final.status == "error" and "big.json could not be loaded" in final.error
    assert final.meta.get("resend") == "How many records are there?"


def _load_error(engine, path, ticket) -> str:
    try:
        engine.load_json(path, ticket=ticket)
    except Exception as exc:  # the cancel ends the load with an error
        return str(exc)
    return "loaded"


def test_an_answer_whose_worker_died_is_ended_with_a_clear_error_and_a_live_one_is_not(worker, monkeypatch):
    import rag.answer_runner as runner_module

    monkeypatch.setattr(runner_module, "ORPHANED_AFTER_SECONDS", 1.5)
    producing, client = worker(ScriptedClient(delay=0.05).enqueue(*[f"w{i} " for i in range(80)]))
    reading, _ = worker()
    info = producing.load_json(vega_cars_path())
    producing.chat_stream("Which car is the fastest?", "alive", dataset_id=info.dataset_id)
    reading.buffer.start("orphan", question="q")  # as a worker leaves it when killed mid-answer
    reading.buffer.append("orphan", "half an answer")
    time.sleep(2.5)
    orphan = reading.read("orphan", 0)
    assert orphan.status == "error" and orphan.error == runner_module.ORPHANED_MESSAGE
    assert orphan.text == "half an answer"
    assert reading.read("alive", 0).status == "streaming", "its worker beats: not taken for dead"
    assert wait_final(producing, "alive").status == "done"
