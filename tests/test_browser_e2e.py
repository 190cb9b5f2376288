"""The dashboard end to end in headless Chromium (Playwright), answered by a real model.

The app runs in a thread of this process on a free 127.0.0.1 port; its LLM is the real llama.cpp
server of the ``llama_server`` fixture (SmolLM2). One test swaps in the OpenAI-protocol server of
``openai_server`` to make the model answer with an HTML/script payload. Every test checks that the
browser console logged no error.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app import create_app
from rag.engine import RAGEngine
from rag.settings import Settings, apply_overrides
from tests.browser import (
    ANSWER_TIMEOUT_MS,
    Console,
    ask,
    last_answer,
    open_page,
    serve,
    stored_turns,
    wait_answer_finished,
)
from tests.protocol_servers import LLAMA_SERVER_ALIAS, ChatReply

LOAD_TIMEOUT_MS = 180_000
ARTIFACTS = Path(__file__).resolve().parent / ".data" / "browser"
EXAMPLE = Path(__file__).resolve().parent.parent / "dashboard" / "example_data" / "orders.json"
RECORD_ID_CELLS = "#records-table .ag-cell[col-id='rid']"
"""The record-id cell of every row the records grid shows (one page)."""


# ------------------------------------------------------------------------------------ fixtures
def llm_settings(base_url: str) -> dict[str, Any]:
    return {
        "backend": "openai",
        "base_url": base_url,
        "model": LLAMA_SERVER_ALIAS,
        "api_key_env": "",
        "max_tokens": 64,
        "temperature": 0.2,
        "num_ctx": 2048,
        "read_timeout": 120,
    }


@pytest.fixture(scope="module")
def dashboard(llama_server: str, tmp_path_factory) -> Iterator[tuple[str, RAGEngine]]:
    """The app over a real engine, served from a thread; yields its URL and the engine."""
    cache = tmp_path_factory.mktemp("browser-cache")
    settings = apply_overrides(
        Settings(),
        {
            "llm": llm_settings(llama_server),
            "retrieval": {"top_k": 3, "chunk_chars": 600},
            "data": {"max_upload_mb": 1},
            "cache": {"directory": str(cache)},
        },
        "browser test",
    )
    engine = RAGEngine(settings)
    with serve(create_app(engine=engine).server) as url:
        yield url, engine


@pytest.fixture
def context(browser, dashboard, llama_server) -> Iterator[tuple[Any, Console]]:
    """A fresh browser profile (its own session storage) whose console must stay free of errors."""
    _, engine = dashboard
    engine.configure_llm(**llm_settings(llama_server))
    browser_context = browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True)
    console = Console()
    yield browser_context, console
    browser_context.close()
    assert console.errors == [], f"the browser console logged errors: {console.errors}"


@pytest.fixture
def page(context, dashboard) -> Any:
    browser_context, console = context
    url, _ = dashboard
    new_page = console.watch(browser_context.new_page())
    new_page.goto(url)
    new_page.wait_for_selector("#chat-input")
    return new_page


@pytest.fixture
def example_loaded(dashboard) -> None:
    """The example dataset, loaded directly (for tests about the chat, not about loading); ask for it before
    ``page``: a new tab starts with the dataset loaded last, and keeps it."""
    _, engine = dashboard
    if engine.dataset_info is None or engine.dataset_info.name != "orders.json":
        engine.load_json(EXAMPLE)


# ------------------------------------------------------------------------------------ helpers
def open_tab(page: Any, label: str) -> None:
    page.click(f"#data-tabs .tab:has-text('{label}')")


def grid_column_id(page: Any, grid: str, header: str) -> str:
    """The AG Grid column id (``col-id``) of the shown column headed ``header``."""
    column_id = page.evaluate(
        """([grid, header]) => {
            const cells = document.querySelectorAll(grid + ' .ag-header-row-column .ag-header-cell');
            const cell = [...cells].find(c => c.innerText.trim() === header);
            return cell ? cell.getAttribute('col-id') : null;
        }""",
        [grid, header],
    )
    assert column_id, f"no column {header!r} in {grid}"
    return column_id


def column_texts(page: Any, grid: str, column_id: str) -> list[str]:
    """The shown cells of one column, top to bottom (AG Grid's DOM order is not its row order)."""
    return page.evaluate(
        """([grid, column]) => [...document.querySelectorAll(grid + ' .ag-center-cols-container .ag-row')]
            .sort((a, b) => Number(a.getAttribute('row-index')) - Number(b.getAttribute('row-index')))
            .map(row => row.querySelector(`.ag-cell[col-id="${column}"]`).innerText)""",
        [grid, column_id],
    )


def paging_summary(page: Any) -> str:
    """The records grid's "1 to 15 of 240" line."""
    return " ".join(page.inner_text("#records-table .ag-paging-row-summary-panel").split())


def wait_row_count(page: Any, count: int) -> None:
    page.wait_for_function(
        "([selector, n]) => document.querySelectorAll(selector).length === n", arg=[RECORD_ID_CELLS, count]
    )


def sample_growth(page: Any, timeout: float = ANSWER_TIMEOUT_MS / 1000) -> list[int]:
    """The answer's length, sampled every 100 ms while it streams."""
    page.wait_for_selector(".turn .status-badge.streaming", timeout=10_000)
    lengths = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lengths.append(len(last_answer(page)))
        if page.locator(".turn .status-badge.streaming").count() == 0:
            break
        time.sleep(0.1)
    return lengths


# ------------------------------------------------------------------------------------ tests
def test_load_the_example_see_the_data_ask_and_watch_the_answer_grow(page, dashboard, tmp_path):
    _, engine = dashboard
    page.click("#load-example-button")
    page.wait_for_selector("#ingest-progress .progress-track", timeout=30_000)  # the bar shows while indexing
    page.wait_for_selector(".notice.success", timeout=LOAD_TIMEOUT_MS)
    assert "Loaded orders.json: 240 records" in page.inner_text("#data-message")
    page.wait_for_selector("#dataset-summary:has-text('orders.json')")
    assert "records240" in page.inner_text("#dataset-summary").replace(" ", "").replace("\n", "")
    wait_row_count(page, 15)  # one page of rows
    assert paging_summary(page) == "1 to 15 of 240"
    check_sorting_and_filtering(page)
    open_tab(page, "Charts")
    page.wait_for_selector("#charts .js-plotly-plot")
    assert page.locator("#charts .js-plotly-plot").count() == 7
    open_tab(page, "Profile")
    page.wait_for_selector("#profile-table .ag-row .ag-cell[col-id='kind']")
    assert page.locator("#profile-table .ag-row .ag-cell[col-id='kind']").count() == 20  # one page of fields
    open_tab(page, "Records")
    wait_row_count(page, 15)

    # A question for the model (prose, not computed), long enough to stream over many 200 ms polls on any machine
    # (a 64-token answer can end within three polls).
    engine.configure_llm(max_tokens=256)
    ask(page, "Write a detailed description of the returned orders and their customers.")
    lengths = sample_growth(page)
    growing = [n for n in lengths if n > 0]
    assert len(set(growing)) >= 3, f"the answer did not grow over several polls: {lengths}"
    assert growing[-1] > growing[0]  # (rendered Markdown may shrink a little when a "**" closes)
    wait_answer_finished(page)
    turn = stored_turns(page)[0]
    assert turn["status"] == "done" and turn["answer"].strip()
    metrics = page.inner_text(".turn .metrics-line")
    assert "first token" in metrics and "tokens/s" in metrics and LLAMA_SERVER_ALIAS in metrics
    sources = page.locator(".turn .source")
    assert sources.count() == len(turn["sources"]) >= 1

    record_id = turn["sources"][0]["record_id"]
    open_tab(page, "Charts")  # a source shown from another tab opens the Records tab, filtered
    sources.first.locator("summary").click()
    sources.first.locator(".source-show").click()
    page.wait_for_selector(".record-panel .record-json")
    assert record_id in page.inner_text(".record-panel")
    wait_row_count(page, 1)
    assert page.inner_text(RECORD_ID_CELLS) == record_id, "the grid is filtered to the cited record"
    assert paging_summary(page) == "1 to 1 of 1"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "answer.png"), full_page=True)
    page.click("#show-all-records-button")
    wait_row_count(page, 15)
    assert page.locator(".record-panel .record-json").count() == 0
    assert paging_summary(page) == "1 to 15 of 240"


