"""What the server answers to the page's polls: the text between two offsets, the parts that changed,
the fields to keep, and a final reply that carries the whole answer.

``Page`` holds what a tab holds (the rendered history as JSON, the stored turns, the text shown and
its offset) and applies replies by the rules of ``assets/polling.js`` (whose own logic is tested in the
browser): parts are set by id, text is extended only by a reply that starts where the page is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from dashboard import ids
from dashboard.chat_view import INTERRUPTED, INTERRUPTED_MESSAGE, new_turn, render_history
from dashboard.data_flow import IngestView
from dashboard.polling import (
    FAST_POLL_MS,
    HOLD_MS,
    SOURCES_GRACE_MS,
    STALL_MESSAGE,
    UNREACHABLE_MESSAGE,
    IngestRequest,
    StreamRequest,
    hold_until_news,
    ingest_reply,
    new_progress,
    parse_ingest_request,
    parse_stream_request,
    poll_config,
    stream_update,
)
from rag.stream_buffer import StreamBuffer
from tests.test_dashboard_chat_view import METRICS, SOURCES, as_json, find_all, read_html, texts


# ------------------------------------------------------------------------------ the page, modelled
@dataclass
class Page:
    """One tab: rendered history, stored turns, and the poll progress of its streaming turn."""

    history: list[Any]
    store: list[dict[str, Any]]
    progress: dict[str, Any]
    seq: int = 0
    replies: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def showing(cls, turns: list[dict[str, Any]]) -> Page:
        last = turns[-1]
        return cls(
            history=as_json(render_history(turns)),
            store=json.loads(json.dumps(turns)),
            progress=new_progress(len(turns) - 1, last["id"], last),
        )

    def request(self) -> StreamRequest:
        self.seq += 1
        data = {"seq": self.seq, "session": self.progress["session"], "offset": self.progress["offset"],
                "view": self.progress["view"]}
        parsed = parse_stream_request(json.loads(json.dumps(data)))
        assert parsed is not None
        return parsed

    def poll(self, source: Any) -> dict[str, Any]:
        """One poll answered by ``source.read`` (a ``StreamBuffer`` or a ``RAGEngine``), applied to the page."""
        reply = as_json(stream_update(source.read, self.request()))
        self.apply(reply)
        return reply

    def apply(self, reply: dict[str, Any]) -> None:
        self.replies.append(reply)
        progress, session = self.progress, self.progress["session"]
        if reply["from"] == progress["offset"]:
            progress["text"] += reply["text"]
            progress["offset"] = reply["to"]
        elif reply["from"] == 0:
            progress["text"], progress["offset"] = reply["text"], reply["to"]
        self.set_props(session, "text", {"children": progress["text"]})
        for name, props in reply.get("parts", {}).items():
            self.set_props(session, name, props)
        progress["view"] = reply.get("view", progress["view"])
        turn = self.store[progress["turn"]]
        turn.update(reply.get("fields", {}))
        turn["answer"] = progress["text"]
        progress["done"] = reply["done"]

    def set_props(self, turn_id: str, name: str, props: dict[str, Any]) -> None:
        target = ids.answer_part(turn_id, name)
        found = find_all(self.history, lambda n: n["props"].get("id") == target)
        assert len(found) == 1, f"no part {name}"
        found[0]["props"].update(props)

    def part(self, name: str) -> dict[str, Any]:
        target = ids.answer_part(self.progress["session"], name)
        return find_all(self.history, lambda n: n["props"].get("id") == target)[0]

    @property
    def shown_text(self) -> str:
        """The answer's text, from its live part or from the finished block."""
        texts_shown = find_all(self.part("block"), lambda n: "answer-text" in str(n["props"].get("className")))
        assert len(texts_shown) == 1
        return texts_shown[0]["props"]["children"]

    @property
    def shown(self) -> str:
        """All the text the turn shows, in order, spaces normalised."""
        return " ".join(texts(self.part("block")).split())


@pytest.fixture
def buffer() -> StreamBuffer:
    return StreamBuffer()


def streaming(buffer: StreamBuffer, session_id: str = "sess-1", earlier: int = 0) -> Page:
    buffer.start(session_id, question="What is in record 3?", model="smollm2")
    turns = [{**new_turn(f"q{i}", f"old-{i}"), "status": "done", "answer": f"a{i}"} for i in range(earlier)]
    return Page.showing(turns + [new_turn("What is in record 3?", session_id)])


