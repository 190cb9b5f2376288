"""Exports of a conversation: Markdown, JSON and HTML carry every answer with its context; HTML escapes all."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from html.parser import HTMLParser

import pytest

from dashboard.chat_view import compact_sources, new_turn
from dashboard.export import export_conversation, export_filename, to_html, to_json, to_markdown
from rag.grounding import check_grounding

WHEN = datetime(2024, 6, 1, 12, 30, 5, tzinfo=timezone.utc)
HASH = "5ac68f5c605d" + "0" * 52
PAYLOAD = '<script>alert("x")</script><img src=x onerror="alert(1)">'


def turns():
    first = new_turn("Which orders were returned?", "s1", now=WHEN)
    first.update(
        answer="Orders **ORD-10007** and ORD-10019 were returned [1][2].",
        status="done",
        sources=compact_sources(
            [
                {"label": 1, "record_id": "$[6]", "score": 0.0312, "text": "order_id: ORD-10007\nstatus: returned"},
                {"label": 2, "record_id": "$[18]", "score": 0.0301, "text": "order_id: ORD-10019\nstatus: returned"},
            ]
        ),
        metrics={
            "model": "smollm2",
            "time_to_first_token": 0.52,
            "tokens_per_second": 31.0,
            "total_duration": 2.5,
            "completion_tokens": 40,
        },
        meta={
            "model": "smollm2",
            "backend": "openai",
            "dataset_name": "orders.json",
            "dataset_hash": HASH,
            "settings": {"temperature": 0.2, "top_k": 5},
            "cached": True,
            "notes": ["2 records were cut"],
        },
    )
    second = new_turn(PAYLOAD, "s2", now=WHEN)
    second.update(
        answer="Half an answer " + PAYLOAD,
        status="stopped",
        error=None,
        sources=compact_sources([{"label": 1, "record_id": PAYLOAD, "score": 0.1, "text": PAYLOAD}]),
        meta={"model": "smollm2", "dataset_name": PAYLOAD, "dataset_hash": HASH},
    )
    third = new_turn("And the totals?", "s3", now=WHEN)
    third.update(status="error", error="The OpenAI-compatible server at http://127.0.0.1:9/v1 cannot be reached")
    return [first, second, third]


def test_json_export_holds_each_answer_with_sources_model_settings_dataset_and_timings():
    document = json.loads(to_json(turns(), exported_at=WHEN))
    assert document["exported_at"] == "2024-06-01T12:30:05+00:00"
    first, second, third = document["turns"]
    assert first["question"] == "Which orders were returned?"
    assert first["answer"].startswith("Orders **ORD-10007**")
    assert [s["record_id"] for s in first["sources"]] == ["$[6]", "$[18]"]
    assert first["model"] == "smollm2" and first["backend"] == "openai" and first["cached"] is True
    assert first["dataset"] == {"name": "orders.json", "content_hash": HASH}
    assert first["settings"] == {"temperature": 0.2, "top_k": 5}
    assert first["metrics"]["time_to_first_token"] == 0.52
    assert second["status"] == "stopped" and second["answer"].startswith("Half an answer")
    assert third["error"].endswith("cannot be reached") and third["answer"] == ""


def test_markdown_export_reads_as_a_report():
    text = to_markdown(turns(), exported_at=WHEN)
    assert text.startswith("# Conversation\n")
    assert "## 1. Which orders were returned?" in text
    assert "> Which orders were returned?" in text
    assert "Orders **ORD-10007** and ORD-10019 were returned [1][2]." in text
    assert "- [1] `$[6]` (score 0.031)" in text and "  order_id: ORD-10007 status: returned" in text
    assert f"- Dataset: orders.json (sha256 {HASH})" in text
    assert "- Timings: first token 0.52 s · 31.0 tokens/s · total 2.50 s · 40 tokens · smollm2" in text
    assert "- Cached: yes" in text and "- Notes: 2 records were cut" in text
    assert "_Status: stopped_" in text
    assert "**Error:** The OpenAI-compatible server at http://127.0.0.1:9/v1 cannot be reached" in text


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += attrs

    def handle_data(self, data):
        self.text.append(data)


def test_html_export_escapes_everything_from_the_data_and_the_model():
    page = to_html(turns(), exported_at=WHEN)
    parsed = _Collector()
    parsed.feed(page)
    assert "script" not in parsed.tags and "img" not in parsed.tags
    assert not [name for name, _ in parsed.attributes if name.startswith("on")]
    assert "<script>alert" not in page and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    text = "".join(parsed.text)
    assert PAYLOAD in text, "the payload is shown as text"
    assert "Which orders were returned?" in text and "$[6]" in text and "order_id: ORD-10007" in text
    assert "smollm2" in text and HASH in text and "first token 0.52 s" in text
    assert "Content-Security-Policy" in page


def test_export_for_download_names_the_file_and_its_type():
    download = export_conversation(turns(), "html", now=WHEN)
    assert download["filename"] == "conversation-20240601-123005.html"
    assert download["type"] == "text/html" and download["content"].startswith("<!DOCTYPE html>")
    assert export_conversation([], "json", now=WHEN)["content"].count('"turns": []') == 1
    with pytest.raises(ValueError, match="unknown export format"):
        export_filename("pdf")


# ------------------------------------------------------------------------------ values not in the sources
COUNTRIES = [
    ("$[0]", {"name": "Norway", "alpha_3": "NOR", "population": 5425270}),
    ("$[1]", {"name": "Sweden", "alpha_3": "SWE", "population": 10540000}),
]
HOSTILE = "<script>alert(true)</script> **Norway** has a population of 7,300,000 [1]."
"""An answer that states a value found in no record, with markup and Markdown of its own."""


def checked_turns():
    """A turn whose value is not in the sources, and one whose values all are (each with its check)."""
    question = "What is the population of Norway?"
    wrong = new_turn(question, "s1", now=WHEN)
    grounding = check_grounding(HOSTILE, question=question, records=COUNTRIES)
    wrong.update(answer=HOSTILE, status="done", meta={"model": "smollm2", "grounding": grounding.to_dict()})
    right = new_turn(question, "s2", now=WHEN)
    answer = "Norway has a population of 5,425,270 [1]."
    grounding = check_grounding(answer, question=question, records=COUNTRIES)
    right.update(answer=answer, status="done", meta={"model": "smollm2", "grounding": grounding.to_dict()})
    return [json.loads(json.dumps(wrong)), json.loads(json.dumps(right))]


NOTICE = "1 value in this answer is not in the sources: 7,300,000."


def test_json_export_carries_the_grounding_check_of_each_answer():
    first, second = json.loads(to_json(checked_turns(), exported_at=WHEN))["turns"]
    assert first["grounding"]["notice"] == NOTICE and first["grounding"]["text"] == ["7,300,000"]
    assert first["grounding"]["verdict"] == ["not_in_sources"]
    assert second["grounding"]["marked"] == 0 and second["grounding"]["notice"] == ""
    assert first["answer"] == HOSTILE, "the answer itself as it was written"
    assert json.loads(to_json(turns(), exported_at=WHEN))["turns"][0]["grounding"] is None


def test_markdown_export_marks_values_not_in_the_sources_and_quotes_the_notice():
    text = to_markdown(checked_turns(), exported_at=WHEN)
    assert "**Norway** has a population of **7,300,000** (⚠ not in the sources) [1]." in text
    assert f"> ⚠ {NOTICE}" in text and text.count("⚠") == 2, "the answer with every value found has no notice"
    assert "Norway has a population of 5,425,270 [1]." in text
    hostile = checked_turns()[:1]
    hostile[0]["meta"]["grounding"]["text"] = ["<b>7,300,000</b>"]  # a check naming markup: escaped in the notice
    hostile[0]["answer"] = hostile[0]["answer"].replace("7,300,000", "<b>7,300,000</b>")
    hostile[0]["meta"]["grounding"]["end"] = [hostile[0]["meta"]["grounding"]["end"][0] + 7]
    marked = to_markdown(hostile, exported_at=WHEN)
    assert "**&lt;b&gt;7,300,000&lt;/b&gt;** (⚠ not in the sources)" in marked
    assert "> ⚠ 1 value in this answer is not in the sources: \\<b\\>7,300,000\\</b\\>." in marked


def test_html_export_marks_values_not_in_the_sources_and_escapes_everything_else():
    page = to_html(checked_turns(), exported_at=WHEN)
    parsed = _Collector()
    parsed.feed(page)
    assert "script" not in parsed.tags and "b" not in parsed.tags
    assert parsed.tags.count("mark") == 1 and ("title", "not in the sources") in parsed.attributes
    assert '<mark class="ungrounded" title="not in the sources">7,300,000</mark>' in page
    assert "&lt;script&gt;alert(true)&lt;/script&gt; **Norway** has a population of <mark" in page
    assert f'<p class="grounding-notice">⚠ {NOTICE}</p>' in page and page.count("grounding-notice\">") == 1
    assert "Norway has a population of 5,425,270 [1]." in "".join(parsed.text)