def check_sorting_and_filtering(page: Any) -> None:
    """Sort the records grid by a header click and filter it with a column's floating filter."""
    orders = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    grid = "#records-table"
    order_id = grid_column_id(page, grid, "order_id")
    header = page.locator(f"{grid} .ag-header-cell[col-id='{order_id}'] .ag-header-cell-label")
    header.click()  # ascending
    header.click()  # descending
    newest = sorted((o["order_id"] for o in orders), reverse=True)[:15]
    page.wait_for_function(
        "([selector, first]) => { const c = document.querySelector(selector); return c && c.innerText === first; }",
        arg=[f"{grid} .ag-row[row-index='0'] .ag-cell[col-id='{order_id}']", newest[0]],
    )
    assert column_texts(page, grid, order_id) == newest

    status = grid_column_id(page, grid, "status")
    returned = sorted((o["order_id"] for o in orders if o["status"] == "returned"), reverse=True)
    assert 0 < len(returned) < 15
    page.fill(f"{grid} .ag-floating-filter[col-id='{status}'] input", "returned")
    wait_row_count(page, len(returned))
    assert column_texts(page, grid, status) == ["returned"] * len(returned)
    assert column_texts(page, grid, order_id) == returned, "the filter keeps the sort"
    page.fill(f"{grid} .ag-floating-filter[col-id='{status}'] input", "")
    wait_row_count(page, 15)


