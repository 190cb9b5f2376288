"""A tab's model choice is the tab's own, and API keys go only where they belong (the app served by waitress,
its callbacks posted over HTTP as the browser posts them).

Server A is the configured OpenAI-compatible server and wants its API key; server B is anybody else's (an
attacker's): it records every request's headers.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from app import create_app
from dashboard import ids
from dashboard.data_flow import EXAMPLE_DATASET
from dashboard.model_panel import CONFIGURED_SERVER
from rag.cache import ResponseCache
from rag.engine import RAGEngine
from rag.settings import Settings, apply_overrides
from tests.app_server import ServedApp, output, serve_waitress
from tests.protocol_servers import ChatReply, OpenAIServer

KEY = "sk-configured-secret"
QUESTION = "Which orders were returned?"


@pytest.fixture(scope="module")
def embedder():
    from rag.embeddings import Embedder
    from rag.model_files import default_embedding_model_dir

    return Embedder(default_embedding_model_dir())


@pytest.fixture(scope="module")
def _server_b() -> Iterator[OpenAIServer]:
    server = OpenAIServer(models=["attacker-model"]).start()
    yield server
    server.stop()


@pytest.fixture
def server_b(_server_b: OpenAIServer) -> OpenAIServer:
    """Somebody else's OpenAI-compatible server, answering "From B."."""
    _server_b.reset()
    _server_b.reply = ChatReply(pieces=["From ", "B."])
    return _server_b


@pytest.fixture
def server_a(openai_server: OpenAIServer) -> Iterator[OpenAIServer]:
    """The configured server: it refuses requests without ``KEY``; answers "From A."."""
    openai_server.api_key = KEY
    openai_server.reply = ChatReply(pieces=["From ", "A."])
    yield openai_server
    openai_server.api_key = None


def make_engine(embedder, tmp_path_factory, tmp_path, server_a: OpenAIServer, **sections: Any) -> RAGEngine:
    llm = {"backend": "openai", "base_url": server_a.base_url, "model": "smollm2", "api_key": KEY,
           **sections.pop("llm", {})}
    settings = apply_overrides(
        Settings(),
        {
            "llm": llm,
            "cache": {"directory": str(tmp_path_factory.getbasetemp() / "dashboard-embeddings")},
            "retrieval": {"top_k": 3},
            "analytics": {"planner": "rules"},
            **sections,
        },
        "test",
    )
    engine = RAGEngine(settings, embedder=embedder, cache=ResponseCache(tmp_path / "answers"))
    engine.load_json(EXAMPLE_DATASET)
    return engine


@pytest.fixture
def served(embedder, tmp_path_factory, tmp_path, server_a) -> Iterator[tuple[ServedApp, RAGEngine]]:
    engine = make_engine(embedder, tmp_path_factory, tmp_path, server_a)
    with serve_waitress(create_app(engine=engine)) as app:
        yield app, engine


def ask(app: ServedApp, engine: RAGEngine, choice: Any, question: str = QUESTION) -> tuple[Any, dict[str, Any]]:
    """Send a question from a tab whose model store holds ``choice``; the finished answer and the Send reply."""
    reply = app.call(ids.SEND_BUTTON, "n_clicks", 1, state={
        f"{ids.CHAT_INPUT}.value": question,
        f"{ids.CHAT_HISTORY_STORE}.data": [],
        f"{ids.STREAMING_ACTIVE}.data": False,
        f"{ids.LLM_CHOICE}.data": choice,
    })
    session_id = output(reply, ids.STREAMING_SESSION_ID, "data")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        snapshot = engine.read(session_id, 0)
        if snapshot is not None and snapshot.is_complete:
            return snapshot, reply
        time.sleep(0.02)
    raise AssertionError("the answer did not finish")


def panel(app: ServedApp, input_id: str, value: Any, choice: Any = None, **inputs: Any) -> dict[str, Any]:
    """Trigger the model panel's callback as a tab whose store holds ``choice``."""
    return app.call(input_id, "value" if input_id != ids.REFRESH_MODELS_BUTTON else "n_clicks", value,
                    inputs={f"{ids.LLM_CHOICE}.data": choice, **{f"{key}.value": v for key, v in inputs.items()}})


def authorizations(server: OpenAIServer) -> list[str | None]:
    return [request.headers.get("authorization") for request in server.requests]


def status_text(reply: dict[str, Any]) -> str:
    return json.dumps(output(reply, ids.BACKEND_STATUS, "children"))


def test_a_tab_pointed_at_another_server_sends_it_no_key_and_other_tabs_keep_the_configured_one(
    served, server_a, server_b
):
    app, engine = served
    chose = panel(app, ids.BASE_URL_INPUT, server_b.base_url)
    choice = output(chose, ids.LLM_CHOICE, "data")
    assert choice == {"backend": "openai", "base_url": server_b.base_url, "model": "attacker-model"}
    assert '"dot ok"' in status_text(chose) and server_b.base_url in status_text(chose)
    assert [r.path for r in server_b.requests] == ["/v1/models"]
    assert engine.settings.llm.base_url == server_a.base_url, "the page never changes the configured settings"

    answer, _ = ask(app, engine, choice)
    assert answer.status == "done" and answer.text == "From B."
    assert answer.meta["backend"] == "openai" and answer.meta["model"] == "attacker-model"
    assert KEY not in json.dumps(answer.meta)
    assert [r.path for r in server_b.chat_requests] == ["/v1/chat/completions"]
    assert "Which orders" in json.dumps(server_b.chat_requests[0].body)  # the tab's own question, sent where it chose

    other_tab, _ = ask(app, engine, None, "Which orders were returned, please?")  # a second tab: configured settings
    assert other_tab.status == "done" and other_tab.text == "From A."
    assert server_a.chat_requests and all(a == f"Bearer {KEY}" for a in authorizations(server_a))
    assert len(server_b.chat_requests) == 1, "the other tab's question never reaches B"
    assert {r.path for r in server_b.requests} == {"/v1/models", "/v1/chat/completions"}
    assert set(authorizations(server_b)) == {None}, "B never saw the configured key, on /v1/models nor on a question"

    health = app.get("/healthz")
    assert health.status_code == 200 and server_b.base_url not in health.text and KEY not in health.text
    assert f"at {server_a.base_url}" in health.json()["checks"]["llm"]["message"]


