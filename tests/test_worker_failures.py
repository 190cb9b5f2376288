"""Workers that die or start under load, with Redis, over real HTTP (``python app.py --workers 2``): a worker
killed while it loads a file leaves a clear failure within seconds (the progress poll and the question that
waited for the file both say so), and a freshly started worker serves the page's scripts on its very first,
concurrent requests. The heartbeat of a load, on the load board and in the job mirror, is checked against
redis-server directly too."""

from __future__ import annotations

import base64
import json
import os
import random
import re
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
import pytest
import requests

from dashboard import ids, ingest_jobs
from tests.callback_client import UPDATE_PATH, CallbackClient
from dashboard.ingest_jobs import FAILED, RUNNING, IngestJobRegistry, RedisJobMirror
from dashboard.polling import ANSWER_POLL_PATH, INGEST_POLL_PATH
from rag.redis_buffer import RedisLoadBoard, RedisStreamBuffer
from tests.deployment import Deployment, team_config
from tests.protocol_servers import ChatReply
from tests.test_workers import TAB, bodies, poll  # noqa: F401  (``bodies`` is a fixture)

BIG = "big.json"
DIED = RedisLoadBoard.ORPHANED_MESSAGE.format(name=BIG)


def big_dataset(records: int) -> bytes:
    """A file whose embedding takes a while: many records of long, different text (new each run, so no
    embedding cache holds it)."""
    rng = random.Random()
    words = [f"{rng.choice('bcdfgklmnprstvz')}{rng.choice('aeiou')}{rng.choice('lmnrst')}{i}" for i in range(3000)]
    rows = [
        {"id": i, "title": " ".join(rng.choices(words, k=6)), "description": " ".join(rng.choices(words, k=120)),
         "price": rng.randint(1, 999)}
        for i in range(records)
    ]
    return json.dumps(rows).encode()


def upload(deployment: Deployment, bodies: CallbackClient, name: str, data: bytes) -> str:
    """Drop a file on the page's upload, as the browser posts it; the loading job's id."""
    contents = "data:application/json;base64," + base64.b64encode(data).decode()
    sent = deployment.post(UPDATE_PATH, bodies.request_body(ids.UPLOAD_GATE, "data", {"filename": name}, state={
        f"{ids.UPLOAD}.contents": contents, f"{ids.UPLOAD}.filename": name, f"{ids.TAB_ID}.data": TAB}))
    return sent["response"][ids.INGEST_JOB]["data"]


def send_waiting(deployment: Deployment, bodies: CallbackClient, question: str) -> tuple[str, int]:
    """Send a question while the tab's file loads; the answer's session and the worker that took it."""
    sent = deployment.post(UPDATE_PATH, bodies.request_body(ids.SEND_BUTTON, "n_clicks", 1, state={
        f"{ids.CHAT_INPUT}.value": question, f"{ids.CHAT_HISTORY_STORE}.data": [],
        f"{ids.STREAMING_ACTIVE}.data": False, f"{ids.TAB_ID}.data": TAB}))
    return sent["response"][ids.STREAMING_SESSION_ID]["data"], int(deployment.pids[-1])


