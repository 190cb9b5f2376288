"""Two browsers (two cookie jars) on one app whose visitors are isolated, in headless Chromium: the second sees
nothing of the file the first loaded, neither on the page nor in its Recent datasets; the first gets its dataset
back after a reload, and a new tab of the first starts with it."""

from __future__ import annotations

from typing import Any

from app import create_app
from rag.engine import RAGEngine
from rag.settings import Settings, apply_overrides
from tests.browser import Console, open_page, serve
from tests.test_browser_e2e import LOAD_TIMEOUT_MS
from tests.test_dataset_store import wait_stored

RECENT_OPTIONS = "() => (window.dash_component_api.getLayout('recent-datasets').props.options || [])"
KEPT_DATA = "() => JSON.parse(window.sessionStorage.getItem('stored-data') || 'null')"


def settled(page: Any) -> Any:
    """The page once its page-load callbacks have answered."""
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)
    return page


def test_a_second_browser_sees_nothing_of_the_first_ones_file(browser, ollama_server, tmp_path):
    settings = apply_overrides(Settings(), {
        "llm": {"backend": "ollama", "base_url": ollama_server.url, "model": "llama3.2"},
        "cache": {"directory": str(tmp_path / "cache")},
        "server": {"isolate_visitors": True},
    }, "browser test")
    engine = RAGEngine(settings)
    first_browser = browser.new_context(viewport={"width": 1280, "height": 900})
    second_browser = browser.new_context(viewport={"width": 1280, "height": 900})
    console = Console()
    try:
        with serve(create_app(engine=engine).server) as url:
            first = open_page((first_browser, console), url)
            first.click("#load-example-button")
            first.wait_for_selector("text=Loaded orders.json: 240 records", timeout=LOAD_TIMEOUT_MS)
            dataset_id = first.evaluate(KEPT_DATA)["dataset_id"]
            wait_stored(engine.store, dataset_id)

            second = settled(open_page((second_browser, console), url))
            assert "orders.json" not in second.inner_text("body") and "ORD-1" not in second.inner_text("body")
            assert second.evaluate(RECENT_OPTIONS) == []
            assert second.evaluate(KEPT_DATA) is None
            assert dataset_id not in second.content()

            first.reload()
            first.wait_for_selector("#dataset-summary:has-text('orders.json')")
            assert first.evaluate(KEPT_DATA)["dataset_id"] == dataset_id
            new_tab = open_page((first_browser, console), url)
            new_tab.wait_for_selector("#dataset-summary:has-text('orders.json')")
            new_tab.wait_for_function(f"() => ({RECENT_OPTIONS})().some(o => o.value === '{dataset_id}')")

            again = settled(open_page((second_browser, console), url))  # after all that, still nothing
            assert "orders.json" not in again.inner_text("body") and again.evaluate(RECENT_OPTIONS) == []
    finally:
        first_browser.close()
        second_browser.close()
    assert console.errors == [], f"the browser console logged errors: {console.errors}"
