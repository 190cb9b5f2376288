"""The NDJSON and SSE decoders, fed recorded streams split in every hostile way."""

from __future__ import annotations

import json
import random

import pytest

from rag.llm.decoders import LineSplitter, NDJSONDecoder, SSEDecoder, SSEEvent

# Text pieces a model might stream: multi-byte UTF-8 (2, 3 and 4 bytes), and characters that
# str.splitlines() would wrongly treat as line breaks (U+2028, U+2029, U+0085 may sit raw in JSON).
PIECES = ["Hé", "llo", " известни", " 日本語", " 🦙🚀", " a\u2028b", " c\u2029d", " e\u0085f", " \"quoted\"\n", "\\", "."]
LINE_ENDINGS = {"lf": b"\n", "crlf": b"\r\n", "cr": b"\r"}


def ollama_lines() -> list[dict]:
    created = "2025-01-01T00:00:00.000000Z"
    lines = [
        {"model": "llama3.2", "created_at": created, "message": {"role": "assistant", "content": piece}, "done": False}
        for piece in PIECES
    ]
    lines.append(
        {
            "model": "llama3.2",
            "created_at": created,
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": "stop",
            "total_duration": 1_234_567_890,
            "prompt_eval_count": 26,
            "eval_count": len(PIECES),
            "eval_duration": 987_654_321,
        }
    )
    return lines


def recorded_ndjson(ending: bytes = b"\n") -> bytes:
    return b"".join(json.dumps(line, ensure_ascii=False).encode() + ending for line in ollama_lines())


def openai_events() -> list[dict]:
    base = {"id": "chatcmpl-9", "object": "chat.completion.chunk", "created": 1, "model": "smollm2"}
    events = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}]
    events += [
        {**base, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]} for piece in PIECES
    ]
    events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    events.append({**base, "choices": [], "usage": {"prompt_tokens": 26, "completion_tokens": 11, "total_tokens": 37}})
    return events


def recorded_sse(ending: bytes = b"\n") -> bytes:
    parts = [b": keep-alive" + ending + ending]
    for event in openai_events():
        parts.append(b"data: " + json.dumps(event, ensure_ascii=False).encode() + ending + ending)
    parts.append(b"data: [DONE]" + ending + ending)
    return b"".join(parts)


def feed_all(decoder, chunks) -> list:
    out = []
    for chunk in chunks:
        out += decoder.feed(chunk)
    return out + decoder.flush()


def sse_summary(events: list[SSEEvent]) -> list[tuple]:
    return [(e.event, e.payload, e.done) for e in events]


EXPECTED_SSE = [(None, event, False) for event in openai_events()] + [(None, None, True)]


# --- lines -------------------------------------------------------------------------------------


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85"])
def test_line_splitter_breaks_only_on_cr_and_lf(separator: str) -> None:
    text = f"one{separator}still one\ntwo\n"
    assert feed_all(LineSplitter(), [text.encode()]) == [f"one{separator}still one", "two"]
    assert len(text.splitlines()) == 3  # what a naive decoder would have done


def test_crlf_split_across_reads_is_one_line_ending() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b"first\r") == ["first"]
    assert splitter.feed(b"\nsecond\r") == ["second"]
    assert splitter.feed(b"\r\n") == [""]  # "\r" then "\r\n": two endings, so one empty line
    assert splitter.feed(b"third") == []
    assert splitter.flush() == ["third"]


def test_multibyte_character_split_across_reads() -> None:
    data = '{"content":"известни 🦙"}\n'.encode()
    cut = data.index("з".encode()) + 1  # inside the 2-byte "з"
    cut4 = data.index("🦙".encode()) + 2  # inside the 4-byte llama
    decoder = NDJSONDecoder()
    assert decoder.feed(data[:cut]) == []
    assert decoder.feed(data[cut:cut4]) == []
    assert decoder.feed(data[cut4:]) == [{"content": "известни 🦙"}]
    assert decoder.malformed_count == 0


