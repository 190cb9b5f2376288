"""The conversation view: turns as data, and rendered turns whose answer parts carry their own ids."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from typing import Any

import plotly.io.json as pio_json
from html.parser import HTMLParser

from dashboard import ids
from dashboard.chat_view import (
    BLOCK,
    CHECKED_TEXT_CLASS,
    INTERRUPTED,
    INTERRUPTED_MESSAGE,
    LIVE_PARTS,
    answer_grounding,
    compact_sources,
    finished_parts,
    finished_turn,
    history_messages,
    live_parts,
    metrics_line,
    new_turn,
    part_props,
    render_history,
    render_turn,
    send_question,
    turn_slot,
)
from rag.engine import NO_DATASET_MESSAGE, RAGEngine
from rag.grounding import check_grounding
from rag.settings import Settings, apply_overrides
from rag.stream_buffer import StreamSnapshot

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


class _HtmlReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def read_html(fragment: str) -> _HtmlReader:
    reader = _HtmlReader()
    reader.feed(fragment)
    reader.close()
    return reader


def static_blocks(node: Any) -> list[dict[str, Any]]:
    """The static HTML blocks in a component tree (JSON form)."""
    return find_all(node, lambda n: n["type"] == "Markdown" and n["props"].get("dangerously_allow_html"))


def count_components(node: Any) -> int:
    return len(find_all(node, lambda n: True))


def texts(node: Any) -> str:
    """All the text inside a component tree (JSON form), the text of static HTML blocks included."""
    if isinstance(node, dict) and node.get("props", {}).get("dangerously_allow_html"):
        return " ".join(t.strip() for t in read_html(node["props"]["children"]).text if t.strip())
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
def test_every_part_of_a_streaming_answer_has_its_own_id_in_display_order():
    rendered = as_json(render_turn(new_turn("How much was order ORD-10004?", "sess-1")))
    block = part(rendered, "sess-1", BLOCK)
    assert block["props"]["className"] == "bubble assistant status-streaming"
    assert [child["props"]["id"]["part"] for child in block["props"]["children"]] == list(LIVE_PARTS)
    assert part(rendered, "sess-1", "text")["type"] == "Markdown"
    assert texts(part(rendered, "sess-1", "status")) == "Assistant writing…"
    assert part(rendered, "sess-1", "notice")["props"]["hidden"] is True
    assert part(rendered, "sess-1", "computed")["props"]["hidden"] is True
    assert part(rendered, "sess-1", "footer")["props"]["className"] == "answer-footer is-empty"


def test_a_finished_answer_is_a_few_static_blocks_whatever_its_sources_and_table():
    computed = {"summary": "2 groups", "value": None, "rows_considered": 240, "planner": "rules", "sql": "SELECT 1",
                "columns": ["status", "count"], "rows": [[f"s{i}", i] for i in range(40)], "chart": "none"}
    sources = compact_sources([{**SOURCES[0], "label": n, "record_id": f"$[{n}]"} for n in range(1, 9)])
    rendered = as_json(render_turn(done_turn(error="the server went away", sources=sources, computed=computed)))
    block = part(rendered, "sess-1", BLOCK)
    assert block["props"]["className"] == "bubble assistant status-done"
    assert count_components(rendered) <= 12, "each component makes every later update of the page slower"
    markdown = find_all(block, lambda n: n["props"].get("className") == "answer-text")
    assert [m["props"]["children"] for m in markdown] == ["It was 99.50 [1]."]
    assert "the server went away" in texts(block) and "s39" in texts(block) and "$[8]" in texts(block)
    assert texts(static_blocks(block)[0]) == "Assistant", "a finished answer's status line has no badge"
    plain = as_json(render_turn(done_turn(sources=[], metrics={}, meta={})))
    assert count_components(plain) == 5, "turn, question, block, status line, text: nothing empty is drawn"


def test_the_props_of_a_part_redraw_it_whole_hidden_or_not():
    notice = dict(live_parts(new_turn("q", "sess-1")))["notice"]
    assert "id" not in part_props(notice)
    assert as_json(part_props(notice)) == {"children": "", "className": "answer-notice", "hidden": True,
                                           "role": "status"}
    shown = part_props(render_turn({**new_turn("q", "sess-1"), "status": INTERRUPTED}).children[1].children[0])
    assert "Assistant" in texts(as_json({"props": shown})), "a static part redraws whole, HTML and all"


def test_an_interrupted_answer_keeps_its_text_and_says_why():
    rendered = as_json(render_turn(done_turn(status=INTERRUPTED, answer="The first half", metrics={})))
    block = part(rendered, "sess-1", BLOCK)
    assert block["props"]["className"].endswith("status-interrupted")
    assert find_all(block, lambda n: n["props"].get("className") == "answer-text")[0]["props"]["children"] == (
        "The first half"
    )
    assert texts(static_blocks(block)[0]) == f"Assistant interrupted {INTERRUPTED_MESSAGE}"
    assert history_messages([done_turn(status=INTERRUPTED, answer="partial")])[-1]["content"] == "partial"


def test_a_conversation_ends_with_the_empty_slot_where_the_next_turn_goes():
    assert render_history([]) == []
    shown = as_json(render_history([done_turn(id="a"), done_turn(id="b")]))
    assert [node["props"]["className"] for node in shown] == ["turn", "turn", "turn-slot"]
    assert shown[2]["props"]["id"] == ids.turn_slot(2) and shown[2]["props"]["children"] == []
    turn, next_slot = as_json(turn_slot(2, done_turn(id="c")))["props"]["children"]
    assert turn == as_json(render_turn(done_turn(id="c"))) and next_slot["props"]["id"] == ids.turn_slot(3)


def test_answers_are_markdown_without_raw_html_and_static_html_escapes_every_text():
    payload = "<script>window.hacked = 1</script><img src=x onerror=alert(1)> {window.x} \n\n# title"
    source = {"label": 1, "record_id": payload, "score": 0.5, "text": payload}
    rendered = as_json(render_turn(done_turn(answer=payload, question=payload, error=payload, sources=[source])))
    answers = find_all(rendered, lambda n: n["props"].get("className") == "answer-text")
    assert [a["props"]["children"] for a in answers] == [payload]
    assert not answers[0]["props"].get("dangerously_allow_html")
    blocks = static_blocks(rendered)
    for block in blocks:
        html = block["props"]["children"]
        assert "<script" not in html and "<img" not in html and "{" not in html and "\n" not in html
        assert [tag for tag, _ in read_html(html).tags if tag in ("script", "img")] == []
    reader = read_html(blocks[0]["props"]["children"])  # the question
    assert "".join(reader.text).endswith(payload), "shown as typed, line breaks included"
    buttons = [attrs for tag, attrs in read_html(blocks[-1]["props"]["children"]).tags if tag == "button"]
    assert [b["data-record"] for b in buttons] == [payload]


def test_a_finished_turn_shows_sources_with_record_buttons_and_the_timings_line():
    footer = static_blocks(as_json(render_turn(done_turn())))[-1]
    assert footer["props"]["className"] == "answer-footer"
    tags = read_html(footer["props"]["children"]).tags
    assert [attrs["data-record"] for tag, attrs in tags if tag == "button"] == ["$[3]", '$["3166-1"][7]']
    assert [attrs.get("class") for tag, attrs in tags if tag == "details"] == ["source", "source"]
    shown = texts(footer)
    assert "order_id: ORD-10004" in shown and shown.count("cited") == 1
    assert shown.endswith("first token 0.41 s · 28.4 tokens/s · total 1.90 s · 42 tokens · smollm2")


def test_status_badges_mark_stopped_errors_and_cached_answers():
    def status_line(turn: dict[str, Any]) -> str:
        return texts(static_blocks(part(as_json(render_turn(turn)), "sess-1", BLOCK))[0])

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


# ------------------------------------------------------------------------------ values not in the sources
COUNTRIES = [
    ("$[0]", {"name": "Norway", "alpha_3": "NOR", "population": 5425270}),
    ("$[1]", {"name": "Sweden", "alpha_3": "SWE", "population": 10540000}),
]
WRONG = "Norway has a population of 7,300,000 [1]."
"""A lookup's answer that states a value found in no record."""


