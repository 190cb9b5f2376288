"""A value the model states that is not in the sources, marked in the page and in the exports (headless Chromium).

The app runs in a thread of this process on a free 127.0.0.1 port, answered by the scripted OpenAI-protocol server
of ``openai_server``, whose reply states a wrong population. The grounding check of the answer reaches the page
through the answer's metadata in the engine's buffer; when the engine does not write one itself, the test writes
it there (``update_meta`` just before the answer is finished), so the page is tested whatever the engine does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app import create_app
from rag.engine import RAGEngine
from rag.grounding import check_grounding
from rag.loader import flatten_record
from rag.settings import Settings, apply_overrides
from tests.browser import Console, ask, open_page, serve, stored_turns, wait_answer_finished
from tests.protocol_servers import ChatReply

LOAD_TIMEOUT_MS = 180_000
COUNTRIES = [
    {"name": "Norway", "alpha_3": "NOR", "population": 5425270},
    {"name": "Sweden", "alpha_3": "SWE", "population": 10540000},
    {"name": "Denmark", "alpha_3": "DNK", "population": 5910000},
]
QUESTION = "What is the population of Norway?"
REPLY = ["Norway", " has a population", " of 7,300,000", " [1].", "\n\nThat is all."]
"""The scripted answer: 7,300,000 is in no record (Norway's is 5425270)."""
NOTICE = "1 value in this answer is not in the sources: 7,300,000."


def llm_settings(base_url: str) -> dict[str, Any]:
    return {"backend": "openai", "base_url": base_url, "model": "smollm2", "api_key_env": "", "max_tokens": 64,
            "temperature": 0.2, "num_ctx": 2048, "read_timeout": 30}


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory) -> Iterator[tuple[str, RAGEngine]]:
    """The app over a fresh engine, served from a thread; yields its URL and the engine."""
    cache = tmp_path_factory.mktemp("grounding-cache")
    settings = apply_overrides(
        Settings(),
        {"retrieval": {"top_k": 3, "chunk_chars": 600}, "cache": {"directory": str(cache), "enabled": False}},
        "browser grounding test",
    )
    engine = RAGEngine(settings)
    with serve(create_app(engine=engine).server) as url:
        yield url, engine


@pytest.fixture
def context(browser) -> Iterator[tuple[Any, Console]]:
    """A fresh browser profile whose console must stay free of errors."""
    browser_context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    console = Console()
    yield browser_context, console
    browser_context.close()
    assert console.errors == [], f"the browser console logged errors: {console.errors}"


@pytest.fixture
def checked_answers(dashboard, monkeypatch) -> None:
    """Every answer the engine finishes carries a grounding check in its metadata: the engine's own, or else the
    check of its text against the records, written through the buffer before it is finished."""
    _, engine = dashboard
    buffer = engine.buffer
    finish = buffer.finish
    records = [(f"$[{n}]", flatten_record(record)) for n, record in enumerate(COUNTRIES)]

    def finish_checked(session_id: str, **kwargs: Any) -> None:
        snapshot = buffer.read(session_id, 0)
        if snapshot is not None and "grounding" not in snapshot.meta:
            question = str(snapshot.meta.get("question") or QUESTION)
            grounding = check_grounding(snapshot.text, question=question, records=records)
            buffer.update_meta(session_id, grounding=grounding.to_dict())
        finish(session_id, **kwargs)

    monkeypatch.setattr(buffer, "finish", finish_checked)


def download(page: Any, button: str) -> str:
    with page.expect_download() as started:
        page.click(button)
    return Path(started.value.path()).read_text(encoding="utf-8")


def test_a_value_not_in_the_sources_is_marked_on_the_page_and_in_the_exports(
    dashboard, context, openai_server, checked_answers, tmp_path
):
    url, engine = dashboard
    engine.configure_llm(**llm_settings(openai_server.base_url))
    openai_server.reply = ChatReply(pieces=list(REPLY), delay=0.05)
    page = open_page(context, url)
    data = tmp_path / "countries.json"
    data.write_text(json.dumps(COUNTRIES))
    page.set_input_files("#upload-data input[type=file]", str(data))
    page.wait_for_selector("text=Loaded countries.json: 3 records", timeout=LOAD_TIMEOUT_MS)
    page.wait_for_selector("#dataset-summary:has-text('countries.json')")

    ask(page, QUESTION)
    wait_answer_finished(page, timeout=60_000)
    turn = stored_turns(page)[0]
    assert turn["answer"] == "".join(REPLY) and turn["meta"]["grounding"]["notice"] == NOTICE

    def assert_marked() -> None:
        mark = page.locator(".turn mark.ungrounded")
        mark.first.wait_for(state="visible", timeout=10_000)
        assert mark.count() == 1 and mark.inner_text() == "7,300,000"
        assert mark.get_attribute("title") == "not in the sources"
        assert page.locator(".turn .grounding-notice").inner_text() == f"⚠ {NOTICE}"
        text = page.locator(".turn .answer-checked-text").inner_text()
        assert text.startswith("Norway has a population of 7,300,000") and "\n" in text, "line breaks kept"
        assert page.locator(".turn .answer-text script, .turn .answer-text img").count() == 0

    assert_marked()
    page.reload()  # drawn again from the tab's stored conversation
    page.wait_for_selector(".turn")
    assert_marked()

    markdown = download(page, "#export-md-button")
    assert "Norway has a population of **7,300,000** (⚠ not in the sources) [1]." in markdown
    assert f"> ⚠ {NOTICE}" in markdown
    exported = download(page, "#export-html-button")
    assert '<mark class="ungrounded" title="not in the sources">7,300,000</mark>' in exported
    assert f'<p class="grounding-notice">⚠ {NOTICE}</p>' in exported
    document = json.loads(download(page, "#export-json-button"))
    assert document["turns"][0]["grounding"]["text"] == ["7,300,000"]
