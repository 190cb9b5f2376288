"""The chat drives the data view (headless Chromium): an answer's "Show these N records" filters the records grid
to its N records with a chip that says the filter, ✕ clears it, and a group answer's "Open as chart" draws its
groups in the Charts tab.

The app runs in a thread of this process on a free 127.0.0.1 port over the example orders, answered by the
scripted OpenAI-protocol server of ``openai_server``: the computed part of each answer comes from DuckDB, never
from the model.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app import create_app
from dashboard.data_flow import EXAMPLE_DATASET
from rag.engine import RAGEngine
from rag.settings import Settings, apply_overrides
from tests.browser import Console, ask, open_page, serve, stored_turns, wait_answer_finished
from tests.protocol_servers import ChatReply

LOAD_TIMEOUT_MS = 180_000
CHIP = "#selection-chip"


def llm_settings(base_url: str) -> dict[str, Any]:
    return {"backend": "openai", "base_url": base_url, "model": "smollm2", "api_key_env": "", "max_tokens": 64,
            "temperature": 0.2, "num_ctx": 2048, "read_timeout": 30}


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory) -> Iterator[tuple[str, RAGEngine]]:
    cache = tmp_path_factory.mktemp("data-view-filter-cache")
    settings = apply_overrides(
        Settings(),
        {"retrieval": {"top_k": 3, "chunk_chars": 600}, "cache": {"directory": str(cache), "enabled": False}},
        "browser data view filter test",
    )
    engine = RAGEngine(settings)
    engine.load_json(EXAMPLE_DATASET, name=EXAMPLE_DATASET.name)  # a new tab shows it (every test may run alone)
    with serve(create_app(engine=engine).server) as url:
        yield url, engine


@pytest.fixture
def context(browser) -> Iterator[tuple[Any, Console]]:
    browser_context = browser.new_context(viewport={"width": 1440, "height": 900})
    console = Console()
    yield browser_context, console
    browser_context.close()
    assert console.errors == [], f"the browser console logged errors: {console.errors}"


def displayed_rows(page: Any) -> int:
    """Rows the records grid keeps after its filters (every page)."""
    return page.evaluate("() => window.dash_ag_grid.getApi('records-table').getDisplayedRowCount()")


def wait_rows(page: Any, count: int) -> None:
    page.wait_for_function(
        "n => { try { return window.dash_ag_grid.getApi('records-table').getDisplayedRowCount() === n; }"
        " catch (error) { return false; } }",
        arg=count,
        timeout=20_000,
    )


def shown_ids(page: Any) -> list[str]:
    return page.evaluate(
        """() => { const ids = []; window.dash_ag_grid.getApi('records-table')
                   .forEachNodeAfterFilter(node => ids.push(node.data.rid)); return ids; }"""
    )


def test_an_answer_filters_the_grid_and_opens_as_a_chart(dashboard, context, openai_server):
    url, engine = dashboard
    engine.configure_llm(**llm_settings(openai_server.base_url))
    openai_server.reply = ChatReply(pieces=["14 orders", " were returned."], delay=0.02)
    page = open_page(context, url)
    page.click("#load-example-button")
    page.wait_for_selector("text=Loaded orders.json: 240 records", timeout=LOAD_TIMEOUT_MS)
    wait_rows(page, 240)
    assert page.locator(CHIP).is_hidden()

    ask(page, "How many orders were returned?")
    wait_answer_finished(page, timeout=60_000)
    computed = stored_turns(page)[0]["computed"]
    assert computed["spec"]["filters"] == [{"field": "status", "op": "=", "value": "returned"}]
    count = computed["matched_rows"]
    assert count == 14
    show = page.locator(".turn .computed-show")
    assert show.inner_text() == f"Show these {count} records"
    show.click()

    page.wait_for_selector(f"{CHIP}:visible")
    assert page.inner_text("#selection-text") == f"status = returned — {count} records"
    wait_rows(page, count)
    assert sorted(shown_ids(page)) == sorted(computed["record_ids"])
    assert " ".join(page.inner_text("#records-table .ag-paging-row-summary-panel").split()) == f"1 to {count} of {count}"
    page.click("#data-tabs .tab:has-text('Charts')")
    page.wait_for_selector("#charts .selection-charts-note")
    assert f"status = returned — {count} records" in page.inner_text("#charts .selection-charts-note")
    page.click("#data-tabs .tab:has-text('Records')")
    wait_rows(page, count)  # the grid drawn again keeps the selection

    page.click("#selection-clear-button")
    wait_rows(page, 240)
    page.wait_for_selector(f"{CHIP}", state="hidden")

    openai_server.reply = ChatReply(pieces=["Most orders come from the web."], delay=0.02)
    ask(page, "How many orders per channel?")
    wait_answer_finished(page, turns=2, timeout=60_000)
    grouped = stored_turns(page)[1]["computed"]
    assert grouped["spec"]["group_by"]["field"] == "channel"
    opener = page.locator(".turn .computed-open-chart")
    assert opener.count() == 1 and page.locator(".turn").nth(1).locator(".computed-show").count() == 0
    opener.click()
    page.wait_for_selector("#charts #answer-chart .js-plotly-plot", timeout=20_000)
    assert page.locator("#charts #answer-chart").is_visible()  # the Charts tab is shown
    bars = page.evaluate("() => { const g = document.querySelector('#answer-chart .js-plotly-plot');"
                         " return {x: g.data[0].x, y: g.data[0].y}; }")
    assert dict(zip(bars["x"], bars["y"])) == {row[0]: row[1] for row in grouped["rows"]}
    assert "From the answer: count by channel" in page.inner_text("#answer-chart")
    page.click("#data-tabs .tab:has-text('Records')")
    wait_rows(page, 240)  # opening a chart does not filter the grid
    assert page.locator(CHIP).is_hidden()


def test_a_tampered_spec_is_refused_with_a_message(dashboard, context, openai_server):
    url, engine = dashboard
    engine.configure_llm(**llm_settings(openai_server.base_url))
    page = open_page(context, url)
    page.wait_for_selector("#dataset-summary:has-text('orders.json')", timeout=LOAD_TIMEOUT_MS)
    wait_rows(page, 240)
    page.evaluate(
        """() => window.dash_clientside.set_props('spec-request', {data: {action: 'records', at: Date.now(),
             spec: '{"aggregation":"count","filters":[{"field":"status) OR (1=1","op":"=","value":"x"}]}'}})"""
    )
    page.wait_for_selector("#data-message .notice.error", timeout=20_000)
    assert "does not fit the dataset shown" in page.inner_text("#data-message")
    assert page.locator(CHIP).is_hidden() and displayed_rows(page) == 240


def test_a_refused_question_offers_rephrasings_and_one_click_asks_it(dashboard, context, openai_server):
    url, engine = dashboard
    engine.configure_llm(**llm_settings(openai_server.base_url))
    openai_server.reply = ChatReply(pieces=["Most orders were paid by card."], delay=0.02)
    page = open_page(context, url)
    page.wait_for_selector("#dataset-summary:has-text('orders.json')", timeout=LOAD_TIMEOUT_MS)
    asked_model = len(openai_server.chat_requests)

    ask(page, "What is the average salary of the customers?")
    wait_answer_finished(page, timeout=60_000)
    refused = stored_turns(page)[0]
    assert refused["answer"].startswith("I could not compute this over all records") and not refused.get("computed")
    answered = [r for r in openai_server.chat_requests[asked_model:] if "response_format" not in r.body]
    assert not answered, "no model is asked to word a number (only the LLM planner, for a spec, which failed)"
    offered = page.locator(".turn .rephrasing")
    questions = refused["meta"]["refusal"]["rephrasings"]
    assert 2 <= offered.count() <= 3 and [offered.nth(i).inner_text() for i in range(offered.count())] == questions

    offered.first.click()
    wait_answer_finished(page, turns=2, timeout=60_000)
    second = stored_turns(page)[1]
    assert second["question"] == questions[0] and second.get("computed"), "the rephrasing is asked and computed"
    assert page.input_value("#chat-input") == ""
