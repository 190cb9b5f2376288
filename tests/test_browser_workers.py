"""The page in headless Chromium against 4 gunicorn workers and Redis, every request on a new connection so
that callbacks, polls and Stops land on different workers: two tabs load two files and are answered over
their own, a slow answer is stopped, the conversation is exported, and after every worker restarts both
tabs get their conversation and dataset back and the next question works."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.browser import Console, ask, open_page, stored_turns, wait_answer_finished
from tests.deployment import Deployment, team_config
from tests.protocol_servers import ChatReply
from tests.test_browser_datasets import check_both_tabs_after_restart, computed_value, example_orders, fleet_file
from tests.test_browser_e2e import LOAD_TIMEOUT_MS


def test_the_page_works_across_four_workers_and_their_restart(browser, redis_server, openai_server, tmp_path):
    config = team_config(
        tmp_path / "team.json", redis_url=redis_server.url, cache=tmp_path / "cache",
        llm={"backend": "openai", "base_url": openai_server.base_url, "model": "smollm2", "api_key_env": ""},
    )
    deployment = Deployment(config, workers=4, env={"GUNICORN_CMD_ARGS": "--keep-alive 0"})
    deployment.start()
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    console = Console()
    served_by: set[str] = set()

    def watch(page: Any) -> Any:
        page.on("response", lambda r: served_by.add(r.headers.get("x-worker-pid", "")) if "/_" in r.url else None)
        return page

    try:
        trucks = watch(open_page((context, console), deployment.url))
        orders = watch(open_page((context, console), deployment.url))
        trucks.set_input_files("#upload-data input[type=file]", str(fleet_file(tmp_path)))
        orders.click("#load-example-button")
        trucks.wait_for_selector("text=Loaded fleet.jsonl: 30 records", timeout=LOAD_TIMEOUT_MS)
        orders.wait_for_selector("text=Loaded orders.json: 240 records", timeout=LOAD_TIMEOUT_MS)

        openai_server.reply = ChatReply(pieces=["Counted ", "above."], delay=0.02)
        ask(trucks, "How many trucks have depot north?")
        ask(orders, "How many orders were returned?")
        wait_answer_finished(trucks)
        wait_answer_finished(orders)
        assert computed_value(trucks, 0) == 10 and computed_value(orders, 0) == example_orders("status", "returned")

        openai_server.reply = ChatReply(pieces=[f"w{i} " for i in range(400)], delay=0.05)
        ask(orders, "Describe the orders one by one")
        orders.wait_for_function("() => (document.querySelectorAll('.turn .answer-text')[1] || {}).innerText"
                                 "?.includes('w5 ')", timeout=60_000)
        orders.click("#stop-button")
        wait_answer_finished(orders, turns=2, timeout=30_000)
        stopped = stored_turns(orders)[1]
        assert stopped["status"] == "stopped" and "w5 " in stopped["answer"]
        assert len(stopped["answer"]) < len("".join(f"w{i} " for i in range(400)))

        with orders.expect_download() as download:
            orders.click("#export-json-button")
        exported = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))["turns"]
        assert [turn["status"] for turn in exported] == ["done", "stopped"]
        assert len(served_by - {""}) >= 2, f"every request landed on one worker: {served_by}"

        deployment.stop()  # every worker goes away, then comes back
        deployment.start()
        openai_server.reply = ChatReply(pieces=["Again."], delay=0.0)
        check_both_tabs_after_restart(trucks, orders, orders_turns=2)
    finally:
        context.close()
        deployment.stop()
    assert console.errors == [], f"the browser console logged errors: {console.errors}"
