"""Benchmarks of the dashboard's streaming path.

1. Bytes per poll: the real HTTP response of the 200 ms poll callback (a ``dash.Patch`` appending the
   new text) against the response a full re-render of the conversation would need, at several
   conversation lengths. The answer is written into the engine's ``StreamBuffer`` piece by piece,
   so the figures are about the transport, not the model.
2. Send to first visible token, in headless Chromium, minus the backend's own time to first token:
   what the page adds (retrieval, the poll interval, rendering) on top of the model.

Run: ``python bench/bench_dashboard.py [--skip-browser] [--questions 4]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import plotly.io.json as pio_json  # noqa: E402

from app import create_app  # noqa: E402
from dashboard import ids  # noqa: E402
from dashboard.callback_client import CallbackClient  # noqa: E402
from dashboard.chat_view import compact_sources, new_progress, new_turn, render_history  # noqa: E402
from dashboard.data_flow import EXAMPLE_DATASET  # noqa: E402
from rag.engine import RAGEngine  # noqa: E402
from rag.settings import Settings, apply_overrides  # noqa: E402
from tests.browser import launch_chromium  # noqa: E402

CONVERSATION_LENGTHS = (0, 5, 20, 50)
ANSWER_CHARS = 800
PIECE = "records show that "  # ~3-4 tokens: what one 200 ms poll typically carries
QUESTIONS = [
    "Which orders were returned?",
    "What is the total of order ORD-10042?",
    "Which customers are from Stockholm?",
    "Which orders used the code VIP20?",
    "How many orders came through the marketplace channel?",
    "Which orders were delivered by DHL?",
]


def finished_turn(number: int) -> dict[str, Any]:
    """A realistic earlier turn: an answer of ``ANSWER_CHARS`` characters and three sources."""
    turn = new_turn(f"Question number {number} about the orders?", f"old-{number}")
    turn.update(
        answer=("Order ORD-10042 was shipped to Berlin and delivered in three days [1]. " * 20)[:ANSWER_CHARS],
        status="done",
        sources=compact_sources(
            [
                {
                    "label": i,
                    "record_id": f"$[{i * 7}]",
                    "score": 0.03,
                    "text": "order_id: ORD-10042\nstatus: delivered\ntotal: 129.5\n" * 6,
                }
                for i in (1, 2, 3)
            ]
        ),
        metrics={
            "model": "smollm2",
            "time_to_first_token": 0.4,
            "tokens_per_second": 40.0,
            "total_duration": 3.0,
            "completion_tokens": 180,
        },
        meta={"model": "smollm2", "dataset_name": "orders.json", "dataset_hash": "ab" * 32},
    )
    return turn


def full_render_bytes(turns: list[dict[str, Any]]) -> int:
    """Size of a callback response that re-renders the whole history."""
    body = {"multi": True, "response": {ids.CHAT_HISTORY: {"children": render_history(turns)}}}
    return len(pio_json.to_json_plotly(body).encode())


def bench_bytes_per_poll() -> None:
    print("1. Bytes per poll (real HTTP responses of the poll callback vs a full re-render)")
    print(f"   each poll carries {len(PIECE)} new characters; the answer grows to {ANSWER_CHARS} characters\n")
    engine = RAGEngine(apply_overrides(Settings(), {"cache": {"enabled": False}}, "bench"))
    client = CallbackClient(create_app(engine=engine))
    header = (
        f"   {'earlier turns':>13} {'answer so far':>13} {'patch bytes':>11} {'full re-render':>14}"
        f" {'ratio':>7} {'poll ms':>8}"
    )
    print(header)
    for earlier in CONVERSATION_LENGTHS:
        turns = [finished_turn(i) for i in range(earlier)]
        session_id = f"bench-{earlier}"
        engine.buffer.start(session_id)
        current = new_turn("What was shipped to Berlin?", session_id)
        progress = new_progress(earlier)
        written = ""
        checkpoints = {len(PIECE) * 2, ANSWER_CHARS // 2, ANSWER_CHARS}
        while len(written) < ANSWER_CHARS:
            engine.buffer.append(session_id, PIECE)
            written += PIECE
            started = time.perf_counter()
            response = client.call(
                ids.STREAMING_INTERVAL,
                "n_intervals",
                1,
                state={
                    f"{ids.STREAMING_SESSION_ID}.data": session_id,
                    f"{ids.STREAM_PROGRESS}.data": progress,
                    f"{ids.STREAMING_ACTIVE}.data": True,
                },
            )
            elapsed_ms = (time.perf_counter() - started) * 1000
            progress = response.output(ids.STREAM_PROGRESS, "data") or progress
            if any(abs(len(written) - c) < len(PIECE) for c in checkpoints):
                checkpoints = {c for c in checkpoints if abs(len(written) - c) >= len(PIECE)}
                full = full_render_bytes(turns + [{**current, "answer": written}])
                print(
                    f"   {earlier:>13} {len(written):>13} {len(response.body):>11} {full:>14} "
                    f"{full / len(response.body):>6.0f}x {elapsed_ms:>8.1f}"
                )
        engine.buffer.finish(session_id)
    print()


def bench_first_visible_token(question_count: int) -> None:
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    print("2. Send -> first visible token in Chromium, minus the backend's own time to first token")
    print("   (embedded SmolLM2-135M; the difference is retrieval + waiting for the next 200 ms poll + rendering)\n")
    with tempfile.TemporaryDirectory() as cache:
        settings = apply_overrides(
            Settings(),
            {
                "llm": {"backend": "embedded", "max_tokens": 32},
                "retrieval": {"top_k": 3, "chunk_chars": 600},
                "cache": {"directory": cache},
            },
            "bench",
        )
        engine = RAGEngine(settings)
        engine.load_json(EXAMPLE_DATASET)
        engine.backend_status()  # load the model before timing anything
        engine.chat("warm-up question about orders")
        app = create_app(engine=engine)
        import logging

        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        server = make_server("127.0.0.1", 0, app.server, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        rows = []
        try:
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                page = browser.new_page()
                page.goto(f"http://127.0.0.1:{server.server_port}/")
                page.wait_for_selector("#chat-input")
                for number, question in enumerate(QUESTIONS[:question_count]):
                    page.fill("#chat-input", question)
                    page.evaluate(_START_TIMING, number)
                    page.wait_for_function("n => window.firstTokenAt !== undefined", arg=number, timeout=120_000)
                    page.wait_for_function(_ANSWER_FINISHED, arg=number, timeout=120_000)
                    visible = page.evaluate("() => (window.firstTokenAt - window.sentAt) / 1000")
                    turn = page.evaluate("n => JSON.parse(sessionStorage.getItem('chat-history-store'))[n]", number)
                    backend = turn["metrics"].get("time_to_first_token")
                    if backend is None:
                        print(f"   {question!r}: no backend figure ({turn.get('error')})")
                        continue
                    rows.append((question, visible, backend))
                browser.close()
        finally:
            server.shutdown()
    print(f"   {'question':<55} {'visible s':>9} {'backend s':>9} {'page adds s':>11}")
    for question, visible, backend in rows:
        print(f"   {question:<55} {visible:>9.3f} {backend:>9.3f} {visible - backend:>11.3f}")
    if rows:
        added = [visible - backend for _, visible, backend in rows]
        print(
            f"\n   page overhead: median {statistics.median(added):.3f} s, max {max(added):.3f} s"
            f" over {len(rows)} answers"
        )


_ANSWER_FINISHED = """
n => {
    const kept = JSON.parse(window.sessionStorage.getItem('chat-history-store') || '[]');
    return kept.length > n && kept[n].status !== 'streaming' && !document.getElementById('send-button').disabled;
}
"""

_START_TIMING = """
n => {
    delete window.firstTokenAt;
    const history = document.getElementById('chat-history');
    const observer = new MutationObserver(() => {
        const turns = history.querySelectorAll('.turn');
        const answer = turns.length > n ? turns[n].querySelector('.answer-text') : null;
        if (answer && answer.innerText.trim().length > 0) {
            window.firstTokenAt = performance.now();
            observer.disconnect();
        }
    });
    observer.observe(history, {childList: true, subtree: true, characterData: true});
    window.sentAt = performance.now();
    document.getElementById('send-button').click();
}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-browser", action="store_true", help="only measure bytes per poll")
    parser.add_argument("--questions", type=int, default=4, help="answers timed in the browser (default 4)")
    args = parser.parse_args()
    bench_bytes_per_poll()
    if not args.skip_browser:
        bench_first_visible_token(args.questions)


if __name__ == "__main__":
    main()