# ------------------------------------------------------------------------------ requests
def test_only_well_formed_requests_are_answered():
    assert parse_stream_request({"seq": 3, "session": "s", "offset": 12, "view": {"sources": True}}) == StreamRequest(
        seq=3, session="s", offset=12, view={"sources": True}
    )
    held = parse_stream_request({"seq": 4, "session": "s", "offset": 12, "version": 17})
    assert held is not None and held.version == 17, "a poll naming the version its page saw can be held"
    for not_a_version in ("17", True, 1.5):
        assert parse_stream_request({"seq": 4, "session": "s", "offset": 0, "version": not_a_version}).version is None
    short = parse_stream_request({"seq": 5, "session": "s", "offset": 12, "version": 17, "hold_ms": 300})
    assert short.hold_ms == 300
    assert parse_stream_request({"seq": 5, "session": "s", "offset": 0, "hold_ms": -5}).hold_ms == 0
    assert parse_stream_request({"seq": 5, "session": "s", "offset": 0, "hold_ms": "300"}).hold_ms is None
    for bad in (None, [], {"seq": "3", "session": "s"}, {"seq": 1, "session": ""}, {"seq": 1, "session": "s",
                                                                                    "offset": -1}):
        assert parse_stream_request(bad) is None
    assert parse_ingest_request({"seq": 2, "job": "j"}) == IngestRequest(seq=2, job="j")
    assert parse_ingest_request({"seq": 2}) is None and parse_ingest_request(None) is None
    running = ingest_reply(IngestRequest(seq=2, job="j"), IngestView(progress=["bar"], hidden=False, finished=False))
    assert running == {"seq": 2, "job": "j", "finished": False, "progress": ["bar"], "hidden": False,
                       "message": None, "stored_data": None}


class ScriptedAnswer:
    """A buffer whose answer changes at scripted times of a fake clock, and a ``wait`` that lets that time pass."""

    def __init__(self, buffer: StreamBuffer, events: list[tuple[float, Any]]) -> None:
        self.buffer, self.events, self.now, self.waits = buffer, sorted(events, key=lambda e: e[0]), 0.0, []

    def clock(self) -> float:
        return self.now

    def wait(self, session: str, version: int, seconds: float) -> bool:
        self.waits.append(round(seconds, 3))
        if self.events and self.events[0][0] <= self.now + seconds:
            at, change = self.events.pop(0)
            self.now = max(self.now, at)
            change(self.buffer)
            return True
        self.now += seconds
        return False

    def hold(self, request: StreamRequest) -> float:
        """How long (fake seconds) ``request`` is held."""
        started = self.now
        hold_until_news(self.buffer.read, self.wait, request, clock=self.clock)
        return round(self.now - started, 3)


def test_a_poll_is_held_no_longer_than_its_page_asks_nor_than_the_app_allows(buffer):
    buffer.start("s")
    buffer.append("s", "Some text")
    answer = ScriptedAnswer(buffer, [])
    shown = {"seq": 1, "session": "s", "offset": 9}
    assert answer.hold(StreamRequest(**shown)) == 0, "a page resuming a kept answer is answered at once"
    assert answer.hold(StreamRequest(**shown, version=3)) == HOLD_MS / 1000
    assert answer.hold(StreamRequest(**shown, version=3, hold_ms=250)) == 0.25
    assert answer.hold(StreamRequest(**shown, version=3, hold_ms=60_000)) == HOLD_MS / 1000
    assert answer.hold(StreamRequest(**shown, version=3, hold_ms=0)) == 0, "a notice due now is answered at once"


def test_a_page_showing_no_answer_yet_is_held_until_its_first_text_not_just_its_sources(buffer):
    buffer.start("s")
    answer = ScriptedAnswer(buffer, [
        (0.040, lambda b: b.set_sources("s", SOURCES)),
        (0.090, lambda b: b.append("s", "The first")),
    ])
    assert answer.hold(StreamRequest(seq=1, session="s", offset=0)) == 0.09, "sources alone end no hold"
    reply = stream_update(buffer.read, StreamRequest(seq=1, session="s", offset=0))
    assert reply["text"] == "The first" and "footer" in reply["parts"], "the first reply carries text and sources"


def test_sources_are_sent_alone_once_they_waited_for_a_slow_model(buffer):
    buffer.start("s")
    answer = ScriptedAnswer(buffer, [(0.040, lambda b: b.set_sources("s", SOURCES)), (2.0, lambda b: b.append("s", "x"))])
    held = answer.hold(StreamRequest(seq=1, session="s", offset=0))
    assert held == pytest.approx(0.040 + SOURCES_GRACE_MS / 1000)
    reply = stream_update(buffer.read, StreamRequest(seq=1, session="s", offset=0))
    assert reply["text"] == "" and "footer" in reply["parts"]


def test_a_hold_woken_by_something_that_is_no_news_still_ends_on_time(buffer):
    buffer.start("s")
    answer = ScriptedAnswer(buffer, [(0.400, lambda b: b.update_meta("s", dataset_name="cars.json"))])
    held = answer.hold(StreamRequest(seq=2, session="s", offset=0, version=buffer.read("s", 0).version, hold_ms=500))
    assert held == 0.5, "not 0.4 s and then another whole hold"