def test_stop_keeps_the_partial_answer_and_marks_it(example_loaded, page, dashboard, llama_server):
    _, engine = dashboard
    engine.configure_llm(max_tokens=512)
    ask(page, "Write a very long and detailed report about every order in the data, one paragraph per order.")
    page.wait_for_function(
        "() => { const a = document.querySelectorAll('.turn .answer-text');"
        " return a.length && a[a.length - 1].innerText.length > 20; }",
        timeout=ANSWER_TIMEOUT_MS,
    )
    page.click("#stop-button")
    page.wait_for_selector(".turn .status-badge.stopped", timeout=30_000)
    kept = last_answer(page)
    assert len(kept) > 20
    time.sleep(1.0)
    assert last_answer(page) == kept, "nothing arrives after stop"
    turn = stored_turns(page)[0]
    assert turn["status"] == "stopped" and turn["answer"].strip()
    assert page.is_enabled("#send-button") and not page.is_enabled("#stop-button")
    page.reload()
    page.wait_for_selector(".turn .status-badge.stopped")
    assert last_answer(page) == kept, "the partial answer is kept with the conversation"


def test_export_markdown_json_and_html(example_loaded, page):
    question = "What is the total of order ORD-10042?"
    ask(page, question)
    wait_answer_finished(page)
    turn = stored_turns(page)[0]
    record_ids = [s["record_id"] for s in turn["sources"]]
    contents = {}
    for button, suffix in (
        ("#export-md-button", ".md"),
        ("#export-json-button", ".json"),
        ("#export-html-button", ".html"),
    ):
        with page.expect_download() as download:
            page.click(button)
        assert download.value.suggested_filename.endswith(suffix)
        contents[suffix] = Path(download.value.path()).read_text(encoding="utf-8")
    document = json.loads(contents[".json"])["turns"][0]
    assert document["question"] == question and document["answer"] == turn["answer"]
    assert [s["record_id"] for s in document["sources"]] == record_ids
    assert document["dataset"]["name"] == "orders.json" and len(document["dataset"]["content_hash"]) == 64
    assert document["model"] == LLAMA_SERVER_ALIAS and "time_to_first_token" in document["metrics"]
    first_line = turn["answer"].strip().splitlines()[0]
    assert question in contents[".md"] and first_line in contents[".md"]
    assert all(f"`{r}`" in contents[".md"] for r in record_ids)
    import html as html_module

    assert html_module.escape(question) in contents[".html"] and html_module.escape(first_line) in contents[".html"]
    assert all(html_module.escape(r) in contents[".html"] for r in record_ids)


