"""The conversation view: rendered turns as data, and the patches a poll sends while an answer streams.

Patches are applied to the rendered history with the same rules as dash-renderer's patch handlers
(``Assign``, ``Add``, ``Append``...), so the tests check what the browser would end up showing.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from typing import Any

import plotly.io.json as pio_json
import pytest
from dash import no_update

from dashboard import ids
from dashboard.chat_view import (
    ANSWER_CLASS_PATH,
    ANSWER_TEXT_PATH,
    ERROR_PATH,
    FOOTER_PATH,
    LOST_SESSION_MESSAGE,
    STATUS_LINE_PATH,
    compact_sources,
    history_messages,
    metrics_line,
    new_progress,
    new_turn,
    poll_stream,
    render_history,
    render_turn,
    send_question,
)
from rag.engine import NO_DATASET_MESSAGE, RAGEngine
from rag.settings import Settings, apply_overrides
from rag.stream_buffer import StreamBuffer

SOURCES = [
    {
        "label": 1,
        "record_id": "$[3]",
        "score": 0.031,
        "text": "order_id: ORD-10004\ntotal: 99.5",
        "record": {"order_id": "ORD-10004"},
    },
    {"label": 2, "record_id": '$["3166-1"][7]', "score": 0.029, "text": "name: Andorra", "record": {"name": "Andorra"}},
]
METRICS = {
    "model": "smollm2",
    "prompt_tokens": 310,
    "completion_tokens": 42,
    "time_to_first_token": 0.4123,
    "total_duration": 1.9,
    "tokens_per_second": 28.44,
    "finish_reason": "stop",
    "source": "server",
}


# ------------------------------------------------------------------------------ helpers
def as_json(value: Any) -> Any:
    """Components and patches as the JSON the browser receives."""
    return json.loads(pio_json.to_json_plotly(value))


def apply_patch(previous: Any, patch_json: dict[str, Any]) -> Any:
    """Apply a serialized ``dash.Patch`` like dash-renderer's ``handlePatch`` does."""
    value = json.loads(json.dumps(previous))
    for op in patch_json["operations"]:
        location, params = op["location"], op["params"]
        if not location:
            raise AssertionError("our patches always have a location")
        parent = value
        for key in location[:-1]:
            parent = parent[key]
        last = location[-1]
        name = op["operation"]
        if name == "Assign":
            parent[last] = params["value"]
        elif name == "Add":
            parent[last] = parent[last] + params["value"]
        elif name == "Append":
            parent[last].append(params["value"])
        else:
            raise AssertionError(f"unexpected patch operation {name}")
    return value


def apply_root_patch(previous: list[Any], patch_json: dict[str, Any]) -> list[Any]:
    """Apply a patch whose locations start at the list itself (``history[i]...``)."""
    return apply_patch(
        {"root": previous},
        {"operations": [{**op, "location": ["root", *op["location"]]} for op in patch_json["operations"]]},
    )["root"]


def follow(node: Any, path: list[Any]) -> Any:
    for key in path:
        node = node[key]
    return node


def texts(node: Any) -> str:
    """All the text inside a component tree (JSON form)."""
    if isinstance(node, str):
        return node
    if isinstance(node, (int, float)):
        return str(node)
    if isinstance(node, list):
        return " ".join(texts(n) for n in node)
    if isinstance(node, dict):
        props = node.get("props", {})
        return texts(props.get("children", ""))
    return ""


def find_all(node: Any, predicate) -> list[dict[str, Any]]:
    found = []
    if isinstance(node, list):
        for item in node:
            found += find_all(item, predicate)
    elif isinstance(node, dict) and "props" in node:
        if predicate(node):
            found.append(node)
        found += find_all(node["props"].get("children"), predicate)
    return found


def done_turn(**changes: Any) -> dict[str, Any]:
    turn = new_turn("How much was order ORD-10004?", "sess-1", now=datetime(2024, 6, 1, tzinfo=timezone.utc))
    turn.update(
        answer="It was 99.50 [1].",
        status="done",
        sources=compact_sources(SOURCES),
        metrics=dict(METRICS),
        meta={"model": "smollm2", "dataset_name": "orders.json", "dataset_hash": "ab" * 32, "cited": [1]},
    )
    turn.update(changes)
    return turn


@pytest.fixture
def buffer() -> StreamBuffer:
    return StreamBuffer()


def stream_turn(buffer: StreamBuffer, session_id: str = "sess-1", question: str = "What is in record 3?"):
    """Open a streaming answer in the buffer; return its new turn."""
    buffer.start(session_id, question=question, model="smollm2")
    return new_turn(question, session_id)


