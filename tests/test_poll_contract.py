"""The answer poll's contract between the app and the page: the keys ``dashboard/polling.py`` sends are exactly
the keys ``dashboard/assets/polling.js`` reads.

The replies are real ones: ``stream_update`` over a real ``StreamBuffer`` for each state an answer can be in.
The page's side is read from the script itself: the keys it declares (``REPLY_KEYS``, ``REQUEST_KEYS``,
``PROGRESS_KEYS``) and every ``reply.<key>`` / ``progress.<key>`` it reads. A key sent but never read, or read but
never sent, fails here, in Python, without a browser.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dashboard.chat_view import BLOCK, LIVE_PARTS, RESULT_KEYS, new_turn
from dashboard.data_flow import IngestView
from dashboard.polling import (
    IngestRequest,
    StreamRequest,
    ingest_reply,
    new_progress,
    stream_update,
)
from rag.stream_buffer import StreamBuffer
from tests.test_dashboard_chat_view import METRICS, SOURCES

SCRIPT = Path(__file__).resolve().parent.parent / "dashboard" / "assets" / "polling.js"
SESSION = "5e55" * 8
"""An answer id (32 hex digits, as the app makes them)."""


def script_code() -> str:
    """polling.js without its comments (prose such as "the reply.text" is not a read)."""
    code = re.sub(r"/\*.*?\*/", "", SCRIPT.read_text(encoding="utf-8"), flags=re.S)
    return re.sub(r"(?m)(^|\s)//.*$", r"\1", code)


def declared(name: str) -> list[str]:
    """The keys of the script's ``const <name> = [...]``."""
    found = re.search(rf"const {name} = \[(.*?)\];", script_code(), flags=re.S)
    assert found, f"polling.js declares no {name}"
    return re.findall(r"'(\w+)'", found.group(1))


def read_keys(variable: str) -> set[str]:
    """The keys the script reads of ``variable`` (``variable.<key>``); any other access fails the test."""
    code = script_code()
    dynamic = re.findall(rf"(?<![\w.]){variable}\s*\[", code)
    assert not dynamic, f"polling.js reads {variable}[...]: its keys could not be checked"
    return set(re.findall(rf"(?<![\w.]){variable}\.(\w+)", code))


# ------------------------------------------------------------------------------ the app's replies, one per state
def _streaming_text(buffer: StreamBuffer) -> None:
    buffer.append(SESSION, "Three orders ")


def _computed(buffer: StreamBuffer) -> None:
    buffer.set_computed(SESSION, {"summary": "42 orders", "value": 42})


def _sources(buffer: StreamBuffer) -> None:
    buffer.set_sources(SESSION, SOURCES)


def _thinking(buffer: StreamBuffer) -> None:
    buffer.append_thinking(SESSION, "Let me look at the records…")


def _waiting(buffer: StreamBuffer) -> None:
    buffer.update_meta(SESSION, waiting="Waiting for cars.json (reading the file)…")


def _done(buffer: StreamBuffer) -> None:
    buffer.set_sources(SESSION, SOURCES)
    buffer.append(SESSION, "It was 99.50 [1].")
    buffer.update_meta(SESSION, cited=[1], dataset_name="orders.json")
    buffer.finish(SESSION, metrics=METRICS)


def _cached(buffer: StreamBuffer) -> None:
    buffer.update_meta(SESSION, cached=True)
    buffer.append(SESSION, "Whole answer at once.")
    buffer.finish(SESSION, metrics=METRICS)


def _error(buffer: StreamBuffer) -> None:
    buffer.append(SESSION, "The first ")
    buffer.finish(SESSION, status="error", error="the connection to Ollama closed mid-stream")


def _stopped(buffer: StreamBuffer) -> None:
    buffer.append(SESSION, "The first ")
    buffer.finish(SESSION, status="stopped")


def _resend(buffer: StreamBuffer) -> None:
    buffer.update_meta(SESSION, resend="How many cars?")
    buffer.finish(SESSION, status="error", error="cars.json could not be loaded")