def test_a_page_showing_no_answer_yet_gets_at_once_what_it_shows_as_one(buffer):
    cases = {
        "computed": lambda b: b.set_computed("s", {"summary": "42 orders", "value": 42}),
        "thinking": lambda b: b.append_thinking("s", "Let me see"),
        "waiting": lambda b: b.update_meta("s", waiting="Waiting for cars.json (reading the file)…"),
        "the end": lambda b: b.finish("s", status="error", error="The model is not reachable."),
    }
    for name, change in cases.items():
        buffer.start("s")
        answer = ScriptedAnswer(buffer, [(0.030, change)])
        assert answer.hold(StreamRequest(seq=1, session="s", offset=0, hold_ms=500)) == 0.03, name
    buffer.start("s")
    assert ScriptedAnswer(buffer, []).hold(StreamRequest(seq=1, session="s", offset=0, hold_ms=500)) == 0.5
    assert ScriptedAnswer(buffer, []).hold(StreamRequest(seq=1, session="gone", offset=0)) == 0


def test_the_browser_gets_the_poll_timings_and_its_messages():
    config = poll_config(200)
    assert config["fast_ms"] == FAST_POLL_MS == 50 and config["slow_ms"] == 200
    assert config["timeout_ms"] > config["unreachable_ms"] > config["max_retry_ms"] >= config["retry_ms"] > 0
    assert config["ids"]["store"] == ids.CHAT_HISTORY_STORE and config["ids"]["active"] == ids.STREAMING_ACTIVE
    assert config["stall_ms"] == 10_000 and config["hold_ms"] == HOLD_MS
    assert config["stall_text"] == STALL_MESSAGE == "no output from the model for 10 s…"
    assert config["unreachable_text"] == UNREACHABLE_MESSAGE == "The app is not reachable; retrying…"
    assert config["part_type"] == ids.ANSWER_PART_TYPE


# ------------------------------------------------------------------------------ replies
def test_each_reply_carries_the_text_between_two_offsets(buffer):
    page = streaming(buffer, earlier=3)
    buffer.append("sess-1", "Record 3 ")
    first = page.poll(buffer)
    assert (first["seq"], first["from"], first["to"], first["text"]) == (1, 0, 9, "Record 3 ")
    assert not first["done"] and first["content"] and first["activity"] == 9
    buffer.append("sess-1", "is an order.")
    second = page.poll(buffer)
    assert (second["from"], second["to"], second["text"]) == (9, 21, "is an order.")
    assert page.shown_text == "Record 3 is an order."
    assert page.history[:3] == as_json(render_history(page.store[:3]))[:3], "earlier turns are untouched"

    page.apply({**second, "seq": 99})  # the same reply again (a resent request answered twice)
    assert page.shown_text == "Record 3 is an order.", "text that does not start where the page is adds nothing"
    idle = page.poll(buffer)
    assert (idle["from"], idle["to"], idle["text"], idle["parts"], idle["fields"]) == (21, 21, "", {}, {})


def test_a_question_waiting_for_its_file_says_so_and_is_never_called_stalled(buffer):
    page = streaming(buffer)
    buffer.update_meta("sess-1", waiting="Waiting for cars.json (reading the file)…")
    reply = page.poll(buffer)
    assert texts(reply["parts"]["notice"]["children"]) == "Waiting for cars.json (reading the file)…"
    assert reply["parts"]["notice"]["hidden"] is False and reply["waiting"] is True
    buffer.update_meta("sess-1", waiting=None)
    done_waiting = page.poll(buffer)
    assert done_waiting["parts"]["notice"]["hidden"] is True and done_waiting["waiting"] is False


def test_a_reply_is_as_small_for_turn_2_as_for_turn_200(buffer):
    buffer.start("s")
    buffer.append("s", "x" * 40)
    reply = stream_update(buffer.read, StreamRequest(seq=1, session="s", offset=0))
    size = len(json.dumps(as_json(reply)))
    assert size < 40 + 250, f"{size} bytes for 40 characters of text"


def test_sources_are_shown_and_kept_once_as_soon_as_they_arrive(buffer):
    page = streaming(buffer)
    buffer.set_sources("sess-1", SOURCES)
    reply = page.poll(buffer)
    assert set(reply["parts"]) == {"footer"} and "$[3]" in texts(reply["parts"]["footer"]["children"])
    assert [s["record_id"] for s in reply["fields"]["sources"]] == ["$[3]", '$["3166-1"][7]']
    assert "record" not in reply["fields"]["sources"][0], "the store keeps excerpts, not whole records"
    assert not reply["content"], "sources alone do not end the fast polls"
    again = page.poll(buffer)
    assert again["parts"] == {} and again["fields"] == {}
    assert [tag for tag, _ in read_html(page.part("footer")["props"]["children"]).tags].count("details") == 2