def checked_turn(answer: str, question: str = "What is the population of Norway?") -> dict[str, Any]:
    """A turn finished from a snapshot whose metadata holds the grounding check of ``answer`` (as the engine
    writes it), through ``finished_turn`` and JSON as the page keeps it."""
    grounding = check_grounding(answer, question=question, records=COUNTRIES)
    snapshot = StreamSnapshot(text=answer, offset=len(answer), status="done", error=None, sources=[],
                              metrics=dict(METRICS), meta={"model": "smollm2", "grounding": grounding.to_dict()})
    turn = finished_turn(new_turn(question, "sess-1"), snapshot)
    return json.loads(json.dumps(turn))


def checked_text(rendered: Any) -> dict[str, Any]:
    found = find_all(rendered, lambda n: n["props"].get("className") == CHECKED_TEXT_CLASS)
    assert len(found) == 1, f"{len(found)} checked texts"
    return found[0]


def test_a_value_not_in_the_sources_is_marked_in_the_finished_answer_with_a_notice_under_it():
    turn = checked_turn(WRONG)
    assert turn["meta"]["grounding"]["marked"] == 1, "the check survives the page's metadata and JSON"
    rendered = as_json(render_turn(turn))
    block = checked_text(rendered)
    assert block["props"]["dangerously_allow_html"] is True
    reader = read_html(block["props"]["children"])
    marks = [attrs for tag, attrs in reader.tags if tag == "mark"]
    assert marks == [{"class": "ungrounded", "title": "not in the sources"}]
    shown = texts(block)
    assert "Norway has a population of 7,300,000 ⚠ not in the sources [1]." in shown
    assert shown.endswith("⚠ 1 value in this answer is not in the sources: 7,300,000.")
    notice = [attrs for tag, attrs in reader.tags if "grounding-notice" in (attrs.get("class") or "")]
    assert notice == [{"class": "answer-notice grounding-notice", "role": "note"}]
    unchecked = as_json(render_turn({**turn, "meta": {"model": "smollm2"}}))
    assert count_components(rendered) == count_components(unchecked), "the marked text replaces the text block"
    assert "⚠" not in texts(unchecked)