def test_a_worker_killed_while_loading_a_file_leaves_a_failed_load_and_question_within_seconds(
    redis_server, openai_server, tmp_path, bodies
):
    config = team_config(
        tmp_path / "config.json", redis_url=redis_server.url, cache=tmp_path / "cache",
        llm={"backend": "openai", "base_url": openai_server.base_url, "model": "smollm2", "api_key_env": ""},
        retrieval={"batch_size": 2},  # embedding takes long enough to be killed in the middle of it
    )
    deployment = Deployment(config, workers=2, log=tmp_path / "app.log")
    deployment.start()
    try:
        openai_server.reply = ChatReply(pieces=["Over ", "keywords."], delay=0.0)
        job = upload(deployment, bodies, BIG, big_dataset(3000))
        loader = int(deployment.pids[-1])  # the worker that took the upload loads the file
        for seq in range(1, 3000):
            reply = deployment.post(INGEST_POLL_PATH, {"seq": seq, "job": job})
            assert not reply["finished"], f"the load ended before the test could kill it: {reply['message']}"
            if "embedding the records" in json.dumps(reply["progress"]):
                break
            time.sleep(0.1)
        for _ in range(40):  # a question that lands on the other worker waits there for the file
            session, worker = send_waiting(deployment, bodies, "Which item is the most expensive?")
            if worker != loader:
                break
        else:
            raise AssertionError("every Send landed on the loading worker")
        waiting, deadline = False, time.monotonic() + 10
        while not waiting:
            assert time.monotonic() < deadline, "the question does not wait for the file"
            reply = deployment.post(ANSWER_POLL_PATH, {"seq": 1, "session": session, "offset": 0, "view": {}})
            assert not reply["done"], f"the question did not wait for the file: {reply}"
            waiting = reply["waiting"]
        still = deployment.post(INGEST_POLL_PATH, {"seq": 9000, "job": job})
        assert not still["finished"] and "embedding the records" in json.dumps(still["progress"])

        os.kill(loader, signal.SIGKILL)  # killed mid-load (out of memory, say)
        killed_at = time.monotonic()
        for seq in range(9001, 20000):
            reply = deployment.post(INGEST_POLL_PATH, {"seq": seq, "job": job})
            if reply["finished"]:
                break
            assert time.monotonic() - killed_at < 15, f"the progress bar still runs: {reply['progress']}"
            time.sleep(0.2)
        load_failed_after = time.monotonic() - killed_at
        assert int(deployment.pids[-1]) != loader
        assert reply["hidden"] and reply["progress"] == [] and reply["stored_data"] is None
        assert DIED in json.dumps(reply["message"], ensure_ascii=False)

        ended = poll(deployment, session, limit=15 - (time.monotonic() - killed_at))
        question_failed_after = time.monotonic() - killed_at
        fields = ended["reply"]["fields"]
        assert fields["status"] == "error" and BIG in fields["error"] and DIED in fields["error"], fields
        assert question_failed_after < 15, "the question ends with the load, not a minute later"
        print(f"load failed {load_failed_after:.1f} s, question {question_failed_after:.1f} s after the kill")
    finally:
        deployment.stop()


def page_assets(base_url: str) -> tuple[requests.Response, list[str]]:
    """Load ``/`` as a browser does; the response and the URLs of the page's scripts and style sheets."""
    page = requests.get(base_url, timeout=120, headers={"Connection": "close"})
    found = re.findall(r'<script src="([^"]+)"', page.text)
    found += re.findall(r'<link rel="stylesheet" href="([^"]+)"', page.text)
    return page, [requests.compat.urljoin(base_url, src) for src in found]


def fetch_at_once(urls: list[str]) -> list[requests.Response]:
    """GET every URL at the same moment, each on its own connection, as a browser loading a page does."""
    start = threading.Barrier(len(urls))

    def get(url: str) -> requests.Response:
        start.wait(30)
        return requests.get(url, timeout=120, headers={"Connection": "close"})

    with ThreadPoolExecutor(len(urls)) as pool:
        return list(pool.map(get, urls))


def test_fresh_workers_serve_the_page_scripts_on_their_first_concurrent_requests(redis_server, openai_server, tmp_path):
    config = team_config(
        tmp_path / "config.json", redis_url=redis_server.url, cache=tmp_path / "cache",
        llm={"backend": "openai", "base_url": openai_server.base_url, "model": "smollm2", "api_key_env": ""},
    )
    deployment = Deployment(config, workers=2, log=tmp_path / "app.log")
    deployment.start()
    failures: list[str] = []
    try:
        for restart in range(10):
            old = deployment.worker_pids()
            os.kill(deployment.process.pid, signal.SIGHUP)  # gunicorn starts new workers, stops the old ones
            deadline = time.monotonic() + 120
            while (fresh := deployment.worker_pids()) & old or len(fresh) < 2:
                assert time.monotonic() < deadline, f"workers {old} were not replaced"
                time.sleep(0.05)
            page, assets = page_assets(deployment.url)
            assert page.status_code == 200 and len(assets) >= 10, assets
            served = {int(page.headers["X-Worker-Pid"])}
            while fresh - served:  # until every fresh worker had its first requests: the page, or its scripts at once
                assert time.monotonic() < deadline, f"workers {fresh - served} served nothing"
                urls = (assets * 3)[: max(20, len(assets))]
                responses = fetch_at_once(urls)
                failures += [f"restart {restart}: {r.status_code} {url}"
                             for url, r in zip(urls, responses) if r.status_code != 200]
                served |= {int(r.headers["X-Worker-Pid"]) for r in responses}
            assert not served & old, "an old worker served the page"
        assert not failures, failures
    finally:
        deployment.stop()


