"""The answer as typed events: the sink writes each kind into a buffer, a recorded answer replays to the same
snapshot, and the engine's generator yields them in order (the computed part and the sources before any text;
a failure keeps the text streamed before it; Stop ends it as stopped)."""

from __future__ import annotations

import pytest

from rag.answer_events import (
    AnswerState,
    Computed,
    Failed,
    Finished,
    Meta,
    Sources,
    TextDelta,
    Thinking,
    Waiting,
    cached_events,
    from_records,
    replay,
    to_records,
)
from rag.answer_sink import write_events
from rag.errors import StreamInterruptedError
from rag.llm.cancel import CancelToken
from rag.stream_buffer import StreamBuffer
from tests.datasets import vega_cars_path
from tests.scripted_llm import ScriptedClient
from tests.test_engine import embedder, embeddings_dir, make_engine  # noqa: F401  (shared fixtures)

SOURCE = {"label": 1, "record_id": "$[3]", "score": 0.5, "text": "Name: amc rebel sst",
          "record": {"Name": "amc rebel sst"}}
COMPUTED = {"fact": "108 of 406 cars have Cylinders = 8.", "value": 108, "rows": [[108]], "columns": ["count"]}
ANSWER = [
    Waiting("Waiting for the model (position 1)…"),
    Waiting(None),
    Computed(COMPUTED),
    Sources([SOURCE]),
    Meta({"notes": ["a note"], "model": "scripted-model", "context_window": 4096}),
    Thinking("Count the cars. "),
    TextDelta("108 cars "),
    TextDelta("have 8 cylinders [1]."),
    Meta({"cited": ["$[3]"]}),
    Finished("done", {"completion_tokens": 2, "finish_reason": "stop"}),
]


def snapshot_of(events, **start_meta):
    buffer = StreamBuffer()
    buffer.start("s", **start_meta)
    write_events(buffer, "s", events)
    return buffer, buffer.read("s", 0)


def test_the_sink_writes_every_kind_of_event_and_the_fold_agrees():
    buffer, snap = snapshot_of(ANSWER, question="How many?", cached=False)
    assert snap.text == "108 cars have 8 cylinders [1]." and snap.status == "done" and snap.error is None
    assert snap.sources == [SOURCE] and snap.computed == COMPUTED
    assert snap.meta == {"question": "How many?", "cached": False, "waiting": None, "computed": COMPUTED,
                         "notes": ["a note"], "model": "scripted-model", "context_window": 4096, "cited": ["$[3]"]}
    assert snap.metrics == {"completion_tokens": 2, "finish_reason": "stop"}
    assert buffer.thinking("s") == "Count the cars. "
    state = AnswerState(meta={"question": "How many?", "cached": False})
    for event in ANSWER:
        state.apply(event)
    assert (state.text, state.status, state.error, state.sources, state.computed, state.metrics, state.meta) == (
        snap.text, snap.status, snap.error, snap.sources, snap.computed, snap.metrics, snap.meta)
    assert state.thinking == "Count the cars. "


def test_a_failure_keeps_the_text_and_nothing_is_written_after_the_end():
    events = [Sources([]), TextDelta("Half an "), TextDelta("answer"), Failed("the server went away"), TextDelta("x"),
              Finished("done")]
    _, snap = snapshot_of(events)
    assert (snap.text, snap.status, snap.error) == ("Half an answer", "error", "the server went away")
    state = AnswerState()
    for event in events:
        state.apply(event)
    assert (state.text, state.status, state.error) == ("Half an answer", "error", "the server went away")


def test_a_recorded_answer_replays_to_the_same_snapshot_marked_cached():
    records = to_records(ANSWER)
    assert all(isinstance(record["type"], str) for record in records)
    assert not any(record["type"] in ("waiting", "thinking") for record in records)  # a cache keeps the answer only
    assert [r["type"] for r in records].count("text") == 1  # the text in one piece
    import json

    replayed = from_records(json.loads(json.dumps(records)))
    _, fresh = snapshot_of(ANSWER, question="How many?", cached=False)
    _, again = snapshot_of(replay(replayed), question="How many?", cached=False)
    assert again.meta.pop("cached") is True and fresh.meta.pop("cached") is False
    fresh.meta.pop("waiting")
    assert (again.text, again.sources, again.computed, again.meta, again.status, again.metrics) == (
        fresh.text, fresh.sources, fresh.computed, fresh.meta, fresh.status, fresh.metrics)


def test_an_entry_of_the_older_form_is_read_as_its_events_and_a_broken_one_is_a_miss():
    old = {"text": "Answer one [1].", "sources": [SOURCE], "metrics": {"finish_reason": "stop"},
           "meta": {"question": "old?", "cached": False, "computed": COMPUTED, "notes": [], "cited": ["$[3]"]}}
    events = cached_events(old)
    _, snap = snapshot_of(replay(events), question="new?")
    assert snap.text == old["text"] and snap.sources == [SOURCE] and snap.computed == COMPUTED
    assert snap.meta["question"] == "new?" and snap.meta["cached"] is True and snap.meta["cited"] == ["$[3]"]
    assert snap.status == "done" and snap.metrics == {"finish_reason": "stop"}
    assert cached_events({"events": [{"type": "nonsense"}]}) is None
    assert cached_events({"events": to_records([TextDelta("cut")])}) is None  # never ended
    assert cached_events({"something": "else"}) is None and cached_events(None) is None