def _interrupted(buffer: StreamBuffer) -> None:
    buffer.append(SESSION, "Three orders were ")
    buffer.discard(SESSION)  # the app restarted


STATES: dict[str, Callable[[StreamBuffer], None]] = {
    "streaming with text": _streaming_text,
    "streaming with computed": _computed,
    "streaming with sources": _sources,
    "thinking": _thinking,
    "waiting": _waiting,
    "done": _done,
    "cached": _cached,
    "error": _error,
    "stopped": _stopped,
    "resend": _resend,
    "interrupted": _interrupted,
}


def reply_in(state: str) -> dict[str, Any]:
    """The app's reply to the first poll of an answer in ``state``."""
    buffer = StreamBuffer()
    buffer.start(SESSION, question="What is in record 3?", model="smollm2")
    STATES[state](buffer)
    return stream_update(buffer.read, StreamRequest(seq=1, session=SESSION, offset=0))


@pytest.fixture(scope="module")
def replies() -> dict[str, dict[str, Any]]:
    return {state: reply_in(state) for state in STATES}


def test_the_keys_the_page_declares_are_the_keys_it_reads():
    assert set(declared("REPLY_KEYS")) == read_keys("reply")
    assert set(declared("PROGRESS_KEYS")) == read_keys("progress")


def test_every_key_the_app_sends_in_a_reply_is_read_and_every_key_read_is_sent(replies):
    sent = {key for reply in replies.values() for key in reply}
    read = read_keys("reply")
    assert sent - read == set(), "sent but never read by polling.js"
    assert read - sent == set(), "read by polling.js but never sent"
    assert sorted(declared("REPLY_KEYS")) == sorted(sent)


@pytest.mark.parametrize("state", list(STATES))
def test_each_reply_carries_what_the_page_reads_without_a_default(state, replies):
    """``from``, ``to``, ``text`` place the text, ``seq`` and ``session`` match it to its request, ``done`` ends it;
    the rest may be left out (the page keeps what it has)."""
    reply = replies[state]
    assert {"seq", "session", "from", "to", "text", "done"} <= set(reply), state
    assert set(reply) <= set(declared("REPLY_KEYS")), state
    assert reply["done"] is (state not in {"streaming with text", "streaming with computed", "streaming with sources",
                                           "thinking", "waiting"})


def test_the_parts_and_fields_the_page_names_are_the_apps(replies):
    """The page draws the text and the silent-model notice itself and saves the text into the stored turn; the
    other parts and fields it passes on as the app names them."""
    parts_sent = {name for reply in replies.values() for name in reply.get("parts", {})}
    assert parts_sent <= set(LIVE_PARTS) | {BLOCK}
    code = script_code()
    own_parts = set(re.findall(r"const \w+_PART = '(\w+)';", code))
    assert own_parts == {"text", "notice"} and own_parts <= set(LIVE_PARTS)
    assert "notice" in parts_sent, "the app's notice replaces the page's own"
    fields_saved = set(re.findall(r"(?<![\w.])fields\.(\w+) =", code))
    assert fields_saved == {"answer"} and fields_saved <= set(RESULT_KEYS)
    fields_sent = {key for reply in replies.values() for key in reply.get("fields", {})}
    assert fields_sent <= set(RESULT_KEYS)


def test_the_request_the_page_sends_is_the_one_the_app_reads():
    assert sorted(declared("REQUEST_KEYS")) == sorted(f.name for f in dataclasses.fields(StreamRequest))


def test_the_progress_that_starts_an_answer_is_what_the_page_reads():
    progress = new_progress(0, SESSION, {**new_turn("q", SESSION), "answer": "kept"})
    assert sorted(progress) == sorted(declared("PROGRESS_KEYS"))


def test_every_key_the_page_reads_of_a_loading_report_is_sent():
    """The loading-progress reply (its ``seq`` is sent for the record: the page matches a reply to its request
    by the request it is waiting for)."""
    sent = set(ingest_reply(IngestRequest(seq=1, job=SESSION), IngestView(progress=["bar"], hidden=False,
                                                                          finished=False)))
    assert read_keys("report") <= sent
    assert sent - read_keys("report") == {"seq"}