def test_invalid_utf8_does_not_stop_the_stream() -> None:
    decoder = NDJSONDecoder()
    values = feed_all(decoder, [b'{"content":"bad \xff byte"}\n{"content":"next"}\n'])
    assert values == [{"content": "bad \ufffd byte"}, {"content": "next"}]


# --- NDJSON ------------------------------------------------------------------------------------


@pytest.mark.parametrize("ending", LINE_ENDINGS.values(), ids=LINE_ENDINGS.keys())
def test_ndjson_split_at_every_byte_position(ending: bytes) -> None:
    data = recorded_ndjson(ending)
    expected = ollama_lines()
    for position in range(len(data) + 1):
        decoder = NDJSONDecoder()
        assert feed_all(decoder, [data[:position], data[position:]]) == expected, f"split at byte {position}"
        assert decoder.malformed_count == 0


@pytest.mark.parametrize("ending", LINE_ENDINGS.values(), ids=LINE_ENDINGS.keys())
def test_ndjson_byte_by_byte(ending: bytes) -> None:
    data = recorded_ndjson(ending)
    decoder = NDJSONDecoder()
    assert feed_all(decoder, [data[i : i + 1] for i in range(len(data))]) == ollama_lines()


def test_ndjson_random_network_chunks() -> None:
    data = recorded_ndjson()
    rng = random.Random(7)
    for _ in range(200):
        cuts = sorted(rng.sample(range(1, len(data)), rng.randint(1, 40)))
        chunks = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)])]
        assert feed_all(NDJSONDecoder(), chunks) == ollama_lines()


def test_ndjson_keeps_line_separator_characters_inside_strings() -> None:
    values = feed_all(NDJSONDecoder(), [recorded_ndjson()])
    contents = [v["message"]["content"] for v in values[:-1]]
    assert contents == PIECES
    assert "".join(contents).count("\u2028") == 1


def test_ndjson_malformed_line_is_skipped_and_counted() -> None:
    decoder = NDJSONDecoder()
    data = b'{"a": 1}\nnot json at all\n{"b": \n\n   \n{"c": 3}\n'
    assert feed_all(decoder, [data]) == [{"a": 1}, {"c": 3}]
    assert decoder.malformed_count == 2  # blank and whitespace-only lines are not malformed


def test_ndjson_unterminated_last_line_comes_out_on_flush() -> None:
    decoder = NDJSONDecoder()
    assert decoder.feed(b'{"a": 1}\n{"done": true}') == [{"a": 1}]
    assert decoder.flush() == [{"done": True}]
    assert decoder.flush() == []


def test_ndjson_hook_sees_every_raw_line() -> None:
    seen: list[str] = []
    decoder = NDJSONDecoder(on_line=seen.append)
    feed_all(decoder, [b'{"a": 1}\r\n\r\nbroken\r\n{"b": 2}'])
    assert seen == ['{"a": 1}', "broken", '{"b": 2}']


# --- SSE ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("ending", LINE_ENDINGS.values(), ids=LINE_ENDINGS.keys())
def test_sse_split_at_every_byte_position(ending: bytes) -> None:
    data = recorded_sse(ending)
    for position in range(len(data) + 1):
        decoder = SSEDecoder()
        events = feed_all(decoder, [data[:position], data[position:]])
        assert sse_summary(events) == EXPECTED_SSE, f"split at byte {position}"
        assert decoder.malformed_count == 0


@pytest.mark.parametrize("ending", LINE_ENDINGS.values(), ids=LINE_ENDINGS.keys())
def test_sse_byte_by_byte(ending: bytes) -> None:
    data = recorded_sse(ending)
    assert sse_summary(feed_all(SSEDecoder(), [data[i : i + 1] for i in range(len(data))])) == EXPECTED_SSE