# ------------------------------------------------------------------------- the heartbeat, in Redis
@pytest.fixture
def quick_orphans(monkeypatch):
    """Loads and jobs beaten every 0.1 s and orphaned after 0.5 s."""
    monkeypatch.setattr(RedisLoadBoard, "HEARTBEAT_SECONDS", 0.1)
    monkeypatch.setattr(RedisLoadBoard, "ORPHANED_AFTER_SECONDS", 0.5)
    monkeypatch.setattr(ingest_jobs, "HEARTBEAT_SECONDS", 0.1)
    monkeypatch.setattr(ingest_jobs, "ORPHANED_AFTER_SECONDS", 0.5)


def test_a_load_stays_alive_while_its_worker_beats_it_and_ends_when_the_worker_is_gone(redis_server, quick_orphans):
    client = RedisStreamBuffer.from_url(redis_server.url).client
    loading, other = RedisLoadBoard(client), RedisLoadBoard(client)
    loading.publish("t", {"id": "L1", "name": BIG, "stage": "embedding", "finished": False})
    time.sleep(1.2)
    assert other.get("t")["finished"] is False, "beaten by the worker running it"
    loading._running.clear()  # the worker dies: nothing beats the load any more
    time.sleep(0.8)
    ended = other.get("t")
    assert ended["finished"] is True and ended["error"] == DIED and ended["id"] == "L1"
    assert other.request_cancel("t") is False
    assert RedisLoadBoard(client).get("t") == ended, "ended once, in Redis: every worker sees it"


def test_a_cancel_asked_of_one_load_does_not_cancel_the_next_load_of_the_tab(redis_server):
    client = RedisStreamBuffer.from_url(redis_server.url).client
    loading, other = RedisLoadBoard(client), RedisLoadBoard(client)
    loading.publish("t", {"id": "L1", "name": "a.json", "finished": False})
    assert other.request_cancel("t") is True
    assert loading.publish("t", {"id": "L1", "name": "a.json", "stage": "parsing", "finished": False}) is True
    loading.publish("t", {"id": "L1", "name": "a.json", "error": "cancelled", "finished": True})
    assert loading.publish("t", {"id": "L2", "name": "b.json", "finished": False}) is False


def test_a_job_whose_worker_died_fails_with_a_message_and_its_worker_cannot_revive_it(redis_server, quick_orphans):
    client = RedisStreamBuffer.from_url(redis_server.url).client
    running = IngestJobRegistry(mirror=RedisJobMirror(client))
    polling = IngestJobRegistry(mirror=RedisJobMirror(client))
    release, stopped = threading.Event(), []

    def work(progress):
        progress("embedding", 1, 10)
        release.wait(10)
        try:
            progress("embedding", 2, 10)
        except Exception as exc:  # the job was ended meanwhile: the load stops at its next report
            stopped.append(exc)
            raise
        return {"name": BIG}

    job_id = running.start(BIG, work)
    time.sleep(1.2)
    assert polling.get(job_id).status == RUNNING, "beaten by the worker running it"
    with running._lock:
        running._running_here.clear()  # its worker is gone: nothing beats it any more
    time.sleep(0.8)
    failed = polling.get(job_id)
    assert failed.status == FAILED and failed.message == DIED
    release.set()
    assert running.wait(job_id, timeout=10).status == FAILED and stopped
    assert polling.get(job_id).message == DIED, "the first end wins"
