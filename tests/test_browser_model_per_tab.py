"""The model picker in headless Chromium: a tab's server is its own, kept across reloads, and another tab keeps
the configured one (each answered by its own server). The app is served by waitress from a thread."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app import create_app
from rag.engine import RAGEngine
from rag.settings import Settings, apply_overrides
from tests.app_server import serve_waitress
from tests.browser import Console, ask, last_answer, open_page, wait_answer_finished
from tests.protocol_servers import ChatReply, OpenAIServer

RECORDS = [{"id": i, "status": "returned" if i % 3 == 0 else "shipped"} for i in range(12)]


@pytest.fixture
def server_b() -> Iterator[OpenAIServer]:
    server = OpenAIServer(models=["b-model"]).start()
    server.reply = ChatReply(pieces=["From ", "B."])
    yield server
    server.stop()


@pytest.fixture
def served(openai_server, tmp_path) -> Iterator[str]:
    openai_server.reply = ChatReply(pieces=["From ", "A."])
    settings = apply_overrides(Settings(), {
        "llm": {"backend": "openai", "base_url": openai_server.base_url, "model": "smollm2", "api_key_env": ""},
        "cache": {"directory": str(tmp_path / "cache")},
        "analytics": {"planner": "rules"},
    }, "browser test")
    engine = RAGEngine(settings)
    engine.load_json(RECORDS, name="orders.json")
    with serve_waitress(create_app(engine=engine)) as app:
        yield app.url + "/"


def status_shows(page: Any, text: str) -> None:
    page.wait_for_function(
        "text => document.querySelector('#backend-status').innerText.includes(text)", arg=text, timeout=30_000
    )


def test_each_tab_keeps_its_own_model_server_across_reloads(browser, served, openai_server, server_b):
    console = Console()
    first = browser.new_context(viewport={"width": 1440, "height": 900})
    second = browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        tab = open_page((first, console), served)
        status_shows(tab, openai_server.base_url)
        tab.fill("#base-url-input", server_b.base_url)
        tab.click("#refresh-models-button")
        status_shows(tab, server_b.base_url)
        tab.reload()
        tab.wait_for_selector("#chat-input")
        status_shows(tab, server_b.base_url)
        assert tab.input_value("#base-url-input") == server_b.base_url, "the tab's choice survives a reload"

        other = open_page((second, console), served)
        status_shows(other, openai_server.base_url)
        assert other.input_value("#base-url-input") == openai_server.base_url
        ask(other, "Which orders were returned?")
        wait_answer_finished(other, timeout=60_000)
        assert last_answer(other) == "From A."
        ask(tab, "Which orders were returned?")
        wait_answer_finished(tab, timeout=60_000)
        assert last_answer(tab) == "From B."
        assert len(server_b.chat_requests) == 1 and len(openai_server.chat_requests) == 1
    finally:
        first.close()
        second.close()
    assert console.errors == [], f"the browser console logged errors: {console.errors}"