def test_a_key_typed_for_the_tab_goes_to_the_tabs_server_only_and_is_never_sent_back(served, server_a, server_b):
    app, engine = served
    choice = output(panel(app, ids.BASE_URL_INPUT, server_b.base_url), ids.LLM_CHOICE, "data")
    typed = panel(app, ids.API_KEY_INPUT, "sk-visitors-own", choice)
    assert output(typed, ids.API_KEY_INPUT, "value") == "", "the box is emptied, the key kept in the tab's store"
    assert output(typed, ids.API_KEY_FIELD, "style") == {}, "shown for the OpenAI-compatible backend"
    assert output(typed, ids.API_KEY_INPUT, "placeholder").startswith("an API key is set")
    choice = output(typed, ids.LLM_CHOICE, "data")
    assert choice["api_key"] == "sk-visitors-own"
    answer, _ = ask(app, engine, choice)
    assert answer.text == "From B." and server_b.chat_requests[-1].headers["authorization"] == "Bearer sk-visitors-own"
    assert "sk-visitors-own" not in json.dumps(answer.meta)
    moved = panel(app, ids.BASE_URL_INPUT, server_a.base_url, choice)  # another server: the typed key stays behind
    assert output(moved, ids.LLM_CHOICE, "data") is None, "the configured server: the tab's store is emptied"
    assert output(moved, ids.SERVER_SELECT, "value") == CONFIGURED_SERVER
    assert output(moved, ids.API_KEY_INPUT, "value") == ""
    assert not any(a == "Bearer sk-visitors-own" for a in authorizations(server_a))


def test_without_custom_urls_the_panel_offers_the_configured_and_listed_servers_only(
    embedder, tmp_path_factory, tmp_path, server_a, server_b, ollama_server
):
    engine = make_engine(
        embedder, tmp_path_factory, tmp_path, server_a,
        llm={"servers": [{"name": "team-ollama", "backend": "ollama", "base_url": ollama_server.url,
                          "model": "llama3.2"}]},
        server={"allow_custom_llm_urls": False},
    )
    with serve_waitress(create_app(engine=engine)) as app:
        layout = json.dumps(app.get("/_dash-layout").json())
        assert ollama_server.url not in layout and server_a.base_url not in layout, "servers are offered by name"
        nodes = _components(app.get("/_dash-layout").json())
        assert [o["value"] for o in nodes[ids.SERVER_SELECT]["props"]["options"]] == [CONFIGURED_SERVER, "team-ollama"]
        assert nodes[ids.BASE_URL_INPUT]["props"]["disabled"] is True

        for crafted in (
            panel(app, ids.BASE_URL_INPUT, server_b.base_url),
            panel(app, ids.BACKEND_SELECT, "embedded"),
            panel(app, ids.SERVER_SELECT, "no-such-server"),
        ):
            assert "refused" in status_text(crafted)
            assert output(crafted, ids.LLM_CHOICE, "data") is None, "back to the configured server"
            assert output(crafted, ids.SERVER_SELECT, "value") == CONFIGURED_SERVER
        assert "configured model server and those of llm.servers only" in status_text(
            panel(app, ids.BASE_URL_INPUT, server_b.base_url))

        answer, reply = ask(app, engine, {"backend": "openai", "base_url": server_b.base_url})
        assert answer.text == "From A.", "a crafted store falls back to the configured server"
        assert "llm.servers only" in json.dumps(output(reply, ids.CHAT_NOTICE, "children"))
        assert server_b.requests == [], "B was never asked anything"

        team = panel(app, ids.SERVER_SELECT, "team-ollama")
        choice = output(team, ids.LLM_CHOICE, "data")
        assert choice == {"server": "team-ollama"} and '"dot ok"' in status_text(team)
        assert output(team, ids.MODEL_SELECT, "value") == "llama3.2"
        answer, _ = ask(app, engine, choice)
        assert answer.status == "done" and answer.meta["backend"] == "ollama" and answer.meta["model"] == "llama3.2"
        assert ollama_server.chat_requests and not any("authorization" in r.headers for r in ollama_server.requests)


def test_a_host_bound_beyond_loopback_allows_no_custom_url(embedder, tmp_path_factory, tmp_path, server_a, server_b):
    engine = make_engine(embedder, tmp_path_factory, tmp_path, server_a, server={"host": "0.0.0.0"})
    with serve_waitress(create_app(engine=engine)) as app:
        nodes = _components(app.get("/_dash-layout").json())
        assert nodes[ids.BASE_URL_INPUT]["props"]["disabled"] is True
        crafted = panel(app, ids.BASE_URL_INPUT, server_b.base_url)
        assert "refused" in status_text(crafted) and server_b.requests == []


def _components(layout: Any) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict) and "props" in node:
            if isinstance(node["props"].get("id"), str):
                found[node["props"]["id"]] = node
            walk(node["props"].get("children"))

    walk(layout)
    return found
