"""``GET /healthz`` of the app served by waitress: always quick, never recursive, about the configured backend only,
naming no dataset; and the app's own address refused as a model server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import request

from app import create_app
from dashboard import ids
from rag.engine import RAGEngine
from rag.llm_choice import AppAddress
from rag.settings import Settings, apply_overrides
from tests.app_server import ServedApp, output, serve_waitress
from tests.protocol_servers import ChatReply, OpenAIServer, free_port, unanswered_port

RECORDS = [{"id": i, "status": "returned" if i % 3 == 0 else "shipped", "city": f"City {i}"} for i in range(12)]


@pytest.fixture(scope="module")
def embedder():
    from rag.embeddings import Embedder
    from rag.model_files import default_embedding_model_dir

    return Embedder(default_embedding_model_dir())


def engine_for(tmp_path, base_url: str, embedder: Any = None, **llm: Any) -> RAGEngine:
    settings = apply_overrides(
        Settings(),
        {
            "llm": {"backend": "openai", "base_url": base_url, "model": "smollm2", "connect_timeout": 3.0,
                    "read_timeout": 30.0, **llm},
            "cache": {"directory": str(tmp_path / "cache")},
            "analytics": {"planner": "rules"},
        },
        "test",
    )
    return RAGEngine(settings, embedder=embedder)


class Counted:
    """The ``/healthz`` requests an app received, and those that came from a model client (``?/models``)."""

    def __init__(self, served_app: Any) -> None:
        self.total = 0
        self.from_a_model_client = 0
        self._lock = threading.Lock()

        @served_app.server.before_request
        def count() -> None:
            if request.path == "/healthz":
                with self._lock:
                    self.total += 1
                    self.from_a_model_client += bool(request.query_string)


def quick_healthz(app: ServedApp, times: int = 10) -> list[dict[str, Any]]:
    """``/healthz`` ``times`` in a row, each answered in under a second."""
    reports = []
    for _ in range(times):
        started = time.monotonic()
        reply = app.get("/healthz", timeout=5)
        elapsed = time.monotonic() - started
        assert elapsed < 1.0, f"/healthz took {elapsed:.2f} s"
        reports.append(reply.json())
    return reports


def test_a_tab_pointing_at_the_app_itself_is_refused_and_healthz_stays_quick(tmp_path, embedder, openai_server):
    openai_server.reply = ChatReply(pieces=["Fine."])
    engine = engine_for(tmp_path, openai_server.base_url, embedder)
    engine.load_json(RECORDS, name="private-visitor-file.json")
    dash_app = create_app(engine=engine)
    counted = Counted(dash_app)
    with serve_waitress(dash_app) as app:
        own = f"http://127.0.0.1:{app.port}/healthz?"
        reply = app.call(ids.BASE_URL_INPUT, "value", own, inputs={f"{ids.LLM_CHOICE}.data": None})
        badge = json.dumps(output(reply, ids.BACKEND_STATUS, "children"))
        assert "refused" in badge and "this app's own address" in badge
        assert output(reply, ids.LLM_CHOICE, "data") is None, "the tab keeps the configured server"
        sent = app.call(ids.SEND_BUTTON, "n_clicks", 1, state={
            f"{ids.CHAT_INPUT}.value": "Which orders were returned?",
            f"{ids.LLM_CHOICE}.data": {"backend": "openai", "base_url": own},  # a crafted store
        })
        assert "own address" in json.dumps(output(sent, ids.CHAT_NOTICE, "children"))
        session_id = output(sent, ids.STREAMING_SESSION_ID, "data")
        deadline = time.monotonic() + 30
        while not ((snapshot := engine.read(session_id, 0)) and snapshot.is_complete):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert snapshot.status == "done" and snapshot.text == "Fine.", "answered by the configured server"
        reports = quick_healthz(app)
    assert all(report["status"] == "ok" for report in reports)
    assert counted.from_a_model_client == 0, "the app never asked itself"


def test_healthz_stays_quick_when_the_configured_server_is_the_app_itself(tmp_path):
    port = free_port()
    engine = engine_for(tmp_path, f"http://127.0.0.1:{port}/healthz?")  # the port is learned from the requests
    dash_app = create_app(engine=engine)
    counted = Counted(dash_app)
    with serve_waitress(dash_app, port=port) as app:
        reports = quick_healthz(app)
    llm = reports[-1]["checks"]["llm"]
    assert reports[-1]["status"] == "failing" and not llm["ok"] and "this app's own address" in llm["message"]
    assert counted.from_a_model_client == 0 and counted.total == 10


def test_healthz_cannot_recurse_even_when_the_apps_address_is_not_recognised(tmp_path, monkeypatch):
    """A name of this machine the check does not know, say: the model check runs in the background, once, and the
    /healthz it reaches answers from the check under way instead of starting another."""
    port = free_port()
    engine = engine_for(tmp_path, f"http://127.0.0.1:{port}/healthz?")
    engine.app_address = AppAddress("127.0.0.1")
    monkeypatch.setattr(engine.app_address, "note_port", lambda port: None)
    dash_app = create_app(engine=engine)
    counted = Counted(dash_app)
    with serve_waitress(dash_app, port=port) as app:
        reports = quick_healthz(app)
        time.sleep(1.0)
    assert reports[-1]["status"] == "failing"
    assert counted.from_a_model_client <= 3, f"{counted.from_a_model_client} self-checks: they piled up"


@pytest.fixture
def silent_server() -> Iterator[OpenAIServer]:
    """A server that accepts connections and never answers."""
    server = OpenAIServer()
    server.route = lambda exchange: exchange.pause(10)
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize("kind", ["hanging connect", "silent server"])
def test_healthz_stays_quick_whatever_the_model_server_does(tmp_path, silent_server, kind):
    with unanswered_port() as hanging:
        url = f"http://127.0.0.1:{hanging}/v1" if kind == "hanging connect" else silent_server.base_url
        with serve_waitress(create_app(engine=engine_for(tmp_path, url))) as app:
            reports = quick_healthz(app)
    assert reports[-1]["status"] == "failing"


def test_healthz_names_no_dataset_and_reports_the_configured_backend_only(tmp_path, embedder, openai_server):
    engine = engine_for(tmp_path, openai_server.base_url, embedder)
    engine.load_json(RECORDS, name="private-visitor-file.json")
    with serve_waitress(create_app(engine=engine)) as app:
        app.call(ids.BASE_URL_INPUT, "value", "http://127.0.0.1:9/v1", inputs={f"{ids.LLM_CHOICE}.data": None})
        reply = app.get("/healthz")
    body = reply.json()
    assert reply.status_code == 200 and body["status"] == "ok"
    assert "dataset" not in body and "private-visitor-file" not in reply.text
    assert set(body) == {"status", "checks", "warm"}
    assert body["checks"]["llm"]["backend"] == "openai" and "127.0.0.1:9/" not in reply.text