def test_uploads_a_file_then_a_bad_file_keeps_the_data_and_a_big_file_is_refused(page, tmp_path):
    good = tmp_path / "fleet.jsonl"
    good.write_text(
        "\n".join(
            json.dumps({"truck": f"T-{i:03d}", "km": 1000 + i * 37, "depot": ["north", "south"][i % 2]})
            for i in range(30)
        )
        + "\n"
    )
    page.set_input_files("#upload-data input[type=file]", str(good))
    page.wait_for_selector("text=Loaded fleet.jsonl: 30 records", timeout=LOAD_TIMEOUT_MS)
    page.wait_for_selector("#dataset-summary:has-text('fleet.jsonl')")

    bad = tmp_path / "broken.json"
    bad.write_text('[{"truck": "T-1", "km": 12,}]')
    page.set_input_files("#upload-data input[type=file]", str(bad))
    page.wait_for_selector("#data-message .notice.error", timeout=LOAD_TIMEOUT_MS)
    assert "broken.json" in page.inner_text("#data-message")
    assert "fleet.jsonl" in page.inner_text("#dataset-summary"), "the loaded data stays"
    wait_row_count(page, 15)

    big = tmp_path / "big.json"
    big.write_text(json.dumps([{"n": i, "pad": "x" * 100} for i in range(12_000)]))
    page.set_input_files("#upload-data input[type=file]", str(big))
    page.wait_for_selector("#upload-notice:has-text('can be loaded')", timeout=30_000)
    megabytes = big.stat().st_size / 1024 / 1024
    assert f"big.json is {megabytes:.1f} MB; files up to 1 MB can be loaded" in page.inner_text("#upload-notice")
    assert "fleet.jsonl" in page.inner_text("#dataset-summary")


def test_two_tabs_keep_their_own_conversations(context, dashboard, example_loaded):
    url, _ = dashboard
    first, second = open_page(context, url), open_page(context, url)
    ask(first, "How many orders were paid by invoice?")
    first.wait_for_selector(".turn .status-badge.streaming", timeout=10_000)
    ask(second, "Which carrier delivered order ORD-10100?")
    wait_answer_finished(first)
    wait_answer_finished(second)
    assert [t["question"] for t in stored_turns(first)] == ["How many orders were paid by invoice?"]
    assert [t["question"] for t in stored_turns(second)] == ["Which carrier delivered order ORD-10100?"]
    assert first.locator(".turn").count() == 1 and second.locator(".turn").count() == 1
    assert "ORD-10100" not in first.inner_text("#chat-history")
    assert "invoice" not in second.inner_text("#chat-history")


def test_reload_keeps_the_conversation_and_a_repeated_question_is_cached(context, dashboard, example_loaded):
    url, _ = dashboard
    page = open_page(context, url)
    ask(page, "Which orders were gifts?")
    wait_answer_finished(page)
    before = stored_turns(page)
    answer = last_answer(page)
    page.reload()
    page.wait_for_selector(".turn .metrics-line")
    assert page.locator(".turn").count() == 1
    assert last_answer(page) == answer
    assert stored_turns(page) == before

    other_tab = open_page(context, url)  # same question, no history: answered from the cache
    ask(other_tab, "Which orders were gifts?")
    wait_answer_finished(other_tab)
    other_tab.wait_for_selector(".turn .status-badge.cached")
    assert last_answer(other_tab) == answer


