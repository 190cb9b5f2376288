"""Many tabs streaming at once from one app process, simulated at the HTTP level.

Each simulated tab does what the page does, over real HTTP to the app served by this process (the
tabs run in 5 other processes, so that their own Python does not share the app's): it
posts the real Send callback (``/_dash-update-component``), then polls ``/_poll/answer`` like
``polling.js`` (one request in flight, 50 ms until the first text, then 200 ms, offsets applied in
order, the answer's last version sent so that the app holds a poll until something changes) until
its answer is done. All tabs send at the same moment. The model is a local OpenAI-compatible server
in a process of its own (as Ollama or vLLM is) that streams each answer over about 3 s.

Prints, per number of tabs: how many turns finished with the whole text, send-to-first-text and
send-to-done (p50/max), poll round trip p50/p95, the time the model request started after Send,
and the app process's CPU time and peak memory over the run.

Run: ``python bench/bench_tabs.py [--tabs 10 50]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from app import create_app  # noqa: E402
from dashboard import ids  # noqa: E402
from tests.callback_client import UPDATE_PATH, CallbackClient  # noqa: E402
from dashboard.data_flow import EXAMPLE_DATASET  # noqa: E402
from dashboard.polling import ANSWER_POLL_PATH  # noqa: E402
from rag.engine import RAGEngine  # noqa: E402
from rag.settings import Settings, apply_overrides  # noqa: E402
from tests.browser import serve  # noqa: E402
from tests.protocol_servers import ChatReply, OpenAIServer  # noqa: E402

PIECES = [f"word{i} " for i in range(60)]
PIECE_DELAY = 0.05  # 60 pieces over ~3 s
FAST_MS, SLOW_MS = 0.05, 0.2
CLIENT_PROCESSES = 5


@dataclass
class Tab:
    """One simulated tab's answer."""

    number: int
    sent_at: float = 0.0
    first_text_at: float | None = None
    done_at: float | None = None
    text: str = ""
    polls: list[float] = field(default_factory=list)
    poll_bytes: int = 0
    error: str | None = None


def run_tab(tab: Tab, url: str, body: dict, start_at: float) -> None:
    session = requests.Session()
    time.sleep(max(0.0, start_at - time.time()))
    tab.sent_at = time.time()
    try:
        reply = session.post(url + UPDATE_PATH, json=body, timeout=60)
        reply.raise_for_status()
        session_id = reply.json()["response"][ids.STREAMING_SESSION_ID]["data"]
        offset, seq, view, version = 0, 0, {}, None
        while True:
            seq += 1
            started = time.time()
            request = {"seq": seq, "session": session_id, "offset": offset, "view": view}
            if version is not None:  # held by the app until the answer changes, as the page's polls are
                request["version"] = version
            poll = session.post(url + ANSWER_POLL_PATH, json=request, timeout=60)
            tab.polls.append(time.time() - started)
            tab.poll_bytes += len(poll.content)
            data = poll.json()
            if data.get("done"):
                tab.text = data.get("text", "")
            elif data.get("from", offset) == offset:
                tab.text += data.get("text", "")
                offset = data.get("to", offset)
                view = data.get("view", view)
                version = data.get("version", version)
            if tab.text and tab.first_text_at is None:
                tab.first_text_at = time.time()
            if data.get("done"):
                tab.done_at = time.time()
                return
            time.sleep(FAST_MS if not tab.text else SLOW_MS)
    except Exception as exc:  # a benchmark reports failures, it does not stop at them
        tab.error = str(exc)


