"""Enter right after an answer ends, in headless Chromium: every question is sent, none is left in the box.

A question typed while an answer streams and sent with Enter as that answer ended once stayed in the input box,
unsent, with Send enabled: the page learns that an answer ended at its next poll, so for a moment it still said
the answer streamed; the app refused the question for it, and the page, seeing the end, wiped the notice saying so.

Here each question is typed while the previous answer streams and sent with Enter 0, 100, 300 and 1,000 ms after
that answer ends, 5 times each, the end seen on the page in two ways: the answer's whole text shown (the reader
sees the model's last word), or Send enabled again with the turn's status line final. The app answers from the
OpenAI-protocol server of ``openai_server``, a short answer per question whose stream ends a moment after its
last word (``SILENT_EVENTS``), so every turn's final text is known.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from app import create_app
from rag.engine import RAGEngine
from rag.settings import Settings, apply_overrides
from tests.browser import Console, serve, stored_turns, wait_answer_finished
from tests.protocol_servers import ChatReply, OpenAIServer

EXAMPLE = Path(__file__).resolve().parent.parent / "dashboard" / "example_data" / "orders.json"
MODEL = "smollm2"
DELAYS_MS = (0, 100, 300, 1000)
ROUNDS = 5
PIECE_SECONDS = 0.1
"""Between two events of an answer's stream."""
SILENT_EVENTS = 3
"""Empty events after an answer's last word: its stream ends 0.4 s after that word (as the finish and usage
events, then the app's own bookkeeping, follow a real model's last token)."""
SENT_WITHIN_MS = 5_000
"""How long a pressed Enter may take to show its question's turn and empty the box (well under a second here)."""
ENDS = {
    "whole answer shown": """([n, text]) => {
        const turns = document.querySelectorAll('.turn');
        const answer = turns.length === n ? turns[n - 1].querySelector('.answer-text') : null;
        return Boolean(answer && answer.textContent.includes(text));
    }""",
    "Send enabled, status final": """([n, text]) => {
        const turns = document.querySelectorAll('.turn');
        return turns.length === n && !turns[n - 1].querySelector('.status-badge.streaming')
            && !document.getElementById('send-button').disabled;
    }""",
}
"""How the page shows that the ``n``-th answer (whose text is ``text``) ended."""


def llm_settings(server: OpenAIServer) -> dict[str, Any]:
    return {"backend": "openai", "base_url": server.base_url, "model": MODEL, "api_key_env": "", "read_timeout": 60}


@pytest.fixture(scope="module")
def served(_openai_server_session: OpenAIServer, tmp_path_factory) -> Iterator[tuple[str, RAGEngine]]:
    """The app over a real engine answering from the scripted OpenAI-protocol server, the example loaded."""
    settings = apply_overrides(
        Settings(),
        {
            "llm": llm_settings(_openai_server_session),
            "retrieval": {"top_k": 3},
            "cache": {"directory": str(tmp_path_factory.getbasetemp() / "enter-embeddings"), "enabled": True},
        },
        "browser test",
    )
    engine = RAGEngine(settings)
    engine.load_json(EXAMPLE)
    with serve(create_app(engine=engine).server) as url:
        yield url, engine


@pytest.fixture
def page(browser, served, openai_server) -> Iterator[tuple[Any, Console]]:
    """A fresh tab (its console watched) over the app with a fresh answer cache."""
    url, engine = served
    engine.configure_llm(**llm_settings(openai_server))
    engine.clear_cache()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    console = Console()
    new_page = console.watch(context.new_page())
    new_page.goto(url)
    new_page.wait_for_selector("#chat-input")
    yield new_page, console
    context.close()


def question_for(number: int) -> str:
    return f"Which orders were returned, take {number}?"


def answer_for(number: int) -> list[str]:
    return [f"Answer {number}", " is", " here", " in", " full", "."]


def reply_for(number: int) -> ChatReply:
    return ChatReply(pieces=answer_for(number) + [""] * SILENT_EVENTS, delay=PIECE_SECONDS)


def sent(page: Any, turns: int, question: str) -> bool:
    """Whether, within ``SENT_WITHIN_MS``, the ``turns``-th turn asks ``question`` and the input box is empty."""
    try:
        page.wait_for_function(
            """([n, question]) => {
                const shown = document.querySelectorAll('.turn .question-text');
                return shown.length === n && shown[n - 1].textContent === question
                    && document.getElementById('chat-input').value === '';
            }""",
            arg=[turns, question],
            timeout=SENT_WITHIN_MS,
        )
    except PlaywrightTimeout:
        return False
    return True


def page_state(page: Any) -> dict[str, Any]:
    return page.evaluate(
        """() => ({
            input: document.getElementById('chat-input').value,
            turns: document.querySelectorAll('.turn').length,
            send_disabled: document.getElementById('send-button').disabled,
            notice: document.getElementById('chat-notice').textContent,
        })"""
    )


@pytest.mark.parametrize("end", list(ENDS))
def test_enter_right_after_an_answer_ends_always_sends_the_question(page, openai_server, end):
    page, console = page
    openai_server.reply = reply_for(0)
    page.fill("#chat-input", question_for(0))
    page.press("#chat-input", "Enter")
    assert sent(page, 1, question_for(0)), page_state(page)
    delays = [DELAYS_MS[i % len(DELAYS_MS)] for i in range(ROUNDS * len(DELAYS_MS))]
    lost: list[dict[str, Any]] = []
    for number, delay in enumerate(delays, start=1):
        page.fill("#chat-input", question_for(number))  # typed while the previous answer streams
        page.wait_for_function(ENDS[end], arg=[number, "".join(answer_for(number - 1))], polling="raf",
                               timeout=30_000)
        openai_server.reply = reply_for(number)  # (the model is asked once the question is sent)
        if delay:
            time.sleep(delay / 1000)
        page.press("#chat-input", "Enter")
        if not sent(page, number + 1, question_for(number)):
            lost.append({"question": number, "delay_ms": delay, **page_state(page)})
            page.fill("#chat-input", question_for(number))  # sent again with Send, so the next rounds go on
            page.click("#send-button")
            assert sent(page, number + 1, question_for(number)), page_state(page)
    wait_answer_finished(page, turns=len(delays) + 1, timeout=60_000)
    assert lost == [], f"{len(lost)} of {len(delays)} Enters lost: {lost}"
    everything = range(len(delays) + 1)
    questions = page.eval_on_selector_all(".turn .question-text", "nodes => nodes.map(n => n.textContent)")
    assert questions == [question_for(n) for n in everything]
    expected = ["".join(answer_for(n)) for n in everything]
    texts = page.eval_on_selector_all(".turn .answer-text", "nodes => nodes.map(n => n.textContent.trim())")
    assert texts == expected, "every turn shows its whole answer"
    turns = stored_turns(page)
    assert [turn["answer"] for turn in turns] == expected
    assert [turn["status"] for turn in turns] == ["done"] * len(expected), "every turn ended, also in the store"
    assert console.errors == []