def test_a_reload_while_streaming_picks_the_answer_up_again(example_loaded, page, dashboard):
    _, engine = dashboard
    engine.configure_llm(max_tokens=200)
    ask(page, "Describe the orders shipped with DHL in detail.")
    page.wait_for_function(
        "() => { const a = document.querySelector('.turn .answer-text'); return a && a.innerText.length > 10; }",
        timeout=ANSWER_TIMEOUT_MS,
    )
    page.reload()
    page.wait_for_selector(".turn")
    wait_answer_finished(page)
    turn = stored_turns(page)[0]
    assert turn["status"] == "done" and turn["answer"].strip()
    shown = last_answer(page)
    page.reload()
    page.wait_for_selector(".turn .answer-text")
    assert last_answer(page) == shown, "the resumed answer is exactly the stored one"


def test_text_from_the_model_and_the_data_cannot_inject_markup(page, dashboard, openai_server, tmp_path):
    _, engine = dashboard
    payload = '<script>window.injectedMark = 1</script><img src="x" onerror="window.injectedMark = 2"> **bold**'
    data = tmp_path / "hostile.json"
    data.write_text(json.dumps([{"name": payload, "n": i} for i in range(5)]))
    page.set_input_files("#upload-data input[type=file]", str(data))
    page.wait_for_selector("text=Loaded hostile.json: 5 records", timeout=LOAD_TIMEOUT_MS)
    page.wait_for_selector("#dataset-summary:has-text('hostile.json')")

    openai_server.reply = ChatReply(pieces=["Here: ", payload, " [1]"], delay=0.05)
    engine.configure_llm(backend="openai", base_url=openai_server.base_url, model="smollm2")
    ask(page, payload)
    wait_answer_finished(page)
    answer = page.locator(".turn .answer-text").last
    assert answer.locator("strong").inner_text() == "bold", "Markdown is rendered"
    assert answer.locator("img, script").count() == 0
    assert page.locator("#chat-history img, #chat-history script").count() == 0
    assert "<script>window.injectedMark = 1</script>" in answer.inner_text(), "the markup is shown as text"
    assert payload in page.inner_text(".turn .question-text")
    page.locator(".turn .source summary").first.click()
    page.locator(".turn .source-show").first.click()
    page.wait_for_selector(".record-panel .record-json")
    assert page.locator(".record-panel img, .record-panel script").count() == 0
    assert page.evaluate("() => window.injectedMark === undefined")


def test_model_picker_shows_reachability_and_the_servers_models(page, dashboard, openai_server, llama_server):
    page.wait_for_selector("#backend-status .dot.ok", timeout=30_000)
    assert "reachable" in page.inner_text("#backend-status")
    page.fill("#base-url-input", openai_server.base_url)
    page.click("#refresh-models-button")
    page.wait_for_function(
        f"() => document.querySelector('#backend-status').innerText.includes('{openai_server.base_url}')"
    )
    page.click("#model-select")
    for model in openai_server.models:
        assert page.locator(f"text={model}").count() >= 1
    page.keyboard.press("Escape")
    page.fill("#base-url-input", "http://127.0.0.1:9/v1")
    page.click("#refresh-models-button")
    page.wait_for_selector("#backend-status .dot.down", timeout=30_000)
    assert "not reachable" in page.inner_text("#backend-status")


def test_a_group_by_question_shows_the_computed_block_chart_and_sql_before_the_text(example_loaded, page):
    orders = json.loads(EXAMPLE.read_text())
    truth = {s: sum(1 for o in orders if o["status"] == s) for s in {o["status"] for o in orders}}
    ask(page, "Number of orders by status")
    page.wait_for_selector(".turn .computed-block:not([hidden])", timeout=30_000)
    text_when_computed_appeared = last_answer(page)
    wait_answer_finished(page)

    assert text_when_computed_appeared.strip() == ""
    block = page.locator(".turn .computed-block").last
    assert "computed over all 240 records" in block.inner_text().lower()
    table = block.locator(".computed-table").inner_text()
    assert all(f"{status}\t{count}" in table for status, count in truth.items())
    page.wait_for_selector(".turn .computed-chart .main-svg", timeout=30_000)
    assert not block.locator(".computed-sql").is_visible()
    block.locator(".computed-sql-toggle summary").click()
    assert 'GROUP BY' in block.locator(".computed-sql").inner_text()

    turn = stored_turns(page)[-1]
    assert dict(map(tuple, turn["computed"]["rows"])) == truth
    with page.expect_download() as download:
        page.click("#export-json-button")
    exported = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))["turns"][-1]
    assert exported["computed"]["summary"] == turn["computed"]["summary"]


