"""``llm.max_concurrent``: answers beyond it wait in line for the model, the turn saying its place; Stop works
while waiting; across workers the line is shared through Redis."""

from __future__ import annotations

import threading
import time

import pytest

from rag.errors import ConfigError
from rag.settings import Settings, apply_overrides
from tests.scripted_llm import ScriptedClient
from tests.test_engine import embedder, embeddings_dir, make_engine, wait_final  # noqa: F401  (shared fixtures)
from tests.test_engine_loading import wait_for_meta
from tests.datasets import vega_cars_path


class CountingClient(ScriptedClient):
    """Counts the streams open at once."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.open = 0
        self.most_open = 0
        self._count = threading.Lock()

    def _stream(self, messages, options, report, cancel):
        with self._count:
            self.open += 1
            self.most_open = max(self.most_open, self.open)
        try:
            yield from super()._stream(messages, options, report, cancel)
        finally:
            with self._count:
                self.open -= 1


def test_answers_beyond_the_limit_wait_in_line_and_say_their_place(make_engine):
    client = CountingClient(delay=0.05)
    for n in range(3):
        client.enqueue(*[f"a{n}-{i} " for i in range(60)])  # 3 s each: the line forms even on a busy machine
    engine, _ = make_engine(client, llm={"max_concurrent": 1})
    engine.load_json(vega_cars_path())
    for n, question in enumerate(("Which car is the fastest?", "Which car is the slowest?", "Which car is the heaviest?")):
        engine.chat_stream(question, f"s{n}")
        time.sleep(0.05)
    assert wait_for_meta(engine, "s2", "waiting") == "Waiting for the model (position 2)…"
    finals = [wait_final(engine, f"s{n}") for n in range(3)]
    assert all(final.status == "done" and not final.meta.get("waiting") for final in finals)
    assert client.most_open == 1, "one stream at a time"
    assert [final.text.split("-")[0] for final in finals] == ["a0", "a1", "a2"], "first come, first served"


def test_stop_works_while_waiting_and_the_model_is_never_asked(make_engine):
    client = CountingClient(delay=0.05)
    client.enqueue(*[f"w{i} " for i in range(1200)])  # a minute: busy for as long as a loaded machine needs
    engine, _ = make_engine(client, llm={"max_concurrent": 1})
    engine.load_json(vega_cars_path())
    engine.chat_stream("Which car is the fastest?", "busy")
    assert client.started.wait(30)
    engine.chat_stream("Which car is the slowest?", "waiting")
    wait_for_meta(engine, "waiting", "waiting")
    assert engine.cancel("waiting") is True
    stopped = wait_final(engine, "waiting", timeout=5)
    assert stopped.status == "stopped" and stopped.text == ""
    assert engine.cancel("busy") is True
    assert wait_final(engine, "busy").status == "stopped" and len(client.history) == 1


def test_a_limit_below_one_is_refused_with_its_key():
    with pytest.raises(ConfigError, match="'llm.max_concurrent' must be at least 1"):
        apply_overrides(Settings(), {"llm": {"max_concurrent": 0}}, "t")


def test_the_line_is_shared_by_every_worker_on_one_redis(redis_server, embedder, tmp_path):
    from rag.cache import ResponseCache
    from rag.engine import RAGEngine

    def worker(client):
        settings = apply_overrides(Settings(), {
            "state": {"backend": "redis", "redis_url": redis_server.url},
            "cache": {"directory": str(tmp_path / "cache")},
            "llm": {"max_concurrent": 1},
        }, "test")
        return RAGEngine(settings, client_factory=lambda llm: client, embedder=embedder, cache=ResponseCache(None))

    first_client = CountingClient(delay=0.05).enqueue(*[f"x{i} " for i in range(30)])
    second_client = CountingClient(delay=0.0).enqueue("second answer")
    first, second = worker(first_client), worker(second_client)
    info = first.load_json(vega_cars_path())
    first.chat_stream("Which car is the fastest?", "w1", dataset_id=info.dataset_id)
    assert first_client.started.wait(30)
    second.chat_stream("Which car is the slowest?", "w2", dataset_id=info.dataset_id)
    assert wait_for_meta(second, "w2", "waiting") == "Waiting for the model (position 1)…"
    assert not second_client.history, "the second worker waits for the first worker's turn to end"
    assert wait_final(first, "w1").status == "done"
    final = wait_final(second, "w2", timeout=10)
    assert final.status == "done" and final.text == "second answer"