def test_the_final_reply_carries_the_whole_answer_and_completes_page_and_store(buffer):
    page = streaming(buffer)
    buffer.set_sources("sess-1", SOURCES)
    buffer.append("sess-1", "It was ")
    page.poll(buffer)
    buffer.append("sess-1", "99.50 [1].")
    buffer.update_meta("sess-1", cited=[1], dataset_name="orders.json")
    buffer.finish("sess-1", metrics=METRICS)
    last = page.poll(buffer)
    assert last["done"] and (last["from"], last["to"], last["text"]) == (0, 17, "It was 99.50 [1].")
    assert set(last["parts"]) == {"block"}, "the answer block is drawn again in one go"
    assert last["parts"]["block"]["className"] == "bubble assistant status-done"
    turn = page.store[0]
    assert turn["answer"] == "It was 99.50 [1]." and turn["status"] == "done"
    assert turn["question"] == "What is in record 3?", "the stored question is kept"
    assert turn["metrics"]["time_to_first_token"] == METRICS["time_to_first_token"]
    assert turn["meta"]["dataset_name"] == "orders.json"
    assert "first token 0.41 s" in page.shown
    assert page.history == as_json(render_history(page.store)), "a reload renders the same page"


@pytest.mark.parametrize("status", ["stopped", "error"])
def test_a_stopped_or_failed_answer_keeps_its_partial_text(buffer, status):
    page = streaming(buffer)
    buffer.append("sess-1", "The first ")
    page.poll(buffer)
    buffer.append("sess-1", "half")
    error = "the connection to Ollama closed mid-stream" if status == "error" else None
    buffer.finish("sess-1", status=status, error=error)
    page.poll(buffer)
    assert page.shown_text == "The first half" and page.store[0]["status"] == status
    assert page.part("block")["props"]["className"].endswith(f"status-{status}")
    if error:
        assert error in page.shown
    assert page.history == as_json(render_history(page.store))


def test_an_answer_the_server_lost_keeps_the_text_shown_marked_interrupted(buffer):
    page = streaming(buffer)
    buffer.set_sources("sess-1", SOURCES)
    buffer.append("sess-1", "Three orders were ")
    page.poll(buffer)
    buffer.discard("sess-1")  # the app restarted
    reply = page.poll(buffer)
    assert reply["done"] and (reply["from"], reply["to"], reply["text"]) == (18, 18, "")
    assert reply["fields"] == {"status": INTERRUPTED, "error": None}
    assert page.shown_text == "Three orders were "
    assert page.store[0]["status"] == INTERRUPTED and page.store[0]["answer"] == "Three orders were "
    assert texts(page.part("notice")) == INTERRUPTED_MESSAGE and page.part("notice")["props"]["hidden"] is False
    assert "interrupted" in texts(page.part("status"))
    reloaded = Page.showing(page.store)
    assert reloaded.shown == page.shown and "$[3]" in page.shown, "a reload shows the same, sources included"


def test_after_a_reload_polling_resumes_from_the_text_kept_in_the_tab(buffer):
    buffer.start("sess-1")
    buffer.append("sess-1", "Héllo 😀 wörld")  # offsets count characters, whatever their size
    kept = {**new_turn("q", "sess-1"), "answer": "Héllo 😀"}
    page = Page.showing([kept])
    assert page.progress["offset"] == 7 and page.progress["text"] == "Héllo 😀"
    buffer.append("sess-1", "!")
    reply = page.poll(buffer)
    assert (reply["from"], reply["text"]) == (7, " wörld!")
    assert page.shown_text == "Héllo 😀 wörld!"


def test_a_cached_answer_arrives_whole_with_its_badge(buffer):
    page = streaming(buffer)
    buffer.update_meta("sess-1", cached=True)
    buffer.set_sources("sess-1", SOURCES)
    buffer.append("sess-1", "Whole answer at once.")
    buffer.finish("sess-1", metrics=METRICS)
    page.poll(buffer)
    assert page.shown_text == "Whole answer at once." and page.shown.startswith("Assistant cached")


def test_a_thinking_model_shows_thinking_until_its_answer_starts(buffer):
    page = streaming(buffer)
    buffer.append_thinking("sess-1", "Let me look at the records…")
    thinking = page.poll(buffer)
    assert "thinking…" in texts(page.part("status")) and page.shown_text == ""
    assert thinking["activity"] > 0 and not thinking["content"], "reasoning counts as activity, not as text"
    buffer.append_thinking("sess-1", " still thinking")
    assert page.poll(buffer)["parts"] == {}, "nothing new to show"
    buffer.append("sess-1", "Three orders.")
    page.poll(buffer)
    status = texts(page.part("status"))
    assert "writing…" in status and "thinking…" not in status
    assert page.shown_text == "Three orders."
