"""The page's polls in headless Chromium when the network is slow or fails, the model goes silent,
or the app loses an answer.

The app runs in a thread of this process; its model is the OpenAI-protocol server of ``openai_server``
with a scripted answer, so the text every poll must add up to is known. ``Network`` holds back (or
fails) every callback response on its way to the browser, like a slow link or a proxy would.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app import create_app
from rag.engine import RAGEngine
from rag.settings import Settings, apply_overrides
from tests.browser import (
    Console,
    Network,
    ask,
    install_network,
    serve,
    stored_turns,
    wait_answer_finished,
)
from tests.protocol_servers import ChatReply, OpenAIServer

EXAMPLE = Path(__file__).resolve().parent.parent / "dashboard" / "example_data" / "orders.json"
MODEL = "smollm2"
FAILED_POLL_ERRORS = re.compile(r"Failed to load resource: the server responded with a status of 503")
"""What the console logs for a poll that failed: the browser's own line (the page itself logs nothing)."""


def llm_settings(server: OpenAIServer) -> dict[str, Any]:
    return {"backend": "openai", "base_url": server.base_url, "model": MODEL, "api_key_env": "", "read_timeout": 60}


@pytest.fixture(scope="module")
def app_under_test(_openai_server_session: OpenAIServer, tmp_path_factory) -> Iterator[tuple[str, RAGEngine, Network]]:
    """The app over a real engine answering from the scripted OpenAI-protocol server, the example loaded."""
    settings = apply_overrides(
        Settings(),
        {
            "llm": llm_settings(_openai_server_session),
            "retrieval": {"top_k": 3},
            "cache": {"directory": str(tmp_path_factory.getbasetemp() / "dashboard-embeddings"), "enabled": True},
        },
        "browser test",
    )
    engine = RAGEngine(settings)
    engine.load_json(EXAMPLE)
    app = create_app(engine=engine)
    network = Network()
    install_network(app.server, network)
    with serve(app.server) as url:
        yield url, engine, network


@pytest.fixture
def served(app_under_test, openai_server) -> Iterator[tuple[str, RAGEngine, Network]]:
    """The app with a well-behaved network, a fresh answer cache and the scripted server reset."""
    url, engine, network = app_under_test
    engine.configure_llm(**llm_settings(openai_server))
    engine.clear_cache()
    network.latency, network.down = 0.0, False
    yield url, engine, network
    network.latency, network.down = 0.0, False


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.fixture
def page(browser, served, console) -> Iterator[Any]:
    """A fresh tab whose console must stay free of errors (tests that break the network check it themselves)."""
    url, _, _ = served
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    new_page = console.watch(context.new_page())
    new_page.goto(url)
    new_page.wait_for_selector("#chat-input")
    yield new_page
    context.close()


def record_shown_text(page: Any) -> None:
    """Keep, in ``window.shownTexts``, every text the newest answer shows while it streams."""
    page.evaluate(
        """() => {
            window.shownTexts = [];
            const history = document.getElementById('chat-history');
            new MutationObserver(() => {
                const answers = history.querySelectorAll('.answer-text');
                if (!answers.length) { return; }
                const text = answers[answers.length - 1].textContent;
                const seen = window.shownTexts;
                if (!seen.length || seen[seen.length - 1] !== text) { seen.push(text); }
            }).observe(history, {childList: true, subtree: true, characterData: true});
        }"""
    )


def words(text: str) -> list[str]:
    return text.split()