def run_tabs(url: str, work: list[tuple[int, dict]], start_at: float) -> list[Tab]:
    """In a client process: one thread per tab, all sending at ``start_at``."""
    tabs = [Tab(number) for number, _ in work]
    threads = [threading.Thread(target=run_tab, args=(tab, url, body, start_at)) for tab, (_, body) in zip(tabs, work)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return tabs


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def serve_model(pipe: Any, delay: float = PIECE_DELAY) -> None:
    """In a process of its own: the model server; sends its URL, then, when told to stop, when each chat
    request arrived."""
    model = OpenAIServer().start()
    model.reply = ChatReply(pieces=PIECES, delay=delay)
    pipe.send(model.base_url)
    pipe.recv()
    pipe.send([request.received_at for request in model.chat_requests])
    model.stop()


class ModelProcess:
    """The model server's process, and when its chat requests arrived."""

    def __init__(self, delay: float = PIECE_DELAY) -> None:
        context = get_context("spawn")
        self._pipe, child = context.Pipe()
        self._process = context.Process(target=serve_model, args=(child, delay), daemon=True)
        self._process.start()
        self.base_url: str = self._pipe.recv()

    def stop(self) -> list[float]:
        self._pipe.send("stop")
        arrivals = self._pipe.recv()
        self._process.join(timeout=10)
        return arrivals


def bench(count: int) -> None:
    model = ModelProcess()
    arrivals: list[float] = []
    try:
        with tempfile.TemporaryDirectory() as cache:
            settings = apply_overrides(Settings(), {
                "llm": {"backend": "openai", "base_url": model.base_url, "model": "smollm2", "api_key_env": ""},
                "retrieval": {"top_k": 3},
                "cache": {"directory": cache, "enabled": False},
            }, "bench")
            engine = RAGEngine(settings)
            engine.load_json(EXAMPLE_DATASET)
            engine.chat("warm-up question about orders")
            app = create_app(engine=engine)
            client = CallbackClient(app)
            bodies = [client.request_body(ids.SEND_BUTTON, "n_clicks", 1, state={
                f"{ids.CHAT_INPUT}.value": f"Which orders were shipped with DHL to customer number {n}?",
                f"{ids.CHAT_HISTORY_STORE}.data": [],
                f"{ids.STREAMING_ACTIVE}.data": False,
            }) for n in range(count)]
            with serve(app.server) as url, ProcessPoolExecutor(CLIENT_PROCESSES, mp_context=get_context("spawn")) as pool:
                list(pool.map(time.sleep, [0] * CLIENT_PROCESSES))  # the client processes are up before timing
                cpu_before = resource.getrusage(resource.RUSAGE_SELF)
                start_at = time.time() + 1.0
                shares = [list(enumerate(bodies))[k::CLIENT_PROCESSES] for k in range(CLIENT_PROCESSES)]
                tabs = [tab for part in pool.map(run_tabs, [url] * CLIENT_PROCESSES, shares, [start_at] * CLIENT_PROCESSES)
                        for tab in part]
                wall = time.time() - start_at
                cpu_after = resource.getrusage(resource.RUSAGE_SELF)
            expected = "".join(PIECES)
            finished = [t for t in tabs if t.done_at is not None and t.text == expected]
    finally:
        arrivals = model.stop()
    starts = [arrival - start_at for arrival in arrivals if arrival >= start_at]
    firsts = [t.first_text_at - t.sent_at for t in tabs if t.first_text_at]
    dones = [t.done_at - t.sent_at for t in tabs if t.done_at]
    polls = [p for t in tabs for p in t.polls]
    cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    print(f"{count:>4} tabs: {len(finished)}/{count} finished whole"
          + (f" ({sum(1 for t in tabs if t.error)} errors: {next((t.error for t in tabs if t.error), '')[:80]})"
             if any(t.error for t in tabs) else ""))
    if firsts and dones:
        print(f"      send->first text p50 {statistics.median(firsts):.2f} s, max {max(firsts):.2f} s; "
              f"send->done p50 {statistics.median(dones):.2f} s, max {max(dones):.2f} s (the model streams ~3 s)")
    if polls:
        print(f"      poll round trip p50 {statistics.median(polls) * 1000:.0f} ms, p95 {percentile(polls, 0.95) * 1000:.0f} ms "
              f"over {len(polls)} polls")
    if starts:
        print(f"      model request started after Send: p50 {statistics.median(starts):.2f} s, max {max(starts):.2f} s")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"      app process: CPU {cpu:.1f} s over {wall:.1f} s wall; peak RSS {peak_mb:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tabs", type=int, nargs="+", default=[10, 50])
    args = parser.parse_args()
    for count in args.tabs:
        bench(count)


if __name__ == "__main__":
    main()
