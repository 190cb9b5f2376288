"""The app under load as a team deploys it: ``python app.py`` (one waitress process) against
``python app.py --workers 4`` (gunicorn) sharing a real redis-server, both as their own processes.

For 10, 20 and 50 tabs asking at the same moment (HTTP clients replaying the page's real Send callback
and answer polls, as ``bench_tabs.py`` does; the model is a local OpenAI-compatible server in a process of
its own streaming each answer over about 3 s): turns finished, send-to-first-text and send-to-done,
poll round trip p50/p95, bytes per poll, and the server's CPU time and resident memory (all its
processes). Then, against one process, the server's memory after 100 and after 1,000 answers to unique
questions (it must stay bounded: answers expire from the buffer, the caches are bounded).

Run: ``python bench/bench_load.py [--tabs 10 20 50] [--answers 1000] [--skip-workers]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from app import create_app  # noqa: E402
from bench.bench_tabs import CLIENT_PROCESSES, PIECES, ModelProcess, percentile, run_tabs  # noqa: E402
from dashboard import ids  # noqa: E402
from tests.callback_client import UPDATE_PATH, CallbackClient  # noqa: E402
from dashboard.polling import INGEST_POLL_PATH  # noqa: E402
from rag.engine import RAGEngine  # noqa: E402
from rag.settings import Settings, apply_overrides  # noqa: E402
from tests.conftest import RedisServer  # noqa: E402
from tests.deployment import Deployment  # noqa: E402

TAB = "bench-tab"


def tree_usage(pid: int) -> tuple[float, float]:
    """CPU seconds and resident MB of ``pid`` and its children (from /proc)."""
    pids = [pid] + [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    cpu, rss = 0.0, 0.0
    ticks, page = os.sysconf("SC_CLK_TCK"), os.sysconf("SC_PAGE_SIZE")
    for process in pids:
        try:
            fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
            cpu += (int(fields[11]) + int(fields[12])) / ticks
            rss += int(Path(f"/proc/{process}/statm").read_text().split()[1]) * page / 1e6
        except (FileNotFoundError, IndexError):
            pass
    return cpu, rss


def start_server(config: Path, workers: int, folder: Path) -> Deployment:
    """``python app.py`` (``--workers N``: gunicorn) with ``config``, ready when every worker is."""
    deployment = Deployment(config, workers, log=folder / f"app-{workers}.log")
    deployment.start()
    return deployment


def alive(server: Deployment) -> None:
    """Stop with the end of the server's log when it has died."""
    if server.process.poll() is not None:
        raise SystemExit(f"the app died (exit {server.process.returncode}):\n"
                         + server.log.read_text(errors="replace")[-3000:])


def load_example(url: str, client: CallbackClient) -> dict:
    sent = requests.post(url + UPDATE_PATH, json=client.request_body(
        ids.LOAD_EXAMPLE_BUTTON, "n_clicks", 1, state={f"{ids.TAB_ID}.data": TAB}), timeout=60).json()
    job = sent["response"][ids.INGEST_JOB]["data"]
    for seq in range(1, 3000):
        reply = requests.post(url + INGEST_POLL_PATH, json={"seq": seq, "job": job}, timeout=60).json()
        if reply["finished"]:
            return reply["stored_data"]
        time.sleep(0.1)
    raise SystemExit("the example never loaded")


def send_bodies(client: CallbackClient, stored: dict, count: int, offset: int = 0) -> list[dict]:
    return [client.request_body(ids.SEND_BUTTON, "n_clicks", 1, state={
        f"{ids.CHAT_INPUT}.value": f"Which orders were shipped with DHL to customer number {offset + n}?",
        f"{ids.CHAT_HISTORY_STORE}.data": [],
        f"{ids.STREAMING_ACTIVE}.data": False,
        f"{ids.STORED_DATA}.data": stored,
        f"{ids.TAB_ID}.data": f"{TAB}-{offset + n}",
    }) for n in range(count)]


def wave(pool: ProcessPoolExecutor, url: str, bodies: list[dict]) -> tuple[list, float]:
    start_at = time.time() + 1.0
    shares = [list(enumerate(bodies))[k::CLIENT_PROCESSES] for k in range(CLIENT_PROCESSES)]
    tabs = [tab for part in pool.map(run_tabs, [url] * CLIENT_PROCESSES, shares, [start_at] * CLIENT_PROCESSES)
            for tab in part]
    return tabs, start_at