def test_sse_random_network_chunks_with_mixed_line_endings() -> None:
    rng = random.Random(11)
    lf = recorded_sse(b"\n")
    for _ in range(100):
        # Re-end every line with a random ending; "\r" then "\n" would be one "\r\n" ending, so avoid it.
        parts, previous = [], b""
        for line in lf.split(b"\n")[:-1]:
            choices = [b"\r\n", b"\r"] if previous == b"\r" and not line else list(LINE_ENDINGS.values())
            previous = rng.choice(choices)
            parts.append(line + previous)
        data = b"".join(parts)
        cuts = sorted(rng.sample(range(1, len(data)), rng.randint(1, 60)))
        chunks = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)])]
        assert sse_summary(feed_all(SSEDecoder(), chunks)) == EXPECTED_SSE


def test_sse_events_are_not_returned_before_their_blank_line() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b'data: {"a": 1}\n') == []
    [event] = decoder.feed(b"\n")
    assert event.payload == {"a": 1}


def test_sse_multi_line_data_joins_with_newline() -> None:
    data = b'event: ping\ndata: {\ndata: "foo":\ndata: \ndata:\ndata: true}\n\n'
    [event] = feed_all(SSEDecoder(), [data])
    assert event.event == "ping"
    assert event.data == '{\n"foo":\n\n\ntrue}'
    assert event.payload == {"foo": True}


def test_sse_space_after_colon_is_optional_and_only_one_is_removed() -> None:
    events = feed_all(SSEDecoder(), [b'data:{"a":1}\n\ndata: {"a":2}\n\ndata:  "two spaces"\n\n'])
    assert [e.payload for e in events] == [{"a": 1}, {"a": 2}, "two spaces"]
    assert events[2].data == ' "two spaces"'


def test_sse_comments_and_keepalives_are_skipped() -> None:
    data = b": keep-alive\n\n: OPENROUTER PROCESSING\n\n:\n\ndata: {\"a\": 1}\n: inside an event\n\n"
    events = feed_all(SSEDecoder(), [data])
    assert [e.payload for e in events] == [{"a": 1}]


def test_sse_event_without_data() -> None:
    events = feed_all(SSEDecoder(), [b"event: ping\n\nevent: completion\n\n"])
    assert [(e.event, e.data, e.payload) for e in events] == [("ping", "", None), ("completion", "", None)]


def test_sse_done_marker() -> None:
    [event] = feed_all(SSEDecoder(), [b"data: [DONE]\n\n"])
    assert event.done and event.payload is None


def test_sse_malformed_event_is_skipped_and_counted() -> None:
    decoder = SSEDecoder()
    events = feed_all(decoder, [b'data: {"a": 1}\n\ndata: {broken\n\ndata: {"b": 2}\n\n'])
    assert [e.payload for e in events] == [{"a": 1}, {"b": 2}]
    assert decoder.malformed_count == 1


def test_sse_unterminated_last_event_comes_out_on_flush() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b'data: {"a": 1}\n\ndata: {"b": 2}') == [SSEEvent(data='{"a": 1}', payload={"a": 1})]
    [event] = decoder.flush()
    assert event.payload == {"b": 2}


def test_sse_id_carries_over_retry_is_read_unknown_fields_ignored() -> None:
    data = b'id: 7\nretry: 1500\nfoo: bar\ndata: {"a": 1}\n\ndata\n\nretry: soon\nid: bad\x00id\ndata: {"b": 2}\n\n'
    events = feed_all(SSEDecoder(), [data])
    expected = [("7", 1500, '{"a": 1}'), ("7", None, ""), ("7", None, '{"b": 2}')]
    assert [(e.id, e.retry, e.data) for e in events] == expected


def test_sse_special_line_separators_inside_data() -> None:
    data = 'data: {"content": "a\u2028b\u2029c\u0085d"}\n\n'.encode()
    [event] = feed_all(SSEDecoder(), [data])
    assert event.payload == {"content": "a\u2028b\u2029c\u0085d"}


def test_sse_hook_sees_raw_lines() -> None:
    seen: list[str] = []
    feed_all(SSEDecoder(on_line=seen.append), [b': ping\r\n\r\ndata: {"a": 1}\r\n\r\n'])
    assert seen == [": ping", 'data: {"a": 1}']