def test_a_question_sent_right_after_choosing_a_file_is_answered_over_that_file(example_loaded, page, dashboard,
                                                                                tmp_path):
    _, engine = dashboard
    fleet = tmp_path / "fleet.json"
    fleet.write_text(json.dumps([{"truck": f"T-{i:03d}", "depot": ["north", "south", "east", "west"][i % 4]}
                                 for i in range(400)]))
    page.set_input_files("#upload-data input[type=file]", str(fleet))
    # once the browser has read the file (the order of the Send and upload requests is tested in
    # tests/test_engine_loading.py), ask while fleet.json loads and orders.json is still the data
    tab = page.evaluate("() => JSON.parse(sessionStorage.getItem('tab-id'))")
    deadline = time.monotonic() + 30
    while engine.pending_load(tab=tab) is None and engine.dataset_info.name != "fleet.json" and time.monotonic() < deadline:
        time.sleep(0.005)
    ask(page, "How many trucks have depot north?")
    page.wait_for_selector(".turn .computed-value", timeout=LOAD_TIMEOUT_MS)
    assert page.inner_text(".turn .computed-value").strip() == "100"
    assert "100 of 400 trucks have depot = north" in page.inner_text(".turn .computed-block")
    wait_answer_finished(page)
    page.wait_for_selector("text=Loaded fleet.json: 400 records", timeout=LOAD_TIMEOUT_MS)


def test_a_long_load_can_be_cancelled_and_a_new_upload_replaces_one_still_running(page, tmp_path):
    page.click("#load-example-button")
    page.wait_for_selector("text=Loaded orders.json: 240 records", timeout=LOAD_TIMEOUT_MS)
    parts = tmp_path / "parts.json"
    parts.write_text(json.dumps([{"sku": f"S-{i}", "note": f"part {i} of line {i % 7}, batch {i % 13}"}
                                 for i in range(4000)]))
    page.set_input_files("#upload-data input[type=file]", str(parts))
    page.wait_for_selector("#cancel-load-button", state="visible", timeout=60_000)
    page.wait_for_selector("#ingest-progress:has-text('embedding')", timeout=60_000)
    page.wait_for_selector("#dataset-summary:has-text('parts.json')", timeout=10_000)  # shown while embedded
    assert "4,000" in page.inner_text("#dataset-summary") and page.is_visible("#cancel-load-button")
    started = time.monotonic()
    page.click("#cancel-load-button")
    page.wait_for_selector("#data-message .notice.info:has-text('parts.json was cancelled')", timeout=30_000)
    assert time.monotonic() - started < 10
    page.wait_for_selector("#dataset-summary:has-text('orders.json')", timeout=10_000)
    assert not page.is_visible("#cancel-load-button")
    ask(page, "How many orders are there?")
    page.wait_for_selector(".turn .computed-value", timeout=LOAD_TIMEOUT_MS)
    assert page.inner_text(".turn .computed-value").strip() == "240", "the tab chats with orders.json again"
    wait_answer_finished(page)

    more_parts = tmp_path / "more-parts.json"
    more_parts.write_text(parts.read_text().replace("batch", "lot"))
    page.set_input_files("#upload-data input[type=file]", str(more_parts))
    page.wait_for_selector("#ingest-progress:has-text('embedding')", timeout=60_000)
    small = tmp_path / "depots.json"
    small.write_text(json.dumps([{"depot": name, "trucks": n} for n, name in enumerate(["north", "south", "east"])]))
    started = time.monotonic()
    page.set_input_files("#upload-data input[type=file]", str(small))
    page.wait_for_selector("text=Loaded depots.json: 3 records", timeout=60_000)
    assert time.monotonic() - started < 20, "the new upload does not queue behind the one it replaces"
    assert "depots.json" in page.inner_text("#dataset-summary")
