"""``python app.py --workers 3`` with Redis, over real HTTP: gunicorn's workers share the load, the answer,
its polls and its Stop, whichever worker each request lands on; a worker killed mid-answer leaves a clear
error, not an answer that spins forever; after all workers restart, the answer and the tab's dataset are
still there."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from app import WORKERS_NEED_REDIS, create_app
from dashboard import ids
from tests.callback_client import UPDATE_PATH, CallbackClient
from dashboard.polling import ANSWER_POLL_PATH, INGEST_POLL_PATH
from rag.engine import ORPHANED_MESSAGE, RAGEngine
from rag.settings import Settings, apply_overrides
from tests.deployment import Deployment, team_config
from tests.protocol_servers import ChatReply

TAB = "tab-under-test"


@pytest.fixture
def bodies(tmp_path) -> CallbackClient:
    """Builds the browser's callback requests (the app's own callback map; its engine is not used)."""
    settings = apply_overrides(Settings(), {"cache": {"enabled": False}}, "bodies")
    return CallbackClient(create_app(engine=RAGEngine(settings)))


def load_example(deployment: Deployment, bodies: CallbackClient) -> dict[str, Any]:
    sent = deployment.post(UPDATE_PATH, bodies.request_body(
        ids.LOAD_EXAMPLE_BUTTON, "n_clicks", 1, state={f"{ids.TAB_ID}.data": TAB}))
    job = sent["response"][ids.INGEST_JOB]["data"]
    for seq in range(1, 2000):
        reply = deployment.post(INGEST_POLL_PATH, {"seq": seq, "job": job})
        if reply["finished"]:
            assert reply["stored_data"], f"the load failed: {reply['message']}"
            return reply["stored_data"]
        time.sleep(0.1)
    raise AssertionError("the load never finished")


def send(deployment: Deployment, bodies: CallbackClient, question: str, stored: dict[str, Any]) -> str:
    sent = deployment.post(UPDATE_PATH, bodies.request_body(ids.SEND_BUTTON, "n_clicks", 1, state={
        f"{ids.CHAT_INPUT}.value": question,
        f"{ids.CHAT_HISTORY_STORE}.data": [],
        f"{ids.STREAMING_ACTIVE}.data": False,
        f"{ids.STORED_DATA}.data": stored,
        f"{ids.TAB_ID}.data": TAB,
    }))
    return sent["response"][ids.STREAMING_SESSION_ID]["data"]


def poll(deployment: Deployment, session: str, *, until: Any = None, limit: float = 60) -> dict[str, Any]:
    """Poll as the page does until the answer ends (or ``until(text)``); the text and the last reply."""
    text, offset, view, version, seq = "", 0, {}, None, 0
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        seq += 1
        body = {"seq": seq, "session": session, "offset": offset, "view": view}
        if version is not None:
            body["version"] = version
        reply = deployment.post(ANSWER_POLL_PATH, body)
        if reply["done"]:
            return {"text": reply["text"], "reply": reply}
        text += reply["text"]
        offset, view, version = reply["to"], reply["view"], reply["version"]
        if until is not None and until(text):
            return {"text": text, "reply": reply}
        time.sleep(0.05)
    raise AssertionError(f"answer {session} did not end in {limit} s")


def test_three_workers_share_loads_answers_stops_and_survive_a_restart(redis_server, openai_server, tmp_path, bodies):
    config = team_config(
        tmp_path / "config.json", redis_url=redis_server.url, cache=tmp_path / "cache",
        llm={"backend": "openai", "base_url": openai_server.base_url, "model": "smollm2", "api_key_env": ""},
    )
    deployment = Deployment(config)
    deployment.start()
    try:
        openai_server.reply = ChatReply(pieces=["Eight ", "orders ", "were ", "returned."], delay=0.05)
        stored = load_example(deployment, bodies)
        assert stored["name"] == "orders.json" and stored["dataset_id"]
        first = send(deployment, bodies, "How many orders were returned?", stored)
        done = poll(deployment, first)
        assert done["reply"]["fields"]["status"] == "done" and done["text"].endswith("returned.")
        assert done["reply"]["fields"]["computed"]["value"] > 0

        openai_server.reply = ChatReply(pieces=[f"word{i} " for i in range(400)], delay=0.05)
        second = send(deployment, bodies, "Describe every order in detail", stored)
        poll(deployment, second, until=lambda text: "word5 " in text)
        stopping = deployment.post(UPDATE_PATH, bodies.request_body(ids.STOP_BUTTON, "n_clicks", 1, state={
            f"{ids.STREAMING_SESSION_ID}.data": second, f"{ids.STREAMING_ACTIVE}.data": True}))
        assert stopping["response"][ids.CHAT_NOTICE]["children"] == "Stopping…"
        stopped = poll(deployment, second, limit=10)
        assert stopped["reply"]["fields"]["status"] == "stopped" and "word5 " in stopped["text"]
        assert len(stopped["text"]) < len("".join(f"word{i} " for i in range(400)))
        assert len(set(deployment.pids)) >= 2, f"every request landed on one worker: {set(deployment.pids)}"

        openai_server.reply = ChatReply(pieces=[f"part{i} " for i in range(400)], delay=0.05)
        doomed = send(deployment, bodies, "List every order again", stored)
        producer = int(deployment.pids[-1])  # the worker that took the Send produces the answer
        seen = poll(deployment, doomed, until=lambda text: "part5 " in text)["text"]
        os.kill(producer, signal.SIGKILL)  # killed mid-answer (out of memory, say)
        killed_at = time.monotonic()
        orphaned = poll(deployment, doomed, limit=30)
        assert orphaned["reply"]["fields"]["status"] == "error"
        assert orphaned["reply"]["fields"]["error"] == ORPHANED_MESSAGE
        assert orphaned["text"].startswith(seen), "the text received before the worker died is kept"
        assert time.monotonic() - killed_at < 15, "a clear error within seconds, not a spinner forever"

        deployment.stop()  # every worker goes away
        deployment.start()
        kept = poll(deployment, first, limit=10)
        assert kept["text"].endswith("returned."), "the answer outlived the workers (it is in Redis)"
        openai_server.reply = ChatReply(pieces=["Still ", "here."], delay=0.0)
        third = send(deployment, bodies, "How many orders were paid by paypal?", stored)
        again = poll(deployment, third)
        assert again["text"] == "Still here." and again["reply"]["fields"]["computed"]["value"] > 0
        asked_model = len(openai_server.chat_requests)
        repeated = poll(deployment, send(deployment, bodies, "how many orders were returned", stored))
        assert repeated["text"] == done["text"] and repeated["reply"]["fields"]["meta"]["cached"] is True
        assert len(openai_server.chat_requests) == asked_model, "answered from the cache the workers share"
    finally:
        deployment.stop()


def test_several_workers_without_redis_are_refused_with_the_setting_to_add(tmp_path, processes):
    config = tmp_path / "one.json"
    config.write_text('{"state": {"backend": "memory"}}')
    result = processes.run([sys.executable, "app.py", "--workers", "4", "--config", str(config)],
                            cwd=Path(__file__).resolve().parent.parent, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == f"error: --workers 4: {WORKERS_NEED_REDIS}"
    assert '"state": {"backend": "redis"' in result.stderr, "the message names the setting to add"