# ------------------------------------------------------------------------------ rendering
def test_the_patch_paths_point_at_the_parts_of_a_rendered_turn():
    rendered = as_json(render_turn(done_turn(error="the server went away")))
    assert follow(rendered, ANSWER_TEXT_PATH[:-2])["type"] == "Markdown"
    assert follow(rendered, ANSWER_TEXT_PATH) == "It was 99.50 [1]."
    assert follow(rendered, ANSWER_CLASS_PATH) == "bubble assistant status-done"
    assert follow(rendered, STATUS_LINE_PATH)["props"]["className"] == "answer-head"
    assert follow(rendered, ERROR_PATH)["props"]["className"] == "answer-error"
    assert "the server went away" in texts(follow(rendered, ERROR_PATH))
    assert follow(rendered, FOOTER_PATH)["props"]["className"] == "answer-footer"


def test_answers_are_markdown_without_raw_html():
    payload = "<script>window.hacked = 1</script><img src=x onerror=alert(1)>"
    rendered = as_json(render_turn(done_turn(answer=payload, question=payload)))
    markdowns = find_all(rendered, lambda n: n["type"] == "Markdown")
    assert len(markdowns) == 1
    assert markdowns[0]["props"]["children"] == payload
    assert not markdowns[0]["props"].get("dangerously_allow_html")
    # the question is a plain text child: React escapes it
    assert payload in texts(follow(rendered, ["props", "children", 0]))


def test_a_finished_turn_shows_sources_with_record_buttons_and_the_timings_line():
    rendered = as_json(render_turn(done_turn()))
    footer = follow(rendered, FOOTER_PATH)
    buttons = find_all(footer, lambda n: isinstance(n["props"].get("id"), dict))
    assert [b["props"]["id"] for b in buttons] == [
        ids.source_link("sess-1", "$[3]"),
        ids.source_link("sess-1", '$["3166-1"][7]'),
    ]
    details = find_all(footer, lambda n: n["type"] == "Details")
    assert len(details) == 2 and "order_id: ORD-10004" in texts(details[0])
    assert "cited" in texts(details[0]) and "cited" not in texts(details[1])
    line = texts(find_all(footer, lambda n: n["props"].get("className") == "metrics-line"))
    assert line == "first token 0.41 s · 28.4 tokens/s · total 1.90 s · 42 tokens · smollm2"


def test_status_badges_mark_stopped_errors_and_cached_answers():
    stopped = as_json(render_turn(done_turn(status="stopped")))
    assert texts(follow(stopped, STATUS_LINE_PATH)) == "Assistant stopped"
    failed = as_json(render_turn(done_turn(status="error", error="model 'x' not found")))
    assert "error" in texts(follow(failed, STATUS_LINE_PATH))
    cached = as_json(render_turn(done_turn(meta={"cached": True})))
    assert texts(follow(cached, STATUS_LINE_PATH)) == "Assistant cached"
    done = as_json(render_turn(done_turn()))
    assert texts(follow(done, STATUS_LINE_PATH)) == "Assistant"


def test_metrics_line_leaves_out_unknown_figures():
    assert metrics_line({}, {}) == ""
    assert metrics_line({"time_to_first_token": 1.0}, {"model": "m"}) == "first token 1.00 s · m"


def test_sources_kept_with_a_turn_drop_the_record_and_cut_long_text():
    kept = compact_sources([{"record_id": "$[1]", "score": float("nan"), "text": "x" * 5000, "record": {"big": 1}}])
    assert kept[0]["record_id"] == "$[1]" and kept[0]["label"] == 1 and kept[0]["score"] is None
    assert "record" not in kept[0] and len(kept[0]["text"]) < 2000 and kept[0]["text"].endswith("…")


def test_history_messages_pass_finished_turns_with_text_only():
    turns = [
        done_turn(question="q1", answer="a1"),
        done_turn(question="q2", answer="", status="error"),
        done_turn(question="q3", answer="partial", status="stopped"),
        new_turn("q4", "s4"),
    ]
    assert history_messages(turns) == [
        {"role": "user", "content": "q1"},
        {"role": "assistant", "content": "a1"},
        {"role": "user", "content": "q3"},
        {"role": "assistant", "content": "partial"},
    ]
    many = [done_turn(question=f"q{i}", answer=f"a{i}") for i in range(10)]
    assert [m["content"] for m in history_messages(many, max_turns=2)] == ["q8", "a8", "q9", "a9"]