@pytest.mark.parametrize("kind", ["memory", "redis"])
def test_the_sink_writes_a_shared_buffer_alike(kind, request):
    if kind == "memory":
        buffer = StreamBuffer()
    else:
        from rag.redis_buffer import RedisStreamBuffer

        buffer = RedisStreamBuffer.from_url(request.getfixturevalue("redis_server").url)
    buffer.start("s", question="How many?")
    write_events(buffer, "s", ANSWER)
    snap = buffer.read("s", 0)
    assert snap.text == "108 cars have 8 cylinders [1]." and snap.status == "done" and snap.computed == COMPUTED
    assert snap.sources == [SOURCE] and snap.meta["cited"] == ["$[3]"] and snap.meta["waiting"] is None


# --- the engine's generator ---------------------------------------------------------------------------------------


def events_of(engine, question, token=None, *, stop_after_text=False):
    token = token or CancelToken()
    events = []
    for event in engine.answer_events(question, engine.registry.last, [], token, answer_id="t"):
        events.append(event)
        if stop_after_text and isinstance(event, TextDelta):
            token.cancel()
    return events


def kinds(events):
    return [type(event).__name__ for event in events]


def test_an_analytic_answer_yields_the_computed_part_and_the_sources_before_any_text(make_engine):
    engine, _ = make_engine(ScriptedClient().enqueue("108 cars ", "have 8 cylinders."))
    engine.load_json(vega_cars_path())
    events = events_of(engine, "How many cars have 8 cylinders?")
    names = kinds(events)
    assert names.index("Computed") < names.index("Sources") < names.index("TextDelta")
    assert names[-1] == "Finished" and events[-1].status == "done"
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "108 cars have 8 cylinders."
    assert events[-1].metrics["finish_reason"] == "stop" and "retrieval_seconds" in events[-1].metrics
    assert not any(isinstance(e, (Waiting, Failed)) for e in events)


def test_a_retrieval_answer_yields_sources_first_and_a_failure_keeps_the_text_before_it(make_engine):
    engine, _ = make_engine(ScriptedClient().enqueue("Half an ", "answer", StreamInterruptedError("connection lost")))
    engine.load_json(vega_cars_path())
    events = events_of(engine, "Tell me about the chevrolet chevelle malibu")
    names = kinds(events)
    assert "Computed" not in names and names.index("Sources") < names.index("TextDelta")
    assert isinstance(events[-1], Failed) and "connection lost" in events[-1].error
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Half an ", "answer"]


def test_stop_ends_the_answer_as_stopped_with_the_text_so_far(make_engine):
    engine, _ = make_engine(ScriptedClient(delay=0.01).enqueue(*[f"w{i} " for i in range(50)]))
    engine.load_json(vega_cars_path())
    events = events_of(engine, "Tell me about the chevrolet chevelle malibu", stop_after_text=True)
    assert isinstance(events[-1], Finished) and events[-1].status == "stopped"
    assert events[-1].metrics["finish_reason"] == "cancelled"
    assert 1 <= sum(isinstance(e, TextDelta) for e in events) < 50


def test_chat_hears_the_events_and_never_reads_the_buffer():
    from rag.engine import NO_DATASET_MESSAGE, RAGEngine
    from rag.settings import Settings, apply_overrides

    class Unread(StreamBuffer):
        def read(self, session_id, offset=0):
            raise AssertionError("chat read the buffer")

    buffer = Unread()
    settings = apply_overrides(Settings(), {"cache": {"enabled": False}}, "test")
    engine = RAGEngine(settings, buffer=buffer, client_factory=lambda llm: ScriptedClient())
    answer = engine.chat("How many records?", "s1")
    assert (answer.status, answer.error, answer.text) == ("error", NO_DATASET_MESSAGE, "")
    assert answer.meta["question"] == "How many records?" and answer.meta["cached"] is False
    assert StreamBuffer.read(buffer, "s1", 0).error == NO_DATASET_MESSAGE  # the sink wrote the same answer


def test_chat_events_gives_each_event_as_it_happens_and_leaving_early_stops_the_answer(make_engine):
    from tests.test_engine import wait_final

    engine, _ = make_engine(ScriptedClient(delay=0.01).enqueue(*[f"w{i} " for i in range(50)]))
    engine.load_json(vega_cars_path())
    events = engine.chat_events("Tell me about the chevrolet chevelle malibu", "s1")
    first = next(events)
    assert isinstance(first, Meta) and first.changes["question"].startswith("Tell me about")
    seen = [first]
    for event in events:
        seen.append(event)
        if isinstance(event, TextDelta):
            break
    events.close()  # the caller leaves before the end: the answer is stopped
    assert kinds(seen).index("Sources") < kinds(seen).index("TextDelta")
    snap = wait_final(engine, "s1")
    assert snap.status == "stopped" and 1 <= len(snap.text.split()) < 50


def test_chat_events_read_to_the_end_add_up_to_what_the_buffer_holds(make_engine):
    engine, _ = make_engine(ScriptedClient().enqueue("108 cars ", "have 8 cylinders."))
    engine.load_json(vega_cars_path())
    state = AnswerState()
    for event in engine.chat_events("How many cars have 8 cylinders?", "s1"):
        state.apply(event)
    assert state.status == "done" and state.text == "108 cars have 8 cylinders." and state.computed is not None
    snap = engine.read("s1", 0)
    assert (snap.status, snap.text, snap.sources) == (state.status, state.text, state.sources)