def report(label: str, count: int, tabs: list, cpu: float, wall: float, rss: float) -> None:
    expected = "".join(PIECES)
    finished = sum(1 for t in tabs if t.done_at is not None and t.text == expected)
    firsts = [t.first_text_at - t.sent_at for t in tabs if t.first_text_at]
    dones = [t.done_at - t.sent_at for t in tabs if t.done_at]
    polls = [p for t in tabs for p in t.polls]
    per_poll = sum(t.poll_bytes for t in tabs) / max(1, len(polls))
    print(f"   {label:<16} {count:>3} tabs: {finished}/{count} finished; first text p50 {statistics.median(firsts):.2f} s "
          f"max {max(firsts):.2f} s; done p50 {statistics.median(dones):.2f} s max {max(dones):.2f} s; poll p50 "
          f"{statistics.median(polls) * 1000:.0f} ms p95 {percentile(polls, 0.95) * 1000:.0f} ms, {per_poll:.0f} B/poll; "
          f"server CPU {cpu:.1f} s over {wall:.1f} s, RSS {rss:.0f} MB")


def run(label: str, config: Path, workers: int, tab_counts: list[int], client: CallbackClient,
        pool: ProcessPoolExecutor, offset: int) -> None:
    """``offset`` numbers the questions, so that no run is answered from another's cache."""
    server = start_server(config, workers, config.parent)
    try:
        stored = load_example(server.url, client)
        for count in tab_counts:
            cpu_before, _ = tree_usage(server.process.pid)
            tabs, start_at = wave(pool, server.url, send_bodies(client, stored, count, offset))
            wall = time.time() - start_at
            cpu_after, rss = tree_usage(server.process.pid)
            report(label, count, tabs, cpu_after - cpu_before, wall, rss)
            offset += count
    finally:
        server.stop()


def memory_after_answers(config: Path, answers: int, client: CallbackClient, pool: ProcessPoolExecutor) -> None:
    server = start_server(config, 1, config.parent)
    try:
        stored = load_example(server.url, client)
        samples = []
        done = 0
        while done < answers:
            batch = min(50, answers - done)
            tabs, _ = wave(pool, server.url, send_bodies(client, stored, batch, 100_000 + done))
            done += batch
            alive(server)
            if done in (100, answers) or done % 500 == 0 or (done >= 100 and not samples):
                samples.append((done, tree_usage(server.process.pid)[1]))
        print("   memory of one process after unique answers: "
              + ", ".join(f"{n:,} answers {rss:.0f} MB" for n, rss in samples)
              + f" (growth {samples[-1][1] - samples[0][1]:+.0f} MB from the first to the last)")
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tabs", type=int, nargs="*", default=[10, 20, 50])
    parser.add_argument("--answers", type=int, default=1000)
    parser.add_argument("--skip-workers", action="store_true")
    args = parser.parse_args()
    model = ModelProcess()
    with tempfile.TemporaryDirectory() as folder:
        base = {"llm": {"backend": "openai", "base_url": model.base_url, "model": "smollm2", "api_key_env": ""},
                "retrieval": {"top_k": 3}, "cache": {"directory": str(Path(folder) / "cache")}}
        single = Path(folder) / "single.json"
        single.write_text(json.dumps(base))
        settings = apply_overrides(Settings(), {"cache": {"enabled": False}}, "bench")
        client = CallbackClient(create_app(engine=RAGEngine(settings)))
        with ProcessPoolExecutor(CLIENT_PROCESSES, mp_context=get_context("spawn")) as pool:
            list(pool.map(time.sleep, [0] * CLIENT_PROCESSES))
            print("Tabs asking at once (the model streams each answer over ~3 s):")
            run("one process", single, 1, args.tabs, client, pool, 0)
            if not args.skip_workers:
                redis = RedisServer(Path(folder)).start()
                try:
                    team = Path(folder) / "team.json"
                    team.write_text(json.dumps({**base, "state": {"backend": "redis", "redis_url": redis.url}}))
                    run("4 workers+Redis", team, 4, args.tabs, client, pool, 1_000)
                finally:
                    redis.stop()
            if args.answers:
                memory_after_answers(single, args.answers, client, pool)
    model.stop()


if __name__ == "__main__":
    main()
