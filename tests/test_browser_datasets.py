"""Each tab chats with the dataset it loaded, in headless Chromium: two tabs with two files at once never
answer over each other's data, and after the app restarts both tabs get their conversation and their
dataset back (reopened from the dataset store, not indexed again) and the next question works."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app import create_app
from rag.engine import RAGEngine
from rag.settings import Settings, apply_overrides
from tests.browser import Console, ask, open_page, serve, stored_turns, wait_answer_finished
from tests.protocol_servers import free_port
from tests.test_browser_e2e import EXAMPLE, LOAD_TIMEOUT_MS, llm_settings
from tests.test_dataset_store import wait_stored


def new_engine(llama_server: str, cache: Path) -> RAGEngine:
    settings = apply_overrides(Settings(), {
        "llm": llm_settings(llama_server),
        "retrieval": {"top_k": 3},
        "cache": {"directory": str(cache)},
    }, "browser test")
    return RAGEngine(settings)


def computed_value(page: Any, turn: int) -> Any:
    return (stored_turns(page)[turn].get("computed") or {}).get("value")


def example_orders(field: str, value: str) -> int:
    """How many example orders have ``field`` (a dotted path) equal to ``value``, counted from the raw file."""
    def get(order: dict, path: str) -> Any:
        for part in path.split("."):
            order = order.get(part) or {}
        return order

    return sum(1 for order in json.loads(EXAMPLE.read_text()) if get(order, field) == value)


def check_both_tabs_after_restart(trucks: Any, orders: Any, orders_turns: int) -> None:
    """Reloaded after the app restarted, each tab shows its own dataset and conversation again and answers
    its next question over its own data (the trucks tab has one turn before, the orders tab ``orders_turns``)."""
    for page in (trucks, orders):
        page.reload()
        page.wait_for_selector(".turn .metrics-line")
    trucks.wait_for_selector("#dataset-summary:has-text('fleet.jsonl')")
    orders.wait_for_selector("#dataset-summary:has-text('orders.json')")
    ask(trucks, "How many trucks have depot east?")
    ask(orders, "How many orders were paid by paypal?")
    wait_answer_finished(trucks, turns=2)
    wait_answer_finished(orders, turns=orders_turns + 1)
    assert computed_value(trucks, 1) == 10 and len(stored_turns(trucks)) == 2
    assert computed_value(orders, orders_turns) == example_orders("payment.method", "paypal")
    assert len(stored_turns(orders)) == orders_turns + 1


def fleet_file(folder: Path) -> Path:
    path = folder / "fleet.jsonl"
    path.write_text("\n".join(
        json.dumps({"truck": f"T-{i:03d}", "km": 1000 + i * 37, "depot": ["north", "south", "east"][i % 3]})
        for i in range(30)
    ) + "\n")
    return path


def test_two_tabs_chat_with_two_datasets_and_keep_them_across_a_restart(browser, llama_server, tmp_path):
    cache, port = tmp_path / "cache", free_port()
    fleet = fleet_file(tmp_path)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    console = Console()
    try:
        first_engine = new_engine(llama_server, cache)
        with serve(create_app(engine=first_engine).server, port=port) as url:
            trucks, orders = open_page((context, console), url), open_page((context, console), url)
            trucks.set_input_files("#upload-data input[type=file]", str(fleet))
            trucks.wait_for_selector("text=Loaded fleet.jsonl: 30 records", timeout=LOAD_TIMEOUT_MS)
            orders.click("#load-example-button")
            orders.wait_for_selector("text=Loaded orders.json: 240 records", timeout=LOAD_TIMEOUT_MS)
            assert "fleet.jsonl" in trucks.inner_text("#dataset-summary"), "the other tab's load changed nothing here"

            ask(trucks, "How many trucks have depot north?")
            ask(orders, "How many orders were returned?")
            wait_answer_finished(trucks)
            wait_answer_finished(orders)
            assert computed_value(trucks, 0) == 10
            assert computed_value(orders, 0) == example_orders("status", "returned")
            assert first_engine.dataset_info.name == "orders.json", "loaded last, yet the trucks tab kept its own"
            ids = {page.evaluate("() => JSON.parse(sessionStorage.getItem('stored-data')).dataset_id")
                   for page in (trucks, orders)}
            assert len(ids) == 2
            for dataset_id in ids:
                wait_stored(first_engine.store, dataset_id)

        restarted = new_engine(llama_server, cache)  # a new process's engine: nothing loaded, same store
        assert restarted.dataset_info is None
        with serve(create_app(engine=restarted).server, port=port):
            check_both_tabs_after_restart(trucks, orders, orders_turns=1)
            assert all(turn["status"] == "done" for page in (trucks, orders) for turn in stored_turns(page))
    finally:
        context.close()
    assert console.errors == [], f"the browser console logged errors: {console.errors}"