# ------------------------------------------------------------------------------------ the logic itself
def test_the_poll_logic_sends_one_request_at_a_time_and_applies_each_reply_once(page, console):
    result = page.evaluate(
        """() => {
            const logic = window.dash_clientside.polling.logic;
            const config = {timeout_ms: 10000, retry_ms: 250, max_retry_ms: 4000, unreachable_ms: 5000,
                            stall_ms: 10000, hold_ms: 1000};
            const poller = logic.newPoller('s');
            const idle = logic.tickAction(poller, 1000, config);
            poller.inFlight = {seq: 1, at: 1000};
            const waiting = logic.tickAction(poller, 1000 + 9999, config);
            const slowSoFar = logic.isUnreachable(poller, 1000 + 5000, config);
            const abandon = logic.tickAction(poller, 1000 + 10000, config);
            logic.recordFailure(poller, 11000, config);
            const afterOneFailure = {action: logic.tickAction(poller, 11100, config), retryAt: poller.retryAt,
                                     unreachable: logic.isUnreachable(poller, 11100, config)};
            poller.inFlight = {seq: 2, at: 11250};
            logic.recordFailure(poller, 11260, config);
            const afterTwo = {retryAt: poller.retryAt, unreachable: logic.isUnreachable(poller, 11300, config)};
            poller.inFlight = {seq: 3, at: 12000};
            logic.recordSuccess(poller, 15000);
            return {
                idle, waiting, slowSoFar, abandon, afterOneFailure, afterTwo,
                recovered: {failures: poller.failures, rtt: poller.rtt, inFlight: poller.inFlight,
                            action: logic.tickAction(poller, 15001, config)},
                slowServerTimeout: logic.timeoutFor(poller, config),
                longestRetry: logic.retryDelay(10, config),
                extend: logic.applyText('The ', 4, {from: 4, to: 10, text: 'answer'}),
                late: logic.applyText('The answer', 10, {from: 4, to: 10, text: 'answer'}),
                whole: logic.applyText('The answer', 10, {from: 0, to: 11, text: 'The answer.'}),
                stalled: logic.stallStep({activity: 5, changed_at: 0}, {activity: 5}, 10000, config),
                quiet: logic.stallStep({activity: 5, changed_at: 0}, {activity: 5}, 9999, config),
                resumed: logic.stallStep({activity: 5, changed_at: 0, stalled: true}, {activity: 6}, 20000, config),
                holds: [logic.holdFor({changed_at: 0}, 1000, config), logic.holdFor({changed_at: 0}, 9400, config),
                        logic.holdFor({changed_at: 0}, 10500, config),
                        logic.holdFor({changed_at: 0, stalled: true}, 12000, config)],
            };
        }"""
    )
    assert result["idle"] == "send"
    assert result["waiting"] == "wait", "never a second request while one is in flight"
    assert result["slowSoFar"] is True, "an answer 5 s late says the app is not reachable"
    assert result["abandon"] == "abandon"
    assert result["afterOneFailure"] == {"action": "wait", "retryAt": 11250, "unreachable": False}
    assert result["afterTwo"] == {"retryAt": 11760, "unreachable": True}
    assert result["recovered"] == {"failures": 0, "rtt": 3000, "inFlight": None, "action": "send"}
    assert result["slowServerTimeout"] == 12000, "4 round trips of a slow server"
    assert result["longestRetry"] == 4000
    assert result["extend"] == {"text": "The answer", "offset": 10}
    assert result["late"] == {"text": "The answer", "offset": 10}, "a repeated reply adds nothing"
    assert result["whole"] == {"text": "The answer.", "offset": 11}
    assert result["stalled"]["stalled"] is True and result["quiet"]["stalled"] is False
    assert result["resumed"] == {"activity": 6, "changed_at": 20000, "stalled": False}
    assert result["holds"] == [1000, 600, 0, 1000], "a poll is held no later than the silent-model notice is due"
    assert console.errors == []