# ------------------------------------------------------------------------------ streaming
def test_each_poll_patches_in_only_the_new_text(buffer):
    earlier = [done_turn(id=f"old-{i}") for i in range(3)]
    turn = stream_turn(buffer)
    history = as_json(render_history(earlier + [turn]))
    progress = new_progress(3)

    buffer.append("sess-1", "Record 3 ")
    first = poll_stream(buffer.read, "sess-1", progress)
    patch = as_json(first.history)
    assert [op["operation"] for op in patch["operations"]] == ["Add"]
    assert patch["operations"][0]["location"] == [3, *ANSWER_TEXT_PATH]
    assert patch["operations"][0]["params"]["value"] == "Record 3 "
    assert first.progress["offset"] == len("Record 3 ") and not first.finished
    history = apply_root_patch(history, patch)

    buffer.append("sess-1", "is an order.")
    second = poll_stream(buffer.read, "sess-1", first.progress)
    assert as_json(second.history)["operations"][0]["params"]["value"] == "is an order."
    history = apply_root_patch(history, as_json(second.history))
    assert follow(history[3], ANSWER_TEXT_PATH) == "Record 3 is an order."
    assert history[:3] == as_json(render_history(earlier)), "earlier turns are untouched"

    idle = poll_stream(buffer.read, "sess-1", second.progress)
    assert idle.history is no_update and idle.progress is no_update  # nothing new, nothing sent


def test_a_poll_sends_as_many_bytes_for_turn_2_as_for_turn_200(buffer):
    buffer.start("s")
    buffer.append("s", "x" * 40)
    near = len(json.dumps(as_json(poll_stream(buffer.read, "s", new_progress(2)).history)))
    far = len(json.dumps(as_json(poll_stream(buffer.read, "s", new_progress(200)).history)))
    assert far - near == 2  # only the digits of the index differ
    assert near < 40 + 200


def test_sources_are_shown_once_as_soon_as_they_arrive(buffer):
    stream_turn(buffer)
    buffer.set_sources("sess-1", SOURCES)
    update = poll_stream(buffer.read, "sess-1", new_progress(0))
    operations = as_json(update.history)["operations"]
    assert [op["location"] for op in operations] == [[0, *FOOTER_PATH]]
    assert "$[3]" in texts(operations[0]["params"]["value"])
    assert update.progress["sources_shown"] is True
    again = poll_stream(buffer.read, "sess-1", update.progress)
    assert again.history is no_update and again.progress is no_update  # sources are not sent twice


def test_the_last_poll_completes_the_turn_in_the_page_and_in_the_store(buffer):
    turn = stream_turn(buffer)
    history = as_json(render_history([turn]))
    store = [turn]
    buffer.set_sources("sess-1", SOURCES)
    buffer.append("sess-1", "It was ")
    first = poll_stream(buffer.read, "sess-1", new_progress(0))
    history = apply_root_patch(history, as_json(first.history))
    buffer.append("sess-1", "99.50 [1].")
    buffer.update_meta("sess-1", cited=[1], dataset_name="orders.json")
    buffer.finish("sess-1", metrics=METRICS)

    last = poll_stream(buffer.read, "sess-1", first.progress)
    assert last.finished and last.progress["done"]
    history = apply_root_patch(history, as_json(last.history))
    store = apply_root_patch(store, as_json(last.store))
    assert follow(history[0], ANSWER_TEXT_PATH) == "It was 99.50 [1]."
    assert follow(history[0], ANSWER_CLASS_PATH) == "bubble assistant status-done"
    assert "first token 0.41 s" in texts(follow(history[0], FOOTER_PATH))
    assert store[0]["answer"] == "It was 99.50 [1]." and store[0]["status"] == "done"
    assert store[0]["question"] == "What is in record 3?", "the stored question is kept"
    assert [s["record_id"] for s in store[0]["sources"]] == ["$[3]", '$["3166-1"][7]']
    assert store[0]["metrics"]["time_to_first_token"] == METRICS["time_to_first_token"]
    assert store[0]["meta"]["dataset_name"] == "orders.json"
    assert history == as_json(render_history(store)), "a reload renders the same page"


def test_a_stopped_answer_keeps_its_text_and_is_marked_stopped(buffer):
    turn = stream_turn(buffer)
    history = as_json(render_history([turn]))
    buffer.append("sess-1", "The first half")
    buffer.finish("sess-1", status="stopped")
    update = poll_stream(buffer.read, "sess-1", new_progress(0))
    history = apply_root_patch(history, as_json(update.history))
    assert follow(history[0], ANSWER_TEXT_PATH) == "The first half"
    assert texts(follow(history[0], STATUS_LINE_PATH)) == "Assistant stopped"
    store = apply_root_patch([turn], as_json(update.store))
    assert store[0]["status"] == "stopped" and store[0]["answer"] == "The first half"