def test_an_answer_whose_values_are_all_in_the_sources_renders_as_before():
    right = "Norway has a population of 5,425,270 [1]."
    turn = checked_turn(right)
    assert turn["meta"]["grounding"]["checked"] == 1 and turn["meta"]["grounding"]["marked"] == 0
    plain = {**turn, "meta": {"model": "smollm2"}}
    assert as_json(finished_parts(turn)) == as_json(finished_parts(plain))
    other_text = {**checked_turn(WRONG), "answer": "Norway has a population of about 7 million [1]."}
    assert answer_grounding(other_text["answer"], other_text["meta"]) is None, "a check of another text marks nothing"
    assert as_json(finished_parts(other_text)) == as_json(finished_parts({**other_text, "meta": {"model": "smollm2"}}))
    assert answer_grounding(WRONG, {"grounding": {"version": 99}}) is None
    assert answer_grounding(WRONG, {}) is None


def test_a_marked_answer_keeps_every_other_text_escaped():
    payload = "<script>window.hacked = true</script><img src=x onerror=alert(document.cookie)> {window.x}\n\n# title "
    answer = payload + WRONG
    turn = checked_turn(answer)
    block = checked_text(as_json(render_turn(turn)))
    fragment = block["props"]["children"]
    assert "<script" not in fragment and "<img" not in fragment and "{" not in fragment and "\n" not in fragment
    reader = read_html(fragment)
    assert [tag for tag, _ in reader.tags if tag in ("script", "img")] == []
    assert [tag for tag, _ in reader.tags if tag == "mark"] == ["mark"]
    assert "".join(reader.text).startswith(payload), "shown as written, line breaks included"


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


def test_a_refused_answer_offers_its_rephrasings_as_buttons_escaped() -> None:
    from dashboard.chat_view import finished_parts

    meta = {"refusal": {"not_understood": "'salary' (no field holds it)",
                        "rephrasings": ["average total by segment", 'count of "x" <script>']}}
    turn = {"status": "done", "answer": "I could not compute this over all records.", "meta": meta}
    html = "".join(str(part.children) for part in finished_parts(turn))
    assert 'data-question="average total by segment"' in html and html.count('class="rephrasing link-button"') == 2
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert not any("rephrasing" in str(part.children) for part in finished_parts({**turn, "meta": {}}))