# ------------------------------------------------------------------------------------ slow round trips
@pytest.mark.parametrize(
    ("latency", "pieces", "gap"),
    [(0.0, 12, 0.05), (0.25, 12, 0.1), (1.0, 10, 0.25), (3.0, 8, 0.8)],
    ids=["0ms", "250ms", "1s", "3s"],
)
def test_the_whole_answer_appears_in_order_whatever_the_round_trip(page, served, openai_server, console,
                                                                   latency, pieces, gap):
    _, _, network = served
    expected = "".join(f"w{i:02d} " for i in range(pieces))
    openai_server.reply = ChatReply(pieces=[f"w{i:02d} " for i in range(pieces)], delay=gap)
    network.latency = latency
    record_shown_text(page)
    ask(page, "Which orders were returned?")
    wait_answer_finished(page, timeout=120_000)
    shown = page.locator(".turn .answer-text").last.text_content()
    assert words(shown) == words(expected)
    assert stored_turns(page)[0]["answer"] == expected and stored_turns(page)[0]["status"] == "done"
    seen = [words(text) for text in page.evaluate("() => window.shownTexts")]
    for text in seen:
        assert text == words(expected)[: len(text)], f"shown out of order or twice: {text}"
    assert [len(t) for t in seen] == sorted(len(t) for t in seen), "the text only ever grew"
    assert len(seen) >= 2, f"the answer arrived over several polls: {seen}"
    assert console.errors == []


def test_a_slow_model_costs_few_requests_though_the_page_asks_again_as_each_reply_returns(
    page, served, openai_server, console
):
    """A model that waits 2.5 s: the page asks again as soon as a reply comes back (no wait for the next tick),
    and the app holds each request until the answer changes, so a few requests cover the wait."""
    polls: list[float] = []
    page.on("request", lambda request: polls.append(time.monotonic()) if "_poll/answer" in request.url else None)
    openai_server.reply = ChatReply(pieces=["Late ", "answer."], headers_delay=2.5)
    ask(page, "Which orders were returned?")
    wait_answer_finished(page, timeout=60_000)
    assert page.locator(".turn .answer-text").last.text_content().strip() == "Late answer."
    assert 2 <= len(polls) <= 12, f"{len(polls)} polls for an answer that took 2.5 s to start"
    assert console.errors == []


def test_each_new_turn_takes_the_next_place_also_after_a_reload(page, served, openai_server, console):
    answers = []
    for number, question in enumerate(["First question?", "Second question?", "Third question?"], start=1):
        if number == 3:
            page.reload()
            page.wait_for_selector(".turn .metrics-line")
        openai_server.reply = ChatReply(pieces=[f"Answer {number}", " in full."], delay=0.05)
        ask(page, question)
        wait_answer_finished(page, turns=number, timeout=60_000)
        answers.append(f"Answer {number} in full.")
    shown = page.eval_on_selector_all(".turn .question-text", "nodes => nodes.map(n => n.textContent)")
    assert shown == ["First question?", "Second question?", "Third question?"]
    texts = page.eval_on_selector_all(".turn .answer-text", "nodes => nodes.map(n => n.textContent.trim())")
    assert texts == answers
    assert [turn["answer"] for turn in stored_turns(page)] == answers
    assert console.errors == []


def test_loading_the_example_finishes_behind_a_slow_round_trip(page, served, console):
    _, _, network = served
    network.latency = 1.0
    page.click("#load-example-button")
    page.wait_for_selector("#data-message .notice.success", timeout=120_000)
    assert "Loaded orders.json: 240 records" in page.inner_text("#data-message")
    page.wait_for_selector("#ingest-progress", state="hidden")
    assert console.errors == []


# ------------------------------------------------------------------------------------ failures
def test_a_silent_model_is_reported_within_11_s_and_stop_still_works(page, served, openai_server, console):
    openai_server.reply = ChatReply(pieces=["Counting ", "the ", "orders"], stall_after=2, stall_seconds=25)
    ask(page, "How many orders are there?")
    page.wait_for_function(
        "() => { const a = document.querySelector('.turn .answer-text'); return a && a.textContent.includes('the'); }",
        timeout=30_000,
    )
    started = time.monotonic()
    page.wait_for_selector(".turn .answer-notice:has-text('no output from the model for 10 s')", timeout=11_000)
    assert time.monotonic() - started <= 11.0
    assert page.is_enabled("#stop-button")
    page.click("#stop-button")
    page.wait_for_selector(".turn .status-badge.stopped", timeout=10_000)
    assert page.locator(".turn .answer-notice").is_hidden()
    turn = stored_turns(page)[0]
    assert turn["status"] == "stopped" and turn["answer"] == "Counting the "
    assert console.errors == []