def test_an_error_shows_its_message_and_keeps_the_partial_answer(buffer):
    turn = stream_turn(buffer)
    buffer.append("sess-1", "Partial ")
    first = poll_stream(buffer.read, "sess-1", new_progress(0))
    buffer.append("sess-1", "text")
    buffer.finish("sess-1", status="error", error="the connection to Ollama closed mid-stream")
    last = poll_stream(buffer.read, "sess-1", first.progress)
    history = apply_root_patch(
        apply_root_patch(as_json(render_history([turn])), as_json(first.history)), as_json(last.history)
    )
    assert follow(history[0], ANSWER_TEXT_PATH) == "Partial text"
    assert "the connection to Ollama closed mid-stream" in texts(follow(history[0], ERROR_PATH))
    assert follow(history[0], ANSWER_CLASS_PATH).endswith("status-error")


def test_an_answer_the_server_no_longer_has_ends_with_a_clear_error(buffer):
    turn = new_turn("q", "gone")
    update = poll_stream(buffer.read, "gone", new_progress(0))
    assert update.finished
    history = apply_root_patch(as_json(render_history([turn])), as_json(update.history))
    assert LOST_SESSION_MESSAGE in texts(follow(history[0], ERROR_PATH))
    store = apply_root_patch([turn], as_json(update.store))
    assert store[0]["status"] == "error" and store[0]["error"] == LOST_SESSION_MESSAGE


def test_a_cached_answer_arrives_whole_with_its_badge(buffer):
    turn = stream_turn(buffer)
    buffer.update_meta("sess-1", cached=True)
    buffer.set_sources("sess-1", SOURCES)
    buffer.append("sess-1", "Whole answer at once.")
    buffer.finish("sess-1", metrics=METRICS)
    update = poll_stream(buffer.read, "sess-1", new_progress(0))
    history = apply_root_patch(as_json(render_history([turn])), as_json(update.history))
    assert follow(history[0], ANSWER_TEXT_PATH) == "Whole answer at once."
    assert "cached" in texts(follow(history[0], STATUS_LINE_PATH))


def test_a_thinking_model_shows_thinking_until_its_answer_starts(buffer):
    turn = stream_turn(buffer)
    history = as_json(render_history([turn]))
    buffer.append_thinking("sess-1", "Let me look at the records…")
    thinking = poll_stream(buffer.read, "sess-1", new_progress(0))
    history = apply_root_patch(history, as_json(thinking.history))
    assert "thinking…" in texts(follow(history[0], STATUS_LINE_PATH))
    assert follow(history[0], ANSWER_TEXT_PATH) == "", "reasoning never goes into the answer"
    buffer.append_thinking("sess-1", " still thinking")
    assert poll_stream(buffer.read, "sess-1", thinking.progress).history is no_update  # nothing new to show

    buffer.append("sess-1", "Three orders.")
    answering = poll_stream(buffer.read, "sess-1", thinking.progress)
    history = apply_root_patch(history, as_json(answering.history))
    status = texts(follow(history[0], STATUS_LINE_PATH))
    assert "writing…" in status and "thinking…" not in status
    assert follow(history[0], ANSWER_TEXT_PATH) == "Three orders."


# ------------------------------------------------------------------------------ sending
def no_cache_settings() -> Settings:
    return apply_overrides(Settings(), {"cache": {"enabled": False}}, "test")


def test_send_question_starts_an_answer_under_a_fresh_session_id():
    engine = RAGEngine(no_cache_settings())
    first = send_question(engine, "  How many orders?  ", [])
    second = send_question(engine, "How many orders?", [])
    assert first["question"] == "How many orders?" and first["status"] == "streaming"
    assert first["id"] != second["id"]
    for turn in (first, second):
        snapshot = _wait_final(engine, turn["id"])
        assert snapshot.status == "error" and snapshot.error == NO_DATASET_MESSAGE  # nothing loaded yet


def test_an_empty_question_starts_nothing():
    engine = RAGEngine(no_cache_settings())
    before = len(engine.buffer)
    assert send_question(engine, "   ", []) is None
    assert send_question(engine, None, []) is None
    assert len(engine.buffer) == before


def _wait_final(engine: RAGEngine, session_id: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        snapshot = engine.read(session_id, 0)
        if snapshot is not None and snapshot.is_complete:
            return snapshot
        time.sleep(0.01)
    raise AssertionError(f"{session_id} did not finish")
