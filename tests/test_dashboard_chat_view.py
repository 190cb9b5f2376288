"""The conversation view: turns as data, and rendered turns whose answer parts carry their own ids."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from typing import Any

import plotly.io.json as pio_json

from dashboard import ids
from dashboard.chat_view import (
    ANSWER_PARTS,
    BLOCK,
    INTERRUPTED,
    INTERRUPTED_MESSAGE,
    answer_parts,
    compact_sources,
    history_messages,
    metrics_line,
    new_turn,
    part_props,
    render_history,
    render_turn,
    send_question,
    turn_slot,
)
from rag.engine import NO_DATASET_MESSAGE, RAGEngine
from rag.settings import Settings, apply_overrides

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


def part(rendered: Any, turn_id: str, name: str) -> dict[str, Any]:
    """The rendered part ``name`` of a turn (JSON form), found by its id."""
    found = find_all(rendered, lambda n: n["props"].get("id") == ids.answer_part(turn_id, name))
    assert len(found) == 1, f"{len(found)} parts {name!r} for turn {turn_id}"
    return found[0]


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


# ------------------------------------------------------------------------------ rendering
def test_every_part_of_the_answer_has_its_own_id_in_display_order():
    rendered = as_json(render_turn(done_turn(error="the server went away")))
    block = part(rendered, "sess-1", BLOCK)
    assert block["props"]["className"] == "bubble assistant status-done"
    assert [child["props"]["id"]["part"] for child in block["props"]["children"]] == list(ANSWER_PARTS)
    assert part(rendered, "sess-1", "text")["type"] == "Markdown"
    assert part(rendered, "sess-1", "text")["props"]["children"] == "It was 99.50 [1]."
    assert part(rendered, "sess-1", "status")["props"]["className"] == "answer-head"
    assert "the server went away" in texts(part(rendered, "sess-1", "error"))
    assert part(rendered, "sess-1", "error")["props"]["hidden"] is False
    assert part(rendered, "sess-1", "notice")["props"]["hidden"] is True
    assert part(rendered, "sess-1", "footer")["props"]["className"] == "answer-footer"


def test_the_props_of_a_part_redraw_it_whole_hidden_or_not():
    failed = dict(answer_parts(done_turn(error="boom")))
    fine = dict(answer_parts(done_turn()))
    assert "id" not in part_props(failed["error"])
    assert as_json(part_props(fine["error"])) == {"children": [], "className": "answer-error", "hidden": True}
    assert as_json(part_props(failed["error"]))["hidden"] is False, "showing a part sets hidden back to false"


def test_an_interrupted_answer_keeps_its_text_and_says_why():
    rendered = as_json(render_turn(done_turn(status=INTERRUPTED, answer="The first half", metrics={})))
    assert part(rendered, "sess-1", "text")["props"]["children"] == "The first half"
    assert texts(part(rendered, "sess-1", "status")) == "Assistant interrupted"
    notice = part(rendered, "sess-1", "notice")
    assert notice["props"]["hidden"] is False and texts(notice) == INTERRUPTED_MESSAGE
    assert part(rendered, "sess-1", BLOCK)["props"]["className"].endswith("status-interrupted")
    assert history_messages([done_turn(status=INTERRUPTED, answer="partial")])[-1]["content"] == "partial"


def test_a_conversation_ends_with_the_empty_slot_where_the_next_turn_goes():
    assert render_history([]) == []
    shown = as_json(render_history([done_turn(id="a"), done_turn(id="b")]))
    assert [node["props"]["className"] for node in shown] == ["turn", "turn", "turn-slot"]
    assert shown[2]["props"]["id"] == ids.turn_slot(2) and shown[2]["props"]["children"] == []
    turn, next_slot = as_json(turn_slot(2, done_turn(id="c")))["props"]["children"]
    assert turn == as_json(render_turn(done_turn(id="c"))) and next_slot["props"]["id"] == ids.turn_slot(3)


def test_answers_are_markdown_without_raw_html():
    payload = "<script>window.hacked = 1</script><img src=x onerror=alert(1)>"
    rendered = as_json(render_turn(done_turn(answer=payload, question=payload)))
    markdowns = find_all(rendered, lambda n: n["type"] == "Markdown")
    assert len(markdowns) == 1
    assert markdowns[0]["props"]["children"] == payload
    assert not markdowns[0]["props"].get("dangerously_allow_html")
    # the question is a plain text child: React escapes it
    assert payload in texts(rendered["props"]["children"][0])


def test_a_finished_turn_shows_sources_with_record_buttons_and_the_timings_line():
    rendered = as_json(render_turn(done_turn()))
    footer = part(rendered, "sess-1", "footer")
    buttons = find_all(footer, lambda n: n["type"] == "Button")
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
    def status_line(turn: dict[str, Any]) -> str:
        return texts(part(as_json(render_turn(turn)), "sess-1", "status"))

    assert status_line(done_turn(status="stopped")) == "Assistant stopped"
    assert "error" in status_line(done_turn(status="error", error="model 'x' not found"))
    assert status_line(done_turn(meta={"cached": True})) == "Assistant cached"
    assert status_line(done_turn()) == "Assistant"
    assert status_line(new_turn("q", "sess-1")) == "Assistant writing…"


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