def test_an_answer_the_app_lost_keeps_the_text_that_arrived_marked_interrupted(page, served, openai_server,
                                                                                console):
    _, engine, _ = served
    openai_server.reply = ChatReply(pieces=[f"part{i} " for i in range(60)], delay=0.1)
    ask(page, "Describe every order.")
    page.wait_for_function(
        "() => { const a = document.querySelector('.turn .answer-text');"
        " return a && a.textContent.includes('part5'); }",
        timeout=30_000,
    )
    session_id = stored_turns(page)[0]["id"]
    engine.buffer.discard(session_id)  # what a restart does to the answers being written
    page.wait_for_selector(".turn .status-badge.interrupted", timeout=10_000)
    engine.cancel(session_id)
    shown = page.locator(".turn .answer-text").text_content()
    assert "part5" in shown
    notice = page.inner_text(".turn .answer-notice")
    assert notice == "The app was restarted while this answer was being written; the text above is what had arrived."
    turn = stored_turns(page)[0]
    assert turn["status"] == "interrupted" and words(turn["answer"]) == words(shown)
    assert turn["answer"].startswith("part0 part1 ")
    assert page.is_enabled("#send-button")
    page.reload()
    page.wait_for_selector(".turn .status-badge.interrupted")
    assert words(page.locator(".turn .answer-text").text_content()) == words(shown), "kept across a reload"
    assert console.errors == []


def test_an_unreachable_app_is_reported_and_the_answer_resumes_when_it_answers_again(page, served,
                                                                                      openai_server, console):
    _, _, network = served
    pieces = [f"step{i} " for i in range(40)]
    openai_server.reply = ChatReply(pieces=pieces, delay=0.2)
    ask(page, "Walk me through the orders.")
    page.wait_for_function(
        "() => { const a = document.querySelector('.turn .answer-text');"
        " return a && a.textContent.includes('step2'); }",
        timeout=30_000,
    )
    network.down = True
    page.wait_for_selector("#connection-notice:has-text('The app is not reachable; retrying…')", timeout=10_000)
    assert page.locator(".turn .status-badge.streaming").count() == 1
    network.down = False
    wait_answer_finished(page, timeout=60_000)
    assert words(page.locator(".turn .answer-text").text_content()) == words("".join(pieces))
    assert stored_turns(page)[0]["status"] == "done"
    page.wait_for_selector("#connection-notice", state="hidden")
    assert console.errors, "the failed polls were logged"
    unexpected = [e for e in console.errors if not FAILED_POLL_ERRORS.search(e)]
    assert unexpected == [], unexpected


def test_the_code_every_answer_needs_loads_with_the_page_not_with_the_first_answer(browser, served, console):
    """Markdown and its code highlighter are loaded lazily by Dash; a slow load on the first answer's path once
    left turns stuck, so the page draws a hidden Markdown block that fetches both while it loads."""
    url, _, _ = served
    context = browser.new_context()
    fetched: list[str] = []
    new_page = console.watch(context.new_page())
    new_page.on("request", lambda request: fetched.append(request.url.split("?")[0].rsplit("/", 1)[-1]))
    new_page.goto(url)
    new_page.wait_for_selector(".preload pre code.hljs", state="attached", timeout=30_000)
    assert {"async-markdown.js", "async-highlight.js"} <= set(fetched), fetched
    assert new_page.locator(".turn").count() == 0, "before any question"
    assert not new_page.is_visible(".preload")
    context.close()
    assert console.errors == []
