"""Debian's headless Chromium as the browser tests and the dashboard benchmark launch it (no browser download),
the app served from a thread (optionally behind a slow or failing network), and helpers that drive the page."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import request
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ANSWER_TIMEOUT_MS = 180_000
APP_REQUESTS = ("/_dash-update-component", "/_poll/")
"""Paths of the page's requests to the app once loaded: Dash callbacks and the poll routes."""


def launch_chromium(playwright: Any) -> Any:
    """A headless Chromium browser from Playwright's sync API."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


# ------------------------------------------------------------------------------------ serving
@dataclass
class Network:
    """What happens to the page's requests (callbacks and polls) on their way to the app."""

    latency: float = 0.0
    """Seconds every response is held back."""
    down: bool = False
    """Answer every request with 503 (the app unreachable behind a proxy)."""


def install_network(server: Any, network: Network) -> None:
    """Make ``network`` apply to the Flask ``server``'s callback and poll requests."""

    @server.before_request
    def _network() -> Any:
        if not request.path.startswith(APP_REQUESTS):
            return None
        if network.latency:
            time.sleep(network.latency)
        if network.down:
            return "", 503
        return None


@contextmanager
def serve(server: Any, port: int = 0) -> Iterator[str]:
    """Serve a Flask app from a thread on 127.0.0.1 (a free port unless ``port`` is given); yields its URL."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per poll otherwise
    http = make_server("127.0.0.1", port, server, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{http.server_port}/"
    finally:
        http.shutdown()
        thread.join(timeout=10)


# ------------------------------------------------------------------------------------ the page
class Console:
    """Errors the pages of one test logged."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def watch(self, page: Any) -> Any:
        page.on("console", lambda message: self.errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        return page


def open_page(context_and_console: tuple[Any, Console], url: str) -> Any:
    browser_context, console = context_and_console
    new_page = console.watch(browser_context.new_page())
    new_page.goto(url)
    new_page.wait_for_selector("#chat-input")
    return new_page


def ask(page: Any, question: str) -> None:
    page.fill("#chat-input", question)
    page.press("#chat-input", "Enter")


def last_answer(page: Any) -> str:
    return page.locator(".turn .answer-text").last.inner_text()


def wait_answer_finished(page: Any, turns: int = 1, timeout: float = ANSWER_TIMEOUT_MS) -> None:
    """Until the ``turns``-th answer is final on the page and in the tab's store, and Send is back."""
    page.wait_for_function(
        """n => {
            const shown = document.querySelectorAll('.turn');
            const kept = JSON.parse(window.sessionStorage.getItem('chat-history-store') || '[]');
            return shown.length >= n && !shown[n - 1].querySelector('.status-badge.streaming')
                && kept.length >= n && kept[n - 1].status !== 'streaming'
                && !document.getElementById('send-button').disabled;
        }""",
        arg=turns,
        timeout=timeout,
    )


def stored_turns(page: Any) -> list[dict[str, Any]]:
    return json.loads(page.evaluate("() => window.sessionStorage.getItem('chat-history-store') || '[]'"))
